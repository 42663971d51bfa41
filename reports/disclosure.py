"""Statistical disclosure control for the PUBLIC board pack and public CSV exports. Pure pandas.

The rules are :data:`RULES` — printed word for word on the public pack's "Suppression rule" page and
in ``docs/boardpack.md`` (a test keeps the two in step). In short: counts of 1–5 are ``c`` and zero is
shown; a percentage needs a denominator of at least 10 and both of its counts shown; secondary
suppression stops any ``c`` being worked out from totals (numerator + complement = denominator,
formats / grades / types = the month's total, teams = the council) or across measures (:data:`LINKS`:
all FTE = agency + permanent practitioners + permanent managers); a suppressed actual takes its RAG,
direction of travel and forecast with it; charts leave gaps; no identifiers; public commentary is
redacted (:func:`redact_text`).

The engine (:func:`protect`) works on named cells and linear sum constraints ("total = sum of parts"),
within a KPI or across KPIs (the KPIs of one family are decided together, :func:`linked_cells`). The
audit (:func:`exposed`) solves the constraints (:func:`determined`, a null-space test) and bounds every
hidden cell by interval propagation under a cautious attacker's knowledge — that a primary ``c`` is
between 1 and 5, a secondary ``c`` is at least 6 (it was chosen from the shown, non-small counts; we
assume the worst, that the attacker can tell which is which), a ``c`` forced by the denominator rule
and a never-displayed complement are at least 0, and a *known* cell (never displayed, e.g. managers'
FTE) is known exactly — and reports the sensitive cells (primary ``c``, forced ``c``, small
complements) that either method pins to one value.

Public API: :func:`is_small`, :func:`protect` (:class:`Unprotectable`), :func:`exposed`, :func:`pinned`,
:func:`determined`, :func:`feasible_ranges`, :func:`suppress_table`, :func:`month_cells`,
:func:`linked_cells`, :func:`decide` (→ :class:`Decisions`), :func:`suppress_series`, :func:`redact_text`,
:data:`SUPPRESSED`, :data:`RULES`, :data:`LINKS`, :data:`REDACTION_RULES`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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

#: The redaction rules in plain words (rule 9 of :data:`RULES`, docs/boardpack.md).
REDACTION_RULES = (
    "e-mail addresses; phone numbers; dates (a day, month and year in any common form; a month and year "
    "alone, such as 'March 2025' or 'Q3 2024', is kept); the code or number after 'child', 'DOB', 'born', "
    "'NHS', 'ID' or 'ref'; up to three capitalised words (a name) just before 'DOB' or 'born'; codes mixing "
    "letters and at least 4 digits (a financial year such as 'FY2024' is kept); and runs of 5 or more "
    "digits, or 9 or more with spaces (such as NHS numbers). Percentages, amounts, years and references "
    "such as 'ToR 2a' are kept"
)


#: The rules in plain words: printed on the public pack's suppression page and in docs/boardpack.md.
RULES: tuple[str, ...] = (
    f"'{SUPPRESSED}' marks a suppressed figure. Counts from 1 to {SMALL_MAX} are shown as "
    f"'{SUPPRESSED}' (the Department for Education convention); FTE totals over 0 and under "
    f"{SMALL_MAX + 1} likewise. Zero is shown.",
    f"A percentage whose denominator is under {MIN_DENOMINATOR} is shown as '{SUPPRESSED}', and so "
    "is its numerator (even 0). For 'team managers who are permanent (%)' the denominator is hidden "
    "instead, so the headline count stays visible.",
    "A percentage is shown only when both counts it is calculated from can be shown.",
    "Secondary suppression: where a suppressed figure could be worked out exactly from a total and "
    "the other figures shown (for example a numerator, its complement and the denominator; formats "
    "or grades and the month's total; teams and the council total), another figure in that group is "
    "suppressed too: the smallest non-zero one that helps, taking breakdown figures before the KPI's "
    "own numerator and denominator, or the total if there is none. This is repeated until no "
    "suppressed figure can be worked out. A suppressed figure can be narrowed to a range, never to "
    "one number.",
    "The sums between measures count too: all FTE = agency FTE + permanent FTE, and permanent FTE = "
    "permanent social workers (FTE) + permanent managers, whose FTE is treated as known to anyone (the "
    "number of permanent team managers is published). So where agency FTE is 'c', the same team's (or "
    "the council's) all FTE or permanent social workers (FTE) is 'c' as well, preferring all FTE. No "
    "combination of the sums shown, within or across measures, gives a suppressed figure back.",
    "Where a KPI's actual is suppressed, its RAG rating, direction of travel and forecast are not "
    "shown, and the overall count says how many ratings were not shown. Direction of travel is also "
    "withheld when the previous checkpoint's value is suppressed; a forecast is withheld when any "
    "month it was fitted on is suppressed. A final review's figure that has since been restated is "
    "shown only if it is a count that is not small (the denominator of a frozen percentage is not kept).",
    "Where the numbers are so small that no pattern of suppression can protect a breakdown (for example "
    "every team has 1 and the total is itself suppressed), that month's breakdowns are not shown at all.",
    "Charts leave a gap for a suppressed month. No totals or differences across months are shown.",
    "Each month is judged once, from every figure any pack could show for it (team, format and grade "
    "breakdowns included), so different packs never disagree.",
    "No child or worker identifiers are shown anywhere. The public pack omits who wrote each piece "
    "of commentary and replaces with '[removed]' in its text: " + REDACTION_RULES + ".",
    "The two milestone measures count items of the published Improvement Plan and SEND strategy, not "
    "people, so they are shown in full.",
)

#: KPIs that count plan items rather than people: nothing about a person can be disclosed by them.
NOT_ABOUT_PEOPLE = ("send_milestones_complete", "improvement_plan_milestones_complete")


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


# --- the board pack's cells, per KPI and month -----------------------------------------------

PERCENT_KPIS = ("agency_rate", "face_to_face_conferences", "assessment_nfa_rate", "three_plus_social_workers",
                "audits_good_or_better", "send_milestones_complete", "improvement_plan_milestones_complete")
FORMATS = ("face_to_face", "hybrid", "virtual")
CONFERENCE_TYPES = ("initial", "review")
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GOOD_GRADES = ("outstanding", "good")


#: Secondary suppression sacrifices breakdown cells before the KPI's own numerator and denominator.
HEADLINE_COST = {"n": 1, "d": 1}
#: In a linked system (:data:`LINKS`), a count or FTE KPI's own figures cost this much more than a
#: percentage KPI's counts: a team's "All FTE" goes before its "Permanent social workers (FTE)".
VALUE_COST = 0.5

#: Linear relations ACROSS the KPIs of one extract, declared once: ``(total, parts)`` with cells named
#: ``"metric|cell"``, for every scope (``{s}`` = the council ``""`` or a team ``"team:<name>:"``) where
#: every cell exists. A part named ``"known|…"`` is never published but assumed KNOWN to an attacker:
#: its value is the total minus the other parts (a relation whose remainder is negative does not hold
#: and is not declared). Every KPI of a family is decided together, month by month.
LINKS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    # All FTE = agency + permanent (within agency_rate: d = n + m); permanent qualified FTE = permanent
    # practitioners + permanent managers. Managers' FTE is not published, but the number of permanent
    # team managers is, and most are full time: cautiously, the attacker knows it.
    "workforce": (("agency_rate|{s}m", ("permanent_practitioners_fte|{s}n", "known|{s}permanent_managers_fte")),),
}
#: The KPIs each family of :data:`LINKS` ties together (all from one extract kind). The permanent team
#: managers count is not in a relation: it is why the managers' FTE is taken as known.
FAMILIES: dict[str, tuple[str, ...]] = {
    "workforce": ("agency_rate", "permanent_practitioners_fte"),
}


@dataclass
class MonthCells:
    """The cells one KPI shows (anywhere in any pack) for one month, and what is suppressed."""

    metric: str
    month: str
    values: dict[str, float] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    forced: set[str] = field(default_factory=set)
    #: percentage name → (numerator cell, denominator cell)
    percents: dict[str, tuple[str, str]] = field(default_factory=dict)
    suppressed: dict[str, str] = field(default_factory=dict)
    #: cells never displayed but assumed known to an attacker (linked systems only)
    known: set[str] = field(default_factory=set)
    cost: dict[str, float] = field(default_factory=dict)
    #: the team breakdown adds up to the council and its cells are included
    has_teams: bool = False
    #: the month's numbers are so small that no breakdown can be published (see :class:`Unprotectable`)
    breakdowns_withheld: bool = False
    #: the system this KPI-month was decided in with other KPIs (:data:`LINKS`), cells named "metric|cell"
    joint: MonthCells | None = None

    def shown(self, cell: str) -> bool:
        """Can this displayed cell (or percentage) be shown?"""
        if cell in self.percents:
            n, d = self.percents[cell]
            return (self.shown(n) and self.shown(d) and d in self.values
                    and self.values[d] >= MIN_DENOMINATOR)
        return (cell in self.values and cell not in self.suppressed and cell not in self.hidden
                and cell not in self.known)

    def decide(self) -> None:
        """Run :func:`protect` on the cells (raises :class:`Unprotectable`)."""
        self.suppressed = protect(self.values, self.groups, hidden=self.hidden, forced=self.forced,
                                  cost=self.cost or HEADLINE_COST, known=self.known)

    def exposed(self) -> list[str]:
        """:func:`exposed` for these cells (the audit: empty = safe; known cells count as seen)."""
        return exposed(self.values, self.groups, self.suppressed, self.hidden)

    def add_percent(self, name: str, num: str, den: str, *, hide_when_small: str | None = None) -> None:
        """A displayed percentage num/den; complement hidden; rule 2 forces ``hide_when_small``
        (default the numerator) when the denominator is under 10."""
        self.percents[name] = (num, den)
        d = self.values.get(den)
        if d is not None and 0 < d < MIN_DENOMINATOR:
            self.forced.add(hide_when_small or num)


def _add_percent_cells(mc: MonthCells, prefix: str, n: float, d: float) -> None:
    """Numerator ``prefix+n``, denominator ``prefix+d`` and the hidden complement ``prefix+m``."""
    mc.values[prefix + "n"] = n
    mc.values[prefix + "d"] = d
    mc.values[prefix + "m"] = max(d - n, 0.0)
    mc.hidden.add(prefix + "m")
    mc.groups.append(Group(prefix + "d", (prefix + "n", prefix + "m")))
    mc.add_percent(prefix + "value", prefix + "n", prefix + "d")


def _sums_to(parts: Iterable[float], total: float) -> bool:
    parts = list(parts)
    return bool(parts) and abs(sum(parts) - total) <= 1e-6 * max(1.0, abs(total))


def month_cells(metric: str, month: str, numerator: float, denominator: float | None, **breakdowns
                ) -> MonthCells:
    """Build and decide the cells of one KPI-month (see :func:`build_cells`); if only tiny numbers make
    it :class:`Unprotectable`, every breakdown for the month is withheld and the KPI's own cells decided."""
    mc = build_cells(metric, month, numerator, denominator, **breakdowns)
    try:
        mc.decide()
    except Unprotectable:
        if not any(v is not None and len(v) for v in breakdowns.values()):
            raise
        # only tiny numbers: withhold every breakdown for the month and protect the KPI's own counts
        mc = month_cells(metric, month, numerator, denominator)
        mc.breakdowns_withheld = True
    return mc


def build_cells(metric: str, month: str, numerator: float, denominator: float | None, *,
                secondary: Mapping[str, tuple[float, float | None]] | None = None,
                teams: pd.DataFrame | None = None, formats: Mapping[str, float] | None = None,
                types: Mapping[str, float] | None = None, grades: Mapping[str, float] | None = None
                ) -> MonthCells:
    """The cells of one KPI-month, not yet decided. Cell names: ``n``, ``d``, hidden ``m``; the KPI's
    percentage ``value``; ``all_tm`` and percentage ``tm_permanent_pct`` (team managers);
    ``format:<f>``, ``type:<t>`` (conferences); ``grade:<g>``, percentage ``inadequate_pct`` (audits);
    ``mean_workers`` (shown when the cohort is); ``team:<name>:n`` / ``:d`` and percentage
    ``team:<name>:value``. ``teams``: rows with ``group``, ``numerator``, ``denominator``."""
    secondary = secondary or {}
    mc = MonthCells(metric, month)
    percent = metric in PERCENT_KPIS
    n = float(numerator)
    if percent:
        d = float(denominator)
        _add_percent_cells(mc, "", n, d)
    else:
        mc.values["n"] = n
    if metric == "permanent_team_managers" and "team_manager_permanence_pct" in secondary:
        perm, all_tm = secondary["team_manager_permanence_pct"]
        if all_tm is not None and not _missing(all_tm) and abs(perm - n) < 1e-9:
            mc.values["all_tm"] = float(all_tm)
            mc.values["agency_tm"] = max(float(all_tm) - n, 0.0)
            mc.hidden.add("agency_tm")
            mc.groups.append(Group("all_tm", ("n", "agency_tm")))
            mc.add_percent("tm_permanent_pct", "n", "all_tm", hide_when_small="all_tm")
    if metric == "face_to_face_conferences":
        if formats and _sums_to(formats.values(), mc.values["d"]) and \
                _sums_to([formats.get("face_to_face", 0), formats.get("hybrid", 0)], mc.values["n"]):
            for f in FORMATS:
                mc.values[f"format:{f}"] = float(formats.get(f, 0.0))
            # the complement of "face to face or hybrid" is the virtual count: no separate hidden m
            mc.groups = [g for g in mc.groups if g.total != "d"]
            mc.hidden.discard("m")
            mc.values.pop("m", None)
            mc.groups += [Group("d", ("n", "format:virtual")), Group("n", ("format:face_to_face", "format:hybrid")),
                          Group("d", tuple(f"format:{f}" for f in FORMATS))]
        if types and _sums_to(types.values(), mc.values["d"]):
            for t in CONFERENCE_TYPES:
                mc.values[f"type:{t}"] = float(types.get(t, 0.0))
            mc.groups.append(Group("d", tuple(f"type:{t}" for t in CONFERENCE_TYPES)))
    if metric == "audits_good_or_better" and grades and _sums_to(grades.values(), mc.values["d"]) \
            and _sums_to([grades.get(g, 0) for g in GOOD_GRADES], mc.values["n"]):
        for g in GRADES:
            mc.values[f"grade:{g}"] = float(grades.get(g, 0.0))
        mc.groups += [Group("n", tuple(f"grade:{g}" for g in GOOD_GRADES)),
                      Group("m", tuple(f"grade:{g}" for g in GRADES if g not in GOOD_GRADES)),
                      Group("d", tuple(f"grade:{g}" for g in GRADES))]
        mc.add_percent("inadequate_pct", "grade:inadequate", "d")
    if metric == "three_plus_social_workers":
        mc.percents["mean_workers"] = ("d", "d")  # shown when the cohort is shown and at least 10
    if teams is not None and not teams.empty:
        _add_teams(mc, teams, percent)
    return mc


def _scopes(mc: MonthCells) -> list[str]:
    """The council ``""`` and each team's ``"team:<name>:"`` prefix present in a KPI-month's cells."""
    return ["", *dict.fromkeys(c[:c.rindex(":") + 1] for c in mc.values if c.startswith("team:"))]


def linked_cells(family: str, members: Mapping[str, MonthCells]) -> MonthCells:
    """One system for the KPIs of a family in one month: every member's cells (named ``"metric|cell"``)
    and sums, plus the cross-KPI relations of :data:`LINKS` for every scope where their cells exist."""
    first = next(iter(members.values()))
    joint = MonthCells(family, first.month)
    for metric, mc in members.items():
        p = f"{metric}|"
        joint.values.update({p + c: v for c, v in mc.values.items()})
        joint.groups += [Group(p + g.total, tuple(p + x for x in g.parts)) for g in mc.groups]
        joint.hidden |= {p + c for c in mc.hidden}
        joint.forced |= {p + c for c in mc.forced}
        own = () if metric in PERCENT_KPIS else ("n",)
        joint.cost.update({p + c: HEADLINE_COST.get(c, 0) + (VALUE_COST if c.rsplit(":", 1)[-1] in own else 0)
                           for c in mc.values})
    scopes = set(_scopes(first)).intersection(*(_scopes(mc) for mc in members.values()))
    for total, parts in LINKS.get(family, ()):
        for scope in sorted(scopes):
            t, ps = total.format(s=scope), [x.format(s=scope) for x in parts]
            if t not in joint.values or not all(x in joint.values for x in ps if not x.startswith("known|")):
                continue
            rest = joint.values[t] - sum(joint.values[x] for x in ps if not x.startswith("known|"))
            if rest < -1e-6 * max(1.0, joint.values[t]):
                continue  # the data do not fit the relation, so it tells an attacker nothing
            for x in ps:
                if x.startswith("known|"):
                    joint.values[x] = max(rest, 0.0)
                    joint.known.add(x)
            joint.groups.append(Group(t, tuple(ps)))
    # A hidden cell that the known cells and the zeros (always shown) fix on their own is known too:
    # no pattern of suppression could hide it, and it tells nothing the attacker was not assumed to know.
    free = [c for c, v in joint.values.items() if c not in joint.known and (c in joint.hidden or v > _EPS)]
    implied = determined(joint.groups, free) & joint.hidden if joint.known else set()
    joint.known |= implied
    joint.hidden -= implied
    return joint


def _decide_linked(family: str, args: Mapping[str, tuple]) -> dict[str, MonthCells]:
    """Decide a family's KPI-months together (:data:`LINKS`). ``args``: metric → (month, numerator,
    denominator, breakdowns). If only tiny numbers make the whole unprotectable, the month's breakdowns
    are withheld; if even the KPIs' own cells cannot be protected together, all of them are ``c``."""
    for withhold in (False, True):
        members = {m: build_cells(m, month, n, d, **({} if withhold else b)) for m, (month, n, d, b) in args.items()}
        joint = linked_cells(family, members)
        try:
            joint.decide()
            break
        except Unprotectable:
            continue
    else:  # even the KPIs' own cells cannot be protected together: show none of them, never fail
        joint.suppressed = {c: SECONDARY for c, v in joint.values.items()
                            if c not in joint.hidden and c not in joint.known and v > _EPS}
    for metric, mc in members.items():
        p = f"{metric}|"
        mc.suppressed = {c[len(p):]: why for c, why in joint.suppressed.items() if c.startswith(p)}
        mc.breakdowns_withheld = withhold and bool(args[metric][3])
        mc.joint = joint
    return members


def _add_teams(mc: MonthCells, teams: pd.DataFrame, percent: bool) -> None:
    names = [str(g) for g in teams["group"]]
    nums = [float(x) for x in teams["numerator"]]
    if percent:
        dens = [float(x) for x in teams["denominator"]]
        if not (_sums_to(nums, mc.values["n"]) and _sums_to(dens, mc.values["d"])):
            return  # the teams do not add up to the council: do not show them (see team_rows)
        for name, n, d in zip(names, nums, dens):
            _add_percent_cells(mc, f"team:{name}:", n, d)
        mc.groups += [Group("n", tuple(f"team:{t}:n" for t in names)),
                      Group("d", tuple(f"team:{t}:d" for t in names))]
        if "m" in mc.values:
            mc.groups.append(Group("m", tuple(f"team:{t}:m" for t in names)))
    else:
        if not _sums_to(nums, mc.values["n"]):
            return
        for name, n in zip(names, nums):
            mc.values[f"team:{name}:n"] = n
        mc.groups.append(Group("n", tuple(f"team:{t}:n" for t in names)))
    mc.has_teams = True


@dataclass
class Decisions:
    """Public-mode decisions for every KPI-month: ``cells[(metric, month)]`` → :class:`MonthCells`."""

    cells: dict[tuple[str, str], MonthCells] = field(default_factory=dict)

    def get(self, metric: str, month: str | None) -> MonthCells | None:
        return self.cells.get((metric, month)) if month else None

    def shown(self, metric: str, month: str | None, cell: str) -> bool:
        """Months without cells (no data) have nothing to suppress: True."""
        mc = self.get(metric, month)
        return True if mc is None else mc.shown(cell)

    def value_shown(self, metric: str, month: str | None) -> bool:
        """Can the KPI's own value for the month be shown?"""
        mc = self.get(metric, month)
        if mc is None:
            return True
        return mc.shown("value") if mc.metric in PERCENT_KPIS else mc.shown("n")

    def teams_available(self, metric: str, month: str | None) -> bool:
        mc = self.get(metric, month)
        return mc is not None and mc.has_teams

    def breakdowns_shown(self, metric: str, month: str | None) -> bool:
        """False when the month's breakdowns (teams, formats, grades, secondary shares) are withheld."""
        mc = self.get(metric, month)
        return mc is None or not mc.breakdowns_withheld

    @property
    def suppressed_count(self) -> int:
        return sum(len(mc.suppressed) for mc in self.cells.values())


def _by_month(frame: pd.DataFrame | None, metric: str) -> dict[str, pd.DataFrame]:
    if frame is None or frame.empty:
        return {}
    part = frame[frame["metric"] == metric]
    return {str(m): g for m, g in part.groupby("month", sort=False)}


def decide(series: pd.DataFrame, secondary: pd.DataFrame | None = None,
           breakdowns: Mapping[tuple[str, str], pd.DataFrame] | None = None) -> Decisions:
    """Public-mode decisions for every KPI-month with a numerator.

    ``series``: :func:`metrics.compute.compute_series`. ``secondary``:
    :func:`metrics.compute.secondary_series`. ``breakdowns``: ``{(metric, by): breakdown frame}`` for
    ``by`` in ``team``, ``format``, ``conference_type``, ``grade`` (what ``compute.breakdown`` returns).
    Always pass every breakdown you have, even for a pack without teams: each month must be judged the
    same way by every pack (rule 7).
    """
    breakdowns = breakdowns or {}
    sec: dict[tuple[str, str], tuple[float, float | None]] = {}
    if secondary is not None and not secondary.empty:
        for sid, month, num, den in zip(secondary["metric"], secondary["month"], secondary["numerator"],
                                        secondary["denominator"]):
            sec[(str(month), sid)] = (float(num), None if _missing(den) else float(den))
    args: dict[tuple[str, str], tuple] = {}
    for metric in dict.fromkeys(series["metric"]):
        if metric in NOT_ABOUT_PEOPLE:
            continue  # shown in full (rule: plan items, not people)
        teams = _by_month(breakdowns.get((metric, "team")), metric)
        fmts = _by_month(breakdowns.get((metric, "format")), metric)
        typs = _by_month(breakdowns.get((metric, "conference_type")), metric)
        grds = _by_month(breakdowns.get((metric, "grade")), metric)
        rows = series[series["metric"] == metric]
        for month, num, den, source in zip(rows["month"], rows["numerator"], rows["denominator"],
                                           rows.get("source", [None] * len(rows))):
            month = str(month)
            if _missing(num) or (metric in PERCENT_KPIS and _missing(den)):
                continue
            records = source != "figures"
            secondary_here = {sid: sec[(month, sid)] for sid in ("team_manager_permanence_pct",)
                              if (month, sid) in sec}
            b = dict(secondary=secondary_here, teams=teams.get(month), formats=_counts(fmts.get(month)),
                     types=_type_counts(typs.get(month)), grades=_counts(grds.get(month))) if records else {}
            args[(metric, month)] = (month, float(num), None if _missing(den) else float(den),
                                     {k: v for k, v in b.items() if v is not None and len(v)})
    out = Decisions()
    family_of = {m: f for f, ms in FAMILIES.items() for m in ms}
    linked: dict[tuple[str, str], dict[str, tuple]] = {}
    for (metric, month), a in args.items():
        if metric in family_of:
            linked.setdefault((family_of[metric], month), {})[metric] = a
        else:
            out.cells[(metric, month)] = month_cells(metric, *a[:3], **a[3])
    for (family, month), members in linked.items():
        for metric, mc in _decide_linked(family, members).items():
            out.cells[(metric, month)] = mc
    return out


def _counts(frame: pd.DataFrame | None) -> dict[str, float] | None:
    """format / grade breakdown rows → {group: count}."""
    if frame is None or frame.empty:
        return None
    return {str(g): float(v) for g, v in zip(frame["group"], frame["numerator"])}


def _type_counts(frame: pd.DataFrame | None) -> dict[str, float] | None:
    """conference_type breakdown rows (the KPI within each type) → {type: conferences of that type}."""
    if frame is None or frame.empty:
        return None
    return {str(g): float(v) for g, v in zip(frame["group"], frame["denominator"])}


def suppress_series(series: pd.DataFrame, decisions: Decisions | None = None, *,
                    secondary: pd.DataFrame | None = None,
                    breakdowns: Mapping[tuple[str, str], pd.DataFrame] | None = None) -> pd.DataFrame:
    """A copy of a ``compute_series`` frame for publication.

    ``value``, ``numerator`` and ``denominator`` become ``object`` columns holding ``"c"`` where
    suppressed, and a boolean column ``suppressed`` says whether the month's value is hidden (the
    rows to leave out of a chart). Pass ``decisions`` from :func:`decide` (or ``secondary`` and
    ``breakdowns`` to make them): without the breakdowns a month may be judged less strictly than a
    pack that shows them.
    """
    if decisions is None:
        decisions = decide(series, secondary, breakdowns)
    out = series.copy()
    for c in ("value", "numerator", "denominator"):
        out[c] = out[c].astype(object)
    hidden_rows = []
    for i, (metric, month) in enumerate(zip(out["metric"], out["month"])):
        mc = decisions.get(metric, str(month))
        if mc is None:
            hidden_rows.append(False)
            continue
        value_ok = decisions.value_shown(metric, str(month))
        hidden_rows.append(not value_ok)
        idx = out.index[i]
        if not value_ok:
            out.at[idx, "value"] = SUPPRESSED
        if not mc.shown("n"):
            out.at[idx, "numerator"] = SUPPRESSED
        if "d" in mc.values and not mc.shown("d"):
            out.at[idx, "denominator"] = SUPPRESSED
    out["suppressed"] = hidden_rows
    return out


# --- text --------------------------------------------------------------------------------------

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
#: What the public pack removes from commentary, in order: (pattern, replacement). The plain words are
#: :data:`REDACTION_RULES` (in rule 9 of :data:`RULES` and in docs/boardpack.md).
_R = "[removed]"
_REDACT: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    # e-mail addresses
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", _R),
    # dates: 01/02/2015, 1-2-15, 1.2.2015, 2015-02-01, 1 Feb 2015, 1st February, 2015, February 1, 2015
    (r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b", _R),
    (r"\b\d{4}-\d{1,2}-\d{1,2}\b", _R),
    (rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{2,4}}\b", _R),
    (rf"\b{_MONTH}\s+{_DAY},?\s+\d{{4}}\b", _R),
    # up to three capitalised words (a name) just before "DOB" or "born"
    (r"(?-i:\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2}),?(?=\s*\(?\s*(?:D\.?O\.?B\b|born\b))", _R),
    # phone numbers: +44 1432 260000, (01432) 260000, 07700 900123
    (r"(?:\+\d{1,3}[\s-]?(?:\(0\))?|(?<![\w.,])\(?0)\d{2,5}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\b", _R),
    # long numbers, spaced or not (NHS numbers 943 476 5919, case numbers): 9 or more digits
    (r"(?<![\w.,])\d(?:[ -]?\d){8,}\b", _R),
    # the code or number after a word that introduces one: child, DOB, born, NHS, ID, ref
    (r"\b(child|d\.?o\.?b\b\.?|born|nhs|id|ref)\b((?:\s*(?:[:#(]|no\.|number|on|is)\s*)*\s*)"
     r"(?!\[removed\])[\w/.-]*\d[\w/.-]*", rf"\1\2{_R}"),
    # codes of letters and digits with at least 4 digits (C000123, C-000123, CHILD12345, AB/1234),
    # except a financial year (FY2024, FY2024/25)
    (r"\b(?!FY(?:19|20)\d\d(?:/\d\d)?\b)(?=[\w/-]*[A-Za-z])(?=(?:[\w/-]*?\d){4})"
     r"[A-Za-z0-9]+(?:[/_-][A-Za-z0-9]+)*\b", _R),
    # runs of 5 or more digits
    (r"(?<![\w.,])\d{5,}\b", _R),
))


def redact_text(text: str) -> str:
    """Public commentary with every match of the redaction rules (:data:`REDACTION_RULES`) replaced by
    ``[removed]``. Names cannot be recognised in general: keep personal details out of commentary."""
    for rule, replacement in _REDACT:
        text = rule.sub(replacement, text)
    return text
