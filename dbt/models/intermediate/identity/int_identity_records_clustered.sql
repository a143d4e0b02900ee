{{ config(materialized='table') }}

-- Every record's cluster: its component of links (int_identity_components), or the part of
-- it a never_link split gave it (int_identity_never_link_splits); the cluster key is the
-- cluster's smallest record key. matched_by names the strongest of its links that still hold
-- (must_link, then the rules in order, then the model); 'never_link' when a never_link cut
-- every link it had. Contact points (engagement addresses) are then attached to the cluster
-- of the best-ranked record holding their email or phone, so a shared address never bridges
-- two people; one that matches nobody forms a cluster with the contact points sharing it.
{%- set config = var('c360__identity_resolution') %}

with

records as (

    select * from {{ ref('int_identity_records_normalised') }}

),

splits as (

    select * from {{ ref('int_identity_never_link_splits') }}

),

kept_links as (

    -- A link holds unless a never_link names its pair or a split put its ends in different parts.
    select
        links.node_a,
        links.node_b,
        links.link_order,
        links.match_probability
    from {{ ref('int_identity_links') }} as links
    left join splits as split_a on links.node_a = split_a.record_key
    left join splits as split_b on links.node_b = split_b.record_key
    where not links.never_linked and coalesce(split_a.part_key, '') = coalesce(split_b.part_key, '')

),

link_ends as (

    select
        record_key,
        min(link_order) as link_order,
        max(match_probability) as match_probability
    from (
        select
            node_a as record_key,
            link_order,
            match_probability
        from kept_links
        union all
        select
            node_b as record_key,
            link_order,
            match_probability
        from kept_links
    ) as ends
    group by record_key

),

cut_records as (

    -- Records a never_link override touched: their own pair, or a split of their component.
    select node_a as record_key from {{ ref('int_identity_links') }}
    where never_linked
    union
    select node_b as record_key from {{ ref('int_identity_links') }}
    where never_linked
    union
    select record_key from splits

),

resolved as (

    select
        records.record_key,
        coalesce(splits.part_key, components.component_key, records.record_key) as cluster_key,
        -- -1: it had links, and never_link overrides cut every one (matched_by 'never_link').
        case
            when link_ends.link_order is not null then link_ends.link_order
            when cut_records.record_key is not null then -1
        end as link_order,
        link_ends.match_probability
    from records
    left join {{ ref('int_identity_components') }} as components on records.record_key = components.record_key
    left join splits on records.record_key = splits.record_key
    left join link_ends on records.record_key = link_ends.record_key
    left join cut_records on records.record_key = cut_records.record_key
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
        when link_order = -1 then 'never_link'
        when link_order = 0 then 'must_link'
        {%- for rule in config.rules %}
            when link_order = {{ loop.index }} then '{{ rule.name }}'
        {%- endfor %}
        when link_order = {{ config.rules | length + 1 }} then 'model'
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
