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
        {{ person_fields('$.member') }},
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
    {{ person_columns() | join(',\n    ') }},
    loyalty_id,
    {{ iso_to_timestamp('updated_at_text') }} as updated_at,
    crm_customer_id,
    program,
    tier,
    try_cast(points_balance_text as bigint) as points_balance,
    {{ iso_to_timestamp('enrolled_at_text') }} as enrolled_at

from extracted
