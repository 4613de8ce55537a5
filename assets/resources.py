"""Resources that assets need besides DuckDB: where files live and which policy is in force."""


import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import dagster as dg

from policy.config import PolicyConfig, load_policy


@lru_cache(maxsize=8)
def _validated_policy(path: str, digest: str) -> PolicyConfig:
    """The policy file with this content, parsed and validated once per process."""
    return load_policy(path)


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
        # Parsing and validating the YAML costs ~0.15 s and most monthly assets need it: cache by
        # content, so an edited file is read afresh and a broken one still fails every run.
        try:
            digest = hashlib.sha256(Path(self.policy_file).read_bytes()).hexdigest()
        except OSError:
            return load_policy(self.policy_file)  # its own error names the missing file
        return _validated_policy(self.policy_file, digest)
