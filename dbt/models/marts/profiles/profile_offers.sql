-- Offers each profile received and whether they viewed them (the AWS offer write-back sample's
-- MarketingAssignedOffers): an offer is a campaign in var c360__offer_campaigns sent to one of
-- the profile's addresses; it is viewed when that message was opened, clicked or read, or
-- when the profile's web-shop account viewed the offer's page (clickstream offer_view).
with

received as (

    select
        ids.profile_id,
        events.campaign as offer_name,
        min(events.event_at) as first_received_at,
        max(case when events.outcome in ('opened', 'clicked', 'read') then 1 else 0 end) as viewed_in_message
    from {{ ref('int_engagement_addresses_extracted') }} as events
    inner join {{ ref('int_profile_ids_assigned') }} as ids
        on ids.record_key = 'engagement:' || events.address_kind || ':' || events.address
    where
        events.campaign in {{ sql_list(var('c360__offer_campaigns')) }}
        and {{ ingested_by_interval_end('events.ingest_hour') }}
    group by ids.profile_id, events.campaign

),

viewed_on_web as (

    select distinct
        ids.profile_id,
        clicks.offer_name
    from {{ ref('stg_source_systems__clickstream_events') }} as clicks
    -- A signed-in user_id is the web shop's account id (customers stream, source_system web).
    inner join {{ ref('int_profile_ids_assigned') }} as ids on ids.record_key = 'web:web:' || clicks.user_id
    where
        clicks.event_type = 'offer_view'
        and clicks.offer_name is not null
        and {{ ingested_by_interval_end('clicks.ingest_hour') }}

)

select
    coalesce(received.profile_id, viewed_on_web.profile_id) as profile_id,
    coalesce(received.offer_name, viewed_on_web.offer_name) as offer_name,
    received.first_received_at,
    coalesce(received.viewed_in_message = 1, false) or viewed_on_web.profile_id is not null as viewed
from received
full outer join viewed_on_web
    on received.profile_id = viewed_on_web.profile_id and received.offer_name = viewed_on_web.offer_name
