"""Write the raw table: one Parquet file plus a small load manifest.

Layout of the raw location (a local folder, or an S3 prefix)::

    part-00000.parquet   the invoice lines as strings, plus three load columns
    _load.json           which file was loaded, its sha256, rows, when

Spark skips files whose names start with ``_`` or ``.``, so the manifest and
the temp files never show up as data. Each file is written to a hidden temp
file in the same folder and then renamed over the final name: a load that
fails leaves the previous table as it was, and loading again replaces the
rows instead of adding to them.

On S3 (``s3://bucket/prefix``, through pyarrow.fs) there is no rename: each
file is serialised in memory first and then uploaded as one object, which
appears whole or not at all (S3 never shows a partial upload). Between the
upload of the new part file and the removal of an older one, a reader can
see both; this project only ever writes ``part-00000.parquet``, so that
happens only after a change of layout. Credentials and region come from the
usual AWS sources (environment, ~/.aws, the instance profile on EMR);
``AWS_ENDPOINT_URL`` points it at an S3-compatible server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail_rfm import paths
from retail_rfm.source_files import SourceData

log = logging.getLogger(__name__)

PART_NAME = "part-00000.parquet"
MANIFEST_NAME = "_load.json"
ROW_GROUP_ROWS = 128 * 1024

LOAD_COLUMNS = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_source_row_number", pa.int64()),
        ("_loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def build_raw_table(source: SourceData, loaded_at: datetime) -> pa.Table:
    """The source rows plus the file name, the 1-based row and the load time."""
    rows = source.rows
    row_numbers = pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), rows))
    extra = [
        pa.repeat(pa.scalar(source.path.name, pa.string()), rows),
        row_numbers,
        pa.repeat(pa.scalar(loaded_at, LOAD_COLUMNS.field("_loaded_at").type), rows),
    ]
    table = source.table
    for field, column in zip(LOAD_COLUMNS, extra, strict=True):
        table = table.append_column(field, column)
    return table


def _publish(directory: Path, name: str, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``name`` in ``directory`` all at once: temp file, fsync, rename."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    temp = directory / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        with temp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(final)  # os.replace: atomic on POSIX
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return final


def _remove_stale_parts(directory: Path, keep: Path) -> list[Path]:
    """Delete part-* files other than ``keep`` (left by an older layout)."""
    removed = []
    for path in sorted(directory.glob("part-*")):
        if path != keep and path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def _parquet_bytes(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=ROW_GROUP_ROWS)
    return sink.getvalue()


def _manifest_bytes(manifest: dict[str, object]) -> bytes:
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")


def write_raw_table_to_object_store(
    table: pa.Table, location: str, manifest: dict[str, object]
) -> str:
    """Replace the raw table under the S3 prefix ``location``; return the
    part file's URL."""
    from pyarrow import fs

    # pyarrow knows S3 as s3://; s3a:// (Hadoop's name) is the same bucket.
    scheme, _, rest = location.partition("://")
    filesystem, root = fs.FileSystem.from_uri(f"s3://{rest}")
    part = f"{root}/{PART_NAME}"
    data = _parquet_bytes(table)
    with filesystem.open_output_stream(part) as stream:
        stream.write(data)
    stale = [
        info.path
        for info in filesystem.get_file_info(fs.FileSelector(root))
        if info.base_name.startswith("part-") and info.path != part
    ]
    for path in stale:
        filesystem.delete_file(path)
    if stale:
        log.info(
            "removed %d old part object(s) from %s: %s",
            len(stale),
            location,
            ", ".join(path.rsplit("/", 1)[-1] for path in stale),
        )
    with filesystem.open_output_stream(f"{root}/{MANIFEST_NAME}") as stream:
        stream.write(_manifest_bytes(manifest))
    url = f"{scheme}://{part}"
    log.info("wrote %d rows to %s (%d bytes)", table.num_rows, url, data.size)
    return url


def write_raw_table(
    table: pa.Table, location: paths.RawLocation, manifest: dict[str, object]
) -> Path | str:
    """Replace the raw table at ``location`` (a folder or an S3 prefix) with
    ``table``; return the part file."""
    if isinstance(location, str):
        return write_raw_table_to_object_store(table, location, manifest)

    def write_parquet(handle: BinaryIO) -> None:
        pq.write_table(table, handle, row_group_size=ROW_GROUP_ROWS)

    def write_manifest(handle: BinaryIO) -> None:
        handle.write(_manifest_bytes(manifest))

    part = _publish(location, PART_NAME, write_parquet)
    removed = _remove_stale_parts(location, part)
    if removed:
        log.info(
            "removed %d old part file(s) from %s: %s",
            len(removed),
            location,
            ", ".join(p.name for p in removed),
        )
    _publish(location, MANIFEST_NAME, write_manifest)
    log.info(
        "wrote %d rows to %s (%d bytes)", table.num_rows, part, part.stat().st_size
    )
    return part
