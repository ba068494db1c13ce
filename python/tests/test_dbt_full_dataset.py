"""dbt build of the whole project on the full real dataset, local Spark.

The figures asserted here are the ones a user checks first; the reference
values come from the dataset's own documentation (shared/.../SOURCE.md) and
from counting the raw file independently of the models.
"""

from __future__ import annotations

from decimal import Decimal

from conftest import LakeBuild


def test_every_seed_model_and_test_passes(full_build: LakeBuild) -> None:
    assert full_build.build.success, "\n".join(full_build.problems())
    assert full_build.problems() == []
    kinds = {node.resource_type for node in full_build.build.nodes}
    assert {"seed", "model", "test", "unit_test"} <= kinds


def test_raw_table_keeps_every_delivered_line(full_build: LakeBuild) -> None:
    [row] = full_build.query(
        "select count(*) as lines, count(CustomerID) as with_customer, "
        "count(distinct InvoiceNo) as invoices "
        "from {{ source('online_retail', 'invoice_lines') }}"
    )
    assert row == {"lines": 541_909, "with_customer": 406_829, "invoices": 25_900}


def test_invoice_and_customer_counts(full_build: LakeBuild) -> None:
    [row] = full_build.query(
        """
        select
            (select count(*) from {{ ref('int_invoices_aggregated') }})
                as invoices,
            (select count(*) from {{ ref('int_customer_orders_summarized') }})
                as customers_seen,
            (select count(*) from {{ ref('customer_rfm') }})
                as customers_with_purchase
        """
    )
    assert row == {
        "invoices": 25_900,
        "customers_seen": 4_372,
        "customers_with_purchase": 4_339,
    }


def test_net_revenue_and_guest_share(full_build: LakeBuild) -> None:
    rows = full_build.query(
        "select revenue_bucket, customers, lines, net_revenue "
        "from {{ ref('revenue_summary') }}"
    )
    buckets = {row["revenue_bucket"]: row for row in rows}
    total = sum(row["net_revenue"] for row in rows)
    assert round(total, 2) == Decimal("9747747.93")
    # Guest lines: no CustomerID; SOURCE.md gives their net revenue.
    assert buckets["guest_lines"]["net_revenue"] == Decimal("1447682.120")
    assert buckets["guest_lines"]["lines"] == 135_080
    assert buckets["guest_lines"]["customers"] == 0
    assert buckets["rfm_customers"]["customers"] == 4_339
    assert buckets["cancellation_only_customers"]["customers"] == 33
    assert 0.148 < buckets["guest_lines"]["net_revenue"] / total < 0.149


def test_largest_customer_is_a_real_customer(full_build: LakeBuild) -> None:
    """Guest lines summed as one customer would top the list with £1.45m;
    the largest real customer is 14646 with about 2.9% of net revenue."""
    top = full_build.query(
        "select customer_id, monetary, segment from {{ ref('customer_rfm') }} "
        "order by monetary desc limit 2"
    )
    assert [row["customer_id"] for row in top] == [14646, 18102]
    share = top[0]["monetary"] / Decimal("9747747.93")
    assert Decimal("0.028") < share < Decimal("0.030")
    assert top[0]["segment"] == "Champions"
    [nulls] = full_build.query(
        "select count(*) as n from {{ ref('customer_rfm') }} where customer_id is null"
    )
    assert nulls["n"] == 0


def test_scores_are_quintiles_with_ties_kept_together(full_build: LakeBuild) -> None:
    rows = full_build.query(
        """
        select 'r' as score, r_score as value, count(*) as customers
        from {{ ref('customer_rfm') }} group by r_score
        union all
        select 'f', f_score, count(*) from {{ ref('customer_rfm') }}
        group by f_score
        union all
        select 'm', m_score, count(*) from {{ ref('customer_rfm') }}
        group by m_score
        """
    )
    by_score: dict[str, dict[int, int]] = {}
    for row in rows:
        by_score.setdefault(row["score"], {})[row["value"]] = row["customers"]
    # Monetary has few ties: five groups of about a fifth (4,339 / 5 = 868).
    assert sorted(by_score["m"]) == [1, 2, 3, 4, 5]
    assert all(860 <= n <= 876 for n in by_score["m"].values()), by_score["m"]
    # 1,494 customers bought once: all of them share f_score 1.
    assert by_score["f"][1] == 1_494
    [split] = full_build.query(
        """
        select count(*) as metric_values_with_two_scores from (
            select frequency from {{ ref('customer_rfm') }}
            group by frequency having count(distinct f_score) > 1
            union all
            select recency_days from {{ ref('customer_rfm') }}
            group by recency_days having count(distinct r_score) > 1
            union all
            select monetary from {{ ref('customer_rfm') }}
            group by monetary having count(distinct m_score) > 1
        ) as split_values
        """
    )
    assert split["metric_values_with_two_scores"] == 0


def test_as_of_date_is_the_day_after_the_last_invoice(full_build: LakeBuild) -> None:
    rows = full_build.query(
        "select distinct as_of_date, min(recency_days) over () as min_recency "
        "from {{ ref('customer_rfm') }}"
    )
    assert len(rows) == 1
    assert str(rows[0]["as_of_date"]) == "2011-12-10"
    assert rows[0]["min_recency"] == 1


def test_segment_summary_adds_up_to_customer_rfm(full_build: LakeBuild) -> None:
    [row] = full_build.query(
        """
        select
            sum(customers) as customers,
            sum(net_revenue) as net_revenue,
            count(*) as segments
        from {{ ref('segment_summary') }}
        """
    )
    [rfm] = full_build.query(
        "select count(*) as customers, sum(monetary) as net_revenue "
        "from {{ ref('customer_rfm') }}"
    )
    assert row["customers"] == rfm["customers"] == 4_339
    assert row["net_revenue"] == rfm["net_revenue"]
    assert row["segments"] == 11
