-- Every message from every landing format, one row each (its latest loaded version), in one shape. Keys are scoped
-- by channel so that ids from different platforms never collide; a tweet delivered in two formats is kept once
-- (the canonical one).
-- Incremental: a run reads only the raw rows loaded after the last one it stored (loaded_at, to the microsecond:
-- every load has its own instant, and loading is over before dbt runs) and, for the messages they name, the
-- version kept so far; the latest wins. History that changes otherwise (a file replaced, an erasure) is rebuilt
-- by a full refresh (see orchestration/build_state.py).
-- The watermark is read when the model compiles and written into the SQL as a constant: the engine can then
-- filter the raw tables' scans (their row groups are in load order) instead of every raw row going through the
-- staging views' joins before the filter.
{{ config(materialized='incremental', unique_key='message_key', incremental_strategy='delete+insert') }}
{%- set watermark = none %}
{%- if is_incremental() and execute %}
    {%- set watermark = run_query('select max(loaded_at) from ' ~ this).columns[0].values()[0] %}
{%- endif %}
with versions as (
    select * from {{ ref('stg_canonical__messages') }}
    union all
    select * from {{ ref('stg_twcs__tweets') }}
),

new_versions as (
    select
        channel || ':' || message_id as message_key,
        message_id,
        channel,
        case when parent_message_id is not null then channel || ':' || parent_message_id end as parent_message_key,
        case
            when source_thread_id is not null then channel || ':' || account_id || ':' || source_thread_id
        end as source_thread_key,
        account_id,
        author_id,
        author_role,
        is_private,
        sent_at,
        text,
        agent_id,
        source_format,
        source_file,
        source_row,
        loaded_at
    from versions
    {%- if is_incremental() %}
        {%- if watermark is none %}
            where loaded_at > (select max(loaded_at) from {{ this }})
        {%- else %}
            where loaded_at > cast('{{ watermark }}' as timestamp)
        {%- endif %}
    {%- endif %}
),

-- the latest version of each message in this batch (a canonical version outranks a twcs one, however late)
latest_new_versions as (
    select *
    from new_versions
    qualify row_number() over (
            partition by message_key
            order by
                case source_format when 'twcs' then 1 else 0 end, loaded_at desc, source_file desc, source_row desc
        ) = 1
)

select
    *,
    -- the run that wrote the row: the grain test counts the keys of the last batch (unique_in_last_batch)
    {{ batch_at() }} as batch_at
from latest_new_versions
{%- if is_incremental() %}
    -- A stored version is older than every version of the batch, so the batch's latest replaces it (the
    -- delete+insert of unique_key), except a canonical version stored before a twcs one arrives: it stays. (Only
    -- the key and format of the stored rows are read, not the whole rows, as a union of the two would.)
    where not (
        source_format = 'twcs'
        and message_key in (
            select stored.message_key from {{ this }} as stored
            where stored.source_format != 'twcs'
        )
    )
{%- endif %}
