-- Events per channel and hour (UTC) they happened: the dashboard's volume chart.
select
    date_trunc('hour', event_at) as event_hour,
    channel,
    count(*) as events
from {{ ref('engagement_event_outcomes') }}
group by date_trunc('hour', event_at), channel
