{{ config(materialized='table') }}

-- Probabilistic matching, step two: each candidate pair weighed with the Fellegi-Sunter
-- weights in use (int_identity_match_weights): the prior plus its level of each comparison.
{%- set config = var('c360__identity_resolution') %}

with

weights as (

    select
        comparison,
        gamma,
        log2_bayes_factor
    from {{ ref('int_identity_match_weights') }}

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
    from {{ ref('int_record_pairs_compared') }} as compared
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
