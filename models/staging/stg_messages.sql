-- Every message from every landing format, one row each, in one shape. Keys are scoped by channel so that ids
-- from different platforms never collide; a tweet delivered in two formats is kept once (the canonical one).
with all_messages as (
    select * from {{ ref('stg_canonical__messages') }}
    union all
    select twcs.*
    from {{ ref('stg_twcs__tweets') }} as twcs
    where not exists (
            select 1
            from {{ ref('stg_canonical__messages') }} as canonical
            where canonical.channel = twcs.channel and canonical.message_id = twcs.message_id
        )
)

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
    source_file
from all_messages
