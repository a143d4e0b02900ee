-- Email addresses that must not be mailed again (the AWS engagement reference architectures): every recipient of a
-- Permanent bounce (reason BOUNCE) and of any complaint (reason COMPLAINT). Transient and
-- undetermined bounces do not suppress. Synced to the SES account-level suppression list.
-- Deliberately every event landed so far, not bounded by the interval's end: replaying an
-- old interval must never un-suppress (the sync would delete later entries from SES).
with

recipients as (

    select
        lower({{ json_str('recipient.item', '$.emailAddress') }}) as email_address,
        case when events.outcome = 'complained' then 'COMPLAINT' else 'BOUNCE' end as reason,
        events."timestamp"
    from {{ ref('engagement_event_outcomes') }} as events
    cross join
        unnest(
            {{ json_array('events.raw_status', '$.bouncedRecipients') }}
        ) as recipient (item)
    where events.bounce_kind = 'hard'
    union all
    select
        lower({{ json_str('recipient.item', '$.emailAddress') }}) as email_address,
        'COMPLAINT' as reason,
        events."timestamp"
    from {{ ref('engagement_event_outcomes') }} as events
    cross join
        unnest(
            {{ json_array('events.raw_status', '$.complainedRecipients') }}
        ) as recipient (item)
    where events.outcome = 'complained'

),

ranked as (

    select
        *,
        row_number() over (partition by email_address order by "timestamp" desc, reason asc) as recency_rank,
        min("timestamp") over (partition by email_address) as first_suppressed_at,
        count(*) over (partition by email_address) as suppressing_events
    from recipients

)

select
    email_address,
    -- The latest reason wins: a complaint after a bounce is reported as a complaint.
    reason,
    first_suppressed_at,
    "timestamp" as last_event_at,
    suppressing_events
from ranked
where recency_rank = 1
