{{ config(**history_incremental_config(['recorded_for'])) }}

-- One row per build interval: how the profiles are clustered (the size distribution over
-- unified_profiles.source_record_count, the measure max_profile_size caps), the merges and
-- splits the build recorded (profile_merges) and how each record matched (profile_links), so
-- a drift in identity quality shows between builds. A replayed interval replaces its row.
{%- set config = var('c360__identity_resolution') %}
{%- set size_buckets = {'1': [1, 1], '2': [2, 2], '3_to_5': [3, 5], '6_to_10': [6, 10], '11_to_50': [11, 50]} %}
{%- set rules = config.rules | map(attribute='name') | list %}
{%- set matched_by = ['must_link'] + rules + ['model', 'never_link', 'contact_point', 'shared_contact_point'] %}

with

sizes as (

    -- Sums cast to bigint: DuckDB's are 128-bit, which pandas reads as floats.
    select
        count(*) as profiles,
        cast(sum(source_record_count) as bigint) as source_records,
        max(source_record_count) as largest_profile_records,
        {% for name, bounds in size_buckets.items() -%}
            count(
                case when source_record_count between {{ bounds[0] }} and {{ bounds[1] }} then 1 end
            ) as profiles_of_{{ name }},
        {% endfor -%}
        count(case when source_record_count > 50 then 1 end) as profiles_over_50
    from {{ ref('unified_profiles') }}

),

changes as (

    select
        count(case when change_kind = 'merge' then 1 end) as merges_recorded,
        count(case when change_kind = 'split' then 1 end) as splits_recorded,
        cast(coalesce(sum(moved_records), 0) as bigint) as records_moved
    from {{ ref('profile_merges') }}
    where recorded_for is not distinct from {{ identity_as_of() }}

),

links as (

    select
        {% for name in matched_by -%}
            count(case when matched_by = '{{ name }}' then 1 end) as links_{{ name }},
        {% endfor -%}
        count(case when matched_by = 'unmatched' then 1 end) as links_unmatched
    from {{ ref('profile_links') }}

)

select
    {{ identity_as_of() }} as recorded_for,
    sizes.*,
    changes.*,
    links.*
from sizes
cross join changes
cross join links
