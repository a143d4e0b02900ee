-- Why two records are linked: for every linked pair (int_identity_links: must_link, a rule or
-- the model), each comparison's level and its log2 Bayes factor in the model version's
-- weights, then the prior, the total match weight and the probability - the waterfall, one row
-- per pair and comparison. Levels are compared afresh (the same comparison_gamma as
-- int_record_pairs_scored), so a rule or must_link pair the blocking rules never paired has
-- the model's view too. Record keys and levels only: no names, emails or phones.
{%- set config = var('c360__identity_resolution') %}


with

records as (

    select
        record_key,
        {{ identity_compared_columns() | join(', ') }}
    from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

-- One row per pair, named by the first of its links in link_order (as profile_links.matched_by).
links as (

    select
        least(node_a, node_b) as record_key_l,
        greatest(node_a, node_b) as record_key_r,
        linked_by,
        never_linked,
        row_number() over (
            partition by least(node_a, node_b), greatest(node_a, node_b) order by link_order
        ) as link_rank
    from {{ ref('int_identity_links') }}

),

pairs as (

    select
        {% for comparison in config.comparisons -%}
            {{ comparison_gamma(comparison) }} as gamma_{{ comparison.name }},
        {% endfor -%}
        links.record_key_l,
        links.record_key_r,
        links.linked_by,
        links.never_linked
    from links
    inner join records as l on links.record_key_l = l.record_key
    inner join records as r on links.record_key_r = r.record_key
    where links.link_rank = 1

),

comparisons as (

    select
        listed.comparison,
        listed.comparison_order
    from (
        values
        {% for comparison in config.comparisons -%}
            ('{{ comparison.name }}', {{ loop.index }}){{ ',' if not loop.last }}
        {% endfor -%}
    ) as listed (comparison, comparison_order)

),

levels as (

    select
        pairs.record_key_l,
        pairs.record_key_r,
        pairs.linked_by,
        pairs.never_linked,
        comparisons.comparison,
        comparisons.comparison_order,
        {{ gamma_of('comparisons.comparison', 'pairs') }} as gamma
    from pairs
    cross join comparisons

),

weights as (

    select
        comparison,
        gamma,
        log2_bayes_factor
    from {{ ref('int_identity_match_weights') }}

),

prior_weight as (

    select log2_bayes_factor as prior_weight from weights
    where comparison = '_prior'

),

weighed as (

    select
        levels.*,
        case levels.comparison
            {% for comparison in config.comparisons -%}
                {%- set field = comparison.name | replace('_', ' ') %}
                when '{{ comparison.name }}' then case levels.gamma
                    when -1 then '{{ field }}: missing on a side'
                    {% for level in comparison.levels -%}
                        {%- set words -%}
                            {%- if level.kind == 'exact' -%} exact
                            {%- elif level.kind == 'levenshtein' -%} at most {{ level.max }} edit{{ 's' if level.max != 1 }}
                            {%- elif level.kind == 'swapped' -%} swapped with {{ level.with | replace('_', ' ') }}
                            {%- elif level.kind == 'similarity' -%} at least {{ (level.min * 100) | round | int }}% alike
                            {%- elif level.kind == 'prefix' -%} first {{ level.length }} characters equal
                            {%- elif level.kind == 'day_month_swapped' -%} day and month swapped
                            {%- elif level.kind == 'tokens' -%}
                                at least {{ (level.min * 100) | round | int }}% of words shared
                            {%- else -%}
                                {{ exceptions.raise_compiler_error('no words for level kind ' ~ level.kind) }}
                            {%- endif -%}
                        {%- endset %}
                        when {{ comparison.levels | length - loop.index0 }} then '{{ field }}: {{ words | trim }}'
                    {% endfor -%}
                    else '{{ field }}: different'
                end
            {% endfor -%}
        end as level_label,
        coalesce(weights.log2_bayes_factor, 0) as log2_bayes_factor,
        prior_weight.prior_weight
    from levels
    cross join prior_weight
    left join weights
        on
            levels.comparison = weights.comparison
            and levels.gamma = weights.gamma

),

summed as (

    select
        *,
        prior_weight + sum(log2_bayes_factor) over (
            partition by record_key_l, record_key_r order by comparison_order
            rows between unbounded preceding and current row
        ) as cumulative_weight,
        prior_weight + sum(log2_bayes_factor) over (partition by record_key_l, record_key_r) as match_weight
    from weighed

)

select
    summed.record_key_l,
    summed.record_key_r,
    -- Null for a pair a never_link split into two profiles.
    case when assigned_l.profile_id = assigned_r.profile_id then assigned_l.profile_id end as profile_id,
    summed.linked_by,
    summed.never_linked,
    summed.comparison_order,
    summed.comparison,
    summed.gamma,
    summed.level_label,
    summed.log2_bayes_factor,
    summed.cumulative_weight,
    summed.prior_weight,
    summed.match_weight,
    power(2.0, summed.match_weight) / (1 + power(2.0, summed.match_weight)) as match_probability
from summed
inner join {{ ref('int_profile_ids_assigned') }} as assigned_l on summed.record_key_l = assigned_l.record_key
inner join {{ ref('int_profile_ids_assigned') }} as assigned_r on summed.record_key_r = assigned_r.record_key
