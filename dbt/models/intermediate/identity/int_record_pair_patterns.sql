{{ config(materialized='table') }}

-- What EM trains on (identity_model_calibrations): the candidate pairs' agreement patterns,
-- counted, one set per blocking rule that can be told from the gammas (a session, Splink's
-- term), in long form: a row per pattern and comparison the session estimates, and one
-- `_lambda` row per pattern. A session leaves out its own rule's fields: they agree in every
-- pair it holds, matching or not.
{%- set config = var('c360__identity_resolution') %}
{%- set sessions = identity_calibration_sessions() %}
{%- set gammas = [] %}
{%- for comparison in config.comparisons %}{% do gammas.append('gamma_' ~ comparison.name) %}{% endfor %}

with

patterns as (

    select
        {{ gammas | join(', ') }},
        count(*) as pairs
    from {{ ref('int_record_pairs_compared') }}
    group by {{ gammas | join(', ') }}

),

numbered as (

    select
        *,
        row_number() over (order by {{ gammas | join(', ') }}) as pattern_id
    from patterns

),

in_sessions as (

    select
        sessions.session,
        numbered.*
    from numbered
    cross join (
        values
        {% for session in sessions -%}
            ({{ session.number }}){{ ',' if not loop.last }}
        {% endfor -%}
    ) as sessions (session)
    where case sessions.session
        {% for session in sessions -%}
            when {{ session.number }} then {{ session.condition }}
        {% endfor -%}
    end

),

unpivoted as (

    select
        in_sessions.session,
        in_sessions.pattern_id,
        in_sessions.pairs,
        compared.comparison,
        {{ gamma_of('compared.comparison', 'in_sessions') }} as gamma
    from in_sessions
    cross join (
        values
        {% for comparison in config.comparisons -%}
            ('{{ comparison.name }}'),
        {% endfor -%}
        ('_lambda')
    ) as compared (comparison)
    where not case in_sessions.session
        {% for session in sessions -%}
            when {{ session.number }} then compared.comparison in {{ sql_list(session.fields) }}
        {% endfor -%}
    end

)

select
    session,
    pattern_id,
    pairs,
    comparison,
    cast(gamma as integer) as gamma
from unpivoted
-- A comparison null on either side says nothing: Splink leaves it out of the likelihood.
where gamma != -1
