"""Settings changes in plain English, and since when each setting has been in force (pure).

:func:`summarise` puts words to every key of :func:`metrics.reviews.settings.settings_changes` (the
machine diff that :func:`~metrics.reviews.settings.diff_settings` keeps for the audit trail)::

    summarise(old, new)
    # ['Agency social workers (% of FTE): final target 20% → 18%', 'checkpoint 1 Dec 2023 removed',
    #  'reporting lag 14 → 21 days']

KPI values carry their unit (20%, 85 FTE, 14); an amber tolerance of a percentage KPI is in percentage
points; dates are UK dates ("1 Dec 2023"), months "Feb 2023". Per-KPI changes come first (registry
order, one group per KPI), then checkpoints, then how progress is judged, then the council.

:func:`in_force_since` reads the settings history: for each setting, the first version of the unbroken
run of versions, ending at the latest, in which it has held its current value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.kpis import REGISTRY
from metrics.months import short_month
from metrics.reviews.settings import ABSENT, ReviewSettings, _flatten, default_settings, settings_changes

SIX_MONTH = " (six-month review)"


def uk_date(d: dt.date | str) -> str:
    """'2023-12-01' → '1 Dec 2023'."""
    d = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])
    return f"{d.day} {d.strftime('%b %Y')}"


def kpi_value(kpi_id: str, v: float | None) -> str:
    """A target or baseline in the KPI's unit: 20%, 85 FTE, 14 (counts)."""
    if v is None:
        return "none"
    unit = REGISTRY[kpi_id].unit
    return f"{v:g}%" if unit == "percent" else f"{v:g} FTE" if unit == "fte" else f"{v:g}"


def tolerance_unit(kpi_id: str) -> str:
    """What an amber tolerance is measured in: 'percentage points' for a percentage KPI."""
    unit = REGISTRY[kpi_id].unit
    return "percentage points" if unit == "percent" else "FTE" if unit == "fte" else "(count)"


def _tolerance(kpi_id: str, x: float, y: float) -> str:
    unit = tolerance_unit(kpi_id)
    return f"amber tolerance {x:g} → {y:g}" + ("" if unit == "(count)" else f" {unit}")


def _quoted(v: Any) -> str:
    return f"'{v}'"


def _change(name: str, x: Any, y: Any, say=str) -> str:
    if x is ABSENT or x is None and y is not None:
        return f"{name} set: {say(y)}"
    if y is ABSENT or y is None:
        return f"{name} removed (was {say(x)})"
    return f"{name} {say(x)} → {say(y)}"


JUDGE_ON = {"month": "the month alone", "rolling_3_months": "three months pooled"}
TWO_OF_THREE = {True: "a point beyond the limits counts", False: "a point beyond the limits does not count"}


def _fix_after(v: Any) -> str:
    return "every point" if v in (None, ABSENT) else f"the first {v} points"


def _kpi_words(kpi_id: str, field: str, x: Any, y: Any) -> str:
    v = lambda val: kpi_value(kpi_id, val)  # noqa: E731
    if field == "baseline_month":
        return _change("baseline month", x, y, short_month)
    if field == "baseline_value":
        return _change("baseline", x, y, v)
    if field == "final_target":
        return _change("final target", x, y, v)
    if field == "final_date":
        return _change("final target due", x, y, uk_date)
    if field == "tolerance":
        return _tolerance(kpi_id, x, y)
    if m := re.fullmatch(r"checkpoint_targets\[(.+)\]", field):
        return _change(f"target at {uk_date(m[1])}", x, y, v)
    if field == "judge_on":
        return f"judged on {JUDGE_ON.get(x, x)} → {JUDGE_ON.get(y, y)}"
    if field == "fix_after":
        return f"process limits fixed on {_fix_after(x)} → {_fix_after(y)}"
    if m := re.fullmatch(r"rebase (\d{4}-\d{2})", field):
        month = short_month(m[1])
        if x is ABSENT:
            return f"rebase from {month} added ({_quoted(y)})"
        if y is ABSENT:
            return f"rebase from {month} removed (was {_quoted(x)})"
        return f"rebase from {month}: reason {_quoted(x)} → {_quoted(y)}"
    return f"{field} {x} → {y}"  # pragma: no cover - every flattened key is named above


def _checkpoint_words(date: str, x: Any, y: Any) -> str:
    name = f"checkpoint {uk_date(date)}"
    if x is ABSENT:
        six = ", the six-month review" if y.endswith(SIX_MONTH) else ""
        return f"{name} added ({_quoted(y.removesuffix(SIX_MONTH))}{six})"
    if y is ABSENT:
        return f"{name} removed"
    (lx, sx), (ly, sy) = ((s.removesuffix(SIX_MONTH), s.endswith(SIX_MONTH)) for s in (x, y))
    parts = [f"renamed {_quoted(lx)} → {_quoted(ly)}"] if lx != ly else []
    if sx != sy:
        parts.append("now the six-month review" if sy else "no longer the six-month review")
    return f"{name} " + ", ".join(parts)


#: The face-to-face setting in words (ToR 2b(iii)).
HYBRID = {True: "hybrid counts as face to face", False: "in person only (hybrid not counted)"}

GLOBAL = {
    "judgement.reporting_lag_days": lambda x, y: f"reporting lag {x} → {y} days",
    "judgement.run_length": lambda x, y: f"run length (points in a row that make a shift) {x} → {y}",
    "judgement.screening": lambda x, y: f"screening of unusual moving ranges {'on' if x else 'off'} → "
                                        f"{'on' if y else 'off'}",
    "judgement.two_of_three_counts_beyond_limits": lambda x, y: f"two-of-three rule: {TWO_OF_THREE[x]} → "
                                                                f"{TWO_OF_THREE[y]}",
    "council_name": lambda x, y: f"council name {_quoted(x)} → {_quoted(y)}",
    "la_code": lambda x, y: f"LA code {x} → {y}",
    "historic_complaints_cutoff": lambda x, y: f"historic complaints: received before {uk_date(x)} → {uk_date(y)}",
    "hybrid_counts_as_face_to_face": lambda x, y: f"face-to-face conferences: {HYBRID[x]} → {HYBRID[y]}",
}


def summarise(old: ReviewSettings | None, new: ReviewSettings) -> list[str]:
    """What changed from ``old`` to ``new`` in plain English, one item per KPI or setting. ``old`` None
    is the first saved version: it is described against the built-in defaults in force before it."""
    if old is None:
        words = summarise(default_settings(), new)
        return ["first saved version (the built-in defaults, unchanged)"] if words == ["no changes"] else \
            ["first saved version, from the built-in defaults", *words]
    per_kpi: dict[str, list[str]] = {}
    checkpoints, judgement, council = [], [], []
    for key, x, y in settings_changes(old, new):
        if key in REGISTRY:
            per_kpi.setdefault(key, []).append("target added: rated at reviews" if x is ABSENT
                                               else "target removed: no longer rated at reviews")
        elif key.startswith("checkpoint "):
            checkpoints.append(_checkpoint_words(key.removeprefix("checkpoint "), x, y))
        elif key in GLOBAL:
            (judgement if key.startswith("judgement.") else council).append(GLOBAL[key](x, y))
        else:
            parts = key.removeprefix("judgement.").split(".", 1)
            per_kpi.setdefault(parts[0], []).append(_kpi_words(parts[0], parts[1], x, y))
    out = [f"{REGISTRY[k].label}: {', '.join(per_kpi[k])}" for k in REGISTRY if k in per_kpi]
    return [*out, *checkpoints, *judgement, *council] or ["no changes"]


# --- since when -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    """Since when a setting has held its value: a saved version (id, UTC time), or the defaults."""

    version: int | None  # None: the built-in default, never saved
    saved_at: str | None
    first: bool = False  # held since the first saved version (the defaults may have had it before)

    def words(self) -> str:
        """'since 3 May 2024 (version 2)'; 'the built-in default, never saved'."""
        if self.version is None:
            return "the built-in default, never saved"
        return f"since {uk_date(self.saved_at)} (version {self.version})"


def in_force_since(history: Sequence) -> dict[str, InForce]:
    """Flattened key (:func:`metrics.reviews.settings.settings_changes`'s keys) → :class:`InForce`, for
    every key of the latest version. ``history`` is :func:`metrics.reviews.settings_history`, oldest first
    (anything with ``id``, ``saved_at`` and ``settings``)."""
    if not history:
        return {k: InForce(None, None) for k in _flatten(default_settings())}
    flats = [_flatten(v.settings) for v in history]
    out = {}
    for key, value in flats[-1].items():
        i = len(flats) - 1
        while i > 0 and key in flats[i - 1] and flats[i - 1][key] == value:
            i -= 1
        out[key] = InForce(history[i].id, history[i].saved_at, first=i == 0)
    return out
