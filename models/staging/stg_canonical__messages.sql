-- One row per message of the formats parsed into canonical columns: the canonical files (landing folder
-- messages/), Twitter API v2 pages, Facebook Graph exports and Messenger/Instagram "Download your information"
-- inboxes. A message delivered by several files is kept once: its most recently loaded version.
{%- set formats = ['messages', 'twitter_v2_messages', 'facebook_graph_messages', 'messenger_dyi_messages'] %}
with messages as (
    {% for table in formats %}
        select
            *,
            '{{ table | replace("_messages", "") }}' as source_format
        from {{ source('raw', table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
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
    source_format,
    _file as source_file
from latest
