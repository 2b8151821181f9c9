{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='queued_date',
        incremental_predicates=partition_predicates('queued_date'),
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['queued_date']}, {'columns': ['campaign_id']}],
    )
}}
-- One row per campaign and day: the messages queued that day and everything they led to.
-- Counting by send day (not by event day) keeps every rate a share of the same messages:
-- an open on Tuesday of Monday's send raises Monday's open rate.

{%- set window = partition_window('queued_date', is_incremental(), var('day', none)) %}

with

outcomes as (

    select * from {{ ref('message_outcomes') }}
    where {{ date_filter('queued_date', window) }}

),

counts as (

    select
        org_id,
        campaign_id,
        campaign_type,
        queued_date,
        count(*) as messages,
        count(*) filter (where sent_at is not null) as sent,
        count(*) filter (where delivered_at is not null) as delivered,
        -- Unique per recipient: a contact who opened twice is one open.
        count(distinct contact_id) filter (where first_human_open_at is not null) as unique_human_opens,
        count(distinct contact_id) filter (where first_human_click_at is not null) as unique_human_clicks,
        count(*) filter (where bounce_type = 'hard') as hard_bounces,
        count(*) filter (where bounce_type = 'soft') as soft_bounces,
        count(*) filter (where complained_at is not null) as complaints,
        count(*) filter (where unsubscribed_at is not null) as unsubscribes,
        sum(machine_open_count) as machine_opens

    from outcomes
    group by org_id, campaign_id, campaign_type, queued_date

),

final as (

    select
        {{ surrogate_key(['org_id', 'campaign_id', 'campaign_type', 'queued_date']) }} as campaign_day_key,
        org_id,
        campaign_id,
        campaign_type,
        queued_date,
        messages,
        sent,
        delivered,
        unique_human_opens,
        unique_human_clicks,
        hard_bounces,
        soft_bounces,
        complaints,
        unsubscribes,
        machine_opens,
        delivered::double precision / nullif(sent, 0) as delivery_rate,
        unique_human_opens::double precision / nullif(delivered, 0) as open_rate,
        unique_human_clicks::double precision / nullif(delivered, 0) as click_rate,
        unique_human_clicks::double precision / nullif(unique_human_opens, 0) as click_to_open_rate,
        (hard_bounces + soft_bounces)::double precision / nullif(sent, 0) as bounce_rate,
        complaints::double precision / nullif(delivered, 0) as complaint_rate,
        unsubscribes::double precision / nullif(delivered, 0) as unsubscribe_rate

    from counts

)

select * from final
