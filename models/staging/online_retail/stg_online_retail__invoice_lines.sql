with

source as (
    select * from {{ source('online_retail', 'invoice_lines') }}
),

non_product_stock_codes as (
    select * from {{ ref('non_product_stock_codes') }}
),

typed as (
    -- The raw columns keep the names they were delivered with (InvoiceNo,
    -- ...); from here on every name is lower case.
    select
        _source_row_number as invoice_line_id,
        InvoiceNo as invoice_no,
        StockCode as stock_code,
        -- Not a self alias: it names the column in lower case (sqlfluff AL09
        -- cannot tell, hence the noqa).
        Country as country,  -- noqa: AL09
        _source_file as source_file,
        _loaded_at as loaded_at,
        cast(Quantity as int) as quantity,
        cast(UnitPrice as decimal(18, 3)) as unit_price,
        -- Both 12345 and 12345.0 are delivered; the loader has checked the
        -- fraction is zero, so the decimal cast loses nothing.
        cast(cast(CustomerID as decimal(18, 1)) as bigint) as customer_id,
        trim(Description) as description,
        coalesce(
            try_to_timestamp(InvoiceDate, 'yyyy-MM-dd HH:mm:ss'),
            try_to_timestamp(InvoiceDate, 'M/d/yyyy H:mm')
        ) as invoiced_at
    from source
),

flagged as (
    select
        typed.*,
        non_product_stock_codes.line_kind as non_product_kind,
        cast(typed.invoiced_at as date) as invoice_date,
        cast(typed.quantity * typed.unit_price as decimal(18, 3))
            as line_net_revenue,
        typed.invoice_no like 'C%' as is_cancellation,
        typed.customer_id is null as is_guest_line,
        non_product_stock_codes.stock_code is not null
            as is_non_product_line
    from typed
    left join non_product_stock_codes
        on typed.stock_code = non_product_stock_codes.stock_code
),

final as (
    select
        invoice_line_id,
        invoice_no,
        stock_code,
        description,
        quantity,
        unit_price,
        line_net_revenue,
        invoiced_at,
        invoice_date,
        customer_id,
        country,
        is_cancellation,
        is_guest_line,
        is_non_product_line,
        non_product_kind,
        source_file,
        loaded_at
    from flagged
)

select * from final
