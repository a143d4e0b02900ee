with

source as (

    select * from {{ source('source_systems', 'bookings') }}

),

extracted as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        {{ json_str('body', '$.source_system') }} as source_system,
        {{ json_str('body', '$.booking_id') }} as source_record_id,
        {{ person_fields('$.traveller') }},
        {{ json_str('body', '$.traveller.loyalty_id') }} as loyalty_id,
        {{ json_str('body', '$.booked_at') }} as booked_at_text,
        {{ json_str('body', '$.customer_id') }} as crm_customer_id,
        {{ json_str('body', '$.status') }} as status,
        {{ json_str('body', '$.total_amount') }} as total_amount_text,
        {{ json_str('body', '$.currency') }} as currency,
        {{ json_str('body', '$.itinerary.origin') }} as origin,
        {{ json_str('body', '$.itinerary.destination') }} as destination,
        {{ json_str('body', '$.itinerary.departure_date') }} as departure_date_text,
        {{ json_str('body', '$.itinerary.return_date') }} as return_date_text,
        {{ json_str('body', '$.itinerary.cabin') }} as cabin,
        {{ json_str('body', '$.itinerary.hotel_code') }} as hotel_code,
        {{ json_str('body', '$.itinerary.check_in_date') }} as check_in_date_text,
        {{ json_str('body', '$.itinerary.check_out_date') }} as check_out_date_text,
        {{ json_str('body', '$.itinerary.room_type') }} as room_type,
        {{ json_str('body', '$.itinerary.party_size') }} as party_size_text

    from source

)

select
    ingest_hour,
    source_key,
    line_no,
    source_system,
    source_record_id,
    {{ person_columns() | join(',\n    ') }},
    loyalty_id,
    {{ iso_to_timestamp('booked_at_text') }} as updated_at,
    crm_customer_id,
    status,
    try_cast(total_amount_text as decimal(12, 2)) as total_amount,
    currency,
    origin,
    destination,
    try_cast(departure_date_text as date) as departure_date,
    try_cast(return_date_text as date) as return_date,
    cabin,
    hotel_code,
    try_cast(check_in_date_text as date) as check_in_date,
    try_cast(check_out_date_text as date) as check_out_date,
    room_type,
    try_cast(party_size_text as integer) as party_size

from extracted
