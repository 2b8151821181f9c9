-- One row per contact, without the encrypted address, name and keys. The mailbox provider is
-- derived from the email domain; a time zone PostgreSQL does not know falls back to UTC so
-- local-time features never fail a build.
with

source as (

    select * from {{ source('warehouse', 'contacts') }}

),

known_time_zones as (

    select name from pg_timezone_names

),

renamed as (

    select
        source.contact_id,
        source.org_id,
        encode(source.email_blind_index, 'hex') as address_key,
        lower(source.email_domain) as email_domain,
        {{ mailbox_provider('lower(source.email_domain)') }} as mailbox_provider,
        source.country,
        source.region,
        case
            when source.time_zone in (select name from known_time_zones) then source.time_zone
            else 'UTC'
        end as time_zone,
        source.locale,
        source.status as contact_status,
        source.created_at,
        source.updated_at,
        source.retention_until

    from source

)

select * from renamed
