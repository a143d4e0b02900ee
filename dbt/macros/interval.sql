{#- Restricts a model to the run's data interval (vars c360__interval_start / c360__interval_end). -#}
{% macro in_run_interval(column) -%}
  {%- if var('c360__interval_start') and var('c360__interval_end') -%}
    {{ column }} >= cast('{{ var("c360__interval_start") }}' as timestamp)
    and {{ column }} < cast('{{ var("c360__interval_end") }}' as timestamp)
  {%- else -%}
    1 = 1
  {%- endif -%}
{%- endmacro %}

{#- Incremental settings shared by the hour-partitioned marts: a run replaces its hours, those
    it leaves empty included (clear_run_interval). -#}
{% macro hourly_incremental_config() -%}
  {%- if target.type == 'athena' -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite',
               'table_type': 'hive', 'format': 'parquet', 'partitioned_by': ['ingest_hour'],
               'on_schema_change': 'append_new_columns', 'pre_hook': '{{ clear_run_interval(this) }}'}) }}
  {%- else -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': 'ingest_hour', 'on_schema_change': 'append_new_columns',
               'pre_hook': '{{ clear_run_interval(this) }}'}) }}
  {%- endif -%}
{%- endmacro %}

{#- Ids of ``relation`` already delivered in the lookback window before the run's interval:
    re-deliveries that arrive in a later hour collapse into the first delivery. -#}
{% macro delivered_before_interval(relation, id_column) -%}
  {%- if var('c360__interval_start') -%}
    select {{ id_column }} from {{ relation }}
    where
        ingest_hour < cast('{{ var("c360__interval_start") }}' as timestamp)
        and ingest_hour >= cast('{{ var("c360__interval_start") }}' as timestamp)
        - interval '{{ var("c360__redelivery_lookback_hours") }}' hour
  {%- else -%}
    select {{ id_column }} from {{ relation }} where 1 = 0
  {%- endif -%}
{%- endmacro %}

{#- Rows ingested before the run's interval ends: what a state-of-the-world model may see, so
    a backfilled hour sees exactly what it saw when it first ran. -#}
{% macro ingested_by_interval_end(column) -%}
  {%- if var('c360__interval_end') -%}
    {{ column }} < cast('{{ var("c360__interval_end") }}' as timestamp)
  {%- else -%}
    1 = 1
  {%- endif -%}
{%- endmacro %}

{#- Incremental settings of append-only history tables keyed by ``unique_key``: re-running
    an interval replaces its rows instead of appending them twice. -#}
{% macro history_incremental_config(unique_key) -%}
  {%- if target.type == 'athena' -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'merge', 'table_type': 'iceberg',
               'unique_key': unique_key, 'on_schema_change': 'append_new_columns'}) }}
  {%- else -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
               'unique_key': unique_key, 'on_schema_change': 'append_new_columns'}) }}
  {%- endif -%}
{%- endmacro %}
