-- One row per erasure carried out (include/erasure/audit.py writes it): a keyed hash of the
-- identifier, never its value, and what each place removed.
-- The model owns the table's columns only; it never selects rows (see the .yml).
{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns',
          table_type='iceberg') }}

select
    cast(null as varchar) as request_id,
    cast(null as timestamp(6)) as requested_at,
    cast(null as varchar) as identifier_kind,
    cast(null as varchar) as identifier_hash,
    cast(null as bigint) as profiles,
    cast(null as bigint) as identifiers,
    cast(null as bigint) as shared_identifiers_kept,
    cast(null as bigint) as customer_profiles,
    cast(null as bigint) as ses_suppressions_kept,
    cast(null as bigint) as registered,
    cast(null as bigint) as landing_objects,
    cast(null as bigint) as landing_lines,
    cast(null as bigint) as raw_objects,
    cast(null as bigint) as raw_rows,
    cast(null as bigint) as raw_manifests,
    cast(null as bigint) as warehouse_rows,
    cast(null as varchar) as warehouse_tables,
    cast(null as varchar) as rebuilt_interval_start,
    cast(null as varchar) as rebuilt_interval_end
where 1 = 0
