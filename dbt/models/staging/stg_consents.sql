-- Current consent per contact, channel and purpose.
with

source as (

    select * from {{ source('warehouse', 'consents') }}

),

renamed as (

    select
        {{ surrogate_key(['contact_id', 'channel', 'purpose']) }} as consent_key,
        contact_id,
        channel,
        purpose,
        status as consent_status,
        opt_in_steps,
        steps_completed,
        policy_version,
        updated_at

    from source

)

select * from renamed
