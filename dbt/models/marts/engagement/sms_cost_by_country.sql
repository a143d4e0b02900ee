select
    coalesce(iso_country_code, '(unknown)') as iso_country_code,
    count(*) as messages,
    sum(message_parts) as message_parts,
    sum(total_price) as total_price,
    sum(total_carrier_fee) as total_carrier_fee,
    sum(total_price + total_carrier_fee) as total_cost
from {{ ref('sms_message_costs') }}
group by coalesce(iso_country_code, '(unknown)')
