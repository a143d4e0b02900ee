-- One object per profile and offer (the AWS offer write-back sample's MarketingAssignedOffers, with its field names).
select
    profile_id as "UserId",
    offer_name as "offerName",
    viewed as "offerViewed",
    strftime(first_received_at, '%Y-%m-%dT%H:%M:%S.%gZ') as "offerReceivedAt"
from profile_offers
