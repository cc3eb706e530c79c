{#- True when a regular expression (RE2 syntax, inline flags such as (?i) allowed) matches anywhere in the text.
    `known_patterns`: values the pattern expression may take (see known_values); each is matched as a constant
    (compiled once), any other value is compiled row by row. -#}
{% macro regex_matches(text_expression, pattern_expression, known_patterns=[]) -%}
    {%- set matches = adapter.dispatch('regex_matches', 'social_care') -%}
    {%- if known_patterns -%}
        case {{ pattern_expression }}
        {%- for pattern in known_patterns %}
            {%- set constant = "'" ~ (pattern | replace("'", "''")) ~ "'" %}
            when {{ constant }} then {{ matches(text_expression, constant) }}
        {%- endfor %}
            else {{ matches(text_expression, pattern_expression) }}
        end
    {%- else -%}
        {{ matches(text_expression, pattern_expression) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__regex_matches(text_expression, pattern_expression) -%}
    regexp_like({{ text_expression }}, {{ pattern_expression }})
{%- endmacro %}

{% macro duckdb__regex_matches(text_expression, pattern_expression) -%}
    regexp_matches({{ text_expression }}, {{ pattern_expression }})
{%- endmacro %}
