-- One row per contact: engagement features as of one instant (var `as_of`, default now()),
-- from human opens and clicks only. Rates are shares of the messages delivered in the window
-- that a person opened (or clicked) by as_of.

{%- set as_of = as_of_timestamp(var('as_of', none)) %}
{%- set strength = var('histogram_prior_strength') %}

with

contacts as (

    -- Erased contacts (right to be forgotten, data expiration) are no one any more: their
    -- kept messages count in totals, never in a person's features.
    select * from {{ ref('stg_contacts') }}
    where contact_status is distinct from 'erased'

),

delivered as (

    select
        contact_id,
        delivered_at,
        extract(epoch from {{ as_of }} - delivered_at) / 86400.0 as age_days,
        first_human_open_at is not null and first_human_open_at <= {{ as_of }} as opened,
        first_human_click_at is not null and first_human_click_at <= {{ as_of }} as clicked

    from {{ ref('message_outcomes') }}
    where delivered_at is not null
      and delivered_at <= {{ as_of }}
      and delivered_at > {{ as_of }} - interval '90 days'

),

windows as (

    select
        contact_id,
        count(*) filter (where age_days < 7) as delivered_7d,
        count(*) filter (where age_days < 7 and opened) as opened_7d,
        count(*) filter (where age_days < 7 and clicked) as clicked_7d,
        count(*) filter (where age_days < 30) as delivered_30d,
        count(*) filter (where age_days < 30 and opened) as opened_30d,
        count(*) filter (where age_days < 30 and clicked) as clicked_30d,
        count(*) as delivered_90d,
        count(*) filter (where opened) as opened_90d,
        count(*) filter (where clicked) as clicked_90d,
        count(*) filter (where age_days >= 30) as delivered_prior_60d,
        count(*) filter (where age_days >= 30 and opened) as opened_prior_60d

    from delivered
    group by contact_id

),

human_opens as (

    select contact_id, event_time, device
    from {{ ref('int_event_classification') }}
    where is_human
      and event_type = 'opened'
      and event_time <= {{ as_of }}

),

open_summary as (

    select
        contact_id,
        max(event_time) as last_human_open_at,
        -- The device people read on; the image proxy's 'unknown' says nothing.
        mode() within group (order by device) filter (where device <> 'unknown') as device

    from human_opens
    group by contact_id

),

first_opens as (

    -- One vote per opened message (its first human open), in the recipient's local time:
    -- hour of week 0 = Monday 00:00-00:59.
    select
        outcomes.contact_id,
        (cast(extract(isodow from timezone(contacts.time_zone, outcomes.first_human_open_at)) as integer) - 1) * 24
            + cast(extract(hour from timezone(contacts.time_zone, outcomes.first_human_open_at)) as integer)
            as hour_of_week

    from {{ ref('message_outcomes') }} as outcomes
    inner join contacts on contacts.contact_id = outcomes.contact_id
    where outcomes.first_human_open_at <= {{ as_of }}

),

hours as (

    select generate_series(0, 167) as hour_of_week

),

population as (

    -- Everyone's opens by hour of week, add-one smoothed so no hour has zero mass.
    select
        hours.hour_of_week,
        (count(first_opens.contact_id) + 1.0)
            / (sum(count(first_opens.contact_id)) over () + 168.0) as share

    from hours
    left join first_opens on first_opens.hour_of_week = hours.hour_of_week
    group by hours.hour_of_week

),

contact_hour_counts as (

    select contact_id, hour_of_week, count(*) as opens
    from first_opens
    group by contact_id, hour_of_week

),

contact_open_totals as (

    select contact_id, sum(opens) as opens
    from contact_hour_counts
    group by contact_id

),

histograms as (

    -- Bayesian smoothing: the recipient's own opens plus `strength` pseudo-opens spread like
    -- the population's, so a recipient with two opens is not certain of two hours.
    select
        totals.contact_id,
        array_agg(
            ((coalesce(counts.opens, 0) + {{ strength }} * population.share) / (totals.opens + {{ strength }}))::double precision
            order by population.hour_of_week
        ) as open_hour_of_week_histogram

    from contact_open_totals as totals
    cross join population
    left join contact_hour_counts as counts
        on counts.contact_id = totals.contact_id
       and counts.hour_of_week = population.hour_of_week
    group by totals.contact_id

),

population_histogram as (

    select array_agg(share::double precision order by hour_of_week) as histogram
    from population

),

final as (

    select
        contacts.contact_id,
        contacts.org_id,
        contacts.mailbox_provider,
        contacts.time_zone,
        coalesce(open_summary.device, 'unknown') as device,
        coalesce(windows.delivered_7d, 0) as delivered_7d,
        coalesce(windows.delivered_30d, 0) as delivered_30d,
        coalesce(windows.delivered_90d, 0) as delivered_90d,
        windows.opened_7d::double precision / nullif(windows.delivered_7d, 0) as open_rate_7d,
        windows.opened_30d::double precision / nullif(windows.delivered_30d, 0) as open_rate_30d,
        windows.opened_90d::double precision / nullif(windows.delivered_90d, 0) as open_rate_90d,
        windows.clicked_7d::double precision / nullif(windows.delivered_7d, 0) as click_rate_7d,
        windows.clicked_30d::double precision / nullif(windows.delivered_30d, 0) as click_rate_30d,
        windows.clicked_90d::double precision / nullif(windows.delivered_90d, 0) as click_rate_90d,
        open_summary.last_human_open_at,
        (extract(epoch from {{ as_of }} - open_summary.last_human_open_at) / 3600.0)::double precision
            as hours_since_last_open,
        coalesce(contact_open_totals.opens, 0)::bigint as opens_in_histogram,
        coalesce(histograms.open_hour_of_week_histogram, population_histogram.histogram)
            as open_hour_of_week_histogram,
        windows.opened_30d::double precision / nullif(windows.delivered_30d, 0)
            - windows.opened_prior_60d::double precision / nullif(windows.delivered_prior_60d, 0)
            as engagement_trend,
        {{ as_of }} as as_of

    from contacts
    cross join population_histogram
    left join windows on windows.contact_id = contacts.contact_id
    left join open_summary on open_summary.contact_id = contacts.contact_id
    left join contact_open_totals on contact_open_totals.contact_id = contacts.contact_id
    left join histograms on histograms.contact_id = contacts.contact_id

)

select * from final
