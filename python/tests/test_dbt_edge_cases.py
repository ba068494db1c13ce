"""dbt build on a small hand-made dataset whose right answer is known.

The lines are invented (no row of the real dataset is stored here) and cover
the cases the marts must get right: cancellations that net out, a customer
with only cancellations, a guest order larger than any customer, non-product
lines, both date and CustomerID forms, and tied scores. The same lines in
reverse order must give the same marts.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import LakeBuild, SparkLake
from retail_files import HEADER

from retail_rfm.dbt_project import DbtError

# Customer 70001: two purchases and a cancellation of part of the second;
#   postage on the first. Net 10*2.50 + 3.25 + 4*1.255 - 2*1.255 = 30.76.
# Customer 70002: one purchase of 12.00 (US date form, integer CustomerID).
# Customer 70003: only a cancellation (of a purchase before the data begins).
# Customer 70004: one purchase of 12.00, like 70002 but more recent: a tie.
# Guests: an order of 5,000.00, a marketplace fee, and the last invoice of the
#   data (9 Dec 2011), which sets the as-of date to 10 Dec 2011.
LINES = [
    ["810001", "10001", "RED TIN BOX", "10", "2011-01-10 09:00:00", "2.50",
     "70001.0", "United Kingdom"],
    ["810001", "POST", "POSTAGE", "1", "2011-01-10 09:00:00", "3.25",
     "70001.0", "United Kingdom"],
    ["810002", "10002", "BLUE TIN BOX", "4", "12/1/2011 15:30", "1.255",
     "70001", "United Kingdom"],
    ["C810003", "10002", "BLUE TIN BOX", "-2", "2011-12-02 10:00:00",
     "1.255", "70001.0", "United Kingdom"],
    ["810004", "10003", "GREEN TIN BOX", "12", "6/1/2011 11:00", "1.00",
     "70002", "France"],
    ["C810005", "10004", "YELLOW TIN BOX", "-5", "2011-03-01 12:00:00",
     "2.00", "70003.0", "Germany"],
    ["810006", "10003", "GREEN TIN BOX", "12", "2011-09-01 08:00:00", "1.00",
     "70004.0", "Spain"],
    ["810007", "10005", "WOODEN CRATE", "1000", "2011-05-05 10:00:00",
     "5.00", "", "United Kingdom"],
    ["810008", "AMAZONFEE", "AMAZON FEE", "1", "2011-07-07 10:00:00",
     "-120.50", "", "United Kingdom"],
    ["810009", "10001", "RED TIN BOX", "1", "12/9/2011 12:00", "2.50", "",
     "United Kingdom"],
]  # fmt: skip

# Customers 30.76 + 12.00 - 10.00 + 12.00, guests 5,000.00 - 120.50 + 2.50.
RAW_NET_REVENUE = Decimal("4926.760")


def write_lines(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(lines)
    return path


@pytest.fixture(scope="module")
def edge_build(
    spark_lake: SparkLake, tmp_path_factory: pytest.TempPathFactory
) -> LakeBuild:
    source = write_lines(tmp_path_factory.mktemp("edge") / "edge.csv", LINES)
    return spark_lake.load_and_build("edge", source)


def test_build_passes(edge_build: LakeBuild) -> None:
    assert edge_build.build.success, "\n".join(edge_build.problems())


def test_customer_rfm_scores_and_segments(edge_build: LakeBuild) -> None:
    rows = edge_build.query(
        "select customer_id, recency_days, frequency, monetary, "
        "cancellation_invoices, r_score, f_score, m_score, segment "
        "from {{ ref('customer_rfm') }} order by customer_id"
    )
    assert rows == [
        # Net of its cancellation; 9 days from 1 Dec to 10 Dec.
        {"customer_id": 70001, "recency_days": 9, "frequency": 2,
         "monetary": Decimal("30.76"), "cancellation_invoices": 1,
         "r_score": 4, "f_score": 4, "m_score": 4, "segment": "Loyal"},
        # 70002 and 70004 tie on frequency and monetary: same f and m score.
        {"customer_id": 70002, "recency_days": 192, "frequency": 1,
         "monetary": Decimal("12.00"), "cancellation_invoices": 0,
         "r_score": 1, "f_score": 1, "m_score": 1, "segment": "Lost"},
        {"customer_id": 70004, "recency_days": 100, "frequency": 1,
         "monetary": Decimal("12.00"), "cancellation_invoices": 0,
         "r_score": 2, "f_score": 1, "m_score": 1, "segment": "Hibernating"},
    ]  # fmt: skip


def test_guest_lines_and_cancellation_only_customers_are_reconciled(
    edge_build: LakeBuild,
) -> None:
    rows = edge_build.query(
        "select revenue_bucket, customers, invoices, lines, product_net_revenue, "
        "non_product_net_revenue, net_revenue from {{ ref('revenue_summary') }} "
        "order by bucket_rank"
    )
    assert rows == [
        {"revenue_bucket": "rfm_customers", "customers": 3, "invoices": 5,
         "lines": 6, "product_net_revenue": Decimal("51.510"),
         "non_product_net_revenue": Decimal("3.250"),
         "net_revenue": Decimal("54.760")},
        {"revenue_bucket": "cancellation_only_customers", "customers": 1,
         "invoices": 1, "lines": 1, "product_net_revenue": Decimal("-10.000"),
         "non_product_net_revenue": Decimal("0.000"),
         "net_revenue": Decimal("-10.000")},
        {"revenue_bucket": "guest_lines", "customers": 0, "invoices": 3,
         "lines": 3, "product_net_revenue": Decimal("5002.500"),
         "non_product_net_revenue": Decimal("-120.500"),
         "net_revenue": Decimal("4882.000")},
    ]  # fmt: skip
    assert sum(row["net_revenue"] for row in rows) == RAW_NET_REVENUE


def test_rows_in_reverse_order_give_the_same_marts(
    edge_build: LakeBuild, spark_lake: SparkLake, tmp_path: Path
) -> None:
    reversed_build = spark_lake.load_and_build(
        "edge_reversed",
        write_lines(tmp_path / "edge_reversed.csv", LINES[::-1]),
    )
    assert reversed_build.build.success, "\n".join(reversed_build.problems())
    sql = "select * from {{ ref('customer_rfm') }} order by customer_id"
    assert reversed_build.query(sql) == edge_build.query(sql)


def test_build_stops_when_the_raw_table_is_empty(
    spark_lake: SparkLake, tmp_path: Path
) -> None:
    """A raw table that was never loaded must not pass as an empty green
    build: the on-run-start hook stops the run and says what to do."""
    project = spark_lake.project("never_loaded")
    spark_lake.raw_location("never_loaded").mkdir(parents=True)
    with pytest.raises(DbtError) as stopped:
        project.build("--select", "stg_online_retail__invoice_lines")
    message = str(stopped.value)
    assert "never_loaded_raw.invoice_lines" in message
    assert "holds no rows" in message
    assert "retail-rfm load" in message


def test_too_few_customers_make_one_cluster(edge_build: LakeBuild) -> None:
    """Three customers cannot be split into the 3 to 6 clusters of the
    default range: customer_clusters still covers each of them, as one group
    without a silhouette, and the build stays green."""
    rows = edge_build.query(
        "select customer_id, cluster_id, cluster_label, cluster_count, silhouette "
        "from {{ ref('customer_clusters') }} order by customer_id"
    )
    assert [row["customer_id"] for row in rows] == [70001, 70002, 70004]
    assert {
        (
            row["cluster_id"],
            row["cluster_label"],
            row["cluster_count"],
            row["silhouette"],
        )
        for row in rows
    } == {(1, "all customers (too few to cluster)", 1, None)}
