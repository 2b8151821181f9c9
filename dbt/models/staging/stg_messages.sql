-- One row per message. Template variables are left out: they may carry personal data that the
-- marts do not need. created_at is when the message entered the queue (its queued event).
with

source as (

    select * from {{ source('warehouse', 'messages') }}

),

renamed as (

    select
        message_id,
        org_id,
        campaign_id,
        campaign_type,
        contact_id,
        template_id,
        template_version,
        variant,
        variant_probability,
        status as queue_status,
        priority,
        scheduled_at,
        attempts,
        route,
        sending_domain,
        attachment_types,
        smtp_code as last_smtp_code,
        last_error,
        created_at as queued_at,
        updated_at,
        sent_at

    from source

)

select * from renamed
