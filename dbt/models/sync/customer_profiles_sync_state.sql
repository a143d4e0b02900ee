-- The sync's state: one row per object pushed or tried (include/sync/engine.py writes it).
-- The model owns the table's columns only; it never selects rows (see the .yml).
select
    cast(null as varchar) as object_type,
    cast(null as varchar) as object_key,
    cast(null as varchar) as content_hash,
    cast(null as varchar) as pushed_run_id,
    cast(null as varchar) as profile_id,
    cast(null as varchar) as unique_key,
    cast(null as timestamp(6)) as pushed_at,
    cast(null as varchar) as failed_hash,
    cast(null as integer) as attempts,
    cast(null as boolean) as dead_lettered
where 1 = 0
