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

from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.parsers.common import (
    EARLIEST_MESSAGE_AT,
    REJECTS_COLUMNS,
    FileRejected,
    ParsedFile,
    finish,
    sql_string,
)
from orchestration.parsers.twitter_v2 import NO_BRAND, brand_ids_from_seed, load_brands, read_json_documents


def repair_mojibake(expr: str) -> str:
    """SQL: ``expr`` with its Latin-1 code points read as UTF-8 bytes, when they are all below 256, one at least
    above 127, and the bytes are valid UTF-8; else ``expr`` unchanged."""
    return f"""coalesce(case when regexp_matches({expr}, '[\\x80-\\xff]') and regexp_matches({expr}, '^[\\x00-\\xff]*$')
        then try(decode(unhex(array_to_string(
            list_transform(string_split({expr}, ''), lambda c: printf('%02x', ord(c))), '')))) end, {expr})"""


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
    docs, rejects, parsed, b = f"{prefix}_docs", f"{prefix}_rejects", f"{prefix}_parsed", f"{prefix}_brands"
    read_json_documents(con, path, docs)
    good = con.execute(
        f"select count(*) filter (reason is null and json_type(doc, '$.messages') = 'ARRAY'), count(*) from {docs}"
    ).fetchone()
    if good[0] != 1 or good[1] != 1:
        con.execute(f"drop table {docs}")
        raise FileRejected(
            "not a Download-your-information inbox file: expected one object with a messages list"
        )
    load_brands(con, brands, b)
    if channel is None:
        lowered = str(path).lower()
        channel = "instagram" if "instagram" in lowered else "facebook"
    folder = "inbox/" + path.parent.name
    now = sql_string(loaded_at.strftime("%Y-%m-%d %H:%M:%S"))
    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with d as (
            select doc, coalesce(nullif(trim(json_extract_string(doc, '$.thread_path')), ''), {sql_string(folder)})
                as thread_path,
                coalesce(json_extract_string(doc, '$.participants[*].name'), []::varchar[]) as participants
            from {docs}
        ),
        m as (
            select thread_path, participants,
                unnest(range(json_array_length(doc, '$.messages')::bigint)) + 1 as _row,
                unnest(json_extract(doc, '$.messages[*]')) as rec
            from d
        ),
        r as (
            select _row, thread_path, participants, rec::varchar as raw,
                nullif(trim(json_extract_string(rec, '$.sender_name')), '') as sender_raw,
                json_extract_string(rec, '$.timestamp_ms') as ts_raw,
                json_extract_string(rec, '$.content') as content_raw
            from m
        ),
        t as (
            select *,
                {repair_mojibake("sender_raw")} as sender,
                {repair_mojibake("content_raw")} as text,
                try_cast(ts_raw as bigint) as ts
            from r
        )
        select *,
            case when ts between -62135596800000 and 253402300799999
                then make_timestamp(ts * 1000) end as sent_at_utc,
            exists (select 1 from {b} where key = lower(t.sender)) as by_brand,
            case
                when sender is null then 'missing sender_name'
                when ts_raw is null then 'missing timestamp_ms'
                when ts is null then 'timestamp_ms is not a number: ' || ts_raw
                when ts < epoch_ms(timestamp '{EARLIEST_MESSAGE_AT}') then 'timestamp_ms before 2006-03-21: ' || ts_raw
                when ts > epoch_ms({now}::timestamp) then 'timestamp_ms is in the future: ' || ts_raw
            end as reject_reason
        from t
        """
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_resolved as
        with ok as (select * from {prefix}_typed where reject_reason is null),
        names as (
            select distinct {repair_mojibake("n")} as name from (
                select unnest(participants) as n from {prefix}_typed limit 1000000
            ) where n is not null
            union
            select sender from ok
        ),
        brand as (select min(account_id) as account from {b} where key in (select lower(name) from names))
        select ok.*,
            case when by_brand then (select min(account_id) from {b} where key = lower(ok.sender))
                else (select account from brand) end as account,
            'dyi_' || md5(thread_path || '|' || ts || '|' || sender || '|'
                || row_number() over (partition by thread_path, ts, sender order by _row desc)) as message_id
        from ok
        """
    )
    con.execute(
        f"""
        update {prefix}_typed as t set reject_reason = '{NO_BRAND}'
        from {prefix}_resolved as r where r._row = t._row and r.account is null
        """
    )
    con.execute(
        f"""
        create or replace temp table {parsed} as
        select _row, message_id, thread_path as thread_id, null::varchar as parent_message_id,
            {sql_string(channel)} as channel, account as account_id, sender as author_id,
            case when by_brand then 'agent' else 'customer' end as author_role, true as is_private,
            sent_at_utc as sent_at, text, null::varchar as agent_id
        from {prefix}_resolved where account is not null
        order by _row
        """
    )
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    con.execute(
        f"""
        insert into {rejects}
        select _row, null, reject_reason, raw from {prefix}_typed where reject_reason is not null order by _row
        """
    )
    for t in (docs, f"{prefix}_typed", f"{prefix}_resolved", b):
        con.execute(f"drop table if exists {t}")
    return finish(con, parsed, rejects)
