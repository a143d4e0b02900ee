with

source as (

    select * from "awsdatacatalog"."raw"."ses"

),

typed as (

    select
        date_add('hour', cast(hour as integer),
    cast(date_parse(format('%04d-%02d-%02d', cast(year as integer), cast(month as integer),
      cast(day as integer)), '%Y-%m-%d') as timestamp)) as ingest_hour,
        source_key,
        line_no,
        coalesce(
            json_extract_scalar(body, '$.eventType'),
            json_extract_scalar(body, '$.notificationType')
        ) as event_type,
        json_extract_scalar(body, '$.mail.sendingAccountId') as account_id,
        json_extract_scalar(body, '$.mail.tags.organizationId[0]') as organization_id,
        json_extract_scalar(body, '$.mail.sourceArn') as source_arn,
        json_extract_scalar(body, '$.mail.source') as source_address,
        cast(json_extract(body, '$.mail.destination') as array(varchar)) as destination_addresses,
        json_extract_scalar(body, '$.mail.messageId') as message_id,
        json_extract_scalar(body, '$.mail.timestamp') as mail_timestamp,
        json_extract_scalar(body, '$.mail.commonHeaders.subject') as subject,
        transform_values(
    cast(json_extract(body, '$.mail.tags') as map(varchar, array(varchar))),
    (k, v) -> element_at(v, 1)
  ) as tags,
        json_format(json_extract(body, '$.send')) as send,
        json_format(json_extract(body, '$.bounce')) as bounce,
        json_format(json_extract(body, '$.complaint')) as complaint,
        json_format(json_extract(body, '$.delivery')) as delivery,
        json_format(json_extract(body, '$.open')) as open,
        json_format(json_extract(body, '$.click')) as click,
        json_format(json_extract(body, '$.reject')) as reject,
        json_format(json_extract(body, '$.failure')) as failure,
        json_format(json_extract(body, '$.deliveryDelay')) as delivery_delay,
        json_format(json_extract(body, '$.subscription')) as subscription,
        raw_event

    from source

),

event_object as (

    select
        *,
        -- The event type's own object carries its details (canonical-events.md, SES table).
        case event_type
            when 'Send' then send
            when 'Bounce' then bounce
            when 'Complaint' then complaint
            when 'Delivery' then delivery
            when 'Open' then open
            when 'Click' then click
            when 'Reject' then reject
            when 'Rendering Failure' then failure
            when 'DeliveryDelay' then delivery_delay
            when 'Subscription' then subscription
        end as raw_status

    from typed

)

select
    ingest_hour,
    source_key,
    line_no,
    event_type,
    account_id,
    organization_id,
    source_arn,
    source_address,
    destination_addresses,
    message_id,
    subject,
    tags,
    raw_status,
    case event_type
        when 'Bounce' then json_extract_scalar(raw_status, '$.bounceType')
        when 'Complaint' then json_extract_scalar(raw_status, '$.complaintFeedbackType')
        when 'Delivery' then json_extract_scalar(raw_status, '$.smtpResponse')
        when 'Reject' then json_extract_scalar(raw_status, '$.reason')
        when 'Open' then json_extract_scalar(raw_status, '$.ipAddress')
        when 'Click' then json_extract_scalar(raw_status, '$.ipAddress')
        when 'Rendering Failure' then json_extract_scalar(raw_status, '$.templateName')
        when 'DeliveryDelay' then json_extract_scalar(raw_status, '$.delayType')
        when 'Subscription' then json_extract_scalar(raw_status, '$.contactList')
    end as status_code,
    case event_type
        when 'Bounce' then json_extract_scalar(raw_status, '$.bounceSubType')
        when 'Delivery' then json_extract_scalar(raw_status, '$.reportingMTA')
        when 'Click' then json_extract_scalar(raw_status, '$.link')
        when 'Rendering Failure' then json_extract_scalar(raw_status, '$.errorMessage')
        when 'Subscription' then json_extract_scalar(raw_status, '$.source')
    end as status_message,
    -- The event's own time; Send, Reject and Rendering Failure only have the mail's.
    cast(to_unixtime(from_iso8601_timestamp(coalesce(json_extract_scalar(raw_status, '$.timestamp'), mail_timestamp))) * 1000 as bigint)
        as event_timestamp_ms,
    raw_event

from event_object