"""Build small Online Retail files for the loader tests, in every accepted form.

Each test writes its own files under tmp_path; nothing from the real dataset
is stored in the repository. The rows below are invented (invoice numbers,
codes, names and customers do not come from the data) in the dataset's
shape and cover what the loader must accept: both date forms, both
CustomerID forms, an empty CustomerID and Description, a cancellation, a
negative price, three decimal places, a trailing space and a quoted value
holding a comma and a newline.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]

Row = list[str]

GOOD_ROWS: list[Row] = [
    ["900001", "10001A", "BLUE ENAMEL TEA TIN", "6",
     "2010-12-01 08:26:00", "2.55", "10001.0", "United Kingdom"],
    ["900002", "10002", "PAPER STAR GARLAND", "6",
     "12/1/2010 8:28", "1.85", "10001", "United Kingdom"],
    ["C900003", "10003", "WOODEN SPOON SET", "-1",
     "2010-12-01 09:41:00", "27.50", "10002.0", "United Kingdom"],
    ["900004", "10004", "", "56",
     "12/1/2010 11:52", "0.001", "", "United Kingdom"],
    ["A900005", "B", "Adjust bad debt", "1",
     "2011-08-12 14:50:00", "-950.25", "", "United Kingdom"],
    ["900006", "10006", "GLASS ROSE BOTTLE ", "1",
     "12/31/2010 23:59", "2.51", "", "EIRE"],
    ["900007", "10007", "CARD, BIRD\nSECOND LINE", "80995",
     "2012-02-29 09:15:00", "2.08", "10003.0", "NA"],
]  # fmt: skip

# The same rows as typed cells, the way the UCI workbook stores them, and the
# text the loader must turn each cell into. A workbook stores a whole number
# without its fraction, so the float cell 10001.0 reads back as the int 10001.
XLSX_CELLS: list[list[Any]] = [
    [900001, "10001A", "BLUE ENAMEL TEA TIN", 6,
     datetime(2010, 12, 1, 8, 26), 2.55, 10001.0, "United Kingdom"],
    [900002, 10002, "PAPER STAR GARLAND", 6,
     "12/1/2010 8:28", 1.85, 10001, "United Kingdom"],
    ["C900003", 10003, "WOODEN SPOON SET", -1,
     datetime(2010, 12, 1, 9, 41), 27.5, 10002.0, "United Kingdom"],
    [900004, 10004, None, 56,
     datetime(2010, 12, 1, 11, 52), 0.001, None, "United Kingdom"],
]  # fmt: skip
XLSX_TEXT: list[list[str | None]] = [
    ["900001", "10001A", "BLUE ENAMEL TEA TIN", "6",
     "2010-12-01 08:26:00", "2.55", "10001", "United Kingdom"],
    ["900002", "10002", "PAPER STAR GARLAND", "6",
     "12/1/2010 8:28", "1.85", "10001", "United Kingdom"],
    ["C900003", "10003", "WOODEN SPOON SET", "-1",
     "2010-12-01 09:41:00", "27.5", "10002", "United Kingdom"],
    ["900004", "10004", None, "56",
     "2010-12-01 11:52:00", "0.001", None, "United Kingdom"],
]  # fmt: skip


def as_loaded(rows: Sequence[Row]) -> list[list[str | None]]:
    """What the loader should hold for CSV rows: empty fields become null."""
    return [[value if value != "" else None for value in row] for row in rows]


def row_with(**changes: str) -> Row:
    """A valid row with some columns replaced."""
    row = dict(zip(HEADER, GOOD_ROWS[0], strict=True))
    unknown = set(changes) - set(row)
    assert not unknown, unknown
    row.update(changes)
    return list(row.values())


def csv_text(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]] = GOOD_ROWS,
    header: Sequence[str] = HEADER,
) -> Path:
    data = csv_text(rows, header).encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def xlsx_bytes(
    rows: Sequence[Sequence[Any]] = XLSX_CELLS,
    header: Sequence[str] = HEADER,
    blank_rows_before: Sequence[int] = (),
) -> bytes:
    """A workbook like the UCI one: sheet 'Online Retail', header in row 1.

    ``blank_rows_before`` lists 0-based data rows to precede with an empty row.
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Online Retail"
    sheet.append(list(header))
    for index, row in enumerate(rows):
        if index in blank_rows_before:
            sheet.append([None] * len(header))
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(path: Path, **kwargs: Any) -> Path:
    path.write_bytes(xlsx_bytes(**kwargs))
    return path


def zip_bytes(members: dict[str, bytes], stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def uci_zip_bytes(**kwargs: Any) -> bytes:
    """A zip shaped like the UCI download: just 'Online Retail.xlsx'."""
    return zip_bytes({"Online Retail.xlsx": xlsx_bytes(**kwargs)})


def write_zip(path: Path, **kwargs: Any) -> Path:
    path.write_bytes(uci_zip_bytes(**kwargs))
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file in a folder (hidden ones too) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
