-- One row per email recipient with their delivery counts, whoever they are (per-profile
-- engagement, what the sync pushes, is in unified_profiles).
with

recipient_events as (

    select
        lower(recipient.email_address) as email_address,
        events.type,
        events."timestamp"
    from {{ ref('engagement_events') }} as events
    cross join unnest(events.destination_address) as recipient (email_address)
    where events.channel = 'email'

)

select
    email_address,
    cast(count_if(type = 'Send') as bigint) as sends,
    cast(count_if(type = 'Delivery') as bigint) as deliveries,
    cast(count_if(type = 'Open') as bigint) as opens,
    cast(count_if(type = 'Click') as bigint) as clicks,
    cast(count_if(type = 'Bounce') as bigint) as bounces,
    cast(count_if(type = 'Complaint') as bigint) as complaints,
    min("timestamp") as first_event_ms,
    max("timestamp") as last_event_ms
from recipient_events
group by email_address
