"""The `spark_oss` dbt adapter: dbt-spark plus Python models on open-source Spark.

Everything SQL comes from dbt-spark (`dependencies=["spark"]`): connection
methods, relations, macros, materializations. This plugin adds the ways a
Python model reaches Spark without Databricks: in the dbt process on the
session connection's SparkSession (`method: session`), or through Spark
Connect next to a Thrift server (`connect_url`). See docs/python-models.md.
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.spark_oss.connections import (
    SparkOssConnectionManager,
    SparkOssCredentials,
)
from dbt.adapters.spark_oss.impl import SparkOssAdapter
from dbt.include import spark_oss

Plugin = AdapterPlugin(
    adapter=SparkOssAdapter,  # type: ignore[arg-type]
    credentials=SparkOssCredentials,
    include_path=spark_oss.PACKAGE_PATH,
    dependencies=["spark"],
)

__all__ = [
    "Plugin",
    "SparkOssAdapter",
    "SparkOssConnectionManager",
    "SparkOssCredentials",
]
