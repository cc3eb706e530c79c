{#- Written after `name as` in a CTE that is read several times, to have it evaluated at each read instead of kept
    whole in memory: DuckDB materialises such a CTE, and with the text columns of every message that is what ran
    a statement out of its memory limit (int_message_threads, 20M messages, 3 GB). Engines without the hint
    (Spark, Snowflake) decide for themselves: nothing is written. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'social_care')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
