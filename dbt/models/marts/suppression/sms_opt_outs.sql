-- Phone numbers that replied with an opt-out keyword (the AWS engagement reference
-- architectures; var c360__sms_opt_out_keywords)
-- as a whole word of the reply, in any case ("stop please" opts out; "weekend" does not).
-- Deliberately every reply landed so far, not bounded by the interval's end: replaying an
-- old interval must never undo an opt-out.
with

replies as (

    select
        origination_phone_number as phone_number,
        upper(message_body) as reply,
        message_id,
        event_timestamp_ms
    from {{ ref('stg_sms_voice__events') }}
    where message_type = 'INBOUND'

),

opt_outs as (

    select
        *,
        row_number() over (partition by phone_number order by event_timestamp_ms, message_id) as reply_rank
    from replies
    where
        {{ regex_matches('reply', '(^|[^A-Z-])(' ~ var('c360__sms_opt_out_keywords') | join('|') ~ ')([^A-Z-]|$)') }}

)

select
    phone_number,
    reply as opt_out_reply,
    message_id,
    event_timestamp_ms as opted_out_at
from opt_outs
where reply_rank = 1
