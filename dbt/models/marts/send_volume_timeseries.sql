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
{%- set novelty_days = 30 %}

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

attachments_by_message as materialized (

    -- Computed once: without fresh statistics (a burst of attachments since the last
    -- ANALYZE) the planner would re-aggregate it for every outcome row of the window.
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

sender_country_hours as (

    -- Messages per sender, recipient country and hour, reaching back far enough to know
    -- which countries each sender mailed in the days before every hour of the window.
    select
        outcomes.org_id,
        coalesce(outcomes.sending_domain, 'unknown') as sending_domain,
        contacts.country,
        date_trunc('hour', outcomes.queued_at, 'UTC') as bucket_start,
        count(*) as messages

    from {{ ref('message_outcomes') }} as outcomes
    left join contacts on contacts.contact_id = outcomes.contact_id
    where {{ date_filter('outcomes.queued_date', window, days_before=novelty_days) }}
    group by 1, 2, 3, 4

),

new_countries as (

    -- Messages to a country the sender had not mailed in the previous novelty_days: the
    -- destination-mix signal of a hijacked account or a bought list, additive per hour.
    select
        org_id,
        sending_domain,
        bucket_start,
        sum(messages) filter (
            where previous_hour is null
               or bucket_start - previous_hour > interval '{{ novelty_days }} days'
        ) as new_country_messages

    from (
        select
            *,
            lag(bucket_start) over (
                partition by org_id, sending_domain, country order by bucket_start
            ) as previous_hour
        from sender_country_hours
    ) as ordered
    group by 1, 2, 3

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
        coalesce(max(new_countries.new_country_messages), 0) as new_country_messages,
        count(attachments_by_message.message_id) as messages_with_attachments,
        coalesce(sum(attachments_by_message.pdf), 0) as pdf_attachments,
        coalesce(sum(attachments_by_message.zip), 0) as zip_attachments,
        coalesce(sum(attachments_by_message.exe), 0) as exe_attachments,
        coalesce(sum(attachments_by_message.other), 0) as other_attachments

    from outcomes
    left join contacts on contacts.contact_id = outcomes.contact_id
    left join attachments_by_message on attachments_by_message.message_id = outcomes.message_id
    left join new_countries
        on new_countries.org_id = outcomes.org_id
       and new_countries.sending_domain = coalesce(outcomes.sending_domain, 'unknown')
       and new_countries.bucket_start = date_trunc('hour', outcomes.queued_at, 'UTC')
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
        cast(new_country_messages as bigint) as new_country_messages,
        messages_with_attachments,
        cast(pdf_attachments as bigint) as pdf_attachments,
        cast(zip_attachments as bigint) as zip_attachments,
        cast(exe_attachments as bigint) as exe_attachments,
        cast(other_attachments as bigint) as other_attachments,
        human_opens::double precision / nullif(deliveries, 0) as open_rate

    from hourly

)

select * from final
