{{ config(materialized='table') }}

-- Probabilistic matching, step one: every candidate pair that shares all fields of at least
-- one blocking rule, with its level of each comparison (gamma_*, numbered as Splink numbers
-- them). A blocking value held by more than max_block_size records is skipped: it would
-- compare every pair of them.
{%- set config = var('c360__identity_resolution') %}

with

records as (

    select
        record_key,
        {{ identity_compared_columns() | join(', ') }}
    from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

{% for rule in config.blocking_rules %}
    block_{{ loop.index }} as (

        select
            record_key,
            {{ rule | join(', ') }},
            count(*) over (partition by {{ rule | join(', ') }}) as block_size
        from records
        where {{ rule | join(' is not null and ') }} is not null

    ),

{% endfor %}
candidate_pairs as (

    {% for rule in config.blocking_rules -%}
        select
            l.record_key as record_key_l,
            r.record_key as record_key_r
        from block_{{ loop.index }} as l
        inner join block_{{ loop.index }} as r
            on
                l.record_key < r.record_key
                {% for column in rule -%}
                    and l.{{ column }} = r.{{ column }}
                {% endfor %}
        where l.block_size <= {{ config.max_block_size }}
        {% if not loop.last %}union{% endif %}
    {% endfor %}

),

compared as (

    select
        {% for comparison in config.comparisons -%}
            {{ comparison_gamma(comparison) }} as gamma_{{ comparison.name }},
        {% endfor -%}
        pairs.record_key_l,
        pairs.record_key_r
    from candidate_pairs as pairs
    inner join records as l on pairs.record_key_l = l.record_key
    inner join records as r on pairs.record_key_r = r.record_key

)

select * from compared
