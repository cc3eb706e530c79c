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
    # Each document, item and record is parsed once for the paths it needs (json_type / json_extract_string of a
    # list of paths); a conversation's participants once for the conversation, not once for each of its messages.
    con.execute(
        f"""
        create or replace temp table {prefix}_pages as
        with t as (
            select _doc, line, doc, raw, reason, json_type(doc, ['$.data', '$.messages', '$.error']) as ty
            from {docs}
        )
        select _doc, line, doc, raw, ty,
            coalesce(reason, case
                when ty[1] = 'ARRAY' then null
                when ty[2] = 'OBJECT' then null
                when ty[3] = 'OBJECT'
                    then 'Graph API error: ' || coalesce(json_extract_string(doc, '$.error.message'), '')
                else 'not a Graph API conversations or comments page'
            end) as reason
        from t
        """
    )
    # Items of a page's data: conversations (have messages or participants) and comments.
    con.execute(
        f"""
        create or replace temp table {prefix}_items as
        with items as (
            select _doc, line, unnest(range(len(items)::bigint)) as i, unnest(items) as item
            from (
                select _doc, line, json_extract(doc, '$.data[*]') as items from {prefix}_pages
                where reason is null and ty[1] = 'ARRAY'
            )
            union all
            select _doc, line, 0, doc from {prefix}_pages where reason is null and ty[2] = 'OBJECT'
        )
        select _doc, line, i, item, null::varchar as reason, null::varchar as raw,
            json_type(item, ['$.messages', '$.participants', '$.messages.data', '$.comments.data']) as ty,
            {json_str("item", "$.id")} as item_id
        from items
        union all
        select _doc, line, 0, null, reason, raw, null, null from {prefix}_pages where reason is not null
        """
    )
    con.execute(
        f"""
        create or replace temp table {prefix}_records as
        with conv as (
            select *,
                json_extract(item, '$.participants.data[*]') as participants
            from {prefix}_items
            where item is not null and (ty[1] is not null or ty[2] is not null)
        ),
        msgs as (
            select _doc, line, i, 0 as part, unnest(range(len(recs)::bigint)) as j, unnest(recs) as rec,
                true as private, item_id as conv_id,
                coalesce(list_transform(participants, lambda p: json_extract_string(p, '$.id')), [])
                    || coalesce(list_transform(participants, lambda p: json_extract_string(p, '$.name')), [])
                    as participant_keys,
                null::varchar as outer_parent
            from (select *, json_extract(item, '$.messages.data[*]') as recs from conv where ty[3] = 'ARRAY')
        ),
        comments as (
            select * from {prefix}_items where item is not null and not (ty[1] is not null or ty[2] is not null)
        ),
        cmts as (
            select _doc, line, i, 0 as part, 0 as j, item as rec, false, null, []::varchar[], null from comments
            union all
            select _doc, line, i, 1, unnest(range(len(recs)::bigint)), unnest(recs), false, null, []::varchar[],
                item_id
            from (select *, json_extract(item, '$.comments.data[*]') as recs from comments where ty[4] = 'ARRAY')
        ),
        bad as (select _doc, line, i, 0 as part, 0 as j, null::json as rec, reason, raw from {prefix}_items
            where reason is not null)
        select * from (
            select *, null::varchar as reason, null::varchar as raw from msgs
            union all
            select *, null, null from cmts
            union all
            select _doc, line, i, part, j, rec, null, null, []::varchar[], null, reason, raw from bad
        )
        """
    )
    # Records are numbered on their keys alone; the wide columns are joined where they are needed.
    con.execute(
        f"""
        create or replace temp table {prefix}_order as
        select row_number() over (order by _doc, i, part, j) as _row, _doc, i, part, j from {prefix}_records
        """
    )

    def text(i: int) -> str:
        return f"nullif(trim(s[{i}]), '')"

    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with x as (
            select *,
                json_extract_string(rec, ['$.id', '$.from.id', '$.from.name', '$.created_time', '$.message',
                    '$.parent.id']) as s,
                json_extract(rec, '$.to.data') as to_data
            from {prefix}_order join {prefix}_records using (_doc, i, part, j)
        ),
        r as (
            select _row, line, reason as doc_reason, coalesce(private, false) as private, conv_id,
                {text(1)} as id,
                {text(2)} as from_id,
                {text(3)} as from_name,
                {text(4)} as created_time,
                s[5] as text,
                coalesce({text(6)}, outer_parent) as parent_id,
                coalesce(json_extract_string(to_data, '$[*].id'), []::varchar[])
                    || coalesce(json_extract_string(to_data, '$[*].name'), []::varchar[]) as to_keys,
                participant_keys
            from x
        )
        select r.*, {parse_time("created_time")} as sent_at_utc,
            coalesce(conv_id, case when contains(id, '_') then split_part(id, '_', 1) end) as conv,
            coalesce(by_name.account_id, by_id.account_id) as own_brand,
            case
                when doc_reason is not null then doc_reason
                when id is null then 'missing id'
                when from_id is null and from_name is null
                    then 'missing from (the Graph API hides the author of a comment without page permission)'
                {time_checks("created_time", parse_time("created_time"), "created_time", loaded_at)}
                when parent_id = id then 'message replies to itself'
            end as reject_reason
        from r
        left join {b} as by_name on by_name.key = lower(r.from_name)
        left join {b} as by_id on by_id.key = lower(r.from_id)
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
    # A customer message's brand, the first there is of: a brand among its recipients; its parent's author, if a
    # brand; a brand among the conversation's participants; the conversation's first brand author; the file's only
    # brand. Each is a join (no correlated subquery: a million records).
    con.execute(
        f"""
        create or replace temp table {prefix}_resolved as
        with ok as (select * from {prefix}_typed where reject_reason is null),
        conv_brand as (
            select conv, arg_min(own_brand, (sent_at_utc, _row)) as brand from ok
            where own_brand is not null and conv is not null group by conv
        ),
        file_brand as (select case when count(distinct own_brand) = 1 then any_value(own_brand) end as brand from ok),
        to_brand as (
            select k._row, min(b.account_id) as brand
            from (select _row, lower(unnest(to_keys)) as key from ok where own_brand is null) as k
            join {b} as b using (key)
            group by k._row
        ),
        participant_brand as (
            select k._row, min(b.account_id) as brand
            from (select _row, lower(unnest(participant_keys)) as key from ok where own_brand is null) as k
            join {b} as b using (key)
            group by k._row
        ),
        parent as (select id, own_brand from {prefix}_typed where reject_reason is null and id is not null)
        select ok._row, ok.id, ok.conv_id, ok.parent_id, ok.from_id, ok.from_name, ok.private, ok.sent_at_utc, ok.text,
            case when ok.own_brand is not null then 'agent' else 'customer' end as role,
            coalesce(
                ok.own_brand,
                t.brand,
                p.own_brand,
                pb.brand,
                c.brand,
                (select brand from file_brand)
            ) as account
        from ok
        left join conv_brand as c on c.conv = ok.conv
        left join to_brand as t on t._row = ok._row
        left join parent as p on p.id = ok.parent_id
        left join participant_brand as pb on pb._row = ok._row
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
        select t._row, t.line, t.reject_reason, coalesce(r.raw, r.rec::varchar)
        from {prefix}_typed as t join {prefix}_order using (_row) join {prefix}_records as r using (_doc, i, part, j)
        where t.reject_reason is not null
        order by t._row
        """
    )
    for t in (
        docs,
        f"{prefix}_pages",
        f"{prefix}_items",
        f"{prefix}_records",
        f"{prefix}_typed",
        f"{prefix}_resolved",
        b,
    ):
        con.execute(f"drop table if exists {t}")
    return finish(con, parsed, rejects)
