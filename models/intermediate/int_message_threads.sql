-- Messages up to as_of, each with the thread it belongs to and its depth in the thread's reply tree.
-- A thread is the reply tree of a message that has no parent in the data (its root): the root is the earliest
-- ancestor present, and a message whose parent is missing starts a thread of its own. Where the export names the
-- conversation (a DM thread id), that id is the thread. The tree is walked from the roots down, one level per
-- step, so the work is linear in the messages and the steps are the depth of the deepest chain. A message whose
-- ancestors form a cycle is never reached from a root: it becomes a thread of its own, flagged.
-- The walk is a model of its own, on the key columns only: DuckDB keeps a recursive CTE's rows in memory until
-- the statement ends, and with the ranking and the wide columns of int_messages in the same statement a full
-- build of 20M messages ran out of its 3 GB (bench/pipeline.py). For the same reason the walk joins row handles
-- (macros/row_handle.sql: DuckDB's rowid, 8 bytes, not the text keys) and the message CTEs are read again where
-- they are used rather than kept whole in memory (macros/not_materialized.sql; staged too: messages, inlined,
-- reads it at each of its uses): with text keys, or with every message's text columns held, this model alone ran
-- out of 3 GB at 20M messages (the rest of that build fits; with staged held, it fit but took 88 s, not 32 s).
-- Incremental: the messages changed since the last run (loaded since, or newly before as_of) and every message of
-- the threads they touch (their own former thread, their parent's, a former root that answers them) are walked
-- again and replace their rows; int_messages recomputes the rows this run wrote (batch_at).
-- The previous run's watermarks are read when the model compiles and written into the SQL as constants (as in
-- stg_messages): the scan of stg_messages for the changed messages then skips the row groups loaded before.
{{ config(materialized='incremental', unique_key='message_key', incremental_strategy='delete+insert') }}
{%- set previous = none %}
{%- if is_incremental() and execute %}
    {%- set previous = run_query('select max(loaded_at), max(as_of_at) from ' ~ this).rows[0] %}
{%- endif %}
with recursive as_of as (
    select {{ as_of_timestamp() }} as as_of_at
),

staged as {{ not_materialized() }} (
    select
        {{ row_handle('stg_messages', 'message_key') }} as message_row,
        stg_messages.message_key,
        stg_messages.parent_message_key,
        stg_messages.source_thread_key,
        stg_messages.loaded_at,
        as_of.as_of_at
    from {{ ref('stg_messages') }} as stg_messages
    inner join as_of on stg_messages.sent_at <= as_of.as_of_at
),

{% if is_incremental() -%}
previous_run as (
    {%- if previous is none or previous[0] is none %}
        select
            max(loaded_at) as loaded_watermark,
            max(as_of_at) as previous_as_of
        from {{ this }}
    {%- else %}
        select
            cast('{{ previous[0] }}' as timestamp) as loaded_watermark,
            cast('{{ previous[1] }}' as timestamp) as previous_as_of
    {%- endif %}
),

-- loaded since, or newly before as_of: two selects, so that each filter reaches its scan
changed as (
    select
        stg_messages.message_key,
        stg_messages.parent_message_key,
        stg_messages.source_thread_key
    from {{ ref('stg_messages') }} as stg_messages
    cross join previous_run
    cross join as_of
    where stg_messages.loaded_at > previous_run.loaded_watermark and stg_messages.sent_at <= as_of.as_of_at
    union
    select
        stg_messages.message_key,
        stg_messages.parent_message_key,
        stg_messages.source_thread_key
    from {{ ref('stg_messages') }} as stg_messages
    cross join previous_run
    cross join as_of
    where stg_messages.sent_at > previous_run.previous_as_of and stg_messages.sent_at <= as_of.as_of_at
),

touched_threads as (
    select thread_key from {{ this }}
    where
        message_key in (select changed.message_key from changed)
        or message_key in (select changed.parent_message_key from changed)
        or parent_message_key in (select changed.message_key from changed)
    union
    select source_thread_key from changed
    where source_thread_key is not null
),

{% endif -%}
messages as {{ not_materialized() }} (
    select staged.*
    from staged
    {%- if is_incremental() %}
        where
            staged.message_key in (select changed.message_key from changed)
            or staged.message_key in (
                select previous.message_key
                from {{ this }} as previous
                where previous.thread_key in (select touched_threads.thread_key from touched_threads)
            )
    {%- endif %}
),

linked as (
    select
        messages.message_row,
        parents.message_row as present_parent_row
    from messages
    left join messages as parents
        on messages.parent_message_key = parents.message_key
    where messages.source_thread_key is null
),

walk (message_row, root_message_row, reply_depth) as (
    select
        message_row,
        message_row as root_message_row,
        0 as reply_depth
    from linked
    where present_parent_row is null
    union all
    select
        child.message_row,
        walk.root_message_row,
        walk.reply_depth + 1 as reply_depth
    from walk
    inner join linked as child
        on walk.message_row = child.present_parent_row
)

select
    messages.message_key,
    messages.parent_message_key,
    coalesce(messages.source_thread_key, roots.message_key, messages.message_key) as thread_key,
    coalesce(walk.reply_depth, 0) as reply_depth,
    messages.source_thread_key is null and walk.message_row is null as is_in_reply_cycle,
    messages.loaded_at,
    messages.as_of_at,
    {{ batch_at() }} as batch_at
from messages
left join walk
    on messages.message_row = walk.message_row
left join messages as roots
    on walk.root_message_row = roots.message_row
