-- Open-rate curves per organization and signup-month cohort: by weeks since signup (how
-- engagement fades as a subscription ages) and by weeks since the recipient's last human
-- open before the send (how quickly a lapsed reader stops opening; week -1 = never opened
-- before). Built on send_time_training, so "opened" means a human open within the
-- horizon, and the last-open clock uses only opens before each send.
with

sends as (

    select
        training.message_id,
        training.sent_at,
        training.opened,
        training.hours_since_last_prior_open,
        contacts.org_id,
        contacts.created_at as signed_up_at

    from {{ ref('send_time_training') }} as training
    inner join {{ ref('stg_contacts') }} as contacts on contacts.contact_id = training.contact_id

),

by_curve as (

    select
        org_id,
        cast(date_trunc('month', signed_up_at, 'UTC') as date) as signup_month,
        'weeks_since_signup' as curve,
        greatest(0, floor(extract(epoch from sent_at - signed_up_at) / 604800.0))::integer as week_index,
        opened
    from sends

    union all

    select
        org_id,
        cast(date_trunc('month', signed_up_at, 'UTC') as date),
        'weeks_since_last_open',
        coalesce(floor(hours_since_last_prior_open / 168.0)::integer, -1),
        opened
    from sends

),

final as (

    select
        {{ surrogate_key(['org_id', 'signup_month', 'curve', 'week_index']) }} as decay_key,
        -- Curves are per organization: a cohort never mixes two organizations' contacts.
        org_id,
        signup_month,
        curve,
        week_index,
        count(*) as delivered,
        count(*) filter (where opened) as opened,
        (count(*) filter (where opened))::double precision / count(*) as open_rate

    from by_curve
    group by org_id, signup_month, curve, week_index

)

select * from final
