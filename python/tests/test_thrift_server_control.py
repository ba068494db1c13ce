"""`retail-rfm thrift start|stop|status`: what a user sees when it works and
when it cannot, with real servers, real ports and a real JVM failing."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LakeBuild, SparkLake, ThriftLake, free_ports

from retail_rfm.cli import EXIT_THRIFT_ERROR, main
from retail_rfm.thrift_server import ServerSettings, running_server


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["thrift", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_status_of_a_running_server(
    thrift_lake: ThriftLake, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "status", "--lake-dir", str(thrift_lake.root))
    assert code == 0
    settings = thrift_lake.settings
    assert f"Thrift 127.0.0.1:{settings.port}" in out
    assert f"sc://127.0.0.1:{settings.connect_port}" in out
    assert "answering: Thrift and Spark Connect" in out
    assert str(settings.log_file) in out


def test_second_start_on_the_same_lake_is_refused(
    thrift_lake: ThriftLake, capsys: pytest.CaptureFixture[str]
) -> None:
    before = running_server(thrift_lake.settings)
    assert before is not None
    other_port, other_connect_port = free_ports(2)
    code, _, err = run_cli(
        capsys,
        "start",
        "--lake-dir",
        str(thrift_lake.root),
        "--port",
        str(other_port),
        "--connect-port",
        str(other_connect_port),
    )
    assert code == EXIT_THRIFT_ERROR
    assert "a Thrift server is already running on this lake" in err
    assert f"pid {before.pid}" in err
    assert "retail-rfm thrift stop" in err
    # The running server is untouched.
    assert running_server(thrift_lake.settings) == before


@pytest.mark.parametrize("which", ["--port", "--connect-port"])
def test_start_on_a_port_in_use_is_refused(
    which: str,
    listening_port: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ports = dict(zip(["--port", "--connect-port"], free_ports(2), strict=True))
    ports[which] = listening_port
    code, _, err = run_cli(
        capsys,
        "start",
        "--lake-dir",
        str(tmp_path),
        *[part for option, port in ports.items() for part in (option, str(port))],
    )
    assert code == EXIT_THRIFT_ERROR
    name = "Thrift" if which == "--port" else "Spark Connect"
    assert f"port {listening_port} on 127.0.0.1 ({name}) is in use" in err
    assert which in err  # says how to choose another
    # Nothing was started: no pid file, no log.
    assert not (tmp_path / "thrift").exists()


def test_server_that_dies_while_starting_shows_its_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real JVM that refuses to start (an impossible heap size)."""
    port, connect_port = free_ports(2)
    code, _, err = run_cli(
        capsys,
        "start",
        "--lake-dir",
        str(tmp_path),
        "--port",
        str(port),
        "--connect-port",
        str(connect_port),
        "--driver-memory",
        "lots",
    )
    assert code == EXIT_THRIFT_ERROR
    assert "the Thrift server exited while starting (exit code 1)" in err
    assert "Likely cause: Java refused the JVM options" in err
    assert f"Last lines of {tmp_path / 'thrift' / 'thriftserver.log'}" in err
    assert "Invalid maximum heap size: -Xmxlots" in err  # Java's own words
    settings = ServerSettings(lake_dir=tmp_path)
    assert not settings.pid_file.exists()
    code, out, _ = run_cli(capsys, "status", "--lake-dir", str(tmp_path))
    assert code == 1
    assert "no Thrift server is running" in out


def test_server_on_a_metastore_in_use_dies_and_says_why(
    spark_lake: SparkLake,
    full_build: LakeBuild,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Derby admits one JVM per metastore: this pytest process's own Spark
    (the `local` target of full_build) holds spark_lake's. A server started
    on that lake gets as far as opening the metastore, and exits."""
    port, connect_port = free_ports(2)
    code, _, err = run_cli(
        capsys,
        "start",
        "--lake-dir",
        str(spark_lake.root),
        "--port",
        str(port),
        "--connect-port",
        str(connect_port),
        "--driver-memory",
        "1g",
    )
    assert code == EXIT_THRIFT_ERROR
    assert "the Thrift server exited while starting" in err
    assert "Likely cause: the lake's Derby metastore is open in another JVM" in err
    assert "Another instance of Derby may have already booted the database" in err
    assert running_server(ServerSettings(lake_dir=spark_lake.root)) is None
    # The session target's Spark still works.
    [row] = full_build.query("select count(*) as n from {{ ref('rfm_segments') }}")
    assert row == {"n": 11}


def test_stale_pid_file_is_cleared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server killed hard leaves its pid file behind: status and stop say
    it is not running, and remove the file."""
    settings = ServerSettings(lake_dir=tmp_path)
    settings.state_dir.mkdir(parents=True)
    dead_pid = 2**22 + 1  # above the largest pid Linux allows: never alive
    settings.pid_file.write_text(
        json.dumps(
            {
                "pid": dead_pid,
                "port": 10000,
                "connect_port": 15002,
                "log_file": str(settings.log_file),
                "lake_dir": str(tmp_path),
                "started_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    code, out, _ = run_cli(capsys, "status", "--lake-dir", str(tmp_path))
    assert (code, out.strip()) == (1, f"no Thrift server is running on lake {tmp_path}")
    assert not settings.pid_file.exists()
    code, out, _ = run_cli(capsys, "stop", "--lake-dir", str(tmp_path))
    assert code == 0
    assert "nothing to stop" in out
