{#- Identity resolution, rendered from the `c360__identity_resolution` var (dbt_project.yml). -#}

{#- The SQL condition under which a pair (aliases l, r) is at one comparison level; the same
    condition include/identity/model.py gives Splink to train on. -#}
{% macro comparison_level_condition(column, level) -%}
  {%- if level.kind == 'exact' -%}
    l.{{ column }} = r.{{ column }}
  {%- elif level.kind == 'levenshtein' -%}
    {{ levenshtein('l.' ~ column, 'r.' ~ column) }} <= {{ level.max }}
  {%- elif level.kind == 'swapped' -%}
    l.{{ column }} = r.{{ level.with }} and l.{{ level.with }} = r.{{ column }}
  {%- elif level.kind == 'similarity' -%}
    {#- In whole percent, so both engines and Splink compare integers: no rounding at the boundary. #}
    {{ levenshtein('l.' ~ column, 'r.' ~ column) }} * 100
    <= {{ ((1 - level.min) * 100) | round | int }} * greatest(length(l.{{ column }}), length(r.{{ column }}))
  {%- elif level.kind == 'prefix' -%}
    length(l.{{ column }}) >= {{ level.length }}
    and substr(l.{{ column }}, 1, {{ level.length }}) = substr(r.{{ column }}, 1, {{ level.length }})
  {%- elif level.kind == 'day_month_swapped' -%}
    substr(l.{{ column }}, 1, 4) = substr(r.{{ column }}, 1, 4)
    and substr(l.{{ column }}, 6, 2) = substr(r.{{ column }}, 9, 2)
    and substr(l.{{ column }}, 9, 2) = substr(r.{{ column }}, 6, 2)
  {%- elif level.kind == 'tokens' -%}
    {{ shared_words('l.' ~ column, 'r.' ~ column) }} * 100
    >= {{ (level.min * 100) | round | int }} * {{ distinct_words('l.' ~ column, 'r.' ~ column) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error('unknown comparison level kind: ' ~ level.kind) }}
  {%- endif -%}
{%- endmacro %}

{#- A comparison's gamma, numbered as Splink numbers it: a null side is -1, the listed levels
    count down from their number to 1, anything else is 0. -#}
{% macro comparison_gamma(comparison) -%}
  case
      when l.{{ comparison.name }} is null or r.{{ comparison.name }} is null then -1
      {%- for level in comparison.levels %}
      when {{ comparison_level_condition(comparison.name, level) }} then {{ comparison.levels | length - loop.index0 }}
      {%- endfor %}
      else 0
  end
{%- endmacro %}

{#- A pair's gamma on the comparison named by `comparison` (a column): its gamma_<name> column
    of `relation` (0 for a name that is no comparison, as `_lambda`). Unpivots the gamma columns. -#}
{% macro gamma_of(comparison, relation) -%}
  case {{ comparison }}
      {%- for listed in var('c360__identity_resolution').comparisons %}
      when '{{ listed.name }}' then {{ relation }}.gamma_{{ listed.name }}
      {%- endfor %}
      else 0
  end
{%- endmacro %}

{#- The data interval's end, or "all data" for a full rebuild (no wall-clock time). -#}
{% macro identity_as_of() -%}
  {%- if var('c360__interval_end') -%}
    cast('{{ var("c360__interval_end") }}' as timestamp)
  {%- else -%}
    cast(null as timestamp)
  {%- endif -%}
{%- endmacro %}

{#- A Jinja list as a SQL tuple of string literals. -#}
{% macro sql_list(values) -%}
  ({%- for value in values -%}'{{ value }}'{{ ', ' if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#- A source kind's survivorship priority (c360__identity_resolution.source_priority). -#}
{% macro source_priority(column) -%}
  case {{ column }}
  {%- for kind, priority in var('c360__identity_resolution').source_priority.items() %}
      when '{{ kind }}' then {{ priority }}
  {%- endfor %}
  end
{%- endmacro %}

{#- Engagement features per channel: metric → the outcomes that count (none: any outbound
    message). Columns are <channel>_<metric>_<30|90>d. -#}
{% macro engagement_feature_metrics() -%}
  {{ return({
      'email': {'sends': none, 'deliveries': ['delivered'], 'opens': ['opened'], 'clicks': ['clicked']},
      'sms': {'sends': none, 'deliveries': ['delivered']},
      'voice': {'sends': none, 'deliveries': ['delivered']},
      'whatsapp': {'sends': none, 'deliveries': ['delivered', 'read'], 'reads': ['read']},
  }) }}
{%- endmacro %}

{#- The record columns the comparisons read: each compared field, and any field a 'swapped'
    level compares it with (first_name against last_name) that is not compared itself. -#}
{% macro identity_compared_columns() -%}
  {%- set config = var('c360__identity_resolution') -%}
  {%- set columns = config.comparisons | map(attribute='name') | list -%}
  {%- for comparison in config.comparisons -%}
    {%- for level in comparison.levels if level.kind == 'swapped' and level.with not in columns -%}
      {%- do columns.append(level.with) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}
