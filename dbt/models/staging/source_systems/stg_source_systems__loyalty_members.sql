with

source as (

    select * from {{ source('source_systems', 'loyalty') }}

),

extracted as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        'loyalty' as source_system,
        {{ json_str('body', '$.loyalty_id') }} as source_record_id,
        {{ json_str('body', '$.member.first_name') }} as first_name,
        {{ json_str('body', '$.member.last_name') }} as last_name,
        {{ json_str('body', '$.member.email') }} as email,
        {{ json_str('body', '$.member.phone') }} as phone,
        {{ json_str('normalised', '$.phone_e164') }} as phone_e164,
        {{ json_str('normalised', '$.phone_type') }} as phone_type,
        {{ json_str('normalised', '$.phone_country') }} as phone_country,
        {{ json_str('normalised', '$.phone_status') }} as phone_status,
        {{ json_str('body', '$.member.birth_date') }} as birth_date,
        {{ json_str('body', '$.member.address_line1') }} as address_line1,
        {{ json_str('body', '$.member.address_line2') }} as address_line2,
        {{ json_str('body', '$.member.city') }} as city,
        {{ json_str('body', '$.member.postal_code') }} as postal_code,
        {{ json_str('body', '$.member.state') }} as state,
        {{ json_str('body', '$.member.country') }} as country,
        {{ json_str('body', '$.loyalty_id') }} as loyalty_id,
        {{ json_str('body', '$.updated_at') }} as updated_at_text,
        {{ json_str('body', '$.member.customer_id') }} as crm_customer_id,
        {{ json_str('body', '$.program') }} as program,  -- noqa: RF04
        {{ json_str('body', '$.tier') }} as tier,
        {{ json_str('body', '$.points_balance') }} as points_balance_text,
        {{ json_str('body', '$.enrolled_at') }} as enrolled_at_text

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
    {{ iso_to_timestamp('updated_at_text') }} as updated_at,
    crm_customer_id,
    program,
    tier,
    try_cast(points_balance_text as bigint) as points_balance,
    {{ iso_to_timestamp('enrolled_at_text') }} as enrolled_at

from extracted
