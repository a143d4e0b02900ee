select
    stream,
    source_key,
    line_no,
    reason,
    detail,
    raw_line,
    date_add('hour', cast(hour as integer),
    cast(date_parse(format('%04d-%02d-%02d', cast(year as integer), cast(month as integer),
      cast(day as integer)), '%Y-%m-%d') as timestamp)) as ingest_hour
from "awsdatacatalog"."raw"."quarantine"