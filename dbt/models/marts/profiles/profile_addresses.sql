-- Every email and phone unified_profiles holds for a profile, one row each, so a lookup by
-- address is a plain comparison on either engine.
with address_lists as (
    select
        profile_id,
        cast('email' as varchar) as kind,
        emails as addresses
    from {{ ref('unified_profiles') }}
    union all
    select
        profile_id,
        cast('phone' as varchar) as kind,
        phones as addresses
    from {{ ref('unified_profiles') }}
)

select
    address_lists.profile_id,
    address_lists.kind,
    profile_address.address
from address_lists
cross join unnest(address_lists.addresses) as profile_address (address)
