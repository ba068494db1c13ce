{#-
    Registers the raw invoice lines in the catalog, before any model runs.

    The loader (python/retail_rfm) writes the raw table as Parquet files; dbt
    does not create it. This macro declares it as an external Parquet table
    over those files, the way the Glue catalog registers an S3 prefix on EMR:
    the same statements serve a local folder and an s3:// prefix.

    Where the files are:
    - the environment variable RETAIL_RAW_LOCATION, when set (EMR: an S3
      prefix such as s3://bucket/retail/raw/online_retail/invoice_lines);
    - otherwise raw/online_retail/invoice_lines beside the warehouse folder of
      the running Spark, which is where the loader writes by default
      ($RETAIL_LAKE_DIR/raw/online_retail/invoice_lines).

    It stops the run when the table holds no rows, so that an unloaded or
    misplaced raw table never passes as an empty but green build.
-#}
{% macro register_raw_invoice_lines() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}

    {%- set relation = source('online_retail', 'invoice_lines') -%}
    {%- set location = raw_invoice_lines_location() -%}

    {% do run_query('create schema if not exists ' ~ relation.schema) %}
    {% call statement('register_raw_invoice_lines') %}
        create table if not exists {{ relation }} (
            InvoiceNo string,
            StockCode string,
            Description string,
            Quantity string,
            InvoiceDate string,
            UnitPrice string,
            CustomerID string,
            Country string,
            _source_file string,
            _source_row_number bigint,
            _loaded_at timestamp
        )
        using parquet
        location '{{ location }}'
    {% endcall %}
    {#- A table registered earlier may point elsewhere: point it here. -#}
    {% do run_query(
        'alter table ' ~ relation ~ " set location '" ~ location ~ "'"
    ) %}
    {% do run_query('refresh table ' ~ relation) %}

    {%- set rows = run_query('select count(*) from ' ~ relation).columns[0].values()[0] -%}
    {%- if rows == 0 -%}
        {{ exceptions.raise_compiler_error(
            'The raw table ' ~ relation ~ ' at ' ~ location ~ ' holds no rows.'
            ~ ' Load the data first: `retail-rfm load` (see README).'
        ) }}
    {%- endif -%}
    {{ log('Raw invoice lines: ' ~ rows ~ ' rows in ' ~ relation
           ~ ' at ' ~ location, info=true) }}
    {{ return('') }}
{% endmacro %}


{% macro raw_invoice_lines_location() %}
    {%- set configured = env_var('RETAIL_RAW_LOCATION', '') -%}
    {%- if configured -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- set warehouse = run_query('set spark.sql.warehouse.dir')
        .columns[1].values()[0] -%}
    {%- set lake = warehouse.rstrip('/').rsplit('/', 1)[0] -%}
    {{ return(lake ~ '/raw/online_retail/invoice_lines') }}
{% endmacro %}
