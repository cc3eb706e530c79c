"""The canonical message format (docs/formats.md): CSV with a header, or JSON Lines; gzip allowed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.parsers.common import (
    EARLIEST_MESSAGE_AT,
    REJECTS_COLUMNS,
    FileRejected,
    ParsedFile,
    check_readable,
    finish,
    insert_rows,
    not_blank,
    read_csv_accounted,
    read_header,
    read_text_table,
    reject_duplicates_and_cycles,
    sql_string,
)

COLUMNS = (
    "message_id",
    "thread_id",
    "parent_message_id",
    "channel",
    "account_id",
    "author_id",
    "author_role",
    "is_private",
    "sent_at",
    "text",
    "agent_id",
)
REQUIRED = ("message_id", "channel", "account_id", "author_id", "author_role", "sent_at")
RAW_COLUMNS = (
    "message_id varchar, thread_id varchar, parent_message_id varchar, channel varchar, account_id varchar, "
    "author_id varchar, author_role varchar, is_private boolean, sent_at timestamp, text varchar, "
    "agent_id varchar"
)
AUTHOR_ROLES = ("customer", "agent", "bot")


def parse_messages(
    con: duckdb.DuckDBPyConnection, path: Path, loaded_at: datetime, prefix: str = "messages"
) -> ParsedFile:
    """Parse one canonical messages file (``.csv``/``.jsonl``, optionally ``.gz``) into ``{prefix}_parsed``
    (raw.messages columns) and ``{prefix}_rejects``."""
    check_readable(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    source = f"{prefix}_source"
    rejects = f"{prefix}_rejects"
    if kind == ".csv":
        header = read_header(path)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise FileRejected(f"header lacks required column(s): {', '.join(missing)}")
        unnamed = [str(i) for i, c in enumerate(header, start=1) if not c]
        if unnamed:
            raise FileRejected(f"header has no name for column(s) {', '.join(unnamed)}")
        # Column names are case-insensitive in SQL: Text and text are the same column.
        lowered = [c.lower() for c in header]
        duplicated = sorted({c for c in header if lowered.count(c.lower()) > 1})
        if duplicated:
            raise FileRejected(f"header repeats column(s): {', '.join(duplicated)}")
        if "_row" in lowered:
            raise FileRejected("header uses the reserved column name _row")
        read_csv_accounted(con, path, header, source, rejects)
        present = set(header)
    elif kind in (".jsonl", ".ndjson"):
        _read_jsonl(con, path, source, rejects)
        present = set(COLUMNS)
    else:
        raise FileRejected(f"unsupported file type {''.join(path.suffixes)}: expected .csv or .jsonl")
    fields = ",\n".join(
        f"nullif(trim({c}), '') as {c}" if c in present else f"null::varchar as {c}"
        for c in COLUMNS
        if c != "text"
    )
    text = "text" if "text" in present else "null::varchar as text"
    offset = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with cleaned as (
            select _row, {fields}, {text} from {source} as s
        ),
        typed as (
            select
                *,
                lower(author_role) as role,
                case lower(coalesce(is_private, 'false'))
                    when 'true' then true when '1' then true when 'false' then false when '0' then false
                end as private,
                case when regexp_matches(sent_at, '{offset}')
                    then try_cast(sent_at as timestamptz) at time zone 'UTC' end as sent_at_utc
            from cleaned
        )
        select
            *,
            case
                {" ".join(f"when {c} is null then 'missing {c}'" for c in REQUIRED)}
                when role not in {tuple(AUTHOR_ROLES)} then 'author_role is not customer, agent or bot: '
                    || author_role
                when private is null then 'is_private is not true or false: ' || is_private
                when not regexp_matches(sent_at, '{offset}') then 'sent_at has no UTC offset: ' || sent_at
                when sent_at_utc is null then 'unparseable sent_at: ' || sent_at
                when sent_at_utc < timestamp '{EARLIEST_MESSAGE_AT}'
                    then 'sent_at before 2006-03-21: ' || sent_at
                when sent_at_utc > {sql_string(loaded_at.strftime("%Y-%m-%d %H:%M:%S"))}::timestamp
                    then 'sent_at is in the future: ' || sent_at
                when parent_message_id = message_id then 'message replies to itself'
            end as reject_reason
        from typed
        """
    )
    reject_duplicates_and_cycles(
        con,
        f"{prefix}_typed",
        key="case when message_id is not null and channel is not null then [lower(channel), message_id] end",
        parent="case when parent_message_id is not null then [lower(channel), parent_message_id] end",
        label="message_id",
        duplicate_reason="'duplicate message_id ' || message_id || ' (channel ' || lower(channel) || ')'"
        " || ': a later row of the file replaces it'",
    )
    parsed = f"{prefix}_parsed"
    con.execute(
        f"""
        create or replace temp table {parsed} as
        select
            _row, message_id, thread_id, parent_message_id, lower(channel) as channel, account_id, author_id,
            role as author_role, private as is_private, sent_at_utc as sent_at, text, agent_id
        from {prefix}_typed
        where reject_reason is null
        """
    )
    con.execute(
        f"""
        insert into {rejects}
        select t._row, null, t.reject_reason, to_json(s)::varchar
        from {prefix}_typed as t join {source} as s using (_row)
        where t.reject_reason is not null
        order by t._row
        """
    )
    con.execute(f"drop table {prefix}_typed; drop table {source}")
    return finish(con, parsed, rejects)


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, table: str, rejects: str) -> None:
    """One JSON object per line. The file is split into lines, and each line validated and read, by DuckDB: a line
    is parsed as JSON three times at most (valid? an object? its columns, all in one json_extract_string).

    A file that is not UTF-8 throughout is decoded line by line: a line that is not UTF-8 is rejected on its own.
    """
    undecodable = read_text_table(con, path, "_jsonl_text")
    con.execute(
        "create or replace temp table _jsonl_undecodable (line_number bigint, reason varchar, line varchar)"
    )
    insert_rows(con, "_jsonl_undecodable", ["bigint", "varchar", "varchar"], undecodable)
    con.execute(
        f"""
        create or replace temp table _jsonl_lines as
        select line_number, coalesce(u.line, l.line) as line, u.reason, row_number() over (order by line_number) as _row
        from (
            select unnest(generate_series(1, len(lines))) as line_number, unnest(lines) as line
            from (select string_split(content, chr(10)) as lines from _jsonl_text)
        ) as l
        left join _jsonl_undecodable as u using (line_number)
        where {not_blank("l.line")} or u.reason is not null
        """
    )
    con.execute(
        """
        create or replace temp table _jsonl_checked as
        select
            _row, line_number, line,
            case
                when reason is not null then reason
                when not json_valid(line) then 'invalid JSON'
                when json_type(line) <> 'OBJECT' then 'JSON line is not an object'
            end as reason
        from _jsonl_lines
        """
    )
    # json_extract_string gives an object or a list as its JSON text, and a scalar as text.
    keys = "[" + ", ".join(sql_string(c) for c in COLUMNS) + "]"
    columns = ", ".join(f"v[{i}] as {c}" for i, c in enumerate(COLUMNS, start=1))
    con.execute(
        f"""
        create or replace temp table {table} as
        select _row, {columns}
        from (select _row, json_extract_string(line, {keys}) as v from _jsonl_checked where reason is null)
        """
    )
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    con.execute(
        f"""
        insert into {rejects}
        select _row, line_number, reason, line from _jsonl_checked where reason is not null
        """
    )
    con.execute(
        "drop table _jsonl_text; drop table _jsonl_lines; drop table _jsonl_checked; drop table _jsonl_undecodable"
    )
