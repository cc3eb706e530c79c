{#- Mean of a double with `decimals` significant decimals (e.g. VADER scores: 4), summed as a decimal: the result
    does not depend on the order of the rows (a float sum does, in its last bits), so a mart built incrementally
    equals one built at once. -#}
{% macro exact_mean(expression, decimals=4) -%}
    cast(avg(cast({{ expression }} as decimal(18, {{ decimals }}))) as double)
{%- endmacro %}
