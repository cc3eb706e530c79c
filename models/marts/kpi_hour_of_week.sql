-- Volume and wait by the account's local weekday x hour (for heatmaps), over everything up to as_of: customer
-- messages received, customer-initiated conversations started, and their first reply times.
with messages as (
    select * from {{ ref('int_conversation_messages') }}
    where author_role = 'customer'
),

conversations as (
    select * from {{ ref('fct_first_replies') }}
),

accounts as (
    select * from {{ ref('accounts') }}
),

hours as (
    select
        weekdays.iso_weekday,
        day_hours.local_hour
    from (values (1), (2), (3), (4), (5), (6), (7)) as weekdays (iso_weekday)
    cross join (
        values
        (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11),
        (12), (13), (14), (15), (16), (17), (18), (19), (20), (21), (22), (23)
    ) as day_hours (local_hour)
),

account_channels as (
    select distinct
        account_id,
        channel
    from messages
),

message_hours as (
    select
        messages.account_id,
        messages.channel,
        {{ utc_to_local('messages.sent_at', account_timezone('accounts.timezone')) }}
            as local_sent_at
    from messages
    left join accounts on messages.account_id = accounts.account_id
),

message_counts as (
    select
        account_id,
        channel,
        {{ iso_weekday('local_sent_at') }} as iso_weekday,
        extract(hour from local_sent_at) as local_hour,
        count(*) as customer_messages
    from message_hours
    group by account_id, channel, {{ iso_weekday('local_sent_at') }}, extract(hour from local_sent_at)
),

conversation_hours as (
    select
        account_id,
        channel,
        {{ iso_weekday(utc_to_local('first_customer_message_at', 'account_timezone')) }} as iso_weekday,
        extract(hour from {{ utc_to_local('first_customer_message_at', 'account_timezone') }}) as local_hour,
        first_reply_seconds
    from conversations
),

conversation_counts as (
    select
        account_id,
        channel,
        iso_weekday,
        local_hour,
        count(*) as conversations,
        count(first_reply_seconds) as answered_conversations,
        {{ percentile('first_reply_seconds', 0.5) }} as first_reply_seconds_median
    from conversation_hours
    group by account_id, channel, iso_weekday, local_hour
)

select
    account_channels.account_id,
    account_channels.channel,
    hours.iso_weekday,
    hours.local_hour,
    coalesce(message_counts.customer_messages, 0) as customer_messages,
    coalesce(conversation_counts.conversations, 0) as conversations,
    coalesce(conversation_counts.answered_conversations, 0) as answered_conversations,
    conversation_counts.first_reply_seconds_median
from account_channels
cross join hours
left join message_counts
    on
        account_channels.account_id = message_counts.account_id
        and account_channels.channel = message_counts.channel
        and hours.iso_weekday = message_counts.iso_weekday
        and hours.local_hour = message_counts.local_hour
left join conversation_counts
    on
        account_channels.account_id = conversation_counts.account_id
        and account_channels.channel = conversation_counts.channel
        and hours.iso_weekday = conversation_counts.iso_weekday
        and hours.local_hour = conversation_counts.local_hour
