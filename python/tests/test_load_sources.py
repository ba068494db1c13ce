"""Reading the dataset in each form it is delivered in: .csv, .csv.gz, .xlsx, .zip."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from retail_files import (
    GOOD_ROWS,
    HEADER,
    XLSX_CELLS,
    XLSX_TEXT,
    as_loaded,
    csv_text,
    row_with,
    write_csv,
    write_xlsx,
    write_zip,
)

from retail_rfm.errors import LoadError
from retail_rfm.source_files import cell_text, read_source
from retail_rfm.validate import validate


def rows_of(table: pa.Table) -> list[list[str | None]]:
    return [list(row.values()) for row in table.to_pylist()]


@pytest.mark.parametrize("name", ["lines.csv", "lines.csv.gz"])
def test_csv_values_are_kept_exactly_as_delivered(tmp_path: Path, name: str) -> None:
    source = read_source(write_csv(tmp_path / name))

    assert source.table.schema == pa.schema([(c, pa.string()) for c in HEADER])
    # Both date forms, both CustomerID forms, "27.50", the trailing space, the
    # quoted comma and newline, and 'NA' all come through untouched; only the
    # empty fields become null.
    assert rows_of(source.table) == as_loaded(GOOD_ROWS)
    validate(source)


def test_header_columns_may_come_in_any_order(tmp_path: Path) -> None:
    order = list(reversed(HEADER))
    rows = [[dict(zip(HEADER, r, strict=True))[c] for c in order] for r in GOOD_ROWS]

    source = read_source(write_csv(tmp_path / "reversed.csv", rows, header=order))

    assert source.table.column_names == HEADER
    assert rows_of(source.table) == as_loaded(GOOD_ROWS)


def test_bom_crlf_and_blank_lines_do_not_change_rows(tmp_path: Path) -> None:
    # A CSV saved by Excel on Windows: byte-order mark, CRLF, a blank line.
    text = csv_text(GOOD_ROWS[:2]).replace("\n", "\r\n")
    text = text.replace("\r\n900002", "\r\n\r\n900002")
    assert "\r\n\r\n" in text
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    source = read_source(path)

    assert source.rows == 2
    assert rows_of(source.table) == as_loaded(GOOD_ROWS[:2])


def test_null_like_words_stay_text(tmp_path: Path) -> None:
    rows = [row_with(Description="NULL", Country="NA"), row_with(Description="N/A")]

    source = read_source(write_csv(tmp_path / "words.csv", rows))

    assert source.table["Description"].to_pylist() == ["NULL", "N/A"]
    assert source.table["Country"].null_count == 0


def test_xlsx_cells_become_the_text_a_csv_would_carry(tmp_path: Path) -> None:
    source = read_source(write_xlsx(tmp_path / "Online Retail.xlsx"))

    # Numbers become their shortest text ('2.55', '0.001', '27.5', '10001'),
    # datetimes 'YYYY-MM-DD HH:MM:SS'; a text date is kept as is.
    assert rows_of(source.table) == XLSX_TEXT
    validate(source)


def test_uci_zip_is_read_through_its_workbook(tmp_path: Path) -> None:
    source = read_source(write_zip(tmp_path / "online+retail.zip"))

    assert rows_of(source.table) == XLSX_TEXT
    assert source.path.name == "online+retail.zip"
    assert "Online Retail.xlsx" in source.label


def test_xlsx_empty_rows_are_skipped_but_sheet_rows_stay_right(tmp_path: Path) -> None:
    rows = [list(r) for r in XLSX_CELLS]
    rows[2][3] = "many"  # data row 3; an empty row precedes data row 2
    path = write_xlsx(tmp_path / "gaps.xlsx", rows=rows, blank_rows_before=[1])

    source = read_source(path)
    assert source.rows == len(XLSX_CELLS)
    with pytest.raises(LoadError) as caught:
        validate(source)

    assert f"{path}, row 3 (sheet row 5): Quantity 'many' is not a whole number" in (
        str(caught.value)
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", None),
        ("  trailing  ", "  trailing  "),
        (17850, "17850"),
        (17850.0, "17850.0"),
        (2.55, "2.55"),
        (0.001, "0.001"),
        (-11062.06, "-11062.06"),
        (datetime(2011, 12, 9, 12, 50), "2011-12-09 12:50:00"),
        # Excel keeps times as fractions of a day: 08:25:59.999 is 08:26:00.
        (datetime(2010, 12, 1, 8, 25, 59, 999000), "2010-12-01 08:26:00"),
    ],
)
def test_cell_text(value: object, text: str | None) -> None:
    assert cell_text(value) == text


def test_gzip_and_plain_csv_read_identically(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "a.csv")
    packed = tmp_path / "a.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    assert read_source(plain).table.equals(read_source(packed).table)
