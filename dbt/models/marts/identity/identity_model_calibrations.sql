{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
          on_schema_change='append_new_columns', table_type='iceberg') }}

-- The identity model estimated on the records it resolves (Fellegi-Sunter, as Splink
-- estimates it): u by random sampling, m by EM per blocking rule with u fixed, the prior from
-- the deterministic rules' matches. A calibration is appended when the build's plan says one
-- is due (macro identity_calibration_plan); otherwise the model appends nothing. The sampling
-- and each EM iteration run as their own queries (macro identity_calibration_estimate): EM
-- unrolled into one statement takes the planners exponential time.
-- depends_on: {{ ref('int_identity_records_normalised') }}
-- depends_on: {{ ref('int_record_pair_patterns') }}
{%- set config = var('c360__identity_resolution') %}
{%- set settings = config.calibration %}
{%- set plan = identity_calibration_plan() %}
{%- set nothing = {'u': [], 'm': [], 'iterations': 0, 'change': none} %}
{%- set estimate = identity_calibration_estimate() if plan.due else nothing %}

with

u as (

    select * from {{ identity_values('u', ['comparison', 'gamma', 'u_probability'],
        estimate.u or [['_none', 0, none]], ['u_probability']) }}

),

session_estimates as (

    select * from {{ identity_values('m', ['session', 'comparison', 'gamma', 'm_probability', 'm_change'],
        estimate.m or [[0, '_none', 0, none, none]], ['m_probability', 'm_change']) }}

),

-- Splink's combination: the median of the sessions' estimates of each level.
ranked_estimates as (

    select
        comparison,
        gamma,
        m_probability,
        m_change,
        row_number() over (partition by comparison, gamma order by m_probability) as estimate_rank,
        count(*) over (partition by comparison, gamma) as estimates
    from session_estimates
    where m_probability is not null

),

estimated_m as (

    select
        comparison,
        gamma,
        avg(
            case
                when estimate_rank in (floor((estimates + 1) / 2.0), floor((estimates + 2) / 2.0)) then m_probability
            end
        ) as m_probability,
        max(m_change) as m_change,
        max(estimates) as sessions
    from ranked_estimates
    where comparison != '_lambda'
    group by comparison, gamma

),

-- The prior: the deterministic rules' matches (the rule that matches most pairs), scaled up
-- by the share of true matches such rules find, over all pairs of records.
rule_groups as (

    select
        rule_name,
        count(*) + 1 as group_size
    from {{ ref('int_record_pairs_ruled') }}
    where {{ 'true' if plan.due else 'false' }}
    group by rule_name, anchor_key

),

prior_estimate as (

    select
        max(rule_pairs) / {{ settings.rules_recall }}
        -- All pairs of records, as a double: a million records' pairs overflow a 32-bit integer.
        / {{ identity_double(plan.records * (plan.records - 1) / 2) }} as probability_two_random_records_match
    from (
        select sum(group_size * (group_size - 1) / 2) as rule_pairs
        from rule_groups
        group by rule_name
    ) as per_rule

),

weights as (

    select
        u.comparison,
        u.gamma,
        u.gamma = max(u.gamma) over (partition by u.comparison) as is_top_level,
        estimated_m.m_probability is not null as is_estimated,
        -- A level EM never saw weighs nothing (m = u), as one of a comparison no pair shows.
        case
            when estimated_m.m_probability is null then u.u_probability
            else greatest(estimated_m.m_probability, {{ settings.m_floor }})
        end as m_probability,
        u.u_probability,
        estimated_m.m_change,
        estimated_m.sessions
    from u
    left join estimated_m on u.comparison = estimated_m.comparison and u.gamma = estimated_m.gamma
    where u.comparison != '_lambda'

),

figures as (

    select
        max(m_change) as em_max_change,
        max(sessions) as em_sessions,
        min(case when is_estimated and is_top_level and m_probability <= u_probability then comparison end)
            as agreement_against,
        min(case when is_estimated and gamma = 0 and m_probability > u_probability then comparison end)
            as disagreement_for
    from weights

),

calibration as (

    select
        figures.*,
        prior_estimate.probability_two_random_records_match,
        case
            when coalesce(prior_estimate.probability_two_random_records_match, 0) = 0
                then 'no two records meet a deterministic rule: the prior cannot be estimated'
            when prior_estimate.probability_two_random_records_match >= 1
                then 'the deterministic rules match more pairs than there are'
            when figures.em_sessions is null
                then 'no blocking rule yields {{ settings.em_min_pairs }} candidate pairs: m cannot be estimated'
            when figures.em_max_change > {{ settings.em_tolerance }}
                then 'EM did not converge in {{ estimate.iterations }} iterations'
            when figures.agreement_against is not null
                then 'agreeing on ' || figures.agreement_against || ' counts against a match'
            when figures.disagreement_for is not null
                then 'disagreeing on ' || figures.disagreement_for || ' counts for a match'
        end as degenerate_reason
    from figures
    cross join prior_estimate

),

calibrated_levels as (

    select
        comparison,
        gamma,
        m_probability,
        u_probability,
        case
            when u_probability is not null then log2(m_probability / u_probability)
            else 0
        end as log2_bayes_factor
    from weights

    union all

    select
        '_prior' as comparison,
        0 as gamma,
        cast(null as double) as m_probability,
        cast(null as double) as u_probability,
        case
            when probability_two_random_records_match > 0 and probability_two_random_records_match < 1
                then log2(probability_two_random_records_match / (1 - probability_two_random_records_match))
        end as log2_bayes_factor
    from calibration

)

select
    {{ plan.calibration_id }} as calibration_id,
    {{ identity_as_of() }} as calibrated_as_of,
    '{{ plan.spec_hash }}' as spec_hash,
    cast({{ plan.records }} as bigint) as records,
    cast(least({{ plan.records }}, {{ settings.sample_records }}) as bigint) as sampled_records,
    cast(calibration.em_sessions as integer) as em_sessions,
    {{ estimate.iterations }} as em_iterations,
    round(calibration.em_max_change, 9) as em_max_change,
    round(calibration.probability_two_random_records_match, 12) as probability_two_random_records_match,
    calibration.degenerate_reason is not null as is_degenerate,
    calibration.degenerate_reason,
    levels.comparison,
    cast(levels.gamma as integer) as gamma,
    -- Rounded: sums over threads differ in the last bits, and the same records must give the same model.
    round(levels.m_probability, 12) as m_probability,
    round(levels.u_probability, 12) as u_probability,
    round(levels.log2_bayes_factor, 6) as log2_bayes_factor
from calibrated_levels as levels
cross join calibration
where {{ 'true' if plan.due else 'false' }}
