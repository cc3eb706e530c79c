-- One row per canonical message (landing folder messages/). A message delivered by several files is kept once:
-- its most recently loaded version.
with messages as (
    select * from {{ source('raw', 'messages') }}
),

latest as (
    select *
    from messages
    qualify row_number() over (
            partition by channel, message_id order by _loaded_at desc, _file desc, _row desc
        ) = 1
)

select
    message_id,
    channel,
    thread_id as source_thread_id,
    parent_message_id,
    account_id,
    author_id,
    author_role,
    is_private,
    sent_at,
    text,
    agent_id,
    'messages' as source_format,
    _file as source_file
from latest
