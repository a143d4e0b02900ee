{{ config(materialized='table') }}

-- Stable profile ids. Clusters are re-formed every run, so ids are carried forward from the
-- previous profile_links: each previous id goes to the cluster now holding most of its
-- records, and a cluster keeps the inherited id covering most of its records. A cluster
-- that inherits nothing gets a new id. So a profile whose members did not change keeps its
-- id; a merge keeps the larger side's id; a split leaves the id with the larger part.
-- The previous links are read by name (not ref: profile_links is built from this model),
-- and only when building: `dbt compile` needs no warehouse.
{%- set previous_links = adapter.get_relation(
    database=target.database, schema=target.schema, identifier='profile_links'
) if execute and flags.WHICH in ('run', 'build') else none %}
{%- set id_seed = var('c360__interval_end') or 'full' %}

with

clusters as (

    select * from {{ ref('int_identity_records_clustered') }}

),

previous as (

    {%- if previous_links %}
    select
        record_key,
        profile_id as previous_profile_id
    from {{ previous_links }}
    {%- else %}
        select
            cast(null as varchar) as record_key,
            cast(null as varchar) as previous_profile_id
        where 1 = 0
    {%- endif %}

),

members as (

    select
        clusters.*,
        previous.previous_profile_id
    from clusters
    left join previous on clusters.record_key = previous.record_key

),

claims as (

    select
        cluster_key,
        previous_profile_id,
        count(*) as claiming_records
    from members
    where previous_profile_id is not null
    group by cluster_key, previous_profile_id

),

heirs as (

    select
        cluster_key,
        previous_profile_id,
        claiming_records,
        row_number() over (
            partition by previous_profile_id order by claiming_records desc, cluster_key asc
        ) as heir_rank
    from claims

),

kept as (

    select
        cluster_key,
        previous_profile_id as profile_id,
        row_number() over (
            partition by cluster_key order by claiming_records desc, previous_profile_id asc
        ) as kept_rank
    from heirs
    where heir_rank = 1

)

select
    members.record_key,
    coalesce(
        kept.profile_id,
        -- Seeded with the interval so an id given up in a split is never minted again.
        'p-' || substr({{ dbt.hash("members.cluster_key || '|' || '" ~ id_seed ~ "'") }}, 1, 24)
    ) as profile_id,
    members.previous_profile_id,
    members.cluster_key,
    members.matched_by,
    members.match_probability
from members
left join kept on members.cluster_key = kept.cluster_key and kept.kept_rank = 1
