"""Check every value against the contract the dbt staging model relies on.

The staging model casts the raw strings; a value it cannot cast would fail the
whole dbt run far from its cause, or worse become a silent null. So the loader
checks each rule here, vectorised with pyarrow.compute, and refuses the load
with a message that names the file, the row, the column and the value.

Rules (values are checked exactly as delivered; no trimming):

- InvoiceNo, StockCode, InvoiceDate, Quantity, UnitPrice, Country: required,
  not empty and not only spaces. Description and CustomerID may be empty.
- Quantity: a whole number, optional leading minus, that fits a 32-bit int.
- UnitPrice: a plain decimal number, optional leading minus, at most 15
  integer digits and at most 3 decimal places (trailing zeros beyond the
  third place are allowed: 2.5500).
- InvoiceDate: ``YYYY-MM-DD HH:MM:SS`` or ``M/D/YYYY H:MM`` (month, day and
  hour with one or two digits), and a real date and time of day.
- CustomerID: a positive whole number written as ``17850`` or ``17850.0``
  (any zeros after the point), fitting a 32-bit int.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from retail_rfm.errors import LoadError
from retail_rfm.source_files import COLUMNS, SourceData

log = logging.getLogger(__name__)

MAX_LISTED = 20
MAX_VALUE_CHARS = 60
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

REQUIRED = ("InvoiceNo", "StockCode", "InvoiceDate", "Quantity", "UnitPrice", "Country")

ISO_DATE = r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$"
US_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})$"
DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())


@dataclass(frozen=True)
class Check:
    """One rule's failures: a boolean mask over the rows, and what it means."""

    column: str
    failed: pa.Array
    problem: str


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based data row
    column: str
    value: str | None
    problem: str


@dataclass(frozen=True)
class Report:
    """What validation found: the first problems, and how many in all."""

    problems: list[Problem]
    bad_rows: int
    bad_values: int


def _mask(values: pa.Array) -> pa.Array:
    """A boolean mask with nulls read as False."""
    return pc.fill_null(values, False)


def _matches(values: pa.Array, pattern: str) -> pa.Array:
    return _mask(pc.match_substring_regex(values, pattern))


def _present(values: pa.Array) -> pa.Array:
    """Not null and not only whitespace: the values the format rules check."""
    return _mask(pc.not_equal(pc.utf8_trim_whitespace(values), ""))


def _and_not(a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.and_(a, pc.invert(b))


def _int_in_range(digits: pa.Array, ok: pa.Array, low: int, high: int) -> pa.Array:
    """For rows where ``ok``: does the integer text ``digits`` lie in [low, high]?

    Texts longer than 11 characters (sign and leading zeros aside) are out of
    range without a cast; the rest cast safely to int64.
    """
    significant = pc.replace_substring_regex(digits, r"^(-?)0+(\d)", r"\1\2")
    short = _mask(pc.less_equal(pc.utf8_length(significant), 11))
    castable = pc.and_(ok, short)
    numbers = pc.cast(
        pc.if_else(castable, significant, pa.scalar(None, pa.string())), pa.int64()
    )
    inside = _mask(
        pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
    )
    return pc.and_(ok, inside)


def check_required(table: pa.Table) -> list[Check]:
    return [
        Check(name, pc.invert(_present(table[name])), "is required but empty")
        for name in REQUIRED
    ]


def check_quantity(values: pa.Array) -> list[Check]:
    present = _present(values)
    whole = _matches(values, r"^-?\d+$")
    in_range = _int_in_range(values, pc.and_(present, whole), INT32_MIN, INT32_MAX)
    return [
        Check("Quantity", _and_not(present, whole), "is not a whole number"),
        Check(
            "Quantity",
            _and_not(pc.and_(present, whole), in_range),
            "does not fit a 32-bit integer",
        ),
    ]


def check_unit_price(values: pa.Array) -> list[Check]:
    present = _present(values)
    number = _matches(values, r"^-?\d+(\.\d+)?$")
    ok = pc.and_(present, number)
    return [
        Check(
            "UnitPrice",
            _and_not(present, number),
            "is not a decimal number (like 2.55 or -11062.06)",
        ),
        Check(
            "UnitPrice",
            pc.and_(ok, _matches(values, r"\.\d{3}\d*[1-9]")),
            "has more than 3 decimal places",
        ),
        Check(
            "UnitPrice",
            pc.and_(ok, _matches(values, r"^-?0*[1-9]\d{15,}")),
            "has more than 15 integer digits",
        ),
    ]


def _date_parts(values: pa.Array, iso: pa.Array) -> dict[str, pa.Array]:
    """Year, month, day, hour, minute, second as int64 (null where no form)."""
    iso_parts = pc.extract_regex(
        values,
        r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}) "
        r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})$",
    )
    us_parts = pc.extract_regex(
        values,
        r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}) "
        r"(?P<hour>\d{1,2}):(?P<minute>\d{2})$",
    )
    parts: dict[str, pa.Array] = {}
    for name in ("year", "month", "day", "hour", "minute"):
        text = pc.if_else(
            iso, pc.struct_field(iso_parts, name), pc.struct_field(us_parts, name)
        )
        parts[name] = pc.cast(text, pa.int64())
    second = pc.if_else(iso, pc.struct_field(iso_parts, "second"), pa.scalar("0"))
    parts["second"] = pc.cast(second, pa.int64())
    return parts


def _between(values: pa.Array, low: int | pa.Array, high: int | pa.Array) -> pa.Array:
    return _mask(pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high)))


def _is_leap(year: pa.Array) -> pa.Array:
    def divisible(by: int) -> pa.Array:
        return pc.equal(pc.multiply(pc.divide(year, by), by), year)

    return _mask(
        pc.or_(pc.and_(divisible(4), pc.invert(divisible(100))), divisible(400))
    )


def check_invoice_date(values: pa.Array) -> list[Check]:
    present = _present(values)
    iso = _matches(values, ISO_DATE)
    us = _matches(values, US_DATE)
    formed = pc.or_(iso, us)
    ok = pc.and_(present, formed)
    # Rows outside ``ok`` get harmless placeholders so every cast succeeds.
    placeholder = pa.scalar("2000-01-01 00:00:00")
    parts = _date_parts(pc.if_else(ok, values, placeholder), pc.or_(iso, pc.invert(ok)))
    month_ok = _between(parts["month"], 1, 12)
    month_index = pc.subtract(pc.if_else(month_ok, parts["month"], 1), 1)
    days = pc.take(DAYS_IN_MONTH, month_index)
    february = pc.equal(parts["month"], 2)
    days = pc.if_else(pc.and_(february, _is_leap(parts["year"])), 29, days)
    real_date = pc.and_(
        pc.and_(month_ok, _between(parts["day"], 1, days)),
        _between(parts["year"], 1, 9999),
    )
    real_time = pc.and_(
        pc.and_(_between(parts["hour"], 0, 23), _between(parts["minute"], 0, 59)),
        _between(parts["second"], 0, 59),
    )
    return [
        Check(
            "InvoiceDate",
            _and_not(present, formed),
            "is not a date in the form YYYY-MM-DD HH:MM:SS or M/D/YYYY H:MM",
        ),
        Check("InvoiceDate", _and_not(ok, real_date), "is not a real calendar date"),
        Check(
            "InvoiceDate",
            pc.and_(pc.and_(ok, real_date), pc.invert(real_time)),
            "is not a real time of day",
        ),
    ]


def check_customer_id(values: pa.Array) -> list[Check]:
    given = pc.is_valid(values)
    number = _matches(values, r"^\d+(\.\d+)?$")
    ok = pc.and_(given, number)
    fraction = pc.and_(ok, _matches(values, r"\.\d*[1-9]"))
    whole = _and_not(ok, fraction)
    integer_part = pc.replace_substring_regex(values, r"\.\d+$", "")
    positive = pc.and_(whole, pc.invert(_matches(integer_part, r"^0+$")))
    in_range = _int_in_range(integer_part, positive, 1, INT32_MAX)
    return [
        Check(
            "CustomerID",
            _and_not(given, number),
            "is not a customer number (like 17850 or 17850.0; leave it empty "
            "when unknown)",
        ),
        Check("CustomerID", fraction, "has a non-zero fraction"),
        Check("CustomerID", _and_not(whole, positive), "is not a positive number"),
        Check(
            "CustomerID",
            _and_not(positive, in_range),
            "does not fit a 32-bit integer",
        ),
    ]


def run_checks(table: pa.Table) -> list[Check]:
    """Every rule over the whole table; each Check marks the rows it fails."""
    columns = {name: table[name].combine_chunks() for name in COLUMNS}
    return [
        *check_required(table),
        *check_quantity(columns["Quantity"]),
        *check_unit_price(columns["UnitPrice"]),
        *check_invoice_date(columns["InvoiceDate"]),
        *check_customer_id(columns["CustomerID"]),
    ]


def collect_problems(table: pa.Table, limit: int = MAX_LISTED) -> Report:
    """The first ``limit`` problems in row order, and the totals."""
    checks = run_checks(table)
    column_order = {name: index for index, name in enumerate(COLUMNS)}
    candidates: list[Problem] = []
    bad_values = 0
    any_bad: pa.Array | None = None
    for check in checks:
        failed = pc.fill_null(check.failed, False)
        count = pc.sum(failed).as_py() or 0
        if count == 0:
            continue
        bad_values += count
        any_bad = failed if any_bad is None else pc.or_(any_bad, failed)
        indices = pc.indices_nonzero(failed).slice(0, limit).to_pylist()
        values = table[check.column].take(indices).to_pylist()
        candidates.extend(
            Problem(index + 1, check.column, value, check.problem)
            for index, value in zip(indices, values, strict=True)
        )
    candidates.sort(key=lambda p: (p.row, column_order[p.column]))
    bad_rows = (pc.sum(any_bad).as_py() or 0) if any_bad is not None else 0
    return Report(candidates[:limit], bad_rows, bad_values)


def _quote(value: str | None) -> str:
    if value is None:
        return "''"
    if len(value) > MAX_VALUE_CHARS:
        value = value[: MAX_VALUE_CHARS - 3] + "..."
    return "'" + value.replace("\n", "\\n").replace("\r", "\\r") + "'"


def format_problem(source: SourceData, problem: Problem) -> str:
    return (
        f"{source.where(problem.row)}: {problem.column} {_quote(problem.value)} "
        f"{problem.problem}"
    )


def validate(source: SourceData) -> None:
    """Raise LoadError listing the first problems if any value breaks a rule."""
    report = collect_problems(source.table)
    if not report.problems:
        log.info("validated %d rows from %s: no problems", source.rows, source.label)
        return
    lines = "\n  ".join(format_problem(source, p) for p in report.problems)
    shown = len(report.problems)
    first = f"; the first {shown}" if shown < report.bad_values else ""
    log.warning(
        "%s: %d invalid values in %d rows",
        source.label,
        report.bad_values,
        report.bad_rows,
    )
    raise LoadError(
        f"{source.label}: {report.bad_values} invalid value(s) in "
        f"{report.bad_rows} of {source.rows} row(s){first}:\n  {lines}"
    )
