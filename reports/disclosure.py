"""Statistical disclosure control for the PUBLIC board pack and public CSV exports: the pack's cells.

The rules are :data:`RULES` — printed word for word on the public pack's "Suppression rule" page and
in ``docs/boardpack.md`` (a test keeps the two in step). In short: counts of 1–5 are ``c`` and zero is
shown; a percentage needs a denominator of at least 10 and both of its counts shown; secondary
suppression stops any ``c`` being worked out from totals (numerator + complement = denominator,
formats / grades / types = the month's total, teams = the council) or across measures (the sums between
a kind's aggregate columns declared in :data:`metrics.kpis.RELATIONS`: all FTE = agency + permanent
practitioners + permanent managers); a suppressed actual takes its RAG, direction of travel and forecast
with it; charts leave gaps; no identifiers; public commentary is redacted (:func:`redact_text`).

This module is the pack's *cell model*: which cells each KPI shows for a month and which sums tie them,
built from the KPI declarations (:mod:`metrics.kpis`: unit, numerator and denominator columns, secondary
measures, breakdowns, whether it counts people, the relations of its kind) — it names no KPI. The KPIs
whose cells a relation ties together are decided together (:func:`linked_cells`). The generic engine
(:func:`protect`, :func:`exposed` …, no KPI and no pack) is :mod:`reports.suppression`; the text
redaction is :mod:`reports.redaction`. Both are re-exported here.

Public API: :func:`is_small`, :func:`protect` (:class:`Unprotectable`), :func:`exposed`, :func:`pinned`,
:func:`determined`, :func:`feasible_ranges`, :func:`suppress_table`, :func:`month_cells`,
:func:`linked_cells`, :func:`links`, :func:`families`, :func:`decide` (→ :class:`Decisions`),
:func:`suppress_series`, :func:`redact_text`, :data:`SUPPRESSED`, :data:`RULES`, :data:`REDACTION_RULES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from metrics.compute import CONFERENCE_TYPES, FORMATS, GRADES
from metrics.kpis import KPI, REGISTRY, RELATIONS, Relation, SecondaryMeasure
from reports.redaction import REDACTION_RULES, redact_text  # noqa: F401
from reports.suppression import (_EPS, DENOMINATOR, MIN_DENOMINATOR, SECONDARY, SMALL,  # noqa: F401
                                 SMALL_MAX, SUPPRESSED, Group, Unprotectable, _missing, determined, exposed,
                                 feasible_ranges, is_small, pinned, protect, suppress_table)


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
    "people, so they are shown in full, with each overdue, late, off-track or at-risk item listed.",
    "Registers follow the same rules. Outstanding historic complaints by stage and by age, and changes of "
    "social worker by reason, are shown only where the measure's own figure is shown, with small counts "
    "and the figures that would give them away shown as 'c'. Children by number of social workers, and "
    "children by team, are shown only where none of their counts (nor any team's children with fewer "
    "than three workers) is from 1 to 5, because the average number of workers, also published, would "
    "let a suppressed count be worked out; otherwise they are in the restricted pack only.",
)


# --- the board pack's cells, per KPI and month -----------------------------------------------

#: Category breakdowns (``metrics.compute.breakdown`` by) → (keyword of :func:`build_cells`, cell prefix —
#: also the prefix of the kind's aggregate columns, categories, the breakdown column that counts a
#: category: a format or grade row's numerator, a conference type row's denominator).
CATEGORY_BREAKDOWNS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "format": ("formats", "format", FORMATS, "numerator"),
    "conference_type": ("types", "type", CONFERENCE_TYPES, "denominator"),
    "grade": ("grades", "grade", GRADES, "numerator"),
}

#: Secondary suppression sacrifices breakdown cells before the KPI's own numerator and denominator.
HEADLINE_COST = {"n": 1, "d": 1}
#: In a linked system (:func:`links`), a count or FTE KPI's own figures cost this much more than a
#: percentage KPI's counts: a team's "All FTE" goes before its "Permanent social workers (FTE)".
VALUE_COST = 0.5

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
    #: the system this KPI-month was decided in with other KPIs (:func:`links`), cells named "metric|cell"
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


def _share_of_numerator(kpi: KPI) -> SecondaryMeasure | None:
    """A secondary percentage of the KPI's own numerator over another count (permanent team managers as a
    share of all team managers): its denominator is shown beside the headline count."""
    return next((s for s in kpi.secondary if s.unit == "percent" and s.numerator == kpi.numerator.column
                 and s.denominator and kpi.denominator is None), None)


def _relation_of(kpi: KPI, total: str) -> Relation | None:
    return next((r for r in RELATIONS.get(kpi.source_kind, ()) if r.total == total and r.known is None), None)


def _add_categories(mc: MonthCells, kpi: KPI, by: str, counts: Mapping[str, float]) -> None:
    """The cells of a category breakdown (``<prefix>:<category>``) when the categories add up to the month's
    denominator — and, where the KPI's numerator is declared as a sum of some of them
    (:data:`metrics.kpis.RELATIONS`), to the numerator too."""
    _, prefix, categories, _ = CATEGORY_BREAKDOWNS[by]
    if not _sums_to(counts.values(), mc.values["d"]):
        return
    rel = _relation_of(kpi, kpi.numerator.column)
    cols = {f"{prefix}_{c}": c for c in categories}
    inside = [cols[p] for p in rel.parts if p in cols] if rel else []
    if inside and not _sums_to([counts.get(c, 0) for c in inside], mc.values["n"]):
        return
    for c in categories:
        mc.values[f"{prefix}:{c}"] = float(counts.get(c, 0.0))
    cell = [f"{prefix}:{c}" for c in categories]
    if not inside:
        mc.groups.append(Group("d", tuple(cell)))
        return
    n_parts = tuple(f"{prefix}:{c}" for c in inside)
    rest = tuple(c for c in cell if c not in n_parts)
    if len(rest) == 1:  # the numerator's complement is one category: it replaces the hidden m
        mc.groups = [g for g in mc.groups if g.total != "d"]
        mc.hidden.discard("m")
        mc.values.pop("m", None)
        mc.groups += [Group("d", ("n", *rest)), Group("n", n_parts), Group("d", tuple(cell))]
    else:
        mc.groups += [Group("n", n_parts), Group("m", rest), Group("d", tuple(cell))]


def build_cells(metric: str, month: str, numerator: float, denominator: float | None, *,
                secondary: Mapping[str, tuple[float, float | None]] | None = None,
                teams: pd.DataFrame | None = None, formats: Mapping[str, float] | None = None,
                types: Mapping[str, float] | None = None, grades: Mapping[str, float] | None = None
                ) -> MonthCells:
    """The cells of one KPI-month, not yet decided, from the KPI's declaration (no KPI is named here).
    Cell names: ``n``, ``d``, hidden ``m``; the KPI's percentage ``value``; a secondary share of the
    numerator: its denominator column (e.g. ``all_tm``) and the percentage named by the secondary measure's
    id; category breakdowns ``format:<f>``, ``type:<t>``, ``grade:<g>`` (:data:`CATEGORY_BREAKDOWNS`); a
    secondary percentage of a category over the denominator, and a secondary mean over the denominator
    (shown when the denominator is), named by their ids; ``team:<name>:n`` / ``:d`` and percentage
    ``team:<name>:value``. ``teams``: rows with ``group``, ``numerator``, ``denominator``."""
    secondary = secondary or {}
    kpi = REGISTRY[metric]
    mc = MonthCells(metric, month)
    percent = kpi.is_percent
    n = float(numerator)
    if percent:
        d = float(denominator)
        _add_percent_cells(mc, "", n, d)
    else:
        mc.values["n"] = n
    share = _share_of_numerator(kpi)
    if share is not None and share.id in secondary:
        perm, total = secondary[share.id]
        if total is not None and not _missing(total) and abs(perm - n) < 1e-9:
            mc.values[share.denominator] = float(total)
            rest = f"{share.denominator}:rest"
            mc.values[rest] = max(float(total) - n, 0.0)
            mc.hidden.add(rest)
            mc.groups.append(Group(share.denominator, ("n", rest)))
            mc.add_percent(share.id, "n", share.denominator, hide_when_small=share.denominator)
    given = {"formats": formats, "types": types, "grades": grades}
    if percent:
        for by in kpi.breakdowns:
            if by in CATEGORY_BREAKDOWNS and given[CATEGORY_BREAKDOWNS[by][0]]:
                _add_categories(mc, kpi, by, given[CATEGORY_BREAKDOWNS[by][0]])
        den = kpi.denominator.column
        cell_of = {f"{prefix}_{c}": f"{prefix}:{c}" for _, prefix, cats, _ in CATEGORY_BREAKDOWNS.values()
                   for c in cats}
        for s in kpi.secondary:
            if s.denominator != den:
                continue
            if s.unit == "percent" and cell_of.get(s.numerator) in mc.values:
                mc.add_percent(s.id, cell_of[s.numerator], "d")
            elif s.unit == "mean":
                mc.percents[s.id] = ("d", "d")  # shown when the denominator is shown and at least 10
    if teams is not None and not teams.empty:
        _add_teams(mc, teams, percent)
    return mc


def links(kind: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The relations of :data:`metrics.kpis.RELATIONS` for ``kind`` that tie the cells of two or more
    KPIs together, as ``(total, parts)`` over cells named ``"metric|{s}cell"`` (``{s}``: the council ``""``
    or a team ``"team:<name>:"``). A KPI's numerator column is its cell ``n``, its denominator column
    ``d``; where a percentage's ``d`` is the total and its ``n`` a part, the relation is stated over its
    hidden complement ``m`` instead (all FTE − agency FTE = permanent FTE). A ``known`` column becomes
    ``"known|{s}<column>"``: never published, assumed known to an attacker. Relations that a KPI's own
    cells already state (formats, grades) are not links."""
    cells: dict[str, str] = {}
    for k in REGISTRY.values():
        if k.source_kind != kind or not k.counts_people:
            continue
        cells.setdefault(k.numerator.column, f"{k.id}|{{s}}n")
        if k.denominator is not None:
            cells.setdefault(k.denominator.column, f"{k.id}|{{s}}d")
    out = []
    for rel in RELATIONS.get(kind, ()):
        if rel.total not in cells or not all(p in cells for p in rel.parts):
            continue
        total, parts = cells[rel.total], [cells[p] for p in rel.parts]
        if len({c.split("|")[0] for c in (total, *parts)}) < 2:
            continue
        own = total.removesuffix("{s}d")
        if total.endswith("{s}d") and own + "{s}n" in parts:
            total, parts = own + "{s}m", [p for p in parts if p != own + "{s}n"]
        if rel.known:
            parts.append(f"known|{{s}}{rel.known}")
        out.append((total, tuple(parts)))
    return tuple(out)


def families() -> dict[str, tuple[str, ...]]:
    """Extract kind → the KPIs its :func:`links` tie together (decided together, month by month), in
    registry order. A KPI in no link (e.g. the permanent team managers count, the reason the managers'
    FTE is taken as known) is decided on its own."""
    out = {}
    for kind in RELATIONS:
        ids = {c.split("|")[0] for total, parts in links(kind) for c in (total, *parts)} - {"known"}
        if ids:
            out[kind] = tuple(k for k in REGISTRY if k in ids)
    return out


def _scopes(mc: MonthCells) -> list[str]:
    """The council ``""`` and each team's ``"team:<name>:"`` prefix present in a KPI-month's cells."""
    return ["", *dict.fromkeys(c[:c.rindex(":") + 1] for c in mc.values if c.startswith("team:"))]


def linked_cells(family: str, members: Mapping[str, MonthCells]) -> MonthCells:
    """One system for the KPIs of a family in one month: every member's cells (named ``"metric|cell"``)
    and sums, plus the cross-KPI relations of :func:`links` for every scope where their cells exist."""
    first = next(iter(members.values()))
    joint = MonthCells(family, first.month)
    for metric, mc in members.items():
        p = f"{metric}|"
        joint.values.update({p + c: v for c, v in mc.values.items()})
        joint.groups += [Group(p + g.total, tuple(p + x for x in g.parts)) for g in mc.groups]
        joint.hidden |= {p + c for c in mc.hidden}
        joint.forced |= {p + c for c in mc.forced}
        own = () if REGISTRY[metric].is_percent else ("n",)
        joint.cost.update({p + c: HEADLINE_COST.get(c, 0) + (VALUE_COST if c.rsplit(":", 1)[-1] in own else 0)
                           for c in mc.values})
    scopes = set(_scopes(first)).intersection(*(_scopes(mc) for mc in members.values()))
    for total, parts in links(family):
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
    """Decide a family's KPI-months together (:func:`links`). ``args``: metric → (month, numerator,
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
        return mc.shown("value") if REGISTRY[mc.metric].is_percent else mc.shown("n")

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
        if not REGISTRY[metric].counts_people:
            continue  # shown in full (rule: plan items, not people)
        kpi = REGISTRY[metric]
        share = _share_of_numerator(kpi)
        teams = _by_month(breakdowns.get((metric, "team")), metric)
        cats = {kw: (_by_month(breakdowns.get((metric, by)), metric), col)
                for by, (kw, _, _, col) in CATEGORY_BREAKDOWNS.items()}
        rows = series[series["metric"] == metric]
        for month, num, den, source in zip(rows["month"], rows["numerator"], rows["denominator"],
                                           rows.get("source", [None] * len(rows))):
            month = str(month)
            if _missing(num) or (REGISTRY[metric].is_percent and _missing(den)):
                continue
            records = source != "figures"
            secondary_here = {share.id: sec[(month, share.id)]} if share and (month, share.id) in sec else {}
            b = dict(secondary=secondary_here, teams=teams.get(month),
                     **{kw: _counts(frames.get(month), col) for kw, (frames, col) in cats.items()}) if records else {}
            args[(metric, month)] = (month, float(num), None if _missing(den) else float(den),
                                     {k: v for k, v in b.items() if v is not None and len(v)})
    out = Decisions()
    family_of = {m: f for f, ms in families().items() for m in ms}
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


def _counts(frame: pd.DataFrame | None, column: str) -> dict[str, float] | None:
    """Category breakdown rows → {category: count} (``column``: see :data:`CATEGORY_BREAKDOWNS`)."""
    if frame is None or frame.empty:
        return None
    return {str(g): float(v) for g, v in zip(frame["group"], frame[column])}


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



# --- registers (issue 13): counts behind a KPI that no other figure ties --------------------------------


def breakdown_cells(total: float, breakdowns: Mapping[str, Mapping[str, float]], *, total_known: bool
                    ) -> dict[str, bool] | None:
    """Public decision for one or more breakdowns of the same total that no other published figure ties (a
    register's outstanding complaints by stage and by age band; changes of worker by reason). Cells are
    ``"<breakdown>:<category>"`` and ``"total"``. ``total_known``: the total is the KPI's own figure, shown
    elsewhere in the pack (never chosen for suppression here); otherwise it is a displayed cell like the others.
    Returns cell → shown, or None when the table must not be published (no pattern protects it)."""
    values = {"total": float(total)}
    groups = []
    for name, counts in breakdowns.items():
        cells = {f"{name}:{c}": float(v) for c, v in counts.items()}
        if not _sums_to(cells.values(), float(total)):
            return None  # does not add up to the total: say nothing rather than something unprotected
        values.update(cells)
        groups.append(Group("total", tuple(cells)))
    try:
        suppressed = protect(values, groups, known={"total"} if total_known else ())
    except Unprotectable:
        return None
    if exposed(values, groups, suppressed):
        return None
    return {c: c not in suppressed for c in values}


def none_small(values: Iterable[float]) -> bool:
    """True when no value is a small count (1 to 5): a table that may be published whole with no cell
    suppressed (registers whose counts a published average ties by weights the sums cannot express)."""
    return not any(is_small(v) for v in values)
