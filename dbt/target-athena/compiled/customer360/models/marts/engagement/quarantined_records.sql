

select
    stream,
    source_key,
    line_no,
    reason,
    detail,
    raw_line,
    ingest_hour
from "awsdatacatalog"."customer360_staging"."stg_landing__quarantined_records"
where 1 = 1