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
from stat import S_ISREG

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
    "loaded_at, file_mtime_ns"
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
    # a warehouse made before erasure existed, before the quick check
    con.execute("alter table raw.load_manifest add column if not exists rows_erased bigint default 0")
    con.execute("alter table raw.load_manifest add column if not exists file_mtime_ns bigint")
    privacy.ensure_erasure_tables(con)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unchanged_files(con: duckdb.DuckDBPyConnection, files: Sequence[tuple[Path, str]]) -> set[str]:
    """The names of ``files`` (path, name in the manifest) loaded before and not touched since: a regular file with
    the size and modification time (ns) its manifest row recorded. They are skipped without being read, the quick
    check of rsync and make: a nightly run reads the new exports, not every export of the history again (10M
    messages, 34 days: 1.3 GB hashed each run; a Messenger inbox is one file per thread). Any other file is read,
    and its SHA-256 decides (``_already_loaded``). A file replaced by one of the same size with its modification
    time set back to the old one's, to the nanosecond, would be missed: copy exports in, or load with
    ``quick_check=False``."""
    recorded = {
        name: (size, mtime_ns)
        for name, size, mtime_ns in con.execute(
            "select file_path, bytes, file_mtime_ns from raw.load_manifest "
            "where status = 'loaded' and file_mtime_ns is not null"
        ).fetchall()
    }
    unchanged = set()
    for path, name in files:
        if name not in recorded:
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        if S_ISREG(stat.st_mode) and (stat.st_size, stat.st_mtime_ns) == recorded[name]:
            unchanged.add(name)
    return unchanged


# A modification time this close to the load (or after it) is not trusted: a file rewritten within the
# file system's time resolution (up to 2 s) keeps its time. Such a file is hashed again by the next load, which
# records its time then ("racy git": git's index has the same rule).
RACY_SECONDS = 2


def trusted_mtime(mtime_ns: int, at: datetime) -> int | None:
    """The modification time to record for a file read at ``at`` (naive UTC), or None when it is too recent to
    vouch for the content (RACY_SECONDS)."""
    at_ns = int(at.replace(tzinfo=UTC).timestamp() * 1_000_000) * 1_000
    return mtime_ns if mtime_ns < at_ns - RACY_SECONDS * 1_000_000_000 else None


def _already_loaded(
    con: duckdb.DuckDBPyConnection, files: Sequence[tuple[str, str, int, int | None]]
) -> set[str]:
    """The names of ``files`` (name, SHA-256, size, trusted modification time in ns) whose content was loaded
    before: they are skipped. Their manifest rows take the file's size and time, so that the next run skips them
    without reading them (unchanged_files), e.g. after a copy that did not keep the time."""
    if not files:
        return set()
    con.execute(
        """
        create or replace temp table _files_read as
        select unnest(?::varchar[]) as file_path, unnest(?::varchar[]) as file_hash,
            unnest(?::bigint[]) as bytes, unnest(?::bigint[]) as file_mtime_ns
        """,
        [[f[0] for f in files], [f[1] for f in files], [f[2] for f in files], [f[3] for f in files]],
    )
    try:
        already = {
            name
            for (name,) in con.execute(
                """
                select f.file_path from _files_read as f
                where exists (select 1 from raw.load_manifest as m
                    where m.file_path = f.file_path and m.file_hash = f.file_hash and m.status = 'loaded')
                """
            ).fetchall()
        }
        # only a shortcut for the next run: if it cannot be recorded (say, a write conflict with another loader
        # thread), the next run reads the file and tries again
        if already:
            with contextlib.suppress(duckdb.Error):
                con.execute(
                    """
                    update raw.load_manifest as m set bytes = f.bytes, file_mtime_ns = f.file_mtime_ns
                    from _files_read as f
                    where m.file_path = f.file_path and m.file_hash = f.file_hash and m.status = 'loaded'
                        and m.file_mtime_ns is distinct from f.file_mtime_ns
                    """
                )
    finally:
        con.execute("drop table if exists _files_read")
    return already


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
        stat = path.stat()  # before reading: a change while it is read gives it a newer time than recorded
        size, mtime_ns = stat.st_size, trusted_mtime(stat.st_mtime_ns, loaded_at)
        file_hash = file_sha256(path)
    except (FileRejected, OSError) as exc:
        return _record_failure(con, relative_name, None, fmt, None, str(exc), loaded_at)
    if _already_loaded(con, [(relative_name, file_hash, size, mtime_ns)]):
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
            f"insert into raw.load_manifest ({MANIFEST_COLUMNS}) "
            "values (?, ?, ?, 'loaded', ?, ?, ?, ?, ?, null, ?, ?)",
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
                mtime_ns,
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
        f"insert into raw.load_manifest ({MANIFEST_COLUMNS}) "
        "values (?, ?, ?, 'failed', ?, 0, 0, 0, 0, ?, ?, null)",
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
    quick_check: bool = True,
) -> list[FileResult]:
    """Load every file of one format's landing sub-folder (with ``through_day``: the files a daily partition
    loads, see orchestration/deliveries.py); the results in the order of the files.

    Files are loaded LOAD_WORKERS at a time, each on its own cursor of ``con`` (a parser's statements mostly run on
    one core: its tables are small), each in its own transaction as load_file says. A format with ``parse_batch``
    loads its small files BATCH_FILES at a time, in one transaction per batch (each file keeps its manifest row,
    rows and rejects, exactly as when loaded alone); any file the batch declines, and the whole batch if storing it
    fails, goes through load_file. Once a customer was erased, files load one by one (load_file drops the erased
    customers' rows; the batch path does not). A file loaded before and not touched since is skipped without
    being read (``unchanged_files``; ``quick_check=False`` reads and hashes every file).
    """
    ensure_raw_schema(con)
    folder = landing_dir / fmt.name
    key = erasure_key(con, key)
    listed = [
        (path, f"{fmt.name}/{path.relative_to(folder).as_posix()}") for path in landing_files(folder, fmt)
    ]
    delivered = [(path, name) for path, name in listed if delivered_by(name, through_day)]
    unchanged = unchanged_files(con, delivered) if quick_check else set()
    paths = [path for path, name in delivered if name not in unchanged]
    names = [name for _, name in delivered if name not in unchanged]
    if fmt.parse_batch is None or key is not None:
        results = _each(
            con,
            lambda c, i: [load_file(c, paths[i], fmt, names[i], loaded_at, key)],
            range(len(paths)),
        )
    else:
        results = _each(
            con,
            lambda c, start: _load_batch(
                c, paths[start : start + BATCH_FILES], names[start : start + BATCH_FILES], fmt, loaded_at
            ),
            range(0, len(paths), BATCH_FILES),
        )
    by_name = {result.file: result for result in results}
    return [by_name.get(name) or FileResult(name, "skipped") for _, name in delivered]


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
    # (position, content, hash, trusted modification time in ns) of the regular, matching, small files that could
    # be read
    readable: list[tuple[int, bytes, str, int | None]] = []
    for i, path in enumerate(paths):
        try:
            stat = path.stat()  # before reading, as load_file
            if (
                S_ISREG(stat.st_mode)
                and any(path.match(p) for p in fmt.patterns)
                and stat.st_size <= BATCH_FILE_BYTES
            ):
                content = path.read_bytes()
                digest = hashlib.sha256(content).hexdigest()
                readable.append((i, content, digest, trusted_mtime(stat.st_mtime_ns, at)))
        except OSError:
            pass  # load_file says what is wrong
    results: dict[int, FileResult] = {}
    if readable:
        skipped = _already_loaded(
            con, [(names[i], digest, len(content), mtime_ns) for i, content, digest, mtime_ns in readable]
        )
        results.update({i: FileResult(names[i], "skipped") for i, *_ in readable if names[i] in skipped})
        pending = [file for file in readable if names[file[0]] not in skipped]
        if pending:
            stored = _store_batch(
                con,
                [(paths[i], names[i], content, digest, mtime_ns) for i, content, digest, mtime_ns in pending],
                fmt,
                at,
            )
            results.update({file[0]: stored[k] for k, file in enumerate(pending) if k in stored})
    return [
        results[i] if i in results else load_file(con, path, fmt, names[i], loaded_at)
        for i, path in enumerate(paths)
    ]


def _store_batch(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, str, bytes, str, int | None]],
    fmt: LandingFormat,
    loaded_at: datetime,
) -> dict[int, FileResult]:
    """Parse (path, name, content, hash, trusted modification time in ns) files at once and store those the parser took, in one transaction.
    Returns {position in files: result} of the stored files; nothing when parsing or storing failed (then each
    file is loaded alone, and a failure is recorded for the file that causes it)."""
    assert fmt.parse_batch is not None
    try:
        parsed = fmt.parse_batch(con, [(path, content) for path, _, content, _, _ in files], loaded_at)
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
                unnest(?::varchar[]) as file_hash, unnest(?::bigint[]) as bytes,
                unnest(?::bigint[]) as file_mtime_ns) as f
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
                [files[k][4] for k in taken],
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
            select file_path, file_hash, ?, 'loaded', bytes, loaded + rejected, loaded, rejected, null, ?,
                file_mtime_ns
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
