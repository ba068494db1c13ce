"""Where the local lake and the raw table live, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from retail_rfm.errors import LoadError

LAKE_DIR_ENV = "RETAIL_LAKE_DIR"
RAW_LOCATION_ENV = "RETAIL_RAW_LOCATION"
DEFAULT_LAKE_DIR = ".lake"
RAW_TABLE_SUBDIR = Path("raw") / "online_retail" / "invoice_lines"


def _env(name: str) -> str | None:
    """The variable's value, with an empty string meaning unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def _absolute(value: str | Path) -> Path:
    return Path(value).expanduser().resolve()


def lake_dir() -> Path:
    """The local lake: $RETAIL_LAKE_DIR, else ./.lake, as an absolute path."""
    return _absolute(_env(LAKE_DIR_ENV) or DEFAULT_LAKE_DIR)


def raw_location() -> Path:
    """The raw table's folder: $RETAIL_RAW_LOCATION, else under the lake."""
    value = _env(RAW_LOCATION_ENV)
    if value is None:
        return lake_dir() / RAW_TABLE_SUBDIR
    if "://" in value:
        raise LoadError(
            f"{RAW_LOCATION_ENV}={value} is a URL; this loader writes to a local "
            "folder only"
        )
    return _absolute(value)
