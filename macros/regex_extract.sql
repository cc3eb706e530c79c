{#- Capture group `group` of the first match of a regular expression (RE2 syntax), '' when there is none. -#}
{% macro regex_extract(text_expression, pattern_expression, group=0) -%}
    {{ return(adapter.dispatch('regex_extract', 'social_care')(text_expression, pattern_expression, group)) }}
{%- endmacro %}

{% macro default__regex_extract(text_expression, pattern_expression, group) -%}
    coalesce(regexp_substr({{ text_expression }}, {{ pattern_expression }}, 1, 1, 'e', {{ group }}), '')
{%- endmacro %}

{% macro duckdb__regex_extract(text_expression, pattern_expression, group) -%}
    regexp_extract({{ text_expression }}, {{ pattern_expression }}, {{ group }})
{%- endmacro %}
