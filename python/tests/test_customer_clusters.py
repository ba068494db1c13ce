"""customer_clusters (a dbt Python model, k-means on Spark) and cluster_profile,
built by plain `dbt build` on the local `session` target.

On invented customers whose right clustering is obvious (cluster_fixture), the
three groups must come back as three clusters with the right labels, under
each outlier policy; on the full data, the clusters must cover every customer
once, put the largest customers in the most valuable cluster, and come out the
same from two builds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from cluster_fixture import EXTREME, GROUPS, LOYAL, ONE_OFF, REGULAR
from conftest import LakeBuild

from retail_rfm.main_job import headline

CLUSTERS_SQL = """
select customer_id, cluster_id, cluster_label, is_outlier, distance_to_centre,
    cluster_count, silhouette, outlier_policy
from {{ ref('customer_clusters') }}
order by customer_id
"""

PROFILE_SQL = """
select cluster_id, cluster_label, is_set_apart, customers, extreme_customers,
    net_revenue
from {{ ref('cluster_profile') }}
order by cluster_id
"""

CLUSTER_NODES = ("customer_clusters", "cluster_profile")


def by_customer(rows: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["customer_id"]: row for row in rows}


def cluster_of_each_group(rows: list[dict[str, Any]]) -> dict[str, set[int]]:
    customers = by_customer(rows)
    return {
        group: {customers[c]["cluster_id"] for c in members}
        for group, members in GROUPS.items()
    }


def assert_groups_recovered(rows: list[dict[str, Any]]) -> None:
    """Each invented group is one whole cluster, and the three differ: the
    most valuable (loyal) is 1, the least (one-off) is 3."""
    clusters = cluster_of_each_group(rows)
    assert clusters == {"loyal": {1}, "regular": {2}, "one_off": {3}}, clusters
    labels = {row["cluster_id"]: row["cluster_label"] for row in rows}
    assert labels[1] == "recent, frequent, high spend"
    assert labels[3] == "lapsed, infrequent, low spend"


def node_result(build: LakeBuild, name: str) -> Any:
    [node] = [
        node
        for node in build.build.nodes
        if node.unique_id == f"model.retail_rfm.{name}"
    ]
    return node


# --- invented, well separated customers ----------------------------------------


def test_fixture_build_runs_the_python_model_in_process(
    clusters_build: LakeBuild,
) -> None:
    assert clusters_build.build.success, "\n".join(clusters_build.problems())
    built = {node.unique_id for node in clusters_build.build.nodes}
    # The Python model's own data tests ran, and passed.
    assert "test.retail_rfm.assert_cluster_profile_covers_every_customer" in built
    assert sum("customer_clusters" in node for node in built) > 10
    node = node_result(clusters_build, "customer_clusters")
    assert node.status == "success"
    # The adapter's response names the submission method.
    assert node.message.startswith("OK (session, "), node.message


@pytest.fixture(scope="module")
def policy_rows(clusters_build: LakeBuild) -> dict[str, dict[str, list[Any]]]:
    """customer_clusters and cluster_profile under each outlier policy.

    The default (cap) comes from the fixture build; keep rebuilds
    customer_clusters, separate rebuilds it and everything downstream, with
    their tests (cluster 0 exists only under separate), in the same schema,
    which is left built with `separate`.
    """
    rows = {"cap": _clusters_and_profile(clusters_build)}
    for policy, selection in (
        ("keep", ("customer_clusters", "--indirect-selection", "empty")),
        ("separate", ("customer_clusters+",)),
    ):
        variables = {"cluster_outlier_quantile": 0.95, "cluster_outlier_policy": policy}
        build = clusters_build.project.build(
            "--select", *selection, "--vars", json.dumps(variables)
        )
        problems = [
            f"{node.status}: {node.unique_id}: {node.message}"
            for node in build.nodes
            if node.status not in ("success", "pass")
        ]
        assert build.success and not problems, "\n".join(problems)
        rows[policy] = _clusters_and_profile(clusters_build)
    return rows


def _clusters_and_profile(build: LakeBuild) -> dict[str, list[Any]]:
    return {"clusters": build.query(CLUSTERS_SQL), "profile": build.query(PROFILE_SQL)}


def test_well_separated_groups_are_recovered(
    policy_rows: dict[str, dict[str, list[Any]]],
) -> None:
    rows = policy_rows["cap"]["clusters"]
    assert len(rows) == len(LOYAL) + len(REGULAR) + len(ONE_OFF) + 1
    assert_groups_recovered(rows)
    # k=3 won on silhouette (groups this far apart score close to 1).
    assert {row["cluster_count"] for row in rows} == {3}
    [silhouette] = {row["silhouette"] for row in rows}
    assert silhouette > 0.7
    assert {row["outlier_policy"] for row in rows} == {"cap"}


def test_the_extreme_customer_is_flagged_under_every_policy(
    policy_rows: dict[str, dict[str, list[Any]]],
) -> None:
    for policy, rows in policy_rows.items():
        flagged = [r["customer_id"] for r in rows["clusters"] if r["is_outlier"]]
        assert flagged == [EXTREME], policy


def test_cap_lowers_the_extreme_customer_onto_its_group(
    policy_rows: dict[str, dict[str, list[Any]]],
) -> None:
    """With its features capped, the extreme customer sits in the loyal
    cluster, much closer to its centre than when kept as it is."""
    capped = by_customer(policy_rows["cap"]["clusters"])[EXTREME]
    kept = by_customer(policy_rows["keep"]["clusters"])[EXTREME]
    assert capped["cluster_id"] == 1
    assert capped["distance_to_centre"] < kept["distance_to_centre"] / 2


def test_keep_clusters_the_extreme_customer_like_the_rest(
    policy_rows: dict[str, dict[str, list[Any]]],
) -> None:
    rows = policy_rows["keep"]["clusters"]
    groups = cluster_of_each_group(rows)
    # The three groups stay whole and apart; the extreme customer is in a
    # k-means cluster (no cluster 0 under keep).
    assert all(len(ids) == 1 for ids in groups.values()), groups
    assert len(set.union(*groups.values())) == 3
    assert by_customer(rows)[EXTREME]["cluster_id"] >= 1
    assert {row["outlier_policy"] for row in rows} == {"keep"}


def test_separate_sets_the_extreme_customer_apart(
    policy_rows: dict[str, dict[str, list[Any]]],
) -> None:
    rows = policy_rows["separate"]["clusters"]
    assert_groups_recovered(rows)
    extreme = by_customer(rows)[EXTREME]
    assert extreme["cluster_id"] == 0
    assert extreme["cluster_label"] == "set apart: recent, frequent, high spend"
    assert [r["customer_id"] for r in rows if r["cluster_id"] == 0] == [EXTREME]
    profile = policy_rows["separate"]["profile"]
    assert [(p["cluster_id"], p["is_set_apart"], p["customers"]) for p in profile] == [
        (0, True, 1),
        (1, False, len(LOYAL)),
        (2, False, len(REGULAR)),
        (3, False, len(ONE_OFF)),
    ]


def test_cluster_profile_sums_to_customer_rfm(
    clusters_build: LakeBuild, policy_rows: dict[str, dict[str, list[Any]]]
) -> None:
    profile = policy_rows["cap"]["profile"]
    assert [
        (p["cluster_id"], p["customers"], p["extreme_customers"]) for p in profile
    ] == [
        (1, len(LOYAL) + 1, 1),
        (2, len(REGULAR), 0),
        (3, len(ONE_OFF), 0),
    ]
    [rfm] = clusters_build.query(
        "select count(*) as customers, sum(monetary) as net_revenue "
        "from {{ ref('customer_rfm') }}"
    )
    assert sum(p["customers"] for p in profile) == rfm["customers"]
    assert sum(p["net_revenue"] for p in profile) == rfm["net_revenue"]


# --- the full data ------------------------------------------------------------------


def test_full_data_clusters_cover_every_customer_once(full_build: LakeBuild) -> None:
    assert node_result(full_build, "customer_clusters").status == "success"
    rows = full_build.query(CLUSTERS_SQL)
    assert len(rows) == len(by_customer(rows)) == 4_339
    [k] = {row["cluster_count"] for row in rows}
    assert 3 <= k <= 6
    assert {row["cluster_id"] for row in rows} == set(range(1, k + 1))
    labels = {(row["cluster_id"], row["cluster_label"]) for row in rows}
    assert len(labels) == k, "one label per cluster, no label shared"
    [silhouette] = {row["silhouette"] for row in rows}
    assert 0.3 < silhouette < 1
    assert {row["outlier_policy"] for row in rows} == {"cap"}


def test_full_data_largest_customers_are_extreme_and_most_valuable(
    full_build: LakeBuild,
) -> None:
    """14646 and 18102, the two largest customers (2.9% and 2.6% of net
    revenue), are extreme and sit in cluster 1, "recent, frequent, high
    spend"; customers whose net revenue is zero or negative sit in a
    low-spend cluster."""
    customers = by_customer(full_build.query(CLUSTERS_SQL))
    for largest in (14646, 18102):
        assert customers[largest]["is_outlier"]
        assert customers[largest]["cluster_id"] == 1
        assert customers[largest]["cluster_label"] == "recent, frequent, high spend"
    extreme = [c for c in customers.values() if c["is_outlier"]]
    # About 1% of customers per capped feature (ties at the quantile count in).
    assert 40 <= len(extreme) <= 90, len(extreme)
    nothing_spent = full_build.query(
        "select customer_id from {{ ref('customer_rfm') }} where monetary <= 0"
    )
    assert len(nothing_spent) == 22
    for row in nothing_spent:
        assert customers[row["customer_id"]]["cluster_label"].endswith("low spend")


def test_two_builds_give_identical_clusters(full_build: LakeBuild) -> None:
    before = full_build.query(CLUSTERS_SQL)
    rebuild = full_build.project.build("--select", "customer_clusters")
    assert rebuild.success
    after = full_build.query(CLUSTERS_SQL)
    assert [
        (r["customer_id"], r["cluster_id"], r["cluster_label"], r["is_outlier"])
        for r in after
    ] == [
        (r["customer_id"], r["cluster_id"], r["cluster_label"], r["is_outlier"])
        for r in before
    ]
    for old, new in zip(before, after, strict=True):
        assert new["distance_to_centre"] == pytest.approx(
            old["distance_to_centre"], abs=1e-9
        )


def test_main_job_prints_the_cluster_profile(full_build: LakeBuild) -> None:
    text = headline(full_build.project)
    lines = text.splitlines()
    [title] = [line for line in lines if line.startswith("Customer clusters")]
    assert "k-means on Spark" in title
    assert "extreme customers: cap" in title
    profile = full_build.query(PROFILE_SQL)
    start = lines.index(title)
    assert len(lines) == start + 1 + len(profile), "one line per cluster, last"
    assert "recent, frequent, high spend" in lines[start + 1]


def test_python_model_cost_in_the_full_build(
    full_build: LakeBuild, capsys: pytest.CaptureFixture[str]
) -> None:
    """Benchmark: what the Python model and its mart add to a full build
    (printed, not asserted; the nodes must have passed)."""
    cluster_nodes = [
        node
        for node in full_build.build.nodes
        if any(name in node.unique_id for name in CLUSTER_NODES)
    ]
    assert cluster_nodes
    assert all(node.status in ("success", "pass") for node in cluster_nodes)
    model = node_result(full_build, "customer_clusters")
    with capsys.disabled():
        print(
            f"\n[benchmark] full dbt build {full_build.build.seconds:.1f} s; "
            f"customer_clusters (Python, k-means) {model.seconds:.1f} s; "
            f"{len(cluster_nodes)} cluster nodes (models and tests) "
            f"{sum(node.seconds for node in cluster_nodes):.1f} s of node time"
        )
