-- Each engagement event with the customer's address on it: every recipient of an outbound
-- message, the sender of an inbound one. What ties engagement to profiles.
with

events as (

    select * from {{ ref('engagement_event_outcomes') }}

)

select
    events.event_id,
    events.message_id,
    events.channel,
    events.outcome,
    events.campaign,
    events.event_at,
    events.ingest_hour,
    case when events.channel = 'email' then 'email' else 'phone' end as address_kind,
    case when events.channel = 'email' then lower(recipient.address) else recipient.address end as address
from events
cross join unnest(events.destination_address) as recipient (address)
where events.outcome is distinct from 'inbound'
union all
select
    event_id,
    message_id,
    channel,
    outcome,
    campaign,
    event_at,
    ingest_hour,
    'phone' as address_kind,
    sending_address as address
from events
where outcome = 'inbound'
