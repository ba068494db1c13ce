"""The spark_oss adapter's Python-model code: running a compiled model,
reporting its errors, enforcing its contract, reaching Spark Connect.

Real code paths throughout: models run on the test run's SparkSession (the
one dbt-spark's session connection uses), and through dbt itself for the
errors a user sees. The live Spark Connect server is exercised in
test_spark_connect_target.py.
"""

from __future__ import annotations

import shutil
import socket
import textwrap
import time
from typing import Any

import pytest
from conftest import LakeBuild, SparkLake
from dbt.adapters.spark_oss.connections import SparkOssCredentials
from dbt.adapters.spark_oss.model_code import PythonModelError, run_model_code
from dbt.adapters.spark_oss.model_output import (
    ContractError,
    normalize_type,
    write_model_output,
)
from dbt.adapters.spark_oss.python_submissions import (
    SessionPythonJobHelper,
    SparkConnectPythonJobHelper,
)
from dbt.adapters.spark_oss.spark_connect import ConnectEndpoint, ConnectEndpointError
from dbt_common.exceptions import DbtRuntimeError

from retail_rfm.dbt_project import PROJECT_DIR, DbtProject

# A model file as a user writes it, and the compiled form dbt hands over: a
# little indentation, the model, then dbt's helpers and the call of model().
BOOM_MODEL = textwrap.dedent(
    """\
    def ratio(values):
        return sum(values) / len(values)


    def model(dbt, session):
        print("rows: 0")
        return ratio([])
    """
)
BOOM_COMPILED = (
    "\n  \n    "
    + BOOM_MODEL
    + "\n\nclass dbtObj:\n    def __init__(self, load):\n        self.load = load\n"
    + "\n\nresult = model(dbtObj(None), spark)\n"
)
BOOM_PARSED = {
    "alias": "boom",
    "original_file_path": "models/boom.py",
    "raw_code": BOOM_MODEL,
}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def thrift_credentials(**fields: Any) -> SparkOssCredentials:
    return SparkOssCredentials(
        method="thrift", host="127.0.0.1", port=10000, user="dbt", schema="unit",
        **fields,
    )  # fmt: skip


# --- running model code -------------------------------------------------------


def test_failing_model_shows_its_own_file_and_lines() -> None:
    with pytest.raises(PythonModelError) as raised:
        run_model_code(BOOM_COMPILED, BOOM_PARSED, session=None, method="session")
    message = str(raised.value)
    # The model file's own line numbers and source, innermost last.
    assert 'File "models/boom.py", line 7, in model' in message
    assert "    return ratio([])" in message
    assert 'File "models/boom.py", line 2, in ratio' in message
    assert "    return sum(values) / len(values)" in message
    assert message.rstrip().endswith("ZeroDivisionError: division by zero")
    # dbt's part is named apart, numbered as in the compiled file (the
    # call of model() is on line 17 there, after 2 lines of indentation).
    assert 'File "models/boom.py [dbt wrapper]", line 17, in <module>' in message
    assert BOOM_COMPILED.splitlines()[16] == "result = model(dbtObj(None), spark)"
    assert "model_code.py" not in message, "the runner's own frames are left out"


def test_library_frames_are_counted_not_shown() -> None:
    model = "import json\n\n\ndef model(dbt, session):\n    return json.loads('{')\n"
    compiled = model + "\n\nmodel(None, spark)\n"
    parsed = {"alias": "j", "original_file_path": "models/j.py", "raw_code": model}
    with pytest.raises(PythonModelError) as raised:
        run_model_code(compiled, parsed, session=None, method="session")
    message = str(raised.value)
    assert 'File "models/j.py", line 5, in model' in message
    assert "frame(s) in libraries not shown" in message
    assert "json.decoder.JSONDecodeError" in message


def test_print_in_a_model_goes_to_dbt_log_with_the_model_name() -> None:
    model = "def model(dbt, session):\n    print('k=3:', 0.5, sep=' ')\n    return 1\n"
    compiled = model + "\n\nmodel(None, spark)\n"
    parsed = {"alias": "talk", "original_file_path": "models/t.py", "raw_code": model}
    run = run_model_code(compiled, parsed, session=None, method="session")
    assert run.printed == ["k=3: 0.5"]
    assert run.model == "talk"
    assert run.seconds >= 0


def test_the_model_sees_the_session_as_spark() -> None:
    model = "def model(dbt, session):\n    return session\n"
    compiled = model + "\n\nassert model(None, spark) == 'the session'\n"
    parsed = {"alias": "s", "original_file_path": "models/s.py", "raw_code": model}
    run_model_code(compiled, parsed, session="the session", method="session")


# --- the contract of a Python model --------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("BIGINT", "bigint"),
        ("long", "bigint"),
        ("integer", "int"),
        ("Decimal(18, 2)", "decimal(18,2)"),
        ("decimal", "decimal(10,0)"),
        ("bool", "boolean"),
        ("string", "string"),
    ],
)
def test_normalize_type(written: str, normal: str) -> None:
    assert normalize_type(written) == normal


@pytest.fixture(scope="module")
def spark(clusters_build: LakeBuild) -> Any:
    """The test run's SparkSession, as dbt-spark's session target made it."""
    from pyspark.sql import SparkSession

    assert clusters_build.build.success
    session = SparkSession.builder.getOrCreate()
    session.sql("create database if not exists unit_spark_oss")
    return session


def test_contract_mismatch_writes_nothing_and_names_the_columns(spark: Any) -> None:
    frame = spark.createDataFrame([(1, 2)], "customer_id bigint, cluster_id bigint")
    contract = [
        ["customer_id", "bigint"],
        ["cluster_id", "int"],
        ["cluster_label", "string"],
    ]
    with pytest.raises(ContractError) as raised:
        write_model_output(frame, spark, "unit_spark_oss.mismatch", "parquet", contract)
    message = str(raised.value)
    assert "unit_spark_oss.mismatch was not written" in message
    assert (
        "cluster_id    | bigint        | int           | data type differs" in message
    )
    assert "cluster_label | -             | string        | missing" in message
    assert not spark.catalog.tableExists("unit_spark_oss.mismatch")


def test_contract_orders_and_names_the_columns(spark: Any) -> None:
    """Written in the contract's order and spelling, as dbt does for SQL."""
    frame = spark.createDataFrame([("a", 7)], "label string, ID int")
    write_model_output(
        frame,
        spark,
        "unit_spark_oss.ordered",
        "parquet",
        [["id", "integer"], ["label", "string"]],
    )
    table = spark.table("unit_spark_oss.ordered")
    assert table.columns == ["id", "label"]
    assert [tuple(row) for row in table.collect()] == [(7, "a")]


def test_pandas_result_is_written(spark: Any) -> None:
    import pandas

    write_model_output(
        pandas.DataFrame({"n": [1, 2, 3]}), spark, "unit_spark_oss.pandas", "parquet"
    )
    assert spark.table("unit_spark_oss.pandas").count() == 3


def test_other_results_are_refused(spark: Any) -> None:
    with pytest.raises(DbtRuntimeError, match="must return a Spark or a pandas"):
        write_model_output([1, 2], spark, "unit_spark_oss.list", "parquet")


# --- submission methods and Spark Connect endpoints ----------------------------


def test_session_method_refuses_a_thrift_target() -> None:
    helper = SessionPythonJobHelper({"alias": "m"}, thrift_credentials())
    with pytest.raises(DbtRuntimeError, match="needs a target with `method: session`"):
        helper.submit("")


def test_connect_method_without_connect_url_says_what_to_add() -> None:
    helper = SparkConnectPythonJobHelper(
        {"alias": "m", "config": {}}, thrift_credentials()
    )
    with pytest.raises(ConnectEndpointError) as raised:
        helper.submit("")
    assert "connect_url" in str(raised.value)
    assert "spark.plugins=org.apache.spark.sql.connect.SparkConnectPlugin" in str(
        raised.value
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:15002", "sc://", "sc://h:port"])
def test_malformed_connect_url_is_refused(url: str) -> None:
    with pytest.raises(ConnectEndpointError, match="connect_url"):
        ConnectEndpoint.parse(url)


def test_connect_url_default_port_and_ssl() -> None:
    endpoint = ConnectEndpoint.parse("sc://10.1.2.3/;use_ssl=true;token=x")
    assert (endpoint.host, endpoint.port, endpoint.use_ssl) == ("10.1.2.3", 15002, True)
    assert not ConnectEndpoint.parse("sc://h:1").use_ssl


def test_unreachable_connect_server_fails_fast_naming_the_address() -> None:
    port = closed_port()
    helper = SparkConnectPythonJobHelper(
        {"alias": "m", "config": {}},
        thrift_credentials(connect_url=f"sc://127.0.0.1:{port}"),
    )
    started = time.monotonic()
    with pytest.raises(ConnectEndpointError) as raised:
        helper.submit("def model(dbt, session):\n    return None\n")
    assert time.monotonic() - started < 2
    message = str(raised.value)
    assert f"sc://127.0.0.1:{port} is not reachable" in message
    assert f"no connection to 127.0.0.1:{port}" in message


def test_silent_connect_server_fails_within_the_probe_time() -> None:
    """A server that accepts the TCP connection but never answers (a hung
    process, or something that is not gRPC) fails after
    connect_probe_seconds, not after the client's minutes of retries."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes connections; nobody answers
        port = silent.getsockname()[1]
        endpoint = ConnectEndpoint.parse(f"sc://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(ConnectEndpointError) as raised:
            endpoint.probe(timeout_seconds=1.0)
        assert time.monotonic() - started < 3
    message = str(raised.value)
    assert f"no connection to 127.0.0.1:{port}" in message
    assert "no gRPC (HTTP/2) session came up" in message


# --- what a user sees from dbt -------------------------------------------------

FAILING_PROJECT_FILES = {
    "dbt_project.yml": """\
        name: python_model_errors
        version: "1.0.0"
        config-version: 2
        profile: retail_rfm
        model-paths: ["models"]
        models:
          python_model_errors:
            +file_format: parquet
        """,
    "models/divide.py": """\
        def model(dbt, session):
            frame = session.range(3)
            print("rows:", frame.count())
            share = frame.count() / (frame.count() - 3)
            return frame.withColumn("share", frame.id * share)
        """,
    "models/off_contract.py": """\
        def model(dbt, session):
            return session.range(3).withColumnRenamed("id", "number")
        """,
    "models/_models.yml": """\
        version: 2
        models:
          - name: off_contract
            description: Returns `number` (bigint), the contract says `id` (int).
            config:
              meta:
                enforce_contract: true
            columns:
              - name: id
                data_type: int
                description: A number.
        """,
}


@pytest.fixture(scope="module")
def failing_run(
    clusters_build: LakeBuild,
    spark_lake: SparkLake,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """`dbt run` of a small project whose two Python models fail: one raises,
    one breaks its contract. Returns each model's message as dbt reports it,
    and dbt's log file."""
    project_dir = tmp_path_factory.mktemp("python_model_errors")
    for name, text in FAILING_PROJECT_FILES.items():
        path = project_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    shutil.copy(PROJECT_DIR / "profiles.yml", project_dir / "profiles.yml")
    project = DbtProject(
        target="local",
        env={"RETAIL_LAKE_DIR": str(spark_lake.root), "RETAIL_SCHEMA": "errors"},
        project_dir=project_dir,
        target_path=project_dir / "target",
    )
    outcome = project.invoke("run")
    assert not outcome.success
    messages = {
        result.node.name: str(result.message) for result in outcome.result.results
    }
    messages["dbt.log"] = (project_dir / "logs" / "dbt.log").read_text(encoding="utf-8")
    return messages


def test_dbt_shows_the_failing_models_traceback(failing_run: dict[str, str]) -> None:
    message = failing_run["divide"]
    assert 'File "models/divide.py", line 4, in model' in message
    assert "share = frame.count() / (frame.count() - 3)" in message
    assert "ZeroDivisionError: division by zero" in message
    log = failing_run["dbt.log"]
    assert 'File "models/divide.py", line 4, in model' in log
    # What the model printed before it failed, with the model's name.
    assert "divide: rows: 3" in log


def test_dbt_refuses_a_python_model_off_its_contract(
    failing_run: dict[str, str], spark: Any
) -> None:
    message = failing_run["off_contract"]
    assert "enforced contract failed" in message
    assert "errors.off_contract was not written" in message
    assert "number | bigint        | -             | not in the contract" in message
    assert (
        "id     | -             | int           | missing in the DataFrame" in message
    )
    assert not spark.catalog.tableExists("errors.off_contract")
