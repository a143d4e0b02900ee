-- One InteractionHistory object per message sent to one of a profile's emails or phones in
-- the 90 days before the newest event (not the wall clock: a re-run sends nothing), with its
-- campaign and the last status by message_last_status' precedence. Older messages leave the
-- model, so the sync deletes them from Customer Profiles.
with

profile_addresses as (

    select
        profiles.profile_id,
        lower(profile_emails.address) as address
    from {{ ref('unified_profiles') }} as profiles
    cross join unnest(profiles.emails) as profile_emails (address)
    union
    select
        profiles.profile_id,
        profile_phones.address
    from {{ ref('unified_profiles') }} as profiles
    cross join unnest(profiles.phones) as profile_phones (address)

),

messages as (

    select
        events.channel,
        events.message_id,
        lower(recipient.address) as address,
        min(events."timestamp") as sent_ms,
        max(events.campaign) as campaign
    from {{ ref('engagement_event_outcomes') }} as events
    cross join unnest(events.destination_address) as recipient (address)
    where events.outcome != 'inbound'
    group by events.channel, events.message_id, lower(recipient.address)

),

newest as (

    select max("timestamp") as newest_ms from {{ ref('engagement_event_outcomes') }}

)

select
    profile_addresses.profile_id,
    messages.channel,
    messages.message_id,
    max(messages.campaign) as campaign,
    {{ iso_timestamp_text(epoch_ms_to_timestamp('min(messages.sent_ms)')) }} as sent_at,
    last_status.last_outcome as outcome,
    {{ iso_timestamp_text(epoch_ms_to_timestamp('last_status.last_status_at')) }} as outcome_at
from messages
inner join profile_addresses on messages.address = profile_addresses.address
inner join {{ ref('message_last_status') }} as last_status
    on messages.channel = last_status.channel and messages.message_id = last_status.message_id
cross join newest
where messages.sent_ms > newest.newest_ms - 90 * cast(86400000 as bigint)
-- One object even when the message went to several of the profile's addresses.
group by
    profile_addresses.profile_id,
    messages.channel,
    messages.message_id,
    last_status.last_outcome,
    last_status.last_status_at
