{#-
  Declares the raw zone (s3://<raw bucket>/<stream>/year=/month=/day=/hour=/*.json.gz) as
  relations in the raw schema, so sources are ordinary tables on both engines:
  DuckDB views over read_json locally, Athena external tables with partition projection in
  production (no partitions to register after each landing).
  Run once per deployment and after adding a stream: `dbt run-operation create_raw_relations`.
-#}
{% macro create_raw_relations() %}
  {% set schema = env_var('C360_RAW_SCHEMA', 'raw') %}
  {% set bucket = env_var('C360_RAW_BUCKET', 'c360-raw') %}
  {% do run_query(adapter.dispatch('create_raw_schema', 'customer360')(schema)) %}
  {% for stream in var('c360__raw_streams') %}
    {% do run_query(adapter.dispatch('raw_relation_ddl', 'customer360')(
        schema ~ '.' ~ stream, 's3://' ~ bucket ~ '/' ~ stream, var('c360__raw_record_columns'), none)) %}
  {% endfor %}
  {% do run_query(adapter.dispatch('raw_relation_ddl', 'customer360')(
      schema ~ '.quarantine', 's3://' ~ bucket ~ '/_quarantine', var('c360__quarantine_columns'), var('c360__raw_streams') | list)) %}
  {% do log('raw relations ready in schema ' ~ schema, info=true) %}
{% endmacro %}

{% macro default__create_raw_schema(schema) -%}
  create schema if not exists {{ schema }}
{%- endmacro %}

{% macro athena__create_raw_schema(schema) -%}
  create database if not exists {{ schema }}
{%- endmacro %}

{#- streams: when set, the location has a stream=<name> level above the hour partitions. -#}
{% macro duckdb__raw_relation_ddl(relation, location, columns, streams) -%}
  {%- set levels = '*/*/*/*/*/' if streams else '*/*/*/*/' -%}
  create or replace view {{ relation }} as
  select * from read_json('{{ location }}/{{ levels }}*.json.gz',
    format = 'newline_delimited', hive_partitioning = true,
    hive_types = {'year': 'INTEGER', 'month': 'INTEGER', 'day': 'INTEGER', 'hour': 'INTEGER'},
    columns = { {%- for name, type in columns.items() %}'{{ name }}': '{{ type | upper }}'{{ ', ' if not loop.last }}{% endfor -%} })
{%- endmacro %}

{% macro athena__raw_relation_ddl(relation, location, columns, streams) -%}
  {%- set stream_level = 'stream=${stream}/' if streams else '' -%}
  create external table if not exists {{ relation }} (
    {%- for name, type in columns.items() %}
    `{{ name }}` {{ 'string' if type == 'varchar' else type }}{{ ',' if not loop.last }}
    {%- endfor %}
  )
  partitioned by ({{ 'stream string, ' if streams }}year int, month int, day int, hour int)
  row format serde 'org.openx.data.jsonserde.JsonSerDe'
  location '{{ location }}/'
  tblproperties (
    'projection.enabled' = 'true',
    {%- if streams %}
    'projection.stream.type' = 'enum',
    'projection.stream.values' = '{{ streams | join(",") }}',
    {%- endif %}
    'projection.year.type' = 'integer', 'projection.year.range' = '2020,2100',
    'projection.month.type' = 'integer', 'projection.month.range' = '1,12', 'projection.month.digits' = '2',
    'projection.day.type' = 'integer', 'projection.day.range' = '1,31', 'projection.day.digits' = '2',
    'projection.hour.type' = 'integer', 'projection.hour.range' = '0,23', 'projection.hour.digits' = '2',
    'storage.location.template' = '{{ location }}/{{ stream_level }}year=${year}/month=${month}/day=${day}/hour=${hour}/'
  )
{%- endmacro %}
