-- Every channel's events in the canonical shape, each with its deterministic event_id.
-- Re-deliveries are still here (engagement_events drops them): counting both is how
-- landing_reconciliation proves nothing was lost.
with

unioned as (

    select * from "awsdatacatalog"."customer360_intermediate"."int_email_events_mapped"

)

select
    *,
    -- Identical re-deliveries (at-least-once delivery) hash to the same id.
    lower(to_hex(md5(to_utf8(cast(stream || '|' || coalesce(message_id, '') || '|' || type || '|' || coalesce(status, '') || '|' || cast(timestamp_ms as varchar) || '|' || coalesce(array_join(destination_address, ','), '') as varchar))))) as event_id
from unioned