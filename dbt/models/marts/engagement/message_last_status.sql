-- Each outbound message's last status. Email uses the AWS samples' precedence
-- (Bounce > Complaint > Delivery > Reject > Send); other channels the latest event.
with

ranked as (

    select
        channel,
        message_id,
        status,
        outcome,
        "timestamp",
        row_number() over (
            partition by channel, message_id
            order by
                case when channel = 'email' then case type
                    when 'Bounce' then 5
                    when 'Complaint' then 4
                    when 'Delivery' then 3
                    when 'Reject' then 2
                    when 'Send' then 1
                end end desc nulls last,
                "timestamp" desc,
                event_id asc
        ) as status_rank
    from {{ ref('engagement_event_outcomes') }}
    where
        outcome != 'inbound'
        and (channel != 'email' or type in ('Bounce', 'Complaint', 'Delivery', 'Reject', 'Send'))

)

select
    channel,
    message_id,
    status as last_status,
    outcome as last_outcome,
    "timestamp" as last_status_at
from ranked
where status_rank = 1
