select
    stream,
    source_key,
    line_no,
    reason,
    detail,
    raw_line,
    {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour
from {{ source('landing', 'quarantine') }}
