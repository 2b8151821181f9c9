-- One row per message that carried a content variant: who saw which variant with what
-- assignment probability, and whether a person (not a machine) opened or clicked. The input
-- of variant lift estimates (inverse-propensity weights come from variant_probability).
with

outcomes as (

    select * from {{ ref('message_outcomes') }}
    where variant is not null

),

final as (

    select
        message_id,
        org_id,
        campaign_id,
        campaign_type,
        contact_id,
        variant,
        variant_probability,
        delivered_at as exposed_at,
        delivered_at is not null as delivered,
        first_human_open_at is not null as opened,
        first_human_click_at is not null as clicked,
        first_human_open_at,
        first_human_click_at

    from outcomes

)

select * from final
