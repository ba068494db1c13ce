with

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

segments as (
    select * from {{ ref('rfm_segments') }}
),

per_segment as (
    select
        segment,
        count(*) as customers,
        sum(monetary) as net_revenue,
        avg(recency_days) as avg_recency_days,
        avg(frequency) as avg_frequency,
        avg(monetary) as avg_monetary,
        avg(r_score) as avg_r_score,
        avg(f_score) as avg_f_score,
        avg(m_score) as avg_m_score
    from customer_rfm
    group by segment
),

totals as (
    select
        count(*) as customers,
        sum(monetary) as net_revenue
    from customer_rfm
),

final as (
    -- Every segment of the seed appears, with zero customers when empty.
    select
        segments.segment,
        segments.segment_rank,
        segments.description,
        cast(coalesce(per_segment.customers, 0) as int) as customers,
        cast(
            coalesce(per_segment.customers, 0) / totals.customers
            as decimal(7, 4)
        ) as share_of_customers,
        cast(coalesce(per_segment.net_revenue, 0) as decimal(18, 2))
            as net_revenue,
        cast(
            coalesce(per_segment.net_revenue, 0) / totals.net_revenue
            as decimal(7, 4)
        ) as share_of_net_revenue,
        cast(per_segment.avg_recency_days as decimal(8, 1))
            as avg_recency_days,
        cast(per_segment.avg_frequency as decimal(8, 2)) as avg_frequency,
        cast(per_segment.avg_monetary as decimal(18, 2)) as avg_monetary,
        cast(per_segment.avg_r_score as decimal(3, 2)) as avg_r_score,
        cast(per_segment.avg_f_score as decimal(3, 2)) as avg_f_score,
        cast(per_segment.avg_m_score as decimal(3, 2)) as avg_m_score
    from segments
    left join per_segment
        on segments.segment = per_segment.segment
    cross join totals
)

select * from final
