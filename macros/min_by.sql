{#- Aggregate: the value of `expression` on the row where `ordering` is smallest, among the rows where `condition`
    holds (all rows when none), null or not. Spark, Trino and Snowflake call it min_by; DuckDB arg_min_null (its arg_min
    skips a null value and would take the next row's). Ties: any of them, so order by something unique. -#}
{% macro min_by(expression, ordering, condition=none) -%}
    {{ return(adapter.dispatch('min_by', 'social_care')(expression, ordering, condition)) }}
{%- endmacro %}

{% macro default__min_by(expression, ordering, condition) -%}
    {%- if condition -%}
        min_by(case when {{ condition }} then {{ expression }} end, case when {{ condition }} then {{ ordering }} end)
    {%- else -%}
        min_by({{ expression }}, {{ ordering }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__min_by(expression, ordering, condition) -%}
    arg_min_null({{ expression }}, {{ ordering }}){% if condition %} filter (where {{ condition }}){% endif %}
{%- endmacro %}
