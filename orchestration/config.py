"""Where things are: every path comes from an environment variable with a default relative to the repo."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE = "warehouse/social_care.duckdb"
DEFAULT_MEMORY_LIMIT = "3GB"  # as profiles.yml gives dbt


def memory_limit() -> str:
    """DuckDB's memory limit for every connection of a run (SOCIAL_CARE_MEMORY_LIMIT); beyond it DuckDB spills."""
    return os.environ.get("SOCIAL_CARE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


def resolve(path: str | os.PathLike[str]) -> Path:
    """A path as the user wrote it: absolute as is, relative to the repository root otherwise."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    schedule_timezone: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            landing_dir=resolve(os.environ.get("SOCIAL_CARE_LANDING_DIR") or DEFAULT_LANDING_DIR),
            warehouse=resolve(os.environ.get("SOCIAL_CARE_WAREHOUSE") or DEFAULT_WAREHOUSE),
            schedule_timezone=os.environ.get("SOCIAL_CARE_SCHEDULE_TIMEZONE") or "UTC",
        )
