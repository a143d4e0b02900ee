-- Clustering ran enough rounds: no link joins two different components, and every record of
-- a component a never_link split reached a part.
with

components as (

    select * from {{ ref('int_identity_components') }}

),

links as (

    select node_a as key_a, node_b as key_b from {{ ref('int_identity_links') }}
    where not never_linked

)

select
    links.key_a,
    links.key_b,
    a.component_key as cluster_a,
    b.component_key as cluster_b
from links
inner join components as a on links.key_a = a.record_key
inner join components as b on links.key_b = b.record_key
where a.component_key != b.component_key
union all
select
    record_key as key_a,
    cast(null as varchar) as key_b,
    component_key as cluster_a,
    cast(null as varchar) as cluster_b
from {{ ref('int_identity_never_link_splits') }}
where nearest_never_linked_key is null
