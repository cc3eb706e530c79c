-- One row per tweet from the twcs exports, in canonical message columns. A tweet delivered by several files (or
-- by a newer version of a file) is kept once: its most recently loaded version.
with tweets as (
    select * from {{ source('raw', 'twcs_messages') }}
),

latest as (
    select *
    from tweets
    qualify row_number() over (
            partition by tweet_id order by _loaded_at desc, _file desc, _row desc
        ) = 1
),

brand_accounts as (
    -- one handle per case-insensitive name, so that a mention matches at most one brand
    select min(author_id) as account_id
    from latest
    where not inbound
    group by lower(author_id)
)

select
    latest.tweet_id as message_id,
    'twitter' as channel,
    cast(null as varchar) as source_thread_id,
    latest.in_response_to_tweet_id as parent_message_id,
    -- a customer's tweet belongs to the brand it addresses: its first @mention, when that is a brand account
    case when latest.inbound then brand_accounts.account_id else latest.author_id end as account_id,
    latest.author_id,
    case when latest.inbound then 'customer' else 'agent' end as author_role,
    false as is_private,
    latest.created_at as sent_at,
    latest.text,
    cast(null as varchar) as agent_id,
    'twcs' as source_format,
    latest._file as source_file
from latest
left join brand_accounts
    on
        latest.inbound
        and lower(brand_accounts.account_id) = lower({{ regex_extract('latest.text', "'@([A-Za-z0-9_]+)'", 1) }})
