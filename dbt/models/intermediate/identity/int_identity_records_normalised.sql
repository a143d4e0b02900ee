{{ config(materialized='table') }}

-- One row per source record (its latest version), with every identifying field normalised
-- the same way whatever its source. A value that cannot be read becomes null and its
-- *_status says why; blocked junk values (var c360__identity_resolution.blocked_values) too.
{%- set config = var('c360__identity_resolution') %}

with

latest as (

    select
        *,
        row_number() over (
            partition by source_kind, source_system, source_record_id
            order by updated_at desc nulls last, ingest_hour desc
        ) as version_rank
    from {{ ref('int_identity_records_unioned') }}

),

cleaned as (

    select
        source_kind,
        source_system,
        source_record_id,
        nullif({{ regex_replace_all('lower(trim(first_name))', '[^a-z]', '') }}, '') as first_name,
        nullif({{ regex_replace_all('lower(trim(last_name))', '[^a-z]', '') }}, '') as last_name,
        lower(trim(email)) as email_cleaned,
        phone_e164,
        phone_type,
        phone_status,
        trim(birth_date) as birth_date_text,
        nullif({{ regex_replace_all('lower(trim(address_line1))', '\\s+', ' ') }}, '') as address_line1,
        nullif({{ regex_replace_all('lower(trim(address_line2))', '\\s+', ' ') }}, '') as address_line2,
        nullif(lower(trim(city)), '') as city,
        nullif({{ regex_replace_all('upper(postal_code)', '[^A-Z0-9]', '') }}, '') as postal_code,
        nullif(lower(trim(state)), '') as state,
        nullif(upper(trim(country)), '') as country,
        nullif(lower(trim(loyalty_id)), '') as loyalty_id_cleaned,
        crm_customer_id,
        updated_at,
        ingest_hour
    from latest
    where version_rank = 1

),

dated as (

    select
        *,
        -- ISO dates and compact YYYYMMDD; anything else (or an impossible date) is unreadable.
        case
            when {{ regex_matches('birth_date_text', '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') }}
                then try_cast(birth_date_text as date)
            when {{ regex_matches('birth_date_text', '^[0-9]{8}$') }}
                then try_cast(
                    substr(birth_date_text, 1, 4) || '-' || substr(birth_date_text, 5, 2)
                    || '-' || substr(birth_date_text, 7, 2) as date
                )
        end as birth_date_parsed,
        case
            when email_cleaned is null or email_cleaned = '' then 'missing'
            when not {{ regex_matches('email_cleaned', '^[^@ ]+@[^@ ]+\\.[a-z]{2,}$') }} then 'invalid'
            when email_cleaned in {{ sql_list(config.blocked_values.email) }} then 'blocked'
            else 'valid'
        end as email_status
    from cleaned

)

select
    source_kind || ':' || source_system || ':' || source_record_id as record_key,
    source_kind,
    source_system,
    source_record_id,
    source_kind = 'engagement' as is_contact_point,
    first_name,
    last_name,
    case when email_status = 'valid' then email_cleaned end as email,
    email_status,
    case
        when phone_status = 'valid' and phone_e164 not in {{ sql_list(config.blocked_values.phone) }} then phone_e164
    end
        as phone,
    case
        when phone_status = 'valid' and phone_e164 in {{ sql_list(config.blocked_values.phone) }} then 'blocked'
        else phone_status
    end as phone_status,
    phone_type,
    cast(birth_date_parsed as varchar) as birth_date,
    case
        when birth_date_text is null or birth_date_text = '' then 'missing'
        when birth_date_parsed is null then 'invalid'
        else 'valid'
    end as birth_date_status,
    address_line1,
    address_line2,
    city,
    postal_code,
    state,
    country,
    case when loyalty_id_cleaned not in {{ sql_list(config.blocked_values.loyalty_id) }} then loyalty_id_cleaned end
        as loyalty_id,
    crm_customer_id,
    updated_at,
    ingest_hour,
    -- Survivorship order as one sortable string: source priority, then newest, then the key.
    cast(coalesce({{ source_priority('source_kind') }}, 9) as varchar)
    || lpad(cast(9999999999999 - coalesce({{ timestamp_to_epoch_ms('updated_at') }}, 0) as varchar), 13, '0')
    || source_kind || ':' || source_system || ':' || source_record_id as survivorship_key
from dated
