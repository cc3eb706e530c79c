"""Loading landing files into the warehouse's ``raw`` schema: one transaction per file, every row accounted for.

- ``raw.<format table>``: the good rows, each with the file, the file's SHA-256, its position and the load time.
- ``raw.rejected_rows``: every row that could not be loaded, whole, with the file, position and reason.
- ``raw.load_manifest``: one row per file content loaded (or failed): rows read = rows loaded + rows rejected + rows
  erased.

Rows of an erased customer (orchestration/privacy.py, ``make forget``) are dropped from every file loaded after the
erasure, counted as ``rows_erased`` and kept nowhere (not in ``raw.rejected_rows`` either).

A file whose (path, content hash) is already loaded is skipped, so loading the same folder twice adds nothing. A
file whose content changed is loaded again and replaces its earlier version. A file that fails as a whole is
recorded with status ``failed`` and its error, loads nothing, and does not stop the other files.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration import privacy
from orchestration.deliveries import delivered_by
from orchestration.parsers import facebook_graph, messages, messenger_dyi, twcs, twitter_v2
from orchestration.parsers.common import FileRejected, ParsedBatch, ParsedFile


@dataclass(frozen=True)
class LandingFormat:
    name: str  # the landing sub-folder
    table: str  # the raw table (and the dbt source table / Dagster asset key)
    columns: str  # the raw table's typed columns
    parse: Callable[[duckdb.DuckDBPyConnection, Path, datetime], ParsedFile]
    patterns: tuple[str, ...]
    # Exports that come as a tree of folders (Download Your Information): every matching file below the folder is
    # loaded and anything else (photos, audio) is left alone.
    recursive: bool = False
    # For formats whose exports are many small files: parses (path, content) pairs at once; what it declines goes
    # through ``parse``, one file at a time (see load_folder).
    parse_batch: (
        Callable[[duckdb.DuckDBPyConnection, Sequence[tuple[Path, bytes]], datetime], ParsedBatch] | None
    ) = None


# Files loaded together when a format can parse a batch: how many, and the largest file taken into a batch.
BATCH_FILES = 2000
BATCH_FILE_BYTES = 1 << 20
# Files (or batches) loaded at the same time, each by a thread on its own cursor.
LOAD_WORKERS = max(1, min(4, os.cpu_count() or 1))


JSON_PATTERNS = ("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson")
FORMATS: dict[str, LandingFormat] = {
    "twcs": LandingFormat("twcs", "twcs_messages", twcs.RAW_COLUMNS, twcs.parse_twcs, ("*.csv", "*.csv.gz")),
    "messages": LandingFormat(
        "messages",
        "messages",
        messages.RAW_COLUMNS,
        messages.parse_messages,
        ("*.csv", "*.csv.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson"),
    ),
    "twitter_v2": LandingFormat(
        "twitter_v2", "twitter_v2_messages", messages.RAW_COLUMNS, twitter_v2.parse_twitter_v2, JSON_PATTERNS
    ),
    "facebook_graph": LandingFormat(
        "facebook_graph",
        "facebook_graph_messages",
        messages.RAW_COLUMNS,
        facebook_graph.parse_facebook_graph,
        JSON_PATTERNS,
    ),
    "messenger_dyi": LandingFormat(
        "messenger_dyi",
        "messenger_dyi_messages",
        messages.RAW_COLUMNS,
        messenger_dyi.parse_messenger_dyi,
        ("message_*.json", "message_*.json.gz"),
        recursive=True,
        parse_batch=messenger_dyi.parse_messenger_dyi_batch,
    ),
}

# Written by orchestration/sentiment.py; created here with the other raw tables so dbt always finds its sources.
SENTIMENT_TABLE = "raw.message_sentiment"
SENTIMENT_COLUMNS = (
    "message_key varchar, text_hash varchar, compound double, pos double, neu double, neg double, "
    "scorer varchar, scored_at timestamp"
)
MANIFEST_COLUMNS = (
    "file_path, file_hash, format, status, bytes, rows_read, rows_loaded, rows_rejected, rows_erased, error, "
    "loaded_at"
)
LINEAGE_COLUMNS = "_file varchar, _file_hash varchar, _row bigint, _loaded_at timestamp"


@dataclass(frozen=True)
class FileResult:
    file: str
    status: str  # loaded | skipped | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = None
    rows_erased: int = 0  # rows of erased customers, dropped (privacy.py)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables if they are not there yet (the sentiment scores' too, so that dbt
    finds every source even before the first scoring)."""
    con.execute("create schema if not exists raw")
    con.execute(f"create table if not exists {SENTIMENT_TABLE} ({SENTIMENT_COLUMNS})")
    for fmt in FORMATS.values():
        con.execute(f"create table if not exists raw.{fmt.table} ({fmt.columns}, {LINEAGE_COLUMNS})")
    con.execute(
        """
        create table if not exists raw.rejected_rows (
            file_path varchar, file_hash varchar, format varchar, _row bigint, line bigint,
            reason varchar, raw_record varchar, rejected_at timestamp
        )
        """
    )
    con.execute(
        """
        create table if not exists raw.load_manifest (
            file_path varchar, file_hash varchar, format varchar, status varchar, bytes bigint,
            rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_erased bigint default 0,
            error varchar, loaded_at timestamp
        )
        """
    )
    # a warehouse made before erasure existed
    con.execute("alter table raw.load_manifest add column if not exists rows_erased bigint default 0")
    privacy.ensure_erasure_tables(con)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_files(folder: Path, fmt: LandingFormat) -> list[Path]:
    """Every entry of a format's folder, sorted: the files its patterns match and anything else that is there
    (so that a stray directory or a file of the wrong type is reported, not ignored)."""
    if not folder.is_dir():
        return []
    if fmt.recursive:
        # os.walk, not Path.rglob: an inbox export is a folder per thread, and this runs over hundreds of thousands.
        # Hidden folders and files are skipped; symbolic links to folders are not followed (as rglob).
        found: list[Path] = []
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or not any(fnmatch.fnmatchcase(name, p) for p in fmt.patterns):
                    continue
                full = os.path.join(root, name)
                if os.path.isfile(full):
                    found.append(Path(full))
        return sorted(found, key=lambda p: p.parts)
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: LandingFormat,
    relative_name: str,
    loaded_at: datetime | None = None,
    key: privacy.KeyedHash | None = None,
) -> FileResult:
    """Load one file in one transaction. Never raises for a bad file: the result says what happened (it raises
    when customers were erased and the pseudonym key is not the one they were erased with).

    ``key``: the pseudonym key, needed only once a customer was erased (default: privacy.resolve_key for the
    connection's warehouse file)."""
    # to the microsecond: each load has its own instant, so an incremental dbt run reads exactly the rows loaded
    # after the last one it saw (loaded_at > watermark), never the last load again
    loaded_at = (loaded_at or datetime.now(UTC)).replace(tzinfo=None)
    key = erasure_key(con, key)
    try:
        if not path.is_file():
            raise FileRejected("not a regular file (a directory?)")
        if not any(path.match(p) for p in fmt.patterns):
            raise FileRejected(
                f"unsupported file name {path.name}: expected one of {', '.join(fmt.patterns)}"
            )
        file_hash = file_sha256(path)
        size = path.stat().st_size
    except (FileRejected, OSError) as exc:
        return _record_failure(con, relative_name, None, fmt, None, str(exc), loaded_at)
    already = con.execute(
        "select 1 from raw.load_manifest where file_path = ? and file_hash = ? and status = 'loaded'",
        [relative_name, file_hash],
    ).fetchone()
    if already:
        return FileResult(relative_name, "skipped")
    try:
        parsed = fmt.parse(con, path, loaded_at)
    except FileRejected as exc:
        return _record_failure(con, relative_name, file_hash, fmt, size, str(exc), loaded_at)
    except duckdb.Error as exc:
        return _record_failure(con, relative_name, file_hash, fmt, size, f"cannot parse: {exc}", loaded_at)
    except Exception as exc:
        # A parser bug must not stop the run: the file is recorded as failed, with what went wrong.
        error = f"unexpected error while parsing: {type(exc).__name__}: {exc}"
        return _record_failure(con, relative_name, file_hash, fmt, size, error, loaded_at)
    erased_rows = erased_rejects = 0
    erasure: tuple[str, str] | None = None
    try:
        if key is not None:
            erasure, erased_rows, erased_rejects = _drop_erased(con, parsed, fmt, key)
        rows_loaded, rows_rejected = parsed.rows_parsed - erased_rows, parsed.rows_rejected - erased_rejects
        con.execute("begin transaction")
        # A new version of a file replaces the old one: no row of the old version stays behind.
        con.execute(f"delete from raw.{fmt.table} where _file = ?", [relative_name])
        con.execute("delete from raw.rejected_rows where file_path = ?", [relative_name])
        con.execute("delete from raw.load_manifest where file_path = ?", [relative_name])
        con.execute(
            f"""
            insert into raw.{fmt.table}
            select * exclude (_row), ? as _file, ? as _file_hash, _row, ? as _loaded_at
            from {parsed.parsed_table}
            """,
            [relative_name, file_hash, loaded_at],
        )
        con.execute(
            f"""
            insert into raw.rejected_rows
            select ?, ?, ?, _row, line, reason, raw_record, ? from {parsed.rejects_table}
            """,
            [relative_name, file_hash, fmt.name, loaded_at],
        )
        con.execute(
            f"insert into raw.load_manifest ({MANIFEST_COLUMNS}) values (?, ?, ?, 'loaded', ?, ?, ?, ?, ?, null, ?)",
            [
                relative_name,
                file_hash,
                fmt.name,
                size,
                parsed.rows_read,
                rows_loaded,
                rows_rejected,
                erased_rows + erased_rejects,
                loaded_at,
            ],
        )
        if erasure is not None:
            privacy.remember_removed(con, key, *erasure, loaded_at)
        con.execute("commit")
    except Exception as exc:
        _rollback(con)
        return _record_failure(con, relative_name, file_hash, fmt, size, f"cannot store: {exc}", loaded_at)
    finally:
        con.execute(
            f"drop table if exists {parsed.parsed_table}; drop table if exists {parsed.rejects_table}"
        )
        for table in erasure or ():
            con.execute(f"drop table if exists {table}")
    return FileResult(
        relative_name,
        "loaded",
        parsed.rows_read,
        rows_loaded,
        rows_rejected,
        rows_erased=erased_rows + erased_rejects,
    )


def erasure_key(con: duckdb.DuckDBPyConnection, key: privacy.KeyedHash | None) -> privacy.KeyedHash | None:
    """The pseudonym key to recognise erased customers with, checked against the erasures; None when nobody was
    erased (nothing to filter)."""
    if not privacy.has_erasures(con):
        return None
    key = key or privacy.resolve_key(privacy.connection_warehouse(con))
    privacy.check_key(con, key)
    return key


def _drop_erased(
    con: duckdb.DuckDBPyConnection, parsed: ParsedFile, fmt: LandingFormat, key: privacy.KeyedHash
) -> tuple[tuple[str, str], int, int]:
    """Delete the rows of erased customers (and the brand's replies to them) from the parsed file, and the
    rejected rows that name them. Returns the erasure's temp tables (removed keys, threads) and the counts."""
    shape = privacy.row_shape(fmt.columns)
    prefix = f"{parsed.parsed_table}_erasure"
    removed, threads = privacy.select_erased(
        con, key, shape.rows_sql.format(relation=parsed.parsed_table), prefix
    )
    rows = con.execute(
        f"delete from {parsed.parsed_table} where {shape.key} in (select message_key from {removed})"
    ).fetchone()[0]
    rejects = con.execute(
        f"delete from {parsed.rejects_table} where rowid in "
        f"({privacy.rejects_to_erase_sql(key, parsed.rejects_table, 'rowid')})"
    ).fetchone()[0]
    return (removed, threads), rows, rejects


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the file's transaction, if one is still open."""
    with contextlib.suppress(duckdb.Error):  # no transaction is active when it failed before it began
        con.execute("rollback")


def _record_failure(
    con: duckdb.DuckDBPyConnection,
    relative_name: str,
    file_hash: str | None,
    fmt: LandingFormat,
    size: int | None,
    error: str,
    loaded_at: datetime,
) -> FileResult:
    """A failed file keeps one manifest row (its latest attempt); its earlier good load, if any, stays."""
    con.execute("begin transaction")
    con.execute("delete from raw.load_manifest where file_path = ? and status = 'failed'", [relative_name])
    con.execute(
        f"insert into raw.load_manifest ({MANIFEST_COLUMNS}) values (?, ?, ?, 'failed', ?, 0, 0, 0, 0, ?, ?)",
        [relative_name, file_hash, fmt.name, size, error, loaded_at],
    )
    con.execute("commit")
    return FileResult(relative_name, "failed", error=error)


def load_folder(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    fmt: LandingFormat,
    loaded_at: datetime | None = None,
    key: privacy.KeyedHash | None = None,
    through_day: date | None = None,
) -> list[FileResult]:
    """Load every file of one format's landing sub-folder (with ``through_day``: the files a daily partition
    loads, see orchestration/deliveries.py); the results in the order of the files.

    Files are loaded LOAD_WORKERS at a time, each on its own cursor of ``con`` (a parser's statements mostly run on
    one core: its tables are small), each in its own transaction as load_file says. A format with ``parse_batch``
    loads its small files BATCH_FILES at a time, in one transaction per batch (each file keeps its manifest row,
    rows and rejects, exactly as when loaded alone); any file the batch declines, and the whole batch if storing it
    fails, goes through load_file. Once a customer was erased, files load one by one (load_file drops the erased
    customers' rows; the batch path does not).
    """
    ensure_raw_schema(con)
    folder = landing_dir / fmt.name
    key = erasure_key(con, key)
    listed = [
        (path, f"{fmt.name}/{path.relative_to(folder).as_posix()}") for path in landing_files(folder, fmt)
    ]
    delivered = [(path, name) for path, name in listed if delivered_by(name, through_day)]
    paths = [path for path, _ in delivered]
    names = [name for _, name in delivered]
    if fmt.parse_batch is None or key is not None:
        return _each(
            con,
            lambda c, i: [load_file(c, paths[i], fmt, names[i], loaded_at, key)],
            range(len(paths)),
        )
    return _each(
        con,
        lambda c, start: _load_batch(
            c, paths[start : start + BATCH_FILES], names[start : start + BATCH_FILES], fmt, loaded_at
        ),
        range(0, len(paths), BATCH_FILES),
    )


def _each(
    con: duckdb.DuckDBPyConnection,
    work: Callable[[duckdb.DuckDBPyConnection, int], list[FileResult]],
    items: Sequence[int],
) -> list[FileResult]:
    """``work`` on every item, LOAD_WORKERS at a time, each worker thread on its own cursor (a connection of its own
    to the same database: its temp tables and transactions are its own); results in the order of the items."""
    if LOAD_WORKERS < 2 or len(items) < 2:
        return [r for item in items for r in work(con, item)]
    timezone = con.execute("select current_setting('TimeZone')").fetchone()[0]
    local = threading.local()
    cursors: list[duckdb.DuckDBPyConnection] = []
    lock = threading.Lock()

    def run(item: int) -> list[FileResult]:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = con.cursor()
            cursor.execute(f"set TimeZone = '{timezone}'")
            local.cursor = cursor
            with lock:
                cursors.append(cursor)
        return work(cursor, item)

    try:
        with ThreadPoolExecutor(max_workers=LOAD_WORKERS) as pool:
            return [r for results in pool.map(run, items) for r in results]
    finally:
        for cursor in cursors:
            cursor.close()


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    names: Sequence[str],
    fmt: LandingFormat,
    loaded_at: datetime | None,
) -> list[FileResult]:
    """Load files with the format's batch parser; the files it does not take are loaded one by one."""
    at = (loaded_at or datetime.now(UTC)).replace(tzinfo=None)  # to the microsecond, as load_file
    # (position, content, hash) of the regular, matching, small files that could be read
    readable: list[tuple[int, bytes, str]] = []
    for i, path in enumerate(paths):
        try:
            if (
                path.is_file()
                and any(path.match(p) for p in fmt.patterns)
                and path.stat().st_size <= BATCH_FILE_BYTES
            ):
                content = path.read_bytes()
                readable.append((i, content, hashlib.sha256(content).hexdigest()))
        except OSError:
            pass  # load_file says what is wrong
    results: dict[int, FileResult] = {}
    if readable:
        already = con.execute(
            """
            select f.i from (select unnest(?::bigint[]) as i, unnest(?::varchar[]) as file_path,
                unnest(?::varchar[]) as file_hash) as f
            where exists (select 1 from raw.load_manifest as m
                where m.file_path = f.file_path and m.file_hash = f.file_hash and m.status = 'loaded')
            """,
            [[i for i, _, _ in readable], [names[i] for i, _, _ in readable], [h for _, _, h in readable]],
        ).fetchall()
        skipped = {r[0] for r in already}
        results.update({i: FileResult(names[i], "skipped") for i in skipped})
        pending = [(i, content, digest) for i, content, digest in readable if i not in skipped]
        if pending:
            stored = _store_batch(
                con, [(paths[i], names[i], content, digest) for i, content, digest in pending], fmt, at
            )
            results.update({i: stored[k] for k, (i, _, _) in enumerate(pending) if k in stored})
    return [
        results[i] if i in results else load_file(con, path, fmt, names[i], loaded_at)
        for i, path in enumerate(paths)
    ]


def _store_batch(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, bytes, str]],
    fmt: LandingFormat,
    loaded_at: datetime,
) -> dict[int, FileResult]:
    """Parse (path, name, content, hash) files at once and store those the parser took, in one transaction.
    Returns {position in files: result} of the stored files; nothing when parsing or storing failed (then each
    file is loaded alone, and a failure is recorded for the file that causes it)."""
    assert fmt.parse_batch is not None
    try:
        parsed = fmt.parse_batch(con, [(path, content) for path, _, content, _ in files], loaded_at)
    except Exception:
        return {}
    declined = set(parsed.declined)
    taken = [k for k in range(len(files)) if k not in declined]
    try:
        con.execute(
            f"""
            create or replace temp table _batch_files as
            select f.*, coalesce(p.n, 0) as loaded, coalesce(r.n, 0) as rejected
            from (select unnest(?::bigint[]) as _file_index, unnest(?::varchar[]) as file_path,
                unnest(?::varchar[]) as file_hash, unnest(?::bigint[]) as bytes) as f
            left join (select _file_index, count(*) as n from {parsed.parsed_table} group by all) as p
                using (_file_index)
            left join (select _file_index, count(*) as n from {parsed.rejects_table} group by all) as r
                using (_file_index)
            """,
            [
                taken,
                [files[k][1] for k in taken],
                [files[k][3] for k in taken],
                [len(files[k][2]) for k in taken],
            ],
        )
        counts = {
            k: (loaded, rejected)
            for k, loaded, rejected in con.execute(
                "select _file_index, loaded, rejected from _batch_files"
            ).fetchall()
        }
        con.execute("begin transaction")
        # A new version of a file replaces the old one: no row of the old version stays behind.
        con.execute(f"delete from raw.{fmt.table} where _file in (select file_path from _batch_files)")
        con.execute("delete from raw.rejected_rows where file_path in (select file_path from _batch_files)")
        con.execute("delete from raw.load_manifest where file_path in (select file_path from _batch_files)")
        con.execute(
            f"""
            insert into raw.{fmt.table}
            select p.* exclude (_file_index, _row), f.file_path, f.file_hash, p._row, ?
            from {parsed.parsed_table} as p join _batch_files as f using (_file_index)
            order by p._file_index, p._row
            """,
            [loaded_at],
        )
        con.execute(
            f"""
            insert into raw.rejected_rows
            select f.file_path, f.file_hash, ?, r._row, r.line, r.reason, r.raw_record, ?
            from {parsed.rejects_table} as r join _batch_files as f using (_file_index)
            order by r._file_index, r._row
            """,
            [fmt.name, loaded_at],
        )
        con.execute(
            f"""
            insert into raw.load_manifest ({MANIFEST_COLUMNS})
            select file_path, file_hash, ?, 'loaded', bytes, loaded + rejected, loaded, rejected, null, ?
            from _batch_files order by _file_index
            """,
            [fmt.name, loaded_at],
        )
        con.execute("commit")
    except Exception:
        _rollback(con)
        return {}
    finally:
        con.execute(
            f"drop table if exists {parsed.parsed_table}; drop table if exists {parsed.rejects_table}; "
            "drop table if exists _batch_files"
        )
    return {k: FileResult(files[k][1], "loaded", sum(counts[k]), *counts[k]) for k in taken}


def summarize(results: Iterable[FileResult]) -> dict[str, int]:
    results = list(results)
    return {
        "files_loaded": sum(r.status == "loaded" for r in results),
        "files_skipped": sum(r.status == "skipped" for r in results),
        "files_failed": sum(r.status == "failed" for r in results),
        "rows_read": sum(r.rows_read for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_rejected": sum(r.rows_rejected for r in results),
        "rows_erased": sum(r.rows_erased for r in results),
    }
