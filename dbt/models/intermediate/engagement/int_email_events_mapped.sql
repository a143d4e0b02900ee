-- SES records in the canonical event shape (docs/canonical-events.md, SES column).
select
    'ses' as stream,
    account_id,
    organization_id,
    source_arn as sending_id,
    source_address as sending_address,
    destination_addresses as destination_address,
    'email' as channel,
    event_type as type,
    event_type as status,
    status_code,
    status_message,
    raw_status,
    event_timestamp_ms as timestamp_ms,
    message_id,
    tags,
    {{ map_without_nulls([('subject', 'subject')]) }} as channel_data,
    cast(null as varchar) as iso_country_code,
    raw_event,
    source_key,
    line_no,
    ingest_hour
from {{ ref('stg_ses__events') }}
where {{ in_run_interval('ingest_hour') }}
