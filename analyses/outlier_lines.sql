-- The outlier lines: every line of 10,000 units or more, or worth £10,000 or
-- more, either way round. Each is paired with the line that reverses it, if
-- any: a line of the same customer (or also a guest line) on another invoice
-- with the opposite net revenue, the nearest in time. A reversal may pair
-- with more than one outlier (the pairing is a lead, not a ledger); a
-- negative minutes_to_reversal means the pair came first. The two largest
-- orders in the data (80,995 and 74,215 units) were cancelled within
-- minutes, so they add nothing to net revenue; most of the rest are Amazon
-- fees, manual corrections and bad-debt adjustments, not sales.

with

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

outliers as (
    select * from invoice_lines
    where abs(quantity) >= 10000 or abs(line_net_revenue) >= 10000
),

candidates as (
    select
        outliers.invoice_line_id,
        reversals.invoice_no as reversed_by_invoice_no,
        reversals.invoiced_at as reversed_at,
        row_number() over (
            partition by outliers.invoice_line_id
            order by
                abs(
                    unix_timestamp(reversals.invoiced_at)
                    - unix_timestamp(outliers.invoiced_at)
                ) asc,
                reversals.invoice_line_id asc
        ) as candidate_rank
    from outliers
    inner join invoice_lines as reversals
        on
            outliers.customer_id <=> reversals.customer_id
            and outliers.line_net_revenue = -reversals.line_net_revenue
            and outliers.invoice_no != reversals.invoice_no
    where outliers.line_net_revenue != 0
),

final as (
    select
        outliers.invoice_no,
        outliers.invoiced_at,
        outliers.customer_id,
        outliers.country,
        outliers.stock_code,
        outliers.description,
        outliers.quantity,
        outliers.unit_price,
        outliers.line_net_revenue,
        outliers.is_cancellation,
        outliers.non_product_kind,
        candidates.reversed_by_invoice_no,
        candidates.reversed_at,
        cast(
            (
                unix_timestamp(candidates.reversed_at)
                - unix_timestamp(outliers.invoiced_at)
            ) / 60 as int
        ) as minutes_to_reversal
    from outliers
    left join candidates
        on
            outliers.invoice_line_id = candidates.invoice_line_id
            and candidates.candidate_rank = 1
)

select * from final
order by abs(line_net_revenue) desc, abs(quantity) desc, invoice_no
