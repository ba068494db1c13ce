with

customer_clusters as (
    select * from {{ ref('customer_clusters') }}
),

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

clustered as (
    select
        customer_clusters.cluster_id,
        customer_clusters.cluster_label,
        customer_clusters.is_outlier,
        customer_rfm.recency_days,
        customer_rfm.frequency,
        customer_rfm.monetary
    from customer_clusters
    inner join customer_rfm
        on customer_clusters.customer_id = customer_rfm.customer_id
),

per_cluster as (
    select
        cluster_id,
        cluster_label,
        cluster_id = 0 as is_set_apart,
        count(*) as customers,
        count_if(is_outlier) as extreme_customers,
        sum(monetary) as net_revenue,
        avg(recency_days) as avg_recency_days,
        avg(frequency) as avg_frequency,
        avg(monetary) as avg_monetary,
        median(monetary) as median_monetary
    from clustered
    group by cluster_id, cluster_label
),

totals as (
    select
        count(*) as customers,
        sum(monetary) as net_revenue
    from customer_rfm
),

final as (
    select
        cast(per_cluster.cluster_id as int) as cluster_id,
        per_cluster.cluster_label,
        per_cluster.is_set_apart,
        cast(per_cluster.customers as int) as customers,
        cast(
            per_cluster.customers / totals.customers as decimal(7, 4)
        ) as share_of_customers,
        cast(per_cluster.extreme_customers as int) as extreme_customers,
        cast(per_cluster.net_revenue as decimal(18, 2)) as net_revenue,
        cast(
            per_cluster.net_revenue / totals.net_revenue as decimal(7, 4)
        ) as share_of_net_revenue,
        cast(per_cluster.avg_recency_days as decimal(8, 1))
            as avg_recency_days,
        cast(per_cluster.avg_frequency as decimal(8, 2)) as avg_frequency,
        cast(per_cluster.avg_monetary as decimal(18, 2)) as avg_monetary,
        cast(per_cluster.median_monetary as decimal(18, 2))
            as median_monetary
    from per_cluster
    cross join totals
)

select * from final
