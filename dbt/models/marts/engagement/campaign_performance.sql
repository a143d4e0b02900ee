-- The AWS samples' campaign report: email outcomes per campaign tag.
with

counts as (

    select
        coalesce(campaign, '(untagged)') as campaign,
        count(distinct case when outcome = 'sent' then message_id end) as sends,
        count(distinct case when outcome = 'delivered' then message_id end) as deliveries,
        count(distinct case when outcome = 'opened' then message_id end) as opens,
        count(distinct case when outcome = 'clicked' then message_id end) as clicks,
        count(distinct case when bounce_kind = 'hard' then message_id end) as hard_bounces,
        count(distinct case when bounce_kind = 'soft' then message_id end) as soft_bounces,
        count(distinct case when outcome = 'complained' then message_id end) as complaints,
        count(distinct case when outcome = 'unsubscribed' then message_id end) as unsubscribes
    from {{ ref('engagement_event_outcomes') }}
    where channel = 'email'
    group by coalesce(campaign, '(untagged)')

)

select
    campaign,
    sends,
    deliveries,
    opens,
    clicks,
    hard_bounces,
    soft_bounces,
    complaints,
    unsubscribes,
    cast(deliveries as double) / nullif(sends, 0) as delivery_rate,
    cast(opens as double) / nullif(deliveries, 0) as open_rate,
    cast(clicks as double) / nullif(deliveries, 0) as click_rate,
    cast(hard_bounces + soft_bounces as double) / nullif(sends, 0) as bounce_rate,
    cast(complaints as double) / nullif(deliveries, 0) as complaint_rate
from counts
