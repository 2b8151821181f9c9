-- One row per delivered message: when it was sent in the recipient's local time, when (if)
-- a person first opened it, and what was known about the recipient just before the send.
-- Recipient features come from a per-contact timeline of deliveries and first opens walked
-- once with window functions; each message sees only timeline entries strictly earlier than
-- its send time, never its own open or anything later (no leakage).

{%- set as_of = as_of_timestamp(var('as_of', none)) %}
{%- set horizon = var('open_horizon_hours') %}
{%- set strength = var('histogram_prior_strength') %}

with

contacts as (

    select contact_id, time_zone, mailbox_provider from {{ ref('stg_contacts') }}
    where contact_status is distinct from 'erased'  -- erased: in totals, not in training

),

delivered as (

    select
        outcomes.message_id,
        outcomes.contact_id,
        outcomes.campaign_type,
        coalesce(outcomes.sent_at, outcomes.delivered_at) as sent_at,
        outcomes.delivered_at,
        -- An open after as_of has not happened yet from the model's point of view.
        case when outcomes.first_human_open_at <= {{ as_of }} then outcomes.first_human_open_at end
            as first_human_open_at,
        outcomes.first_human_open_device,
        contacts.time_zone,
        contacts.mailbox_provider

    from {{ ref('message_outcomes') }} as outcomes
    inner join contacts on contacts.contact_id = outcomes.contact_id
    where outcomes.delivered_at is not null
      and outcomes.delivered_at <= {{ as_of }}

),

timeline as (

    -- What happened to the recipient, in time order: each send (where features are read),
    -- each delivery and each first human open (which features count).
    select contact_id, sent_at as at, 'send' as kind, message_id, null::integer as local_hour,
           null::text as device
    from delivered

    union all

    select contact_id, delivered_at, 'delivery', message_id, null, null
    from delivered

    union all

    select
        contact_id,
        first_human_open_at,
        'open',
        message_id,
        cast(extract(hour from timezone(time_zone, first_human_open_at)) as integer),
        first_human_open_device
    from delivered
    where first_human_open_at is not null

),

prior as (

    -- `groups between unbounded preceding and 1 preceding` ends before the current row's
    -- peers: only entries at an earlier instant than the send count.
    select
        message_id,
        count(*) filter (where kind = 'delivery') over earlier as prior_delivered,
        count(*) filter (where kind = 'open') over earlier as prior_opens,
        max(at) filter (where kind = 'open') over earlier as last_prior_open_at,
        count(*) filter (where kind = 'open' and device = 'mobile') over earlier as prior_mobile_opens,
        count(*) filter (where kind = 'open' and device = 'desktop') over earlier as prior_desktop_opens,
        array[
            {%- for hour in range(24) %}
            count(*) filter (where kind = 'open' and local_hour = {{ hour }}) over earlier{{ "," if not loop.last }}
            {%- endfor %}
        ] as prior_hour_counts,
        kind

    from timeline
    window earlier as (
        partition by contact_id
        order by at
        groups between unbounded preceding and 1 preceding
    )

),

prior_at_send as (

    select * from prior where kind = 'send'

),

final as (

    select
        delivered.message_id,
        delivered.contact_id,
        delivered.campaign_type,
        delivered.sent_at,
        delivered.delivered_at,
        delivered.time_zone,
        cast(extract(hour from timezone(delivered.time_zone, delivered.sent_at)) as integer) as local_send_hour,
        cast(extract(isodow from timezone(delivered.time_zone, delivered.sent_at)) as integer) - 1 as local_send_weekday,
        delivered.first_human_open_at,
        -- Hours from delivery to the first human open at any time (null if none by as_of);
        -- `opened` and `duration_hours` apply the horizon.
        case
            when delivered.first_human_open_at is not null then
                (greatest(0.0, extract(epoch from delivered.first_human_open_at - delivered.delivered_at)) / 3600.0)::double precision
        end as hours_to_first_open,
        coalesce(
            delivered.first_human_open_at < delivered.delivered_at + interval '{{ horizon }} hours', false
        ) as opened,
        -- Survival time: the open within the horizon, else censored at the horizon or at
        -- as_of, whichever comes first.
        (case
            when delivered.first_human_open_at < delivered.delivered_at + interval '{{ horizon }} hours'
                then greatest(0.0, extract(epoch from delivered.first_human_open_at - delivered.delivered_at)) / 3600.0
            else least({{ horizon }}.0, extract(epoch from {{ as_of }} - delivered.delivered_at) / 3600.0)
        end)::double precision as duration_hours,
        prior_at_send.prior_delivered,
        prior_at_send.prior_opens,
        prior_at_send.prior_opens::double precision / nullif(prior_at_send.prior_delivered, 0) as prior_open_rate,
        (extract(epoch from delivered.sent_at - prior_at_send.last_prior_open_at) / 3600.0)::double precision
            as hours_since_last_prior_open,
        -- The hour most of the earlier opens came in (earliest hour on ties); null before any.
        case
            when prior_at_send.prior_opens > 0 then (
                select cast(hours.ordinal - 1 as integer)
                from unnest(prior_at_send.prior_hour_counts) with ordinality as hours (opens, ordinal)
                order by hours.opens desc, hours.ordinal
                limit 1
            )
        end as prior_modal_open_hour,
        -- Laplace smoothing toward a flat day: `strength` pseudo-opens spread over 24 hours.
        array(
            select ((counts.opens + {{ strength }} / 24.0) / (prior_at_send.prior_opens + {{ strength }}))::double precision
            from unnest(prior_at_send.prior_hour_counts) with ordinality as counts (opens, ordinal)
            order by counts.ordinal
        ) as prior_open_hour_histogram,
        case
            when prior_at_send.prior_mobile_opens > prior_at_send.prior_desktop_opens then 'mobile'
            when prior_at_send.prior_desktop_opens > prior_at_send.prior_mobile_opens then 'desktop'
            else 'unknown'
        end as prior_device,
        delivered.mailbox_provider

    from delivered
    inner join prior_at_send on prior_at_send.message_id = delivered.message_id

)

select * from final
