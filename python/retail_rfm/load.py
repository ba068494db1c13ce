"""Load the dataset into the raw table: find it, read it, check it, write it."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from retail_rfm import paths
from retail_rfm.errors import LoadError
from retail_rfm.fetch import fetch_dataset, sha256_file
from retail_rfm.raw_table import build_raw_table, write_raw_table
from retail_rfm.source_files import read_source
from retail_rfm.validate import validate

log = logging.getLogger(__name__)

PATH_ENV = "ONLINE_RETAIL_PATH"


@dataclass(frozen=True)
class LoadResult:
    source: Path
    rows: int
    raw_location: paths.RawLocation
    seconds: float
    sha256: str


def resolve_source(path: Path | None) -> Path:
    """The file to load: ``path``, else $ONLINE_RETAIL_PATH, else a download."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(PATH_ENV, "").strip()
    if from_env:
        log.info("using %s=%s", PATH_ENV, from_env)
        return Path(from_env)
    log.info("no path given and %s unset: downloading the dataset", PATH_ENV)
    return fetch_dataset()


def load_dataset(
    path: Path | None, raw_location: paths.RawLocation | None = None
) -> LoadResult:
    """Replace the raw table with the rows of the dataset file.

    Nothing is written unless the whole file reads and validates: on
    LoadError the previous raw table is left as it was.
    """
    started = time.perf_counter()
    source_path = resolve_source(path)
    location = (
        paths.raw_location()
        if raw_location is None
        else paths.parse_raw_location(raw_location)
    )

    source = read_source(source_path)
    validate(source)
    try:
        digest = sha256_file(source_path)
    except OSError as exc:
        raise LoadError(f"{source_path}: cannot be read ({exc})") from exc

    loaded_at = datetime.now(UTC)
    table = build_raw_table(source, loaded_at)
    manifest: dict[str, object] = {
        "file": source_path.name,
        "path": str(source_path.absolute()),
        "format": source.kind,
        "sha256": digest,
        "rows": source.rows,
        "loaded_at": loaded_at.isoformat(timespec="microseconds").replace(
            "+00:00", "Z"
        ),
    }
    try:
        write_raw_table(table, location, manifest)
    except OSError as exc:
        raise LoadError(f"cannot write the raw table to {location}: {exc}") from exc

    seconds = time.perf_counter() - started
    log.info(
        "loaded %d rows from %s into %s in %.2f s",
        source.rows,
        source_path,
        location,
        seconds,
    )
    return LoadResult(source_path, source.rows, location, seconds, digest)
