-- One row per account x channel x day (the account's local day of the thread's first customer message).
-- Rates are ratios of the day's counts, so they re-aggregate exactly: sum the counts, then divide.
with first_replies as (
    select * from {{ ref('fct_first_replies') }}
)

select
    account_id,
    channel,
    first_customer_message_date as activity_date,
    count(*) as threads,
    count(first_agent_reply_at) as answered_threads,
    {{ safe_divide('count(first_agent_reply_at)', 'count(*)') }} as response_rate,
    {{ percentile('first_reply_seconds', 0.5) }} as first_reply_seconds_median,
    {{ percentile('first_reply_seconds', 0.9) }} as first_reply_seconds_p90,
    avg(first_reply_seconds) as first_reply_seconds_mean,
    count(case when first_reply_seconds <= 15 * 60 then 1 end) as answered_within_15m,
    count(case when first_reply_seconds <= 60 * 60 then 1 end) as answered_within_60m,
    {{ safe_divide('count(case when first_reply_seconds <= 15 * 60 then 1 end)', 'count(*)') }}
        as answered_within_15m_share,
    {{ safe_divide('count(case when first_reply_seconds <= 60 * 60 then 1 end)', 'count(*)') }}
        as answered_within_60m_share
from first_replies
group by account_id, channel, first_customer_message_date
