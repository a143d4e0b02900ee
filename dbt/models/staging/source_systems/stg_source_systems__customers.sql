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
        {{ person_fields('$') }},
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
    {{ person_columns() | join(',\n    ') }},
    loyalty_id,
    {{ iso_to_timestamp('updated_at_text') }} as updated_at,
    -- Bookings, loyalty members and service contacts name the CRM's ids.
    case when source_system = 'crm' then customer_id end as crm_customer_id,
    attributes

from extracted
