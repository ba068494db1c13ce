"""The whole project built through a real local Spark Thrift server.

The server is Spark's HiveThriftServer2, the program EMR runs, started by
`retail-rfm thrift start`'s code on a lake of its own. dbt reaches it with the
`thrift` target (PyHive over Thrift), the way it reaches EMR with `emr`; its
tables get locations under <lake>/tables as the `emr` target puts them under
an S3 prefix. What it builds must equal, row for row, what the in-process
`local` target builds from the same file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from conftest import LakeBuild, ThriftLake

from retail_rfm.dbt_project import DbtError

MARTS = {
    "customer_rfm": "customer_id",
    "segment_summary": "segment_rank",
    "revenue_summary": "bucket_rank",
}


def test_every_seed_model_and_test_passes(thrift_full_build: LakeBuild) -> None:
    assert thrift_full_build.build.success, "\n".join(thrift_full_build.problems())
    assert thrift_full_build.problems() == []
    kinds = {node.resource_type for node in thrift_full_build.build.nodes}
    assert {"seed", "model", "test", "unit_test"} <= kinds


def _dates_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """PyHive hands DATE values over as 'YYYY-MM-DD' text where pyspark
    gives datetime.date; the column types themselves are the same (the marts'
    contracts check them on both targets)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_marts_equal_the_session_targets(
    mart: str, thrift_full_build: LakeBuild, full_build: LakeBuild
) -> None:
    sql = f"select * from {{{{ ref('{mart}') }}}} order by {MARTS[mart]}"
    through_thrift = [_dates_as_text(row) for row in thrift_full_build.query(sql)]
    in_process = [_dates_as_text(row) for row in full_build.query(sql)]
    assert len(through_thrift) == len(in_process) > 0
    # Row by row: the same column names, values and Python types.
    for thrift_row, session_row in zip(through_thrift, in_process, strict=True):
        assert thrift_row == session_row
        assert [type(v) for v in thrift_row.values()] == [
            type(v) for v in session_row.values()
        ]


def test_headline_figures_through_thrift(thrift_full_build: LakeBuild) -> None:
    [row] = thrift_full_build.query(
        """
        select
            (select count(*) from {{ source('online_retail', 'invoice_lines') }})
                as lines,
            (select count(*) from {{ ref('customer_rfm') }}) as customers,
            (select sum(net_revenue) from {{ ref('revenue_summary') }})
                as net_revenue
        """
    )
    assert row["lines"] == 541_909
    assert row["customers"] == 4_339
    assert round(row["net_revenue"], 2) == Decimal("9747747.93")


def test_tables_are_written_under_the_location_root(
    thrift_lake: ThriftLake, thrift_full_build: LakeBuild
) -> None:
    """Like S3 on EMR: every table's files under <root>/<schema>/<table>, the
    warehouse folder holds no table data, views have no folder."""
    root = thrift_lake.location_root
    folders = sorted(
        f"{schema.name}/{table.name}"
        for schema in root.iterdir()
        for table in schema.iterdir()
        if any(table.glob("part-*.parquet"))
    )
    assert folders == [
        "full_intermediate/int_customer_orders_summarized",
        "full_intermediate/int_invoices_aggregated",
        "full_marts/cluster_profile",
        "full_marts/customer_clusters",
        "full_marts/customer_rfm",
        "full_marts/revenue_summary",
        "full_marts/segment_summary",
        "full_reference/non_product_stock_codes",
        "full_reference/rfm_segment_map",
        "full_reference/rfm_segments",
    ]
    # Other tests share this server and may keep managed tables of their own
    # schemas in its warehouse: only the full build's schemas are checked.
    warehouse = thrift_lake.root / "warehouse"
    warehouse_files = list(warehouse.glob("full_*.db/**/*.parquet"))
    assert warehouse_files == []


def test_rebuilding_replaces_rows_in_tables_with_a_location(
    thrift_full_build: LakeBuild,
) -> None:
    """A second build over existing table folders: seeds must not double
    (dbt-spark appends to an external seed table; macros/load_seed_rows.sql)
    and CTAS must be allowed to replace a non-empty folder (profiles.yml)."""
    project = thrift_full_build.project
    rebuild = project.build(
        "--select",
        "rfm_segments",
        "revenue_summary",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    )
    rebuilt = {n.unique_id for n in rebuild.nodes if n.resource_type != "operation"}
    assert rebuilt == {
        "seed.retail_rfm.rfm_segments",
        "model.retail_rfm.revenue_summary",
    }
    failed = [n.unique_id for n in rebuild.nodes if n.status not in ("success", "pass")]
    assert rebuild.success, failed
    [row] = project.query(
        "select (select count(*) from {{ ref('rfm_segments') }}) as segments, "
        "(select count(*) from {{ ref('revenue_summary') }}) as buckets"
    )
    assert row == {"segments": 11, "buckets": 3}


def test_spark_connect_reads_what_thrift_built(
    thrift_lake: ThriftLake, thrift_full_build: LakeBuild
) -> None:
    """The same Spark application answers Spark Connect: a pyspark Connect
    client (in a process of its own: a Connect session switches pyspark in
    its process to Connect mode) reads the marts and sees the settings."""
    script = textwrap.dedent(
        f"""
        import json
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(
            "sc://127.0.0.1:{thrift_lake.settings.connect_port}"
        ).getOrCreate()
        [row] = spark.sql(
            "select count(*) as segments, sum(customers) as customers "
            "from full_marts.segment_summary"
        ).collect()
        location = [
            r.data_type
            for r in spark.sql(
                "describe table extended full_marts.customer_rfm"
            ).collect()
            if r.col_name == "Location"
        ]
        print(json.dumps({{
            "segments": row.segments,
            "customers": row.customers,
            "location": location,
            "time_zone": spark.conf.get("spark.sql.session.timeZone"),
            "ansi": spark.conf.get("spark.sql.ansi.enabled"),
        }}))
        spark.stop()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    expected_location = thrift_lake.location_root / "full_marts" / "customer_rfm"
    assert seen == {
        "segments": 11,
        "customers": 4_339,
        "location": [f"file:{expected_location}"],
        "time_zone": "UTC",
        "ansi": "false",
    }


def test_emr_target_refuses_to_run_without_s3_locations(
    thrift_lake: ThriftLake, thrift_full_build: LakeBuild
) -> None:
    """The `emr` profile, pointed at the local server: without
    RETAIL_LOCATION_ROOT tables would land in the cluster's HDFS, so the run
    stops before any table is created (dbt creates the empty schemas first)."""
    project = thrift_lake.project(
        "emr_check",
        target="emr",
        RETAIL_EMR_HOST="127.0.0.1",
        RETAIL_EMR_PORT=str(thrift_lake.settings.port),
        RETAIL_LOCATION_ROOT="",
    )
    try:
        build = project.build("--select", "rfm_segments")
    except DbtError as exc:
        message = str(exc)
    else:
        assert not build.success
        message = "\n".join(str(n.message) for n in build.nodes)
    assert "RETAIL_LOCATION_ROOT and RETAIL_RAW_LOCATION" in message
    assert list((thrift_lake.root / "warehouse").glob("emr_check_*/*")) == []
    assert not (thrift_lake.location_root / "emr_check_reference").exists()
