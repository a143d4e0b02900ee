{{ config(materialized='table') }}

-- Connected components of the rule links and the model links at or above the threshold:
-- each record gets its cluster's smallest record key. Min-label propagation, unrolled a
-- fixed number of rounds, each reading the previous round once (Trino inlines CTEs); rule
-- links are stars, so rounds are needed only for chains of model links. The test
-- assert_identity_clusters_converged fails if a component needed more rounds.
-- Contact points (engagement addresses) are then attached to the cluster of the
-- best-ranked record holding their email or phone, so a shared address never bridges two
-- people; one that matches nobody forms a cluster with the contact points sharing it.
{%- set rounds = var('c360__identity_resolution').clustering_rounds %}

with

records as (

    select * from {{ ref('int_identity_records_normalised') }}

),

rule_links as (

    select
        record_key,
        min(rule_order) as rule_order
    from (
        select
            record_key,
            rule_order
        from {{ ref('int_record_pairs_ruled') }}
        union all
        select
            anchor_key as record_key,
            rule_order
        from {{ ref('int_record_pairs_ruled') }}
    ) as ends
    group by record_key

),

model_links as (

    select
        record_key_l,
        record_key_r,
        match_probability
    from {{ ref('int_record_pairs_scored') }}
    where match_probability >= {{ var('c360__identity_resolution').match_threshold }}

),

edges as (

    select
        record_key as node_a,
        anchor_key as node_b
    from {{ ref('int_record_pairs_ruled') }}
    union
    select
        record_key_l as node_a,
        record_key_r as node_b
    from model_links

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
model_scores as (

    select
        record_key,
        max(match_probability) as match_probability
    from (
        select
            record_key_l as record_key,
            match_probability
        from model_links
        union all
        select
            record_key_r as record_key,
            match_probability
        from model_links
    ) as ends
    group by record_key

),

resolved as (

    select
        records.record_key,
        coalesce(labels.lowest_key, records.record_key) as cluster_key,
        case
            when rule_links.rule_order is not null then rule_links.rule_order
            when model_scores.match_probability is not null then 0
        end as link_order,
        model_scores.match_probability
    from records
    left join labels_{{ rounds }} as labels on records.record_key = labels.node
    left join rule_links on records.record_key = rule_links.record_key
    left join model_scores on records.record_key = model_scores.record_key
    where not records.is_contact_point

),

contact_hits as (

    -- Two equi-joins rather than one join on "email or phone": both engines hash-join these.
    select
        contact.record_key,
        held.record_key as held_by
    from records as contact
    inner join records as held on contact.email = held.email
    where contact.is_contact_point and not held.is_contact_point
    union
    select
        contact.record_key,
        held.record_key as held_by
    from records as contact
    inner join records as held on contact.phone = held.phone
    where contact.is_contact_point and not held.is_contact_point

),

contact_matches as (

    select
        contact_hits.record_key,
        min(held.survivorship_key) as best_survivorship_key,
        count(distinct resolved.cluster_key) as matched_clusters
    from contact_hits
    inner join records as held on contact_hits.held_by = held.record_key
    inner join resolved on contact_hits.held_by = resolved.record_key
    group by contact_hits.record_key

),

contacts_attached as (

    select
        contact_matches.record_key,
        resolved.cluster_key,
        contact_matches.matched_clusters
    from contact_matches
    inner join records as best on contact_matches.best_survivorship_key = best.survivorship_key
    inner join resolved on best.record_key = resolved.record_key

),

contacts_unmatched as (

    select
        record_key,
        min(record_key) over (partition by coalesce(email, phone)) as cluster_key
    from records
    where is_contact_point and record_key not in (select contact_matches.record_key from contact_matches)

)

select
    record_key,
    cluster_key,
    case
        when link_order = 0 then 'model'
        {%- for rule in var('c360__identity_resolution').rules %}
            when link_order = {{ loop.index }} then '{{ rule.name }}'
        {%- endfor %}
        else 'unmatched'
    end as matched_by,
    match_probability
from resolved
union all
select
    record_key,
    cluster_key,
    case when matched_clusters > 1 then 'shared_contact_point' else 'contact_point' end as matched_by,
    cast(null as double) as match_probability
from contacts_attached
union all
select
    record_key,
    cluster_key,
    case
        when cluster_key = record_key and count(*) over (partition by cluster_key) = 1 then 'unmatched' else
            'contact_point'
    end
        as matched_by,
    cast(null as double) as match_probability
from contacts_unmatched
