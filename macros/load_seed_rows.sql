{#-
    Loads a seed's rows so that a rebuild replaces them, also when the seed
    table has a location.

    dbt-spark (re)builds a seed as: drop table, create table, insert into.
    When the table has a location (RETAIL_LOCATION_ROOT, on every target but
    `local`, and always on EMR), Spark keeps its files when the table is
    dropped, and the insert then adds every row a second time on each run
    (an open dbt-spark issue: dbt-labs/dbt-adapters#514). Here the first batch
    is written with `insert overwrite`, which replaces the folder's files;
    the following batches are added to it. A seed without rows writes
    nothing, so its old files would stay (none of this project's seeds is
    empty).
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- set placeholders = [] -%}
    {%- for column in agate_table.column_names -%}
        {%- set type = column_types.get(
            column, adapter.convert_type(agate_table, loop.index0)
        ) -%}
        {%- do placeholders.append(
            'cast(' ~ get_binding_char() ~ ' as ' ~ type ~ ')'
        ) -%}
    {%- endfor -%}
    {%- set row_sql = '(' ~ placeholders | join(', ') ~ ')' -%}

    {%- set statements = [] -%}
    {%- for rows in agate_table.rows | batch(get_batch_size()) -%}
        {%- set verb = 'insert overwrite table' if loop.first
            else 'insert into table' -%}
        {%- set bindings = [] -%}
        {%- for row in rows -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {%- set sql = verb ~ ' ' ~ this.render() ~ ' values '
            ~ ([row_sql] * (rows | length)) | join(', ') -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}

    {#- The first statement is what dbt writes to the compiled seed file. -#}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}
