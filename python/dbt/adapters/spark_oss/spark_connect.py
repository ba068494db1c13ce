"""The Spark Connect endpoint Python models use next to a Thrift server.

A Thrift server started with
``--conf spark.plugins=org.apache.spark.sql.connect.SparkConnectPlugin``
serves Spark Connect from the same Spark application: same SparkContext, same
catalog. dbt's SQL goes over HiveServer2, the Python model's DataFrames over
Connect, and both see the same tables.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dbt_common.exceptions import DbtRuntimeError

DEFAULT_PORT = 15002
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"

# pyspark.ml takes its Spark Connect code path only while this variable is
# set; it is process-wide (see connect_session).
CONNECT_MODE_VARIABLE = "SPARK_CONNECT_MODE_ENABLED"


class ConnectEndpointError(DbtRuntimeError):
    """The Spark Connect endpoint is missing, malformed or unreachable."""


@dataclass(frozen=True)
class ConnectEndpoint:
    url: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str | None) -> ConnectEndpoint:
        if not url:
            raise ConnectEndpointError(
                "Python models on this target run through Spark Connect, but "
                "the profile target has no connect_url. Add "
                "`connect_url: sc://<host>:15002` (the Thrift server started "
                f"with --conf spark.plugins={CONNECT_PLUGIN}), or use "
                "`method: session`."
            )
        parts = urlsplit(url)
        if parts.scheme != "sc" or not parts.hostname:
            raise ConnectEndpointError(
                f"connect_url {url!r} is not a Spark Connect URL: expected "
                "sc://<host>[:<port>][/;<param>=<value>...]"
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise ConnectEndpointError(f"connect_url {url!r}: {exc}") from exc
        return cls(url=url, host=parts.hostname, port=port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def probe(self, timeout_seconds: float) -> None:
        """Fail within `timeout_seconds` when nothing listens at the address.

        The Connect client would otherwise retry an unreachable server with
        growing back-off for minutes before giving up.
        """
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout_seconds):
                pass
        except OSError as exc:
            waited = time.monotonic() - started
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise ConnectEndpointError(
                f"Spark Connect server {self.url} is not reachable: no "
                f"connection to {self.address} ({reason}, after {waited:.1f} s). "
                "Is the Thrift server running with "
                f"--conf spark.plugins={CONNECT_PLUGIN} and "
                f"spark.connect.grpc.binding.port={self.port}?"
            ) from exc


@contextmanager
def connect_session(endpoint: ConnectEndpoint) -> Iterator[Any]:
    """A new Spark Connect session for one model run, stopped afterwards.

    pyspark.ml decides between its classic and its Connect code path on a
    process-wide environment variable rather than on the DataFrame it is
    given; it is set for the run and restored after. A classic pyspark.ml call
    made by another thread of the same process during that time would take
    the Connect path: dbt on a Thrift target has no classic session, so this
    only matters to a process that mixes both (tests).
    """
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    saved = os.environ.get(CONNECT_MODE_VARIABLE)
    os.environ[CONNECT_MODE_VARIABLE] = "1"
    try:
        session = ConnectSession.builder.remote(endpoint.url).create()
        try:
            yield session
        finally:
            session.stop()
    finally:
        if saved is None:
            os.environ.pop(CONNECT_MODE_VARIABLE, None)
        else:
            os.environ[CONNECT_MODE_VARIABLE] = saved


def connect_plugin_conf(
    port: int = DEFAULT_PORT, host: str = "127.0.0.1"
) -> dict[str, str]:
    """The Spark settings that serve Spark Connect from a Thrift server's
    application (pass each as ``--conf key=value`` to its launcher)."""
    return {
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": host,
        "spark.connect.grpc.binding.port": str(port),
        # Fail when the port is taken, rather than serve on the next one,
        # where the profile's connect_url would not find it.
        "spark.connect.grpc.port.maxRetries": "0",
    }
