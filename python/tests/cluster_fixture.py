"""Invented invoice lines whose right clustering is obvious.

Three groups of twelve customers, far apart on all three RFM features, and
one extreme customer:
- loyal (81001-81012): 20 to 25 purchase invoices through the year, the last
  one 1 to 5 days before the as-of date, about £200 each: recent, frequent,
  high spend;
- regular (82001-82012): 4 or 5 invoices of about £60, the last 60 to 80
  days before: neither;
- one-off (83001-83012): one invoice of about £20, 300 to 330 days before:
  lapsed, infrequent, low spend;
- extreme (89001): like the loyal group but 60 invoices of £1,000.
A guest line on 9 December 2011 sets the as-of date to 10 December 2011.
Every value is made up; no line comes from the real dataset.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from retail_files import HEADER

AS_OF = datetime(2011, 12, 10)
LOYAL = [81001 + i for i in range(12)]
REGULAR = [82001 + i for i in range(12)]
ONE_OFF = [83001 + i for i in range(12)]
EXTREME = 89001
GROUPS = {"loyal": LOYAL, "regular": REGULAR, "one_off": ONE_OFF}


def _customer_lines(
    customer: int,
    invoices: int,
    last_days_ago: int,
    spacing_days: int,
    unit_price: str,
    first_invoice_no: int,
) -> list[list[str]]:
    lines = []
    for n in range(invoices):
        when = AS_OF - timedelta(days=last_days_ago + n * spacing_days, hours=12)
        lines.append(
            [
                str(first_invoice_no + n),
                "20001",
                "INVENTED TIN",
                "1",
                when.strftime("%Y-%m-%d %H:%M:%S"),
                unit_price,
                f"{customer}.0",
                "United Kingdom",
            ]
        )
    return lines


def cluster_lines() -> list[list[str]]:
    lines: list[list[str]] = []
    invoice_no = 700000
    for i, customer in enumerate(LOYAL):
        count = 20 + i % 6
        lines += _customer_lines(
            customer, count, 1 + i % 5, 13, f"{195 + i}.00", invoice_no
        )
        invoice_no += count
    for i, customer in enumerate(REGULAR):
        count = 4 + i % 2
        lines += _customer_lines(
            customer, count, 60 + 2 * i, 30, f"{58 + i}.50", invoice_no
        )
        invoice_no += count
    for i, customer in enumerate(ONE_OFF):
        lines += _customer_lines(
            customer, 1, 300 + 3 * i, 1, f"{18 + i}.25", invoice_no
        )
        invoice_no += 1
    lines += _customer_lines(EXTREME, 60, 2, 5, "1000.00", invoice_no)
    invoice_no += 60
    guest_day = AS_OF - timedelta(hours=12)
    lines.append(
        [str(invoice_no), "20001", "INVENTED TIN", "1",
         guest_day.strftime("%Y-%m-%d %H:%M:%S"), "3.00", "", "United Kingdom"]
    )  # fmt: skip
    return lines


def write_cluster_lines(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(cluster_lines())
    return path
