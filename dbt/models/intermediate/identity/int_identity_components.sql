{{ config(materialized='table') }}

-- Connected components of the links (never_link pairs excepted): each linked record gets its
-- component's smallest record key. Min-label propagation, unrolled a fixed number of rounds,
-- each reading the previous round once (Trino inlines CTEs); rule links are stars, so rounds
-- are needed only for chains of model and must links. The test
-- assert_identity_clusters_converged fails if a component needed more rounds. Records no
-- link touches are not here: each is a cluster of its own.
{%- set rounds = var('c360__identity_resolution').clustering_rounds %}

with

edges as (

    select
        node_a,
        node_b
    from {{ ref('int_identity_links') }}
    where not never_linked

),

undirected as (

    -- Both directions plus a loop on every linked node, so one join per round carries a
    -- node's own label as well as its neighbours'.
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
        node_a,
        node_a as node_b
    from edges
    union all
    select
        node_b as node_a,
        node_b
    from edges

),

labels_0 as (

    select distinct
        node_a as node,
        node_a as lowest_key
    from undirected

),

{% for round in range(1, rounds + 1) %}
    labels_{{ round }} as (

        select
            undirected.node_a as node,
            min(labels.lowest_key) as lowest_key
        from undirected
        inner join labels_{{ round - 1 }} as labels on undirected.node_b = labels.node
        group by undirected.node_a

    ),

{% endfor %}
components as (

    select
        node as record_key,
        lowest_key as component_key
    from labels_{{ rounds }}

)

select * from components
