{{ config(materialized='table') }}

-- Every link between two source records, and what made it: an operator's must_link
-- (seed identity_overrides), a deterministic rule (rule links are stars: each record to its
-- group's smallest key), or the model at or above the threshold. link_order ranks them for
-- profile_links.matched_by: must_link, then the rules in order, then the model. A pair an
-- operator marked never_link keeps its row with never_linked true, so a record whose only
-- links were cut can say so, but links nothing. Materialised: the clustering rounds and the
-- never_link split each read it several times (Trino would re-run an inlined query for each).
{%- set config = var('c360__identity_resolution') %}

with

source_records as (

    select record_key from {{ ref('int_identity_records_normalised') }}
    where not is_contact_point

),

-- Overrides naming a record this build does not hold (not yet arrived, erased, a contact
-- point) apply to nothing; assert_identity_overrides_name_source_records warns of them.
overrides as (

    select
        least(overrides.record_key_a, overrides.record_key_b) as record_key_l,
        greatest(overrides.record_key_a, overrides.record_key_b) as record_key_r,
        overrides.decision
    from {{ ref('identity_overrides') }} as overrides
    inner join source_records as a on overrides.record_key_a = a.record_key
    inner join source_records as b on overrides.record_key_b = b.record_key
    where overrides.record_key_a != overrides.record_key_b

),

links as (

    select
        record_key_l as node_a,
        record_key_r as node_b,
        'must_link' as linked_by,
        0 as link_order,
        cast(null as double) as match_probability
    from overrides
    where decision = 'must_link'
    union all
    select
        record_key as node_a,
        anchor_key as node_b,
        rule_name as linked_by,
        rule_order as link_order,
        cast(null as double) as match_probability
    from {{ ref('int_record_pairs_ruled') }}
    union all
    select
        record_key_l as node_a,
        record_key_r as node_b,
        'model' as linked_by,
        {{ config.rules | length + 1 }} as link_order,
        match_probability
    from {{ ref('int_record_pairs_scored') }}
    where match_probability >= {{ config.match_threshold }}

)

select
    links.node_a,
    links.node_b,
    links.linked_by,
    links.link_order,
    links.match_probability,
    never_links.decision is not null as never_linked
from links
left join overrides as never_links
    on
        least(links.node_a, links.node_b) = never_links.record_key_l
        and greatest(links.node_a, links.node_b) = never_links.record_key_r
        and never_links.decision = 'never_link'
