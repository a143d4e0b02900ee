-- Every record that names a person, from every source, in one shape: the input of identity
-- resolution. CRM, web-account, loyalty, booking and service records are resolved by rules
-- and the model; engagement addresses are contact points, attached afterwards.
{%- set identity_sources = [
    ('crm', 'stg_source_systems__customers'),
    ('loyalty', 'stg_source_systems__loyalty_members'),
    ('bookings', 'stg_source_systems__bookings'),
    ('service', 'stg_source_systems__service_interactions'),
] %}
{%- set identity_columns = person_columns() + ['loyalty_id', 'crm_customer_id'] %}

with

{% for source_kind, model in identity_sources %}
    {{ source_kind }}_records as (

        select
            {%- if source_kind == 'crm' %}
                -- The customers stream carries the CRM's export and the web shop's accounts.
                case when source_system = 'web' then 'web' else 'crm' end as source_kind,
            {%- else %}
                '{{ source_kind }}' as source_kind,
            {%- endif %}
            source_system,
            source_record_id,
            {%- for column in identity_columns %}
                {{ column }},
            {%- endfor %}
            updated_at,
            ingest_hour
        from {{ ref(model) }}
        where {{ ingested_by_interval_end('ingest_hour') }}

    ),

{% endfor %}
engagement_records as (

    select
        'engagement' as source_kind,
        address_kind as source_system,
        address as source_record_id,
        {%- for column in identity_columns %}
            {%- if column == 'email' %}
                case when address_kind = 'email' then address end as email,
            {%- elif column == 'phone_e164' %}
                -- WhatsApp ids are the number's digits without the '+'.
                case
                    when address_kind = 'phone' and address like '+%' then address
                    when address_kind = 'phone' then '+' || address
                end as phone_e164,
            {%- elif column == 'phone_status' %}
                case when address_kind = 'phone' then 'valid' else 'missing' end as phone_status,
            {%- else %}
                cast(null as varchar) as {{ column }},
            {%- endif %}
        {%- endfor %}
        max(event_at) as updated_at,
        max(ingest_hour) as ingest_hour
    from {{ ref('int_engagement_addresses_extracted') }}
    where address is not null and {{ ingested_by_interval_end('ingest_hour') }}
    group by address_kind, address

)

{% for source_kind, model in identity_sources %}
    select * from {{ source_kind }}_records
    union all
{% endfor %}
select * from engagement_records
