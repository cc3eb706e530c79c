{#- Post-hook of the incremental marts with observed_seconds (first customer message to as_of): an incremental
    run moves as_of for every row, not only for the rows it recomputes. -#}
{% macro refresh_observed_seconds() %}
    {%- if is_incremental() -%}
        update {{ this }}
        set observed_seconds = {{ seconds_between('first_customer_message_at', as_of_timestamp()) }}
    {%- endif -%}
{% endmacro %}
