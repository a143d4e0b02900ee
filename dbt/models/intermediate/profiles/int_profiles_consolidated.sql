{{ config(materialized='table') }}

-- One golden record per profile. Survivorship per field: among the profile's records that
-- have the field, the one with the best source priority, then the newest (the records'
-- survivorship_key); plus every identifier the profile holds and its suppression status.
-- Windows over one sort, not one aggregate state per field: a million records fit in memory.
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

survived as (

    select
        profile_id,
        {%- for field in golden_fields %}
            {{ first_non_null_over(field, 'profile_id', 'survivorship_key') }} as {{ field }},
        {%- endfor %}
        row_number() over (partition by profile_id order by survivorship_key) as survivorship_rank
    from records

),

summary as (

    select
        profile_id,
        array_agg(distinct source_kind order by source_kind) as source_kinds,
        count(*) as source_record_count,
        count(case when source_kind = 'bookings' then 1 end) as bookings_count,
        max(case when source_kind = 'bookings' then updated_at end) as last_booked_at,
        count(case when source_kind = 'service' then 1 end) as service_interactions_count,
        max(updated_at) as last_updated_at
    from records
    group by profile_id

),

{% for identifier in ['email', 'phone'] %}
    {{ identifier }}s as (

        select
            profile_id,
            array_agg({{ identifier }} order by {{ identifier }}) as {{ identifier }}s
        from (select distinct
            profile_id,
            {{ identifier }}
        from records
        where {{ identifier }} is not null) as held
        group by profile_id

    ),

{% endfor %}
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
    survived.profile_id,
    {%- for field in golden_fields %}
        survived.{{ field }},
    {%- endfor %}
    emails.emails,
    phones.phones,
    summary.source_kinds,
    summary.source_record_count,
    summary.bookings_count,
    summary.last_booked_at,
    summary.service_interactions_count,
    summary.last_updated_at,
    suppressed.profile_id is not null as is_email_suppressed,
    opted_out.profile_id is not null as is_sms_opted_out
from survived
inner join summary on survived.profile_id = summary.profile_id
left join emails on survived.profile_id = emails.profile_id
left join phones on survived.profile_id = phones.profile_id
left join suppressed on survived.profile_id = suppressed.profile_id
left join opted_out on survived.profile_id = opted_out.profile_id
where survived.survivorship_rank = 1
