"""What every parser shares: the result type, the file-level error, and a CSV reader that accounts for every row.

A parser reads one file into two DuckDB temp tables on the connection it is given:

- ``parsed``: one row per good record, in the raw table's columns plus ``_row`` (the record's position);
- ``rejects``: one row per bad record: ``_row``, ``line`` (physical line, when known), ``reason``, ``raw_record``.

``rows_read = count(parsed) + count(rejects)`` always. A file that cannot be read at all raises ``FileRejected``
and leaves nothing behind.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

# The first tweet was sent on 2006-03-21: anything earlier is a broken timestamp, not a message.
EARLIEST_MESSAGE_AT = "2006-03-21 00:00:00"
REJECTS_COLUMNS = "_row bigint, line bigint, reason varchar, raw_record varchar"


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why, in words a person understands."""


@dataclass(frozen=True)
class ParsedFile:
    parsed_table: str
    rejects_table: str
    rows_read: int
    rows_parsed: int
    rows_rejected: int


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def open_text(path: Path) -> io.TextIOWrapper:
    """Open a file as UTF-8 text (a byte-order mark is dropped), gunzipping ``*.gz``."""
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115 (returned open)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def check_readable(path: Path) -> None:
    """Reject what is not a non-empty, text file before any parsing."""
    if not path.is_file():
        raise FileRejected("not a regular file")
    if path.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes)")
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            head = f.read(8192)
    except (OSError, EOFError) as exc:
        raise FileRejected(f"cannot read file: {exc}") from exc
    if b"\x00" in head:
        raise FileRejected("binary file (NUL bytes), not text")
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRejected("file holds only blank space")


def read_header(path: Path) -> list[str]:
    """The CSV header's column names, stripped; raises FileRejected when there is none.

    Only the first line is decoded: a bad byte further down is the business of the row that holds it.
    """
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        first = f.readline()
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"header is not UTF-8 text: {exc}") from exc
    header = next(csv.reader([line.rstrip("\r\n")]), None)
    if not header or not any(name.strip() for name in header):
        raise FileRejected("no header row")
    return [name.strip() for name in header]


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
        _read_csv_python(con, path, columns, table, rejects)
        return
    # DuckDB reports one error row per problem; a record is rejected once, with all its problems.
    # Rejected records are numbered after the good ones: DuckDB does not tell their position among them.
    con.execute(
        f"""
        create or replace temp table {rejects} as
        select
            (select count(*) from {table}) + row_number() over (order by line) as _row,
            line,
            'unparseable CSV record (' || lower(arg_min(error_type, column_idx)) || '): '
                || arg_min(error_message, column_idx) as reason,
            any_value(csv_line) as raw_record
        from _csv_reject_errors
        group by line
        """
    )
    con.execute("drop table if exists _csv_reject_errors; drop table if exists _csv_reject_scans")


def _read_csv_python(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[str], table: str, rejects: str
) -> None:
    good: list[tuple[object, ...]] = []
    bad: list[tuple[int, int, str, str]] = []
    width = len(columns)
    try:
        with open_text(path) as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8 text: {exc}") from exc
    # Records are rebuilt from physical lines so that one bad record cannot swallow the rest of the file.
    record: list[str] = []
    start_line = 2
    row = 0
    for number, line in enumerate(lines[1:], start=2):
        if not record:
            start_line = number
        record.append(line)
        text = "\n".join(record)
        if text.count('"') % 2 == 1 and number < len(lines):
            continue  # a quoted field goes on on the next line
        record = []
        if not text.strip("\r"):
            continue
        row += 1
        try:
            fields = next(csv.reader([text.removesuffix("\r")], strict=True))
        except csv.Error as exc:
            bad.append((row, start_line, f"unparseable CSV record: {exc}", text))
            continue
        if len(fields) != width:
            bad.append((row, start_line, f"expected {width} columns, found {len(fields)}", text))
            continue
        good.append((row, *[f if f != "" else None for f in fields]))
    col_defs = ", ".join(f'"{c}" varchar' for c in columns)
    con.execute(f"create or replace temp table {table} (_row bigint, {col_defs})")
    if good:
        con.executemany(f"insert into {table} values ({', '.join('?' * (width + 1))})", good)
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    if bad:
        con.executemany(f"insert into {rejects} values (?, ?, ?, ?)", bad)


def finish(con: duckdb.DuckDBPyConnection, parsed: str, rejects: str) -> ParsedFile:
    """Count what a parser produced."""
    rows_parsed = con.execute(f"select count(*) from {parsed}").fetchone()[0]
    rows_rejected = con.execute(f"select count(*) from {rejects}").fetchone()[0]
    return ParsedFile(parsed, rejects, rows_parsed + rows_rejected, rows_parsed, rows_rejected)
