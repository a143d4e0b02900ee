-- Every email and phone unified_profiles holds for a profile, one row each, so a lookup by
-- address is a plain comparison on either engine.
select
    profiles.profile_id,
    cast('email' as varchar) as kind,
    profile_emails.address
from {{ ref('unified_profiles') }} as profiles
cross join unnest(profiles.emails) as profile_emails (address)
union all
select
    profiles.profile_id,
    cast('phone' as varchar) as kind,
    profile_phones.address
from {{ ref('unified_profiles') }} as profiles
cross join unnest(profiles.phones) as profile_phones (address)
