{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='queued_date',
        incremental_predicates=partition_predicates('queued_date'),
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['message_id'], 'unique': true},
            {'columns': ['queued_date']},
            {'columns': ['contact_id', 'delivered_at']},
        ],
    )
}}
-- One row per message: what happened to it and how its recipient reacted.
-- Partitioned by the UTC day the message was queued (an immutable column, so a message never
-- changes partition); a day's rebuild reads the events of that day's messages up to
-- `attribution_days` later, so late opens and asynchronous bounces are counted when recent
-- days are rebuilt.

{%- set window = partition_window('queued_date', is_incremental(), var('day', none)) %}
{%- set horizon = var('attribution_days') | int %}

with

-- Not materialized: inlined, the day's queue rows keep the table's column statistics, so the
-- planner hashes them (not the month of events they are joined to).
messages as not materialized (

    select * from {{ ref('stg_messages') }}
    where {{ time_filter('queued_at', window) }}

),

lifecycle_events as (

    select
        events.message_id,
        events.event_type,
        events.event_time,
        events.smtp_code,
        events.enhanced_code,
        events.smtp_reply,
        events.bounce_type

    from {{ ref('stg_email_events') }} as events
    inner join messages
        on messages.message_id = events.message_id
       and events.event_time < messages.queued_at + interval '{{ horizon }} days'
    where events.event_type in ('queued', 'sent', 'delivered', 'deferred', 'bounced', 'failed',
                                'suppressed', 'complained', 'unsubscribed')
      and {{ time_filter('events.event_time', window, days_after=horizon) }}

),

lifecycle as (

    select
        message_id,
        min(event_time) filter (where event_type = 'sent') as first_sent_at,
        min(event_time) filter (where event_type = 'delivered') as delivered_at,
        count(*) filter (where event_type = 'deferred') as deferral_count,
        min(event_time) filter (where event_type = 'bounced') as bounced_at,
        min(event_time) filter (where event_type = 'failed') as failed_at,
        min(event_time) filter (where event_type = 'suppressed') as suppressed_at,
        min(event_time) filter (where event_type = 'complained') as complained_at,
        min(event_time) filter (where event_type = 'unsubscribed') as unsubscribed_at

    from lifecycle_events
    group by message_id

),

first_bounces as (

    -- The first bounce decides: later ones repeat it. Without a bounce_type in the details,
    -- the SMTP class decides (5xx permanent, 4xx temporary).
    select distinct on (message_id)
        message_id,
        coalesce(
            bounce_type,
            case when smtp_code >= 500 then 'hard' when smtp_code >= 400 then 'soft' end
        ) as bounce_type,
        smtp_code as bounce_smtp_code,
        nullif(concat_ws(' ', enhanced_code, smtp_reply), '') as bounce_reason

    from lifecycle_events
    where event_type = 'bounced'
    order by message_id, event_time

),

engagement as (

    select
        classified.message_id,
        min(classified.event_time) filter (
            where classified.is_human and classified.event_type = 'opened'
        ) as first_human_open_at,
        min(classified.event_time) filter (
            where classified.is_human and classified.event_type = 'clicked'
        ) as first_human_click_at,
        (array_agg(classified.device order by classified.event_time) filter (
            where classified.is_human and classified.event_type = 'opened'
        ))[1] as first_human_open_device,
        count(*) filter (where classified.is_human and classified.event_type = 'opened') as human_open_count,
        count(*) filter (where classified.is_human and classified.event_type = 'clicked') as human_click_count,
        count(*) filter (where classified.is_machine and classified.event_type = 'opened') as machine_open_count,
        count(*) filter (where classified.is_machine and classified.event_type = 'clicked') as machine_click_count

    from {{ ref('int_event_classification') }} as classified
    inner join messages
        on messages.message_id = classified.message_id
       and classified.event_time < messages.queued_at + interval '{{ horizon }} days'
    where {{ time_filter('classified.event_time', window, days_after=horizon) }}
      -- The same bounds on the UTC day of event_time, which int_event_classification indexes.
      and {{ date_filter('classified.event_date', window, days_after=horizon) }}
    group by classified.message_id

),

final as (

    select
        messages.message_id,
        messages.org_id,
        messages.campaign_id,
        messages.campaign_type,
        messages.contact_id,
        messages.route,
        messages.sending_domain,
        messages.variant,
        cast(messages.variant_probability as double precision) as variant_probability,
        messages.queued_at,
        {{ utc_date('messages.queued_at') }} as queued_date,
        coalesce(lifecycle.first_sent_at, messages.sent_at) as sent_at,
        lifecycle.delivered_at,
        cast(coalesce(lifecycle.deferral_count, 0) as integer) as deferral_count,
        engagement.first_human_open_at,
        engagement.first_human_click_at,
        engagement.first_human_open_device,
        cast(coalesce(engagement.human_open_count, 0) as integer) as human_open_count,
        cast(coalesce(engagement.human_click_count, 0) as integer) as human_click_count,
        cast(coalesce(engagement.machine_open_count, 0) as integer) as machine_open_count,
        cast(coalesce(engagement.machine_click_count, 0) as integer) as machine_click_count,
        first_bounces.bounce_type,
        cast(first_bounces.bounce_smtp_code as integer) as bounce_smtp_code,
        first_bounces.bounce_reason,
        lifecycle.complained_at,
        lifecycle.unsubscribed_at,
        -- Events first (they are what providers answered), the queue's own status otherwise.
        case
            when lifecycle.delivered_at is not null then 'delivered'
            when lifecycle.bounced_at is not null then 'bounced'
            when lifecycle.failed_at is not null then 'failed'
            when lifecycle.suppressed_at is not null then 'suppressed'
            when messages.queue_status in ('delivered', 'bounced', 'failed', 'suppressed', 'cancelled')
                then messages.queue_status
            when lifecycle.deferral_count > 0 then 'deferred'
            when lifecycle.first_sent_at is not null then 'sent'
            else messages.queue_status
        end as final_status

    from messages
    left join lifecycle on lifecycle.message_id = messages.message_id
    left join first_bounces on first_bounces.message_id = messages.message_id
    left join engagement on engagement.message_id = messages.message_id

)

select * from final
