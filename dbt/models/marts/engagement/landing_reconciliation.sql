{{ config(**hourly_incremental_config()) }}

-- Per stream and ingest hour: what the warehouse read from the raw zone and what it kept
-- (source-system streams have no events: their new_events and canonical_events are 0).
-- The quality gate compares raw_records and quarantined_records with the landing
-- manifests, and new_events with canonical_events.
with

raw_records as (

    {% for stream, model in var('c360__raw_streams').items() %}
        select
            '{{ stream }}' as stream,
            ingest_hour,
            count(*) as raw_records
        from {{ ref(model) }}
        where {{ in_run_interval('ingest_hour') }}
        group by ingest_hour
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

identified as (

    select
        stream,
        ingest_hour,
        event_id
    from {{ ref('int_engagement_events_unioned') }}
    union all
    select
        'conversations' as stream,
        ingest_hour,
        conversation_message_id as event_id
    from {{ ref('int_conversation_messages_identified') }}

),

delivered_earlier as (

    {{ delivered_before_interval(ref('engagement_events'), 'event_id') }}
    union all
    {{ delivered_before_interval(ref('conversation_messages'), 'conversation_message_id') }}

),

first_hours as (

    select
        event_id,
        min(ingest_hour) as first_hour
    from identified
    group by event_id

),

events as (

    -- new_events: ids whose first delivery is in this hour, so the canonical table must
    -- hold exactly these; re-deliveries within this hour or from earlier ones are not new.
    select
        identified.stream,
        identified.ingest_hour,
        count(*) as events,
        count(distinct identified.event_id) as distinct_events,
        count(distinct case
            when first_hours.first_hour = identified.ingest_hour and delivered_earlier.event_id is null
                then identified.event_id
        end) as new_events
    from identified
    inner join first_hours on identified.event_id = first_hours.event_id
    left join delivered_earlier on identified.event_id = delivered_earlier.event_id
    group by identified.stream, identified.ingest_hour

),

canonical as (

    select
        stream,
        ingest_hour,
        count(*) as canonical_events
    from {{ ref('engagement_events') }}
    where {{ in_run_interval('ingest_hour') }}
    group by stream, ingest_hour
    union all
    select
        stream,
        ingest_hour,
        count(*) as canonical_events
    from {{ ref('conversation_messages') }}
    where {{ in_run_interval('ingest_hour') }}
    group by stream, ingest_hour

),

quarantined as (

    select
        stream,
        ingest_hour,
        count(*) as quarantined_records
    from {{ ref('quarantined_records') }}
    where {{ in_run_interval('ingest_hour') }}
    group by stream, ingest_hour

),

stream_hours as (

    select
        stream,
        ingest_hour
    from raw_records
    union
    select
        stream,
        ingest_hour
    from quarantined

)

select
    stream_hours.stream,
    coalesce(raw_records.raw_records, 0) as raw_records,
    coalesce(events.events, 0) as events,
    coalesce(events.distinct_events, 0) as distinct_events,
    coalesce(events.new_events, 0) as new_events,
    coalesce(canonical.canonical_events, 0) as canonical_events,
    coalesce(quarantined.quarantined_records, 0) as quarantined_records,
    stream_hours.ingest_hour
from stream_hours
left join raw_records
    on stream_hours.stream = raw_records.stream and stream_hours.ingest_hour = raw_records.ingest_hour
left join events
    on stream_hours.stream = events.stream and stream_hours.ingest_hour = events.ingest_hour
left join canonical
    on stream_hours.stream = canonical.stream and stream_hours.ingest_hour = canonical.ingest_hour
left join quarantined
    on stream_hours.stream = quarantined.stream and stream_hours.ingest_hour = quarantined.ingest_hour
