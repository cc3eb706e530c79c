{#- An account's IANA time zone: the accounts seed's, else the default_timezone var (for accounts not in the seed). -#}
{% macro account_timezone(timezone_column) -%}
    coalesce({{ timezone_column }}, '{{ var("default_timezone") }}')
{%- endmacro %}
