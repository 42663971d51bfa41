"""The judged value of a KPI at a month and its 95% interval (shared/spec/judgement.md sections 2–3). Pure.

* :func:`wilson` — the Wilson score interval of a proportion, on the 0–100 scale;
* :func:`judged_value` — one month's value, or three months pooled (Σ numerators ÷ Σ denominators over
  the judged month and the two before it; months without a value are left out), with its interval;
* :func:`target_within_interval` — the figure cannot be told apart from the target at 95%.

Reading of the spec: the judged month itself must have a value (section 1: "if the judged month has no
value the actual is ``no_data``"); only then are the two months before it pooled with it, those that
have a value. A month counts as having a value for pooling only when it has a numerator and a positive
denominator (a percentage always has them; a zero denominator is "no data").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from metrics.months import month_from_index, month_index

#: The two-sided 95% normal quantile the spec names.
Z95 = 1.959964
BASES = ("month", "rolling_3_months")
POOLED_MONTHS = 3


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def wilson(numerator: float, denominator: float, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``numerator``/``denominator`` on the 0–100 scale; None without a
    positive denominator. ``wilson(5, 20)`` → (11.19…, 46.87…)."""
    if _missing(numerator) or _missing(denominator) or denominator <= 0:
        return None
    n = float(denominator)
    p = min(max(float(numerator) / n, 0.0), 1.0)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(centre - half, 0.0) * 100, min(centre + half, 1.0) * 100)


def target_within_interval(target: float | None, interval: tuple[float, float] | None) -> bool | None:
    """True when ``target`` lies inside ``interval`` (ends included); None when either is missing."""
    if _missing(target) or interval is None:
        return None
    low, high = interval
    return low <= float(target) <= high


@dataclass(frozen=True)
class JudgedValue:
    value: float | None  # the KPI's unit; pooled: Σnum ÷ Σden × 100
    numerator: float | None
    denominator: float | None
    months: tuple[str, ...]  # the months it rests on, oldest first (empty: no value)
    basis: str  # "month" | "rolling_3_months"
    interval: tuple[float, float] | None  # 95% Wilson, 0–100 (percentages with a denominator only)

    @property
    def months_pooled(self) -> int:
        return len(self.months)


def _pair(row) -> tuple[float | None, float | None, float | None]:
    value, num, den = (None if _missing(x) else float(x) for x in (tuple(row) + (None, None, None))[:3])
    return value, num, den


def judged_value(rows: Mapping[str, tuple[float | None, float | None, float | None]], month: str, basis: str,
                 *, percent: bool) -> JudgedValue:
    """The value judged at ``month`` from ``rows`` (month → (value, numerator, denominator)).

    ``basis`` ``month``: the month's value (and its Wilson interval when a percentage has a denominator).
    ``rolling_3_months`` (percentages only; other units are always judged on the month): Σ numerators ÷
    Σ denominators × 100 over ``month`` and the two months before it that have a value."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)} (got '{basis}')")
    if not percent:
        basis = "month"
    value, num, den = _pair(rows.get(month, ()))
    if value is None:
        return JudgedValue(None, None, None, (), basis, None)
    if basis == "month":
        interval = wilson(num, den) if percent and num is not None and den else None
        return JudgedValue(value, num, den, (month,), basis, interval)
    i = month_index(month)
    used, s_num, s_den = [], 0.0, 0.0
    for m in (month_from_index(i - k) for k in range(POOLED_MONTHS - 1, -1, -1)):
        v, n, d = _pair(rows.get(m, ()))
        if v is None or n is None or d is None or d <= 0:
            continue
        used.append(m)
        s_num += n
        s_den += d
    if month not in used:  # a value without its counts (hand-made frames): nothing to pool
        return JudgedValue(None, None, None, (), basis, None)
    return JudgedValue(s_num / s_den * 100, s_num, s_den, tuple(used), basis, wilson(s_num, s_den))
