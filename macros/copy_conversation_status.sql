{#- Post-hook of the marts that copy int_conversations' status columns: after an incremental run, take from
    int_conversations (already refreshed, see refresh_conversation_status) the values that differ. A MERGE: the
    standard form of an update from another table (DuckDB, Snowflake, Spark on Delta, Trino on Iceberg). -#}
{% macro copy_conversation_status(columns) %}
    {%- if is_incremental() -%}
        merge into {{ this }} as target
        using {{ ref('int_conversations') }} as fresh
            on target.conversation_id = fresh.conversation_id
        when matched and (
        {%- for name in columns %}
            target.{{ name }} is distinct from fresh.{{ name }}{{ " or" if not loop.last }}
        {%- endfor %}
        ) then update set
        {%- for name in columns %}
            {{ name }} = fresh.{{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{% endmacro %}
