-- Per channel: messages sent, delivered and engaged with (email opened or clicked,
-- WhatsApp read). SMS and voice report no engagement, so theirs is null.
with

messages as (

    select
        channel,
        message_id,
        max(case when outcome in ('sent', 'delivered', 'pending', 'failed', 'bounced', 'rejected') then 1 end)
            as was_sent,
        max(case when outcome = 'delivered' then 1 end) as was_delivered,
        max(case when outcome in ('opened', 'clicked', 'read') then 1 end) as was_engaged
    from {{ ref('engagement_event_outcomes') }}
    where outcome != 'inbound'
    group by channel, message_id

),

counts as (

    select
        channel,
        count(was_sent) as sent,
        count(was_delivered) as delivered,
        case when channel in ('email', 'whatsapp') then count(was_engaged) end as engaged
    from messages
    group by channel

)

select
    channel,
    sent,
    delivered,
    engaged,
    cast(delivered as double) / nullif(sent, 0) as delivery_rate,
    cast(engaged as double) / nullif(delivered, 0) as engagement_rate
from counts
