"""The real dataset, all 541,909 lines: it must load, and load exactly.

The file is not in the repository: the `full_dataset` fixture finds it
($ONLINE_RETAIL_PATH, else the shared copy beside the repository) and fails
the test when it is missing.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail_rfm.load import load_dataset


def test_full_dataset_loads_every_line_exactly(
    full_dataset: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    result = load_dataset(full_dataset, raw)

    table = pq.read_table(raw / "part-00000.parquet")
    assert result.rows == table.num_rows == 541_909
    assert result.sha256 == hashlib.sha256(full_dataset.read_bytes()).hexdigest()
    assert table["CustomerID"].null_count == 135_080
    assert table["Description"].null_count == 1_454
    assert pc.count_distinct(table["InvoiceNo"]).as_py() == 25_900
    assert pc.count_distinct(table["Country"]).as_py() == 38
    assert pc.min_max(table["_source_row_number"]).as_py() == {
        "min": 1,
        "max": 541_909,
    }

    # Revenue over the raw strings, exactly: no float ever touches a price.
    revenue = sum(
        (
            Decimal(quantity) * Decimal(price)
            for quantity, price in zip(
                table["Quantity"].to_pylist(),
                table["UnitPrice"].to_pylist(),
                strict=True,
            )
        ),
        Decimal(0),
    )
    assert revenue == Decimal("9747747.934")
