{#- A local wall-clock timestamp (without time zone) of an IANA time zone as a UTC timestamp (without time zone),
    daylight saving included. The inverse of utc_to_local, except around the switches:
    - a wall-clock time that does not exist (the hour skipped when clocks go forward, e.g. 02:30 on 2024-03-10 in
      America/New_York) is read with the offset in force before the switch, i.e. moved forward by the gap:
      02:30 -> 07:30 UTC = 03:30 EDT (ICU's lenient rule; 02:00 -> 07:00 UTC, the same instant as 03:00);
    - a wall-clock time that happens twice (the hour repeated when clocks go back, e.g. 01:30 on 2024-11-03 in
      America/New_York) is its second occurrence, with the offset in force after the switch: 01:30 -> 06:30 UTC
      = 01:30 EST.
    (ICU's "last" rule for both; unit-tested in int_business_intervals.) -#}
{% macro local_to_utc(local_timestamp, time_zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'social_care')(local_timestamp, time_zone)) }}
{%- endmacro %}

{% macro default__local_to_utc(local_timestamp, time_zone) -%}
    convert_timezone({{ time_zone }}, 'UTC', {{ local_timestamp }})
{%- endmacro %}

{#- timezone(zone, timestamp) reads the naive timestamp in that zone (-> timestamptz); timezone('UTC', timestamptz)
    renders that instant as naive UTC. Neither depends on the session's TimeZone setting. -#}
{% macro duckdb__local_to_utc(local_timestamp, time_zone) -%}
    timezone('UTC', timezone({{ time_zone }}, {{ local_timestamp }}))
{%- endmacro %}
