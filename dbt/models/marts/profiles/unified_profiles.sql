-- One row per person: the golden record (survivorship in int_profiles_consolidated), every
-- identifier, engagement features, offers, suppression and opt-out status, segments.
-- profile_id stays the same across runs while its members do (int_profile_ids_assigned).
with

offers as (

    select
        profile_id,
        count(first_received_at) as offers_received,
        count(case when viewed then 1 end) as offers_viewed
    from {{ ref('profile_offers') }}
    group by profile_id

),

segments as (

    select
        profile_id,
        array_agg(segment order by segment) as segments
    from {{ ref('profile_segments') }}
    group by profile_id

)

select
    profile_id,
    first_name,
    last_name,
    cast(birth_date as date) as birth_date,
    email,
    phone,
    address_line1,
    address_line2,
    city,
    postal_code,
    state,
    country,
    loyalty_id,
    emails,
    phones,
    source_kinds,
    source_record_count,
    bookings_count,
    last_booked_at,
    service_interactions_count,
    {%- for channel, metrics in engagement_feature_metrics().items() %}
    {%- for metric in metrics %}
    {%- for days in [30, 90] %}
    coalesce({{ channel }}_{{ metric }}_{{ days }}d, 0) as {{ channel }}_{{ metric }}_{{ days }}d,
    {%- endfor %}
    {%- endfor %}
    {%- endfor %}
    last_open_at,
    last_click_at,
    preferred_channel,
    best_send_hour,
    coalesce(offers_received, 0) as offers_received,
    coalesce(offers_viewed, 0) as offers_viewed,
    is_email_suppressed,
    is_sms_opted_out,
    segments
from {{ ref('int_profiles_consolidated') }}
left join {{ ref('int_profile_engagements_aggregated') }} using (profile_id)
left join offers using (profile_id)
left join segments using (profile_id)
