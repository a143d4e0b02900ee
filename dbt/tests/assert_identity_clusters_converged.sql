-- Clustering ran enough rounds: no rule or model link joins two different clusters.
with

clusters as (

    select * from {{ ref('int_identity_records_clustered') }}

),

links as (

    select record_key as key_a, anchor_key as key_b from {{ ref('int_record_pairs_ruled') }}
    union all
    select record_key_l as key_a, record_key_r as key_b from {{ ref('int_record_pairs_scored') }}
    where match_probability >= {{ var('c360__identity_resolution').match_threshold }}

)

select
    links.key_a,
    links.key_b,
    a.cluster_key as cluster_a,
    b.cluster_key as cluster_b
from links
inner join clusters as a on links.key_a = a.record_key
inner join clusters as b on links.key_b = b.record_key
where a.cluster_key != b.cluster_key
