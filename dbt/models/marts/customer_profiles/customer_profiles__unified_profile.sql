-- One UnifiedProfile object per unified profile. Sets are sorted and comma-joined
-- (Attributes hold strings), times are ISO 8601 UTC; the per-channel counters go in
-- customer_profiles__engagement_summary.
select
    profile_id,
    first_name,
    last_name,
    {{ iso_date_text('birth_date') }} as birth_date,
    email,
    phone,
    address_line1,
    address_line2,
    city,
    postal_code,
    state,
    country,
    {{ array_join_str('array_sort(emails)', ',') }} as emails,
    {{ array_join_str('array_sort(phones)', ',') }} as phones,
    loyalty_id,
    {{ array_join_str('array_sort(source_kinds)', ',') }} as source_kinds,
    source_record_count,
    bookings_count,
    {{ iso_timestamp_text('last_booked_at') }} as last_booked_at,
    service_interactions_count,
    {{ iso_timestamp_text('last_open_at') }} as last_open_at,
    {{ iso_timestamp_text('last_click_at') }} as last_click_at,
    preferred_channel,
    best_send_hour,
    offers_received,
    offers_viewed,
    is_email_suppressed,
    is_sms_opted_out,
    {{ array_join_str('array_sort(segments)', ',') }} as segments
from {{ ref('unified_profiles') }}
