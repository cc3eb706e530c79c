{#- Post-hook of int_conversations. An incremental run recomputes only the customers with new messages, but as_of
    has moved for every other conversation too: the columns that move with as_of alone
    (conversation_status_columns) are re-evaluated in place, on the rows where they changed. -#}
{% macro refresh_conversation_status() %}
    {%- if is_incremental() -%}
        {%- set columns = conversation_status_columns('', as_of_timestamp()).items() -%}
        update {{ this }}
        set
        {%- for name, expression in columns %}
            {{ name }} = {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
        where
        {%- for name, expression in columns %}
            {{ name }} is distinct from ({{ expression }}){{ " or" if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{% endmacro %}
