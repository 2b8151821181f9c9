-- One row per consent change. The IP address and user agent are evidence for compliance,
-- not features: they stay in the raw table.
with

source as (

    select * from {{ source('warehouse', 'consent_events') }}

),

renamed as (

    select
        consent_event_id,
        contact_id,
        org_id,
        channel,
        purpose,
        action as consent_action,
        step as opt_in_step,
        source as consent_source,
        occurred_at,
        policy_version

    from source

)

select * from renamed
