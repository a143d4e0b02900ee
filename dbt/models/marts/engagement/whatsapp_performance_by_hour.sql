-- The AWS samples' hourly WhatsApp report, by the hour each event happened (UTC).
select
    date_trunc('hour', event_at) as event_hour,
    count_if(outcome = 'inbound') as inbound_messages,
    count_if(outcome = 'sent') as sent,
    count_if(outcome = 'delivered') as delivered,
    count_if(outcome = 'read') as read,
    count_if(outcome = 'failed') as failed
from {{ ref('engagement_event_outcomes') }}
where channel = 'whatsapp'
group by date_trunc('hour', event_at)
