"""The public "Customer Support on Twitter" CSV (twcs.csv, Thought Vector on Kaggle)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.parsers.common import (
    EARLIEST_MESSAGE_AT,
    FileRejected,
    ParsedFile,
    check_readable,
    finish,
    read_csv_accounted,
    read_header,
    reject_duplicates_and_cycles,
    sql_string,
)

COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
RAW_COLUMNS = (
    "tweet_id varchar, author_id varchar, inbound boolean, created_at timestamp, text varchar, "
    "response_tweet_id varchar, in_response_to_tweet_id varchar"
)
# Spreadsheets write ids as floats: "192625.0" is tweet 192625.
_ID = r"^\d+(\.0+)?$"
# response_tweet_id: ids and commas (spreadsheets rewrite "1003,1007" as "10,031,007", or "###" when the column is
# too narrow). Anything else, letters above all, is text that landed there: DuckDB drops empty fields past the last
# column, so a row whose unquoted text holds a comma loads shifted unless this catches it.
_ID_LIST = r"^[0-9.,# ]*$"


def parse_twcs(
    con: duckdb.DuckDBPyConnection, path: Path, loaded_at: datetime, prefix: str = "twcs"
) -> ParsedFile:
    """Parse one twcs CSV into ``{prefix}_parsed`` (raw.twcs_messages columns) and ``{prefix}_rejects``."""
    check_readable(path)
    header = read_header(path)
    if header != list(COLUMNS):
        raise FileRejected(f"header is not the twcs header {','.join(COLUMNS)}; found {','.join(header)}")
    csv_table, parsed, rejects = f"{prefix}_csv", f"{prefix}_parsed", f"{prefix}_rejects"
    read_csv_accounted(con, path, COLUMNS, csv_table, rejects)
    con.execute(
        f"""
        create or replace temp table {prefix}_typed as
        with cleaned as (
            select
                _row,
                trim(tweet_id) as tweet_id,
                trim(author_id) as author_id,
                lower(trim(inbound)) as inbound,
                created_at,
                try_strptime(trim(created_at), '%a %b %d %H:%M:%S %z %Y') at time zone 'UTC' as created_at_utc,
                text,
                response_tweet_id,
                trim(in_response_to_tweet_id) as parent_id
            from {csv_table} as c
        )
        select
            *,
            case
                when tweet_id is null and author_id is null and created_at is null and text is null
                    then 'blank row'
                when tweet_id is null then 'missing tweet_id'
                when not regexp_matches(tweet_id, '{_ID}') then 'tweet_id is not a number: ' || tweet_id
                when author_id is null then 'missing author_id'
                when inbound is null then 'missing inbound'
                when inbound not in ('true', 'false') then 'inbound is not True or False: ' || inbound
                when created_at is null then 'missing created_at'
                when created_at_utc is null then 'unparseable created_at: ' || created_at
                when created_at_utc < timestamp '{EARLIEST_MESSAGE_AT}'
                    then 'created_at before 2006-03-21, the first tweet: ' || created_at
                when created_at_utc > {sql_string(loaded_at.strftime("%Y-%m-%d %H:%M:%S"))}::timestamp
                    then 'created_at is in the future: ' || created_at
                when parent_id is not null and not regexp_matches(parent_id, '{_ID}')
                    then 'in_response_to_tweet_id is not a number: ' || parent_id
                when parent_id is not null
                    and regexp_replace(parent_id, '\\.0+$', '') = regexp_replace(tweet_id, '\\.0+$', '')
                    then 'tweet replies to itself'
                when not regexp_matches(response_tweet_id, '{_ID_LIST}')
                    then 'response_tweet_id is not a list of tweet ids (did a comma in an unquoted text shift '
                        || 'the columns?): ' || response_tweet_id
            end as reject_reason
        from cleaned
        """
    )
    # An id written as a float ("192625.0") is the same tweet as "192625".
    tweet = "regexp_replace(tweet_id, '\\.0+$', '')"
    reject_duplicates_and_cycles(
        con,
        f"{prefix}_typed",
        key=f"case when regexp_matches(tweet_id, '{_ID}') then {tweet} end",
        parent="regexp_replace(parent_id, '\\.0+$', '')",
        label=tweet,
        duplicate_reason=f"'duplicate tweet_id ' || {tweet} || ': a later row of the file replaces it'",
    )
    con.execute(
        f"""
        create or replace temp table {parsed} as
        select
            _row,
            regexp_replace(tweet_id, '\\.0+$', '') as tweet_id,
            author_id,
            inbound = 'true' as inbound,
            created_at_utc as created_at,
            text,
            response_tweet_id,
            regexp_replace(parent_id, '\\.0+$', '') as in_response_to_tweet_id
        from {prefix}_typed
        where reject_reason is null
        """
    )
    con.execute(
        f"""
        insert into {rejects}
        select t._row, null as line, t.reject_reason as reason, to_json(c)::varchar as raw_record
        from {prefix}_typed as t join {csv_table} as c using (_row)
        where t.reject_reason is not null
        order by t._row
        """
    )
    con.execute(f"drop table {prefix}_typed; drop table {csv_table}")
    return finish(con, parsed, rejects)
