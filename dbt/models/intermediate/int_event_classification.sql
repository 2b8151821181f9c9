{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        incremental_predicates=partition_predicates('event_date'),
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['event_date']},
            {'columns': ['message_id']},
            {'columns': ['contact_id', 'event_time']},
        ],
    )
}}
-- Every open and click, flagged human or machine by observable signals only (rules in
-- _intermediate.yml). Incremental by event day: a rule needs nothing older than the day
-- before the event (the delivery it follows), so one day's rebuild reads two partitions.

{%- set window = partition_window('event_date', is_incremental(), var('day', none)) %}
{%- set rules = var('machine_traffic') %}

with

engagement as (

    select
        event_id,
        event_time,
        message_id,
        contact_id,
        org_id,
        campaign_id,
        campaign_type,
        event_type,
        flagged_bot_at_ingest,
        user_agent,
        client_ip,
        {{ safe_inet('client_ip') }} as ip,
        http_method,
        link,
        client_device

    from {{ ref('stg_email_events') }}
    where event_type in ('opened', 'clicked')
      and {{ time_filter('event_time', window) }}

),

deliveries as (

    -- Scanners act within seconds of delivery, so a delivery more than a day before the
    -- event never decides anything: reading one extra day keeps daily rebuilds small and
    -- gives the same answer as a full build.
    select
        message_id,
        min(event_time) as delivered_at

    from {{ ref('stg_email_events') }}
    where event_type = 'delivered'
      and {{ time_filter('event_time', window, days_before=1) }}
    group by message_id

),

with_context as (

    select
        engagement.*,
        deliveries.delivered_at,
        extract(epoch from engagement.event_time - deliveries.delivered_at) as seconds_since_delivery,
        -- Link scanners follow every link at once from one address; people click one link,
        -- and a second one a minute or more later.
        count(*) filter (where engagement.event_type = 'clicked') over (
            partition by engagement.message_id, engagement.client_ip
            order by engagement.event_time
            range between interval '{{ rules["burst_window_seconds"] }} seconds' preceding
                      and interval '{{ rules["burst_window_seconds"] }} seconds' following
        ) as burst_clicks

    from engagement
    left join deliveries
        on deliveries.message_id = engagement.message_id
       and deliveries.delivered_at <= engagement.event_time
       and deliveries.delivered_at > engagement.event_time - interval '1 day'

),

classified as (

    select
        *,
        {{ machine_reason('event_type', 'flagged_bot_at_ingest', 'user_agent', 'ip', 'http_method',
                          'seconds_since_delivery', 'burst_clicks') }} as machine_reason

    from with_context

),

final as (

    select
        event_id,
        event_time,
        {{ utc_date('event_time') }} as event_date,
        message_id,
        contact_id,
        org_id,
        campaign_id,
        campaign_type,
        event_type,
        user_agent,
        client_ip,
        http_method,
        link,
        {{ engagement_device('user_agent', 'client_device') }} as device,
        delivered_at,
        cast(seconds_since_delivery as double precision) as seconds_since_delivery,
        cast(burst_clicks as integer) as burst_clicks,
        machine_reason is not null as is_machine,
        machine_reason is null as is_human,
        machine_reason

    from classified

)

select * from final
