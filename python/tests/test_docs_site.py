"""The dbt docs site: every resource described, descriptions true to the
built tables, and the lineage graph drawn in a real headless browser.

`dbt docs generate` needs a catalog, so it runs on the full build of the
session (one JVM serves the whole pytest run); `make docs-serve` then serves
the generated site exactly as a user starts it, on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import LakeBuild
from docs_browser import headless_chromium

from retail_rfm.dbt_project import PROJECT_DIR

SCREENSHOT_ENV = "RETAIL_DOCS_SCREENSHOT"


@dataclass(frozen=True)
class DocsSite:
    target_dir: Path
    manifest: dict[str, Any]
    catalog: dict[str, Any]


@pytest.fixture(scope="module")
def docs_site(full_build: LakeBuild) -> DocsSite:
    assert full_build.build.success, "\n".join(full_build.problems())
    project = full_build.project
    outcome = project.invoke("docs", "generate")
    assert outcome.success
    target = project.target_path
    assert target is not None
    catalog = json.loads((target / "catalog.json").read_text())
    assert not catalog.get("errors"), catalog["errors"]
    return DocsSite(
        target_dir=target,
        manifest=json.loads((target / "manifest.json").read_text()),
        catalog=catalog,
    )


def _own(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        uid: node
        for uid, node in resources.items()
        if node.get("package_name") == "retail_rfm"
    }


def test_every_resource_and_column_is_described(docs_site: DocsSite) -> None:
    manifest = docs_site.manifest
    nodes = _own(manifest["nodes"])
    resources = {
        **nodes,
        **_own(manifest["sources"]),
        **_own(manifest["macros"]),
        **_own(manifest["unit_tests"]),
    }
    kinds = {node["resource_type"] for node in resources.values()}
    assert {"model", "seed", "source", "test", "unit_test", "analysis", "macro"} <= (
        kinds
    )
    # The on-run-start hook is an operation: YAML cannot describe it; the
    # macro it calls (register_raw_invoice_lines) is described instead.
    undescribed = sorted(
        uid
        for uid, node in resources.items()
        if not node["description"].strip() and node["resource_type"] != "operation"
    )
    assert undescribed == [], f"no description: {undescribed}"
    columns_undescribed = sorted(
        f"{uid}.{name}"
        for uid, node in resources.items()
        for name, column in node.get("columns", {}).items()
        if not column["description"].strip()
    )
    assert columns_undescribed == [], f"no description: {columns_undescribed}"
    arguments_undescribed = sorted(
        f"{uid}({argument['name']})"
        for uid, node in _own(manifest["macros"]).items()
        for argument in node.get("arguments", [])
        if not argument["description"].strip()
    )
    assert arguments_undescribed == [], arguments_undescribed


def test_documented_columns_are_the_built_columns(docs_site: DocsSite) -> None:
    """The YAML names exactly the columns Spark built: no column missing from
    the docs, no documented column that the SQL does not produce."""
    manifest = docs_site.manifest
    documented = {**manifest["nodes"], **manifest["sources"]}
    built = {**docs_site.catalog["nodes"], **docs_site.catalog["sources"]}
    expected_relations = {
        uid
        for uid, node in documented.items()
        if node["resource_type"] in ("model", "seed", "source")
    }
    assert set(built) == expected_relations
    mismatches = {}
    for uid, table in built.items():
        in_yaml = {name.lower() for name in documented[uid]["columns"]}
        in_table = {name.lower() for name in table["columns"]}
        if in_yaml != in_table:
            mismatches[uid] = {
                "undocumented": sorted(in_table - in_yaml),
                "not built": sorted(in_yaml - in_table),
            }
    assert mismatches == {}


def test_doc_blocks_are_used_as_whole_paragraphs(docs_site: DocsSite) -> None:
    """A shared term's doc block is a definition: it must start a paragraph
    of the description it is used in, never sit in the middle of a sentence
    (`the line's A **line** is ...`). Every block is used somewhere."""
    manifest = docs_site.manifest
    blocks = {
        doc["name"]: doc["block_contents"].strip()
        for doc in _own(manifest["docs"]).values()
        if doc["name"] != "__overview__"
    }
    assert {"invoice", "cancellation", "guest_line", "net_revenue", "as_of_date"} <= (
        set(blocks)
    )
    descriptions = [
        text
        for node in (
            *_own(manifest["nodes"]).values(),
            *_own(manifest["sources"]).values(),
        )
        for text in (
            node["description"],
            *(column["description"] for column in node["columns"].values()),
        )
    ]
    unused = set(blocks)
    misplaced = []
    for text in descriptions:
        for name, block in blocks.items():
            start = text.find(block)
            while start != -1:
                unused.discard(name)
                if start > 0 and not text[:start].endswith("\n\n"):
                    misplaced.append(f"{name} in: {text[:60]}...")
                start = text.find(block, start + 1)
    assert misplaced == []
    assert unused == set(), f"doc blocks used nowhere: {sorted(unused)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def docs_server(docs_site: DocsSite) -> Iterator[str]:
    """`make docs-serve` on the generated site, as a user runs it."""
    port = _free_port()
    env = {**os.environ, "DBT_TARGET_PATH": str(docs_site.target_dir)}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "docs-serve", f"DOCS_PORT={port}"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "manifest.json", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"make docs-serve did not serve {url}:\n{output}")
                time.sleep(0.5)
        yield url
    finally:
        # make and the dbt it started share a process group of their own.
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


GRAPH_STATE_JS = """
const graph = angular.element(document.body).injector().get('graph');
const cy = graph.graph_element;
if (!cy || graph.orientation !== 'fullscreen' || cy.nodes(':visible').length === 0) {
    return null;
}
const viewport = cy.extent();
return {
    nodes: cy.nodes(':visible').map(node => ({
        id: node.id(),
        label: node.data('label'),
        resource_type: node.data('resource_type'),
        x: node.position('x'),
        y: node.position('y'),
        in_view: node.position('x') >= viewport.x1 && node.position('x') <= viewport.x2
            && node.position('y') >= viewport.y1 && node.position('y') <= viewport.y2,
    })),
    edges: cy.edges(':visible').map(edge => [edge.source().id(), edge.target().id()]),
};
"""


def _wait_for(driver: Any, script: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"the docs page never got ready for: {script.strip()[:80]}")


def test_lineage_graph_shows_sources_layers_and_marts(
    docs_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from selenium.webdriver.common.by import By

    screenshot = Path(
        os.environ.get(SCREENSHOT_ENV)
        or tmp_path_factory.mktemp("docs") / "lineage.png"
    )
    with headless_chromium() as driver:
        driver.get(docs_server + "#!/model/model.retail_rfm.customer_rfm")
        page_text = _wait_for(
            driver,
            "const t = document.body.innerText;"
            "return t.includes('customer_rfm') && t.includes('Columns') ? t : null;",
        )
        # The model page shows its description and the as-of date's doc block.
        assert "One row per customer with at least one purchase invoice" in page_text
        assert "The as-of date is the day the RFM scores are computed for" in (
            page_text
        )

        # The user's way to the full lineage graph: the launcher button.
        driver.get(docs_server + "#!/overview")
        _wait_for(driver, "return document.querySelector('.launcher-btn a');")
        driver.find_element(By.CSS_SELECTOR, ".launcher-btn a").click()
        state = _wait_for(driver, GRAPH_STATE_JS)
        time.sleep(1)  # let the layout settle before the picture
        state = driver.execute_script(GRAPH_STATE_JS)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))

    nodes = {node["id"]: node for node in state["nodes"]}
    expected = {
        "source.retail_rfm.online_retail.invoice_lines",
        "seed.retail_rfm.non_product_stock_codes",
        "seed.retail_rfm.rfm_segment_map",
        "seed.retail_rfm.rfm_segments",
        "model.retail_rfm.stg_online_retail__invoice_lines",
        "model.retail_rfm.int_invoices_aggregated",
        "model.retail_rfm.int_customer_orders_summarized",
        "model.retail_rfm.customer_rfm",
        "model.retail_rfm.segment_summary",
        "model.retail_rfm.revenue_summary",
    }
    assert expected <= set(nodes), sorted(expected - set(nodes))
    out_of_view = sorted(uid for uid in expected if not nodes[uid]["in_view"])
    assert out_of_view == [], f"drawn outside the visible canvas: {out_of_view}"
    edges = {tuple(edge) for edge in state["edges"]}
    chain = [
        "source.retail_rfm.online_retail.invoice_lines",
        "model.retail_rfm.stg_online_retail__invoice_lines",
        "model.retail_rfm.int_invoices_aggregated",
        "model.retail_rfm.int_customer_orders_summarized",
        "model.retail_rfm.customer_rfm",
        "model.retail_rfm.segment_summary",
    ]
    assert set(itertools.pairwise(chain)) <= edges
    # Left to right: each layer is drawn right of the one it reads.
    xs = [nodes[uid]["x"] for uid in chain]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), xs
    assert screenshot.stat().st_size > 20_000, "the screenshot looks empty"
