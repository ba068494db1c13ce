-- How concentrated net revenue is. The customers of customer_rfm are ranked
-- by monetary value; the top 1%, 10% and 20% of them (rounded up to whole
-- customers) are set against the net revenue of all customers and of all
-- lines. Guest lines and customers with only cancellations are shown as
-- their own rows, so the share of net revenue that no customer can be held
-- to is in plain view. `half_of_customer_revenue` is the smallest number of
-- top customers who together hold half of the customers' net revenue.

with

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

revenue_summary as (
    select * from {{ ref('revenue_summary') }}
),

ranked as (
    select
        customer_id,
        monetary,
        row_number() over (order by monetary desc, customer_id asc)
            as customer_rank,
        count(*) over () as customers,
        sum(monetary) over () as customer_net_revenue,
        sum(monetary) over (
            order by monetary desc, customer_id asc
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from customer_rfm
),

tier_definitions as (
    -- The top tiers, by the share of customers they hold.
    select
        listed.tier,
        listed.tier_rank,
        listed.top_share
    from (
        values
        ('top_1_percent', 1, 0.01),
        ('top_10_percent', 2, 0.10),
        ('top_20_percent', 3, 0.20),
        ('all_customers', 5, 1.00)
    ) as listed (tier, tier_rank, top_share)
),

top_tiers as (
    select
        tier_definitions.tier,
        tier_definitions.tier_rank,
        count(*) as customers,
        sum(ranked.monetary) as net_revenue
    from ranked
    inner join tier_definitions
        on
            ranked.customer_rank
            <= ceil(tier_definitions.top_share * ranked.customers)
    group by tier_definitions.tier, tier_definitions.tier_rank
),

half as (
    -- The first customer at whom the running total reaches half.
    select
        'half_of_customer_revenue' as tier,
        4 as tier_rank,
        min(customer_rank) as customers,
        min_by(cumulative_net_revenue, customer_rank) as net_revenue
    from ranked
    where cumulative_net_revenue >= customer_net_revenue / 2
),

buckets as (
    select
        revenue_bucket as tier,
        5 + bucket_rank as tier_rank,
        customers,
        net_revenue
    from revenue_summary
    where revenue_bucket != 'rfm_customers'
),

totals as (
    select
        (select sum(monetary) from customer_rfm) as customer_net_revenue,
        (select sum(net_revenue) from revenue_summary) as net_revenue
),

tiers as (
    select * from top_tiers
    union all
    select * from half
    union all
    select * from buckets
),

final as (
    select
        tiers.tier,
        tiers.tier_rank,
        tiers.customers,
        cast(tiers.net_revenue as decimal(18, 2)) as net_revenue,
        cast(
            tiers.net_revenue / totals.customer_net_revenue as decimal(7, 4)
        ) as share_of_customer_net_revenue,
        cast(
            tiers.net_revenue / totals.net_revenue as decimal(7, 4)
        ) as share_of_net_revenue
    from tiers
    cross join totals
)

select * from final
order by tier_rank
