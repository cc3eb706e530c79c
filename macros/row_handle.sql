{#- A small value that tells the rows of a stored table apart within one statement, for joins that would otherwise
    carry a text key through many steps (the reply walk of int_message_threads). DuckDB: the row's rowid, 8 bytes,
    the same in every scan of the table within the statement. Elsewhere: the key column itself (always correct,
    only larger). Only for a table read directly (not a CTE or a view): unit tests, which read fixtures, override
    this macro with the key column. -#}
{% macro row_handle(table_alias, key_column) -%}
    {{ return(adapter.dispatch('row_handle', 'social_care')(table_alias, key_column)) }}
{%- endmacro %}

{% macro default__row_handle(table_alias, key_column) -%}
    {{ table_alias }}.{{ key_column }}
{%- endmacro %}

{% macro duckdb__row_handle(table_alias, key_column) -%}
    {{ table_alias }}.rowid
{%- endmacro %}
