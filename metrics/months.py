"""Calendar months as 'YYYY-MM' strings: the one place that does month arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt


def month_end(month: str) -> dt.date:
    """E: the last day of ``YYYY-MM``."""
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (empty if last < first)."""
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_of(d: dt.date) -> str:
    """'YYYY-MM' of a date."""
    return f"{d.year:04d}-{d.month:02d}"


def month_label(month: str) -> str:
    """'2024-05' → 'May 2024'."""
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


def short_month(month: str | None) -> str:
    """'2024-05' → 'May 2024' with the month abbreviated ('Jun 2024'); '' for no month."""
    if not month:
        return ""
    return f"{calendar.month_abbr[int(month[5:7])]} {month[:4]}"


def month_index(month: str) -> int:
    """A month as a count of months since year 0 (consecutive months differ by 1)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_from_index(i: int) -> str:
    """The inverse of :func:`month_index`."""
    return f"{i // 12:04d}-{i % 12 + 1:02d}"
