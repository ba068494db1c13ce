"""The segment report: the RFM marts as pictures in one HTML page.

`write_segment_report` reads the built marts through dbt (so it works on any
target), draws PNG plots with matplotlib's object API (a Figure saved as PNG
renders with Agg; pyplot and a display are never used) and
writes `segments.html` with the plots embedded, plus each PNG beside it, in
the report folder (`$RETAIL_LAKE_DIR/reports` for the main job).

Sections: segment sizes and revenue, the recency by frequency-monetary grid
that assigns segments, the score and value distributions of R, F and M,
where net revenue goes (customers, guests), and the clusters of
`customer_clusters` when the project has that model (otherwise the page says
it is absent).
"""

from __future__ import annotations

import base64
import html
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from matplotlib import colormaps, patches, ticker
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from retail_rfm.dbt_project import DbtProject

log = logging.getLogger(__name__)

REPORT_FILE = "segments.html"
IMAGE_DIR = "segments"
CLUSTER_MODEL = "customer_clusters"
DPI = 110

SEGMENTS_SQL = """
select segment, segment_rank, description, customers, share_of_customers,
    net_revenue, share_of_net_revenue, avg_recency_days, avg_frequency,
    avg_monetary
from {{ ref('segment_summary') }}
order by segment_rank
"""

GRID_SQL = """
select
    segment_map.r_score,
    segment_map.fm_score,
    segment_map.segment,
    count(customer_rfm.customer_id) as customers
from {{ ref('rfm_segment_map') }} as segment_map
left join {{ ref('customer_rfm') }} as customer_rfm
    on segment_map.r_score = customer_rfm.r_score
    and segment_map.fm_score = customer_rfm.fm_score
group by segment_map.r_score, segment_map.fm_score, segment_map.segment
"""

CUSTOMERS_SQL = """
select customer_id, recency_days, frequency, monetary, r_score, f_score,
    m_score, as_of_date
from {{ ref('customer_rfm') }}
"""

REVENUE_SQL = """
select revenue_bucket, customers, lines, net_revenue, share_of_net_revenue
from {{ ref('revenue_summary') }}
order by bucket_rank
"""

CLUSTERS_SQL = """
select
    clusters.cluster_id,
    clusters.cluster_label,
    customer_rfm.recency_days,
    customer_rfm.frequency,
    customer_rfm.monetary
from {{ ref('customer_clusters') }} as clusters
inner join {{ ref('customer_rfm') }} as customer_rfm
    on clusters.customer_id = customer_rfm.customer_id
"""

# One colour per segment, in segment_rank order: warm for the valuable and
# active, cool and grey for the lapsing and lost.
SEGMENT_COLOURS = (
    "#1b7837",
    "#5aae61",
    "#a6dba0",
    "#d9f0d3",
    "#fee08b",
    "#fdae61",
    "#f46d43",
    "#d73027",
    "#a50026",
    "#92c5de",
    "#878787",
)

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
.meta { color: #666; margin-top: 0; }
figure { margin: 1em 0 2em; }
img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #e4e4e4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #f6f6f6; border-left: 4px solid #999; padding: 0.6em 1em; }
"""


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class SegmentReport:
    path: Path
    images: list[Path]
    sections: list[str]
    seconds: float


def _money(value: Decimal | float) -> str:
    return f"-£{-value:,.0f}" if value < 0 else f"£{value:,.0f}"


def _share(value: Decimal | float) -> str:
    return f"{float(value) * 100:.1f}%"


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _segment_colours(segments: Sequence[dict[str, Any]]) -> dict[str, str]:
    return {
        row["segment"]: SEGMENT_COLOURS[index % len(SEGMENT_COLOURS)]
        for index, row in enumerate(segments)
    }


def plot_segments(segments: list[dict[str, Any]]) -> Plot:
    """Customers and net revenue per segment, side by side."""
    names = [row["segment"] for row in segments][::-1]
    customers = [row["customers"] for row in segments][::-1]
    revenue = [float(row["net_revenue"]) for row in segments][::-1]
    colours = [_segment_colours(segments)[name] for name in names]
    figure = Figure(figsize=(12, 5.5), layout="tight")
    left, right = figure.subplots(1, 2, sharey=True)
    left.barh(names, customers, color=colours, edgecolor="#444")
    left.set_title("Customers")
    right.barh(names, revenue, color=colours, edgecolor="#444")
    right.set_title("Net revenue (£)")
    for axis, values, label in (
        (left, customers, lambda v, s: f"{v:,} ({s})"),
        (right, revenue, lambda v, s: f"£{v:,.0f} ({s})"),
    ):
        total = sum(values) or 1
        for y, value in enumerate(values):
            axis.text(
                value,
                y,
                " " + label(value, _share(value / total)),
                va="center",
                fontsize=9,
            )
        axis.set_xlim(0, max(values) * 1.45 if max(values) > 0 else 1)
        axis.grid(axis="x", alpha=0.3)
    right.xaxis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _: f"{v / 1e6:.1f}m")
    )
    figure.suptitle("Segment sizes and revenue", fontsize=14)
    return Plot(
        "segment_sizes",
        "Segment sizes and revenue",
        "How many customers each segment holds and how much net revenue they "
        "bring, with each segment's share of all scored customers.",
        _png(figure),
    )


def plot_grid(grid: list[dict[str, Any]], segments: list[dict[str, Any]]) -> Plot:
    """The 5 by 5 grid of r_score and fm_score, coloured by segment."""
    colours = _segment_colours(segments)
    figure = Figure(figsize=(9, 7.5))
    axis = figure.subplots()
    for cell in grid:
        x, y = cell["r_score"], cell["fm_score"]
        fill = colours.get(cell["segment"], "#ffffff")
        axis.add_patch(
            patches.Rectangle(
                (x - 0.5, y - 0.5),
                1,
                1,
                facecolor=fill,
                edgecolor="white",
                linewidth=2,
            )
        )
        # White text on dark cells, black on light ones.
        red, green, blue = to_rgb(fill)
        ink = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
        axis.text(
            x,
            y + 0.12,
            f"{cell['customers']:,}",
            ha="center",
            va="center",
            fontsize=13,
            weight="bold",
            color=ink,
        )
        axis.text(
            x, y - 0.2, cell["segment"], ha="center", va="center", fontsize=8, color=ink
        )
    axis.set_xlim(0.5, 5.5)
    axis.set_ylim(0.5, 5.5)
    axis.set_xticks(range(1, 6))
    axis.set_yticks(range(1, 6))
    axis.set_xlabel("r_score (5 = bought most recently)")
    axis.set_ylabel("fm_score (5 = buys most often and spends most)")
    axis.set_title("Customers in each cell of the segment map", fontsize=14)
    axis.set_aspect("equal")
    return Plot(
        "rfm_grid",
        "The recency by frequency-monetary grid",
        "Each customer sits in one cell of recency score and frequency-monetary "
        "score; the seed rfm_segment_map names the segment of each cell "
        "(colour). The number is the customers in the cell.",
        _png(figure),
    )


def plot_scores(customers: list[dict[str, Any]]) -> Plot:
    """Customers per score of R, F and M."""
    columns = {
        "r_score": "Recency score",
        "f_score": "Frequency score",
        "m_score": "Monetary score",
    }
    counts = {
        column: [sum(1 for c in customers if c[column] == s) for s in range(1, 6)]
        for column in columns
    }
    top = max(max(values) for values in counts.values())
    figure = Figure(figsize=(12, 3.8), layout="tight")
    axes = figure.subplots(1, 3, sharey=True)
    for axis, (column, title) in zip(axes, columns.items(), strict=True):
        bars = axis.bar(
            range(1, 6), counts[column], color="#3b75af", edgecolor="#24496e"
        )
        axis.bar_label(bars, labels=[f"{n:,}" for n in counts[column]], fontsize=9)
        axis.set_title(title)
        axis.set_xticks(range(1, 6))
        axis.set_xlabel("score")
        axis.grid(axis="y", alpha=0.3)
    axes[0].set_ylim(0, top * 1.12)
    axes[0].set_ylabel("customers")
    figure.suptitle("How the 1-to-5 scores are spread", fontsize=14)
    return Plot(
        "rfm_scores",
        "R, F and M scores",
        "Scores are quintiles of customers, with ties sharing a score: a "
        "third of customers bought once, so they all get f_score 1 and the "
        "frequency scores are uneven.",
        _png(figure),
    )


def plot_values(customers: list[dict[str, Any]]) -> Plot:
    """Distributions of recency, frequency and monetary value."""
    recency = [c["recency_days"] for c in customers]
    frequency = [c["frequency"] for c in customers]
    monetary = [float(c["monetary"]) for c in customers]
    positive = [m for m in monetary if m > 0]
    figure = Figure(figsize=(12, 3.8), layout="tight")
    r_axis, f_axis, m_axis = figure.subplots(1, 3)
    r_axis.hist(recency, bins=range(0, max(recency) + 15, 15), color="#5aae61")
    r_axis.set_title("Recency (days since last purchase)")
    r_axis.set_xlabel("days")
    top_frequency = max(frequency)
    f_bins = [1, 2, 3, 4, 5, 6, 8, 11, 16, 21, 31, 51, 101, top_frequency + 1]
    f_bins = sorted({b for b in f_bins if b <= top_frequency + 1})
    f_axis.hist(frequency, bins=f_bins, color="#fdae61")
    f_axis.set_xscale("log")
    f_axis.set_title("Frequency (purchase invoices)")
    f_axis.set_xlabel("invoices (log scale)")
    low = max(min(positive), 1.0)
    edges = [
        10 ** (math.log10(low) + i * (math.log10(max(positive)) - math.log10(low)) / 30)
        for i in range(31)
    ]
    m_axis.hist(positive, bins=edges, color="#3b75af")
    m_axis.set_xscale("log")
    m_axis.set_title("Monetary value (£, positive only)")
    m_axis.set_xlabel("net revenue (log scale)")
    for axis in (r_axis, f_axis, m_axis):
        axis.grid(alpha=0.3)
    r_axis.set_ylabel("customers")
    left_out = len(monetary) - len(positive)
    return Plot(
        "rfm_values",
        "Recency, frequency and monetary value",
        f"The raw values behind the scores. Most customers bought few times "
        f"and spent little; a long tail buys often and spends much "
        f"(frequency and monetary value on log scales). {left_out} customers "
        f"with a zero or negative monetary value (cancellations of purchases "
        f"before the data begins) are not in the right panel.",
        _png(figure),
    )


def plot_revenue(buckets: list[dict[str, Any]]) -> Plot:
    """Where net revenue goes: scored customers, guests, cancellations only."""
    labels = {
        "rfm_customers": "scored customers",
        "guest_lines": "guest lines (no customer)",
        "cancellation_only_customers": "customers with only cancellations",
    }
    names = [labels.get(b["revenue_bucket"], b["revenue_bucket"]) for b in buckets]
    values = [float(b["net_revenue"]) for b in buckets]
    figure = Figure(figsize=(10, 2.8), layout="tight")
    axis = figure.subplots()
    axis.barh(names[::-1], values[::-1], color="#3b75af")
    for y, (value, bucket) in enumerate(zip(values[::-1], buckets[::-1], strict=True)):
        # Labels start right of the bar, or of zero for a negative bucket.
        axis.text(
            max(value, 0),
            y,
            f" {_money(value)} ({_share(bucket['share_of_net_revenue'])})",
            va="center",
            fontsize=9,
        )
    axis.set_xlim(min(0, min(values)) - max(values) * 0.02, max(values) * 1.35)
    axis.xaxis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _: f"£{v / 1e6:.1f}m")
    )
    axis.set_title("Where net revenue goes", fontsize=14)
    axis.grid(axis="x", alpha=0.3)
    return Plot(
        "revenue_buckets",
        "Where net revenue goes",
        "Guest lines carry no customer number, so no segment can hold them; "
        "they are a share of revenue no RFM model sees.",
        _png(figure),
    )


def plot_clusters(rows: list[dict[str, Any]]) -> Plot:
    """Customers of each cluster on recency and monetary value, and cluster sizes."""
    labels: dict[int, str] = {}
    for row in rows:
        labels.setdefault(row["cluster_id"], str(row["cluster_label"]))
    cluster_ids = sorted(labels)
    colours = colormaps["tab10"]
    figure = Figure(figsize=(12, 5), layout="tight")
    scatter, sizes = figure.subplots(1, 2, width_ratios=[3, 2])
    for index, cluster_id in enumerate(cluster_ids):
        members = [r for r in rows if r["cluster_id"] == cluster_id]
        scatter.scatter(
            [r["recency_days"] for r in members],
            [max(float(r["monetary"]), 1.0) for r in members],
            s=8,
            alpha=0.6,
            color=colours(index % 10),
            label=f"{cluster_id}: {labels[cluster_id]}",
        )
    scatter.set_yscale("log")
    scatter.set_xlabel("recency (days)")
    scatter.set_ylabel("monetary value (£, log scale; ≤ £1 shown at £1)")
    scatter.legend(fontsize=8, markerscale=2)
    scatter.grid(alpha=0.3)
    counts = [sum(1 for r in rows if r["cluster_id"] == c) for c in cluster_ids]
    bars = sizes.barh(
        [f"{c}: {labels[c]}" for c in cluster_ids][::-1],
        counts[::-1],
        color=[colours(i % 10) for i in range(len(cluster_ids))][::-1],
    )
    sizes.bar_label(bars, labels=[f" {n:,}" for n in counts[::-1]], fontsize=9)
    sizes.set_xlim(0, max(counts) * 1.15)
    sizes.set_title("Customers per cluster")
    figure.suptitle("k-means clusters of customer_clusters", fontsize=14)
    return Plot(
        "clusters",
        "Clusters",
        "Each dot is a customer, coloured by the cluster the customer_clusters "
        "model puts it in.",
        _png(figure),
    )


def has_model(project: DbtProject, name: str) -> bool:
    """Whether the dbt project defines a model of that name."""
    outcome = project.invoke(
        "ls",
        "--select",
        name,
        "--resource-type",
        "model",
        "--output",
        "name",
        "--log-level",
        "none",
    )
    return name in (outcome.result or [])


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>segment</th><th class=num>customers</th><th class=num>share</th>"
        "<th class=num>net revenue</th><th class=num>share</th>"
        "<th class=num>mean recency (days)</th><th class=num>mean frequency</th>"
        "<th class=num>mean monetary</th><th>who</th></tr>"
    )
    body = "".join(
        "<tr>"
        f"<td>{html.escape(row['segment'])}</td>"
        f"<td class=num>{row['customers']:,}</td>"
        f"<td class=num>{_share(row['share_of_customers'])}</td>"
        f"<td class=num>{_money(row['net_revenue'])}</td>"
        f"<td class=num>{_share(row['share_of_net_revenue'])}</td>"
        f"<td class=num>{row['avg_recency_days'] or 'n/a'}</td>"
        f"<td class=num>{row['avg_frequency'] or 'n/a'}</td>"
        f"<td class=num>{_money(row['avg_monetary'] or 0)}</td>"
        f"<td>{html.escape(str(row['description']))}</td>"
        "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure id="{plot.name}"><img alt="{html.escape(plot.title)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(plot.caption)}</figcaption></figure>"
    )


def write_segment_report(project: DbtProject, report_dir: Path) -> SegmentReport:
    """Query the marts, draw the plots, write the HTML page and the PNGs."""
    started = time.monotonic()
    segments = project.query(SEGMENTS_SQL)
    grid = project.query(GRID_SQL)
    customers = project.query(CUSTOMERS_SQL)
    buckets = project.query(REVENUE_SQL)
    if not customers:
        raise ValueError("customer_rfm is empty: nothing to report")
    as_of_date = customers[0]["as_of_date"]
    relation = project.query("select '{{ ref(\"customer_rfm\") }}' as relation")[0]

    sections: list[tuple[str, str]] = []
    plots: list[Plot] = []

    segment_plot = plot_segments(segments)
    plots.append(segment_plot)
    sections.append(
        (segment_plot.title, _figure(segment_plot) + _table(segments)),
    )
    for plot in (plot_grid(grid, segments), plot_scores(customers)):
        plots.append(plot)
        sections.append((plot.title, _figure(plot)))
    values_plot = plot_values(customers)
    plots.append(values_plot)
    sections.append((values_plot.title, _figure(values_plot)))
    revenue_plot = plot_revenue(buckets)
    plots.append(revenue_plot)
    sections.append((revenue_plot.title, _figure(revenue_plot)))

    if has_model(project, CLUSTER_MODEL):
        cluster_plot = plot_clusters(project.query(CLUSTERS_SQL))
        plots.append(cluster_plot)
        sections.append((cluster_plot.title, _figure(cluster_plot)))
    else:
        log.info(
            "no %s model in the project: the report has no clusters", CLUSTER_MODEL
        )
        sections.append(
            (
                "Clusters",
                f'<p class="note" id="clusters-absent">The project has no '
                f"<code>{CLUSTER_MODEL}</code> model yet, so this report has no "
                f"cluster section. It appears here once that model is built.</p>",
            )
        )

    report_dir.mkdir(parents=True, exist_ok=True)
    image_dir = report_dir / IMAGE_DIR
    image_dir.mkdir(exist_ok=True)
    images = []
    for plot in plots:
        image = image_dir / f"{plot.name}.png"
        image.write_bytes(plot.png)
        images.append(image)

    total = sum((b["net_revenue"] for b in buckets), Decimal(0))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2>{content}</section>"
        for title, content in sections
    )
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Customer segments</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Customer segments</h1>"
        f'<p class="meta">{len(customers):,} customers scored as of '
        f"{as_of_date}, net revenue {_money(total)} in all. Data: "
        f"{html.escape(str(relation['relation']))} and the other marts. "
        f"Generated {generated}.</p>"
        f"{body}</body></html>"
    )
    path = report_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    report = SegmentReport(
        path=path,
        images=images,
        sections=[title for title, _ in sections],
        seconds=time.monotonic() - started,
    )
    log.info(
        "segment report: %s (%d plots, %d KiB) in %.1f s",
        path,
        len(images),
        path.stat().st_size // 1024,
        report.seconds,
    )
    return report
