{{ config(meta={"dagster": {"ref": {"name": "kpi_badge_daily"}}}) }}
-- Every badge row counts exactly the customer-initiated private conversations that started in its window,
-- recounted here from fct_conversations (the badge reads fct_first_replies).
with recount as (
    select
        badge.account_id,
        badge.channel,
        badge.activity_date,
        count(conversations.conversation_id) as conversations,
        count(case when conversations.response_status = 'answered' then 1 end) as answered,
        count(case when conversations.response_status = 'pending' then 1 end) as pending
    from {{ ref('kpi_badge_daily') }} as badge
    left join {{ ref('fct_conversations') }} as conversations
        on
            badge.account_id = conversations.account_id
            and badge.channel = conversations.channel
            and conversations.is_private
            and conversations.is_customer_initiated
            and conversations.started_date between badge.window_start_date and badge.activity_date
    group by badge.account_id, badge.channel, badge.activity_date
)

select
    badge.account_id,
    badge.channel,
    badge.activity_date
from {{ ref('kpi_badge_daily') }} as badge
inner join recount
    on
        badge.account_id = recount.account_id
        and badge.channel = recount.channel
        and badge.activity_date = recount.activity_date
where
    badge.conversations != recount.conversations
    or badge.answered_conversations != recount.answered
    or badge.pending_conversations != recount.pending
