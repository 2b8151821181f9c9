-- One row per sending domain, mailbox provider and day with mail: the rolling 7-day bounce,
-- complaint and deferral rates the providers judge a sender by, and a reputation score in
-- [0, 1] (formula in domain_reputation.yml). Days are the days messages were queued.
with

outcomes as (

    select * from {{ ref('message_outcomes') }}

),

contacts as (

    select contact_id, mailbox_provider from {{ ref('stg_contacts') }}

),

daily as (

    select
        coalesce(outcomes.sending_domain, 'unknown') as sending_domain,
        coalesce(contacts.mailbox_provider, 'unknown') as mailbox_provider,
        outcomes.queued_date as day,
        count(*) filter (where outcomes.sent_at is not null) as sent,
        count(*) filter (where outcomes.delivered_at is not null) as delivered,
        count(*) filter (where outcomes.bounce_type is not null) as bounced,
        count(*) filter (where outcomes.bounce_type = 'hard') as hard_bounced,
        count(*) filter (where outcomes.complained_at is not null) as complained,
        count(*) filter (where outcomes.deferral_count > 0) as deferred

    from outcomes
    left join contacts on contacts.contact_id = outcomes.contact_id
    group by 1, 2, 3

),

rolling as (

    -- A range frame over calendar days: a quiet day is a gap, not a row, and the window
    -- still spans exactly the 7 days ending on this one.
    select
        *,
        cast(sum(sent) over last_7_days as bigint) as sent_7d,
        cast(sum(delivered) over last_7_days as bigint) as delivered_7d,
        cast(sum(bounced) over last_7_days as bigint) as bounced_7d,
        cast(sum(complained) over last_7_days as bigint) as complained_7d,
        cast(sum(deferred) over last_7_days as bigint) as deferred_7d

    from daily
    window last_7_days as (
        partition by sending_domain, mailbox_provider
        order by day
        range between interval '6 days' preceding and current row
    )

),

rates as (

    select
        *,
        bounced_7d::double precision / nullif(sent_7d, 0) as bounce_rate_7d,
        complained_7d::double precision / nullif(delivered_7d, 0) as complaint_rate_7d,
        deferred_7d::double precision / nullif(sent_7d, 0) as deferral_rate_7d

    from rolling

),

penalties as (

    -- Each rate maps to a penalty in [0, 1]: linear to 0.5 at the provider's warning level,
    -- then linear to 1 at its enforcement level (SES / Gmail thresholds; see the YAML).
    select
        *,
        {{ threshold_penalty('bounce_rate_7d', 0.05, 0.10) }} as bounce_penalty,
        {{ threshold_penalty('complaint_rate_7d', 0.001, 0.003) }} as complaint_penalty,
        {{ threshold_penalty('deferral_rate_7d', 0.05, 0.20) }} as deferral_penalty

    from rates

),

final as (

    select
        {{ surrogate_key(['sending_domain', 'mailbox_provider', 'day']) }} as reputation_key,
        sending_domain,
        mailbox_provider,
        day,
        sent,
        delivered,
        bounced,
        hard_bounced,
        complained,
        deferred,
        sent_7d,
        delivered_7d,
        bounced_7d,
        complained_7d,
        deferred_7d,
        bounce_rate_7d,
        complaint_rate_7d,
        deferral_rate_7d,
        greatest(0.0, least(1.0,
            1.0 - (0.40 * bounce_penalty + 0.45 * complaint_penalty + 0.15 * deferral_penalty)
        ))::double precision as reputation_score

    from penalties

)

select * from final
