-- The sync's log: one row per object sent or failed (include/sync/engine.py appends to it).
-- The model owns the table's columns only; it never selects rows (see the .yml).
select
    cast(null as varchar) as run_id,
    cast(null as varchar) as object_type,
    cast(null as varchar) as object_key,
    cast(null as varchar) as content_hash,
    cast(null as varchar) as status,
    cast(null as varchar) as error_code,
    cast(null as varchar) as error_message,
    cast(null as timestamp(6)) as logged_at,
    cast(null as varchar) as operation,  -- noqa: RF04
    cast(null as integer) as attempt
where 1 = 0
