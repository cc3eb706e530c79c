{#- The first @handle a text mentions, lower case, without the @ (null if none). -#}
{% macro first_mention(text_column) -%}
    {{ return(adapter.dispatch('first_mention', 'social_care')(text_column)) }}
{%- endmacro %}

{% macro default__first_mention(text_column) -%}
    lower(nullif(regexp_substr({{ text_column }}, '@([A-Za-z0-9_]+)', 1, 1, 'e', 1), ''))
{%- endmacro %}

{% macro duckdb__first_mention(text_column) -%}
    lower(nullif(regexp_extract({{ text_column }}, '@([A-Za-z0-9_]+)', 1), ''))
{%- endmacro %}
