-- The sync's runs: one row per run of an object type (include/sync/engine.py writes it).
-- The model owns the table's columns only; it never selects rows (see the .yml).
select
    cast(null as varchar) as run_id,
    cast(null as varchar) as object_type,
    cast(null as timestamp(6)) as started_at,
    cast(null as timestamp(6)) as finished_at,
    cast(null as bigint) as considered,
    cast(null as bigint) as sent,
    cast(null as bigint) as unchanged,
    cast(null as bigint) as failed,
    cast(null as bigint) as dead_lettered
where 1 = 0
