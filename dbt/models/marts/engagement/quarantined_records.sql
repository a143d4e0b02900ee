{{ config(**hourly_incremental_config()) }}

select
    stream,
    source_key,
    line_no,
    reason,
    detail,
    raw_line,
    ingest_hour
from {{ ref('stg_landing__quarantined_records') }}
where {{ in_run_interval('ingest_hour') }}
