-- Net revenue by calendar month, with what it is made of. The data runs from
-- 2010-12-01 to 2011-12-09, so the last month holds nine days only: compare
-- months on net_revenue_per_trading_day, not on net_revenue. A cancellation
-- counts in the month it was raised, which need not be the month of the
-- purchase it reverses.

with

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

monthly as (
    select
        date_format(invoice_date, 'yyyy-MM') as invoice_month,
        count(distinct invoice_date) as trading_days,
        count_if(not is_cancellation) as purchase_invoices,
        count_if(is_cancellation) as cancellation_invoices,
        count(
            distinct case
                when not is_cancellation then customer_id
            end
        ) as purchasing_customers,
        sum(
            case when is_cancellation then 0 else net_revenue end
        ) as purchase_net_revenue,
        sum(
            case when is_cancellation then net_revenue else 0 end
        ) as cancelled_net_revenue,
        sum(
            case when is_guest_invoice then net_revenue else 0 end
        ) as guest_net_revenue,
        sum(net_revenue) as net_revenue
    from invoices
    group by date_format(invoice_date, 'yyyy-MM')
),

final as (
    select
        invoice_month,
        trading_days,
        purchase_invoices,
        cancellation_invoices,
        purchasing_customers,
        purchase_net_revenue,
        cancelled_net_revenue,
        guest_net_revenue,
        net_revenue,
        cast(net_revenue / trading_days as decimal(18, 2))
            as net_revenue_per_trading_day,
        cast(
            net_revenue / sum(net_revenue) over () as decimal(7, 4)
        ) as share_of_net_revenue
    from monthly
)

select * from final
order by invoice_month
