"""Start, check and stop a local Spark Thrift server on the project's lake.

The server is the one EMR runs (Spark's HiveThriftServer2), started from the
jars that come with pyspark through pyspark's own ``bin/spark-submit``. It
serves the lake of ``$RETAIL_LAKE_DIR`` with the same layout as the `local`
dbt target (``warehouse/``, the Derby ``metastore_db/``, ``raw/``), so dbt's
`thrift` target builds the same tables through JDBC/Thrift instead of an
in-process Spark. The same Spark application also runs the Spark Connect
plugin, so Python clients can reach the tables the Thrift port created.

Both ports listen on 127.0.0.1 only. Files, all under ``<lake>/thrift/``:

    thriftserver.log   everything the server prints (Spark's log)
    thriftserver.pid   JSON: the process id, ports, log and start time

Derby admits one JVM per metastore folder: while this server runs, no other
Spark (the `local` dbt target, another server) may use the same lake.

Known shortcoming: if the process that started the server is killed hard
(SIGKILL) before it calls ``stop``, the server keeps running; ``retail-rfm
thrift stop`` with the same lake folder stops it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from dbt.adapters.spark_oss.spark_connect import connect_plugin_conf

from retail_rfm import paths
from retail_rfm.errors import ThriftServerError

log = logging.getLogger(__name__)

SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
APP_NAME = "retail-rfm-thrift"
BIND_HOST = "127.0.0.1"

THRIFT_PORT_ENV = "RETAIL_THRIFT_PORT"
CONNECT_PORT_ENV = "RETAIL_CONNECT_PORT"
DRIVER_MEMORY_ENV = "RETAIL_THRIFT_DRIVER_MEMORY"
DEFAULT_THRIFT_PORT = 10000
DEFAULT_CONNECT_PORT = 15002
DEFAULT_DRIVER_MEMORY = "4g"
DEFAULT_START_TIMEOUT = 300.0
DEFAULT_STOP_TIMEOUT = 60.0
LOG_TAIL_LINES = 20

# Lines of a start-up log that point at a cause a user can fix.
KNOWN_CAUSES = {
    "Another instance of Derby may have already booted": (
        "the lake's Derby metastore is open in another JVM (a dbt `local` "
        "build, a notebook or another server on the same lake): Derby admits "
        "one JVM per metastore folder; stop it or use another RETAIL_LAKE_DIR"
    ),
    "Address already in use": (
        "a port was taken while the server started: choose other ports "
        f"(--port/--connect-port or {THRIFT_PORT_ENV}/{CONNECT_PORT_ENV})"
    ),
    "Could not create the Java Virtual Machine": (
        "Java refused the JVM options; check --driver-memory "
        f"(or {DRIVER_MEMORY_ENV}), e.g. 4g"
    ),
    "JAVA_HOME is not set": "Spark needs Java 17: install it or set JAVA_HOME",
}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ThriftServerError(f"{name}={value} is not a port number") from None


@dataclass(frozen=True)
class ServerSettings:
    """Where the server keeps its files and where it listens."""

    lake_dir: Path
    port: int = DEFAULT_THRIFT_PORT
    connect_port: int = DEFAULT_CONNECT_PORT
    driver_memory: str = DEFAULT_DRIVER_MEMORY
    extra_conf: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> ServerSettings:
        """$RETAIL_LAKE_DIR, $RETAIL_THRIFT_PORT, $RETAIL_CONNECT_PORT and
        $RETAIL_THRIFT_DRIVER_MEMORY, each with its default."""
        return cls(
            lake_dir=paths.lake_dir(),
            port=_env_int(THRIFT_PORT_ENV, DEFAULT_THRIFT_PORT),
            connect_port=_env_int(CONNECT_PORT_ENV, DEFAULT_CONNECT_PORT),
            driver_memory=os.environ.get(DRIVER_MEMORY_ENV, "").strip()
            or DEFAULT_DRIVER_MEMORY,
        )

    def with_overrides(self, **values: object) -> ServerSettings:
        """A copy with the values that are not None replaced."""
        given = {key: value for key, value in values.items() if value is not None}
        return replace(self, **given)  # type: ignore[arg-type]

    @property
    def state_dir(self) -> Path:
        return self.lake_dir / "thrift"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "thriftserver.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "thriftserver.pid"

    @property
    def warehouse_dir(self) -> Path:
        return self.lake_dir / "warehouse"

    @property
    def metastore_dir(self) -> Path:
        return self.lake_dir / "metastore_db"


@dataclass(frozen=True)
class ServerState:
    """What the pid file records about a started server."""

    pid: int
    port: int
    connect_port: int
    log_file: str
    lake_dir: str
    started_at: str

    def describe(self) -> str:
        return (
            f"pid {self.pid}, Thrift {BIND_HOST}:{self.port}, Spark Connect "
            f"sc://{BIND_HOST}:{self.connect_port}, lake {self.lake_dir}, "
            f"log {self.log_file}"
        )


# --- the command line Spark is started with ----------------------------------


def spark_home() -> Path:
    """pyspark's package folder: it holds bin/spark-submit and jars/."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def spark_conf(settings: ServerSettings) -> dict[str, str]:
    """The Spark settings of the server; the `local` dbt target uses the same
    ones (profiles.yml), so both targets compute the same way."""
    lake = settings.lake_dir
    conf = {
        "spark.ui.enabled": "false",
        "spark.driver.host": BIND_HOST,
        "spark.driver.bindAddress": BIND_HOST,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.adaptive.enabled": "true",
        # dbt-spark turns ANSI mode off on its own sessions; Spark Connect
        # sessions (Python models) get the same default here.
        "spark.sql.ansi.enabled": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(settings.warehouse_dir),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={settings.metastore_dir};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={lake}",
        # Spark Connect in the same application, for Python models: the
        # settings the spark_oss adapter documents for any Thrift server.
        **connect_plugin_conf(settings.connect_port, BIND_HOST),
    }
    conf.update(settings.extra_conf)
    return conf


def server_command(settings: ServerSettings) -> list[str]:
    """spark-submit of HiveThriftServer2; `spark-internal` is spark-submit's
    name for "no application jar: the class is on Spark's own classpath"."""
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--name",
        APP_NAME,
        "--master",
        "local[2]",
        "--driver-memory",
        settings.driver_memory,
    ]
    for key, value in spark_conf(settings).items():
        command += ["--conf", f"{key}={value}"]
    command += [
        "--hiveconf",
        f"hive.server2.thrift.bind.host={BIND_HOST}",
        "--hiveconf",
        f"hive.server2.thrift.port={settings.port}",
        "--hiveconf",
        "hive.server2.transport.mode=binary",
        "spark-internal",
    ]
    return command


# --- processes, ports and the pid file ---------------------------------------


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that exited but was not reaped yet is a zombie: not alive.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_our_server(pid: int, settings: ServerSettings) -> bool:
    """The process runs HiveThriftServer2 on this lake (not a reused pid)."""
    if not _process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc (not Linux): trust the live pid
    return SERVER_CLASS in cmdline and str(settings.warehouse_dir) in cmdline


def port_in_use(port: int, host: str = BIND_HOST) -> bool:
    """True when something listens on host:port (binding it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def accepts_connections(port: int, host: str = BIND_HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def read_state(settings: ServerSettings) -> ServerState | None:
    """The pid file's record, or None when there is none (or it is garbage)."""
    try:
        return ServerState(**json.loads(settings.pid_file.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        log.warning("ignoring unreadable pid file %s: %s", settings.pid_file, exc)
        return None


def running_server(settings: ServerSettings) -> ServerState | None:
    """The server of this lake when it is running; removes a stale pid file."""
    state = read_state(settings)
    if state is None:
        settings.pid_file.unlink(missing_ok=True)
        return None
    if _is_our_server(state.pid, settings):
        return state
    log.info(
        "removing stale pid file %s (process %d is gone)",
        settings.pid_file,
        state.pid,
    )
    settings.pid_file.unlink(missing_ok=True)
    return None


def log_since(path: Path, offset: int) -> str:
    """The log's text written after byte `offset` (this start's part)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"


def _startup_failure(
    settings: ServerSettings, offset: int, what: str
) -> ThriftServerError:
    """The error for a server that did not come up: the likely cause when the
    log names one, the lines that name it, and the end of the log."""
    lines = log_since(settings.log_file, offset).splitlines()
    causes = [
        cause
        for marker, cause in KNOWN_CAUSES.items()
        if any(marker in line for line in lines)
    ]
    telling = [
        line for line in lines if any(marker in line for marker in KNOWN_CAUSES)
    ][:3]
    parts = [what]
    parts += [f"Likely cause: {cause}." for cause in causes]
    if telling:
        parts.append("The log says:\n" + "\n".join(telling))
    parts.append(
        f"Last lines of {settings.log_file}:\n" + "\n".join(lines[-LOG_TAIL_LINES:])
    )
    return ThriftServerError("\n".join(parts))


def _answers_sql(port: int) -> bool:
    """A Thrift session opens and `select 1` returns 1 (not just a port)."""
    from pyhive import hive

    # PyHive logs every statement at INFO: keep the start-up probe quiet.
    logging.getLogger("pyhive").setLevel(logging.WARNING)
    try:
        connection = hive.connect(host=BIND_HOST, port=port, username="retail-rfm")
        try:
            cursor = connection.cursor()
            cursor.execute("select 1")
            return cursor.fetchall() == [(1,)]
        finally:
            connection.close()
    except Exception as exc:  # Thrift raises many types while starting up
        log.debug("Thrift port %d does not answer SQL yet: %s", port, exc)
        return False


# --- the three commands -------------------------------------------------------


def start(
    settings: ServerSettings, timeout: float = DEFAULT_START_TIMEOUT
) -> ServerState:
    """Start the server and return once both ports answer.

    Raises ThriftServerError, with what to do, when a server already runs on
    this lake, when a port is in use, when the server exits while starting
    (with the last lines of its log), or when it is not up within `timeout`
    seconds (it is then stopped).
    """
    running = running_server(settings)
    if running is not None:
        raise ThriftServerError(
            f"a Thrift server is already running on this lake: "
            f"{running.describe()}. Stop it first: retail-rfm thrift stop"
        )
    for name, port, knob in (
        ("Thrift", settings.port, f"--port or {THRIFT_PORT_ENV}"),
        (
            "Spark Connect",
            settings.connect_port,
            f"--connect-port or {CONNECT_PORT_ENV}",
        ),
    ):
        if port_in_use(port):
            raise ThriftServerError(
                f"port {port} on {BIND_HOST} ({name}) is in use by another "
                f"program; stop it or choose another port ({knob})"
            )
    if settings.port == settings.connect_port:
        raise ThriftServerError(
            f"the Thrift and Spark Connect ports are both {settings.port}; "
            "they must differ"
        )

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    command = server_command(settings)
    environment = {**os.environ, "SPARK_HOME": str(spark_home())}
    log.info(
        "starting the Spark Thrift server on %s:%d (Spark Connect %d), lake %s, log %s",
        BIND_HOST,
        settings.port,
        settings.connect_port,
        settings.lake_dir,
        settings.log_file,
    )
    started = time.monotonic()
    with settings.log_file.open("ab") as log_handle:
        offset = log_handle.tell()
        log_handle.write(
            f"--- retail-rfm thrift start {datetime.now(UTC).isoformat()}\n".encode()
        )
        log_handle.flush()
        # A session of its own: Ctrl-C in the starting shell does not reach it.
        process = subprocess.Popen(
            command,
            cwd=settings.state_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    state = ServerState(
        pid=process.pid,
        port=settings.port,
        connect_port=settings.connect_port,
        log_file=str(settings.log_file),
        lake_dir=str(settings.lake_dir),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    settings.pid_file.write_text(json.dumps(asdict(state), indent=2) + "\n")

    try:
        _wait_until_up(settings, process, offset, started + timeout, timeout)
    except BaseException:
        # Failed, timed out or interrupted (Ctrl-C): leave nothing running.
        if process.poll() is None:
            _terminate(process.pid, DEFAULT_STOP_TIMEOUT)
            process.wait()
        settings.pid_file.unlink(missing_ok=True)
        raise
    log.info(
        "Spark Thrift server up in %.1f s: %s",
        time.monotonic() - started,
        state.describe(),
    )
    return state


def _wait_until_up(
    settings: ServerSettings,
    process: subprocess.Popen[bytes],
    offset: int,
    deadline: float,
    timeout: float,
) -> None:
    """Return when both ports answer; raise when the server exits first or
    the deadline passes."""
    while True:
        code = process.poll()
        if code is not None:
            raise _startup_failure(
                settings,
                offset,
                f"the Thrift server exited while starting (exit code {code})",
            )
        if (
            accepts_connections(settings.port)
            and accepts_connections(settings.connect_port)
            and _answers_sql(settings.port)
        ):
            return
        if time.monotonic() > deadline:
            raise _startup_failure(
                settings,
                offset,
                f"the Thrift server did not answer within {timeout:.0f} s; "
                "it was stopped",
            )
        time.sleep(1)


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM (Spark shuts down cleanly), SIGKILL after `timeout` s.
    Returns True when the process had to be killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _process_alive(pid):
            return False
        time.sleep(0.2)
    log.warning("process %d did not stop within %.0f s: killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop(settings: ServerSettings, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop this lake's server; False when none was running."""
    state = running_server(settings)
    if state is None:
        return False
    started = time.monotonic()
    killed = _terminate(state.pid, timeout)
    # A child of this process (the test fixture) must be reaped to disappear.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(state.pid, 0)
    settings.pid_file.unlink(missing_ok=True)
    log.info(
        "Spark Thrift server pid %d %s in %.1f s",
        state.pid,
        "killed" if killed else "stopped",
        time.monotonic() - started,
    )
    return True


def status(settings: ServerSettings) -> str:
    """One line: running with pid and ports, or not running."""
    state = running_server(settings)
    if state is None:
        return f"no Thrift server is running on lake {settings.lake_dir}"
    answering = [
        name
        for name, port in (
            ("Thrift", state.port),
            ("Spark Connect", state.connect_port),
        )
        if accepts_connections(port)
    ]
    listening = " and ".join(answering) if answering else "no port yet (starting?)"
    return f"running: {state.describe()}; answering: {listening}"
