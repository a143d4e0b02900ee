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
        {{ person_fields('$.customer') }},
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
    {{ person_columns() | join(',\n    ') }},
    loyalty_id,
    {{ iso_to_timestamp('started_at_text') }} as updated_at,
    crm_customer_id,
    channel,
    sentiment,
    {{ iso_to_timestamp('ended_at_text') }} as ended_at,
    conversation

from extracted
