with

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

aggregated as (
    select
        invoice_no,
        customer_id,
        country,
        is_cancellation,
        is_guest_line as is_guest_invoice,
        min(invoiced_at) as invoiced_at,
        count(*) as lines,
        count_if(not is_non_product_line) as product_lines,
        sum(
            case when is_non_product_line then 0 else quantity end
        ) as product_units,
        sum(line_net_revenue) as net_revenue,
        sum(
            case when is_non_product_line then line_net_revenue else 0 end
        ) as non_product_net_revenue
    from invoice_lines
    -- customer_id and country are attributes of the invoice: the unique test
    -- on invoice_no fails if an invoice ever carries two of either.
    group by invoice_no, customer_id, country, is_cancellation, is_guest_line
),

final as (
    select
        invoice_no,
        customer_id,
        country,
        invoiced_at,
        cast(invoiced_at as date) as invoice_date,
        is_cancellation,
        is_guest_invoice,
        cast(lines as int) as lines,
        cast(product_lines as int) as product_lines,
        cast(product_units as int) as product_units,
        cast(net_revenue as decimal(18, 3)) as net_revenue,
        cast(non_product_net_revenue as decimal(18, 3))
            as non_product_net_revenue
    from aggregated
)

select * from final
