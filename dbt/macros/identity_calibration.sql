{#- Self-calibration of the identity model (identity_model_calibrations). -#}

{#- Whether this build estimates the model again, and the figures that decide it: the records
    resolved (not contact points) and a hash of the spec. Due when there is no estimate yet, the
    spec changed, the records grew or shrank by recalibrate_on_change since the last one, or the
    var c360__identity_recalibrate is true (an operator's "now"). Queried when the model runs
    (upstream models are built by then). -#}
{% macro identity_calibration_plan() -%}
  {%- set config = var('c360__identity_resolution') -%}
  {%- set settings = config.calibration -%}
  {%- set spec = {
      'comparisons': config.comparisons, 'blocking_rules': config.blocking_rules, 'rules': config.rules,
      'blocked_values': config.blocked_values, 'max_block_size': config.max_block_size, 'calibration': settings,
  } -%}
  {%- set plan = {'due': false, 'calibration_id': 1, 'records': 0, 'spec_hash': local_md5(tojson(spec, sort_keys=true))} -%}
  {#- Only a run or build estimates: compiling (dbt compile, sqlfluff) queries nothing. -#}
  {%- if not execute or flags.WHICH not in ['run', 'build'] -%}
    {{ return(plan) }}
  {%- endif -%}
  {%- set counted = run_query(
      'select count(*) from ' ~ ref('int_identity_records_normalised') ~ ' where not is_contact_point'
  ) -%}
  {%- do plan.update({'records': counted.columns[0].values()[0] | int}) -%}
  {%- if plan.records < settings.min_records -%}
    {{ return(plan) }}
  {%- endif -%}
  {%- set forced = var('c360__identity_recalibrate') in [true, 'true', 'True', '1'] -%}
  {%- if is_incremental() -%}
    {%- set last = run_query(
        'select calibration_id, records, spec_hash from ' ~ this ~ ' order by calibration_id desc limit 1'
    ) -%}
    {%- if last.rows | length > 0 -%}
      {%- set last_id, last_records, last_hash = last.rows[0][0] | int, last.rows[0][1] | int, last.rows[0][2] -%}
      {%- do plan.update({'calibration_id': last_id + 1}) -%}
      {%- if not forced and last_hash == plan.spec_hash
            and (plan.records - last_records) | abs < last_records * settings.recalibrate_on_change -%}
        {{ return(plan) }}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {%- do plan.update({'due': true}) -%}
  {{ return(plan) }}
{%- endmacro %}

{#- The blocking rules EM trains on: each a session (Splink's): its pairs agree exactly on the
    rule's fields, so those comparisons are left out of the session. Rules on a field that is
    not compared, or compared without an exact first level, cannot be told apart by gamma and
    are left out. -#}
{% macro identity_calibration_sessions() -%}
  {%- set config = var('c360__identity_resolution') -%}
  {%- set exact_first = {} -%}
  {%- for comparison in config.comparisons if comparison.levels[0].kind == 'exact' -%}
    {%- do exact_first.update({comparison.name: comparison.levels | length}) -%}
  {%- endfor -%}
  {%- set sessions = [] -%}
  {%- for rule in config.blocking_rules -%}
    {%- set fields = rule | select('in', exact_first) | list -%}
    {%- if fields | length == rule | length -%}
      {%- set condition = [] -%}
      {%- for field in rule -%}
        {%- do condition.append('gamma_' ~ field ~ ' = ' ~ exact_first[field]) -%}
      {%- endfor -%}
      {%- do sessions.append({'number': loop.index, 'fields': rule, 'condition': condition | join(' and ')}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(sessions) }}
{%- endmacro %}

{#- A double as a SQL literal both engines read as a double (Trino reads 0.5 as a decimal). -#}
{% macro identity_double(value) -%}
  {%- if value is none -%}cast(null as double){%- else -%}{{ '%.17e' | format(value | float) }}{%- endif -%}
{%- endmacro %}

{#- Rows as a relation: (values ...) as name (columns); the `double_columns` rendered as doubles. -#}
{% macro identity_values(name, columns, rows, double_columns=[]) -%}
  (
      values
      {% for row in rows -%}
          ({% for column in columns -%}
              {%- set value = row[loop.index0] -%}
              {%- if column in double_columns -%}{{ identity_double(value) }}
              {%- elif value is string -%}'{{ value }}'
              {%- else -%}{{ value | int }}
              {%- endif -%}{{ ', ' if not loop.last }}
          {%- endfor %}){{ ',' if not loop.last }}
      {% endfor -%}
  ) as {{ name }} ({{ columns | join(', ') }})
{%- endmacro %}

{#- Every level of every comparison (gamma as Splink numbers them) with EM's starting m, a
    geometric share that favours agreement, and `_lambda` (the share of matches in a session)
    starting at 0.5. -#}
{% macro identity_calibration_levels() -%}
  {%- set config = var('c360__identity_resolution') -%}
  {%- set rows = [] -%}
  {%- for comparison in config.comparisons -%}
    {%- set top = comparison.levels | length -%}
    {%- set total = namespace(value=0) -%}
    {%- for gamma in range(top + 1) %}{% set total.value = total.value + 4 ** gamma %}{% endfor -%}
    {%- for gamma in range(top, -1, -1) -%}
      {%- do rows.append([comparison.name, gamma, 4 ** gamma / total.value]) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- do rows.append(['_lambda', 0, 0.5]) -%}
  {{ return(rows) }}
{%- endmacro %}

{#- u: how often random pairs are at each level, from every pair of a fixed sample of records
    (by hash of the key). A level no sampled pair showed counts once: rare, not impossible. A
    comparison null in every sampled pair has no u. -#}
{% macro identity_u_sampled_sql() -%}
  {%- set config = var('c360__identity_resolution') -%}
  with

  sampled as (
      select record_key, {{ identity_compared_columns() | join(', ') }}
      from {{ ref('int_identity_records_normalised') }}
      where not is_contact_point
      order by {{ dbt.hash('record_key') }}
      limit {{ config.calibration.sample_records }}
  ),

  sampled_pairs as (
      select
          {% for comparison in config.comparisons -%}
              {{ comparison_gamma(comparison) }} as gamma_{{ comparison.name }}{{ ',' if not loop.last }}
          {% endfor -%}
      from sampled as l
      inner join sampled as r on l.record_key < r.record_key
  ),

  patterns as (
      select
          {% for comparison in config.comparisons -%}
              gamma_{{ comparison.name }},
          {% endfor -%}
          count(*) as pairs
      from sampled_pairs
      group by
          {% for comparison in config.comparisons -%}
              gamma_{{ comparison.name }}{{ ',' if not loop.last }}
          {% endfor %}
  ),

  seen as (
      select
          levels.comparison,
          {{ gamma_of('levels.comparison', 'patterns') }} as gamma,
          sum(patterns.pairs) as pairs
      from patterns
      cross join (
          select distinct comparison from {{ identity_values('listed', ['comparison', 'gamma', 'm_start'], identity_calibration_levels(), ['m_start']) }}
      ) as levels
      group by 1, 2
  )

  select
      levels.comparison,
      levels.gamma,
      cast(coalesce(seen.pairs, 1) as double) / sum(seen.pairs) over (partition by levels.comparison) as u_probability
  from {{ identity_values('levels', ['comparison', 'gamma', 'm_start'], identity_calibration_levels(), ['m_start']) }}
  left join seen on levels.comparison = seen.comparison and levels.gamma = seen.gamma
  where levels.comparison != '_lambda'
{%- endmacro %}

{#- One EM iteration (Splink's, with u fixed) from `params` (session, comparison, gamma, m):
    each pattern's match probability in its session, then each level's m and the session's
    lambda from those probabilities; `change` is how far each moved. -#}
{% macro identity_em_iteration_sql(params, u) -%}
  with

  params as (select * from {{ params }}),

  u as (select * from {{ u }}),

  terms as (
      select
          pattern_rows.session,
          pattern_rows.pattern_id,
          case
              when pattern_rows.comparison = '_lambda'
                  then log2(greatest(params.m, 1e-12) / greatest(1 - params.m, 1e-12))
              else log2(greatest(params.m, 1e-12) / u.u_probability)
          end as term
      from {{ ref('int_record_pair_patterns') }} as pattern_rows
      inner join params
          on
              pattern_rows.session = params.session
              and pattern_rows.comparison = params.comparison
              and pattern_rows.gamma = params.gamma
      left join u on pattern_rows.comparison = u.comparison and pattern_rows.gamma = u.gamma
  ),

  posteriors as (
      select
          session,
          pattern_id,
          1 / (1 + power(2.0, -sum(term))) as posterior
      from terms
      group by session, pattern_id
  ),

  counts as (
      select
          pattern_rows.session,
          pattern_rows.comparison,
          pattern_rows.gamma,
          sum(posteriors.posterior * pattern_rows.pairs) as match_pairs,
          sum(pattern_rows.pairs) as pairs
      from {{ ref('int_record_pair_patterns') }} as pattern_rows
      inner join posteriors on pattern_rows.session = posteriors.session and pattern_rows.pattern_id = posteriors.pattern_id
      group by pattern_rows.session, pattern_rows.comparison, pattern_rows.gamma
  ),

  estimated as (
      select
          session,
          comparison,
          gamma,
          -- 0, not null, when no pair of the session is a match: greatest() skips nulls on
          -- DuckDB and returns null on Trino.
          coalesce(case
              when comparison = '_lambda' then match_pairs / pairs
              else match_pairs / nullif(sum(match_pairs) over (partition by session, comparison), 0)
          end, 0) as m
      from counts
  )

  select
      estimated.session,
      estimated.comparison,
      estimated.gamma,
      estimated.m,
      abs(estimated.m - params.m) as change
  from estimated
  inner join params
      on estimated.session = params.session and estimated.comparison = params.comparison
      and estimated.gamma = params.gamma
  order by 1, 2, 3
{%- endmacro %}

{#- The estimate when the plan says one is due: u sampled, then EM from the starting m until
    no probability moves more than Splink's convergence (1e-4) or em_iterations ran. Runs its
    queries as the model is built; returns the u rows, the sessions' m rows (session,
    comparison, gamma, m, change), the iterations run and the sessions' pair counts. -#}
{% macro identity_calibration_estimate() -%}
  {%- set settings = var('c360__identity_resolution').calibration -%}
  {%- set u_rows = run_query(identity_u_sampled_sql()).rows | map('list') | list -%}
  {%- set u_relation = identity_values('u', ['comparison', 'gamma', 'u_probability'],
        u_rows | selectattr(2, 'ne', none) | list, ['u_probability']) -%}
  {%- set session_pairs = run_query(
      'select session, sum(pairs) from ' ~ ref('int_record_pair_patterns')
      ~ " where comparison = '_lambda' group by session having sum(pairs) >= " ~ settings.em_min_pairs
  ).rows | map('list') | list -%}
  {%- set state = namespace(params=none, rows=[], iterations=0, change=none) -%}
  {%- if session_pairs | length > 0 -%}
    {%- set sessions_sql = session_pairs | map(attribute=0) | map('int') | join(', ') -%}
    {%- set state.params = '(select distinct pattern_rows.session, pattern_rows.comparison, pattern_rows.gamma, levels.m_start as m from '
        ~ ref('int_record_pair_patterns') ~ ' as pattern_rows inner join '
        ~ identity_values('levels', ['comparison', 'gamma', 'm_start'], identity_calibration_levels(), ['m_start'])
        ~ ' on pattern_rows.comparison = levels.comparison and pattern_rows.gamma = levels.gamma where pattern_rows.session in ('
        ~ sessions_sql ~ ')) as start' -%}
    {%- for iteration in range(settings.em_iterations) if state.change is none or state.change > 1e-4 -%}
      {%- set state.rows = run_query(identity_em_iteration_sql(state.params, u_relation)).rows | map('list') | list -%}
      {%- set state.iterations = iteration + 1 -%}
      {%- set state.change = state.rows | map(attribute=4) | map('float') | max -%}
      {%- set state.params = identity_values('previous', ['session', 'comparison', 'gamma', 'm'], state.rows, ['m']) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return({'u': u_rows, 'm': state.rows, 'iterations': state.iterations, 'change': state.change,
             'session_pairs': session_pairs}) }}
{%- endmacro %}
