{{ config(materialized='table') }}

-- One golden record per profile. Survivorship per field: among the profile's records that
-- have the field, the one with the best source priority, then the newest (the records'
-- survivorship_key); plus every identifier the profile holds and its suppression status.
{%- set golden_fields = [
    'first_name', 'last_name', 'birth_date', 'email', 'phone', 'address_line1', 'address_line2',
    'city', 'postal_code', 'state', 'country', 'loyalty_id',
] %}

with

records as (

    select
        ids.profile_id,
        records.*
    from {{ ref('int_profile_ids_assigned') }} as ids
    inner join {{ ref('int_identity_records_normalised') }} as records on ids.record_key = records.record_key

),

profiles as (

    select
        profile_id,
        {%- for field in golden_fields %}
        min_by({{ field }}, survivorship_key) filter (where {{ field }} is not null) as {{ field }},
        {%- endfor %}
        array_agg(distinct email order by email) filter (where email is not null) as emails,
        array_agg(distinct phone order by phone) filter (where phone is not null) as phones,
        array_agg(distinct source_kind order by source_kind) as source_kinds,
        count(*) as source_record_count,
        count(case when source_kind = 'bookings' then 1 end) as bookings_count,
        max(case when source_kind = 'bookings' then updated_at end) as last_booked_at,
        count(case when source_kind = 'service' then 1 end) as service_interactions_count,
        max(updated_at) as last_updated_at
    from records
    group by profile_id

),

suppressed as (

    select distinct records.profile_id
    from records
    inner join {{ ref('suppression_list') }} as suppression on records.email = suppression.email_address

),

opted_out as (

    select distinct records.profile_id
    from records
    inner join {{ ref('sms_opt_outs') }} as opt_outs on records.phone = opt_outs.phone_number

)

select
    profiles.*,
    suppressed.profile_id is not null as is_email_suppressed,
    opted_out.profile_id is not null as is_sms_opted_out
from profiles
left join suppressed on profiles.profile_id = suppressed.profile_id
left join opted_out on profiles.profile_id = opted_out.profile_id
