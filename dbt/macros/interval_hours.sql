{#-
  Empties the run interval's hours of an hour-partitioned incremental mart before the run writes
  them (its pre-hook: hourly_incremental_config), so an hour that has no rows any more (an erased
  person's only quarantined line) is emptied too: DuckDB's delete+insert and Athena's
  insert_overwrite replace only the hours the new rows hold. DuckDB: a DELETE, in the model's
  transaction. Athena (Hive): the hours' partitions and their S3 data, dropped through dbt-athena's
  adapter as its insert_overwrite drops them (`ingest_hour='YYYY-MM-DD HH:00:00'`); the rendered
  hook is empty there, and without an interval (a full rebuild) nothing is dropped.
-#}
{% macro clear_run_interval(relation) -%}
  {{ return(adapter.dispatch('clear_run_interval', 'customer360')(relation)) }}
{%- endmacro %}

{% macro default__clear_run_interval(relation) -%}
  {%- if is_incremental() and var('c360__interval_start') and var('c360__interval_end') -%}
    {%- set start = modules.datetime.datetime.strptime(var('c360__interval_start'), '%Y-%m-%d %H:%M:%S') -%}
    {%- set end = modules.datetime.datetime.strptime(var('c360__interval_end'), '%Y-%m-%d %H:%M:%S') -%}
    {%- set hours = ((end - start).total_seconds() // 3600) | int -%}
    {%- set partitions = [] -%}
    {%- for n in range(hours) -%}
      {%- do partitions.append("ingest_hour='" ~ (start + modules.datetime.timedelta(hours=n)) ~ "'") -%}
    {%- endfor -%}
    {%- do adapter.clean_up_partitions(relation, partitions) -%}
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__clear_run_interval(relation) -%}
  {%- if is_incremental() -%}
    delete from {{ relation }} where {{ in_run_interval('ingest_hour') }}
  {%- endif -%}
{%- endmacro %}
