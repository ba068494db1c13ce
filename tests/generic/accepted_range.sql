{#- Fails on every row whose value lies outside [min_value, max_value]. Either
    bound may be left out. Nulls pass: pair it with not_null to forbid them.
    (Inline `if` expressions rather than if-blocks: sqlfluff's indentation
    check misreads if-blocks inside a test block.) -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

{{ exceptions.raise_compiler_error(
    'accepted_range on ' ~ column_name ~ ' needs min_value or max_value'
) if min_value is none and max_value is none else '' }}

select {{ column_name }}
from {{ model }}
where
    false
    {{ 'or ' ~ column_name ~ ' < ' ~ min_value
        if min_value is not none else '' }}
    {{ 'or ' ~ column_name ~ ' > ' ~ max_value
        if max_value is not none else '' }}

{% endtest %}
