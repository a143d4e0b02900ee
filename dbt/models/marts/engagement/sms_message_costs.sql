-- One row per outbound SMS/MMS message with what it cost. Every event of a message can
-- repeat the price, so the message's largest reported figures are its cost; total cost is
-- price plus carrier fee (the AWS samples' query added the price to itself). Money is decimal:
-- summing doubles in parallel gives results that depend on the order of the rows.
select
    message_id,
    max(account_id) as account_id,
    max(organization_id) as organization_id,
    max(iso_country_code) as iso_country_code,
    max(cast({{ map_get('channel_data', "'totalMessageParts'") }} as integer)) as message_parts,
    coalesce(max(cast({{ map_get('channel_data', "'totalMessagePrice'") }} as decimal(18, 6))), 0) as total_price,
    coalesce(max(cast({{ map_get('channel_data', "'totalCarrierFee'") }} as decimal(18, 6))), 0) as total_carrier_fee
from {{ ref('engagement_event_outcomes') }}
where channel in ('text', 'media') and outcome != 'inbound'
group by message_id
