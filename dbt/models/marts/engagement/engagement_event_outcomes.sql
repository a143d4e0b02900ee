{{ config(materialized='view') }}

-- Each canonical event with its outcome: the AWS samples' status roll-ups in one place
-- (docs/canonical-events.md "Status roll-ups"), used by the per-type views and the marts.
with

events as (

    select * from {{ ref('engagement_events') }}

)

select
    *,
    {{ epoch_ms_to_timestamp('"timestamp"') }} as event_at,
    case
        when channel = 'email'
            then case type
                when 'Send' then 'sent'
                when 'Delivery' then 'delivered'
                when 'Open' then 'opened'
                when 'Click' then 'clicked'
                when 'Bounce' then 'bounced'
                when 'Complaint' then 'complained'
                when 'Reject' then 'rejected'
                when 'DeliveryDelay' then 'delayed'
                when 'Rendering Failure' then 'failed'
                when 'Subscription' then 'unsubscribed'
            end
        when channel = 'whatsapp' and type = 'message' then 'inbound'
        when channel = 'whatsapp' then status
        when type = 'INBOUND' then 'inbound'
        when status like '%\_DELIVERED' escape '\' or status like '%\_SUCCESSFUL' escape '\' then 'delivered'
        when status in ('VOICE_COMPLETED', 'VOICE_ANSWERED') then 'delivered'
        when status like '%\_QUEUED' escape '\' or status like '%\_PENDING' escape '\' then 'pending'
        when status in ('VOICE_INITIATED', 'VOICE_RINGING') then 'pending'
        when split_part(status, '_', 1) in ('TEXT', 'MEDIA', 'VOICE') then 'failed'
    end as outcome,
    -- Bounce kind: only a Permanent bounce is hard (and suppresses the address).
    case when type = 'Bounce' then case when status_code = 'Permanent' then 'hard' else 'soft' end end
        as bounce_kind,
    {{ map_get('tags', "'campaign'") }} as campaign
from events
