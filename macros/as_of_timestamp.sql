{#- The moment the marts describe (UTC). var('as_of') when set, else the latest message loaded: never the clock,
    so a re-run over the same data gives the same marts. -#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        (select max(sent_at) from {{ ref('stg_messages') }})
    {%- endif -%}
{%- endmacro %}
