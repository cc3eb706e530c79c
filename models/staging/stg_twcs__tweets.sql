-- Every loaded version of every tweet of the twcs exports (a tweet delivered in two files appears twice: the
-- latest wins in stg_messages), in canonical message columns.
-- Each CTE reads the source itself: a filter on the view (stg_messages' watermark) then reaches the tweets' scan,
-- while the brand handles still come from every tweet (a shared CTE of all tweets was materialised whole, 1.1 s of
-- a 10M-message nightly run).
with tweets as (
    select * from {{ source('raw', 'twcs_messages') }}
),

-- the brand handles: orchestration/build_state.py (twcs_brands) fingerprints the same set, and a change to it
-- means a full refresh (this rule re-attributes tweets loaded before): change both together
brand_accounts as (
    select min(author_id) as account_id
    from {{ source('raw', 'twcs_messages') }}
    where not inbound
    group by lower(author_id)
)

select
    tweets.tweet_id as message_id,
    'twitter' as channel,
    cast(null as varchar) as source_thread_id,
    tweets.in_response_to_tweet_id as parent_message_id,
    case when tweets.inbound then brand_accounts.account_id else tweets.author_id end as account_id,
    tweets.author_id,
    case when tweets.inbound then 'customer' else 'agent' end as author_role,
    false as is_private,
    tweets.created_at as sent_at,
    tweets.text,
    cast(null as varchar) as agent_id,
    'twcs' as source_format,
    tweets._file as source_file,
    tweets._row as source_row,
    tweets._loaded_at as loaded_at
from tweets
left join brand_accounts
    on
        tweets.inbound
        and lower(brand_accounts.account_id) = lower({{ regex_extract('tweets.text', "'@([A-Za-z0-9_]+)'", 1) }})
