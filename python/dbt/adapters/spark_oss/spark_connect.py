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

from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

logger = AdapterLogger("spark_oss")

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
    use_ssl: bool = False

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
        params = dict(
            item.split("=", 1) for item in parts.path.split(";")[1:] if "=" in item
        )
        use_ssl = params.get("use_ssl", "").lower() == "true"
        return cls(url=url, host=parts.hostname, port=port, use_ssl=use_ssl)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def probe(self, timeout_seconds: float) -> None:
        """Fail within about `timeout_seconds` when no gRPC server answers at
        the address: nothing listens, the network drops the packets, or what
        listens does not speak HTTP/2.

        The Connect client would otherwise retry an unreachable server with
        growing back-off for minutes before giving up.
        """
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout_seconds):
                pass
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise self._unreachable(reason, started) from exc

        import grpc

        channel = (
            grpc.secure_channel(self.address, grpc.ssl_channel_credentials())
            if self.use_ssl
            else grpc.insecure_channel(self.address)
        )
        try:
            remaining = max(timeout_seconds - (time.monotonic() - started), 0.1)
            grpc.channel_ready_future(channel).result(timeout=remaining)
        except grpc.FutureTimeoutError as exc:
            raise self._unreachable(
                "it accepts TCP connections but no gRPC (HTTP/2) session came up",
                started,
            ) from exc
        finally:
            channel.close()

    def _unreachable(self, reason: str, started: float) -> ConnectEndpointError:
        return ConnectEndpointError(
            f"Spark Connect server {self.url} is not reachable: no connection "
            f"to {self.address} ({reason}, after "
            f"{time.monotonic() - started:.1f} s). Is the Thrift server running "
            f"with --conf spark.plugins={CONNECT_PLUGIN} and "
            f"spark.connect.grpc.binding.port={self.port}?"
        )


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
            _check_answers(session, endpoint)
            yield session
        finally:
            session.stop()
    finally:
        if saved is None:
            os.environ.pop(CONNECT_MODE_VARIABLE, None)
        else:
            os.environ[CONNECT_MODE_VARIABLE] = saved


def _check_answers(session: Any, endpoint: ConnectEndpoint) -> None:
    """One cheap request, so that a server that is not Spark Connect is
    reported as such, naming the address, before the model runs."""
    try:
        version = session.version
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConnectEndpointError(
            f"{endpoint.url} ({endpoint.address}) answered, but not as a Spark "
            f"Connect server: {type(exc).__name__}: {first_line}"
        ) from exc
    logger.debug(f"Spark Connect server {endpoint.url}: Spark {version}")


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
