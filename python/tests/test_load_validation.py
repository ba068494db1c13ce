"""Bad input is refused with a message naming file, row and problem, and the
previously loaded raw table is left byte-for-byte as it was."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from retail_files import (
    GOOD_ROWS,
    HEADER,
    XLSX_CELLS,
    csv_text,
    row_with,
    snapshot,
    write_csv,
    write_xlsx,
    xlsx_bytes,
    zip_bytes,
)

from retail_rfm.errors import LoadError
from retail_rfm.load import load_dataset
from retail_rfm.validate import collect_problems

pytestmark = pytest.mark.usefixtures("loader_env")


# --- the rules, value by value ------------------------------------------------


def problems_for(column: str, values: list[str | None]) -> dict[str | None, str]:
    """Validate one column's values (other columns valid); value -> problem."""
    rows = [row_with() for _ in values]
    table = pa.table(
        {
            name: pa.array(
                values if name == column else [r[i] for r in rows], pa.string()
            )
            for i, name in enumerate(HEADER)
        }
    )
    report = collect_problems(table, limit=len(values) * 3)
    return {p.value: p.problem for p in report.problems}


RULES = {
    "Quantity": (
        ["0", "6", "-80995", "007", "2147483647", "-2147483648"],
        {
            "2147483648": "does not fit a 32-bit integer",
            "-2147483649": "does not fit a 32-bit integer",
            "99999999999999999999": "does not fit a 32-bit integer",
            "6.0": "is not a whole number",
            "+6": "is not a whole number",
            " 6": "is not a whole number",
            "1e3": "is not a whole number",
            "six": "is not a whole number",
        },
    ),
    "UnitPrice": (
        ["0", "2.55", "0.001", "27.50", "2.5500", "-11062.06",
         "999999999999999.999"],
        {
            "0.0001": "has more than 3 decimal places",
            "2.5501": "has more than 3 decimal places",
            "1000000000000000": "has more than 15 integer digits",
            "2,55": "is not a decimal number (like 2.55 or -11062.06)",
            "2.": "is not a decimal number (like 2.55 or -11062.06)",
            "1e-3": "is not a decimal number (like 2.55 or -11062.06)",
            "£2.55": "is not a decimal number (like 2.55 or -11062.06)",
        },
    ),
    "InvoiceDate": (
        ["2010-12-01 08:26:00", "12/1/2010 8:26", "12/31/2011 23:59",
         "2012-02-29 00:00:00", "2/29/2000 0:00", "01/02/2011 09:05"],
        {
            "2011-02-30 10:00:00": "is not a real calendar date",
            "2/30/2011 10:00": "is not a real calendar date",
            "2011-02-29 10:00:00": "is not a real calendar date",
            "1900-02-29 10:00:00": "is not a real calendar date",
            "13/1/2010 8:26": "is not a real calendar date",
            "2011-04-31 10:00:00": "is not a real calendar date",
            "2010-12-01 24:00:00": "is not a real time of day",
            "12/1/2010 8:60": "is not a real time of day",
            "2010-12-01T08:26:00": "is not a date in the form YYYY-MM-DD HH:MM:SS "
            "or M/D/YYYY H:MM",
            "2010-12-01 08:26": "is not a date in the form YYYY-MM-DD HH:MM:SS "
            "or M/D/YYYY H:MM",
            "12/1/2010 8:26:00": "is not a date in the form YYYY-MM-DD HH:MM:SS "
            "or M/D/YYYY H:MM",
            "12/1/10 8:26": "is not a date in the form YYYY-MM-DD HH:MM:SS "
            "or M/D/YYYY H:MM",
        },
    ),
    "CustomerID": (
        [None, "17850", "17850.0", "17850.00", "12346"],
        {
            "17850.5": "has a non-zero fraction",
            "0": "is not a positive number",
            "0.0": "is not a positive number",
            "-17850": "is not a customer number (like 17850 or 17850.0; leave it "
            "empty when unknown)",
            "17850.": "is not a customer number (like 17850 or 17850.0; leave it "
            "empty when unknown)",
            " ": "is not a customer number (like 17850 or 17850.0; leave it "
            "empty when unknown)",
            "3000000000": "does not fit a 32-bit integer",
        },
    ),
    "Country": (
        ["United Kingdom", "Unspecified", "NA"],
        {None: "is required but empty", "  ": "is required but empty"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("column", list(RULES))
def test_rule_accepts_good_and_rejects_bad_values(column: str) -> None:
    good, bad = RULES[column]

    assert problems_for(column, good) == {}
    assert problems_for(column, list(bad)) == bad


def test_each_required_column_must_not_be_blank() -> None:
    required = ["InvoiceNo", "StockCode", "InvoiceDate", "Quantity", "UnitPrice"]
    for column in required:
        assert problems_for(column, ["", " ", None]) == {
            "": "is required but empty",
            " ": "is required but empty",
            None: "is required but empty",
        }
    assert problems_for("Description", [None]) == {}


def test_message_lists_first_20_problems_in_row_order_with_totals(
    tmp_path: Path,
) -> None:
    rows = [row_with(Quantity="x", UnitPrice="y") for _ in range(30)]
    path = write_csv(tmp_path / "bad.csv", [*GOOD_ROWS, *rows])

    with pytest.raises(LoadError) as caught:
        load_dataset(path, tmp_path / "raw")

    message = str(caught.value)
    lines = message.splitlines()
    first_bad = len(GOOD_ROWS) + 1
    assert lines[0] == (
        f"{path}: 60 invalid value(s) in 30 of {len(GOOD_ROWS) + 30} row(s); "
        "the first 20:"
    )
    assert len(lines) == 21
    assert lines[1].strip() == (
        f"{path}, row {first_bad}: Quantity 'x' is not a whole number"
    )
    assert lines[2].strip().startswith(f"{path}, row {first_bad}: UnitPrice 'y' ")
    assert lines[20].strip().startswith(f"{path}, row {first_bad + 9}: UnitPrice")
    assert not (tmp_path / "raw").exists()


# --- bad files through load_dataset ---------------------------------------------

Builder = Callable[[Path], Path]


def csv_with(rows: list[list[str]], name: str = "bad.csv") -> Builder:
    return lambda d: write_csv(d / name, rows)


def raw_bytes(name: str, data: bytes) -> Builder:
    def build(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data)
        return path

    return build


def a_directory(directory: Path) -> Path:
    path = directory / "adir.csv"
    path.mkdir()
    return path


def truncated_gzip(directory: Path) -> Path:
    data = gzip.compress(csv_text(GOOD_ROWS * 200).encode(), mtime=0)
    path = directory / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def ragged_after_multiline(directory: Path) -> Path:
    # Row 1 spans two lines (quoted newline), so row 3 starts on line 5.
    text = csv_text([GOOD_ROWS[6], GOOD_ROWS[0], GOOD_ROWS[0]])
    lines = text.split("\n")
    lines[4] += ",extra"
    path = directory / "ragged.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def invalid_utf8(directory: Path) -> Path:
    text = csv_text([GOOD_ROWS[0], row_with(Description="CAFE")])
    path = directory / "latin1.csv"
    path.write_bytes(text.encode().replace(b"CAFE", b"CAF\xc9"))
    return path


def xlsx_with_bad_quantity(directory: Path) -> Path:
    cells = [list(r) for r in XLSX_CELLS]
    cells[1][3] = "six"
    return write_xlsx(directory / "Online Retail.xlsx", rows=cells)


BAD_FILES: dict[str, tuple[Builder, list[str]]] = {
    "missing file": (lambda d: d / "nope.csv", ["nope.csv: file not found"]),
    "directory": (a_directory, ["adir.csv: not a regular file"]),
    "unsupported type": (raw_bytes("lines.txt", b"x"), ["unsupported file type"]),
    "zero-byte file": (raw_bytes("empty.csv", b""), ["empty.csv: file is empty"]),
    "zero-byte gzip": (raw_bytes("empty.csv.gz", b""), ["file is empty (0 bytes)"]),
    "header only": (
        raw_bytes("header.csv", csv_text([]).encode()),
        ["header.csv: the file has a header but no data rows"],
    ),
    "not gzip": (
        raw_bytes("plain.csv.gz", csv_text(GOOD_ROWS).encode()),
        ["plain.csv.gz: not a gzip file"],
    ),
    "corrupt gzip": (
        raw_bytes("corrupt.csv.gz", b"\x1f\x8b\x08\x00garbage-not-deflate" * 4),
        ["corrupt.csv.gz: the gzip data is corrupt"],
    ),
    "truncated gzip": (
        truncated_gzip,
        ["cut.csv.gz: the gzip stream ends early", "reading stopped after row "],
    ),
    "missing columns": (
        lambda d: write_csv(d / "cols.csv", [r[:6] for r in GOOD_ROWS], HEADER[:6]),
        ["cols.csv, header: missing column(s) CustomerID, Country"],
    ),
    "extra column": (
        lambda d: write_csv(
            d / "cols.csv", [[*r, "x"] for r in GOOD_ROWS], [*HEADER, "Notes"]
        ),
        ["cols.csv, header: unexpected column(s) 'Notes'"],
    ),
    "repeated column": (
        lambda d: write_csv(
            d / "cols.csv", [[*r, "x"] for r in GOOD_ROWS], [*HEADER, "Country"]
        ),
        ["cols.csv, header: repeated column(s) Country"],
    ),
    "ragged row": (
        ragged_after_multiline,
        ["ragged.csv: 1 row(s) do not have the 8 fields",
         "ragged.csv, row 3 (line 5): expected 8 fields, found 9"],
    ),
    "invalid utf-8": (
        invalid_utf8,
        ["latin1.csv, row 2 (line 3): Description is not valid UTF-8 (byte 0xc9)"],
    ),
    "unparseable date": (
        csv_with([GOOD_ROWS[0], row_with(InvoiceDate="Dec 1 2010 8:26")]),
        ["bad.csv, row 2: InvoiceDate 'Dec 1 2010 8:26' is not a date in the form"],
    ),
    "30 February": (
        csv_with([row_with(InvoiceDate="2011-02-30 10:00:00")]),
        ["bad.csv, row 1: InvoiceDate '2011-02-30 10:00:00' is not a real calendar"],
    ),
    "unparseable quantity": (
        csv_with([GOOD_ROWS[0], GOOD_ROWS[1], row_with(Quantity="6 pcs")]),
        ["bad.csv, row 3: Quantity '6 pcs' is not a whole number"],
    ),
    "unparseable price": (
        csv_with([row_with(UnitPrice="2,55")]),
        ["bad.csv, row 1: UnitPrice '2,55' is not a decimal number"],
    ),
    "unparseable customer id": (
        csv_with([row_with(CustomerID="17850.5"), row_with(CustomerID="C17850")]),
        ["bad.csv, row 1: CustomerID '17850.5' has a non-zero fraction",
         "bad.csv, row 2: CustomerID 'C17850' is not a customer number"],
    ),
    "empty country": (
        csv_with([row_with(Country="")]),
        ["bad.csv, row 1: Country '' is required but empty"],
    ),
    "bad value in xlsx": (
        xlsx_with_bad_quantity,
        ["Online Retail.xlsx, row 2 (sheet row 3): Quantity 'six' is not a whole"],
    ),
    "corrupt xlsx": (
        raw_bytes("broken.xlsx", b"PK\x03\x04 not really a workbook"),
        ["broken.xlsx: not a readable .xlsx workbook"],
    ),
    "corrupt zip": (
        raw_bytes("online+retail.zip", zip_bytes({"Online Retail.xlsx": b"x"})[:30]),
        ["online+retail.zip: not a valid zip archive"],
    ),
    "zip without the workbook": (
        raw_bytes("online+retail.zip", zip_bytes({"readme.txt": b"hello"})),
        ["online+retail.zip: the zip does not hold 'Online Retail.xlsx' "
         "(it holds 'readme.txt')"],
    ),
    "zip holding a header-only workbook": (
        raw_bytes(
            "online+retail.zip", zip_bytes({"Online Retail.xlsx": xlsx_bytes(rows=[])})
        ),
        ["online+retail.zip (Online Retail.xlsx): the sheet has a header but no data"],
    ),
}  # fmt: skip


@pytest.fixture
def previous_load(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A raw table from an earlier good load, and its files' bytes."""
    raw = tmp_path / "lake" / "raw"
    load_dataset(write_csv(tmp_path / "good.csv"), raw)
    before = snapshot(raw)
    assert set(before) == {"part-00000.parquet", "_load.json"}
    return raw, before


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_input_is_refused_and_previous_table_kept(
    case: str, tmp_path: Path, previous_load: tuple[Path, dict[str, bytes]]
) -> None:
    build, expected = BAD_FILES[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path = build(inputs)
    raw, before = previous_load

    with pytest.raises(LoadError) as caught:
        load_dataset(path, raw)

    message = str(caught.value)
    assert str(inputs) in message  # names the file, with its folder
    for fragment in expected:
        assert fragment in message
    assert snapshot(raw) == before
