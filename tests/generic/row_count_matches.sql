{#- Fails when the model does not hold as many rows as `compare_model`
    (optionally filtered by `compare_where`). Guards a model that must keep
    one row per row of its parent. -#}
{% test row_count_matches(model, compare_model, compare_where='true') %}

with

model_rows as (
    select count(*) as rows_found from {{ model }}
),

compared_rows as (
    select count(*) as rows_expected
    from {{ compare_model }}
    where {{ compare_where }}
)

select
    model_rows.rows_found,
    compared_rows.rows_expected
from model_rows
cross join compared_rows
where model_rows.rows_found != compared_rows.rows_expected

{% endtest %}
