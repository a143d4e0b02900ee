with

source as (

    select * from {{ source('source_systems', 'service_interactions') }}

),

extracted as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        'service' as source_system,
        {{ json_str('body', '$.interaction_id') }} as source_record_id,
        {{ json_str('body', '$.customer.first_name') }} as first_name,
        {{ json_str('body', '$.customer.last_name') }} as last_name,
        {{ json_str('body', '$.customer.email') }} as email,
        {{ json_str('body', '$.customer.phone') }} as phone,
        {{ json_str('normalised', '$.phone_e164') }} as phone_e164,
        {{ json_str('normalised', '$.phone_type') }} as phone_type,
        {{ json_str('normalised', '$.phone_country') }} as phone_country,
        {{ json_str('normalised', '$.phone_status') }} as phone_status,
        {{ json_str('body', '$.customer.birth_date') }} as birth_date,
        {{ json_str('body', '$.customer.address_line1') }} as address_line1,
        {{ json_str('body', '$.customer.address_line2') }} as address_line2,
        {{ json_str('body', '$.customer.city') }} as city,
        {{ json_str('body', '$.customer.postal_code') }} as postal_code,
        {{ json_str('body', '$.customer.state') }} as state,
        {{ json_str('body', '$.customer.country') }} as country,
        {{ json_str('body', '$.customer.loyalty_id') }} as loyalty_id,
        {{ json_str('body', '$.started_at') }} as started_at_text,
        {{ json_str('body', '$.customer.customer_id') }} as crm_customer_id,
        {{ json_str('body', '$.channel') }} as channel,
        {{ json_str('body', '$.sentiment') }} as sentiment,
        {{ json_str('body', '$.ended_at') }} as ended_at_text,
        {{ json_text('body', '$.conversation') }} as conversation

    from source

)

select
    ingest_hour,
    source_key,
    line_no,
    source_system,
    source_record_id,
    first_name,
    last_name,
    email,
    phone,
    phone_e164,
    phone_type,
    phone_country,
    phone_status,
    birth_date,
    address_line1,
    address_line2,
    city,
    postal_code,
    state,
    country,
    loyalty_id,
    {{ iso_to_timestamp('started_at_text') }} as updated_at,
    crm_customer_id,
    channel,
    sentiment,
    {{ iso_to_timestamp('ended_at_text') }} as ended_at,
    conversation

from extracted
