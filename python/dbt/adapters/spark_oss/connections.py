"""Profile fields and connections of the spark_oss adapter.

SQL connections are dbt-spark's, unchanged (session, thrift, http, odbc). The
profile gains the Spark Connect endpoint that Python models use when SQL goes
over a Thrift server.
"""

from dataclasses import dataclass
from typing import Optional

from dbt.adapters.spark.connections import (
    SparkConnectionManager,
    SparkConnectionMethod,
    SparkCredentials,
)

ADAPTER_TYPE = "spark_oss"


@dataclass
class SparkOssCredentials(SparkCredentials):
    """dbt-spark's profile fields, plus:

    connect_url: the Spark Connect endpoint (``sc://host:port``) Python models
        run through when ``method`` is not ``session``; SQL still goes over
        the Thrift (or http/odbc) connection.
    connect_probe_seconds: how long to wait for a TCP connection to that
        endpoint before the model fails, naming the address it tried.
    """

    # Optional[...] rather than `str | None`: dbt builds the profile's JSON
    # schema from these annotations.
    connect_url: Optional[str] = None  # noqa: UP045
    connect_probe_seconds: float = 5.0

    @property
    def type(self) -> str:
        return ADAPTER_TYPE

    @property
    def runs_in_process(self) -> bool:
        """True when dbt itself holds the SparkSession (method: session)."""
        return self.method == SparkConnectionMethod.SESSION

    def _connection_keys(self) -> tuple[str, ...]:
        return (*super()._connection_keys(), "connect_url", "connect_probe_seconds")


class SparkOssConnectionManager(SparkConnectionManager):
    TYPE = ADAPTER_TYPE
