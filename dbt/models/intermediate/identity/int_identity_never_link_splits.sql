{{ config(materialized='table') }}

-- never_link overrides (seed identity_overrides) that other links bridge: the two records
-- are in one component, so it is split. Every record named by such a never_link starts a
-- part, and each record of the component joins the part it is fewest links from (at a tie,
-- the smallest record key): the same unrolled propagation as the components, carrying
-- (distance, record) as one sortable key. The links between parts are cut. So a
-- never_link always wins over a chain of links, must_link ones included, and the bridging
-- records go with the side they are closer to. A component holding several never_links is
-- split into a part per record they name. Only split components are here.
{%- set rounds = var('c360__identity_resolution').clustering_rounds %}
{#- Distances as fixed-width text, so the smallest key is the nearest start, then the smallest key. -#}
{%- set width = 4 %}

with

components as (

    select * from {{ ref('int_identity_components') }}

),

never_links as (

    select
        record_key_a,
        record_key_b
    from {{ ref('identity_overrides') }}
    where decision = 'never_link'

),

bridged as (

    -- Both records linked, into one component (a never_link naming anything else has nothing to split).
    select
        a.record_key as record_key_a,
        b.record_key as record_key_b,
        a.component_key
    from never_links
    inner join components as a on never_links.record_key_a = a.record_key
    inner join components as b on never_links.record_key_b = b.record_key
    where a.component_key = b.component_key

),

starts as (

    select
        record_key_a as record_key,
        component_key
    from bridged
    union
    select
        record_key_b as record_key,
        component_key
    from bridged

),

split_records as (

    select components.*
    from components
    where components.component_key in (select starts.component_key from starts)

),

edges as (

    select
        links.node_a,
        links.node_b
    from {{ ref('int_identity_links') }} as links
    inner join split_records on links.node_a = split_records.record_key
    where not links.never_linked

),

undirected as (

    -- Both directions plus a loop on every record, as for the components.
    select
        node_a,
        node_b
    from edges
    union all
    select
        node_b as node_a,
        node_a as node_b
    from edges
    union all
    select
        record_key as node_a,
        record_key as node_b
    from split_records

),

nearest_0 as (

    select
        record_key as node,
        lpad('0', {{ width }}, '0') || record_key as distance_key
    from starts

),

{% for round in range(1, rounds + 1) %}
    nearest_{{ round }} as (

        select
            undirected.node_a as node,
            min(
                case
                    when undirected.node_a = undirected.node_b then nearest.distance_key
                    else
                        lpad(
                            cast(cast(substr(nearest.distance_key, 1, {{ width }}) as integer) + 1 as varchar),
                            {{ width }},
                            '0'
                        )
                        || substr(nearest.distance_key, {{ width + 1 }})
                end
            ) as distance_key
        from undirected
        inner join nearest_{{ round - 1 }} as nearest on undirected.node_b = nearest.node
        group by undirected.node_a

    ),

{% endfor %}
parts as (

    select
        split_records.record_key,
        split_records.component_key,
        -- Null when it is further than clustering_rounds links from every start
        -- (assert_identity_clusters_converged fails the build then).
        substr(nearest.distance_key, {{ width + 1 }}) as nearest_never_linked_key
    from split_records
    left join nearest_{{ rounds }} as nearest on split_records.record_key = nearest.node

)

select
    record_key,
    component_key,
    nearest_never_linked_key,
    min(record_key) over (partition by component_key, nearest_never_linked_key) as part_key
from parts
