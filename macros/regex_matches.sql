{#- True when a regular expression (RE2 syntax, inline flags such as (?i) allowed) matches anywhere in the text. -#}
{% macro regex_matches(text_expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regex_matches', 'social_care')(text_expression, pattern_expression)) }}
{%- endmacro %}

{% macro default__regex_matches(text_expression, pattern_expression) -%}
    regexp_like({{ text_expression }}, {{ pattern_expression }})
{%- endmacro %}

{% macro duckdb__regex_matches(text_expression, pattern_expression) -%}
    regexp_matches({{ text_expression }}, {{ pattern_expression }})
{%- endmacro %}
