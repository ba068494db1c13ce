"""How a dbt Python model reaches open-source Spark: the submission methods.

dbt calls ``helper(parsed_model, credentials).submit(compiled_code)`` for each
Python model; the method comes from the model's `submission_method` config,
else from the target (see SparkOssAdapter.default_python_submission_method).

- ``session``: the model runs in the dbt process on the SparkSession that
  dbt-spark's `method: session` connection uses (local Spark, or dbt running
  on a cluster's primary node, e.g. an EMR step).
- ``spark_connect``: the model's DataFrames run on a Spark Connect server
  (``connect_url``), normally the plugin inside the Thrift server the SQL
  goes to, so both see one catalog.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.spark_oss.connections import SparkOssCredentials
from dbt.adapters.spark_oss.model_code import ModelRun, run_model_code
from dbt.adapters.spark_oss.spark_connect import ConnectEndpoint, connect_session
from dbt_common.exceptions import DbtRuntimeError

logger = AdapterLogger("spark_oss")

SESSION = "session"
SPARK_CONNECT = "spark_connect"


class OssPythonJobHelper(PythonJobHelper):
    method = ""

    def __init__(
        self, parsed_model: Mapping[str, Any], credentials: SparkOssCredentials
    ) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    @property
    def model_name(self) -> str:
        return str(self.parsed_model.get("alias") or self.parsed_model.get("name"))

    def submit(self, compiled_code: str) -> ModelRun:
        raise NotImplementedError


class SessionPythonJobHelper(OssPythonJobHelper):
    """In-process: the session connection's own SparkSession."""

    method = SESSION

    def session(self) -> Any:
        if not self.credentials.runs_in_process:
            raise DbtRuntimeError(
                f"Python model {self.model_name}: submission_method 'session' "
                "needs a target with `method: session`; this target connects "
                f"with `method: {self.credentials.method}`, so a session here "
                "would be a separate Spark with its own catalog. Use "
                f"'{SPARK_CONNECT}' with connect_url."
            )
        from pyspark.sql import SparkSession

        # The same builder dbt-spark's session cursor uses: it returns the
        # session its SQL runs on (or starts it, if no SQL ran yet).
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in self.credentials.server_side_parameters.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def submit(self, compiled_code: str) -> ModelRun:
        run = run_model_code(compiled_code, self.parsed_model, self.session(), SESSION)
        logger.debug(f"{self.model_name}: ran in-process in {run.seconds:.1f} s")
        return run


class SparkConnectPythonJobHelper(OssPythonJobHelper):
    """Remote: a Spark Connect session on `connect_url`."""

    method = SPARK_CONNECT

    def submit(self, compiled_code: str) -> ModelRun:
        endpoint = ConnectEndpoint.parse(
            self.parsed_model.get("config", {}).get("connect_url")
            or self.credentials.connect_url
        )
        endpoint.probe(self.credentials.connect_probe_seconds)
        started = time.monotonic()
        with connect_session(endpoint) as session:
            logger.debug(
                f"{self.model_name}: Spark Connect session to {endpoint.url} "
                f"in {time.monotonic() - started:.1f} s"
            )
            return run_model_code(
                compiled_code, self.parsed_model, session, SPARK_CONNECT
            )


HELPERS: dict[str, type[OssPythonJobHelper]] = {
    SESSION: SessionPythonJobHelper,
    SPARK_CONNECT: SparkConnectPythonJobHelper,
}
