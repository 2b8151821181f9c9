-- One row per event, with the JSON details the marts use unpacked into typed columns.
-- A view: filters on event_time in the marts reach the partitioned table, so PostgreSQL
-- prunes partitions.
with

source as (

    select * from {{ source('warehouse', 'email_events') }}

),

renamed as (

    select
        event_id,
        event_time,
        message_id,
        contact_id,
        org_id,
        campaign_id,
        campaign_type,
        region,
        type as event_type,
        smtp_code,
        enhanced_code,
        route,
        is_bot as flagged_bot_at_ingest,
        details ->> 'user_agent' as user_agent,
        details ->> 'ip' as client_ip,
        details ->> 'device' as client_device,
        details ->> 'method' as http_method,
        details ->> 'link' as link,
        details ->> 'reply' as smtp_reply,
        details ->> 'bounce_type' as bounce_type,
        details ->> 'channel' as feedback_channel,
        ingest_seq

    from source

)

select * from renamed
