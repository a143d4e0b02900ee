{{ config(materialized='table') }}

-- Links made by the deterministic rules (var c360__identity_resolution.rules). Records equal on
-- every field of a rule form a group; each member is linked to the group's smallest key
-- (a star: as good as all pairs for clustering, and linear in the group's size). Identifier
-- values shared by more than max_records_per_identifier records link nothing.
{%- set config = var('c360__identity_resolution') %}
{%- set capped = ['email', 'phone', 'loyalty_id'] %}

with

records as (

    select
        *,
        count(*) over (partition by email) as email_holders,
        count(*) over (partition by phone) as phone_holders,
        count(*) over (partition by loyalty_id) as loyalty_id_holders
    from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

{% for rule in config.rules %}
    {{ rule.name }} as (

        select
            record_key,
            min(record_key) over (partition by {{ rule.match | join(', ') }}) as anchor_key,
            count(*) over (partition by {{ rule.match | join(', ') }}) as group_size
        from records
        where
        {% for column in rule.match -%}
            {{ column }} is not null
            {%- if column in capped %} and {{ column }}_holders <= {{ config.max_records_per_identifier }}{% endif %}
            {{- ' and' if not loop.last }}
        {% endfor -%}
            {%- if rule.where %}
                and ({{ rule.where }})
            {%- endif %}

    ),

{% endfor %}
links as (

    {% for rule in config.rules -%}
        select
            record_key,
            anchor_key,
            '{{ rule.name }}' as rule_name,
            {{ loop.index }} as rule_order
        from {{ rule.name }}
        where group_size > 1 and record_key != anchor_key
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from links
