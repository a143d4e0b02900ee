-- One MarketingAssignedOffers object per profile and offer, with the field names of the
-- AWS offer write-back sample. They are mixed case, so quoted (Athena lower-cases every name:
-- the sync reads them back by the template's names).
select
    profile_id as "UserId",  -- noqa: RF06
    offer_name as "offerName",  -- noqa: RF06
    viewed as "offerViewed",  -- noqa: RF06
    {{ iso_timestamp_text('first_received_at') }} as "offerReceivedAt"  -- noqa: RF06
from {{ ref('profile_offers') }}
