with

source as (

    select * from {{ source('source_systems', 'clickstream') }}

),

extracted as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        {{ json_str('body', '$.event_id') }} as event_id,
        {{ json_str('body', '$.event_type') }} as event_type,
        {{ json_str('body', '$.event_timestamp') }} as event_timestamp_text,
        {{ json_str('body', '$.session_id') }} as session_id,
        {{ json_str('body', '$.user_id') }} as user_id,
        {{ json_str('body', '$.email') }} as email,
        {{ json_str('body', '$.page_url') }} as page_url,
        {{ json_str('body', '$.offer_name') }} as offer_name

    from source

)

select
    ingest_hour,
    source_key,
    line_no,
    event_id,
    event_type,
    {{ iso_to_timestamp('event_timestamp_text') }} as event_timestamp,
    session_id,
    user_id,
    email,
    page_url,
    offer_name

from extracted
