-- Segment memberships (the advanced segmentation of the AWS engagement reference
-- architectures): each segment is one select of
-- the profiles it holds, over golden records and engagement features. Add a segment by
-- adding a union branch; unified_profiles lists every profile's segments.
with

profiles as (

    select
        consolidated.profile_id,
        consolidated.email,
        consolidated.phone,
        consolidated.loyalty_id,
        consolidated.is_email_suppressed,
        consolidated.is_sms_opted_out,
        consolidated.last_booked_at,
        coalesce(features.email_opens_30d, 0) as email_opens_30d,
        coalesce(features.email_clicks_30d, 0) as email_clicks_30d,
        coalesce(features.email_deliveries_90d, 0) as email_deliveries_90d,
        coalesce(features.email_opens_90d, 0) as email_opens_90d,
        coalesce(features.email_clicks_90d, 0) as email_clicks_90d,
        coalesce(features.whatsapp_reads_30d, 0) as whatsapp_reads_30d
    from {{ ref('int_profiles_consolidated') }} as consolidated
    left join {{ ref('int_profile_engagements_aggregated') }} as features
        on consolidated.profile_id = features.profile_id

),

latest_booking as (

    select max(last_booked_at) as last_booked_at from profiles

)

select
    profile_id,
    'email_engaged_30d' as segment
from profiles
where email_opens_30d > 0 or email_clicks_30d > 0
union all
select
    profile_id,
    'email_dormant_90d' as segment
from profiles
where email_deliveries_90d > 0 and email_opens_90d = 0 and email_clicks_90d = 0
union all
select
    profile_id,
    'email_reachable' as segment
from profiles
where email is not null and not is_email_suppressed
union all
select
    profile_id,
    'sms_reachable' as segment
from profiles
where phone is not null and not is_sms_opted_out
union all
select
    profile_id,
    'loyalty_member' as segment
from profiles
where loyalty_id is not null
union all
-- booked in the 90 days before the interval's end
select
    profiles.profile_id,
    'recent_traveller' as segment
from profiles
cross join latest_booking
where profiles.last_booked_at > coalesce({{ identity_as_of() }}, latest_booking.last_booked_at) - interval '90' day
union all
select
    profile_id,
    'whatsapp_engaged_30d' as segment
from profiles
where whatsapp_reads_30d > 0
