"""Read the Online Retail dataset, in any form it is delivered in, as text.

Accepted: the UCI zip (holding ``Online Retail.xlsx``), that ``.xlsx`` on its
own, a ``.csv`` or a gzip'd ``.csv.gz``. Every reader returns the same thing:
a pyarrow Table of the eight original columns, all strings, values exactly as
delivered (an empty field becomes null; surrounding spaces are kept). Typing
the values is the job of the dbt staging model, after ``validate`` has checked
that it will succeed.

Row numbers: data rows count from 1 after the header. Blank lines in a CSV
and completely empty rows in a sheet are skipped and not counted.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import gzip
import io
import logging
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import openpyxl
import pyarrow as pa
import pyarrow.csv as pa_csv
from openpyxl.utils.exceptions import InvalidFileException

from retail_rfm.errors import LoadError

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
XLSX_MEMBER = "Online Retail.xlsx"
PREFERRED_SHEET = "Online Retail"
GZIP_MAGIC = b"\x1f\x8b"
# How many bad rows the slow CSV scan quotes before it only counts.
MAX_QUOTED_ROWS = 5

SCHEMA = pa.schema([(name, pa.string()) for name in COLUMNS])


@dataclass(frozen=True)
class SourceData:
    """The dataset as read: the file, its form, and the rows as strings."""

    path: Path
    label: str
    kind: str
    table: pa.Table
    # xlsx only: the sheet row of the header, and for each empty sheet row
    # skipped between data rows, the number of the data row that follows it.
    # Together they give the sheet row of any data row.
    header_sheet_row: int = 1
    skipped_before: Sequence[int] = field(default=())

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def sheet_row(self, data_row: int) -> int | None:
        """The spreadsheet row of a 1-based data row, for xlsx sources."""
        if self.kind not in ("xlsx", "zip"):
            return None
        skipped = bisect.bisect_right(self.skipped_before, data_row)
        return self.header_sheet_row + data_row + skipped

    def where(self, data_row: int) -> str:
        """'<file>, row <n>' (plus the sheet row for xlsx) for messages."""
        sheet_row = self.sheet_row(data_row)
        if sheet_row is None:
            return f"{self.label}, row {data_row}"
        return f"{self.label}, row {data_row} (sheet row {sheet_row})"


def source_kind(path: Path) -> str:
    """'zip', 'xlsx', 'csv' or 'csv.gz', from the file name."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith(".csv.gz") or name.endswith(".gz"):
        return "csv.gz"
    if name.endswith(".csv"):
        return "csv"
    raise LoadError(
        f"{path}: unsupported file type; expected .zip (the UCI download), "
        ".xlsx, .csv or .csv.gz"
    )


def read_source(path: Path) -> SourceData:
    """Read the dataset at ``path`` into eight string columns.

    Raises LoadError for a missing, empty, unreadable or malformed file.
    """
    path = Path(path)
    kind = source_kind(path)
    _check_file(path)
    log.info("reading %s (%s, %d bytes)", path, kind, path.stat().st_size)
    if kind == "zip":
        return _read_zip(path)
    if kind == "xlsx":
        return _read_xlsx(path, path, str(path), kind)
    return _read_csv(path, compressed=kind == "csv.gz")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if not path.is_file():
        raise LoadError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise LoadError(f"{path}: file is empty (0 bytes)")


def check_header(label: str, header: Sequence[str]) -> None:
    """The header must hold exactly the eight column names, in any order."""
    seen: set[str] = set()
    duplicates = sorted({name for name in header if name in seen or seen.add(name)})
    missing = [name for name in COLUMNS if name not in seen]
    extra = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if extra:
        problems.append(
            "unexpected column(s) " + ", ".join(repr(name) for name in extra)
        )
    if duplicates:
        problems.append("repeated column(s) " + ", ".join(duplicates))
    if problems:
        raise LoadError(
            f"{label}, header: {'; '.join(problems)}. Expected exactly these "
            f"columns, in any order: {', '.join(COLUMNS)}"
        )


# --- CSV ----------------------------------------------------------------------


def _open_text(path: Path, compressed: bool, errors: str = "strict") -> IO[str]:
    """The file as text: UTF-8, a leading byte-order mark dropped."""
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig", errors=errors, newline="")
    return path.open(encoding="utf-8-sig", errors=errors, newline="")


def _decompression_problem(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip stream ends early (truncated file)"
    return f"the gzip data is corrupt ({exc})"


def _read_csv_header(path: Path, compressed: bool) -> list[str]:
    label = str(path)
    try:
        # Decoding errors are checked on the header alone: the text layer
        # decodes ahead, into rows the slow scan reports with their numbers.
        with _open_text(path, compressed, errors="surrogateescape") as handle:
            for fields in csv.reader(handle):
                if fields:
                    if _first_non_utf8(fields) is not None:
                        raise LoadError(f"{label}, header: not valid UTF-8")
                    return fields
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise LoadError(f"{label}: {_decompression_problem(exc)}") from exc
    except csv.Error as exc:
        raise LoadError(f"{label}, header: cannot be parsed as CSV ({exc})") from exc
    raise LoadError(f"{label}: no header row (the file holds no text)")


def _read_csv(path: Path, compressed: bool) -> SourceData:
    label = str(path)
    if compressed:
        with path.open("rb") as handle:
            if handle.read(2) != GZIP_MAGIC:
                raise LoadError(
                    f"{label}: not a gzip file (it does not start with the gzip "
                    "signature); name it .csv if it is plain text"
                )
    header = _read_csv_header(path, compressed)
    check_header(label, header)

    read_options = pa_csv.ReadOptions(block_size=16 << 20)
    parse_options = pa_csv.ParseOptions(newlines_in_values=True)
    convert_options = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        # Only a truly empty field is null: 'NA' or 'NULL' are kept as text.
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        with pa.input_stream(path, compression="gzip" if compressed else None) as src:
            table = pa_csv.read_csv(
                src,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
    except (pa.ArrowInvalid, OSError) as exc:
        # pyarrow says what is wrong but rarely where: find the row the slow
        # way, with the csv module, and report that.
        log.info("pyarrow could not read %s (%s); scanning it row by row", path, exc)
        _raise_csv_problem(path, compressed, len(header))
        raise LoadError(f"{label}: cannot be read as CSV ({exc})") from exc

    if table.column_names != header:
        raise LoadError(
            f"{label}, header: read as {table.column_names}, expected {header}"
        )
    if table.num_rows == 0:
        raise LoadError(f"{label}: the file has a header but no data rows")
    table = table.select(list(COLUMNS)).cast(SCHEMA).combine_chunks()
    log.info("read %d rows from %s", table.num_rows, path)
    return SourceData(
        path=path, label=label, kind="csv.gz" if compressed else "csv", table=table
    )


def _first_non_utf8(fields: Sequence[str]) -> tuple[int, int] | None:
    """(field index, bad byte) of the first field that was not valid UTF-8.

    The scan decodes with 'surrogateescape', which turns each undecodable byte
    into a lone surrogate U+DC80..U+DCFF; encoding such a field fails.
    """
    for index, value in enumerate(fields):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return index, ord(value[exc.start]) - 0xDC00
    return None


def _raise_csv_problem(path: Path, compressed: bool, width: int) -> None:
    """Scan the CSV with Python's csv module; raise LoadError at the first problem.

    Used only after pyarrow failed, to give the row number pyarrow lacks.
    Returns without raising if the scan finds nothing wrong.
    """
    label = str(path)
    row = 0
    line = 1
    ragged: list[str] = []
    ragged_count = 0
    try:
        with _open_text(path, compressed, errors="surrogateescape") as handle:
            reader = csv.reader(handle)
            header = next((fields for fields in reader if fields), None)
            if header is None:
                return
            line = reader.line_num
            for fields in reader:
                start_line, line = line + 1, reader.line_num
                if not fields:
                    continue
                row += 1
                if len(fields) != width:
                    ragged_count += 1
                    if len(ragged) < MAX_QUOTED_ROWS:
                        ragged.append(
                            f"{label}, row {row} (line {start_line}): expected "
                            f"{width} fields, found {len(fields)}"
                        )
                    continue
                bad = _first_non_utf8(fields)
                if bad is not None and not ragged:
                    column, byte = bad
                    raise LoadError(
                        f"{label}, row {row} (line {start_line}): "
                        f"{header[column]} is not valid UTF-8 (byte "
                        f"0x{byte:02x}); the file must be UTF-8 encoded"
                    )
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        # Ragged rows found before the damage are still worth reporting.
        if not ragged:
            where = f"after row {row} (line {line})" if row else "before the first row"
            raise LoadError(
                f"{label}: {_decompression_problem(exc)}; reading stopped {where}"
            ) from exc
    except csv.Error as exc:
        raise LoadError(
            f"{label}, row {row + 1} (line {line + 1}): cannot be parsed as CSV ({exc})"
        ) from exc
    if ragged:
        more = (
            f"\n  ... {ragged_count} rows in all have the wrong number of fields"
            if ragged_count > len(ragged)
            else ""
        )
        raise LoadError(
            f"{label}: {ragged_count} row(s) do not have the {width} fields of the "
            "header (a stray comma or an unclosed quote?):\n  "
            + "\n  ".join(ragged)
            + more
        )


# --- xlsx ---------------------------------------------------------------------


def cell_text(value: Any) -> str | None:
    """The text a CSV export would carry for a cell value read by openpyxl."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Shortest text that reads back as the same double: 2.55, 17850.0.
        return repr(value)
    if isinstance(value, datetime):
        # Excel keeps times as fractions of a day; openpyxl rounds them to the
        # millisecond. The dataset has whole minutes: round to the second.
        if value.microsecond >= 500_000:
            value += timedelta(seconds=1)
        return (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        )
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d} 00:00:00"
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _read_zip(path: Path) -> SourceData:
    label = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            member = next(
                (name for name in names if Path(name).name == XLSX_MEMBER), None
            )
            if member is None:
                listing = ", ".join(repr(name) for name in names[:10]) or "nothing"
                raise LoadError(
                    f"{label}: the zip does not hold '{XLSX_MEMBER}' (it holds "
                    f"{listing})"
                )
            data = archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise LoadError(f"{label}: not a valid zip archive ({exc})") from exc
    log.info("extracted %s (%d bytes) from %s", member, len(data), path)
    return _read_xlsx(io.BytesIO(data), path, f"{label} ({member})", "zip")


def _iter_sheet_rows(source: Path | IO[bytes], label: str) -> Iterator[tuple[Any, ...]]:
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        OSError,
        ValueError,
        ParseError,
    ) as exc:
        raise LoadError(f"{label}: not a readable .xlsx workbook ({exc})") from exc
    try:
        if PREFERRED_SHEET in workbook.sheetnames:
            sheet = workbook[PREFERRED_SHEET]
        else:
            sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _read_xlsx(
    source: Path | IO[bytes], path: Path, label: str, kind: str
) -> SourceData:
    with contextlib.closing(_iter_sheet_rows(source, label)) as rows:
        return _collect_sheet(rows, path, label, kind)


def _collect_sheet(
    rows: Iterator[tuple[Any, ...]], path: Path, label: str, kind: str
) -> SourceData:
    data_row = 0
    header_sheet_row = 1
    sheet_row = 0
    columns: list[list[str | None]] = [[] for _ in COLUMNS]
    skipped_before: list[int] = []
    try:
        header: list[str] | None = None
        for sheet_row, values in enumerate(rows, start=1):
            if any(value is not None for value in values):
                header_sheet_row = sheet_row
                header_cells = list(values)
                while header_cells and header_cells[-1] is None:
                    header_cells.pop()
                header = [cell_text(value) or "" for value in header_cells]
                break
        if header is None:
            raise LoadError(f"{label}: the first sheet is empty (no header row)")
        check_header(label, header)
        width = len(header)
        positions = [header.index(name) for name in COLUMNS]

        for sheet_row, values in enumerate(rows, start=header_sheet_row + 1):
            if all(value is None for value in values):
                skipped_before.append(data_row + 1)
                continue
            data_row += 1
            if len(values) > width and any(v is not None for v in values[width:]):
                raise LoadError(
                    f"{label}, row {data_row} (sheet row {sheet_row}): a value "
                    f"beyond the {width} header columns"
                )
            for column, position in zip(columns, positions, strict=True):
                column.append(
                    cell_text(values[position]) if position < len(values) else None
                )
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        ValueError,
        ParseError,
    ) as exc:
        raise LoadError(
            f"{label}: the workbook is corrupt; reading stopped after row "
            f"{data_row} (sheet row {sheet_row}) ({exc})"
        ) from exc

    # Trailing empty rows are common in sheets and mean nothing.
    while skipped_before and skipped_before[-1] > data_row:
        skipped_before.pop()
    if data_row == 0:
        raise LoadError(f"{label}: the sheet has a header but no data rows")
    table = pa.table(
        [pa.array(column, type=pa.string()) for column in columns], schema=SCHEMA
    )
    log.info("read %d rows from %s", table.num_rows, label)
    return SourceData(
        path=path,
        label=label,
        kind=kind,
        table=table,
        header_sheet_row=header_sheet_row,
        skipped_before=skipped_before,
    )
