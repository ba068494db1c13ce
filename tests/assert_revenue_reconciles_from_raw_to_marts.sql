-- Net revenue reconciles from the raw table to the marts, to the penny.
-- The raw total is computed here from the delivered text, independently of
-- the models. Every layer that keeps all lines must match it exactly (lines
-- keep three decimals); the customer marts round each customer to pence, so
-- their sum may differ from the exact sum by half a penny per customer. One
-- row per check that fails.

with

raw_lines as (
    select * from {{ source('online_retail', 'invoice_lines') }}
),

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

customer_orders as (
    select * from {{ ref('int_customer_orders_summarized') }}
),

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

revenue_summary as (
    select * from {{ ref('revenue_summary') }}
),

raw_total as (
    select
        sum(
            cast(Quantity as decimal(18, 0)) * cast(UnitPrice as decimal(18, 3))
        ) as net_revenue,
        sum(
            case
                when CustomerID is null
                    then
                        cast(Quantity as decimal(18, 0))
                        * cast(UnitPrice as decimal(18, 3))
                else 0
            end
        ) as guest_net_revenue
    from raw_lines
),

bucket as (
    select
        sum(net_revenue) as all_buckets,
        sum(case when revenue_bucket = 'rfm_customers' then net_revenue end)
            as rfm_customers,
        sum(case when revenue_bucket = 'guest_lines' then net_revenue end)
            as guest_lines
    from revenue_summary
),

checks as (
    select
        'staging lines = raw' as check_name,
        (select net_revenue from raw_total) as expected,
        (select sum(line_net_revenue) from invoice_lines) as actual,
        0 as tolerance
    union all
    select
        'invoices = raw' as check_name,
        (select net_revenue from raw_total) as expected,
        (select sum(net_revenue) from invoices) as actual,
        0 as tolerance
    union all
    select
        'customers + guest lines = raw' as check_name,
        (select net_revenue from raw_total) as expected,
        (select sum(net_revenue) from customer_orders)
        + (select guest_net_revenue from raw_total) as actual,
        0 as tolerance
    union all
    select
        'revenue_summary buckets = raw' as check_name,
        (select net_revenue from raw_total) as expected,
        (select all_buckets from bucket) as actual,
        0 as tolerance
    union all
    select
        'revenue_summary guest bucket = raw guest lines' as check_name,
        (select guest_net_revenue from raw_total) as expected,
        (select guest_lines from bucket) as actual,
        0 as tolerance
    union all
    select
        'customer_rfm monetary = rfm_customers bucket' as check_name,
        (select rfm_customers from bucket) as expected,
        (select sum(monetary) from customer_rfm) as actual,
        (select 0.005 * count(*) from customer_rfm) as tolerance
)

select *
from checks
where
    actual is null
    or expected is null
    or abs(actual - expected) > tolerance
