"""Shared fixtures: the loader's environment, and dbt builds on local Spark."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cluster_fixture import write_cluster_lines

from retail_rfm import thrift_server
from retail_rfm.dbt_project import PROJECT_DIR, BuildResult, DbtProject
from retail_rfm.load import load_dataset
from retail_rfm.paths import RAW_TABLE_SUBDIR

SHARED_DATASET = (
    PROJECT_DIR.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
)

LOADER_ENV = (
    "ONLINE_RETAIL_PATH",
    "ONLINE_RETAIL_URL",
    "ONLINE_RETAIL_SHA256",
    "RETAIL_RFM_CACHE_DIR",
    "RETAIL_RAW_LOCATION",
    "RETAIL_LAKE_DIR",
    "XDG_CACHE_HOME",
)


@pytest.fixture
def loader_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No loader setting leaks in from the caller's environment.

    The cache and the lake live under tmp_path, and the download URL points at
    a closed loopback port, so no test can reach the internet by accident.
    Returns the lake folder.
    """
    for name in LOADER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RETAIL_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("RETAIL_RFM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ONLINE_RETAIL_URL", "http://127.0.0.1:9/online+retail.zip")
    return tmp_path / "lake"


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    return tmp_path / "raw" / "invoice_lines"


# --- dbt on the local Spark -------------------------------------------------
# Every dbt invocation of the test run happens in this process and shares one
# Spark JVM and one Derby metastore (Derby admits one JVM at a time). Each
# build gets its own schema prefix and raw table, so builds never meet.


@dataclass
class LakeBuild:
    """A dataset loaded into its own raw table and built by dbt."""

    name: str
    project: DbtProject
    build: BuildResult

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.project.query(sql)

    def problems(self) -> list[str]:
        """Every node that did not pass, with dbt's message."""
        return [
            f"{node.status}: {node.unique_id}: {node.message}"
            for node in self.build.nodes
            if node.status not in ("success", "pass")
        ]


class SparkLake:
    """One local lake for the whole test run: raw tables, warehouse, metastore."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.builds: dict[str, LakeBuild] = {}

    def project(self, name: str, **env: str) -> DbtProject:
        return DbtProject(
            target="local",
            env={
                "RETAIL_LAKE_DIR": str(self.root),
                "RETAIL_SCHEMA": name,
                "RETAIL_RAW_LOCATION": str(self.raw_location(name)),
                **env,
            },
            target_path=self.root / "dbt-target" / name,
        )

    def raw_location(self, name: str) -> Path:
        return self.root / "raw" / name / "invoice_lines"

    def load_and_build(self, name: str, source: Path, *build_args: str) -> LakeBuild:
        load_dataset(source, self.raw_location(name))
        project = self.project(name)
        result = LakeBuild(name, project, project.build(*build_args))
        self.builds[name] = result
        return result


@pytest.fixture(scope="session")
def spark_lake(tmp_path_factory: pytest.TempPathFactory) -> SparkLake:
    return SparkLake(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="session")
def full_dataset() -> Path:
    """The full real dataset (541,909 lines); the tests need it."""
    path = Path(os.environ.get("ONLINE_RETAIL_PATH") or SHARED_DATASET)
    if not path.is_file():
        pytest.fail(
            f"the full dataset is not at {path}: set ONLINE_RETAIL_PATH to the "
            "Online Retail file (.csv, .csv.gz, .xlsx or the UCI .zip)"
        )
    return path


@pytest.fixture(scope="session")
def full_build(spark_lake: SparkLake, full_dataset: Path) -> LakeBuild:
    """The whole project built on the full dataset, once per test run."""
    return spark_lake.load_and_build("full", full_dataset)


# --- dbt on a local Spark Thrift server --------------------------------------
# A server of its own (its own JVM, so its own lake and Derby metastore, apart
# from spark_lake's), started once for the test run on free ports and stopped
# at the end. Tables get a location under <lake>/tables, the way the `emr`
# target puts them under an S3 prefix.


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((thrift_server.BIND_HOST, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


class ThriftLake:
    """The lake of a running Thrift server, and dbt builds through it."""

    def __init__(self, settings: thrift_server.ServerSettings) -> None:
        self.settings = settings
        self.root = settings.lake_dir
        self.location_root = self.root / "tables"

    def project(self, name: str, target: str = "thrift", **env: str) -> DbtProject:
        return DbtProject(
            target=target,
            env={
                "RETAIL_LAKE_DIR": str(self.root),
                "RETAIL_THRIFT_PORT": str(self.settings.port),
                "RETAIL_CONNECT_PORT": str(self.settings.connect_port),
                "RETAIL_SCHEMA": name,
                "RETAIL_LOCATION_ROOT": str(self.location_root),
                # The raw table is found where the server's lake keeps it.
                "RETAIL_RAW_LOCATION": "",
                **env,
            },
            target_path=self.root / "dbt-target" / name,
        )

    def raw_location(self) -> Path:
        return self.root / RAW_TABLE_SUBDIR

    def load_and_build(self, name: str, source: Path, *build_args: str) -> LakeBuild:
        """Load into the lake's default raw table, then `dbt build`."""
        load_dataset(source, self.raw_location())
        project = self.project(name)
        return LakeBuild(name, project, project.build(*build_args))


@pytest.fixture(scope="session")
def thrift_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThriftLake]:
    port, connect_port = free_ports(2)
    settings = thrift_server.ServerSettings(
        lake_dir=tmp_path_factory.mktemp("thrift-lake"),
        port=port,
        connect_port=connect_port,
        driver_memory="2g",
    )
    thrift_server.start(settings)
    try:
        yield ThriftLake(settings)
    finally:
        stopped = thrift_server.stop(settings)
    # Stopping is part of what is tested: the process and its ports are gone.
    assert stopped, "the Thrift server was not running at the end of the tests"
    assert not settings.pid_file.exists()
    assert not thrift_server.port_in_use(settings.port)
    assert not thrift_server.port_in_use(settings.connect_port)


@pytest.fixture(scope="session")
def thrift_full_build(thrift_lake: ThriftLake, full_dataset: Path) -> LakeBuild:
    """The whole project built on the full dataset through the Thrift server."""
    return thrift_lake.load_and_build("full", full_dataset)


# The customers of cluster_fixture are 37: at the default quantile 0.99 none
# would count as extreme, at 0.95 the one extreme customer does.
CLUSTER_VARS = '{"cluster_outlier_quantile": 0.95}'

# Everything customer_clusters needs, then the clusters with every test on
# them or downstream; the tests of the SQL models upstream run in the other
# builds (edge cases, full data), not again here.
CLUSTER_SELECTION = (
    "--select",
    "+cluster_profile",
    "customer_clusters+,resource_type:test",
    "--indirect-selection",
    "empty",
)


@pytest.fixture(scope="session")
def clusters_build(
    spark_lake: SparkLake, tmp_path_factory: pytest.TempPathFactory
) -> LakeBuild:
    """customer_clusters and cluster_profile built, with their tests, on
    invented, well separated customers (cluster_fixture)."""
    source = write_cluster_lines(tmp_path_factory.mktemp("clusters") / "lines.csv")
    return spark_lake.load_and_build(
        "clusters", source, *CLUSTER_SELECTION, "--vars", CLUSTER_VARS
    )
