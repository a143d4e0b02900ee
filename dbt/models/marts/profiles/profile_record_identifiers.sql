-- Every identifying value of every linked source record, one row each: its email, phone,
-- loyalty id, CRM customer id and (for a source-system record) its record id. Erasure
-- (include/erasure/resolution.py) finds a person's profiles and identifiers here.
with

linked_records as (

    select
        links.profile_id,
        records.record_key,
        records.source_kind,
        records.email,
        records.phone,
        records.loyalty_id,
        records.crm_customer_id,
        case when records.source_kind != 'engagement' then records.source_record_id end as source_record_id
    from {{ ref('profile_links') }} as links
    inner join {{ ref('int_identity_records_normalised') }} as records on links.record_key = records.record_key

),

identifying as (

    {% for kind, column in [
        ('email', 'email'), ('phone', 'phone'), ('id', 'loyalty_id'), ('id', 'crm_customer_id'),
        ('id', 'source_record_id'),
    ] -%}
        select
            profile_id,
            record_key,
            source_kind,
            cast('{{ kind }}' as varchar) as identifier_kind,
            {{ column }} as identifier_value
        from linked_records
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    profile_id,
    record_key,
    source_kind,
    identifier_kind as kind,
    identifier_value as value  -- noqa: RF04
from identifying
where identifier_value is not null
