with

source as (

    select * from {{ source('source_systems', 'customers') }}

),

extracted as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        {{ json_str('body', '$.source_system') }} as source_system,
        {{ json_str('body', '$.customer_id') }} as customer_id,
        {{ json_str('body', '$.first_name') }} as first_name,
        {{ json_str('body', '$.last_name') }} as last_name,
        {{ json_str('body', '$.email') }} as email,
        {{ json_str('body', '$.phone') }} as phone,
        {{ json_str('normalised', '$.phone_e164') }} as phone_e164,
        {{ json_str('normalised', '$.phone_type') }} as phone_type,
        {{ json_str('normalised', '$.phone_country') }} as phone_country,
        {{ json_str('normalised', '$.phone_status') }} as phone_status,
        {{ json_str('body', '$.birth_date') }} as birth_date,
        {{ json_str('body', '$.address_line1') }} as address_line1,
        {{ json_str('body', '$.address_line2') }} as address_line2,
        {{ json_str('body', '$.city') }} as city,
        {{ json_str('body', '$.postal_code') }} as postal_code,
        {{ json_str('body', '$.state') }} as state,
        {{ json_str('body', '$.country') }} as country,
        {{ json_str('body', '$.loyalty_id') }} as loyalty_id,
        {{ json_str('body', '$.updated_at') }} as updated_at_text,
        {{ json_text('body', '$.attributes') }} as attributes

    from source

)

select
    ingest_hour,
    source_key,
    line_no,
    source_system,
    customer_id as source_record_id,
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
    {{ iso_to_timestamp('updated_at_text') }} as updated_at,
    -- Bookings, loyalty members and service contacts name the CRM's ids.
    case when source_system = 'crm' then customer_id end as crm_customer_id,
    attributes

from extracted
