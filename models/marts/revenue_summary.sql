with

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

bucketed as (
    -- Every line falls in exactly one bucket, so the buckets add up to the
    -- net revenue of the raw table.
    select
        invoice_lines.*,
        case
            when invoice_lines.is_guest_line then 'guest_lines'
            when customer_rfm.customer_id is not null then 'rfm_customers'
            else 'cancellation_only_customers'
        end as revenue_bucket
    from invoice_lines
    left join customer_rfm
        on invoice_lines.customer_id = customer_rfm.customer_id
),

per_bucket as (
    select
        revenue_bucket,
        count(distinct customer_id) as customers,
        count(distinct invoice_no) as invoices,
        count(*) as lines,
        sum(
            case when is_non_product_line then 0 else line_net_revenue end
        ) as product_net_revenue,
        sum(
            case when is_non_product_line then line_net_revenue else 0 end
        ) as non_product_net_revenue,
        sum(line_net_revenue) as net_revenue
    from bucketed
    group by revenue_bucket
),

bucket_definitions as (
    select
        listed.revenue_bucket,
        listed.bucket_rank,
        listed.description
    from (
        values
        (
            'rfm_customers', 1,
            'Lines of customers with at least one purchase invoice: '
            || 'the customers of customer_rfm'
        ),
        (
            'cancellation_only_customers', 2,
            'Lines of customers whose every invoice is a cancellation: '
            || 'not in customer_rfm'
        ),
        (
            'guest_lines', 3,
            'Lines without a CustomerID: in no customer mart'
        )
    ) as listed (revenue_bucket, bucket_rank, description)
),

final as (
    -- All three buckets appear, with zeros when one is empty.
    select
        bucket_definitions.revenue_bucket,
        cast(bucket_definitions.bucket_rank as int) as bucket_rank,
        bucket_definitions.description,
        cast(coalesce(per_bucket.customers, 0) as int) as customers,
        cast(coalesce(per_bucket.invoices, 0) as int) as invoices,
        cast(coalesce(per_bucket.lines, 0) as int) as lines,
        cast(coalesce(per_bucket.product_net_revenue, 0) as decimal(18, 3))
            as product_net_revenue,
        cast(
            coalesce(per_bucket.non_product_net_revenue, 0) as decimal(18, 3)
        ) as non_product_net_revenue,
        cast(coalesce(per_bucket.net_revenue, 0) as decimal(18, 3))
            as net_revenue,
        cast(
            coalesce(per_bucket.net_revenue, 0)
            / sum(per_bucket.net_revenue) over ()
            as decimal(9, 6)
        ) as share_of_net_revenue
    from bucket_definitions
    left join per_bucket
        on bucket_definitions.revenue_bucket = per_bucket.revenue_bucket
)

select * from final
