"""Where the local lake and the raw table live, from the environment.

The raw table's location is either a local folder (a Path) or an S3 prefix
(the text ``s3://bucket/prefix``, kept as given: the same text goes into the
catalog's table location, for example on EMR with the Glue catalog).
"""

from __future__ import annotations

import os
from pathlib import Path

from retail_rfm.errors import LoadError

LAKE_DIR_ENV = "RETAIL_LAKE_DIR"
RAW_LOCATION_ENV = "RETAIL_RAW_LOCATION"
DEFAULT_LAKE_DIR = ".lake"
RAW_TABLE_SUBDIR = Path("raw") / "online_retail" / "invoice_lines"
# s3:// is what EMR (EMRFS) and pyarrow use; s3a:// is Hadoop's S3A name for
# the same objects, used by Spark outside EMR.
OBJECT_STORE_SCHEMES = ("s3", "s3a")

RawLocation = Path | str
"""A local folder, or an object store prefix such as s3://bucket/prefix."""


def _env(name: str) -> str | None:
    """The variable's value, with an empty string meaning unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def _absolute(value: str | Path) -> Path:
    return Path(value).expanduser().resolve()


def lake_dir() -> Path:
    """The local lake: $RETAIL_LAKE_DIR, else ./.lake, as an absolute path."""
    return _absolute(_env(LAKE_DIR_ENV) or DEFAULT_LAKE_DIR)


def is_url(location: RawLocation) -> bool:
    return isinstance(location, str) and "://" in location


def object_store_location(value: str) -> str:
    """``s3://bucket/prefix`` checked and without a trailing slash.

    Raises LoadError for another scheme, or without a bucket and a prefix
    (the raw table needs a folder of its own: the loader deletes other
    ``part-*`` objects under it)."""
    text = value.strip().rstrip("/")
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in OBJECT_STORE_SCHEMES:
        raise LoadError(
            f"{text}: the raw table can be written to a local folder or to "
            f"S3 (s3://bucket/prefix), not to {scheme}://"
        )
    bucket, _, prefix = rest.partition("/")
    if not bucket or not prefix.strip("/"):
        raise LoadError(
            f"{text}: give a bucket and a prefix for the raw table, such as "
            "s3://bucket/retail/raw/online_retail/invoice_lines"
        )
    return text


def raw_location() -> RawLocation:
    """The raw table's location: $RETAIL_RAW_LOCATION (a folder or an S3
    prefix), else raw/online_retail/invoice_lines under the lake."""
    value = _env(RAW_LOCATION_ENV)
    if value is None:
        return lake_dir() / RAW_TABLE_SUBDIR
    if "://" in value:
        return object_store_location(value)
    return _absolute(value)


def parse_raw_location(value: str | Path) -> RawLocation:
    """A location given on the command line or by a caller."""
    if is_url(str(value)):
        return object_store_location(str(value))
    return Path(value).expanduser().absolute()
