"""Write what a Python model returned as its table, enforcing its contract.

The code dbt generates for a Python model calls `write_model_output` (see
macros/python_model.sql). It runs in the dbt process with either kind of
session: classic (method: session) or Spark Connect.

A SQL model with an enforced contract is checked by dbt before its table is
created; this does the same for a Python model: the returned DataFrame must
have exactly the contract's columns with its data types, or nothing is
written. Columns are then written in the contract's order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dbt_common.exceptions import DbtRuntimeError

# Spellings Spark accepts for one type, mapped to the name Spark reports.
TYPE_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "real": "float",
    "bool": "boolean",
    "dec": "decimal",
    "numeric": "decimal",
}


class ContractError(DbtRuntimeError):
    """The model's DataFrame does not match its enforced contract."""


def normalize_type(data_type: str) -> str:
    """`DECIMAL(18, 2)` -> `decimal(18,2)`, `integer` -> `int`,
    `decimal` -> `decimal(10,0)`."""
    text = re.sub(r"\s+", "", data_type.lower())
    base, _, rest = text.partition("(")
    base = TYPE_ALIASES.get(base, base)
    if base == "decimal" and not rest:
        return "decimal(10,0)"
    return f"{base}({rest}" if rest else base


@dataclass(frozen=True)
class ColumnMismatch:
    column: str
    returned_type: str
    contract_type: str
    reason: str


def contract_mismatches(
    returned: Sequence[tuple[str, str]], contract: Sequence[tuple[str, str]]
) -> list[ColumnMismatch]:
    """Compare (name, type) pairs; names match case-insensitively, as in Spark."""
    have = {name.lower(): (name, data_type) for name, data_type in returned}
    want = {name.lower(): (name, data_type) for name, data_type in contract}
    mismatches = []
    for key, (name, contract_type) in want.items():
        if key not in have:
            mismatches.append(
                ColumnMismatch(name, "", contract_type, "missing in the DataFrame")
            )
            continue
        returned_type = have[key][1]
        if normalize_type(returned_type) != normalize_type(contract_type):
            mismatches.append(
                ColumnMismatch(name, returned_type, contract_type, "data type differs")
            )
    mismatches += [
        ColumnMismatch(name, returned_type, "", "not in the contract")
        for key, (name, returned_type) in have.items()
        if key not in want
    ]
    return mismatches


def contract_error_message(relation: str, mismatches: list[ColumnMismatch]) -> str:
    rows = [("column", "returned type", "contract type", "mismatch")]
    rows += [
        (m.column, m.returned_type or "-", m.contract_type or "-", m.reason)
        for m in mismatches
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    table = [
        "  "
        + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return (
        f"The Python model's enforced contract failed; {relation} was not "
        "written. The DataFrame the model returns must have the contract's "
        "column names and data types:\n" + "\n".join(table)
    )


def _as_spark_dataframe(result: Any, session: Any) -> Any:
    from pyspark.sql import DataFrame

    if isinstance(result, DataFrame):
        return result
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is a dependency here
        pandas = None
    if pandas is not None and isinstance(result, pandas.DataFrame):
        return session.createDataFrame(result)
    raise DbtRuntimeError(
        f"model() returned a {type(result).__module__}.{type(result).__name__}; "
        "a dbt Python model must return a Spark or a pandas DataFrame"
    )


def write_model_output(
    result: Any,
    session: Any,
    relation: str,
    file_format: str,
    contract: Sequence[Sequence[str]] | None = None,
    location: str | None = None,
) -> None:
    """Write `result` (Spark or pandas DataFrame) as the table `relation`.

    `contract`: the enforced contract's (column, data type) pairs in order, or
    None when the model has no enforced contract. `location`: where the
    table's files go (dbt-spark's location_root/<table>, an S3 prefix on EMR),
    or None for a managed table in the warehouse folder.
    """
    dataframe = _as_spark_dataframe(result, session)
    if contract is not None:
        wanted = [(str(name), str(data_type)) for name, data_type in contract]
        returned = [
            (column.name, column.dataType.simpleString())
            for column in dataframe.schema.fields
        ]
        mismatches = contract_mismatches(returned, wanted)
        if mismatches:
            raise ContractError(contract_error_message(relation, mismatches))
        dataframe = dataframe.select(*[name for name, _ in wanted])
    writer = dataframe.write.mode("overwrite").format(file_format)
    if location:
        writer = writer.option("path", location)
    writer.saveAsTable(relation)
