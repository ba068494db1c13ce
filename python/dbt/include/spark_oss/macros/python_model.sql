{#-
    Python models on open-source Spark.

    dbt-spark's table and incremental materializations call create_table_as;
    for SQL this hands over to dbt-spark unchanged. For Python it appends to
    the model's code the call that writes its DataFrame as the table
    (dbt.adapters.spark_oss.model_output): the code runs in the dbt process
    (see python_submissions.py), so it can import the adapter. It replaces
    dbt-spark's Databricks-notebook epilogue, which writes Delta by default.

    Contracts: dbt refuses `contract: {enforced: true}` on a Python model
    when it parses the project ("Language Error: Expected 'sql'"). Set
    `meta: {enforce_contract: true}` instead: the model's DataFrame must then
    have exactly the YAML columns, with their data_type, or nothing is
    written, which is what an enforced contract guarantees for SQL.
-#}
{% macro spark_oss__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {%- if language == 'python' -%}
    {{ spark_oss__py_write_table(compiled_code, relation) }}
  {%- else -%}
    {{ spark__create_table_as(temporary, relation, compiled_code, language) }}
  {%- endif -%}
{%- endmacro %}


{% macro spark_oss__py_write_table(compiled_code, relation) -%}
  {%- set meta = config.get('meta') or {} -%}
  {%- if meta.get('enforce_contract') in [true, 'true', 'True'] -%}
    {%- set contract = [] -%}
    {%- for column in model['columns'].values() -%}
      {%- do contract.append([column['name'], column['data_type']]) -%}
    {%- endfor -%}
  {%- else -%}
    {%- set contract = none -%}
  {%- endif -%}
  {#- As dbt-spark's location_clause() places a SQL model's table. -#}
  {%- set location_root = config.get('location_root') -%}
  {%- set location = (location_root ~ '/' ~ relation.identifier)
      if location_root else none -%}
{{ compiled_code }}


# --- spark_oss: call model() and write what it returns as the table ---
from dbt.adapters.spark_oss.model_output import write_model_output

write_model_output(
    model(dbtObj(spark.table), spark),
    spark,
    relation={{ relation | string | tojson }},
    file_format={{ config.get('file_format', 'parquet') | tojson }},
    contract={{ (contract | tojson) if contract is not none else 'None' }},
    location={{ (location | tojson) if location is not none else 'None' }},
)
{%- endmacro %}
