"""The registers on a KPI's pack page (issue 13 item 2): the items behind the number at the judged month, as
self-contained tables (:class:`reports.pack.model.RegisterSection`) from :mod:`metrics.registers`, under the
public pack's disclosure control (:mod:`reports.disclosure`, rule 12):

* milestones — plan items, shown in full (rule 11);
* outstanding historic complaints by stage and by age — the council's cross table in the restricted pack; in
  the public pack two one-way tables whose cells :func:`reports.disclosure.breakdown_cells` decides, the KPI's
  own figure being their known total (withheld where that figure is suppressed); the burn-down: the KPI's own
  monthly values, suppressed exactly as its chart is;
* children by number of social workers and by team — whole or not at all in the public pack
  (:func:`reports.disclosure.none_small`); by team only with ``include_teams``; changes of worker by reason,
  decided like the complaints' tables with their total shown.

No identifier of a child, worker or complaint is in any table.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from metrics.kpis import KPI
from metrics.months import month_end, month_of, short_month
from reports import disclosure
from reports.pack.model import RegisterSection, Table, shorten
from reports.tables import PackData

SUPPRESSED = disclosure.SUPPRESSED


def _d(x: dt.date | None) -> str:
    return "" if x is None else f"{x.day} {x:%b %Y}"


def _n(x) -> str:
    return f"{int(x):,}"


def register_sections(conn: sqlite3.Connection, data: PackData, kpi: KPI, month: str | None, *, public: bool,
                      include_teams: bool) -> list[RegisterSection]:
    """The register tables of ``kpi`` at ``month`` (none for a KPI without a register)."""
    from metrics.registers import register_at

    if not month:
        return []
    trajectory = [] if public or not include_teams else team_trajectory_section(data, kpi, month)
    reg = register_at(conn, kpi.id, month, cutoff=data.settings.historic_complaints_cutoff, series=data.series)
    if reg is None:
        return trajectory
    if not reg.has_data:
        return trajectory + [RegisterSection(f"Register, {short_month(month)}", None, f"No record-level {reg.kind} "
                                             f"extract for {short_month(month)}: no items to list.")]
    if reg.kind == "milestones":
        return trajectory + [_milestones(reg)]
    if reg.kind == "complaints":
        return trajectory + _complaints(reg, data, kpi, public) + [_burndown(reg, data, kpi, public)]
    return trajectory + _children(reg, data, kpi, public, include_teams)


def team_trajectory_section(data: PackData, kpi: KPI, month: str, months: int = 3) -> list[RegisterSection]:
    """Restricted packs: each team's own trajectory — its value in the ``months`` months to ``month`` — with
    small numbers marked ``*`` (issue 13 item 3). Public packs leave it out: a team's small cells over several
    months are for the restricted pack only."""
    from metrics.months import month_from_index, month_index
    from metrics.registers import team_view

    frame = data.breakdowns.get((kpi.id, "team"))
    if frame is None or frame.empty or month not in set(frame["month"]):
        return []
    span = [month_from_index(i) for i in range(month_index(month) - months + 1, month_index(month) + 1)]
    views = {m: team_view(frame, kpi.id, m) for m in span}
    cells = {m: dict(zip(v["group"], zip(v["value"], v["small"]))) for m, v in views.items()}  # team → (value, small)
    rows = []
    for t in views[month]["group"]:
        row = [shorten(t)]
        for m in span:
            value, small = cells[m].get(t, (None, False))
            if value is None or value != value:
                row.append("no data")
            else:
                row.append(kpi.format(float(value)) + (" *" if bool(small) else ""))
        rows.append(row)
    small = "a denominator under 10" if kpi.is_percent else "a count from 1 to 5"
    return [RegisterSection(f"Each team's trajectory, {short_month(span[0])} to {short_month(month)}",
                            Table(["Team", *(short_month(m) for m in span)], rows,
                                  [0.43] + [0.57 / len(span)] * len(span), ["left"] + ["right"] * len(span)),
                            f"* small numbers ({small}): one case moves the figure a lot. Restricted pack only.")]


def _milestones(reg) -> RegisterSection:
    from metrics.registers import MILESTONE_STATES, milestone_counts

    title = f"Items behind the percentage, {short_month(reg.month)}"
    counts = milestone_counts(reg.milestones)
    said = ", ".join(f"{n} {MILESTONE_STATES[s].split(' (')[0].lower()}" for s, n in counts.items())
    note = (f"At {_d(month_end(reg.month))}: {said}. Days overdue are counted to that day; completed late: days "
            "after the due date.")
    if reg.milestones.empty:
        return RegisterSection(title, None, note)
    rows = [[MILESTONE_STATES[r.state].split(" (")[0], shorten(r.title), _d(r.due_date),
             (r.status or "not recorded").replace("_", " "), "" if r.days is None or r.days != r.days else _n(r.days)]
            for r in reg.milestones.itertuples(index=False)]
    return RegisterSection(title, Table(["Listed as", "Item", "Due", "Status", "Days"], rows,
                                        [0.17, 0.45, 0.14, 0.13, 0.11], ["left", "left", "left", "left", "right"]),
                           note)


def _complaints(reg, data: PackData, kpi: KPI, public: bool) -> list[RegisterSection]:
    from metrics.registers import AGE_BANDS, complaints_table

    grid = complaints_table(reg.complaints)
    when = short_month(reg.month)
    if not public:
        header = ["Stage", *grid.columns]
        rows = [[str(i), *(_n(v) for v in grid.loc[i])] for i in grid.index]
        n = len(header)
        return [RegisterSection(f"Outstanding historic complaints by stage and age, {when}",
                                Table(header, rows, [0.2] + [0.8 / (n - 1)] * (n - 1),
                                      ["left"] + ["right"] * (n - 1), last_row_bold=True),
                                "Age: from the date received to the month's last day.")]
    total = float(grid.loc["Total", "Total"])
    row = data.value(kpi.id, reg.month)
    known = (row is not None and row["source"] == "records" and float(row["numerator"]) == total
             and data.decisions.shown(kpi.id, reg.month, "n"))
    body = grid.drop(index="Total")
    stages = {str(s): float(body.loc[s, "Total"]) for s in body.index}
    ages = {b: float(body[b].sum()) for b, _ in AGE_BANDS}
    shown = breakdown_cells_or_none(total, {"stage": stages, "age": ages}, known)
    title = f"Outstanding historic complaints by stage and by age, {when}"
    if shown is None:
        return [RegisterSection(title, None, "Not shown: the numbers are too small to publish.")]

    def cell(name: str, v: float) -> str:
        return _n(v) if shown[name] else SUPPRESSED

    rows = ([[s, cell(f"stage:{s}", v)] for s, v in stages.items()]
            + [[b, cell(f"age:{b}", v)] for b, v in ages.items()] + [["All outstanding", _n(total)]])
    return [RegisterSection(title, Table(["Stage, then age", "Outstanding"], rows, [0.7, 0.3], ["left", "right"],
                                         last_row_bold=True),
                            "The stages and the ages each add up to all outstanding.")]


def breakdown_cells_or_none(total: float, parts: dict, known: bool) -> dict[str, bool] | None:
    """:func:`reports.disclosure.breakdown_cells`, None when the total they add up to is not published."""
    return disclosure.breakdown_cells(total, parts, total_known=True) if known else None


def _burndown(reg, data: PackData, kpi: KPI, public: bool) -> RegisterSection:
    burn = reg.burndown.dropna(subset=["outstanding"])
    cutoff = data.settings.historic_complaints_cutoff
    title = f"Burn-down since the cut-off ({_d(cutoff)})"
    if burn.empty:
        return RegisterSection(title, None, "No months with data since the cut-off.")
    dec = data.decisions if public else None
    rows = [[short_month(m), _n(v) if dec is None or dec.value_shown(kpi.id, m) else SUPPRESSED]
            for m, v in zip(burn["month"], burn["outstanding"])]
    return RegisterSection(title, Table(["Month", "Outstanding"], rows, [0.6, 0.4], ["left", "right"]),
                           f"Historic complaints open at each month's end, {short_month(month_of(cutoff))} to "
                           f"{short_month(reg.month)}.")


def merged_top_bands(dist):
    """The distribution with its top bands merged ("4 or more") while one of the bands above 3 is a small count
    and more than three bands remain: the public pack's coarser table, so that a handful of children with many
    workers does not withhold the whole table (every band shown is then a count that is 0 or over 5)."""
    import pandas as pd

    bands, counts = list(dist["band"]), [int(c) for c in dist["children"]]
    while len(bands) > 3 and any(disclosure.is_small(c) for c in counts[3:]):
        last = counts.pop()
        counts[-1] += last
        bands.pop()
        bands[-1] = f"{bands[-1].split()[0]} or more"
    return pd.DataFrame({"band": bands, "children": counts})


def _children(reg, data: PackData, kpi: KPI, public: bool, include_teams: bool) -> list[RegisterSection]:
    from metrics.registers import worker_distribution, workers_by_team

    when = short_month(reg.month)
    children = reg.children
    dist = worker_distribution(children)
    teams = workers_by_team(children)
    row = data.value(kpi.id, reg.month)
    cohort, three = float(dist["children"].sum()), float(dist["children"].iloc[2:].sum())
    # the KPI's own figures, which these tables add up to, are shown; and they are the same figures
    agrees = (row is not None and row["source"] == "records" and float(row["denominator"]) == cohort
              and float(row["numerator"]) == three)
    totals_shown = agrees and (not public or (data.decisions.shown(kpi.id, reg.month, "n")
                                              and data.decisions.shown(kpi.id, reg.month, "d")))
    out = []
    title = f"Children by number of social workers in 12 months, {when}"
    if public:
        dist = merged_top_bands(dist)
    if public and not (totals_shown and disclosure.none_small(dist["children"])):
        out.append(RegisterSection(title, None, "Not shown in the public pack: some numbers are too small to "
                                                "publish (see the suppression rule). In the restricted pack."))
    else:
        rows = [[b, _n(c)] for b, c in zip(dist["band"], dist["children"])] + [["All children allocated", _n(cohort)]]
        out.append(RegisterSection(title, Table(["Social workers", "Children"], rows, [0.6, 0.4], ["left", "right"],
                                                last_row_bold=True)))
    if include_teams and not teams.empty:
        title = f"Children with 3+ social workers by team, {when}"
        cells = [v for c, t in zip(teams["cohort"], teams["three_plus"]) for v in (c, t, c - t)]
        if public and not (totals_shown and disclosure.none_small(cells)):
            out.append(RegisterSection(title, None, "Team figures are in the restricted pack only: a team's numbers "
                                                    "are small."))
        else:
            rows = [[shorten(t), _n(c), _n(n), f"{v:.1f}%" + (" *" if c < 10 and not public else "")]
                    for t, c, n, v in zip(teams["team"], teams["cohort"], teams["three_plus"], teams["value"])]
            rows.append(["All teams", _n(cohort), _n(three), f"{100 * three / cohort:.1f}%" if cohort else "no data"])
            out.append(RegisterSection(title, Table(["Team", "Children", "3+ workers", "%"], rows,
                                                    [0.46, 0.18, 0.18, 0.18], ["left", "right", "right", "right"],
                                                    last_row_bold=True),
                                       "Team: the team of the child's current social worker."
                                       + ("" if public else " * fewer than 10 children: small numbers.")))
    reasons = reg.reasons
    title = f"Changes of social worker by reason, 12 months to {when}"
    if reasons.empty:
        out.append(RegisterSection(title, None, "No change of social worker with a reason recorded in the 12 months."))
        return out
    total = float(reasons["changes"].sum())
    shown = (disclosure.breakdown_cells(total, {"reason": dict(zip(reasons["reason"], reasons["changes"]))},
                                        total_known=False) if public else None)
    if public and shown is None:
        out.append(RegisterSection(title, None, "Not shown: the numbers are too small to publish."))
        return out

    def cell(name: str, v) -> str:
        return _n(v) if shown is None or shown[name] else SUPPRESSED

    rows = [[shorten(disclosure.redact_text(r) if public else r), cell(f"reason:{r}", c)]
            for r, c in zip(reasons["reason"], reasons["changes"])]
    rows.append(["All changes", cell("total", total)])
    out.append(RegisterSection(title, Table(["Reason", "Changes"], rows, [0.75, 0.25], ["left", "right"],
                                            last_row_bold=True),
                               "Reasons as recorded by the council, in words (docs/metrics.md)."))
    return out
