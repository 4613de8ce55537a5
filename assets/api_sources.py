"""API sources: pull changed tickets from Zendesk and ConnectWise PSA into the landing folder.

Each pull lands the vendor's records as delivered in the warehouse (`landing_api_<vendor>`, every
fetched version kept) and delivers each completed pull as canonical files under
`<landing>/api/<vendor>/<batch>/`, which `landing_files` registers like any other delivery.
"""


import os
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.resources import PipelineSettings

# dlt (under sources/) is imported by a pull, not with the code location: every run process
# loads the Definitions, and most never pull (importing dlt cost about 0.5 to 2 s of each).
if TYPE_CHECKING:
    from sources.pull import HttpPolicy, Secrets, Vendor


class ApiPullSettings(dg.ConfigurableResource):
    """How far back a first pull reaches and how patient pulls are with a vendor API."""

    start: str = "2024-01-01T00:00:00Z"   # cursor of the very first pull
    state_dir: str = ""                   # dlt's local working state; empty = next to the warehouse
    max_attempts: int = 6
    backoff_factor: float = 1.0
    max_retry_delay: float = 120.0
    timeout_seconds: float = 60.0
    page_size: int = 100

    def http(self) -> "HttpPolicy":
        from sources.pull import HttpPolicy

        return HttpPolicy(self.max_attempts, self.backoff_factor, self.max_retry_delay,
                          self.timeout_seconds, self.page_size)

    def state_path(self, warehouse: str) -> Path:
        return Path(self.state_dir) if self.state_dir else Path(warehouse).parent / "api_state"


class ZendeskAccount(dg.ConfigurableResource):
    """A Zendesk Support account: subdomain and API token from environment variables."""

    subdomain: str
    email: str
    api_token: str
    # `{subdomain}` is filled in at run time, so the URL template itself holds no secret.
    base_url: str = "https://{subdomain}.zendesk.com"
    category_field_id: int = 0
    declared_emergency_field_id: int = 0
    affected_users_field_id: int = 0

    def secrets(self) -> "Secrets":
        from sources.pull import Secrets

        return Secrets([self.subdomain, self.email, self.api_token])


class ConnectWiseSite(dg.ConfigurableResource):
    """A ConnectWise Manage site: keys and client id from environment variables."""

    site: str
    company_id: str
    public_key: str
    private_key: str
    client_id: str
    base_url: str = "https://{site}/v4_6_release/apis/3.0"

    def secrets(self) -> "Secrets":
        from sources.pull import Secrets

        return Secrets([self.site, self.company_id, self.public_key, self.private_key,
                        self.client_id])


def _reply_targets(settings: PipelineSettings) -> dict[str, float]:
    """Every priority word the policy knows, with the policy's response target for it."""
    policy = settings.policy()
    return {word: policy.response_targets_minutes[priority]
            for word, priority in policy.priority_lookup()}


def _pull(context: dg.AssetExecutionContext, vendor: "Vendor", kwargs: dict, secrets: "Secrets",
          duckdb: DuckDBResource, settings: PipelineSettings,
          api_pull: ApiPullSettings) -> dg.MaterializeResult:
    """Run one pull; a failure becomes one redacted error that names the vendor and resource."""
    from sources.pull import ApiPullError, run_pull

    try:
        summary = run_pull(
            vendor, kwargs, Path(duckdb.database), settings.landing,
            api_pull.state_path(duckdb.database), secrets,
            log=lambda line: context.log.info(secrets.redact(line)),
        )
    except ApiPullError as exc:
        context.log.error(str(exc))
        raise dg.Failure(description=str(exc)) from None
    return dg.MaterializeResult(metadata={
        "records_fetched": dg.MetadataValue.json(summary["fetched"]),
        "batches_delivered": dg.MetadataValue.json(summary["batches_delivered"]),
        "rows_delivered": dg.MetadataValue.json(summary["rows_delivered"]),
        "row_count": int(sum(summary["rows_delivered"].values())),
        "seconds": summary["seconds"],
    })


@dg.asset(group_name="api", kinds={"duckdb", "dlt"})
def zendesk_pull(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings,
    zendesk_account: ZendeskAccount, api_pull: ApiPullSettings,
) -> dg.MaterializeResult:
    """Zendesk tickets, audits, metrics and organizations changed since the last cursor, as landing files."""
    from sources import zendesk

    account = zendesk_account
    vendor = zendesk.vendor(_reply_targets(settings), account.category_field_id,
                            account.declared_emergency_field_id, account.affected_users_field_id)
    kwargs = {
        "base_url": account.base_url.replace("{subdomain}", account.subdomain),
        "email": account.email, "api_token": account.api_token,
        "start": api_pull.start, "policy": api_pull.http(),
    }
    return _pull(context, vendor, kwargs, account.secrets(), duckdb, settings, api_pull)


@dg.asset(group_name="api", kinds={"duckdb", "dlt"})
def connectwise_pull(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings,
    connectwise_site: ConnectWiseSite, api_pull: ApiPullSettings,
) -> dg.MaterializeResult:
    """ConnectWise tickets, notes, time entries, companies and agreements changed since the last cursor."""
    from sources import connectwise

    site = connectwise_site
    kwargs = {
        "base_url": site.base_url.replace("{site}", site.site),
        "company_id": site.company_id, "public_key": site.public_key,
        "private_key": site.private_key, "client_id": site.client_id,
        "start": api_pull.start, "policy": api_pull.http(),
    }
    return _pull(context, connectwise.vendor(), kwargs, site.secrets(), duckdb, settings, api_pull)


def _optional(var: str, default: str) -> str:
    return os.environ.get(var) or default


def api_resources() -> dict[str, object]:
    """Resources of the API assets: secrets as Dagster EnvVars (read at run launch, never stored)."""
    return {
        "zendesk_account": ZendeskAccount(
            subdomain=dg.EnvVar("ZENDESK_SUBDOMAIN"),
            email=dg.EnvVar("ZENDESK_EMAIL"),
            api_token=dg.EnvVar("ZENDESK_API_TOKEN"),
            base_url=_optional("ZENDESK_BASE_URL", "https://{subdomain}.zendesk.com"),
            category_field_id=int(_optional("ZENDESK_CATEGORY_FIELD_ID", "0")),
            declared_emergency_field_id=int(_optional("ZENDESK_DECLARED_EMERGENCY_FIELD_ID", "0")),
            affected_users_field_id=int(_optional("ZENDESK_AFFECTED_USERS_FIELD_ID", "0")),
        ),
        "connectwise_site": ConnectWiseSite(
            site=dg.EnvVar("CONNECTWISE_SITE"),
            company_id=dg.EnvVar("CONNECTWISE_COMPANY_ID"),
            public_key=dg.EnvVar("CONNECTWISE_PUBLIC_KEY"),
            private_key=dg.EnvVar("CONNECTWISE_PRIVATE_KEY"),
            client_id=dg.EnvVar("CONNECTWISE_CLIENT_ID"),
            base_url=_optional("CONNECTWISE_BASE_URL", "https://{site}/v4_6_release/apis/3.0"),
        ),
        "api_pull": ApiPullSettings(
            start=_optional("MSP_API_START", "2024-01-01T00:00:00Z"),
            state_dir=_optional("MSP_API_STATE", ""),
        ),
    }
