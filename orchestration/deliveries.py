"""Daily deliveries: the day a landing file belongs to, and the Dagster daily partitions of the ingest assets.

A file belongs to the day named in its path, ``YYYY-MM-DD`` anywhere in its name or folders (the last one wins:
``twcs/2024-03-15.csv``, ``messages/2024-03-15/export.jsonl``, ``twitter_v2/search_2024-03-15T0200.json``). The
ingest partition of day D loads every file of days up to D that is not loaded yet, and every file without a day:
the nightly run for yesterday picks up yesterday's exports (and any a missed night left behind); a file dated
after D waits for its own day. Loading stays idempotent (a file already loaded is skipped), so re-running a
partition, or running two, never loads a file twice.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the loader reads this module: loading files needs no Dagster (1.2 s of imports a process)
    import dagster as dg

DAY_IN_PATH = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
DEFAULT_START = "2020-01-01"


def file_day(relative_path: str) -> date | None:
    """The day a landing file belongs to: the last valid YYYY-MM-DD in its path, or None."""
    for year, month, day in reversed(DAY_IN_PATH.findall(PurePosixPath(relative_path).as_posix())):
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None


def delivered_by(relative_path: str, through: date | None) -> bool:
    """Whether the partition of day ``through`` (None: no partition, everything) loads this file."""
    day = file_day(relative_path)
    return through is None or day is None or day <= through


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """UTC days from SOCIAL_CARE_PARTITION_START (default 2020-01-01) to today (included, so that a manual run
    can load today's files)."""
    import dagster as dg

    return dg.DailyPartitionsDefinition(
        start_date=os.environ.get("SOCIAL_CARE_PARTITION_START") or DEFAULT_START,
        end_offset=1,
        timezone="UTC",
    )


def today_partition(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()


def previous_day_partition(scheduled_at: datetime) -> str:
    """The partition a nightly run materialises: the UTC day before the scheduled moment."""
    return (scheduled_at.astimezone(UTC).date() - timedelta(days=1)).isoformat()
