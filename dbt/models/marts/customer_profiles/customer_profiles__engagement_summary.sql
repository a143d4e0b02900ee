-- One EngagementSummary object per profile and channel messaged in the last 90 days:
-- unified_profiles' <channel>_<metric>_<30|90>d counters under channel-neutral names (null:
-- not measured on that channel, so left out of the object).
select
    profile_id,
    cast('email' as varchar) as channel,
    email_sends_30d as sends_30d,
    email_sends_90d as sends_90d,
    email_deliveries_30d as deliveries_30d,
    email_deliveries_90d as deliveries_90d,
    email_opens_30d as opens_30d,
    email_opens_90d as opens_90d,
    email_clicks_30d as clicks_30d,
    email_clicks_90d as clicks_90d,
    cast(null as bigint) as reads_30d,
    cast(null as bigint) as reads_90d
from {{ ref('unified_profiles') }}
where email_sends_90d > 0
union all
select
    profile_id,
    cast('sms' as varchar) as channel,
    sms_sends_30d as sends_30d,
    sms_sends_90d as sends_90d,
    sms_deliveries_30d as deliveries_30d,
    sms_deliveries_90d as deliveries_90d,
    cast(null as bigint) as opens_30d,
    cast(null as bigint) as opens_90d,
    cast(null as bigint) as clicks_30d,
    cast(null as bigint) as clicks_90d,
    cast(null as bigint) as reads_30d,
    cast(null as bigint) as reads_90d
from {{ ref('unified_profiles') }}
where sms_sends_90d > 0
union all
select
    profile_id,
    cast('voice' as varchar) as channel,
    voice_sends_30d as sends_30d,
    voice_sends_90d as sends_90d,
    voice_deliveries_30d as deliveries_30d,
    voice_deliveries_90d as deliveries_90d,
    cast(null as bigint) as opens_30d,
    cast(null as bigint) as opens_90d,
    cast(null as bigint) as clicks_30d,
    cast(null as bigint) as clicks_90d,
    cast(null as bigint) as reads_30d,
    cast(null as bigint) as reads_90d
from {{ ref('unified_profiles') }}
where voice_sends_90d > 0
union all
select
    profile_id,
    cast('whatsapp' as varchar) as channel,
    whatsapp_sends_30d as sends_30d,
    whatsapp_sends_90d as sends_90d,
    whatsapp_deliveries_30d as deliveries_30d,
    whatsapp_deliveries_90d as deliveries_90d,
    cast(null as bigint) as opens_30d,
    cast(null as bigint) as opens_90d,
    cast(null as bigint) as clicks_30d,
    cast(null as bigint) as clicks_90d,
    whatsapp_reads_30d as reads_30d,
    whatsapp_reads_90d as reads_90d
from {{ ref('unified_profiles') }}
where whatsapp_sends_90d > 0
