-- The 20 products with the highest net revenue, with their rank by net units
-- sold. Products only: postage, fees and other non-product lines are left
-- out. A product's description is the one its lines carry most often (the
-- same stock code is sometimes typed differently, or marked damaged).
-- Cancelled units net out, so an order cancelled in full adds nothing (the
-- 80,995 PAPER CRAFT, LITTLE BIRDIE of invoice 581483, for one). A reversal
-- keyed as a non-product line does not: 22502 PICNIC BASKET WICKER counts
-- the £38,970 line of invoice 556444, which a Manual line took back three
-- minutes later (see outlier_lines).

with

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

product_lines as (
    select * from invoice_lines
    where not is_non_product_line
),

description_counts as (
    select
        stock_code,
        description,
        count(*) as lines
    from product_lines
    where description is not null
    group by stock_code, description
),

usual_descriptions as (
    select
        stock_code,
        description
    from (
        select
            stock_code,
            description,
            row_number() over (
                partition by stock_code
                order by lines desc, description asc
            ) as description_rank
        from description_counts
    ) as ranked
    where description_rank = 1
),

per_product as (
    select
        stock_code,
        count(distinct case when not is_cancellation then invoice_no end)
            as purchase_invoices,
        count(distinct customer_id) as customers,
        sum(case when is_cancellation then 0 else quantity end) as units_sold,
        sum(quantity) as net_units,
        sum(line_net_revenue) as net_revenue
    from product_lines
    group by stock_code
),

ranked as (
    select
        per_product.*,
        rank() over (order by per_product.net_revenue desc) as revenue_rank,
        rank() over (order by per_product.net_units desc) as units_rank
    from per_product
),

final as (
    select
        ranked.revenue_rank,
        ranked.units_rank,
        ranked.stock_code,
        usual_descriptions.description,
        ranked.purchase_invoices,
        ranked.customers,
        ranked.units_sold,
        ranked.net_units,
        ranked.net_revenue
    from ranked
    left join usual_descriptions
        on ranked.stock_code = usual_descriptions.stock_code
    where ranked.revenue_rank <= 20
)

select * from final
order by revenue_rank, stock_code
