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
-- One row per route and hour of delivery: how long messages waited from entering the queue
-- (messages.created_at, the queued event's time) to the provider's 250 reply.
-- Incremental by delivery day: a day's rebuild reads that day's partition and the queue rows
-- of the messages delivered in it (by primary key).

{%- set window = partition_window('event_date', is_incremental(), var('day', none)) %}

with

deliveries as (

    select message_id, campaign_type, route, min(event_time) as delivered_at
    from {{ ref('stg_email_events') }}
    where event_type = 'delivered'
      and {{ time_filter('event_time', window) }}
    group by message_id, campaign_type, route

),

latencies as (

    select
        deliveries.route,
        date_trunc('hour', deliveries.delivered_at, 'UTC') as hour_start,
        extract(epoch from deliveries.delivered_at - messages.queued_at) as latency_seconds

    from deliveries
    -- (message_id, campaign_type) is the queue's primary key, and campaign_type its list
    -- partition: each delivery looks up one row of one partition.
    cross join lateral (
        select queue.queued_at
        from {{ ref('stg_messages') }} as queue
        where queue.message_id = deliveries.message_id
          and queue.campaign_type = deliveries.campaign_type
        {%- if window is not none %}
        -- A day's deliveries are few: keep the lookup an index probe per delivery instead
        -- of letting the planner flatten it into a hash of the whole queue. A full build
        -- reads every delivery, so there the planner's hash join stays.
        offset 0
        {%- endif %}
    ) as messages
    -- A delivery stamped before its queue entry is clock skew, not a latency.
    where deliveries.delivered_at >= messages.queued_at

),

final as (

    select
        {{ surrogate_key(['route', 'hour_start']) }} as latency_key,
        route,
        hour_start,
        {{ utc_date('hour_start') }} as event_date,
        count(*) as delivered,
        avg(latency_seconds)::double precision as mean_seconds,
        percentile_cont(0.5) within group (order by latency_seconds) as p50_seconds,
        percentile_cont(0.95) within group (order by latency_seconds) as p95_seconds,
        percentile_cont(0.99) within group (order by latency_seconds) as p99_seconds,
        max(latency_seconds)::double precision as max_seconds

    from latencies
    group by route, hour_start

)

select * from final
