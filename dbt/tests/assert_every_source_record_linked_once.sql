-- Every normalised source record has exactly one row in profile_links, and no link points
-- at a record that does not exist.
select
    coalesce(records.record_key, links.record_key) as record_key,
    count(links.record_key) as links
from {{ ref('int_identity_records_normalised') }} as records
full outer join {{ ref('profile_links') }} as links on records.record_key = links.record_key
group by coalesce(records.record_key, links.record_key)
having count(links.record_key) != 1 or count(records.record_key) != 1
