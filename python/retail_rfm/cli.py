"""Command line: ``retail-rfm <command> ...`` (also ``python -m retail_rfm``).

Each command is a function that adds its subparser and sets ``handler`` to a
function taking the parsed arguments and returning the exit code. Add a
command by writing such a function and listing it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from retail_rfm.errors import LoadError, ThriftServerError
from retail_rfm.load import load_dataset
from retail_rfm.main_job import (
    add_report_command,
    add_run_command,
    add_summary_command,
)
from retail_rfm.pr_check import add_pr_check_command, add_save_state_command
from retail_rfm.thrift_command import add_thrift_command

EXIT_OK = 0
EXIT_LOAD_ERROR = 2
EXIT_THRIFT_ERROR = 3
EXIT_INTERRUPTED = 130


def _run_load(args: argparse.Namespace) -> int:
    result = load_dataset(args.path, args.raw_location)
    sys.stdout.write(
        f"loaded {result.rows} rows from {result.source} into "
        f"{result.raw_location} in {result.seconds:.1f} s\n"
    )
    return EXIT_OK


def add_load_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load",
        help="load the Online Retail dataset into the raw Parquet table",
        description=(
            "Read the dataset (.zip, .xlsx, .csv or .csv.gz), check every value "
            "and replace the raw table with it. Without --path: "
            "$ONLINE_RETAIL_PATH, else download the UCI zip into a cache."
        ),
    )
    parser.add_argument("--path", type=Path, help="the dataset file to load")
    parser.add_argument(
        "--raw-location",
        help="the raw table: a folder or an S3 prefix s3://bucket/prefix "
        "(default: $RETAIL_RAW_LOCATION, else "
        "$RETAIL_LAKE_DIR/raw/online_retail/invoice_lines)",
    )
    parser.set_defaults(handler=_run_load)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_load_command,
    add_run_command,
    add_summary_command,
    add_report_command,
    add_save_state_command,
    add_pr_check_command,
    add_thrift_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retail-rfm",
        description="Online Retail invoice lines to RFM customer segments.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug messages too"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def configure_logging(verbose: bool) -> None:
    """Log to stderr; a no-op when the caller (or pytest) set up logging."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # py4j logs every closed gateway connection at INFO: one line per query.
    logging.getLogger("py4j").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.handler(args)
    except LoadError as exc:
        sys.stderr.write(f"retail-rfm {args.command}: error: {exc}\n")
        return EXIT_LOAD_ERROR
    except ThriftServerError as exc:
        sys.stderr.write(f"retail-rfm {args.command}: error: {exc}\n")
        return EXIT_THRIFT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(f"retail-rfm {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
