"""The pull-request check: lint, then build only what a change touches.

`retail-rfm save-state` parses the project as it is on main (a git ref) and
keeps that manifest; `retail-rfm pr-check` lints the working tree and runs
`dbt build --select state:modified+ --state <that manifest>`: the models,
seeds and tests whose code or config differ from main, and everything
downstream of them. With `--defer` (the default) the parents that did not
change are read from main's tables, the relations named in main's manifest,
so they are not rebuilt; the pull request's own tables go to their own
schemas (`RETAIL_SCHEMA`, default `pr`), so main's tables are never touched.
docs/pull-requests.md shows how a CI system runs it.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from retail_rfm.dbt_project import PROJECT_DIR, BuildResult, DbtProject

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
DEFAULT_STATE_DIR = Path(".state") / "main"
DEFAULT_PR_SCHEMA = "pr"
SELECTOR = "state:modified+"

# What the project's linters check, from the project folder.
LINT_COMMANDS = (
    ("sqlfluff", "lint", "models", "tests", "analyses"),
    ("ruff", "check", "python"),
    ("ruff", "format", "--check", "python"),
)


class PrCheckError(RuntimeError):
    """The check could not run or did not pass."""


@dataclass(frozen=True)
class PrCheckResult:
    selected: list[str]
    build: BuildResult | None


def _tool(name: str) -> str:
    """A linter from this Python's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def lint(project_dir: Path = PROJECT_DIR) -> None:
    """Run every linter; raise with their output when one fails."""
    for command in LINT_COMMANDS:
        started = time.monotonic()
        done = subprocess.run(
            [_tool(command[0]), *command[1:]],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise PrCheckError(
                f"lint failed: {' '.join(command)}\n{done.stdout}{done.stderr}"
            )
        log.info(
            "lint passed: %s (%.1f s)", " ".join(command), time.monotonic() - started
        )


def save_state(
    ref: str,
    state_dir: Path,
    project_dir: Path = PROJECT_DIR,
    env: dict[str, str] | None = None,
) -> Path:
    """Parse the project as committed at `ref` and keep its manifest.

    The files come from `git archive`, so the working tree and the index are
    left alone. `dbt parse` connects to nothing: no Spark is started."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref],
        cwd=project_dir,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise PrCheckError(
            f"git archive {ref} failed: {archive.stderr.decode().strip()}"
        )
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="retail-rfm-main-") as checkout:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(checkout, filter="data")
        project = DbtProject(
            env=env or {}, project_dir=Path(checkout), target_path=state_dir
        )
        project.invoke("parse")
    manifest = state_dir / "manifest.json"
    log.info("saved the manifest of %s to %s", ref, manifest)
    return manifest


def select_changed(project: DbtProject, state_dir: Path) -> list[str]:
    """The unique ids `state:modified+` selects against the saved manifest."""
    if not (state_dir / "manifest.json").is_file():
        raise PrCheckError(
            f"no manifest of main in {state_dir}: run `make main-state` "
            "(retail-rfm save-state) first"
        )
    outcome = project.invoke(
        "ls",
        "--select",
        SELECTOR,
        "--state",
        str(state_dir),
        "--output",
        "json",
        "--output-keys",
        "unique_id",
        "--log-level",
        "none",
    )
    return sorted(json.loads(line)["unique_id"] for line in outcome.result or [])


def pr_check(
    project: DbtProject,
    state_dir: Path,
    *,
    defer: bool = True,
    list_only: bool = False,
    run_lint: bool = True,
) -> PrCheckResult:
    """Lint, list what changed and what is downstream, and build it."""
    if run_lint:
        lint(project.project_dir)
    selected = select_changed(project, state_dir)
    log.info(
        "%s against %s selects %d nodes: %s",
        SELECTOR,
        state_dir,
        len(selected),
        ", ".join(selected) or "none",
    )
    if list_only or not selected:
        return PrCheckResult(selected=selected, build=None)
    build_args = ["--select", SELECTOR, "--state", str(state_dir)]
    if defer:
        build_args.append("--defer")
    return PrCheckResult(selected=selected, build=project.build(*build_args))


def _run_pr_check(args: argparse.Namespace) -> int:
    project = DbtProject(target=args.target, env={"RETAIL_SCHEMA": args.schema})
    try:
        result = pr_check(
            project,
            args.state.resolve(),
            defer=not args.no_defer,
            list_only=args.list_only,
        )
    except PrCheckError as exc:
        sys.stderr.write(f"retail-rfm pr-check: {exc}\n")
        return EXIT_FAILED
    sys.stdout.write(
        f"{SELECTOR}: {len(result.selected)} nodes\n"
        + "".join(f"  {unique_id}\n" for unique_id in result.selected)
    )
    if result.build is None:
        sys.stdout.write("nothing built\n" if not args.list_only else "")
        return EXIT_OK
    failed = [
        f"  {node.status}: {node.unique_id}: {node.message}"
        for node in result.build.with_status("error", "fail", "runtime error")
    ]
    if not result.build.success:
        sys.stderr.write("dbt build failed:\n" + "\n".join(failed) + "\n")
        return EXIT_FAILED
    sys.stdout.write(
        f"built {len(result.build.nodes)} nodes in {result.build.seconds:.1f} s "
        f"into schemas {args.schema}_*\n"
    )
    return EXIT_OK


def _run_save_state(args: argparse.Namespace) -> int:
    try:
        manifest = save_state(args.ref, args.state)
    except PrCheckError as exc:
        sys.stderr.write(f"retail-rfm save-state: {exc}\n")
        return EXIT_FAILED
    sys.stdout.write(f"saved {manifest}\n")
    return EXIT_OK


def add_pr_check_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pr-check",
        help="lint, then dbt build what changed since main and what is downstream",
        description=(
            "Run sqlfluff and ruff, then `dbt build --select state:modified+ "
            "--state STATE --defer`: the nodes that differ from the manifest "
            "saved by `save-state`, and their descendants, built into schemas "
            "<schema>_*; unchanged parents are read from main's tables."
        ),
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"the folder of main's manifest.json (default: {DEFAULT_STATE_DIR})",
    )
    parser.add_argument(
        "--schema",
        default=DEFAULT_PR_SCHEMA,
        help=f"schema prefix for the pull request's tables (default: "
        f"{DEFAULT_PR_SCHEMA})",
    )
    parser.add_argument(
        "--no-defer",
        action="store_true",
        help="do not read unchanged parents from main's tables",
    )
    parser.add_argument(
        "--list-only",
        action="store_true",
        help="lint and list the selection, build nothing (no Spark)",
    )
    parser.add_argument(
        "--target", default="local", help="the profiles.yml target (default: local)"
    )
    parser.set_defaults(handler=_run_pr_check)


def add_save_state_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "save-state",
        help="save the dbt manifest of main for pr-check",
        description=(
            "Parse the project as committed at REF (git archive; the working "
            "tree is not touched) and write its manifest.json to STATE."
        ),
    )
    parser.add_argument(
        "--ref", default="main", help="the git ref of main (default: main)"
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where to write manifest.json (default: {DEFAULT_STATE_DIR})",
    )
    parser.set_defaults(handler=_run_save_state)
