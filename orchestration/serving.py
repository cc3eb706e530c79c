"""Serving copy: the marts published for readers (BI tools, analysts) who must never block the writer.

After a successful run, ``publish()`` copies every table of schema ``marts`` into a new DuckDB file and renames it
over ``serving.duckdb``, and writes one Parquet file per mart into ``serving/``. Readers open ``serving.duckdb``
read-only: the nightly run never waits for them (they hold another file), and they never see a half-written
build (a rename is atomic). A connection opened before a publish keeps reading the build it opened (POSIX: the
renamed-over file lives on until its last reader closes it); the next connection sees the new build.

Two things keep a reader on the old build: a connection pool (SQLAlchemy keeps its connections open: use
``poolclass=NullPool``), and DuckDB's one-database-per-path-per-process cache (a new connection in a process
that still holds one to the same path shares the old database).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SCHEMA = "marts"
SERVING_DB = "serving.duckdb"
PARQUET_DIR = "serving"
MANIFEST = "manifest.json"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """(name, comment) of every table and view of schema marts in the connection's main database."""
    return con.execute(
        """
        select table_name, comment from duckdb_tables()
        where database_name = current_database() and schema_name = ?
        union all
        select view_name, comment from duckdb_views()
        where database_name = current_database() and schema_name = ? and not internal
        order by 1
        """,
        [SCHEMA, SCHEMA],
    ).fetchall()


def warehouse_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The moment the marts describe: the backlog's last snapshot (= as_of, also for back-fills run with
    --as-of), else the latest message of staging.stg_messages, else None."""
    candidates = [
        ("marts", "kpi_backlog_daily", "max(snapshot_at)"),
        ("staging", "stg_messages", "max(sent_at)"),
    ]
    for schema, name, expression in candidates:
        exists = con.execute(
            """
            select count(*) from duckdb_tables() where database_name = current_database()
                and schema_name = ? and table_name = ?
            union all
            select count(*) from duckdb_views() where database_name = current_database()
                and schema_name = ? and view_name = ?
            """,
            [schema, name, schema, name],
        ).fetchall()
        if any(n for (n,) in exists):
            value = con.execute(f"select {expression} from {_ident(schema)}.{_ident(name)}").fetchone()[0]
            if value is not None:
                return value
    return None


def _copy_marts(
    con: duckdb.DuckDBPyConnection, marts: list[tuple[str, str | None]], target: Path, alias: str
) -> dict[str, int]:
    """Write every mart, with its table and column comments, into the new DuckDB file ``target`` (one
    transaction: one write to disk instead of one per statement). Returns the rows per mart."""
    column_comments = con.execute(
        """
        select table_name, column_name, comment from duckdb_columns()
        where database_name = current_database() and schema_name = ? and comment is not null
        order by table_name, column_index
        """,
        [SCHEMA],
    ).fetchall()
    con.execute(f"attach {_literal(str(target))} as {alias} (read_write)")
    try:
        con.begin()
        con.execute(f"create schema {alias}.{SCHEMA}")
        rows: dict[str, int] = {}
        for name, comment in marts:
            qualified = f"{alias}.{SCHEMA}.{_ident(name)}"
            con.execute(f"create table {qualified} as select * from {SCHEMA}.{_ident(name)}")
            if comment:
                con.execute(f"comment on table {qualified} is {_literal(comment)}")
            for column, text in ((c, t) for table, c, t in column_comments if table == name):
                con.execute(f"comment on column {qualified}.{_ident(column)} is {_literal(text)}")
            rows[name] = con.execute(f"select count(*) from {qualified}").fetchone()[0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.execute(f"detach {alias}")
    return rows


def _write_parquet(con: duckdb.DuckDBPyConnection, name: str, target: Path) -> None:
    """One mart as one Parquet file."""
    con.execute(
        f"copy (select * from {SCHEMA}.{_ident(name)}) to {_literal(str(target))} (format parquet, compression zstd)"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(warehouse: Path, serving_db: Path | None = None, parquet_dir: Path | None = None) -> dict:
    """Publish the marts of ``warehouse`` (opened read-only) as ``serving_db`` (default: serving.duckdb beside
    it) and one Parquet file per mart in ``parquet_dir`` (default: serving/ beside it), with a manifest.json.

    Everything is written under temporary names first, then renamed into place (os.replace): a failure before
    the renames leaves the previous serving copy untouched, and no temporary file is left behind. Call it with
    no read-write connection to the warehouse open in this process (DuckDB refuses a second configuration).
    Returns a summary: tables (rows per mart), rows, bytes, parquet_bytes, seconds, as_of, paths."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    serving_db = Path(serving_db) if serving_db else warehouse.parent / SERVING_DB
    parquet_dir = Path(parquet_dir) if parquet_dir else warehouse.parent / PARQUET_DIR
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")

    token = secrets.token_hex(6)
    tmp_db = serving_db.with_name(f"{serving_db.name}.tmp-{token}")
    staged: list[tuple[Path, Path]] = []  # (temporary, final), renamed in this order
    leftovers = [tmp_db, tmp_db.with_name(tmp_db.name + ".wal")]
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            marts = mart_tables(con)
            if not marts:
                raise ValueError(f"no table in schema {SCHEMA} of {warehouse}: nothing to publish")
            as_of = warehouse_as_of(con)
            serving_db.parent.mkdir(parents=True, exist_ok=True)
            parquet_dir.mkdir(parents=True, exist_ok=True)
            rows = _copy_marts(con, marts, tmp_db, f"serving_build_{token}")
            for name, _ in marts:
                final = parquet_dir / f"{name}.parquet"
                tmp = parquet_dir / f"{final.name}.tmp-{token}"
                leftovers.append(tmp)
                _write_parquet(con, name, tmp)
                staged.append((tmp, final))
        _fsync(tmp_db)
        staged.append((tmp_db, serving_db))

        manifest = {
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "as_of": as_of.isoformat() if as_of else None,
            "warehouse": str(warehouse),
            "serving_db": str(serving_db),
            "tables": {
                name: {"rows": rows[name], "parquet": f"{name}.parquet", "comment": comment}
                for name, comment in marts
            },
        }
        final_manifest = parquet_dir / MANIFEST
        tmp_manifest = parquet_dir / f"{MANIFEST}.tmp-{token}"
        leftovers.append(tmp_manifest)
        tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staged.append((tmp_manifest, final_manifest))

        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for path in leftovers:
            path.unlink(missing_ok=True)

    return {
        "serving_db": str(serving_db),
        "parquet_dir": str(parquet_dir),
        "as_of": manifest["as_of"],
        "tables": rows,
        "rows": sum(rows.values()),
        "bytes": serving_db.stat().st_size,
        "parquet_bytes": sum(final.stat().st_size for _, final in staged if final.suffix == ".parquet"),
        "seconds": round(time.perf_counter() - started, 3),
    }
