"""Macros of the spark_oss adapter (dbt loads them after dbt-spark's)."""

from pathlib import Path

PACKAGE_PATH = str(Path(__file__).parent)
