"""A Spark Thrift server with the Spark Connect plugin, for tests.

One Spark application serves SQL over HiveServer2 (dbt's `method: thrift`)
and DataFrames over Spark Connect (the spark_oss adapter's Python models),
on one catalog. The Connect side is switched on by the same settings any
Thrift server launcher passes: `connect_plugin_conf()` of the adapter.

Each server gets its own lake folder (Derby admits one JVM per metastore)
and free ports on 127.0.0.1, so it never meets another engineer's server.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pyspark
from dbt.adapters.spark_oss.spark_connect import connect_plugin_conf

log = logging.getLogger(__name__)

SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class ThriftConnectServer:
    lake: Path
    thrift_port: int
    connect_port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def connect_url(self) -> str:
        return f"sc://{HOST}:{self.connect_port}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server's process group (spark-submit and its JVM)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        log.info("Thrift + Connect server on %s stopped", self.lake)


def server_command(lake: Path, thrift_port: int, connect_port: int) -> list[str]:
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(lake / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={lake / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={lake}",
        **connect_plugin_conf(connect_port, HOST),
    }
    command = [
        str(Path(pyspark.__file__).parent / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--master",
        "local[2]",
        "--driver-memory",
        "1g",
    ]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [
        *command,
        "--hiveconf",
        f"hive.server2.thrift.bind.host={HOST}",
        "--hiveconf",
        f"hive.server2.thrift.port={thrift_port}",
        "spark-internal",
    ]


def start(lake: Path) -> ThriftConnectServer:
    """Start the server and wait until both ports accept connections."""
    lake.mkdir(parents=True, exist_ok=True)
    thrift_port, connect_port = free_port(), free_port()
    log_file = lake / "thrift-connect-server.log"
    started = time.monotonic()
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            server_command(lake, thrift_port, connect_port),
            cwd=lake,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ThriftConnectServer(lake, thrift_port, connect_port, process, log_file)
    while not (accepts(thrift_port) and accepts(connect_port)):
        if process.poll() is not None:
            raise RuntimeError(
                f"the Thrift + Connect server exited ({process.returncode}):\n"
                + server.log_tail()
            )
        if time.monotonic() - started > START_TIMEOUT_SECONDS:
            server.stop()
            raise RuntimeError(
                f"the Thrift + Connect server did not open ports {thrift_port} "
                f"and {connect_port} in {START_TIMEOUT_SECONDS:.0f} s:\n"
                + server.log_tail()
            )
        time.sleep(0.5)
    log.info(
        "Thrift server on %s:%d with Spark Connect on %s:%d, lake %s, up in %.1f s",
        HOST,
        thrift_port,
        HOST,
        connect_port,
        lake,
        time.monotonic() - started,
    )
    return server
