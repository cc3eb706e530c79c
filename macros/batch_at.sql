{#- The run's batch marker: when this dbt invocation started, as a timestamp constant. The models rewritten by run
    (stg_messages, int_message_threads, int_messages) store it in batch_at on every row they write, so that the
    rows of the last run can be told apart (unique_in_last_batch, int_messages' re-ranking). -#}
{% macro batch_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
