"""Facebook / Instagram "Download your information" inbox exports: ``messages/inbox/<thread>/message_N.json``.

``{"participants": [{"name": ...}], "messages": [{"sender_name", "timestamp_ms", "content", ...}], "title",
"thread_path": "inbox/..."}``, messages newest first; gzip allowed. Every message is private; ``thread_id`` is
``thread_path`` (else ``inbox/<folder name>``); there are no reply links. ``author_id`` is the sender's name.

The export writes UTF-8 text as Latin-1 code points (``caf\\u00c3\\u00a9`` for ``café``): every name and text is
repaired by reading its code points as bytes and decoding them as UTF-8, when that succeeds (text that is not
mojibake is kept as it is). The repair runs in DuckDB.

Messages have no ids: ``message_id`` is ``dyi_`` + md5 of thread path, ``timestamp_ms``, sender and the message's
rank among the thread's messages with the same time and sender, counted from the oldest (stable when newer
messages are added to the export).

Channel: ``instagram`` when the path names Instagram (``your_instagram_activity``, ``instagram``), else ``facebook``;
or the ``channel`` argument. Brand: the participant (or sender) whose name is in ``brand_ids`` (page names,
case-insensitive); ``account_id`` is the ``brand_ids`` entry. No brand in the thread: ``no brand account in this
conversation``. Other rejections: ``missing sender_name``, ``missing timestamp_ms``, ``timestamp_ms is not a number:
<value>``, ``timestamp_ms before 2006-03-21`` / ``in the future``; a file that is not such an export is rejected as a
whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.parsers.common import (
    EARLIEST_MESSAGE_AT,
    NO_BRAND,
    REJECTS_COLUMNS,
    FileRejected,
    ParsedBatch,
    ParsedFile,
    brand_ids_from_seed,
    finish,
    insert_rows,
    is_gzip,
    load_brands,
    read_json_documents,
    sql_string,
)


def repair_mojibake(expr: str) -> str:
    """SQL: ``expr`` with its Latin-1 code points read as UTF-8 bytes, when they are all below 256, one at least
    above 127, and the bytes are valid UTF-8; else ``expr`` unchanged.

    Vectorised, without splitting the text into characters: its UTF-8 bytes written as a blob literal
    (``encode(...)::varchar``: ASCII as it is, any other byte, and the backslash, as ``\\xHH``) hold each code point
    below 256 as ``\\xC2\\xHH`` (U+0080..U+00BF: the byte HH) or ``\\xC3\\xHH`` (U+00C0..U+00FF: HH + 0x40).
    Rewriting those pairs as the single byte (in lower case, so that a rewritten byte is never read as the start
    of another pair) and casting back to a blob gives the code points as bytes.
    """
    pairs = f"regexp_replace(encode({expr})::varchar, '\\\\xC2\\\\x', '\\\\x', 'g')"
    for second, byte in (("8", "c"), ("9", "d"), ("A", "e"), ("B", "f")):
        pairs = f"regexp_replace({pairs}, '\\\\xC3\\\\x{second}', '\\\\x{byte}', 'g')"
    return f"""coalesce(case when regexp_matches({expr}, '[\\x80-\\xff]') and regexp_matches({expr}, '^[\\x00-\\xff]*$')
        then try(decode({pairs}::blob)) end, {expr})"""


def inbox_channel(path: Path) -> str:
    """``instagram`` when the file's path names Instagram, else ``facebook``."""
    return "instagram" if "instagram" in str(path).lower() else "facebook"


def parse_messenger_dyi(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    loaded_at: datetime,
    prefix: str = "messenger_dyi",
    brand_ids: frozenset[str] | None = None,
    channel: str | None = None,
) -> ParsedFile:
    """Parse one inbox ``message_N.json`` (optionally ``.gz``) into ``{prefix}_parsed`` (raw.messages columns and
    ``_row``) and ``{prefix}_rejects``."""
    brands = brand_ids_from_seed() if brand_ids is None else brand_ids
    docs = f"{prefix}_docs"
    read_json_documents(con, path, docs)
    good = con.execute(
        f"select count(*) filter (reason is null and json_type(doc, '$.messages') = 'ARRAY'), count(*) from {docs}"
    ).fetchone()
    if good[0] != 1 or good[1] != 1:
        con.execute(f"drop table {docs}")
        raise FileRejected(
            "not a Download-your-information inbox file: expected one object with a messages list"
        )
    con.execute(
        f"""
        create or replace temp table {prefix}_inboxes as
        select 0 as _file_index, doc, ? as folder, ? as channel from {docs}
        """,
        ["inbox/" + path.parent.name, channel or inbox_channel(path)],
    )
    con.execute(f"drop table {docs}")
    parsed, rejects = _parse_inboxes(con, prefix, brands, loaded_at)
    con.execute(
        f"alter table {parsed} drop column _file_index; alter table {rejects} drop column _file_index"
    )
    return finish(con, parsed, rejects)


def parse_messenger_dyi_batch(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[Path, bytes]],
    loaded_at: datetime,
    prefix: str = "messenger_dyi_batch",
    brand_ids: frozenset[str] | None = None,
) -> ParsedBatch:
    """Parse many inbox files at once (an export is a folder per thread: thousands of small files), given their
    content. Each file's rows and rejects are exactly those ``parse_messenger_dyi`` gives it, numbered by the
    file's position in ``files`` (``_file_index``). Only what is plainly one inbox document is taken: a file that
    is gzipped, empty, not UTF-8, holds a NUL byte, or is not one JSON object with a messages list is declined and
    left to ``parse_messenger_dyi``, which says what is wrong with it."""
    brands = brand_ids_from_seed() if brand_ids is None else brand_ids
    taken: list[tuple[int, str, str, str]] = []
    for index, (path, content) in enumerate(files):
        data = content.removeprefix(b"\xef\xbb\xbf")
        if is_gzip(path) or b"\x00" in content or not data.strip(b" \t\r\n"):
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        taken.append((index, text, "inbox/" + path.parent.name, inbox_channel(path)))
    con.execute(
        f"create or replace temp table {prefix}_texts "
        "(_file_index bigint, text varchar, folder varchar, channel varchar)"
    )
    insert_rows(con, f"{prefix}_texts", ["bigint", "varchar", "varchar", "varchar"], taken)
    con.execute(
        f"""
        create or replace temp table {prefix}_inboxes as
        select _file_index, text::json as doc, folder, channel from (
            select * from {prefix}_texts where json_valid(text)
        )
        where json_type(text) = 'OBJECT' and json_type(text, '$.messages') = 'ARRAY'
        """
    )
    con.execute(f"drop table {prefix}_texts")
    accepted = {r[0] for r in con.execute(f"select _file_index from {prefix}_inboxes").fetchall()}
    parsed, rejects = _parse_inboxes(con, prefix, brands, loaded_at)
    return ParsedBatch(parsed, rejects, tuple(i for i in range(len(files)) if i not in accepted))


def _parse_inboxes(
    con: duckdb.DuckDBPyConnection, prefix: str, brands: frozenset[str], loaded_at: datetime
) -> tuple[str, str]:
    """``{prefix}_inboxes(_file_index, doc, folder, channel)``, one inbox document a file, into ``{prefix}_parsed``
    and ``{prefix}_rejects`` (both with ``_file_index``). Every file is on its own: its brand, its ranks."""
    rejects, parsed, b = f"{prefix}_rejects", f"{prefix}_parsed", f"{prefix}_brands"
    load_brands(con, brands, b)
    now = sql_string(loaded_at.strftime("%Y-%m-%d %H:%M:%S"))
    # Each document is parsed once for its thread path, participants and messages; each message once.
    con.execute(
        f"""
        create or replace temp table {prefix}_threads as
        select _file_index, channel,
            coalesce(nullif(trim(json_extract_string(v[1], '$')), ''), folder) as thread_path,
            coalesce(json_extract_string(v[2], '$[*].name'), []::varchar[]) as participants,
            json_extract(v[3], '$[*]') as recs
        from (
            select _file_index, channel, folder, json_extract(doc, ['$.thread_path', '$.participants', '$.messages']) as v
            from {prefix}_inboxes
        )
        """
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with m as (
            select _file_index, thread_path, channel, unnest(range(len(recs)::bigint)) + 1 as _row, unnest(recs) as rec
            from {prefix}_threads
        ),
        r as (
            select _file_index, _row, thread_path, channel, rec,
                json_extract_string(rec, ['$.sender_name', '$.timestamp_ms', '$.content']) as s
            from m
        ),
        t as (
            select _file_index, _row, thread_path, channel, rec,
                nullif(trim(s[1]), '') as sender_raw, s[2] as ts_raw, s[3] as content_raw
            from r
        ),
        f as (
            select *,
                {repair_mojibake("sender_raw")} as sender,
                {repair_mojibake("content_raw")} as text,
                try_cast(ts_raw as bigint) as ts
            from t
        )
        select *,
            case when ts between -62135596800000 and 253402300799999
                then make_timestamp(ts * 1000) end as sent_at_utc,
            coalesce(lower(sender) in (select key from {b}), false) as by_brand,
            case
                when sender is null then 'missing sender_name'
                when ts_raw is null then 'missing timestamp_ms'
                when ts is null then 'timestamp_ms is not a number: ' || ts_raw
                when ts < epoch_ms(timestamp '{EARLIEST_MESSAGE_AT}') then 'timestamp_ms before 2006-03-21: ' || ts_raw
                when ts > epoch_ms({now}::timestamp) then 'timestamp_ms is in the future: ' || ts_raw
            end as reject_reason
        from f
        """
    )
    # The brand of a file: among its participants and senders (the first brand entry, in sort order).
    con.execute(
        f"""
        create or replace temp table {prefix}_resolved as
        with ok as (select * from {prefix}_typed where reject_reason is null),
        names as (
            select _file_index, {repair_mojibake("n")} as name from (
                select _file_index, unnest(participants) as n from {prefix}_threads
                where _file_index in (select _file_index from {prefix}_typed)
            ) where n is not null
            union
            select _file_index, sender from ok
        ),
        brand as (
            select names._file_index, min(account_id) as account from names join {b} on {b}.key = lower(names.name)
            group by names._file_index
        )
        select ok._file_index, ok._row, ok.thread_path, ok.channel, ok.sender, ok.by_brand, ok.sent_at_utc, ok.text,
            case when ok.by_brand then own.account_id else brand.account end as account,
            'dyi_' || md5(ok.thread_path || '|' || ok.ts || '|' || ok.sender || '|'
                || row_number() over (partition by ok._file_index, ok.thread_path, ok.ts, ok.sender order by ok._row desc))
                as message_id
        from ok
        left join brand on brand._file_index = ok._file_index
        left join {b} as own on own.key = lower(ok.sender)
        """
    )
    con.execute(
        f"""
        update {prefix}_typed as t set reject_reason = '{NO_BRAND}'
        from {prefix}_resolved as r where r._file_index = t._file_index and r._row = t._row and r.account is null
        """
    )
    con.execute(
        f"""
        create or replace temp table {parsed} as
        select _file_index, _row, message_id, thread_path as thread_id, null::varchar as parent_message_id,
            channel, account as account_id, sender as author_id,
            case when by_brand then 'agent' else 'customer' end as author_role, true as is_private,
            sent_at_utc as sent_at, text, null::varchar as agent_id
        from {prefix}_resolved where account is not null
        order by _file_index, _row
        """
    )
    con.execute(f"create or replace temp table {rejects} (_file_index bigint, {REJECTS_COLUMNS})")
    con.execute(
        f"""
        insert into {rejects}
        select _file_index, _row, null, reject_reason, rec::varchar from {prefix}_typed where reject_reason is not null
        order by _file_index, _row
        """
    )
    for t in (f"{prefix}_inboxes", f"{prefix}_threads", f"{prefix}_typed", f"{prefix}_resolved", b):
        con.execute(f"drop table if exists {t}")
    return parsed, rejects
