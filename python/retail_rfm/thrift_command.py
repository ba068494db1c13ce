"""``retail-rfm thrift start|stop|status``: the local Spark Thrift server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from retail_rfm import thrift_server
from retail_rfm.thrift_server import ServerSettings

EXIT_OK = 0
EXIT_NOT_RUNNING = 1


def _settings(args: argparse.Namespace) -> ServerSettings:
    return ServerSettings.from_env().with_overrides(
        lake_dir=args.lake_dir.expanduser().resolve() if args.lake_dir else None,
        port=getattr(args, "port", None),
        connect_port=getattr(args, "connect_port", None),
        driver_memory=getattr(args, "driver_memory", None),
    )


def _start(args: argparse.Namespace) -> int:
    settings = _settings(args)
    state = thrift_server.start(settings, timeout=args.timeout)
    sys.stdout.write(
        f"Spark Thrift server running: pid {state.pid}\n"
        f"  Thrift (dbt --target thrift): {thrift_server.BIND_HOST}:{state.port}\n"
        f"  Spark Connect: sc://{thrift_server.BIND_HOST}:{state.connect_port}\n"
        f"  lake: {state.lake_dir}\n"
        f"  log:  {state.log_file}\n"
        "Stop it with: retail-rfm thrift stop\n"
    )
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if thrift_server.stop(settings, timeout=args.timeout):
        sys.stdout.write(f"Spark Thrift server on lake {settings.lake_dir} stopped\n")
    else:
        sys.stdout.write(
            f"no Thrift server is running on lake {settings.lake_dir}: "
            "nothing to stop\n"
        )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    sys.stdout.write(thrift_server.status(settings) + "\n")
    running = thrift_server.running_server(settings) is not None
    return EXIT_OK if running else EXIT_NOT_RUNNING


def add_thrift_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "thrift",
        help="start, stop or check the local Spark Thrift server",
        description=(
            "A local Spark Thrift server (the one EMR runs) on this project's "
            "lake ($RETAIL_LAKE_DIR), listening on 127.0.0.1, with Spark "
            "Connect in the same application. dbt reaches it with "
            "--target thrift. See docs/thrift.md."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def lake_option(action: argparse.ArgumentParser) -> None:
        action.add_argument(
            "--lake-dir",
            type=Path,
            help="the lake folder (default: $RETAIL_LAKE_DIR, else ./.lake)",
        )

    start = actions.add_parser(
        "start", help="start the server and wait until it answers"
    )
    lake_option(start)
    start.add_argument(
        "--port",
        type=int,
        help=f"the Thrift port (default: ${thrift_server.THRIFT_PORT_ENV}, "
        f"else {thrift_server.DEFAULT_THRIFT_PORT})",
    )
    start.add_argument(
        "--connect-port",
        type=int,
        help=f"the Spark Connect port (default: ${thrift_server.CONNECT_PORT_ENV}, "
        f"else {thrift_server.DEFAULT_CONNECT_PORT})",
    )
    start.add_argument(
        "--driver-memory",
        help=f"the JVM heap (default: ${thrift_server.DRIVER_MEMORY_ENV}, "
        f"else {thrift_server.DEFAULT_DRIVER_MEMORY})",
    )
    start.add_argument(
        "--timeout",
        type=float,
        default=thrift_server.DEFAULT_START_TIMEOUT,
        help="seconds to wait for the server to answer (default: %(default).0f)",
    )
    start.set_defaults(handler=_start)

    stop = actions.add_parser("stop", help="stop the server of this lake")
    lake_option(stop)
    stop.add_argument(
        "--timeout",
        type=float,
        default=thrift_server.DEFAULT_STOP_TIMEOUT,
        help="seconds to wait for a clean stop before killing it "
        "(default: %(default).0f)",
    )
    stop.set_defaults(handler=_stop)

    status = actions.add_parser(
        "status", help="say whether the server runs (exit 0) or not (exit 1)"
    )
    lake_option(status)
    status.set_defaults(handler=_status)
