"""The main job: load the data, `dbt build` everything, print the headlines
and write the segment report.

One process does it all, so on the local Spark the JVM and the metastore
start once (dbt runs in-process and keeps its Spark session).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from retail_rfm import paths
from retail_rfm.dbt_project import BuildResult, DbtProject
from retail_rfm.load import load_dataset
from retail_rfm.report import write_segment_report

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BUILD_FAILED = 1
LOCATION_ROOT_ENV = "RETAIL_LOCATION_ROOT"

HEADLINE_SQL = """
select
    '{{ ref("customer_rfm") }}' as customer_rfm_relation,
    (select count(*) from {{ ref('customer_rfm') }}) as customers,
    (select count(*) from {{ ref('segment_summary') }} where customers > 0)
        as segments_used,
    (select count(*) from {{ ref('segment_summary') }}) as segments
"""

REVENUE_SQL = """
select revenue_bucket, customers, invoices, lines, net_revenue,
    share_of_net_revenue
from {{ ref('revenue_summary') }}
order by bucket_rank
"""

LARGEST_CUSTOMER_SQL = """
select customer_id, monetary, segment
from {{ ref('customer_rfm') }}
order by monetary desc, customer_id
limit 1
"""

SEGMENTS_SQL = """
select segment, customers, net_revenue, share_of_net_revenue,
    avg_recency_days, avg_frequency
from {{ ref('segment_summary') }}
order by segment_rank
"""


CLUSTERS_SQL = """
select
    profile.cluster_id, profile.cluster_label, profile.customers,
    profile.share_of_customers, profile.net_revenue,
    profile.share_of_net_revenue, profile.avg_recency_days,
    profile.avg_frequency, profile.median_monetary,
    run.cluster_count, run.silhouette, run.outlier_policy
from {{ ref('cluster_profile') }} as profile
cross join (
    select
        max(cluster_count) as cluster_count,
        max(silhouette) as silhouette,
        max(outlier_policy) as outlier_policy
    from {{ ref('customer_clusters') }}
) as run
order by profile.cluster_id
"""


def _money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def _share(value: Decimal | float) -> str:
    return f"{float(value) * 100:.1f}%"


def marts_location(target: str, marts_schema: str) -> str:
    """Where the marts' files are: under RETAIL_LOCATION_ROOT on targets that
    give tables a location (dbt_project.yml), else the lake's warehouse."""
    root = os.environ.get(LOCATION_ROOT_ENV, "").strip().rstrip("/")
    if target != "local" and root:
        return f"{root}/{marts_schema}/"
    return str(paths.lake_dir() / "warehouse" / f"{marts_schema}.db")


def headline(project: DbtProject) -> str:
    """The figures a user checks after a build, as text."""
    head = project.query(HEADLINE_SQL)[0]
    buckets = project.query(REVENUE_SQL)
    largest = project.query(LARGEST_CUSTOMER_SQL)[0]
    segments = project.query(SEGMENTS_SQL)

    total: Decimal = sum((row["net_revenue"] for row in buckets), Decimal(0))
    marts_schema = str(head["customer_rfm_relation"]).rsplit(".", 1)[0]
    lines = [
        f"Marts in schema {marts_schema}: customer_rfm, segment_summary, "
        "revenue_summary, customer_clusters, cluster_profile",
        f"  Parquet files under {marts_location(project.target, marts_schema)}",
        f"Customers scored: {head['customers']:,} in "
        f"{head['segments_used']} of {head['segments']} segments",
        f"Net revenue: {_money(total)}",
    ]
    lines += [
        f"  {row['revenue_bucket']:<28} {_money(row['net_revenue']):>15} "
        f"{_share(row['share_of_net_revenue']):>7}  "
        f"{row['lines']:,} lines, {row['customers']:,} customers"
        for row in buckets
    ]
    lines.append(
        f"Largest customer: {largest['customer_id']} with "
        f"{_money(largest['monetary'])} "
        f"({_share(largest['monetary'] / total)} of net revenue), "
        f"{largest['segment']}"
    )
    lines.append("Segments:")
    lines += [
        f"  {row['segment']:<20} {row['customers']:>6,} customers "
        f"{_money(row['net_revenue']):>15} {_share(row['share_of_net_revenue']):>7}"
        for row in segments
    ]
    lines += cluster_lines(project.query(CLUSTERS_SQL))
    return "\n".join(lines)


def timings(build: BuildResult, slowest: int = 10) -> str:
    """Where a build's time went: seconds per kind of node, slowest nodes."""
    per_kind: dict[str, list[float]] = {}
    for node in build.nodes:
        per_kind.setdefault(node.resource_type, []).append(node.seconds)
    lines = [f"dbt build: {build.seconds:.1f} s wall, by kind of node:"]
    lines += [
        f"  {kind:<10} {len(seconds):>4} nodes {sum(seconds):>7.1f} s"
        for kind, seconds in sorted(per_kind.items())
    ]
    lines.append(f"Slowest {slowest} nodes:")
    lines += [
        f"  {node.seconds:>6.2f} s  {node.unique_id}"
        for node in sorted(build.nodes, key=lambda n: -n.seconds)[:slowest]
    ]
    return "\n".join(lines)


def cluster_lines(clusters: list[dict[str, Any]]) -> list[str]:
    """The cluster profile: one line per cluster of customer_clusters."""
    if not clusters:
        return ["Customer clusters: none (customer_rfm is empty)"]
    run = clusters[0]
    silhouette = (
        "n/a" if run["silhouette"] is None else f"{float(run['silhouette']):.3f}"
    )
    lines = [
        f"Customer clusters (k-means on Spark, k={run['cluster_count']}, "
        f"silhouette {silhouette}, extreme customers: {run['outlier_policy']}):"
    ]
    lines += [
        f"  {row['cluster_id']:>2} {row['cluster_label']:<34} "
        f"{row['customers']:>6,} customers {_share(row['share_of_customers']):>6} "
        f"{_money(row['net_revenue']):>15} {_share(row['share_of_net_revenue']):>6}"
        f"  {float(row['avg_recency_days']):.0f} days, "
        f"{float(row['avg_frequency']):.1f} invoices, "
        f"median {_money(row['median_monetary'])}"
        for row in clusters
    ]
    return lines


def _failed_nodes(build: BuildResult) -> str:
    return "\n".join(
        f"  {node.status}: {node.unique_id}: {node.message}"
        for node in build.with_status("error", "fail", "runtime error")
    )


def run_main_job(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if not args.skip_load:
        load_dataset(args.path, args.raw_location)
    project = DbtProject(target=args.target)
    build = project.build()
    if not build.success:
        sys.stderr.write(f"dbt build failed:\n{_failed_nodes(build)}\n")
        return EXIT_BUILD_FAILED
    sys.stdout.write(headline(project) + "\n")
    report = write_segment_report(project, report_dir(args))
    sys.stdout.write(f"Segment report: {report.path}\n")
    if args.timings:
        sys.stdout.write(timings(build) + "\n")
    sys.stdout.write(
        f"Main job done in {time.monotonic() - started:.1f} s "
        f"(dbt build {build.seconds:.1f} s, {len(build.nodes)} nodes)\n"
    )
    return EXIT_OK


def report_dir(args: argparse.Namespace) -> Path:
    """--report-dir, else $RETAIL_LAKE_DIR/reports."""
    return args.report_dir or paths.lake_dir() / "reports"


def write_report(args: argparse.Namespace) -> int:
    report = write_segment_report(DbtProject(target=args.target), report_dir(args))
    sys.stdout.write(f"Segment report: {report.path}\n")
    return EXIT_OK


def show_summary(args: argparse.Namespace) -> int:
    sys.stdout.write(headline(DbtProject(target=args.target)) + "\n")
    return EXIT_OK


def _add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="local",
        help="the profiles.yml target to build on (default: local)",
    )


def _add_report_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report-dir",
        type=Path,
        help="where to write segments.html and its PNGs "
        "(default: $RETAIL_LAKE_DIR/reports)",
    )


def add_run_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the main job: load the data, dbt build, print the headlines, "
        "write the segment report",
        description=(
            "Load the dataset into the raw table, run `dbt build` (every seed, "
            "model and test), print where the marts are and their headline "
            "figures, and write the segment report (HTML with PNG plots)."
        ),
    )
    parser.add_argument("--path", type=Path, help="the dataset file to load")
    parser.add_argument(
        "--raw-location", help="the raw table folder or S3 prefix (see `load`)"
    )
    parser.add_argument(
        "--skip-load",
        action="store_true",
        help="build on the raw table as it is, without loading",
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="also print where the build's time went (the benchmark)",
    )
    _add_target_argument(parser)
    _add_report_dir_argument(parser)
    parser.set_defaults(handler=run_main_job)


def add_summary_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summary", help="print the headline figures of the built marts"
    )
    _add_target_argument(parser)
    parser.set_defaults(handler=show_summary)


def add_report_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the segment report (HTML with PNG plots) of the built marts",
    )
    _add_target_argument(parser)
    _add_report_dir_argument(parser)
    parser.set_defaults(handler=write_report)
