-- How big a basket is, for customers, for guests and over all (the row
-- `all`): lines, product units and net revenue per basket, as mean, median
-- and 90th percentile. A basket is a purchase invoice (not a cancellation)
-- with a positive net revenue. The purchase invoices left out are counted
-- in `invoices_left_out`: nearly all are guest invoices of zero value, most
-- of them stock write-offs (negative units at a price of 0, "damaged",
-- "thrown away") that the retailer booked as invoices. Medians and
-- percentiles are exact (Spark's percentile, interpolated).

with

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

purchase_invoices as (
    select
        lines,
        product_units,
        net_revenue,
        net_revenue > 0 as is_basket,
        case
            when is_guest_invoice then 'guests' else 'customers'
        end as buyer
    from invoices
    where not is_cancellation
),

per_buyer as (
    select
        coalesce(buyer, 'all') as buyer,
        count_if(is_basket) as baskets,
        count_if(not is_basket) as invoices_left_out,
        avg(case when is_basket then lines end) as mean_lines,
        percentile(case when is_basket then lines end, 0.5) as median_lines,
        percentile(case when is_basket then lines end, 0.9) as p90_lines,
        avg(case when is_basket then product_units end) as mean_units,
        percentile(case when is_basket then product_units end, 0.5)
            as median_units,
        avg(case when is_basket then net_revenue end) as mean_net_revenue,
        percentile(case when is_basket then net_revenue end, 0.5)
            as median_net_revenue,
        percentile(case when is_basket then net_revenue end, 0.9)
            as p90_net_revenue
    from purchase_invoices
    group by rollup (buyer)
),

final as (
    select
        buyer,
        baskets,
        invoices_left_out,
        cast(mean_lines as decimal(8, 1)) as mean_lines,
        cast(median_lines as decimal(8, 1)) as median_lines,
        cast(p90_lines as decimal(8, 1)) as p90_lines,
        cast(mean_units as decimal(10, 1)) as mean_units,
        cast(median_units as decimal(10, 1)) as median_units,
        cast(mean_net_revenue as decimal(18, 2)) as mean_net_revenue,
        cast(median_net_revenue as decimal(18, 2)) as median_net_revenue,
        cast(p90_net_revenue as decimal(18, 2)) as p90_net_revenue
    from per_buyer
)

select * from final
order by baskets desc
