{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='queued_date',
        incremental_predicates=partition_predicates('queued_date'),
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['queued_date']}, {'columns': ['org_id', 'sending_domain', 'bucket_start']}],
    )
}}
-- One row per sender (org and sending domain) and hour in which it queued mail: the anomaly
-- model's input. The hour is the queue hour, the moment the sender acted, so a burst from a
-- hijacked account shows in the hour it was submitted.

{%- set window = partition_window('queued_date', is_incremental(), var('day', none)) %}

with

outcomes as (

    select * from {{ ref('message_outcomes') }}
    where {{ date_filter('queued_date', window) }}

),

messages as (

    select message_id, attachment_types
    from {{ ref('stg_messages') }}
    where {{ time_filter('queued_at', window) }}
      and cardinality(attachment_types) > 0

),

attachments as (

    -- One row per attachment, by the class that matters for account takeover: documents,
    -- archives and executables.
    select
        messages.message_id,
        case
            when lower(kind) in ('application/pdf', 'pdf') then 'pdf'
            when lower(kind) ~ '(zip|x-7z|x-rar|vnd\.rar|gzip|x-tar|x-bzip)' then 'zip'
            when lower(kind) ~ '(x-msdownload|x-msdos-program|x-dosexec|x-executable|portable-executable|x-msi|x-sh|java-archive)'
                then 'exe'
            else 'other'
        end as attachment_class

    from messages
    cross join lateral unnest(messages.attachment_types) as kind

),

attachments_by_message as (

    select
        message_id,
        count(*) filter (where attachment_class = 'pdf') as pdf,
        count(*) filter (where attachment_class = 'zip') as zip,
        count(*) filter (where attachment_class = 'exe') as exe,
        count(*) filter (where attachment_class = 'other') as other

    from attachments
    group by message_id

),

contacts as (

    select contact_id, country from {{ ref('stg_contacts') }}

),

hourly as (

    select
        outcomes.org_id,
        coalesce(outcomes.sending_domain, 'unknown') as sending_domain,
        date_trunc('hour', outcomes.queued_at, 'UTC') as bucket_start,
        outcomes.queued_date,
        count(*) as messages,
        count(*) filter (where outcomes.sent_at is not null) as sends,
        count(*) filter (where outcomes.delivered_at is not null) as deliveries,
        count(*) filter (where outcomes.deferral_count > 0) as deferrals,
        count(*) filter (where outcomes.bounce_type is not null) as bounces,
        count(*) filter (where outcomes.bounce_type = 'hard') as hard_bounces,
        count(*) filter (where outcomes.complained_at is not null) as complaints,
        count(*) filter (where outcomes.first_human_open_at is not null) as human_opens,
        count(distinct contacts.country) as destination_countries,
        count(attachments_by_message.message_id) as messages_with_attachments,
        coalesce(sum(attachments_by_message.pdf), 0) as pdf_attachments,
        coalesce(sum(attachments_by_message.zip), 0) as zip_attachments,
        coalesce(sum(attachments_by_message.exe), 0) as exe_attachments,
        coalesce(sum(attachments_by_message.other), 0) as other_attachments

    from outcomes
    left join contacts on contacts.contact_id = outcomes.contact_id
    left join attachments_by_message on attachments_by_message.message_id = outcomes.message_id
    group by 1, 2, 3, 4

),

final as (

    select
        {{ surrogate_key(['org_id', 'sending_domain', 'bucket_start']) }} as series_key,
        org_id,
        sending_domain,
        bucket_start,
        queued_date,
        messages,
        sends,
        deliveries,
        deferrals,
        bounces,
        hard_bounces,
        complaints,
        human_opens,
        destination_countries,
        messages_with_attachments,
        cast(pdf_attachments as bigint) as pdf_attachments,
        cast(zip_attachments as bigint) as zip_attachments,
        cast(exe_attachments as bigint) as exe_attachments,
        cast(other_attachments as bigint) as other_attachments,
        human_opens::double precision / nullif(deliveries, 0) as open_rate

    from hourly

)

select * from final
