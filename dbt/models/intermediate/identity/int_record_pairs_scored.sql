{{ config(materialized='table') }}

-- Probabilistic matching: every candidate pair that shares all fields of at least one
-- blocking rule, scored with the Fellegi-Sunter weights a Splink model learned
-- (include/identity/model.py → seed identity_match_weights). Scoring is plain SQL so it
-- runs on Athena too. A blocking value held by more than max_block_size records is
-- skipped: it would compare every pair of them.
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

),

weights as (

    select
        comparison,
        gamma,
        log2_bayes_factor
    from {{ ref('identity_match_weights') }}
    where model_version = '{{ var("c360__identity_model_version") }}'

),

prior_weight as (

    select log2_bayes_factor from weights
    where comparison = '_prior'

),

weighed as (

    select
        compared.*,
        (
            prior_weight.log2_bayes_factor
            {% for comparison in config.comparisons -%}
                + coalesce(w_{{ comparison.name }}.log2_bayes_factor, 0)
            {% endfor -%}
        ) as match_weight
    from compared
    cross join prior_weight
    {%- for comparison in config.comparisons %}
        left join weights as w_{{ comparison.name }}
            on
                w_{{ comparison.name }}.comparison = '{{ comparison.name }}'
                and compared.gamma_{{ comparison.name }} = w_{{ comparison.name }}.gamma
    {%- endfor %}

)

select
    *,
    power(2.0, match_weight) / (1 + power(2.0, match_weight)) as match_probability
from weighed
