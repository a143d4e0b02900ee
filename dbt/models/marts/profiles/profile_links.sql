-- Every source record → its profile, and how it matched: 'must_link' (an operator's
-- override), the rule that linked it, 'model' (with the model's probability), 'never_link'
-- when overrides cut all its links, 'contact_point' for engagement addresses attached by
-- their email or phone, or 'unmatched' for a profile of one record.
select
    records.record_key,
    records.source_kind,
    records.source_system,
    records.source_record_id,
    assigned.profile_id,
    assigned.matched_by,
    assigned.match_probability
from {{ ref('int_profile_ids_assigned') }} as assigned
inner join {{ ref('int_identity_records_normalised') }} as records on assigned.record_key = records.record_key
