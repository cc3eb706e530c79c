"""Daily exports from one big export: how files really arrive, for the incremental tests and the benchmark.

``split_into_days(source, target)`` rewrites the twcs and canonical CSV files of a landing folder as one file per
UTC day (``twcs/2024-03-01.csv``, ``messages/2024-03-01.csv``), the way a nightly export delivers them, with two
realistic flaws chosen by a hash of the message id (deterministic):

- ``late_percent`` of the messages arrive ``late_days`` days late, in a later day's file (a reply can then arrive
  before the message it answers: its thread is re-built when the parent comes);
- ``edited_percent`` of the canonical messages are delivered again ``edit_days`` days later with a new text (an
  edit: the latest version wins).

Everything runs in DuckDB (one scan of each source, one filtered COPY per day), so it splits 10M rows in seconds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

TWCS_DAY = "cast(strptime(created_at, '%a %b %d %H:%M:%S %z %Y') at time zone 'UTC' as date)"
MESSAGES_DAY = "cast(cast(sent_at as timestamptz) at time zone 'UTC' as date)"


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _split(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    out_dir: Path,
    day_expression: str,
    id_column: str,
    late_percent: int,
    late_days: int,
    edits: str | None,
) -> set[date]:
    sources = ", ".join(_literal(p) for p in files)
    con.execute(
        f"""
        create or replace temp table rows_by_day as
        select
            *,
            {day_expression} + case when hash({id_column}, 'late') % 100 < {late_percent}
                then {late_days} else 0 end as delivery_day
        from read_csv([{sources}], all_varchar = true, header = true)
        """
    )
    columns = [row[0] for row in con.execute("describe rows_by_day").fetchall() if row[0] != "delivery_day"]
    if edits:
        con.execute(edits.format(columns=", ".join(columns)))
    out_dir.mkdir(parents=True, exist_ok=True)
    days = {row[0] for row in con.execute("select distinct delivery_day from rows_by_day").fetchall()}
    for day in sorted(days):
        target = out_dir / f"{day.isoformat()}.csv"
        con.execute(
            f"""
            copy (
                select {", ".join(columns)} from rows_by_day where delivery_day = ? order by {id_column}
            ) to {_literal(target)} (header, quote '"', force_quote *)
            """,
            [day],
        )
    return days


def split_into_days(
    source: Path,
    target: Path,
    late_percent: int = 3,
    late_days: int = 2,
    edited_percent: int = 1,
    edit_days: int = 3,
) -> list[date]:
    """Write ``source``'s twcs/*.csv and messages/*.csv as daily files under ``target``; returns the days."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    days: set[date] = set()
    try:
        twcs_files = sorted((source / "twcs").glob("*.csv"))
        if twcs_files:
            days |= _split(
                con, twcs_files, target / "twcs", TWCS_DAY, "tweet_id", late_percent, late_days, None
            )
        message_files = sorted((source / "messages").glob("*.csv"))
        if message_files:
            edits = f"""
                insert into rows_by_day
                select * replace (text || ' (edited)' as text, delivery_day + {edit_days} as delivery_day)
                from rows_by_day
                where hash(message_id, 'edit') % 100 < {edited_percent}
            """
            days |= _split(
                con,
                message_files,
                target / "messages",
                MESSAGES_DAY,
                "message_id",
                late_percent,
                late_days,
                edits,
            )
    finally:
        con.close()
    return sorted(days)
