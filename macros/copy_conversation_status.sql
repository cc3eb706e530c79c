{#- Post-hook of the marts that copy int_conversations' status columns: after an incremental run, take from
    int_conversations (already refreshed, see refresh_conversation_status) the values that differ. -#}
{% macro copy_conversation_status(columns) %}
    {%- if is_incremental() -%}
        update {{ this }} as target
        set
        {%- for name in columns %}
            {{ name }} = fresh.{{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ ref('int_conversations') }} as fresh
        where
            target.conversation_id = fresh.conversation_id
            and (
            {%- for name in columns %}
                target.{{ name }} is distinct from fresh.{{ name }}{{ " or" if not loop.last }}
            {%- endfor %}
            )
    {%- endif -%}
{% endmacro %}
