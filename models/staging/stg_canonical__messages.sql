-- Every loaded version of every message of the canonical and platform formats (an edited or re-delivered message
-- appears once per file: the latest wins in stg_messages).
{%- set formats = ['messages', 'twitter_v2_messages', 'facebook_graph_messages', 'messenger_dyi_messages'] %}
with messages as (
    {% for table in formats %}
        select
            *,
            '{{ table | replace("_messages", "") }}' as source_format
        from {{ source('raw', table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
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
    _file as source_file,
    _row as source_row,
    _loaded_at as loaded_at
from messages
