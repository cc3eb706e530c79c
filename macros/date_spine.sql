{#- Every date from start_date_expr to end_date_expr, both included, as a parenthesised subquery with one column,
    spine_date (date). The arguments are SQL expressions (scalar subqueries allowed); give the result an alias:
    from {{ date_spine("(select min(d) from t)", "(select max(d) from t)") }} as spine -#}
{% macro date_spine(start_date_expr, end_date_expr) -%}
    {{ return(adapter.dispatch('date_spine', 'social_care')(start_date_expr, end_date_expr)) }}
{%- endmacro %}

{#- Portable-ish: day offsets 0 .. 999,999 (about 2,700 years) from six cross-joined digit tables. -#}
{% macro default__date_spine(start_date_expr, end_date_expr) -%}
    (
        select spine_date
        from (
            select dateadd(
                day,
                d0.n + 10 * d1.n + 100 * d2.n + 1000 * d3.n + 10000 * d4.n + 100000 * d5.n,
                cast({{ start_date_expr }} as date)
            ) as spine_date
            {%- for digit in range(6) %}
            {{ 'from' if loop.first else 'cross join' }} (
                select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
                union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
            ) as d{{ digit }}
            {%- endfor %}
        ) as offsets
        where spine_date <= cast({{ end_date_expr }} as date)
    )
{%- endmacro %}

{% macro duckdb__date_spine(start_date_expr, end_date_expr) -%}
    (
        select cast(unnest(generate_series(
            cast(cast({{ start_date_expr }} as date) as timestamp),
            cast(cast({{ end_date_expr }} as date) as timestamp),
            interval 1 day
        )) as date) as spine_date
    )
{%- endmacro %}
