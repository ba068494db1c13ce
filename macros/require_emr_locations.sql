{#-
    Stops a run on the `emr` target before anything is created when the S3
    locations are not set.

    Without RETAIL_LOCATION_ROOT the tables would land in the cluster's
    default warehouse (HDFS on EMR), which is lost with the cluster; without
    RETAIL_RAW_LOCATION the raw table would be looked for there too.
-#}
{% macro require_emr_locations() %}
    {%- if execute and target.name == 'emr' -%}
        {%- set missing = [] -%}
        {%- for name in ['RETAIL_LOCATION_ROOT', 'RETAIL_RAW_LOCATION'] -%}
            {%- if not env_var(name, '') -%}
                {%- do missing.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                'The emr target needs ' ~ missing | join(' and ')
                ~ ' (S3 prefixes such as s3://bucket/retail/tables and'
                ~ ' s3://bucket/retail/raw/online_retail/invoice_lines);'
                ~ ' see docs/emr.md.'
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
