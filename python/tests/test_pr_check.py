"""The pull-request check on a copy of the project: main's manifest is saved
from a git commit, one file changes, and `state:modified+` must pick exactly
that node and what is downstream of it. The last test builds the selection
on Spark, reading the unchanged parents from the full build's tables."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LakeBuild, SparkLake

from retail_rfm.dbt_project import PROJECT_DIR, DbtProject
from retail_rfm.pr_check import PrCheckError, pr_check, save_state

COPIED = (
    "models",
    "macros",
    "seeds",
    "tests",
    "analyses",
    "python",
    "dbt_project.yml",
    "profiles.yml",
    "pyproject.toml",
    ".sqlfluff",
)
CHANGED_MODEL = Path("models/intermediate/int_customer_orders_summarized.sql")
DOWNSTREAM_MODELS = {
    "model.retail_rfm.int_customer_orders_summarized",
    "model.retail_rfm.customer_rfm",
    "model.retail_rfm.segment_summary",
    "model.retail_rfm.revenue_summary",
    "model.retail_rfm.customer_clusters",
    "model.retail_rfm.cluster_profile",
}
# The mart the Spark test changes: built from main's staging view and
# customer_rfm, which it reads but which do not change.
CHANGED_MART = Path("models/marts/revenue_summary.sql")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for name in COPIED:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def main_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository whose branch main holds the project as it is."""
    repo = _copy_project(tmp_path_factory.mktemp("pr") / "project")
    _git(repo, "init", "--quiet", "--initial-branch", "main")
    _git(repo, "add", "--all")
    _git(repo, "-c", "user.name=test", "-c", "user.email=test@invalid", "commit",
         "--quiet", "-m", "main")  # fmt: skip
    return repo


@pytest.fixture(scope="module")
def main_state(main_repo: Path) -> Path:
    state = main_repo.parent / "state"
    manifest = save_state("main", state, project_dir=main_repo)
    assert manifest.is_file()
    return state


@pytest.fixture
def pull_request(main_repo: Path) -> Iterator[Path]:
    """The working tree of the repository; each test's changes are undone."""
    yield main_repo
    _git(main_repo, "checkout", "--quiet", "--", ".")
    _git(main_repo, "clean", "--quiet", "-fd", "--exclude=target")


def _selection(
    repo: Path, state: Path, *, run_lint: bool = False, schema: str = "retail"
) -> list[str]:
    project = DbtProject(
        env={"RETAIL_SCHEMA": schema}, project_dir=repo, target_path=repo / "target"
    )
    return pr_check(project, state, list_only=True, run_lint=run_lint).selected


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_a_changed_model_selects_itself_and_everything_downstream(
    pull_request: Path, main_state: Path
) -> None:
    _append(pull_request / CHANGED_MODEL, "\n-- a reviewer's comment\n")
    selected = set(_selection(pull_request, main_state, run_lint=True))

    models = {uid for uid in selected if uid.startswith("model.")}
    assert models == DOWNSTREAM_MODELS
    assert not {uid for uid in selected if uid.startswith(("seed.", "source."))}
    # Tests of the selected models come along, tests of their parents do not.
    assert "test.retail_rfm.assert_revenue_reconciles_from_raw_to_marts" in selected
    assert "test.retail_rfm.assert_every_stock_code_is_classified" not in selected
    assert any(
        uid.startswith("test.retail_rfm.unique_customer_rfm_") for uid in selected
    )
    assert not any("stg_online_retail" in uid for uid in selected)
    unit_tests = {uid for uid in selected if uid.startswith("unit_test.")}
    assert {uid.split(".")[2] for uid in unit_tests} == {
        "int_customer_orders_summarized",
        "customer_rfm",
    }


def test_a_changed_seed_selects_only_what_reads_it(
    pull_request: Path, main_state: Path
) -> None:
    seed = pull_request / "seeds" / "rfm_segments.csv"
    seed.write_text(seed.read_text().replace("Champions,1,", "Champions,1,Our best. "))
    selected = set(_selection(pull_request, main_state))
    assert {uid for uid in selected if not uid.startswith("test.")} == {
        "seed.retail_rfm.rfm_segments",
        "model.retail_rfm.segment_summary",
    }
    # customer_rfm reads rfm_segment_map, not rfm_segments: only the test of
    # its segment column against rfm_segments is re-run, not the model.
    assert any(
        uid.startswith("test.retail_rfm.relationships_customer_rfm_segment")
        for uid in selected
    )


def test_a_description_only_change_builds_nothing(
    pull_request: Path, main_state: Path
) -> None:
    yaml = pull_request / "models" / "marts" / "_marts__models.yml"
    yaml.write_text(yaml.read_text().replace("Segment name.", "The segment's name."))
    assert _selection(pull_request, main_state) == []


def test_pull_request_schemas_do_not_count_as_a_change(
    pull_request: Path, main_state: Path
) -> None:
    """The pull request builds into schemas of its own (pr_*); the source's
    schema follows the target schema, yet it is the same code as on main."""
    assert _selection(pull_request, main_state, schema="pr") == []


def test_sql_that_breaks_the_style_fails_the_check(
    pull_request: Path, main_state: Path
) -> None:
    model = pull_request / CHANGED_MODEL
    model.write_text(
        model.read_text().replace("select * from final", "SELECT * FROM final")
    )
    with pytest.raises(PrCheckError, match=r"(?s)sqlfluff.*CP01"):
        _selection(pull_request, main_state, run_lint=True)


def test_the_pull_request_builds_on_main_tables(
    full_build: LakeBuild, spark_lake: SparkLake, tmp_path: Path
) -> None:
    """Build the selection for real: the full build stands for main, so the
    unchanged parents (the staging view, customer_rfm) are read from its
    tables and only the changed mart is built, with its tests, into schemas
    of its own."""
    assert full_build.build.success, "\n".join(full_build.problems())
    main_target = full_build.project.target_path
    assert main_target is not None
    repo = _copy_project(tmp_path / "project")
    _append(repo / CHANGED_MART, "\n-- a comment changes the checksum only\n")
    project = DbtProject(
        env={
            "RETAIL_LAKE_DIR": str(spark_lake.root),
            "RETAIL_SCHEMA": "prfull",
            "RETAIL_RAW_LOCATION": str(spark_lake.raw_location(full_build.name)),
        },
        project_dir=repo,
        target_path=repo / "target",
    )
    result = pr_check(project, main_target, run_lint=False)

    assert result.build is not None
    problems = [
        f"{node.status}: {node.unique_id}: {node.message}"
        for node in result.build.nodes
        if node.status not in ("success", "pass")
    ]
    assert result.build.success and problems == [], problems
    built = {node.unique_id for node in result.build.nodes}
    assert {uid for uid in built if uid.startswith(("model.", "seed."))} == {
        "model.retail_rfm.revenue_summary"
    }
    assert "test.retail_rfm.assert_revenue_reconciles_from_raw_to_marts" in built
    compiled = (repo / "target/compiled/retail_rfm" / CHANGED_MART).read_text()
    # Deferred: the unchanged parents are main's relations.
    assert "full_staging.stg_online_retail__invoice_lines" in compiled
    assert "full_marts.customer_rfm" in compiled
    sql = (
        "select revenue_bucket, net_revenue, '{{ ref('revenue_summary') }}' "
        "as relation from {{ ref('revenue_summary') }} order by bucket_rank"
    )
    rebuilt = project.query(sql)
    assert rebuilt[0]["relation"].endswith("prfull_marts.revenue_summary")
    main_rows = full_build.query(sql)
    assert [(r["revenue_bucket"], r["net_revenue"]) for r in rebuilt] == [
        (r["revenue_bucket"], r["net_revenue"]) for r in main_rows
    ]
