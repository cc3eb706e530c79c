-- Messages up to as_of, each with the thread it belongs to and the thread's account and customer.
-- A thread is the reply tree of a message that has no parent in the data (its root): the root is the earliest
-- ancestor present, and a message whose parent is missing starts a thread of its own. Where the export names the
-- conversation (a DM thread id), that id is the thread. The tree is walked from the roots down, one level per
-- step, so the work is linear in the messages and the steps are the depth of the deepest chain. The walk and the
-- thread's people use only the key columns; the wide columns (text) are joined once, at the end: sorting and
-- materialising 8M rows with their text cost 3x the whole walk. A message whose
-- ancestors form a cycle is never reached from a root: it becomes a thread of its own, flagged.
-- A thread's account is the one whose brand message comes first (a twcs customer may mention several handles),
-- failing that the account of its first message; its customer is the author of its first customer message.
-- customer_key (channel:account:customer, or the thread for a thread without a customer) is the unit that the
-- incremental models downstream recompute: every conversation rule looks no further than one customer's messages
-- with one account.
-- Incremental: the messages changed since the last run (loaded since, or newly before as_of) and every message of
-- the threads they touch (their own former thread, their parent's, a former root that answers them) are walked
-- again and replace their rows. previous_customer_key keeps the customer a re-threaded message had before.
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

-- only the columns the walk needs: the wide rows (text) are read once, in the final select
staged as (
    select
        stg_messages.message_key,
        stg_messages.parent_message_key,
        stg_messages.source_thread_key,
        stg_messages.sent_at,
        stg_messages.loaded_at,
        stg_messages.author_role,
        stg_messages.account_id,
        stg_messages.author_id,
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
messages as (
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
        messages.message_key,
        parents.message_key as present_parent_key
    from messages
    left join messages as parents
        on messages.parent_message_key = parents.message_key
    where messages.source_thread_key is null
),

walk (message_key, root_message_key, reply_depth) as (
    select
        message_key,
        message_key as root_message_key,
        0 as reply_depth
    from linked
    where present_parent_key is null
    union all
    select
        child.message_key,
        walk.root_message_key,
        walk.reply_depth + 1 as reply_depth
    from walk
    inner join linked as child
        on walk.message_key = child.present_parent_key
),

threaded as (
    select
        messages.message_key,
        messages.author_role,
        messages.account_id,
        messages.author_id,
        messages.as_of_at,
        coalesce(messages.source_thread_key, walk.root_message_key, messages.message_key) as thread_key,
        coalesce(walk.reply_depth, 0) as reply_depth,
        messages.source_thread_key is null and walk.message_key is null as is_in_reply_cycle,
        row_number() over (
            partition by coalesce(messages.source_thread_key, walk.root_message_key, messages.message_key)
            order by messages.sent_at, case messages.author_role when 'customer' then 0 else 1 end, messages.message_key
        ) as position_in_thread
    from messages
    left join walk
        on messages.message_key = walk.message_key
),

-- a thread's account: its first brand message's, failing that its first message's; its customer: the author of its
-- first customer message
thread_people as (
    select
        thread_key,
        coalesce(
            {{ min_by('account_id', 'position_in_thread', "author_role in ('agent', 'bot')") }},
            {{ min_by('account_id', 'position_in_thread') }},
            'unknown'
        ) as thread_account_id,
        {{ min_by('author_id', 'position_in_thread', "author_role = 'customer'") }} as thread_customer_id
    from threaded
    group by thread_key
),

resolved as (
    select
        threaded.message_key,
        threaded.thread_key,
        threaded.reply_depth,
        threaded.is_in_reply_cycle,
        threaded.position_in_thread,
        threaded.as_of_at,
        thread_people.thread_account_id,
        thread_people.thread_customer_id
    from threaded
    inner join thread_people on threaded.thread_key = thread_people.thread_key
)

select
    stg_messages.message_key,
    stg_messages.message_id,
    stg_messages.channel,
    stg_messages.parent_message_key,
    stg_messages.source_thread_key,
    stg_messages.account_id,
    stg_messages.author_id,
    stg_messages.author_role,
    stg_messages.is_private,
    stg_messages.sent_at,
    stg_messages.text,
    stg_messages.agent_id,
    stg_messages.source_format,
    stg_messages.source_file,
    stg_messages.loaded_at,
    resolved.thread_key,
    resolved.reply_depth,
    resolved.is_in_reply_cycle,
    resolved.position_in_thread,
    resolved.thread_account_id,
    resolved.thread_customer_id,
    case
        when resolved.thread_customer_id is not null
            then stg_messages.channel || ':' || resolved.thread_account_id || ':' || resolved.thread_customer_id
        else resolved.thread_key
    end as customer_key,
    {% if is_incremental() -%}
        previous.customer_key as previous_customer_key,
    {%- else -%}
        cast(null as varchar) as previous_customer_key,
    {%- endif %}
    resolved.as_of_at,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as batch_at
from {{ ref('stg_messages') }} as stg_messages
inner join resolved on stg_messages.message_key = resolved.message_key
{%- if is_incremental() %}
    left join {{ this }} as previous on resolved.message_key = previous.message_key
{%- endif %}
