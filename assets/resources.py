"""Resources that assets need besides DuckDB: where files live and which policy is in force."""


from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from policy.config import PolicyConfig, load_policy


class PipelineSettings(dg.ConfigurableResource):
    """Folders and policy file for one environment."""

    landing_dir: str
    published_dir: str
    policy_file: str
    # The moment the SLA clock is read at: unanswered tickets past their target by then are
    # breached, the others pending. Empty means the time of the run.
    as_of: str = ""

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def published(self) -> Path:
        return Path(self.published_dir)

    def as_of_timestamp(self) -> datetime:
        """The as-of instant (timezone-aware)."""
        if not self.as_of:
            return datetime.now(UTC)
        moment = datetime.fromisoformat(self.as_of)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def policy(self) -> PolicyConfig:
        """Load and validate the policy config; an invalid file fails the run with its message."""
        return load_policy(self.policy_file)
