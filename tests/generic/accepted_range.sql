{#- Fails on every row whose value lies outside [min_value, max_value]. Either
    bound may be left out. Nulls pass: pair it with not_null to forbid them. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

select {{ column_name }}
from {{ model }}
where
    {%- if min_value is none and max_value is none %}
    {{ exceptions.raise_compiler_error(
        'accepted_range on ' ~ column_name ~ ' needs min_value or max_value'
    ) }}
    {%- endif %}
    false
    {%- if min_value is not none %}
    or {{ column_name }} < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or {{ column_name }} > {{ max_value }}
    {%- endif %}

{% endtest %}
