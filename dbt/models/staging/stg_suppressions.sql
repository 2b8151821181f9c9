-- One row per suppressed address of an organization. The blind index is exposed as hex
-- (address_key), the same form stg_contacts uses, so suppressions join to contacts.
with

source as (

    select * from {{ source('warehouse', 'suppressions') }}

),

renamed as (

    select
        {{ surrogate_key(['org_id', "encode(email_blind_index, 'hex')"]) }} as suppression_key,
        org_id,
        encode(email_blind_index, 'hex') as address_key,
        reason as suppression_reason,
        source as suppression_source,
        created_at,
        expires_at

    from source

)

select * from renamed
