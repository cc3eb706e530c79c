{{ config(meta={"dagster": {"ref": {"name": "fct_threads"}}}) }}
-- Every message up to as_of is in exactly one thread, and the threads' message counts add up to them.
select
    (select count(*) from {{ ref('int_messages') }}) as messages,
    (select coalesce(sum(message_count), 0) from {{ ref('fct_threads') }}) as messages_in_threads,
    (
        select count(*) from {{ ref('stg_messages') }}
        where sent_at <= {{ as_of_timestamp() }}
    ) as staged_messages
where
    (select count(*) from {{ ref('int_messages') }})
    is distinct from (select coalesce(sum(message_count), 0) from {{ ref('fct_threads') }})
    or (select count(*) from {{ ref('int_messages') }})
    is distinct from (
        select count(*) from {{ ref('stg_messages') }}
        where sent_at <= {{ as_of_timestamp() }}
    )
