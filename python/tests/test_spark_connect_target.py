"""Python models over Spark Connect, next to a Spark Thrift server.

The test run's Thrift server (conftest's `thrift_lake`: its own lake, free
ports on 127.0.0.1) runs the Spark Connect plugin in the same application.
The `dbt` command, as a user runs it, builds the project on a
`method: thrift` target of type spark_oss: the SQL models go over
HiveServer2, customer_clusters over Spark Connect, into one catalog, and
what it wrote is read back over the Thrift port. Then the adapter's Connect
submission runs model code directly against the same server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cluster_fixture import EXTREME, GROUPS, write_cluster_lines
from conftest import CLUSTER_VARS, LakeBuild, ThriftLake
from dbt.adapters.spark_oss.connections import SparkOssCredentials
from dbt.adapters.spark_oss.model_code import PythonModelError
from dbt.adapters.spark_oss.python_submissions import SparkConnectPythonJobHelper
from dbt.adapters.spark_oss.spark_connect import CONNECT_MODE_VARIABLE
from pyhive import hive

from retail_rfm.dbt_project import PROJECT_DIR
from retail_rfm.load import load_dataset

SCHEMA = "connect"
DBT_TIMEOUT_SECONDS = 1200


@dataclass(frozen=True)
class ThriftConnectServer:
    """The ports of the test run's Thrift server (conftest's thrift_lake),
    which runs Spark Connect in the same Spark application."""

    thrift_port: int
    connect_port: int

    @property
    def connect_url(self) -> str:
        return f"sc://127.0.0.1:{self.connect_port}"


@pytest.fixture(scope="module")
def server(thrift_lake: ThriftLake) -> ThriftConnectServer:
    return ThriftConnectServer(
        thrift_port=thrift_lake.settings.port,
        connect_port=thrift_lake.settings.connect_port,
    )


def sql(server: ThriftConnectServer, statement: str) -> list[tuple[Any, ...]]:
    """A query over the Thrift port, as any HiveServer2 client sends it."""
    connection = hive.connect(host="127.0.0.1", port=server.thrift_port, username="dbt")
    try:
        cursor = connection.cursor()
        cursor.execute(statement)
        return cursor.fetchall()
    finally:
        connection.close()


@dataclass
class CliBuild:
    process: subprocess.CompletedProcess[str]
    results: dict[str, dict[str, Any]]
    log: str


def thrift_profile(server: ThriftConnectServer) -> str:
    return textwrap.dedent(
        f"""\
        retail_rfm:
          target: thrift_connect
          outputs:
            thrift_connect:
              type: spark_oss
              method: thrift
              host: 127.0.0.1
              port: {server.thrift_port}
              user: dbt
              schema: "{{{{ env_var('RETAIL_SCHEMA') }}}}"
              threads: 2
              poll_interval: 1
              # Python models: Spark Connect in the same Spark application.
              connect_url: {server.connect_url}
              server_side_parameters:
                "set:hiveconf:spark.sql.session.timeZone": "UTC"
        """
    )


@pytest.fixture(scope="module")
def cli_build(
    server: ThriftConnectServer, tmp_path_factory: pytest.TempPathFactory
) -> CliBuild:
    """One `dbt build` from the command line, SQL and Python models together
    up to cluster_profile. Data tests are left out: the session builds run
    them, and over Thrift each costs a poll interval; the results are
    checked over Thrift below."""
    work = tmp_path_factory.mktemp("connect_build")
    raw = work / "raw" / "invoice_lines"
    load_dataset(write_cluster_lines(work / "lines.csv"), raw)
    (work / "profiles.yml").write_text(thrift_profile(server), encoding="utf-8")
    process = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"), "build",
            "--select", "+cluster_profile",
            "--exclude-resource-type", "test", "unit_test",
            "--vars", CLUSTER_VARS,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(work),
            "--target-path", str(work / "target"),
            "--log-path", str(work / "logs"),
        ],
        env={**os.environ, "RETAIL_RAW_LOCATION": str(raw), "RETAIL_SCHEMA": SCHEMA},
        capture_output=True,
        text=True,
        timeout=DBT_TIMEOUT_SECONDS,
        check=False,
    )  # fmt: skip
    run_results = json.loads((work / "target" / "run_results.json").read_text())
    results = {r["unique_id"]: r for r in run_results["results"]}
    log = (work / "logs" / "dbt.log").read_text(encoding="utf-8")
    return CliBuild(process, results, log)


def test_dbt_build_runs_the_python_model_over_spark_connect(
    cli_build: CliBuild,
) -> None:
    assert cli_build.process.returncode == 0, cli_build.process.stdout[-4000:]
    model = cli_build.results["model.retail_rfm.customer_clusters"]
    assert model["status"] == "success"
    assert model["message"].startswith("OK (spark_connect, "), model["message"]
    failed = [r for r in cli_build.results.values() if r["status"] != "success"]
    assert failed == []
    assert "model.retail_rfm.cluster_profile" in cli_build.results
    assert "model.retail_rfm.customer_rfm" in cli_build.results
    # What the model printed reached dbt's console and log.
    assert "customer_clusters: chosen k=3" in cli_build.process.stdout
    assert "customer_clusters: chosen k=3" in cli_build.log


def test_thrift_sees_the_clusters_written_over_connect(
    server: ThriftConnectServer, cli_build: CliBuild
) -> None:
    assert cli_build.process.returncode == 0
    rows = sql(
        server,
        f"select customer_id, cluster_id, cluster_label, is_outlier "
        f"from {SCHEMA}_marts.customer_clusters",
    )
    cluster = {customer: cluster_id for customer, cluster_id, _, _ in rows}
    [(scored,)] = sql(server, f"select count(*) from {SCHEMA}_marts.customer_rfm")
    assert len(rows) == len(cluster) == scored == 37, "every customer once"
    assert {
        group: {cluster[c] for c in members} for group, members in GROUPS.items()
    } == {"loyal": {1}, "regular": {2}, "one_off": {3}}
    assert cluster[EXTREME] == 1
    assert [c for c, _, _, outlier in rows if outlier] == [EXTREME]
    profile = sql(
        server,
        f"select cluster_id, cluster_label, customers "
        f"from {SCHEMA}_marts.cluster_profile order by cluster_id",
    )
    assert profile == [
        (1, "recent, frequent, high spend", 13),
        (2, profile[1][1], 12),
        (3, "lapsed, infrequent, low spend", 12),
    ]


# --- the adapter's Connect submission, in this process ---------------------------

KMEANS_MODEL = textwrap.dedent(
    """\
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import VectorAssembler


    def model(dbt, session):
        points = session.createDataFrame(
            [(float(x), float(x % 2)) for x in range(10)], "x double, y double"
        )
        vectors = VectorAssembler(inputCols=["x", "y"], outputCol="features")
        fitted = KMeans(k=2, seed=1).fit(vectors.transform(points))
        print("centres:", len(fitted.clusterCenters()))
        return fitted.transform(vectors.transform(points)).select("x", "prediction")
    """
)

MISSING_TABLE_MODEL = textwrap.dedent(
    """\
    def model(dbt, session):
        frame = session.range(1)
        columns = session.table("connect_unit.no_such_table").columns
        return frame.select(*columns)
    """
)


def compiled(model: str, relation: str) -> str:
    """The model as dbt's compiled code hands it over (macros/python_model.sql)."""
    return (
        model
        + "\n\nfrom dbt.adapters.spark_oss.model_output import write_model_output\n"
        + f"write_model_output(model(None, spark), spark, {relation!r}, 'parquet',"
        + " [['x', 'double'], ['prediction', 'int']])\n"
    )


def connect_helper(server: ThriftConnectServer, name: str, model: str) -> Any:
    credentials = SparkOssCredentials(
        method="thrift", host="127.0.0.1", port=server.thrift_port, user="dbt",
        schema="connect_unit", connect_url=server.connect_url,
    )  # fmt: skip
    parsed = {
        "alias": name,
        "original_file_path": f"models/{name}.py",
        "raw_code": model,
    }
    return SparkConnectPythonJobHelper({**parsed, "config": {}}, credentials)


def test_connect_submission_fits_and_writes_on_the_server(
    server: ThriftConnectServer, clusters_build: LakeBuild
) -> None:
    """pyspark.ml runs over Connect, the table lands in the server's catalog,
    and the classic session of this process works as before afterwards."""
    sql(server, "create database if not exists connect_unit")
    helper = connect_helper(server, "kmeans", KMEANS_MODEL)
    run = helper.submit(compiled(KMEANS_MODEL, "connect_unit.kmeans"))
    assert run.method == "spark_connect"
    assert run.printed == ["centres: 2"]
    rows = sql(server, "select x, prediction from connect_unit.kmeans order by x")
    assert len(rows) == 10
    # Even and odd x split in two by y at k=2 with a fixed seed: both kinds
    # of point are present and every row has a cluster 0 or 1.
    assert {prediction for _, prediction in rows} <= {0, 1}
    assert CONNECT_MODE_VARIABLE not in os.environ

    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession

    classic = SparkSession.builder.getOrCreate()
    frame = VectorAssembler(inputCols=["id"], outputCol="v").transform(classic.range(3))
    assert frame.count() == 3


def test_connect_model_error_shows_the_model_line(server: ThriftConnectServer) -> None:
    helper = connect_helper(server, "missing", MISSING_TABLE_MODEL)
    with pytest.raises(PythonModelError) as raised:
        helper.submit(compiled(MISSING_TABLE_MODEL, "connect_unit.missing"))
    message = str(raised.value)
    assert 'File "models/missing.py", line 3, in model' in message
    assert "TABLE_OR_VIEW_NOT_FOUND" in message
    assert CONNECT_MODE_VARIABLE not in os.environ
