"""The spark_oss adapter: dbt-spark's SparkAdapter with Python submission
methods for open-source Spark."""

from __future__ import annotations

from typing import Any

from dbt.adapters import __about__ as adapters_about
from dbt.adapters.base import PythonJobHelper
from dbt.adapters.base.impl import AdapterTrackingRelationInfo
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.contracts.relation import RelationConfig
from dbt.adapters.spark import SparkAdapter
from dbt.adapters.spark_oss import __version__
from dbt.adapters.spark_oss.connections import ADAPTER_TYPE, SparkOssConnectionManager
from dbt.adapters.spark_oss.model_code import ModelRun
from dbt.adapters.spark_oss.python_submissions import (
    HELPERS,
    SESSION,
    SPARK_CONNECT,
)


class SparkOssAdapter(SparkAdapter):
    ConnectionManager = SparkOssConnectionManager  # type: ignore[assignment]

    @classmethod
    def get_adapter_run_info(
        cls, config: RelationConfig
    ) -> AdapterTrackingRelationInfo:
        # dbt derives the module name from the class name ("sparkoss"), which
        # is not this adapter's module: name it here.
        return AdapterTrackingRelationInfo(
            adapter_name=ADAPTER_TYPE,
            base_adapter_version=adapters_about.version,
            adapter_version=__version__.version,
            model_adapter_details=cls._get_adapter_specific_run_info(config),
        )

    @property
    def default_python_submission_method(self) -> str:
        """In-process with `method: session`, else over Spark Connect."""
        if self.config.credentials.runs_in_process:
            return SESSION
        return SPARK_CONNECT

    @property
    def python_submission_helpers(self) -> dict[str, type[PythonJobHelper]]:
        return dict(HELPERS)

    def generate_python_submission_response(
        self, submission_result: Any
    ) -> AdapterResponse:
        if isinstance(submission_result, ModelRun):
            return AdapterResponse(
                _message=(
                    f"OK ({submission_result.method}, "
                    f"{submission_result.seconds:.1f} s)"
                )
            )
        return super().generate_python_submission_response(submission_result)
