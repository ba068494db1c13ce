-- cluster_profile accounts for every customer of customer_rfm and all their
-- net revenue, once: returns a row when the totals differ.

with

cluster_profile as (
    select * from {{ ref('cluster_profile') }}
),

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

profiled as (
    select
        sum(customers) as customers,
        sum(net_revenue) as net_revenue
    from cluster_profile
),

scored as (
    select
        count(*) as customers,
        sum(monetary) as net_revenue
    from customer_rfm
),

final as (
    select
        profiled.customers as profiled_customers,
        scored.customers as scored_customers,
        profiled.net_revenue as profiled_net_revenue,
        scored.net_revenue as scored_net_revenue
    from profiled
    cross join scored
    where
        profiled.customers != scored.customers
        or profiled.net_revenue != scored.net_revenue
)

select * from final
