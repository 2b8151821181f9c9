{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        incremental_predicates=partition_predicates('event_date'),
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['event_date']}],
    )
}}
-- One row per organization, campaign, route, hour, reply class and enhanced status code:
-- what providers answered to whose mail.
-- Incremental by event day: a day's rebuild reads exactly that day's partition.

{%- set window = partition_window('event_date', is_incremental(), var('day', none)) %}

with

replies as (

    select
        date_trunc('hour', event_time, 'UTC') as hour_start,
        org_id,
        campaign_id,
        route,
        (smtp_code / 100)::text || 'xx' as reply_class,
        enhanced_code,
        event_type,
        message_id

    from {{ ref('stg_email_events') }}
    where smtp_code between 200 and 599
      and {{ time_filter('event_time', window) }}

),

counts as (

    select
        hour_start,
        org_id,
        campaign_id,
        route,
        reply_class,
        enhanced_code,
        count(*) as responses,
        count(distinct message_id) as messages,
        count(*) filter (where event_type = 'delivered') as delivered,
        count(*) filter (where event_type = 'deferred') as deferred,
        count(*) filter (where event_type = 'bounced') as bounced,
        count(*) filter (where event_type = 'failed') as failed

    from replies
    group by hour_start, org_id, campaign_id, route, reply_class, enhanced_code

),

final as (

    select
        {{ surrogate_key(['hour_start', 'org_id', 'campaign_id', 'route', 'reply_class', 'enhanced_code']) }} as response_key,
        hour_start,
        {{ utc_date('hour_start') }} as event_date,
        org_id,
        campaign_id,
        route,
        reply_class,
        enhanced_code,
        responses,
        messages,
        delivered,
        deferred,
        bounced,
        failed

    from counts

)

select * from final
