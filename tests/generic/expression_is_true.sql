{#- Fails on every row for which the SQL expression is not true (false or
    null). Use it for rules between columns of one row. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
