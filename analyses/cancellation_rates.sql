-- How much is cancelled, month by month and over the whole data (the row
-- `all`): the share of invoices that are cancellations, the share of the
-- purchase value they reverse, and how many customers bought and how many
-- cancelled (a customer with only cancellations counts among the latter
-- only). A cancellation counts in the month it was raised; it may reverse a
-- purchase of an earlier month, or of before the data begins.

with

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

dated as (
    select
        invoices.*,
        date_format(invoices.invoice_date, 'yyyy-MM') as invoice_month
    from invoices
),

per_month as (
    select
        coalesce(invoice_month, 'all') as invoice_month,
        count(*) as invoices,
        count_if(is_cancellation) as cancellation_invoices,
        count(distinct case when not is_cancellation then customer_id end)
            as purchasing_customers,
        count(distinct case when is_cancellation then customer_id end)
            as cancelling_customers,
        sum(
            case when is_cancellation then 0 else net_revenue end
        ) as purchase_net_revenue,
        sum(
            case when is_cancellation then net_revenue else 0 end
        ) as cancelled_net_revenue
    from dated
    group by rollup (invoice_month)
),

final as (
    select
        invoice_month,
        invoices,
        cancellation_invoices,
        cast(cancellation_invoices / invoices as decimal(7, 4))
            as cancellation_invoice_rate,
        purchase_net_revenue,
        cancelled_net_revenue,
        cast(
            -cancelled_net_revenue / purchase_net_revenue as decimal(7, 4)
        ) as cancelled_share_of_purchases,
        purchasing_customers,
        cancelling_customers
    from per_month
)

select * from final
order by invoice_month
