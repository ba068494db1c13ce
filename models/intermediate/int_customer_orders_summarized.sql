with

invoices as (
    select * from {{ ref('int_invoices_aggregated') }}
),

customer_invoices as (
    -- Guest invoices have no customer to summarise: they stay out of every
    -- customer model and are reported in revenue_summary.
    select * from invoices
    where not is_guest_invoice
),

country_invoices as (
    select
        customer_id,
        country,
        count(*) as invoices,
        max(invoiced_at) as last_invoiced_at
    from customer_invoices
    group by customer_id, country
),

primary_countries as (
    -- The country of most of the customer's invoices; a tie goes to the
    -- country invoiced last, then alphabetically, so the choice is stable.
    select
        customer_id,
        country as primary_country
    from (
        select
            customer_id,
            country,
            row_number() over (
                partition by customer_id
                order by invoices desc, last_invoiced_at desc, country asc
            ) as country_rank
        from country_invoices
    ) as ranked
    where country_rank = 1
),

summarized as (
    select
        customer_id,
        count(*) as invoices,
        count_if(not is_cancellation) as purchase_invoices,
        count_if(is_cancellation) as cancellation_invoices,
        min(invoiced_at) as first_invoiced_at,
        min(
            case when not is_cancellation then invoiced_at end
        ) as first_purchase_at,
        max(
            case when not is_cancellation then invoiced_at end
        ) as last_purchase_at,
        sum(lines) as lines,
        sum(
            case when is_cancellation then 0 else net_revenue end
        ) as purchase_net_revenue,
        sum(
            case when is_cancellation then net_revenue else 0 end
        ) as cancelled_net_revenue,
        sum(net_revenue) as net_revenue
    from customer_invoices
    group by customer_id
),

final as (
    select
        summarized.customer_id,
        primary_countries.primary_country,
        cast(summarized.invoices as int) as invoices,
        cast(summarized.purchase_invoices as int) as purchase_invoices,
        cast(summarized.cancellation_invoices as int) as cancellation_invoices,
        summarized.first_invoiced_at,
        summarized.first_purchase_at,
        summarized.last_purchase_at,
        cast(summarized.lines as int) as lines,
        cast(summarized.purchase_net_revenue as decimal(18, 3))
            as purchase_net_revenue,
        cast(summarized.cancelled_net_revenue as decimal(18, 3))
            as cancelled_net_revenue,
        cast(summarized.net_revenue as decimal(18, 3)) as net_revenue
    from summarized
    inner join primary_countries
        on summarized.customer_id = primary_countries.customer_id
)

select * from final
