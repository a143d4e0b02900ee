select
    account_id,
    organization_id,
    count(*) as messages,
    sum(total_price) as total_price,
    sum(total_carrier_fee) as total_carrier_fee,
    sum(total_price + total_carrier_fee) as total_cost
from {{ ref('sms_message_costs') }}
group by account_id, organization_id
