"""What every parser shares: the result type, the file-level error, a CSV reader that accounts for every row, the
rules that need the whole file (duplicate ids, reply cycles), and what the parsers of JSON exports share (reading
JSON documents, times, which authors are the brand).

A parser reads one file into two DuckDB temp tables on the connection it is given:

- ``parsed``: one row per good record, in the raw table's columns plus ``_row`` (the record's position);
- ``rejects``: one row per bad record: ``_row``, ``line`` (physical line, when known), ``reason``, ``raw_record``.

``rows_read = count(parsed) + count(rejects)`` always. A file that cannot be read at all raises ``FileRejected``
and leaves nothing behind.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import duckdb

# The first tweet was sent on 2006-03-21: anything earlier is a broken timestamp, not a message.
EARLIEST_MESSAGE_AT = "2006-03-21 00:00:00"
REJECTS_COLUMNS = "_row bigint, line bigint, reason varchar, raw_record varchar"
# What reading a (possibly gzipped) file can raise: truncated or corrupt gzip data, I/O errors.
READ_ERRORS = (OSError, EOFError, zlib.error)
# A reply cycle's reason lists at most this many of its messages.
CYCLE_IDS_SHOWN = 20
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# Where the platform parsers learn which authors are the brand (brand_ids_from_seed).
ACCOUNTS_SEED = REPO_ROOT / "seeds" / "accounts.csv"
# An ISO 8601 time's UTC offset: Z, +01, +0100, +01:00.
OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
# The reason of a platform message whose conversation has no brand account in it.
NO_BRAND = "no brand account in this conversation"


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why, in words a person understands."""


@dataclass(frozen=True)
class ParsedFile:
    parsed_table: str
    rejects_table: str
    rows_read: int
    rows_parsed: int
    rows_rejected: int


@dataclass(frozen=True)
class ParsedBatch:
    """Many files parsed at once: ``parsed`` and ``rejects`` as for one file, each row with ``_file_index`` first
    (the file's position in the batch); ``declined``: the files left to the one-file parser."""

    parsed_table: str
    rejects_table: str
    declined: tuple[int, ...]


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def open_bytes(path: Path) -> BinaryIO:
    """Open a file for reading bytes, gunzipping ``*.gz``."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


def read_bytes(path: Path) -> bytes:
    """The whole (gunzipped) content; unreadable data is a FileRejected."""
    try:
        with open_bytes(path) as f:
            return f.read()
    except READ_ERRORS as exc:
        raise FileRejected(f"cannot read file: {exc}") from exc


def check_readable(path: Path) -> None:
    """Reject what is not a non-empty, text file before any parsing.

    A gzip file is decompressed to its end here: a truncated or corrupt one (DuckDB does not check the CRC) fails
    as a whole instead of loading part of its rows, or wrong ones.
    """
    if not path.is_file():
        raise FileRejected("not a regular file")
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    try:
        with open_bytes(path) as f:
            head = f.read(8192)
            if is_gzip(path):
                while f.read(1 << 20):
                    pass
    except READ_ERRORS as exc:
        if is_gzip(path):
            raise FileRejected(f"corrupt or truncated gzip file: {exc}") from exc
        raise FileRejected(f"cannot read file: {exc}") from exc
    if not head:
        raise FileRejected("empty file (0 bytes once decompressed)")
    if b"\x00" in head:
        raise FileRejected("binary file (NUL bytes), not text")
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRejected("file holds only blank space")


def read_header(path: Path) -> list[str]:
    """The CSV header's column names, stripped; raises FileRejected when there is none.

    Only the first line is decoded: a bad byte further down is the business of the row that holds it.
    """
    try:
        with open_bytes(path) as f:
            first = f.readline()
    except READ_ERRORS as exc:
        raise FileRejected(f"cannot read file: {exc}") from exc
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"header is not UTF-8 text: {exc}") from exc
    try:
        header = next(csv.reader([line.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise FileRejected(f"unparseable header row: {exc}") from exc
    if not header or not any(name.strip() for name in header):
        raise FileRejected("no header row")
    return [name.strip() for name in header]


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, types: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert Python rows in one statement (one list per column, unnested side by side)."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    select = ", ".join(f"unnest(?::{t}[])" for t in types)
    con.execute(f"insert into {table} select {select}", columns)


def read_csv_accounted(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[str], table: str, rejects: str
) -> None:
    """Read a CSV with a header into ``table`` (all VARCHAR, plus ``_row``) and every unparseable record into
    ``rejects``.

    The fast path is DuckDB's strict CSV reader with ``store_rejects``. DuckDB refuses some files as a whole (a bare
    carriage return inside an unquoted field puts its state machine in an invalid state); those are read again by
    Python's csv module, record by record, so that the good records still load and each bad one is kept.
    """
    col_spec = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in columns) + "}"
    con.execute("drop table if exists _csv_reject_errors; drop table if exists _csv_reject_scans")
    try:
        con.execute(
            f"""
            create or replace temp table {table} as
            select row_number() over () as _row, *
            from read_csv(
                {sql_string(str(path))}, header = true, columns = {col_spec}, auto_detect = false,
                delim = ',', quote = '"', escape = '"', strict_mode = true, store_rejects = true,
                rejects_table = '_csv_reject_errors', rejects_scan = '_csv_reject_scans'
            )
            """
        )
    except duckdb.Error:
        con.execute("drop table if exists _csv_reject_errors; drop table if exists _csv_reject_scans")
        _read_csv_python(con, path, columns, table, rejects)
        return
    # DuckDB reports one error row per problem; a record is rejected once, with all its problems.
    # Rejected records are numbered after the good ones: DuckDB does not tell their position among them.
    # A quote that is never closed makes DuckDB read on to the next quote of the file (or its end): the lines in
    # between are part of the rejected record, and the reason says how many there are.
    con.execute(
        f"""
        create or replace temp table {rejects} as
        select
            (select count(*) from {table}) + row_number() over (order by line) as _row,
            line,
            'unparseable CSV record (' || lower(error_type) || '): ' || error_message
                || case when unclosed_quote and lines > 1
                    then ' (the record runs over ' || lines || ' lines: a quote that is not closed takes in the '
                        || 'lines after it)'
                    else ''
                end as reason,
            raw_record
        from (
            select
                line,
                arg_min(error_type, column_idx) as error_type,
                arg_min(error_message, column_idx) as error_message,
                bool_or(error_message ilike '%unterminated quote%') as unclosed_quote,
                trim(any_value(csv_line), chr(13) || chr(10)) as raw_record,
                len(string_split(raw_record, chr(10))) as lines
            from _csv_reject_errors
            group by line
        )
        """
    )
    con.execute("drop table if exists _csv_reject_errors; drop table if exists _csv_reject_scans")


def _read_csv_python(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[str], table: str, rejects: str
) -> None:
    """Records are rebuilt from physical lines so that one bad record cannot swallow the rest of the file: a
    record ends at the first line where its quotes balance; a quote that is never closed rejects its own line
    only. Each line is decoded on its own, so that a byte that is not UTF-8 rejects only its record."""
    lines = read_bytes(path).split(b"\n")[1:]  # the header is the first physical line
    n = len(lines)
    # parity[k]: lines[:k] hold an odd number of quote characters
    parity = [0] * (n + 1)
    for k, line in enumerate(lines):
        parity[k + 1] = parity[k] ^ (line.count(b'"') & 1)
    # balanced_at[p][k]: the first m >= k with parity[m] == p (n + 1: none)
    balanced_at = [[n + 1] * (n + 2), [n + 1] * (n + 2)]
    for m in range(n, -1, -1):
        balanced_at[0][m], balanced_at[1][m] = balanced_at[0][m + 1], balanced_at[1][m + 1]
        balanced_at[parity[m]][m] = m
    good: list[tuple[object, ...]] = []
    bad: list[tuple[int, int, str, str]] = []
    width = len(columns)
    row = 0
    start = 0
    while start < n:
        first, end = start, balanced_at[parity[start]][start + 1]
        fields, reason, text = _csv_record(b"\n".join(lines[first:end])) if end <= n else (None, None, "")
        # A quote that is never closed, or that is closed by a later line in a way that breaks the CSV (a stray
        # quote pairing with the next quoted field): only its own line is rejected, the next line starts a record.
        if end > n or (reason is not None and reason.startswith("unparseable") and end - first > 1):
            end = first + 1
            fields, reason, text = _csv_record(lines[first])
            if reason is not None and reason.startswith("unparseable"):
                reason = "unparseable CSV record: a quote in this line is never closed"
        start = end
        if not text.strip("\r"):
            continue
        row += 1
        if fields is not None and len(fields) != width:
            fields, reason = None, f"expected {width} columns, found {len(fields)}"
        if fields is None:
            bad.append((row, first + 2, reason or "unparseable CSV record", text))
        else:
            good.append((row, *[f if f != "" else None for f in fields]))
    col_defs = ", ".join(f"{sql_identifier(c)} varchar" for c in columns)
    con.execute(f"create or replace temp table {table} (_row bigint, {col_defs})")
    insert_rows(con, table, ["bigint"] + ["varchar"] * width, good)
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    insert_rows(con, rejects, ["bigint", "bigint", "varchar", "varchar"], bad)


def _csv_record(raw: bytes) -> tuple[list[str] | None, str | None, str]:
    """One record's fields, or the reason it cannot be read; and its text (bytes that are not UTF-8 escaped)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 text: {exc}", raw.decode("utf-8", "backslashreplace")
    try:
        return next(csv.reader([text.removesuffix("\r")], strict=True), []), None, text
    except csv.Error as exc:
        message = str(exc)
        if "new-line character seen in unquoted field" in message:
            message = "a line break (carriage return) inside an unquoted field"
        return None, f"unparseable CSV record: {message}", text


def reject_duplicates_and_cycles(
    con: duckdb.DuckDBPyConnection, table: str, *, key: str, parent: str, label: str, duplicate_reason: str
) -> None:
    """The rules that need the whole file, applied to a parser's typed table (``_row``, ``reject_reason``, ...),
    whose ``reject_reason`` is set in place:

    - duplicate ids: of the rows with the same ``key`` (SQL, null when the row has no valid id), the last one is
      the current version; every earlier one is rejected with ``duplicate_reason`` (SQL over the table's columns)
      unless it has a reason of its own;
    - reply cycles: among the rows still good, those whose parent links (``parent``: SQL, the key of the row's
      parent) go round in a circle are rejected, each with the cycle's ``label``s (SQL) in link order.

    Cycles are found by pointer doubling: after round r each row knows its 2^r-th ancestor and the smallest row
    number on the way there; a row whose chain ends is dropped. After ceil(log2(n)) rounds only rows on or
    leading into a cycle are left, the ancestors they reach are exactly the cycle members, and the smallest row
    number names the cycle. Each round is one hash join over the rows still left: a 100,000-deep chain takes 17
    rounds, a file of ordinary threads a handful. The reason then walks each cycle from that row with a recursive
    CTE bounded to CYCLE_IDS_SHOWN steps.
    """
    con.execute(
        f"""
        create or replace temp table _graph as
        select * from (
            select _row, {key} as k, {parent} as pk, {label} as label, reject_reason is null as ok from {table}
        )
        where k is not null;
        create or replace temp table _graph_latest as
        select k, max(_row) as latest from _graph group by k having count(*) > 1;
        """
    )
    con.execute(
        f"""
        update {table} set reject_reason = {duplicate_reason}
        from _graph as g join _graph_latest as l on g.k = l.k
        where {table}._row = g._row and g._row < l.latest and {table}.reject_reason is null
        """
    )
    # The nodes are the rows that would load; a row's position (_row) is its node number.
    con.execute(
        """
        create or replace temp table _graph_nodes as
        select g._row as i, g.k, g.pk, g.label
        from _graph as g left join _graph_latest as l on g.k = l.k
        where g.ok and (l.latest is null or g._row = l.latest);
        create or replace temp table _graph_parent as
        select n.i, p.i as parent from _graph_nodes as n join _graph_nodes as p on n.pk = p.k;
        create or replace temp table _graph_jump as select i, parent as anc, i as low from _graph_parent;
        """
    )
    nodes = con.execute("select count(*) from _graph_nodes").fetchone()[0]
    steps, left = 1, con.execute("select count(*) from _graph_jump").fetchone()[0]
    while steps < nodes and left:
        left = con.execute(
            """
            create or replace temp table _graph_jump as
            select a.i, b.anc, least(a.low, b.low) as low
            from _graph_jump as a join _graph_jump as b on a.anc = b.i;
            select count(*) from _graph_jump
            """
        ).fetchone()[0]
        steps *= 2
    if left:
        con.execute(
            f"""
            create or replace temp table _graph_cycles as
            select i, low as cycle, count(*) over (partition by low) as size
            from _graph_jump
            where i in (select anc from _graph_jump);
            create or replace temp table _graph_reasons as
            with recursive walk(cycle, size, node, step) as (
                select distinct cycle, size, cycle, 0 from _graph_cycles
                union all
                select w.cycle, w.size, p.parent, w.step + 1
                from walk as w join _graph_parent as p on p.i = w.node
                where w.step + 1 < least(w.size, {CYCLE_IDS_SHOWN})
            )
            select
                cycle,
                case when any_value(size) <= {CYCLE_IDS_SHOWN}
                    then 'reply cycle (each replies to the next): '
                        || string_agg(n.label, ' -> ' order by step) || ' -> ' || arg_min(n.label, step)
                    else 'reply cycle of ' || any_value(size) || ' messages (each replies to the next): '
                        || string_agg(n.label, ' -> ' order by step) || ' -> ...'
                end as reason
            from walk as w join _graph_nodes as n on n.i = w.node
            group by cycle;
            update {table} set reject_reason = r.reason
            from _graph_cycles as c join _graph_reasons as r on r.cycle = c.cycle
            where {table}._row = c.i;
            drop table _graph_cycles; drop table _graph_reasons;
            """
        )
    con.execute(
        "drop table _graph; drop table _graph_latest; drop table _graph_nodes; drop table _graph_parent; "
        "drop table _graph_jump"
    )


def finish(con: duckdb.DuckDBPyConnection, parsed: str, rejects: str) -> ParsedFile:
    """Count what a parser produced."""
    rows_parsed = con.execute(f"select count(*) from {parsed}").fetchone()[0]
    rows_rejected = con.execute(f"select count(*) from {rejects}").fetchone()[0]
    return ParsedFile(parsed, rejects, rows_parsed + rows_rejected, rows_parsed, rows_rejected)


def not_blank(expr: str) -> str:
    """SQL: ``expr`` holds something else than spaces, tabs and carriage returns (a regular expression: far faster
    than trim with a set of characters)."""
    return f"not regexp_full_match({expr}, '[ \\t\\r]*')"


def read_text_table(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[tuple[int, str, str]]:
    """``table(content)``: the whole text of a line-oriented file, without its byte-order mark.

    A plain UTF-8 file is read by DuckDB (``read_text``: the text never passes through Python). A gzip file, or a
    file that is not UTF-8 throughout, is read and decoded here (decode_lines): each line that is not UTF-8 is
    empty in ``content`` and returned as (line number, reason, the line escaped).
    """
    name = str(path)
    if not is_gzip(path) and not any(c in name for c in "*?[{"):  # read_text takes a glob
        try:
            con.execute(
                f"""
                create or replace temp table {table} as
                select case when starts_with(content, chr(65279)) then content[2:] else content end as content
                from read_text(?)
                """,
                [name],
            )
            return []
        except duckdb.Error:
            pass  # not UTF-8: line by line below
    content, undecodable = decode_lines(read_bytes(path).removeprefix(b"\xef\xbb\xbf"))
    con.execute(f"create or replace temp table {table} as select ?::varchar as content", [content])
    return undecodable


def decode_lines(data: bytes) -> tuple[str, list[tuple[int, str, str]]]:
    """UTF-8 text of a line-oriented file. A file that is not UTF-8 throughout is decoded line by line: each line
    that is not UTF-8 becomes empty in the text and is returned as (line number, reason, the line escaped)."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    undecodable: list[tuple[int, str, str]] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            undecodable.append(
                (number, f"invalid UTF-8 text: {exc}", line.decode("utf-8", "backslashreplace"))
            )
            lines[number - 1] = b""
    return b"\n".join(lines).decode("utf-8"), undecodable


# --- what the parsers of JSON exports share (Twitter API v2, Facebook Graph, Messenger inboxes) ---------------


def brand_ids_from_seed(path: Path = ACCOUNTS_SEED) -> frozenset[str]:
    """The brand accounts: the ``account_id`` column of the accounts seed (handles; a brand's numeric platform id,
    or a Facebook page's id or name, may be listed as an account_id too)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return frozenset(
                row["account_id"].strip()
                for row in csv.DictReader(f)
                if (row.get("account_id") or "").strip()
            )
    except (OSError, KeyError, csv.Error):
        return frozenset()


def load_brands(con: duckdb.DuckDBPyConnection, brand_ids: Iterable[str], table: str = "_brands") -> None:
    """``table(key, account_id)``: each brand id or handle, lower case, and how ``brand_ids`` spells it."""
    spelled: dict[str, str] = {}
    for b in sorted(b.strip() for b in brand_ids if b and b.strip()):
        spelled.setdefault(b.lower(), b)
    con.execute(f"create or replace temp table {table} (key varchar, account_id varchar)")
    insert_rows(con, table, ["varchar", "varchar"], sorted(spelled.items()))


def time_checks(raw: str, utc: str, name: str, loaded_at: datetime) -> str:
    """CASE branches rejecting a timestamp column (``raw`` text, ``utc`` parsed) that is missing or out of range."""
    now = sql_string(loaded_at.strftime("%Y-%m-%d %H:%M:%S"))
    return f"""
        when {raw} is null then 'missing {name}'
        when not regexp_matches({raw}, '{OFFSET}') then '{name} has no UTC offset: ' || {raw}
        when {utc} is null then 'unparseable {name}: ' || {raw}
        when {utc} < timestamp '{EARLIEST_MESSAGE_AT}' then '{name} before 2006-03-21: ' || {raw}
        when {utc} > {now}::timestamp then '{name} is in the future: ' || {raw}
    """


def parse_time(raw: str) -> str:
    """SQL: an ISO 8601 text with a UTC offset (``Z``, ``+0000``, ``+01:00``) as a UTC timestamp, else null."""
    return f"case when regexp_matches({raw}, '{OFFSET}') then try_cast({raw} as timestamptz) at time zone 'UTC' end"


def read_json_documents(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Read a JSON document or JSON Lines file into ``table(_doc, line, doc, reason, raw)``: one row per document (a
    top-level list gives one per element; ``doc`` is its JSON text, valid, not cast: casting would parse it once
    more), ``reason`` set when the line is not usable JSON.

    The file is read (read_text_table), split and validated in DuckDB. A line that is not UTF-8 is rejected on its
    own. A file whose every line is broken (a pretty-printed document cut short, or not JSON at all) raises FileRejected.
    """
    check_readable(path)
    undecodable = read_text_table(con, path, "_json_text")
    con.execute("create or replace temp table _json_undecodable (line bigint, reason varchar, raw varchar)")
    insert_rows(con, "_json_undecodable", ["bigint", "varchar", "varchar"], undecodable)
    whole = not undecodable and con.execute("select json_valid(content) from _json_text").fetchone()[0]
    if whole:
        con.execute(
            "create or replace temp table _json_lines as "
            "select 1::bigint as line, content as raw, null::varchar as reason from _json_text"
        )
    else:
        con.execute(
            f"""
            create or replace temp table _json_lines as
            select l.line, coalesce(u.raw, l.raw) as raw,
                coalesce(u.reason, case when not json_valid(l.raw) then 'invalid JSON (a line cut short?)' end)
                    as reason
            from (
                select unnest(generate_series(1, len(ls))) as line, unnest(ls) as raw
                from (select string_split(content, chr(10)) as ls from _json_text)
            ) as l
            left join _json_undecodable as u using (line)
            where {not_blank("l.raw")} or u.reason is not null
            """
        )
        total, good = con.execute(
            "select count(*), count(*) filter (reason is null) from _json_lines"
        ).fetchone()
        broken: str | None = None
        if good == 0 and total > 1 and not undecodable:
            broken = (
                "not JSON: no line of the file is a JSON document (a JSON file cut short, or not JSON at all)"
            )
        elif total == 1 and good == 0 and not undecodable:
            content = con.execute("select content from _json_text").fetchone()[0]
            if content.lstrip().startswith(("{", "[")) and "\n" in content.strip():
                broken = "invalid JSON: the document is cut short or broken"
        if broken:
            con.execute("drop table _json_text; drop table _json_lines; drop table _json_undecodable")
            raise FileRejected(broken)
    # A line is parsed for its type (a list: its elements extracted, each typed).
    con.execute(
        f"""
        create or replace temp table {table} as
        with docs as (
            select line, reason, raw, case when reason is null then json_type(raw) end as t
            from _json_lines
        ),
        expanded as (
            select line, reason, raw, t,
                unnest(case when t = 'ARRAY' then json_extract(raw, '$[*]')::varchar[]
                    else [case when reason is null then raw end] end) as doc,
                unnest(case when t = 'ARRAY' then range(json_array_length(raw)::bigint) else [0] end) as idx
            from docs
        )
        select row_number() over (order by line, idx) as _doc, line, doc,
            case when reason is null and (case when t = 'ARRAY' then json_type(doc) else t end) <> 'OBJECT'
                then 'JSON document is not an object'
                else reason end as reason,
            case when reason is null then doc else raw end as raw
        from expanded
        """
    )
    con.execute("drop table _json_text; drop table _json_lines; drop table _json_undecodable")


def json_str(j: str, path: str) -> str:
    """SQL: a JSON value as text (objects and lists as JSON), null when absent or JSON null; blank is null."""
    return f"nullif(trim(json_extract_string({j}, {sql_string(path)})), '')"
