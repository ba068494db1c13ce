"""The SQL analyses in analyses/: dbt compiles them, Spark runs the compiled
SQL on the full dataset, and their headline results are the ones the README
quotes. Reference values were checked against independent counts (the
dataset's SOURCE.md, the marts' own tests)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from conftest import LakeBuild

from retail_rfm.dbt_project import PROJECT_DIR

ANALYSES = sorted(path.stem for path in (PROJECT_DIR / "analyses").glob("*.sql"))
Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def analysis_results(full_build: LakeBuild) -> dict[str, Rows]:
    """Every analysis compiled by dbt, then run as compiled."""
    assert full_build.build.success, "\n".join(full_build.problems())
    project = full_build.project
    project.invoke("compile", "--select", "path:analyses")
    compiled_dir = project.target_path / "compiled" / "retail_rfm" / "analyses"
    results = {}
    for name in ANALYSES:
        compiled = (compiled_dir / f"{name}.sql").read_text()
        # ref() became the relations of this build (schemas full_<layer>).
        assert "{{" not in compiled, compiled
        assert f"{full_build.name}_" in compiled, compiled
        results[name] = full_build.query(compiled)
    return results


def _by(rows: Rows, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_every_analysis_compiles_and_returns_rows(
    analysis_results: dict[str, Rows],
) -> None:
    assert set(ANALYSES) == {
        "basket_sizes",
        "cancellation_rates",
        "outlier_lines",
        "revenue_by_country",
        "revenue_by_month",
        "revenue_concentration",
        "top_products",
    }
    for name in ANALYSES:
        assert analysis_results[name], f"{name} returned no rows"


def test_revenue_by_month(analysis_results: dict[str, Rows]) -> None:
    rows = analysis_results["revenue_by_month"]
    assert [row["invoice_month"] for row in rows] == [
        "2010-12",
        *(f"2011-{month:02d}" for month in range(1, 13)),
    ]
    total = sum(row["net_revenue"] for row in rows)
    assert round(total, 2) == Decimal("9747747.93")
    months = _by(rows, "invoice_month")
    best = max(rows, key=lambda row: row["net_revenue"])
    assert best["invoice_month"] == "2011-11"
    assert best["net_revenue"] == Decimal("1461756.250")
    # December 2011 is nine calendar days (eight trading days) only.
    assert months["2011-12"]["trading_days"] == 8
    assert months["2011-12"]["net_revenue_per_trading_day"] > Decimal(50_000)


def test_revenue_by_country(analysis_results: dict[str, Rows]) -> None:
    rows = analysis_results["revenue_by_country"]
    assert len(rows) == 38
    assert [row["country"] for row in rows[:4]] == [
        "United Kingdom",
        "Netherlands",
        "EIRE",
        "Germany",
    ]
    uk = rows[0]
    assert uk["share_of_net_revenue"] == Decimal("0.8400")
    assert uk["customers"] == 3950
    assert rows[1]["net_revenue"] == Decimal("284661.540")


def test_top_products(analysis_results: dict[str, Rows]) -> None:
    rows = analysis_results["top_products"]
    assert len(rows) == 20
    top = rows[0]
    assert (top["stock_code"], top["description"]) == (
        "22423",
        "REGENCY CAKESTAND 3 TIER",
    )
    assert top["net_revenue"] == Decimal("164762.190")
    by_code = _by(rows, "stock_code")
    assert by_code["22197"]["units_rank"] == 1  # POPCORN HOLDER, most units
    # Postage and fees are not products; the cancelled 80,995 line nets to 0.
    assert not {"POST", "DOT", "M", "AMAZONFEE", "23843"} & set(by_code)


def test_basket_sizes(analysis_results: dict[str, Rows]) -> None:
    buyers = _by(analysis_results["basket_sizes"], "buyer")
    assert buyers["all"]["baskets"] == 19_960
    assert buyers["all"]["invoices_left_out"] == 2_104
    assert buyers["customers"]["baskets"] + buyers["guests"]["baskets"] == 19_960
    customers = buyers["customers"]
    assert customers["median_lines"] == Decimal("15.0")
    assert customers["median_net_revenue"] == Decimal("303.04")
    # Guest baskets are fewer but bigger; most guest "purchase invoices" are
    # zero-value stock write-offs, left out of the baskets.
    assert buyers["guests"]["median_net_revenue"] == Decimal("465.10")
    assert buyers["guests"]["invoices_left_out"] == 2_100


def test_cancellation_rates(analysis_results: dict[str, Rows]) -> None:
    months = _by(analysis_results["cancellation_rates"], "invoice_month")
    overall = months["all"]
    assert (overall["invoices"], overall["cancellation_invoices"]) == (25_900, 3_836)
    assert overall["cancellation_invoice_rate"] == Decimal("0.1481")
    # SOURCE.md: the non-cancelled rows hold 10,644,560.42.
    assert round(overall["purchase_net_revenue"], 2) == Decimal("10644560.42")
    assert overall["cancelled_net_revenue"] == Decimal("-896812.490")
    assert overall["cancelled_share_of_purchases"] == Decimal("0.0843")
    assert (overall["purchasing_customers"], overall["cancelling_customers"]) == (
        4_339,
        1_589,
    )
    # December 2011 holds the 80,995-unit cancellation.
    assert months["2011-12"]["cancelled_share_of_purchases"] > Decimal("0.3")


def test_revenue_concentration(analysis_results: dict[str, Rows]) -> None:
    tiers = _by(analysis_results["revenue_concentration"], "tier")
    assert tiers["all_customers"]["customers"] == 4_339
    assert tiers["top_1_percent"]["customers"] == 44
    assert tiers["top_1_percent"]["share_of_customer_net_revenue"] == Decimal("0.2989")
    assert tiers["top_10_percent"]["customers"] == 434
    assert tiers["top_10_percent"]["share_of_customer_net_revenue"] == Decimal("0.5980")
    assert tiers["half_of_customer_revenue"]["customers"] == 242
    assert tiers["guest_lines"]["net_revenue"] == Decimal("1447682.12")
    assert tiers["guest_lines"]["share_of_net_revenue"] == Decimal("0.1485")
    # The rows that are not customers plus all customers make the whole.
    whole = sum(
        tiers[name]["share_of_net_revenue"]
        for name in ("all_customers", "guest_lines", "cancellation_only_customers")
    )
    assert abs(whole - 1) <= Decimal("0.0002")


def test_outlier_lines(analysis_results: dict[str, Rows]) -> None:
    rows = analysis_results["outlier_lines"]
    assert len(rows) == 18
    by_quantity = {row["quantity"]: row for row in rows}
    little_birdie = by_quantity[80_995]
    assert (little_birdie["invoice_no"], little_birdie["customer_id"]) == (
        "581483",
        16446,
    )
    assert little_birdie["reversed_by_invoice_no"] == "C581484"
    assert little_birdie["minutes_to_reversal"] == 12
    jars = by_quantity[74_215]
    assert (jars["invoice_no"], jars["reversed_by_invoice_no"]) == (
        "541431",
        "C541433",
    )
    assert jars["minutes_to_reversal"] == 16
    # Each giant order and its cancellation net to zero.
    assert (
        by_quantity[-80_995]["line_net_revenue"] == -little_birdie["line_net_revenue"]
    )
    picnic = next(row for row in rows if row["invoice_no"] == "556444")
    assert picnic["reversed_by_invoice_no"] == "C556445"
