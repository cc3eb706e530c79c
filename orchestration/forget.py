"""`make forget AUTHOR=<author id> CHANNEL=<channel>`: erase one customer from the warehouse and everything built
from it.

python -m orchestration.forget --author <author id> --channel <channel> [--no-rebuild]

In one transaction: an audit row in ``raw.erased_authors`` (the customer's pseudonym, the channel, the time, the
rows removed per table; never the handle), then the customer's messages and the brand's replies to them
(privacy.py says exactly which rows) deleted from every raw table, their rejected rows from ``raw.rejected_rows``,
their scores from ``raw.message_sentiment``, and the file counts of ``raw.load_manifest`` moved from loaded or
rejected to erased. Then the whole Dagster job runs with a dbt full refresh: every model is rebuilt without them,
the serving copy and the report are published again. Landing files are not touched: loading one again drops the
same rows (loader.py). Run it when no other run is writing the warehouse (DuckDB allows one writer).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration import build_state, privacy
from orchestration.config import Settings
from orchestration.loader import FORMATS, SENTIMENT_TABLE, ensure_raw_schema

REJECTS_TABLE = "raw.rejected_rows"


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    channel: str
    erased_at: datetime
    rows_removed: dict[str, int]


def erase(
    con: duckdb.DuckDBPyConnection,
    key: privacy.KeyedHash,
    channel: str,
    author_id: str,
    erased_at: datetime | None = None,
) -> Erasure:
    """Record the erasure and delete the customer's rows from the raw tables, in one transaction. Does not
    rebuild the models (``forget`` does)."""
    channel, author_id = channel.strip().lower(), author_id.strip()
    if not channel or not author_id:
        raise ValueError("an erasure needs a channel and an author id")
    erased_at = (erased_at or privacy.now()).replace(tzinfo=None, microsecond=0)
    ensure_raw_schema(con)
    if privacy.has_erasures(con):
        privacy.check_key(con, key)
    removed = threads = "forget_none"
    con.execute("begin transaction")
    try:
        pseudonym = privacy.record_erasure(con, key, channel, author_id, erased_at)
        audit_row = con.execute(f"select max(rowid) from {privacy.AUDIT_TABLE}").fetchone()[0]
        rows_sql = " union all ".join(
            privacy.row_shape(fmt.columns).rows_sql.format(relation=f"raw.{fmt.table}")
            for fmt in FORMATS.values()
        )
        removed, threads = privacy.select_erased(con, key, f"select * from ({rows_sql})", "forget")
        counts: dict[str, int] = {}
        for fmt in FORMATS.values():
            where = f"{privacy.row_shape(fmt.columns).key} in (select message_key from {removed})"
            per_file = con.execute(
                f"select _file, count(*) from raw.{fmt.table} where {where} group by _file"
            ).fetchall()
            con.execute(f"delete from raw.{fmt.table} where {where}")
            _move_counts(con, per_file, "rows_loaded")
            counts[f"raw.{fmt.table}"] = sum(n for _, n in per_file)
        rejects = privacy.rejects_to_erase_sql(key, REJECTS_TABLE, "rowid")
        per_file = con.execute(
            f"select file_path, count(*) from {REJECTS_TABLE} where rowid in ({rejects}) group by file_path"
        ).fetchall()
        con.execute(f"delete from {REJECTS_TABLE} where rowid in ({rejects})")
        _move_counts(con, per_file, "rows_rejected")
        counts[REJECTS_TABLE] = sum(n for _, n in per_file)
        counts[SENTIMENT_TABLE] = con.execute(
            f"delete from {SENTIMENT_TABLE} where message_key in (select message_key from {removed})"
        ).fetchone()[0]
        privacy.remember_removed(con, key, removed, threads, erased_at)
        con.execute(
            f"update {privacy.AUDIT_TABLE} set rows_removed = ? where rowid = ?",
            [json.dumps(counts), audit_row],
        )
        # rows left raw without a file changing: the incremental models cannot see it, the next build starts over
        build_state.invalidate(con, "an erasure removed rows from raw")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute(f"drop table if exists {removed}; drop table if exists {threads}")
    return Erasure(pseudonym, channel, erased_at, counts)


def _move_counts(con: duckdb.DuckDBPyConnection, per_file: list[tuple[str, int]], column: str) -> None:
    """rows read = loaded + rejected + erased stays true for every file that lost rows."""
    for file_path, n in per_file:
        con.execute(
            f"update raw.load_manifest set {column} = {column} - ?, rows_erased = coalesce(rows_erased, 0) + ? "
            "where file_path = ? and status = 'loaded'",
            [n, n, file_path],
        )


def forget(
    authors: list[tuple[str, str]],
    warehouse: Path | None = None,
    rebuild: bool = True,
    instance=None,
    log=print,
) -> tuple[list[Erasure], bool]:
    """Erase each (channel, author id), then rebuild everything with a dbt full refresh (the Dagster job, which
    also publishes the serving copy and the report). Returns the erasures and whether the rebuild succeeded."""
    warehouse = Path(warehouse) if warehouse else Settings.from_env().warehouse
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    key = privacy.resolve_key(warehouse)
    if key.notice() and not rebuild:  # a rebuild says it itself (the serving copy's step)
        log(key.notice())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set TimeZone = 'UTC'")
        erasures = [erase(con, key, channel, author_id) for channel, author_id in authors]
    for erasure in erasures:
        removed = ", ".join(f"{table} {n}" for table, n in erasure.rows_removed.items() if n) or "no rows"
        log(f"erased customer {erasure.pseudonym} ({erasure.channel}): {removed}")
    if not rebuild:
        return erasures, True
    from orchestration.run import build

    log("rebuilding every model (dbt full refresh), the serving copy and the report")
    result = build(full_refresh=True, instance=instance)
    return erasures, result.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--author", required=True, help="the customer's author id, as in the exports")
    parser.add_argument("--channel", required=True, help="the channel: twitter, facebook, instagram, ...")
    parser.add_argument(
        "--no-rebuild", action="store_true", help="only delete from the raw tables; the next run rebuilds"
    )
    args = parser.parse_args(argv)
    if not args.author.strip() or not args.channel.strip():
        parser.error("--author and --channel must not be empty")
    try:
        _, success = forget([(args.channel, args.author)], rebuild=not args.no_rebuild)
    except duckdb.IOException as exc:  # another process (a run, dagster dev) holds the warehouse
        print(f"cannot open the warehouse for writing, nothing was erased: {exc}", file=sys.stderr)
        return 1
    if not success:
        print(
            "the rebuild failed: the raw tables no longer hold the customer, but the models, the serving copy and "
            "the report still do until a run succeeds (make run)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
