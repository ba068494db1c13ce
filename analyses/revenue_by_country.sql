-- Net revenue by the country an invoice was sold to, largest first. The
-- retailer is British and most of its trade is domestic; the rest is spread
-- over 37 other entries, two of which are not countries ("European
-- Community", "Unspecified").

with

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

per_country as (
    select
        country,
        count(distinct customer_id) as customers,
        count_if(not is_cancellation) as purchase_invoices,
        sum(
            case when is_guest_invoice then net_revenue else 0 end
        ) as guest_net_revenue,
        sum(net_revenue) as net_revenue
    from invoices
    group by country
),

final as (
    select
        country,
        customers,
        purchase_invoices,
        guest_net_revenue,
        net_revenue,
        cast(
            net_revenue / sum(net_revenue) over () as decimal(7, 4)
        ) as share_of_net_revenue,
        rank() over (order by net_revenue desc) as revenue_rank
    from per_country
)

select * from final
order by revenue_rank, country
