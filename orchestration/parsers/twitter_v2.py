"""Twitter/X API v2 responses (search, timelines, filtered stream, DM events), as the API or twarc2 writes them.

A file is one JSON document (a response page, or a list of pages) or JSON Lines (one page, one stream message or one
flattened tweet per line); gzip allowed. What is read:

- ``{"data": [tweets], "includes": {"users": [...], "tweets": [...]}, "meta": {...}}``: every tweet of ``data`` and
  every tweet of ``includes.tweets`` (the tweets they reply to or quote) that is not also in ``data``; ``data`` may
  be a single tweet (filtered stream); a page with no ``data`` (``result_count: 0``) holds no rows;
- a flattened tweet (twarc's one-tweet-per-line form, with ``author`` and ``in_reply_to_user`` objects);
- DM events (``event_type``, ``dm_conversation_id``, ``sender_id``): ``MessageCreate`` events are private messages
  whose ``thread_id`` is the DM conversation; other events (``ParticipantsJoin``...) are rejected.

Tweets are public, channel ``twitter``; ``parent_message_id`` is the ``replied_to`` reference, ``thread_id`` is null
(threads come from the reply links). ``author_id`` is the platform's user id.

Which author is the brand: the exports do not say. ``brand_ids`` lists the brand accounts by user id or handle
(handles compare case-insensitively); by default the ``account_id`` column of ``seeds/accounts.csv``, where a brand's
numeric platform id may be listed too. Brand resolution, the same in every parser of this kind:

- ``author_role`` is ``agent`` when the author's id or handle is a brand, else ``customer``;
- an agent message's ``account_id`` is its author (the handle, or the id when the file does not name the user);
- a customer message's ``account_id`` is, in this order: the user it replies to, if a brand; the first brand that
  writes in the same conversation (``conversation_id``; the DM conversation); for a DM, a brand among the
  conversation's participants; the first brand ``@handle`` the tweet mentions. When none: the row is rejected with
  ``no brand account in this conversation``.

Rejections on top of the canonical ones: ``invalid JSON (a line cut short?)``, ``API error: <title>: <detail>`` (an
error line of a stream), ``not a Twitter API v2 page, tweet or DM event``, ``DM event is not a message: <type>``,
``earlier version of edited tweet <first id>: version <id> in this file replaces it`` (an edited tweet keeps its latest
version), ``duplicate tweet id <id>: a later record of the file replaces it``. A file that is a single JSON document
cut short, or with no line that is JSON, is rejected as a whole.
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
    load_brands,
    parse_time,
    read_json_documents,
    reject_duplicates_and_cycles,
    time_checks,
)

# The canonical raw columns (orchestration/parsers/messages.py COLUMNS), in order, after _row.
OUTPUT_COLUMNS = (
    "message_id, thread_id, parent_message_id, channel, account_id, author_id, author_role, is_private, sent_at, "
    "text, agent_id"
)


def parse_twitter_v2(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    loaded_at: datetime,
    prefix: str = "twitter_v2",
    brand_ids: frozenset[str] | None = None,
) -> ParsedFile:
    """Parse one Twitter API v2 file (``.json``/``.jsonl``, optionally ``.gz``) into ``{prefix}_parsed`` (raw.messages
    columns and ``_row``) and ``{prefix}_rejects``."""
    brands = brand_ids_from_seed() if brand_ids is None else brand_ids
    docs, recs, rejects, parsed = (
        f"{prefix}_docs",
        f"{prefix}_records",
        f"{prefix}_rejects",
        f"{prefix}_parsed",
    )
    read_json_documents(con, path, docs)
    load_brands(con, brands, f"{prefix}_brands")
    # Each document is parsed once for the paths that say what it is (json_type of a list of paths); each record
    # once for its texts and once for its lists (json_extract_string / json_extract of a list of paths).
    con.execute(
        f"""
        create or replace temp table {prefix}_pages as
        with t as (
            select _doc, line, doc, raw, reason as doc_reason,
                json_type(doc, ['$.data', '$.id', '$.text', '$.event_type', '$.errors', '$.meta', '$.includes.tweets',
                    '$.includes.users', '$.author', '$.in_reply_to_user']) as ty
            from {docs}
        )
        select *,
            coalesce(doc_reason, case
                when ty[1] in ('ARRAY', 'OBJECT') then null
                when ty[1] is not null and ty[1] <> 'NULL' then 'data is not a list or an object'
                when ty[2] is not null and (ty[3] is not null or ty[4] is not null) then null
                when ty[5] = 'ARRAY' and ty[1] is null
                    then 'API error: ' || coalesce(json_extract_string(doc, '$.errors[0].title'), '')
                        || ': ' || coalesce(json_extract_string(doc, '$.errors[0].detail'),
                            json_extract_string(doc, '$.errors[0].message'), '')
                when ty[6] = 'OBJECT' then null
                else 'not a Twitter API v2 page, tweet or DM event'
            end) as reason
        from t
        """
    )
    # Records: each tweet / DM event, in document order, data before includes. section 0 = a document that is a
    # record itself (flattened tweet, DM event line), 1 = data, 2 = includes.tweets, 9 = a document that is a reject.
    con.execute(
        f"""
        create or replace temp table {prefix}_items as
        with i as (
            select _doc, line, 9 as section, 0 as idx, null::json as rec, reason, raw from {prefix}_pages
            where reason is not null
            union all
            select _doc, line, 0, 0, doc, null, raw from {prefix}_pages
            where reason is null and ty[1] is null and ty[2] is not null
            union all
            select _doc, line, 1, 0, json_extract(doc, '$.data'), null, null from {prefix}_pages
            where reason is null and ty[1] = 'OBJECT'
            union all
            select _doc, line, 1, unnest(range(len(recs)::bigint)), unnest(recs), null, null from (
                select _doc, line, json_extract(doc, '$.data[*]') as recs from {prefix}_pages
                where reason is null and ty[1] = 'ARRAY'
            )
            union all
            select _doc, line, 2, unnest(range(len(recs)::bigint)), unnest(recs), null, null from (
                select _doc, line, json_extract(doc, '$.includes.tweets[*]') as recs from {prefix}_pages
                where reason is null and ty[7] = 'ARRAY'
            )
        )
        select *,
            json_extract_string(rec, ['$.id', '$.event_type', '$.author_id', '$.sender_id', '$.author.id',
                '$.created_at', '$.text', '$.conversation_id', '$.dm_conversation_id', '$.in_reply_to_user_id']) as s,
            json_extract(rec, ['$.event_type', '$.dm_conversation_id', '$.author', '$.referenced_tweets',
                '$.entities.mentions', '$.edit_history_tweet_ids', '$.participant_ids']) as v
        from i
        """
    )
    # Users named anywhere in the file: includes.users, and the flattened form's author / in_reply_to_user.
    con.execute(
        f"""
        create or replace temp table {prefix}_users as
        select id as uid, any_value(username) as username from (
            select f[1] as id, f[2] as username
            from (
                select json_extract_string(u, ['$.id', '$.username']) as f from (
                    select unnest(json_extract(doc, '$.includes.users[*]')) as u from {prefix}_pages
                    where doc_reason is null and ty[8] = 'ARRAY'
                    union all
                    select json_extract(doc, '$.author') from {prefix}_pages where ty[9] = 'OBJECT'
                    union all
                    select json_extract(doc, '$.in_reply_to_user') from {prefix}_pages where ty[10] = 'OBJECT'
                    union all
                    select v[3] from {prefix}_items where json_type(v[3]) = 'OBJECT'
                )
            )
        )
        where id is not null and username is not null
        group by id
        """
    )
    # An included tweet that is also in data (anywhere in the file) is an expansion of it, not a record; an
    # included tweet repeated on several pages is one record. The records are numbered on their keys alone: the
    # wide columns (the record's JSON) stay in the items table and are joined where they are needed.
    con.execute(
        f"""
        create or replace temp table {recs} as
        with items as (
            select _doc, section, idx, s[1] as rid from {prefix}_items
        ),
        kept as (
            select _doc, section, idx from items where section <> 2
            union all
            select _doc, section, idx from (
                select *, row_number() over (partition by rid order by _doc, idx) as n from items
                where section = 2 and (rid is null or rid not in (
                    select rid from items where section in (0, 1) and rid is not null))
            ) where n = 1 or rid is null
        )
        select row_number() over (order by _doc, section, idx) as _row, _doc, section, idx from kept
        """
    )
    b = f"{prefix}_brands"

    def text(i: int) -> str:
        return f"nullif(trim(s[{i}]), '')"

    def is_brand(value: str) -> str:
        """SQL: ``value`` is a brand id or handle (false, not null, when it is null)."""
        return f"coalesce(lower({value}) in (select key from {b}), false)"

    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with r as (
            select _row, line, reason as doc_reason,
                {text(1)} as id,
                case when rec is not null then v[1] is not null or v[2] is not null end as is_dm,
                {text(2)} as event_type,
                coalesce({text(3)}, {text(4)}, {text(5)}) as author_id,
                {text(6)} as created_at,
                s[7] as text,
                {text(8)} as conversation_id,
                {text(9)} as dm_conversation_id,
                {text(10)} as in_reply_to_user_id,
                list_filter(
                    coalesce(json_extract(v[4], '$[*]'), []::json[]),
                    lambda x: json_extract_string(x, '$.type') = 'replied_to'
                )[1] ->> '$.id' as replied_to,
                coalesce(json_extract_string(v[5], '$[*].username'), []::varchar[]) as mentions,
                coalesce(json_extract_string(v[6], '$[*]'), []::varchar[]) as edits,
                coalesce(json_extract_string(v[7], '$[*]'), []::varchar[]) as participant_ids
            from {recs} join {prefix}_items using (_doc, section, idx)
        )
        select r.*, {parse_time("created_at")} as sent_at_utc,
            u.username, coalesce(u.username, r.author_id) as handle,
            {is_brand("r.author_id")} or {is_brand("u.username")} as by_brand,
            case when len(edits) > 0 then edits[1] else id end as edit_chain,
            coalesce(list_position(edits, id), 1) as edit_version,
            case
                when doc_reason is not null then doc_reason
                when id is null then 'missing id'
                when is_dm and coalesce(event_type, 'MessageCreate') <> 'MessageCreate'
                    then 'DM event is not a message: ' || event_type
                when is_dm and dm_conversation_id is null then 'missing dm_conversation_id'
                when author_id is null then case when is_dm then 'missing sender_id' else 'missing author_id' end
                {time_checks("created_at", parse_time("created_at"), "created_at", loaded_at)}
                when replied_to = id then 'tweet replies to itself'
            end as reject_reason
        from r left join {prefix}_users as u on u.uid = r.author_id
        """
    )
    # An edited tweet: every version carries the whole edit history; the latest version in the file loads.
    con.execute(
        f"""
        update {prefix}_typed as t set reject_reason = 'earlier version of edited tweet ' || t.edit_chain
            || ': version ' || l.latest_id || ' in this file replaces it'
        from (
            select edit_chain, max(edit_version) as latest, arg_max(id, edit_version) as latest_id
            from {prefix}_typed where reject_reason is null and not is_dm group by edit_chain
        ) as l
        where t.edit_chain = l.edit_chain and t.edit_version < l.latest and t.reject_reason is null and not t.is_dm
        """
    )
    reject_duplicates_and_cycles(
        con,
        f"{prefix}_typed",
        key="case when id is not null then [is_dm::varchar, id] end",
        parent="case when replied_to is not null and not is_dm then ['false', replied_to] end",
        label="id",
        duplicate_reason="'duplicate ' || case when is_dm then 'DM event' else 'tweet' end || ' id ' || id"
        " || ': a later record of the file replaces it'",
    )
    # A customer message's brand, the first there is of: the user it replies to; the first brand author of its
    # conversation (by time, then position); for a DM, the lowest participant id that is a brand; the first brand it
    # mentions. Each is a join (no correlated subquery: a million records).
    con.execute(
        f"""
        create or replace temp table {prefix}_resolved as
        with ok as (select * from {prefix}_typed where reject_reason is null),
        conv as (
            select coalesce(dm_conversation_id, conversation_id) as conv, is_dm,
                arg_min(handle, (sent_at_utc, _row)) as brand
            from ok where by_brand and coalesce(dm_conversation_id, conversation_id) is not null
            group by all
        ),
        dm as (
            select p._row, min(p.pid) as pid from (
                select _row, author_id,
                    unnest(list_distinct(list_concat(participant_ids, string_split(dm_conversation_id, '-')))) as pid
                from ok where is_dm and not by_brand
            ) as p left join {prefix}_users as u on u.uid = p.pid
            where p.pid <> p.author_id and ({is_brand("p.pid")} or {is_brand("u.username")})
            group by p._row
        ),
        mention as (
            select _row, arg_min(h, i) as h from (
                select _row, unnest(mentions) as h, unnest(range(len(mentions)::bigint)) as i from ok where not by_brand
            )
            where {is_brand("h")}
            group by _row
        )
        select ok._row, ok.id, ok.is_dm, ok.dm_conversation_id, ok.replied_to, ok.author_id, ok.sent_at_utc,
            ok.text,
            case when by_brand then 'agent' else 'customer' end as role,
            case when by_brand then ok.handle else coalesce(
                case when {is_brand("ok.in_reply_to_user_id")} or {is_brand("ui.username")}
                    then coalesce(ui.username, ok.in_reply_to_user_id) end,
                c.brand,
                coalesce(ud.username, dm.pid),
                mention.h
            ) end as account
        from ok
        left join conv as c on c.conv = coalesce(ok.dm_conversation_id, ok.conversation_id) and c.is_dm = ok.is_dm
        left join {prefix}_users as ui on ui.uid = ok.in_reply_to_user_id
        left join dm on dm._row = ok._row
        left join {prefix}_users as ud on ud.uid = dm.pid
        left join mention on mention._row = ok._row
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
        select _row, id as message_id,
            case when is_dm then dm_conversation_id end as thread_id,
            case when not is_dm then replied_to end as parent_message_id,
            'twitter' as channel, account as account_id, author_id, role as author_role, is_dm as is_private,
            sent_at_utc as sent_at, text, null::varchar as agent_id
        from {prefix}_resolved where account is not null
        order by _row
        """
    )
    con.execute(f"create or replace temp table {rejects} ({REJECTS_COLUMNS})")
    con.execute(
        f"""
        insert into {rejects}
        select t._row, t.line, t.reject_reason, coalesce(i.raw, i.rec::varchar)
        from {prefix}_typed as t join {recs} using (_row) join {prefix}_items as i using (_doc, section, idx)
        where t.reject_reason is not null
        order by t._row
        """
    )
    for t in (
        docs,
        recs,
        f"{prefix}_pages",
        f"{prefix}_items",
        f"{prefix}_users",
        f"{prefix}_typed",
        f"{prefix}_resolved",
        b,
    ):
        con.execute(f"drop table if exists {t}")
    return finish(con, parsed, rejects)
