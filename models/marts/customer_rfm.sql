{#- The as-of date: the project variable rfm_as_of_date when it is set,
    else the day after the last invoice (the CTE last_invoice below). -#}
{%- set as_of_date_override = var('rfm_as_of_date') -%}
{%- if as_of_date_override -%}
    {%- set as_of_date_sql = "cast('" ~ as_of_date_override ~ "' as date)" -%}
{%- else -%}
    {%- set as_of_date_sql = 'last_invoice.day_after_last_invoice' -%}
{%- endif -%}

with

customer_orders as (
    select * from {{ ref('int_customer_orders_summarized') }}
),

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

last_invoice as (
    -- The day after the last invoice date in the data, over all invoices.
    select date_add(max(invoice_date), 1) as day_after_last_invoice
    from invoices
),

as_of as (
    -- One row, whichever way the date is set.
    select {{ as_of_date_sql }} as as_of_date
    from last_invoice
),

purchasers as (
    -- A customer whose invoices are all cancellations has no purchase to
    -- score and is left out; revenue_summary reports their net revenue.
    select * from customer_orders
    where purchase_invoices > 0
),

features as (
    select
        purchasers.customer_id,
        purchasers.primary_country,
        purchasers.first_purchase_at,
        purchasers.last_purchase_at,
        as_of.as_of_date,
        purchasers.purchase_invoices as frequency,
        purchasers.cancellation_invoices,
        cast(round(purchasers.net_revenue, 2) as decimal(18, 2)) as monetary,
        datediff(
            as_of.as_of_date, cast(purchasers.last_purchase_at as date)
        ) as recency_days
    from purchasers
    cross join as_of
),

ranked as (
    -- rank() gives tied values one rank, so ties share a score below.
    -- Ranked from worst to best: long recency, few invoices, low spend.
    select
        features.*,
        rank() over (order by features.recency_days desc) as recency_rank,
        rank() over (order by features.frequency asc) as frequency_rank,
        rank() over (order by features.monetary asc) as monetary_rank,
        count(*) over () as customers
    from features
),

scored as (
    -- Quintiles: 1 + floor(5 * customers ranked below / all customers).
    select
        ranked.*,
        cast(
            1 + ((ranked.recency_rank - 1) * 5) div ranked.customers as int
        ) as r_score,
        cast(
            1 + ((ranked.frequency_rank - 1) * 5) div ranked.customers as int
        ) as f_score,
        cast(
            1 + ((ranked.monetary_rank - 1) * 5) div ranked.customers as int
        ) as m_score
    from ranked
),

segmented as (
    select
        scored.*,
        cast((scored.f_score + scored.m_score + 1) div 2 as int) as fm_score,
        concat(scored.r_score, scored.f_score, scored.m_score) as rfm_cell
    from scored
),

final as (
    select
        segmented.customer_id,
        segmented.primary_country,
        segmented.first_purchase_at,
        segmented.last_purchase_at,
        segmented.as_of_date,
        segmented.recency_days,
        segmented.frequency,
        segmented.monetary,
        segmented.cancellation_invoices,
        segmented.r_score,
        segmented.f_score,
        segmented.m_score,
        segmented.fm_score,
        segmented.rfm_cell,
        segment_map.segment
    from segmented
    left join segment_map
        on
            segmented.r_score = segment_map.r_score
            and segmented.fm_score = segment_map.fm_score
)

select * from final
