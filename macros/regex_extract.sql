{#- Capture group `group` of the first match of a regular expression (RE2 syntax), '' when there is none.
    `known_patterns`: as in regex_matches. -#}
{% macro regex_extract(text_expression, pattern_expression, group=0, known_patterns=[]) -%}
    {%- set extract = adapter.dispatch('regex_extract', 'social_care') -%}
    {%- if known_patterns -%}
        case {{ pattern_expression }}
        {%- for pattern in known_patterns %}
            {%- set constant = "'" ~ (pattern | replace("'", "''")) ~ "'" %}
            when {{ constant }} then {{ extract(text_expression, constant, group) }}
        {%- endfor %}
            else {{ extract(text_expression, pattern_expression, group) }}
        end
    {%- else -%}
        {{ extract(text_expression, pattern_expression, group) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__regex_extract(text_expression, pattern_expression, group) -%}
    coalesce(regexp_substr({{ text_expression }}, {{ pattern_expression }}, 1, 1, 'e', {{ group }}), '')
{%- endmacro %}

{% macro duckdb__regex_extract(text_expression, pattern_expression, group) -%}
    regexp_extract({{ text_expression }}, {{ pattern_expression }}, {{ group }})
{%- endmacro %}
