"""Resources that assets need besides DuckDB: where files live and which policy is in force."""


from pathlib import Path

import dagster as dg

from policy.config import PolicyConfig, load_policy


class PipelineSettings(dg.ConfigurableResource):
    """Folders and policy file for one environment."""

    landing_dir: str
    published_dir: str
    policy_file: str

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def published(self) -> Path:
        return Path(self.published_dir)

    def policy(self) -> PolicyConfig:
        """Load and validate the policy config; an invalid file fails the run with its message."""
        return load_policy(self.policy_file)
