"""Facebook Graph API pages: page conversations (private) and comments on posts (public); gzip allowed.

- ``/{page-id}/conversations?fields=participants,messages{message,from,to,created_time,id}``:
  ``{"data": [{"id": "t_...", "participants": {"data": [...]}, "messages": {"data": [...], "paging": ...}}],
  "paging": ...}``. Each message is a private message, ``thread_id`` = the conversation id.
- ``/{post-id}/comments?fields=from,message,created_time,id,parent``: ``{"data": [comments], "paging": ...}``. Each
  comment is public; ``parent_message_id`` = ``parent.id`` (replies); nested ``comments.data`` are read too (their
  parent is the comment holding them). ``thread_id`` is null.

A file is one page (JSON), a list of pages, or JSON Lines of pages. ``created_time`` is ``2017-10-31T22:10:47+0000``.
Channel ``facebook``. ``author_id`` is ``from.id``.

Brand: ``brand_ids`` lists pages by id or name (case-insensitive); see ``twitter_v2`` for the default (accounts seed).
``account_id`` is the ``brand_ids`` entry that matched (a name entry preferred to an id entry). A customer message's
brand is, in order: a brand among its ``to`` recipients (comments: the parent comment's author); a brand among the
conversation's participants; the first brand that writes in the conversation (comments: on the same post, by the id
prefix ``<post>_<comment>``); the only brand that writes in the file. Else the row is rejected with
``no brand account in this conversation``. Other rejections: ``missing from`` (the Graph API hides the author of a
comment without page permission), ``missing id``, ``missing created_time`` and bad times, ``Graph API error: <message>``,
``not a Graph API conversations or comments page``, duplicates (``duplicate message id <id>: ...``) and reply cycles.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.parsers.common import (
    NO_BRAND,
    REJECTS_COLUMNS,
    ParsedFile,
    brand_ids_from_seed,
    finish,
    json_str,
    load_brands,
    parse_time,
    read_json_documents,
    reject_duplicates_and_cycles,
    time_checks,
)


def parse_facebook_graph(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    loaded_at: datetime,
    prefix: str = "facebook_graph",
    brand_ids: frozenset[str] | None = None,
) -> ParsedFile:
    """Parse one Graph API file (``.json``/``.jsonl``, optionally ``.gz``) into ``{prefix}_parsed`` (raw.messages
    columns and ``_row``) and ``{prefix}_rejects``."""
    brands = brand_ids_from_seed() if brand_ids is None else brand_ids
    docs, rejects, parsed, b = f"{prefix}_docs", f"{prefix}_rejects", f"{prefix}_parsed", f"{prefix}_brands"
    read_json_documents(con, path, docs)
    load_brands(con, brands, b)
    # Items of a page's data: conversations (have messages or participants) and comments.
    con.execute(
        f"""
        create or replace temp table {prefix}_items as
        with d as (
            select _doc, line, doc, raw,
                coalesce(reason, case
                    when json_type(doc, '$.data') = 'ARRAY' then null
                    when json_type(doc, '$.messages') = 'OBJECT' then null
                    when json_type(doc, '$.error') = 'OBJECT'
                        then 'Graph API error: ' || coalesce(json_extract_string(doc, '$.error.message'), '')
                    else 'not a Graph API conversations or comments page'
                end) as reason
            from {docs}
        ),
        items as (
            select _doc, line, unnest(range(json_array_length(doc, '$.data')::bigint)) as i,
                unnest(json_extract(doc, '$.data[*]')) as item
            from d where reason is null and json_type(doc, '$.data') = 'ARRAY'
            union all
            select _doc, line, 0, doc from d where reason is null and json_type(doc, '$.messages') = 'OBJECT'
        )
        select _doc, line, i, item, null::varchar as reason, null::varchar as raw from items
        union all
        select _doc, line, 0, null, reason, raw from d where reason is not null
        """
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_records as
        with conv as (
            select * from {prefix}_items
            where item is not null and (json_exists(item, '$.messages') or json_exists(item, '$.participants'))
        ),
        msgs as (
            select _doc, line, i, 0 as part, unnest(range(json_array_length(item, '$.messages.data')::bigint)) as j,
                unnest(json_extract(item, '$.messages.data[*]')) as rec,
                true as private, {json_str("item", "$.id")} as conv_id,
                json_extract(item, '$.participants.data[*]') as participants, null::varchar as outer_parent
            from conv where json_type(item, '$.messages.data') = 'ARRAY'
        ),
        comments as (
            select * from {prefix}_items
            where item is not null and not (json_exists(item, '$.messages') or json_exists(item, '$.participants'))
        ),
        cmts as (
            select _doc, line, i, 0 as part, 0 as j, item as rec, false, null, null::json[], null from comments
            union all
            select _doc, line, i, 1, unnest(range(json_array_length(item, '$.comments.data')::bigint)),
                unnest(json_extract(item, '$.comments.data[*]')), false, null, null::json[],
                {json_str("item", "$.id")}
            from comments where json_type(item, '$.comments.data') = 'ARRAY'
        ),
        bad as (select _doc, line, i, 0 as part, 0 as j, null::json as rec, reason, raw from {prefix}_items
            where reason is not null)
        select row_number() over (order by _doc, i, part, j) as _row, * from (
            select *, null::varchar as reason, rec::varchar as raw from msgs
            union all
            select *, null, rec::varchar from cmts
            union all
            select _doc, line, i, part, j, rec, null, null, null, null, reason, raw from bad
        )
        """
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with r as (
            select _row, line, raw, reason as doc_reason, coalesce(private, false) as private, conv_id,
                {json_str("rec", "$.id")} as id,
                {json_str("rec", "$.from.id")} as from_id,
                {json_str("rec", "$.from.name")} as from_name,
                {json_str("rec", "$.created_time")} as created_time,
                json_extract_string(rec, '$.message') as text,
                coalesce({json_str("rec", "$.parent.id")}, outer_parent) as parent_id,
                coalesce(json_extract_string(rec, '$.to.data[*].id'), []::varchar[])
                    || coalesce(json_extract_string(rec, '$.to.data[*].name'), []::varchar[]) as to_keys,
                coalesce(list_transform(participants, lambda p: json_extract_string(p, '$.id')), [])
                    || coalesce(list_transform(participants, lambda p: json_extract_string(p, '$.name')), [])
                    as participant_keys
            from {prefix}_records
        )
        select r.*, {parse_time("created_time")} as sent_at_utc,
            coalesce(conv_id, case when contains(id, '_') then split_part(id, '_', 1) end) as conv,
            (select arg_min(account_id, case when key = lower(r.from_name) then 0 else 1 end) from {b}
                where key = lower(r.from_id) or key = lower(r.from_name)) as own_brand,
            case
                when doc_reason is not null then doc_reason
                when id is null then 'missing id'
                when from_id is null and from_name is null
                    then 'missing from (the Graph API hides the author of a comment without page permission)'
                {time_checks("created_time", parse_time("created_time"), "created_time", loaded_at)}
                when parent_id = id then 'message replies to itself'
            end as reject_reason
        from r
        """
    )
    reject_duplicates_and_cycles(
        con,
        f"{prefix}_typed",
        key="id",
        parent="parent_id",
        label="id",
        duplicate_reason="'duplicate message id ' || id || ': a later record of the file replaces it'",
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_resolved as
        with ok as (select * from {prefix}_typed where reject_reason is null),
        conv_brand as (
            select conv, arg_min(own_brand, (sent_at_utc, _row)) as brand from ok
            where own_brand is not null and conv is not null group by conv
        ),
        file_brand as (select case when count(distinct own_brand) = 1 then any_value(own_brand) end as brand from ok)
        select ok.*,
            case when own_brand is not null then 'agent' else 'customer' end as role,
            coalesce(
                own_brand,
                (select min(account_id) from {b} where key in (select lower(unnest(ok.to_keys)))),
                (select p.own_brand from {prefix}_typed as p where p.id = ok.parent_id and p.reject_reason is null
                    limit 1),
                (select min(account_id) from {b} where key in (select lower(unnest(ok.participant_keys)))),
                c.brand,
                (select brand from file_brand)
            ) as account
        from ok left join conv_brand as c on c.conv = ok.conv
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
        select _row, id as message_id, conv_id as thread_id, parent_id as parent_message_id, 'facebook' as channel,
            account as account_id, coalesce(from_id, from_name) as author_id, role as author_role,
            private as is_private, sent_at_utc as sent_at, text, null::varchar as agent_id
        from {prefix}_resolved where account is not null
        order by _row
        """
    )
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    con.execute(
        f"""
        insert into {rejects}
        select _row, line, reject_reason, raw from {prefix}_typed where reject_reason is not null order by _row
        """
    )
    for t in (docs, f"{prefix}_items", f"{prefix}_records", f"{prefix}_typed", f"{prefix}_resolved", b):
        con.execute(f"drop table if exists {t}")
    return finish(con, parsed, rejects)
