{{ config(materialized='table') }}

-- Engagement features per profile, over the 30 and 90 days before the data interval's end
-- (the latest event for a full rebuild): never the wall clock, so a re-run is identical.
-- Messages are counted once each whatever their number of status events.
{%- set metrics = engagement_feature_metrics() %}
{%- set engaged = "('opened', 'clicked', 'read', 'inbound')" %}

with

addressed as (

    select
        ids.profile_id,
        case when events.channel in ('text', 'media') then 'sms' else events.channel end as channel_group,
        events.message_id,
        events.outcome,
        events.event_at
    from {{ ref('int_engagement_addresses_extracted') }} as events
    inner join {{ ref('int_profile_ids_assigned') }} as ids
        on ids.record_key = 'engagement:' || events.address_kind || ':' || events.address
    where {{ ingested_by_interval_end('events.ingest_hour') }}

),

as_of as (

    select coalesce({{ identity_as_of() }}, max(event_at)) as as_of from addressed

),

windowed as (

    select
        addressed.*,
        addressed.event_at > as_of.as_of - interval '30' day as in_30_days,
        addressed.event_at > as_of.as_of - interval '90' day as in_90_days
    from addressed
    cross join as_of
    where addressed.event_at <= as_of.as_of

),

per_profile as (

    select
        profile_id,
        {%- for channel, channel_metrics in metrics.items() %}
            {%- for metric, outcomes in channel_metrics.items() %}
                {%- for days in [30, 90] %}
                    count(distinct case
                        when
                            channel_group = '{{ channel }}' and in_{{ days }}_days
                            and {{ "outcome != 'inbound'" if outcomes is none else 'outcome in ' ~ sql_list(outcomes) }}
                            then message_id
                    end) as {{ channel }}_{{ metric }}_{{ days }}d,
                {%- endfor %}
            {%- endfor %}
        {%- endfor %}
        max(case when outcome in ('opened', 'read') then event_at end) as last_open_at,
        max(case when outcome = 'clicked' then event_at end) as last_click_at
    from windowed
    group by profile_id

),

channel_engagement as (

    select
        profile_id,
        channel_group,
        count(*) as engagements,
        row_number() over (partition by profile_id order by count(*) desc, channel_group asc) as channel_rank
    from windowed
    where in_90_days and outcome in {{ engaged }}
    group by profile_id, channel_group

),

hour_engagement as (

    select
        profile_id,
        extract(hour from event_at) as engaged_hour,
        row_number() over (partition by profile_id order by count(*) desc, extract(hour from event_at) asc)
            as hour_rank
    from windowed
    where in_90_days and outcome in {{ engaged }}
    group by profile_id, extract(hour from event_at)

)

select
    per_profile.*,
    channel_engagement.channel_group as preferred_channel,
    cast(hour_engagement.engaged_hour as integer) as best_send_hour
from per_profile
left join channel_engagement
    on per_profile.profile_id = channel_engagement.profile_id and channel_engagement.channel_rank = 1
left join hour_engagement
    on per_profile.profile_id = hour_engagement.profile_id and hour_engagement.hour_rank = 1
