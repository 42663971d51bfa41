"""Statistical disclosure control, the generic engine: which cells of a table of counts to suppress so
that no small count can be worked out from the others. It knows cells, values and linear sum constraints
("total = sum of parts") only — no KPI, no pack. :mod:`reports.disclosure` builds the board pack's cells
and constraints from the KPI declarations and runs this engine on them.

:func:`protect` decides (primary suppression of small counts, then secondary suppression until nothing is
exposed; :class:`Unprotectable` when no pattern can protect a table). The audit (:func:`exposed`) solves
the constraints (:func:`determined`, a null-space test) and bounds every hidden cell by interval
propagation (:func:`feasible_ranges`) under a cautious attacker's knowledge — that a primary ``c`` is
between 1 and 5, a secondary ``c`` is at least 6 (it was chosen from the shown, non-small counts; we
assume the worst, that the attacker can tell which is which), a ``c`` forced by the denominator rule and a
never-displayed complement are at least 0, and a *known* cell (never displayed but assumed known) is known
exactly — and reports the sensitive cells (primary ``c``, forced ``c``, small complements) that either
method pins to one value. :func:`suppress_table` applies it to a DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: What a suppressed cell shows.
SUPPRESSED = "c"
#: Counts from 1 up to this are suppressed (zero is shown).
SMALL_MAX = 5
#: Percentages whose denominator is below this are suppressed.
MIN_DENOMINATOR = 10

#: Reasons a displayed cell is suppressed.
SMALL, DENOMINATOR, SECONDARY = "small", "denominator", "secondary"

_EPS = 1e-9
_INF = math.inf


def is_small(x: float | None) -> bool:
    """A count (or FTE total) that is suppressed on its own: more than 0 and under 6 — for whole
    counts, 1 to 5. Zero, blanks and NaN are not small."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return False
    return not math.isnan(v) and 0 < v < SMALL_MAX + 1


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (not isinstance(x, str) and pd.isna(x))


# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A sum constraint shown (or derivable) in the pack: ``total = sum(parts)``."""

    total: str
    parts: tuple[str, ...]


def _small_bounds(v: float) -> tuple[float, float]:
    return (1.0, float(SMALL_MAX)) if float(v).is_integer() else (0.0, float(SMALL_MAX + 1))


def _attacker_bounds(cell: str, value: float, suppressed: Mapping[str, str], hidden: frozenset[str]
                     ) -> tuple[float, float] | None:
    """What a cautious attacker knows about a cell: None = they see (or know) its value."""
    if cell in hidden:
        return (0.0, _INF)  # never displayed: only that it is a count
    reason = suppressed.get(cell)
    if reason is None:
        return None
    if reason == SMALL:
        return _small_bounds(value)
    if reason == SECONDARY:
        return (float(SMALL_MAX + 1), _INF) if value >= SMALL_MAX + 1 else (0.0, _INF)
    return (0.0, _INF)  # denominator rule: any size, even 0


def feasible_ranges(values: Mapping[str, float], groups: Sequence[Group], suppressed: Mapping[str, str],
                    hidden: Iterable[str] = ()) -> dict[str, tuple[float, float]]:
    """For every cell the attacker cannot see, the range it can be narrowed to: interval propagation
    over the sum constraints (a total lies between the sums of its parts' bounds; a part between the
    total's bounds minus the other parts'), repeated until nothing tightens. A cell neither hidden nor
    suppressed is seen (or, never displayed but *known*, see :func:`protect`)."""
    hidden = frozenset(hidden)
    names = list(values)
    index = {c: i for i, c in enumerate(names)}
    lo: list[float] = []
    hi: list[float] = []
    unknown: list[bool] = []
    for c in names:
        v = float(values[c])
        b = _attacker_bounds(c, v, suppressed, hidden)
        unknown.append(b is not None)
        lo.append(v if b is None else b[0])
        hi.append(v if b is None else b[1])
    gs = [(index[g.total], [index[p] for p in g.parts]) for g in groups
          if unknown[index[g.total]] or any(unknown[index[p]] for p in g.parts)]
    for _ in range(200):
        changed = False
        for t, ps in gs:
            p_lo = 0.0
            p_hi_finite = 0.0
            n_inf = 0
            for p in ps:
                p_lo += lo[p]
                if hi[p] == _INF:
                    n_inf += 1
                else:
                    p_hi_finite += hi[p]
            p_hi = _INF if n_inf else p_hi_finite
            if unknown[t]:
                new_lo, new_hi = max(lo[t], p_lo), min(hi[t], p_hi)
                if new_lo > lo[t] + _EPS or new_hi < hi[t] - _EPS:
                    lo[t], hi[t] = new_lo, new_hi
                    changed = True
            t_lo, t_hi = lo[t], hi[t]
            for p in ps:
                if not unknown[p]:
                    continue
                if hi[p] == _INF:
                    others_hi = _INF if n_inf > 1 else p_hi_finite
                else:
                    others_hi = _INF if n_inf else p_hi_finite - hi[p]
                others_lo = p_lo - lo[p]
                new_lo = max(lo[p], t_lo - others_hi) if others_hi < _INF else lo[p]
                new_hi = min(hi[p], t_hi - others_lo) if t_hi < _INF else hi[p]
                if new_lo > lo[p] + _EPS or new_hi < hi[p] - _EPS:
                    # keep the sums of this group's bounds current for the next part
                    p_lo += new_lo - lo[p]
                    if hi[p] == _INF and new_hi < _INF:
                        n_inf -= 1
                        p_hi_finite += new_hi
                    elif hi[p] < _INF:
                        p_hi_finite += new_hi - hi[p]
                    lo[p], hi[p] = new_lo, new_hi
                    changed = True
        if not changed:
            break
    return {c: (lo[i], hi[i]) for i, c in enumerate(names) if unknown[i]}


def _sensitive(cell: str, value: float, suppressed: Mapping[str, str], hidden: frozenset[str]) -> bool:
    if cell in hidden:
        return is_small(value)
    return suppressed.get(cell) in (SMALL, DENOMINATOR)


def determined(groups: Sequence[Group], unknown: Iterable[str]) -> set[str]:
    """The unknown cells whose value the sum constraints fix whatever the bounds: a cell is determined
    when it is a linear combination of the known cells, i.e. every solution of the homogeneous system
    (the constraints restricted to the unknown cells) is 0 there — its column of the null-space basis is
    zero. This catches combinations of several sums that interval propagation alone misses
    (``x + y = a``, ``x + z = b``, ``y + z = c`` give ``x``)."""
    idx = {c: i for i, c in enumerate(dict.fromkeys(unknown))}
    a = np.zeros((len(groups), len(idx)))
    for r, g in enumerate(groups):
        if g.total in idx:
            a[r, idx[g.total]] += 1.0
        for p in g.parts:
            if p in idx:
                a[r, idx[p]] -= 1.0
    a = a[np.abs(a).sum(axis=1) > 0]
    if not len(a):
        return set()
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > 1e-9 * max(a.shape) * sv[0]).sum())
    free = np.abs(vt[rank:]).max(axis=0) if rank < len(idx) else np.zeros(len(idx))
    return {c for c, i in idx.items() if free[i] < 1e-9}


def pinned(values: Mapping[str, float], groups: Sequence[Group], suppressed: Mapping[str, str],
           hidden: Iterable[str] = ()) -> set[str]:
    """Every cell the attacker cannot see whose value they can nonetheless work out: by interval
    propagation (bounds included) or by solving the sum constraints (:func:`determined`)."""
    hidden = frozenset(hidden)
    ranges = feasible_ranges(values, groups, suppressed, hidden)
    return {c for c, (lo, hi) in ranges.items() if hi - lo <= _EPS} | determined(groups, ranges)


def exposed(values: Mapping[str, float], groups: Sequence[Group], suppressed: Mapping[str, str],
            hidden: Iterable[str] = ()) -> list[str]:
    """Sensitive cells (a primary ``c``, or a hidden small complement) whose value the numbers shown
    (and the cells known to an attacker) pin down exactly. Empty = safe."""
    hidden = frozenset(hidden)
    got = pinned(values, groups, suppressed, hidden)
    return [c for c in values if c in got and _sensitive(c, float(values[c]), suppressed, hidden)]


class Unprotectable(ValueError):
    """No suppression pattern protects the table: it has to be withheld. ``cells``: the exposed cells."""

    def __init__(self, cells: list[str]) -> None:
        self.cells = cells
        super().__init__(f"these small counts cannot be protected by suppression, withhold the table: "
                         f"{', '.join(cells)}")


def protect(values: Mapping[str, float], groups: Sequence[Group] = (), *, hidden: Iterable[str] = (),
            forced: Iterable[str] = (), cost: Mapping[str, float] | None = None,
            known: Iterable[str] = ()) -> dict[str, str]:
    """Decide which displayed cells to suppress.

    ``values``: every cell (displayed, hidden and known), non-negative numbers. ``groups``: the sum
    constraints (linear relations "total = sum of parts", within a KPI or across KPIs). ``hidden``:
    cells never displayed but derivable (complements). ``known``: cells never displayed but assumed
    known to an attacker (e.g. the FTE of permanent managers, guessed from the published count of
    team managers): they pin what they touch and are never chosen for suppression. ``forced``: displayed
    cells suppressed whatever their size (rule 2, the numerator of a percentage whose denominator is
    under 10). Returns ``{cell: reason}`` for every displayed cell to show as ``c`` (reason
    ``small``, ``denominator`` or ``secondary``); every other displayed cell may be shown.

    Secondary cells are added one at a time until :func:`exposed` is empty. Candidates are the shown
    non-zero cells of the groups in which an attacker can pin a cell, in order of preference: lowest
    ``cost`` (default 0; give headline cells a higher cost so breakdowns are sacrificed first), a part
    before a total, the smallest value. The pick is the first candidate whose suppression reduces the
    number of exposed cells, or the first candidate if none does on its own.

    Raises :class:`Unprotectable` (naming the exposed cells) when no choice of shown cells protects
    the table — a table made only of small counts with a small total: withhold it.
    """
    hidden = frozenset(hidden)
    known = frozenset(known)
    for c, v in values.items():
        if _missing(v) or float(v) < 0:
            raise ValueError(f"cell {c!r}: values must be numbers ≥ 0 (got {v!r})")
    for g in groups:
        for c in (g.total, *g.parts):
            if c not in values:
                raise ValueError(f"group {g}: unknown cell {c!r}")
        total = sum(float(values[p]) for p in g.parts)
        if abs(total - float(values[g.total])) > 1e-6 * max(1.0, abs(total)):
            raise ValueError(f"group {g}: parts add up to {total:g}, not the total {float(values[g.total]):g}")
    suppressed: dict[str, str] = {}
    for c in forced:
        if c in values and c not in hidden and c not in known:
            suppressed[c] = SMALL if is_small(values[c]) else DENOMINATOR
    for c, v in values.items():
        if c not in hidden and c not in known and is_small(v):
            suppressed[c] = SMALL
    order = {c: i for i, c in enumerate(values)}
    bad = exposed(values, groups, suppressed, hidden)
    for _ in range(len(values) + 1):
        if not bad:
            break
        pick, after = _next_secondary(len(bad), values, groups, suppressed, hidden, order, cost or {}, known)
        if pick is None:
            # Everything that could be hidden is hidden and a small count is still pinned: only when
            # the whole group is tiny (e.g. five 1s under a total of 5). Such a table must be withheld.
            raise Unprotectable(bad)
        suppressed[pick] = SECONDARY
        bad = exposed(values, groups, suppressed, hidden) if after is None else after
    return suppressed


def _next_secondary(n_bad: int, values, groups, suppressed, hidden, order, cost, known=frozenset()
                    ) -> tuple[str | None, list[str] | None]:
    """The next secondary cell (see :func:`protect` for the order of preference) and, when it was
    tried, what stays exposed with it. Candidates: shown non-zero cells in the groups of any cell the
    attacker can pin down (a pinned secondary can give a primary away), widening to every group that
    holds a hidden cell if those have none."""
    def shown(c: str) -> bool:
        return c not in hidden and c not in known and c not in suppressed and float(values[c]) > _EPS

    unseen = {c for c in values if c in hidden or c in suppressed}
    totals = {g.total for g in groups}
    for touch in (pinned(values, groups, suppressed, hidden), unseen):
        gs = [g for g in groups if touch & {g.total, *g.parts}]
        candidates = sorted({c for g in gs for c in (g.total, *g.parts) if shown(c)},
                            key=lambda c: (cost.get(c, 0), c in totals, float(values[c]), order[c]))
        if not candidates:
            continue
        for c in candidates:  # in order of preference: the first that helps
            after = exposed(values, groups, {**suppressed, c: SECONDARY}, hidden)
            if len(after) < n_bad:
                return c, after
        return candidates[0], None
    return None, None


# --- tables ----------------------------------------------------------------------------------


def suppress_table(df: pd.DataFrame, count_cols: Sequence[str], total_col: str | None = None, *,
                   total_row=None, forced: Iterable[tuple] = ()) -> pd.DataFrame:
    """A copy of ``df`` with suppressed counts shown as ``"c"``.

    Contract: ``count_cols`` hold counts ≥ 0 (NaN = not available: left as is and outside any sum).
    If ``total_col`` is given, in each row the ``count_cols`` add up to it (row groups). If
    ``total_row`` (an index label) is given, in each of ``count_cols`` (and ``total_col``) the other
    rows add up to that row (column groups). A group that does not add up raises ``ValueError``.
    ``forced``: (row label, column) cells to suppress whatever their size. The suppressed cells and
    their reasons are in ``result.attrs["suppressed"]`` as ``{(row, col): reason}``. Columns holding a
    ``c`` become ``object`` dtype. Raises :class:`Unprotectable` if no suppression pattern protects the
    table (only small counts under a small total): do not publish it.
    """
    cols = list(count_cols) + ([total_col] if total_col else [])
    values: dict[str, float] = {}
    key: dict[str, tuple] = {}
    for r in df.index:
        for c in cols:
            v = df.at[r, c]
            if not _missing(v):
                name = f"{r!r}|{c}"
                values[name] = float(v)
                key[name] = (r, c)
    name_of = {v: k for k, v in key.items()}
    groups: list[Group] = []

    def add(total: tuple, parts: list[tuple]) -> None:
        if total in name_of and all(p in name_of for p in parts) and parts:
            groups.append(Group(name_of[total], tuple(name_of[p] for p in parts)))

    if total_col:
        for r in df.index:
            add((r, total_col), [(r, c) for c in count_cols])
    if total_row is not None:
        for c in cols:
            add((total_row, c), [(r, c) for r in df.index if r != total_row])
    decided = protect(values, groups, forced=[name_of[k] for k in forced if k in name_of])
    out = df.copy()
    for name in decided:
        r, c = key[name]
        if out[c].dtype != object:
            out[c] = out[c].astype(object)
        out.at[r, c] = SUPPRESSED
    out.attrs["suppressed"] = {key[n]: why for n, why in decided.items()}
    return out
