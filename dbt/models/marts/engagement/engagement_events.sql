{{ config(**hourly_incremental_config()) }}

with

deduplicated as (

    select
        *,
        row_number() over (partition by event_id order by ingest_hour, source_key, line_no) as delivery_rank
    from {{ ref('int_engagement_events_unioned') }}

),

delivered_earlier as (

    {#- The interval check comes first: is_incremental() looks the table up in the catalog. #}
    {% if var('c360__interval_start') and is_incremental() -%}
        {{ delivered_before_interval(this, 'event_id') }}
    {%- else -%}
        select event_id
        from deduplicated
        where 1 = 0
    {%- endif %}

)

select
    event_id,
    account_id,
    organization_id,
    sending_id,
    sending_address,
    destination_address,
    channel,
    type,
    status,
    status_code,
    status_message,
    raw_status,
    timestamp_ms as "timestamp",
    message_id,
    tags,
    channel_data,
    iso_country_code,
    raw_event,
    stream,
    ingest_hour
from deduplicated
where
    delivery_rank = 1
    and event_id not in (select delivered_earlier.event_id from delivered_earlier)
