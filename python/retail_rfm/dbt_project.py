"""Run dbt on this project in-process, and read results back through dbt.

dbt runs in the calling Python process (dbt's programmatic runner), so on the
local `session` target every invocation shares one Spark JVM: the JVM and
metastore start once per process, not once per command. Queries go through
`dbt show`, so they work unchanged on every target (session, Thrift, EMR).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[2]


class DbtError(RuntimeError):
    """A dbt invocation did not succeed."""


@dataclass(frozen=True)
class NodeResult:
    """One node of a dbt build: a seed, model, test or unit test."""

    unique_id: str
    resource_type: str
    status: str
    message: str | None
    seconds: float


@dataclass(frozen=True)
class BuildResult:
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)

    def with_status(self, *statuses: str) -> list[NodeResult]:
        return [node for node in self.nodes if node.status in statuses]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        return counts


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class DbtProject:
    """This dbt project, pointed at one target and one set of schemas.

    `env` holds the environment variables profiles.yml and the macros read
    (RETAIL_SCHEMA, RETAIL_RAW_LOCATION, RETAIL_LAKE_DIR, ...); `target_path`
    keeps the artefacts of separate builds apart.
    """

    target: str = "local"
    env: dict[str, str] = field(default_factory=dict)
    project_dir: Path = PROJECT_DIR
    target_path: Path | None = None

    def invoke(self, *args: str) -> Any:
        """Run one dbt command; return dbt's result object."""
        from dbt.cli.main import dbtRunner

        argv = [
            *args,
            "--project-dir",
            str(self.project_dir),
            "--profiles-dir",
            str(self.project_dir),
            "--target",
            self.target,
        ]
        if self.target_path is not None:
            argv += ["--target-path", str(self.target_path)]
        with _environment(self.env):
            outcome = dbtRunner().invoke(argv)
        if outcome.exception is not None:
            raise DbtError(f"dbt {args[0]} failed: {outcome.exception}")
        return outcome

    def build(self, *args: str) -> BuildResult:
        """`dbt build` (plus any selection arguments); never raises on test
        failures: the result lists every node with its status."""
        started = time.monotonic()
        outcome = self.invoke("build", *args)
        seconds = time.monotonic() - started
        nodes = [
            NodeResult(
                unique_id=result.node.unique_id,
                resource_type=str(result.node.resource_type),
                status=str(result.status),
                message=result.message,
                seconds=result.execution_time,
            )
            for result in (outcome.result.results if outcome.result else [])
        ]
        build = BuildResult(success=outcome.success, seconds=seconds, nodes=nodes)
        log.info(
            "dbt build on target %s: %s in %.1f s",
            self.target,
            build.counts(),
            seconds,
        )
        return build

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a select through `dbt show` and return every row as a dict.

        The SQL may use ref() and source()."""
        outcome = self.invoke(
            "show", "--inline", sql, "--limit", "-1", "--log-level", "none"
        )
        if not outcome.success:
            raise DbtError(f"dbt show failed for: {sql}")
        table = outcome.result.results[0].agate_table
        return [dict(zip(table.column_names, row, strict=True)) for row in table.rows]
