{#- Business seconds of many waits at once: the part of [start, end) that falls in the account's opening intervals
    (ref('int_business_intervals'): opening hours in the account's time zone, DST-correct, holidays removed).

    Call it as the body of a CTE, over a relation (a CTE name or a ref) with one row per key_column:

        turn_business_seconds as (
            {{ business_seconds_cte('turns', 'turn_id', 'account_id', 'started_at', 'replied_at') }}
        )

    Returns one row per input row, with two columns: <key_column> (same name) and business_seconds (bigint):
    - null when start or end is null (e.g. a wait not answered yet: pass coalesce(replied_at, as_of) to age it);
    - 0 when end <= start;
    - the calendar seconds from start to end for an account with no business hours (open 24/7; also a null
      account);
    - otherwise the sum over the account's intervals of seconds_between(greatest(start, open_at),
      least(end, close_at)), 0 if none overlaps (e.g. a reply before opening time).
    key_column must identify the rows of the relation (the overlaps are summed per key). Timestamps are UTC.

    The overlap join is an equality on the account plus two inequalities (open_at < end and close_at > start), over
    intervals, never a minute spine. DuckDB plans it as a hash join on the account that checks the inequalities
    while probing (cost ~ waits x intervals per account, not the minutes waited: about 1 s for 1M waits against 2
    years of intervals on 2 cores); with `set prefer_range_joins = true` it runs an IEJoin instead. -#}
{% macro business_seconds_cte(relation, key_column, account_column, start_column, end_column) -%}
    select
        bs_waits.{{ key_column }},
        case
            when bs_waits.{{ start_column }} is null or bs_waits.{{ end_column }} is null then null
            when bs_waits.{{ end_column }} <= bs_waits.{{ start_column }} then 0
            when bs_accounts.account_id is null
                then {{ seconds_between('bs_waits.' ~ start_column, 'bs_waits.' ~ end_column) }}
            else coalesce(bs_overlaps.business_seconds, 0)
        end as business_seconds
    from {{ relation }} as bs_waits
    left join (
        select distinct account_id from {{ ref('business_hours') }}
    ) as bs_accounts
        on bs_waits.{{ account_column }} = bs_accounts.account_id
    left join (
        select
            bs_overlapping.{{ key_column }},
            cast(sum({{ seconds_between(
                'greatest(bs_overlapping.' ~ start_column ~ ', bs_intervals.open_at)',
                'least(bs_overlapping.' ~ end_column ~ ', bs_intervals.close_at)'
            ) }}) as bigint) as business_seconds
        from {{ relation }} as bs_overlapping
        inner join {{ ref('int_business_intervals') }} as bs_intervals
            on
                bs_overlapping.{{ account_column }} = bs_intervals.account_id
                and bs_intervals.open_at < bs_overlapping.{{ end_column }}
                and bs_intervals.close_at > bs_overlapping.{{ start_column }}
        where bs_overlapping.{{ end_column }} > bs_overlapping.{{ start_column }}
        group by bs_overlapping.{{ key_column }}
    ) as bs_overlaps
        on bs_waits.{{ key_column }} = bs_overlaps.{{ key_column }}
{%- endmacro %}
