{#- The columns of a conversation that move with as_of alone (docs/definitions.md: response status, resolution,
    first-contact resolution), as a dict (in column order) of name -> SQL expression over the columns of int_conversations prefixed by
    `prefix` (e.g. 'resolved.'), at the instant `as_of` (an SQL expression). One definition for two uses:
    int_conversations selects them, and its post-hook (refresh_conversation_status) re-evaluates them for every
    stored conversation when as_of moves, so that an incremental run recomputes only the customers with new
    messages. The inputs (first and last human reply, next contact, the business seconds a resolution would have)
    do not depend on as_of. -#}
{% macro conversation_status_columns(prefix, as_of) %}
    {%- set quiet_seconds = var('resolution_quiet_hours') * 3600 -%}
    {%- set window_seconds = var('response_window_hours') * 3600 -%}
    {%- set fcr_seconds = var('fcr_window_days') * 86400 -%}
    {%- set p = prefix -%}
    {%- set resolution_status -%}
        case
            when not {{ p }}ends_with_human_reply then 'open'
            when
                {{ p }}next_customer_contact_at is not null
                and {{ seconds_between(p ~ 'last_human_reply_at', p ~ 'next_customer_contact_at') }}
                < {{ quiet_seconds }}
                then 'customer_returned'
            when {{ seconds_between(p ~ 'last_human_reply_at', as_of) }} >= {{ quiet_seconds }} then 'resolved'
            else 'pending'
        end
    {%- endset -%}
    {%- set is_resolved = '(' ~ resolution_status ~ ") = 'resolved'" -%}
    {%- set response_status -%}
        case
            when {{ p }}initiated_by != 'customer' then 'not_applicable'
            when
                {{ p }}first_human_reply_at is not null
                and {{ seconds_between(p ~ 'first_customer_message_at', p ~ 'first_human_reply_at') }}
                <= {{ window_seconds }}
                then 'answered'
            when {{ seconds_between(p ~ 'first_customer_message_at', as_of) }} < {{ window_seconds }} then 'pending'
            else 'unanswered'
        end
    {%- endset -%}
    {%- set is_first_contact_resolution -%}
        case
            when not ({{ is_resolved }}) or {{ p }}initiated_by != 'customer' then null
            when {{ seconds_between(p ~ 'last_human_reply_at', as_of) }} < {{ fcr_seconds }} then null
            else
                {{ p }}customer_turns = 1
                and (
                    {{ p }}next_customer_contact_at is null
                    or {{ seconds_between(p ~ 'last_human_reply_at', p ~ 'next_customer_contact_at') }}
                    > {{ fcr_seconds }}
                )
        end
    {%- endset -%}
    {{ return({
        'response_status': response_status,
        'resolution_status': resolution_status,
        'resolved_at': 'case when ' ~ is_resolved ~ ' then ' ~ p ~ 'last_human_reply_at end',
        'resolution_seconds': 'case when ' ~ is_resolved ~ ' then '
            ~ seconds_between(p ~ 'first_customer_message_at', p ~ 'last_human_reply_at') ~ ' end',
        'resolution_business_seconds': 'case when ' ~ is_resolved ~ ' then '
            ~ p ~ 'resolution_business_seconds_if_resolved end',
        'elapsed_handle_seconds': 'case when ' ~ is_resolved ~ ' then '
            ~ seconds_between(p ~ 'first_human_reply_at', p ~ 'last_human_reply_at') ~ ' end',
        'elapsed_handle_business_seconds': 'case when ' ~ is_resolved ~ ' then '
            ~ p ~ 'elapsed_handle_business_seconds_if_resolved end',
        'is_first_contact_resolution': is_first_contact_resolution,
        'is_one_touch_resolution': 'case when ' ~ is_resolved ~ ' then ' ~ p ~ 'human_reply_count = 1 end',
    }) }}
{% endmacro %}
