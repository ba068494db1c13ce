{#- Fails when the model does not hold exactly `expected` rows. -#}
{% test row_count_equals(model, expected) %}

select rows_found
from (select count(*) as rows_found from {{ model }}) as counted
where rows_found != {{ expected }}

{% endtest %}
