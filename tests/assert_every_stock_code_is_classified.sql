-- Every stock code is either a product code or listed in the seed
-- non_product_stock_codes. Product codes are five digits with up to two
-- letters (85123A, 15056BL), or the web shop's DCGS codes (DCGS0076,
-- DCGSSGIRL). A code of any other shape that the seed does not list fails
-- here, so that new data cannot slip postage or a fee into product revenue
-- unnoticed: add it to the seed (or widen the product pattern) once you know
-- what it is.

with

invoice_lines as (
    select * from {{ ref('stg_online_retail__invoice_lines') }}
),

unclassified as (
    select
        stock_code,
        count(*) as lines,
        min(description) as example_description
    from invoice_lines
    where
        not is_non_product_line
        and not stock_code rlike '^[0-9]{5}[A-Za-z]{0,2}$'
        and not stock_code rlike '^DCGS[0-9A-Z]+$'
    group by stock_code
)

select * from unclassified
