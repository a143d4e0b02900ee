-- One row per person: the golden record (survivorship in int_profiles_consolidated), every
-- identifier, engagement features, offers, suppression and opt-out status, segments.
-- profile_id stays the same across runs while its members do (int_profile_ids_assigned).
{%- set golden_fields = [
    'first_name', 'last_name', 'email', 'phone', 'address_line1', 'address_line2', 'city',
    'postal_code', 'state', 'country', 'loyalty_id', 'emails', 'phones', 'source_kinds',
    'source_record_count', 'bookings_count', 'last_booked_at', 'service_interactions_count',
] %}

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
    consolidated.profile_id,
    cast(consolidated.birth_date as date) as birth_date,
    {% for field in golden_fields -%}
        consolidated.{{ field }},
    {% endfor -%}
    {% for channel, metrics in engagement_feature_metrics().items() -%}
        {% for metric in metrics -%}
            {% for days in [30, 90] -%}
                coalesce(features.{{ channel }}_{{ metric }}_{{ days }}d, 0) as {{ channel }}_{{ metric }}_{{ days }}d,
            {% endfor -%}
        {% endfor -%}
    {% endfor -%}
    features.last_open_at,
    features.last_click_at,
    features.preferred_channel,
    features.best_send_hour,
    coalesce(offers.offers_received, 0) as offers_received,
    coalesce(offers.offers_viewed, 0) as offers_viewed,
    consolidated.is_email_suppressed,
    consolidated.is_sms_opted_out,
    segments.segments
from {{ ref('int_profiles_consolidated') }} as consolidated
left join {{ ref('int_profile_engagements_aggregated') }} as features
    on consolidated.profile_id = features.profile_id
left join offers on consolidated.profile_id = offers.profile_id
left join segments on consolidated.profile_id = segments.profile_id
