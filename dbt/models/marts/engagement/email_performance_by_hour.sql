-- The AWS samples' hourly email report, by the hour each event happened (UTC).
select
    date_trunc('hour', event_at) as event_hour,
    count_if(outcome = 'sent') as sends,
    count_if(outcome = 'delivered') as deliveries,
    count_if(outcome = 'opened') as opens,
    count_if(outcome = 'clicked') as clicks,
    count_if(outcome = 'bounced') as bounces,
    count_if(outcome = 'complained') as complaints
from {{ ref('engagement_event_outcomes') }}
where channel = 'email'
group by date_trunc('hour', event_at)
