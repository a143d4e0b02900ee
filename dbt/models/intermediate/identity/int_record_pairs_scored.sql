{{ config(materialized='table') }}

-- Probabilistic matching: every candidate pair that shares all fields of at least one
-- blocking rule, scored with the Fellegi-Sunter weights a Splink model learned
-- (include/identity_model.py → seed identity_match_weights). Scoring is plain SQL so it
-- runs on Athena too. A blocking value held by more than max_block_size records is
-- skipped: it would compare every pair of them.
{%- set config = var('identity_resolution') %}
{%- set compared = config.comparisons | map(attribute='name') | list %}

with

records as (

    select
        record_key,
        {{ compared | join(',\n        ') }}
    from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

{% for rule in config.blocking_rules %}
block_{{ loop.index }} as (

    select
        record_key,
        {{ rule | join(', ') }}
    from (
        select
            record_key,
            {{ rule | join(', ') }},
            count(*) over (partition by {{ rule | join(', ') }}) as block_size
        from records
        where {% for column in rule %}{{ column }} is not null{{ ' and ' if not loop.last }}{% endfor %}
    ) as sized
    where block_size between 2 and {{ config.max_block_size }}

),

{% endfor %}
candidate_pairs as (

    {%- for rule in config.blocking_rules %}
    select
        l.record_key as record_key_l,
        r.record_key as record_key_r
    from block_{{ loop.index }} as l
    inner join block_{{ loop.index }} as r
        on
            {% for column in rule %}l.{{ column }} = r.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
            and l.record_key < r.record_key
    {{ 'union' if not loop.last }}
    {%- endfor %}

),

compared as (

    select
        pairs.record_key_l,
        pairs.record_key_r,
        {%- for comparison in config.comparisons %}
        {{ comparison_gamma(comparison) }} as gamma_{{ comparison.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from candidate_pairs as pairs
    inner join records as l on pairs.record_key_l = l.record_key
    inner join records as r on pairs.record_key_r = r.record_key

),

weights as (

    select * from {{ ref('identity_match_weights') }}
    where model_version = '{{ var("identity_model_version") }}'

),

weighed as (

    select
        compared.*,
        prior.log2_bayes_factor
        {%- for comparison in config.comparisons %}
        + coalesce(w_{{ comparison.name }}.log2_bayes_factor, 0)
        {%- endfor %} as match_weight
    from compared
    cross join (select log2_bayes_factor from weights where comparison = '_prior') as prior
    {%- for comparison in config.comparisons %}
    left join weights as w_{{ comparison.name }}
        on
            w_{{ comparison.name }}.comparison = '{{ comparison.name }}'
            and w_{{ comparison.name }}.gamma = compared.gamma_{{ comparison.name }}
    {%- endfor %}

)

select
    *,
    power(2.0, match_weight) / (1 + power(2.0, match_weight)) as match_probability
from weighed
