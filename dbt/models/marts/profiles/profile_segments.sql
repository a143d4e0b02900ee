-- Segment memberships (seed 001's advanced segmentation): each segment is one select of
-- the profiles it holds, over golden records and engagement features. Add a segment by
-- adding a union branch; unified_profiles lists every profile's segments.
with

profiles as (

    select *
    from {{ ref('int_profiles_consolidated') }}
    left join {{ ref('int_profile_engagements_aggregated') }} using (profile_id)

)

select profile_id, 'email_engaged_30d' as segment
from profiles
where email_opens_30d > 0 or email_clicks_30d > 0
union all
select profile_id, 'email_dormant_90d' as segment
from profiles
where email_deliveries_90d > 0 and coalesce(email_opens_90d, 0) = 0 and coalesce(email_clicks_90d, 0) = 0
union all
select profile_id, 'email_reachable' as segment
from profiles
where email is not null and not is_email_suppressed
union all
select profile_id, 'sms_reachable' as segment
from profiles
where phone is not null and not is_sms_opted_out
union all
select profile_id, 'loyalty_member' as segment
from profiles
where loyalty_id is not null
union all
-- booked in the 90 days before the interval's end
select profile_id, 'recent_traveller' as segment
from profiles
where
    last_booked_at > coalesce({{ identity_as_of() }}, (select max(last_booked_at) from profiles))
    - interval '90' day
union all
select profile_id, 'whatsapp_engaged_30d' as segment
from profiles
where whatsapp_reads_30d > 0
