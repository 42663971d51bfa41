"""Statistical disclosure control for the public board pack (reports.disclosure). Pure pandas: no store.

The key property is checked by an independent brute-force search, not by the module's own interval
audit: for every suppressed small count there must be ANOTHER table, consistent with everything shown
and with what a cautious attacker knows (a primary 'c' is 1–5, a secondary 'c' at least 6, a hidden
complement at least 0), in which that cell has a different value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.disclosure import (DENOMINATOR, SECONDARY, SMALL, SUPPRESSED, Group, Unprotectable, decide, exposed,
                                is_small, month_cells, redact_text, suppress_series, suppress_table)

# --- an independent linear check: which hidden cells do the published ones determine? --------------


def linearly_recoverable(relations: list[tuple[str, list[str]]], published: set[str], cells: list[str]) -> set[str]:
    """``relations``: (total, parts) sums that hold between ``cells``. A cell not in ``published`` is
    recoverable when the unit vector on it lies in the row space of the relations restricted to the
    unpublished cells: adding it as a row does not raise the rank (so ANY solution agreeing with the
    published cells has the same value there). Written from scratch with numpy, no code shared with
    reports.disclosure."""
    unknown = [c for c in cells if c not in published]
    col = {c: i for i, c in enumerate(unknown)}
    rows = []
    for total, parts in relations:
        row = np.zeros(len(unknown))
        if total in col:
            row[col[total]] += 1
        for p in parts:
            if p in col:
                row[col[p]] -= 1
        rows.append(row)
    a = np.array(rows) if rows else np.zeros((0, len(unknown)))
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    out = set()
    for c, i in col.items():
        e = np.zeros(len(unknown))
        e[i] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.add(c)
    return out


def workforce_system(month: str, teams: dict[str, tuple[float, float, float]]):
    """A month's workforce as the attacker sees the relations, built from the raw figures per team
    (agency FTE, all FTE, permanent practitioner FTE): cells ``(metric, scope, cell)`` where scope is
    ``""`` (council) or ``"team:<name>:"``, the relations between them, and the frames ``decide`` takes.
    Managers' FTE (all − agency − practitioners) is known to the attacker (the permanent team
    managers count is published)."""
    cells, relations = {}, []
    scopes = {f"team:{t}:": v for t, v in teams.items()}
    scopes[""] = tuple(sum(v[i] for v in teams.values()) for i in range(3))
    for sc, (agency, all_fte, perm) in scopes.items():
        cells[("agency_rate", sc, "n")] = agency
        cells[("agency_rate", sc, "d")] = all_fte
        cells[("permanent_practitioners_fte", sc, "n")] = perm
        cells[("known", sc, "managers")] = all_fte - agency - perm
        relations.append((("agency_rate", sc, "d"), [("agency_rate", sc, "n"), ("permanent_practitioners_fte", sc, "n"),
                                                     ("known", sc, "managers")]))
    for metric, cell in (("agency_rate", "n"), ("agency_rate", "d"), ("permanent_practitioners_fte", "n"),
                         ("known", "managers")):
        relations.append(((metric, "", cell), [(metric, f"team:{t}:", cell) for t in teams]))
    a, d, p = scopes[""]
    series = pd.DataFrame({"metric": ["agency_rate", "permanent_practitioners_fte"], "month": [month] * 2,
                           "value": [a * 100 / d if d else float("nan"), p], "numerator": [a, p],
                           "denominator": [d, float("nan")], "source": ["records"] * 2, "flags": [()] * 2})
    team_frame = {
        ("agency_rate", "team"): pd.DataFrame({"metric": "agency_rate", "month": month, "group": list(teams),
                                               "numerator": [v[0] for v in teams.values()],
                                               "denominator": [v[1] for v in teams.values()]}),
        ("permanent_practitioners_fte", "team"): pd.DataFrame({
            "metric": "permanent_practitioners_fte", "month": month, "group": list(teams),
            "numerator": [v[2] for v in teams.values()], "denominator": float("nan")}),
    }
    return cells, relations, series, team_frame


def published_cells(dec, cells, month: str = "2025-02") -> set:
    """The cells a public pack or CSV prints (known cells are 'published' to the attacker)."""
    return {c for c in cells if c[0] == "known" or dec.shown(c[0], month, c[1] + c[2])}


#: The reported case (issue 17, point 4): team A shows agency FTE as c, but 13.0 − 10.0 − 0 = 3.0; the
#: council 59 − 50 − 6 = 3. Teams B and C have 3 permanent team managers each (full time).
REPORTED = {"A": (3.0, 13.0, 10.0), "B": (0.0, 23.0, 20.0), "C": (0.0, 23.0, 20.0)}

# --- an independent check ----------------------------------------------------------------------


def _alternative_exists(values: dict, groups: list[Group], suppressed: dict, hidden: set, cell: str) -> bool:
    """Is there another assignment of the unknown cells — every group still adding up, every cell inside
    the attacker's bounds — in which ``cell`` differs? Depth-first search over perturbations of each
    unknown cell by up to ±2 (a table's row and column sums form a totally unimodular system, whose
    alternative solutions are reached by such small steps), checking each group once all its unknown
    cells are set."""
    unknown = [c for c in values if c in suppressed or c in hidden]

    def bounds(c):
        if c in hidden:
            return (0, math.inf)
        return {SMALL: (1, 5), SECONDARY: (6, math.inf)}.get(suppressed[c], (0, math.inf))

    related, frontier = {cell}, {cell}
    while frontier:  # only cells linked to `cell` through groups matter
        nxt = {c for g in groups if frontier & {g.total, *g.parts} for c in (g.total, *g.parts)
               if c in unknown and c not in related}
        related |= nxt
        frontier = nxt
    order = [cell] + [c for c in unknown if c in related and c != cell]
    checks = {i: [g for g in groups if {g.total, *g.parts} & set(order)
                  and max(order.index(c) for c in (g.total, *g.parts) if c in order) == i]
              for i in range(len(order))}
    delta: dict = {}

    def ok(g) -> bool:
        return delta.get(g.total, 0) == sum(delta.get(p, 0) for p in g.parts)

    def search(i: int) -> bool:
        if i == len(order):
            return True
        c = order[i]
        for d in ((-2, -1, 1, 2) if i == 0 else (0, -1, 1, -2, 2)):
            lo, hi = bounds(c)
            if not lo <= values[c] + d <= hi:
                continue
            delta[c] = d
            if all(ok(g) for g in checks[i]) and search(i + 1):
                return True
        delta.pop(c, None)
        return False

    return search(0)


def _check_safe(values, groups, suppressed, hidden=()):
    hidden = set(hidden)
    sensitive = [c for c in values if (c in hidden and is_small(values[c]))
                 or suppressed.get(c) in (SMALL, DENOMINATOR)]
    for c in sensitive:
        assert _alternative_exists(values, groups, suppressed, hidden, c), f"{c} = {values[c]} can be recovered"


def test_the_independent_check_sees_a_recoverable_cell():
    values = {"a": 3.0, "b": 10.0, "t": 13.0}
    groups = [Group("t", ("a", "b"))]
    assert not _alternative_exists(values, groups, {"a": SMALL}, set(), "a")  # 13 - 10 = 3
    assert _alternative_exists(values, groups, {"a": SMALL, "b": SECONDARY}, set(), "a")
    assert not _alternative_exists({"a": 1.0, "b": 1.0, "t": 2.0}, groups, {"a": SMALL, "b": SMALL}, set(), "a")


# --- primary rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, small", [
    (0, False), (1, True), (5, True), (6, False), (5.0, True), (0.5, True), (5.9, True), (6.0, False),
    (float("nan"), False), (None, False), ("3", True), (120, False),
])
def test_is_small(value, small):
    assert is_small(value) is small


def test_zero_is_shown_and_small_counts_are_c():
    df = pd.DataFrame({"n": [0, 3, 12]}, index=["a", "b", "c"])
    out = suppress_table(df, ["n"])
    assert list(out["n"]) == [0, SUPPRESSED, 12]
    assert out.attrs["suppressed"] == {("b", "n"): SMALL}


def test_table_without_totals_needs_no_secondary():
    df = pd.DataFrame({"x": [1, 7, 9], "y": [8, 2, 10]}, index=list("abc"))
    out = suppress_table(df, ["x", "y"])
    assert set(out.attrs["suppressed"]) == {("a", "x"), ("b", "y")}


# --- secondary suppression on small tables ---------------------------------------------------

CASES = [
    # (name, rows {label: [parts..., total]}, total_row label or None, cells that must be c, cells that must show)
    ("one small in a row: next smallest goes too",
     {"r": [3, 10, 20, 33]}, None, {("r", "a"), ("r", "b")}, {("r", "c"), ("r", "t")}),
    ("a zero is never the secondary",
     {"r": [3, 0, 20, 23]}, None, {("r", "a"), ("r", "c")}, {("r", "b"), ("r", "t")}),
    ("only zeros left: the total goes",
     {"r": [4, 0, 0, 4]}, None, {("r", "a"), ("r", "t")}, {("r", "b"), ("r", "c")}),
    ("two 1s making 2 are pinned: a third cell goes",
     {"r": [1, 1, 9, 11]}, None, {("r", "a"), ("r", "b"), ("r", "c")}, {("r", "t")}),
    ("two small cells that are not pinned need nothing more",
     {"r": [2, 3, 9, 14]}, None, {("r", "a"), ("r", "b")}, {("r", "c"), ("r", "t")}),
    ("rows and columns: a rectangle, not a whole row",
     {"x": [3, 10, 20, 33], "y": [7, 8, 9, 24], "tot": [10, 18, 29, 57]}, "tot",
     {("x", "a"), ("x", "b"), ("y", "a"), ("y", "b")}, {("tot", "a"), ("tot", "t"), ("x", "c")}),
    ("nothing small: nothing suppressed",
     {"x": [6, 10, 16], "y": [7, 8, 15], "tot": [13, 18, 31]}, "tot", set(), {("x", "a"), ("tot", "t")}),
]


@pytest.mark.parametrize("name, rows, total_row, hidden, shown", CASES, ids=[c[0] for c in CASES])
def test_secondary_suppression(name, rows, total_row, hidden, shown):
    cols = ["a", "b", "c", "t"][-len(next(iter(rows.values()))):] if len(next(iter(rows.values()))) == 3 \
        else ["a", "b", "c", "t"]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    out = suppress_table(df, cols[:-1], cols[-1], total_row=total_row)
    got = set(out.attrs["suppressed"])
    assert hidden <= got, f"expected {hidden - got} suppressed too"
    assert not (shown & got), f"{shown & got} should be shown"
    for r, c in got:
        assert out.at[r, c] == SUPPRESSED
    # independent brute-force: nothing small can be recovered
    values = {f"{r}|{c}": float(df.at[r, c]) for r in df.index for c in cols}
    groups = [Group(f"{r}|{cols[-1]}", tuple(f"{r}|{c}" for c in cols[:-1])) for r in df.index]
    if total_row is not None:
        groups += [Group(f"{total_row}|{c}", tuple(f"{r}|{c}" for r in df.index if r != total_row)) for c in cols]
    _check_safe(values, groups, {f"{r}|{c}": why for (r, c), why in out.attrs["suppressed"].items()})


def test_a_table_of_nothing_but_tiny_numbers_is_withheld():
    """Five 1s under a total of 5: the total is c, but 'five counts of at least 1 making at most 5' is
    all 1s, whatever is suppressed. Such a table cannot be published."""
    df = pd.DataFrame({"n": [1, 1, 1, 1, 1, 5]}, index=[*"abcde", "tot"])
    with pytest.raises(Unprotectable):
        suppress_table(df, ["n"], total_row="tot")


def test_tiny_months_withhold_their_breakdowns_but_keep_the_kpi():
    teams = pd.DataFrame({"group": list("ABCDE"), "numerator": [1.0] * 5, "denominator": [float("nan")] * 5})
    mc = month_cells("permanent_team_managers", "2025-02", 5, None, teams=teams)
    assert mc.breakdowns_withheld and not mc.has_teams
    assert not mc.shown("n")


def test_a_group_that_does_not_add_up_is_refused():
    with pytest.raises(ValueError, match="add up"):
        suppress_table(pd.DataFrame({"a": [1, 2], "t": [9, 2]}), ["a"], "t")


def test_forced_cells_are_suppressed_whatever_their_size():
    df = pd.DataFrame({"n": [0, 30], "m": [7, 3], "d": [7, 33]}, index=["x", "y"])
    out = suppress_table(df, ["n", "m"], "d", forced=[("x", "n")])
    assert out.at["x", "n"] == SUPPRESSED and out.attrs["suppressed"][("x", "n")] == DENOMINATOR


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 15), min_size=3, max_size=3), min_size=2, max_size=4))
def test_no_small_count_is_ever_recoverable(rows):
    """Random tables with row totals and a column-total row: every small count stays protected."""
    df = pd.DataFrame(rows, columns=["a", "b", "c"], index=[f"r{i}" for i in range(len(rows))])
    df["t"] = df.sum(axis=1)
    df.loc["tot"] = df.sum()
    try:
        out = suppress_table(df, ["a", "b", "c"], "t", total_row="tot")
    except Unprotectable:
        # only when the whole table is tiny: nothing but zeros and small counts under a small total
        cells = df.drop(index="tot").to_numpy().ravel()
        assert df.at["tot", "t"] <= 3 * 5 and all(v == 0 or is_small(v) for v in cells)
        return
    sup = {f"{r}|{c}": why for (r, c), why in out.attrs["suppressed"].items()}
    values = {f"{r}|{c}": float(df.at[r, c]) for r in df.index for c in df.columns}
    groups = [Group(f"{r}|t", tuple(f"{r}|{c}" for c in "abc")) for r in df.index]
    groups += [Group(f"tot|{c}", tuple(f"{r}|{c}" for r in df.index if r != "tot")) for c in df.columns]
    assert exposed(values, groups, sup) == []
    for c in [c for c, why in sup.items() if why == SMALL]:
        assert _alternative_exists(values, groups, sup, set(), c), f"{c} recoverable in\n{df}"


# --- percentages, complements, denominators --------------------------------------------------


def test_hidden_complement_is_protected():
    """13 of 14 audits good gives away the 1 that is not: the 13 is hidden, so the percentage is too."""
    mc = month_cells("audits_good_or_better", "2025-02", 13, 14)
    assert mc.suppressed == {"n": SECONDARY}
    assert not mc.shown("value") and mc.shown("d")
    _check_safe(mc.values, mc.groups, mc.suppressed, mc.hidden)


@pytest.mark.parametrize("n, d", [(4, 7), (0, 7), (7, 7), (6, 9)])
def test_percentage_with_denominator_under_10_is_suppressed(n, d):
    mc = month_cells("face_to_face_conferences", "2025-02", n, d)
    assert not mc.shown("value")
    assert not mc.shown("n"), "the numerator would give the percentage back"
    assert mc.shown("d") or is_small(d)


def test_percentage_follows_its_numerator():
    mc = month_cells("assessment_nfa_rate", "2025-02", 3, 40)
    assert mc.suppressed == {"n": SMALL} and not mc.shown("value") and mc.shown("d")
    mc = month_cells("assessment_nfa_rate", "2025-02", 30, 40)
    assert mc.suppressed == {} and mc.shown("value")


def test_team_managers_share_hides_its_denominator_not_the_headline():
    mc = month_cells("permanent_team_managers", "2025-02", 13, None,
                     secondary={"team_manager_permanence_pct": (13, 16)})
    assert mc.shown("n"), "the headline count stays visible"
    assert not mc.shown("all_tm") and not mc.shown("team_manager_permanence_pct"), "16 - 13 = 3 agency managers"


def test_conference_formats_and_types_protect_each_other():
    mc = month_cells("face_to_face_conferences", "2025-02", 40, 52,
                     formats={"face_to_face": 37, "hybrid": 3, "virtual": 12},
                     types={"initial": 20, "review": 32})
    assert mc.suppressed["format:hybrid"] == SMALL
    assert sum(1 for c in mc.suppressed if c.startswith("format:")) >= 2 or not mc.shown("n")
    _check_safe(mc.values, mc.groups, mc.suppressed, mc.hidden)


def test_team_breakdown_protects_small_teams_and_the_council_total():
    teams = pd.DataFrame({"group": ["A", "B", "C"], "numerator": [1.0, 1.0, 0.0], "denominator": [float("nan")] * 3})
    mc = month_cells("permanent_team_managers", "2025-02", 2, None, teams=teams)
    assert mc.has_teams
    assert not mc.shown("team:A:n") and not mc.shown("team:B:n") and mc.shown("team:C:n")
    assert not mc.shown("n"), "1 + 1 = 2: with the total shown both 1s are pinned"
    _check_safe(mc.values, mc.groups, mc.suppressed, mc.hidden)


def test_teams_that_do_not_add_up_are_left_out():
    teams = pd.DataFrame({"group": ["A", "B"], "numerator": [9.0, 9.0], "denominator": [20.0, 20.0]})
    mc = month_cells("assessment_nfa_rate", "2025-02", 30, 50, teams=teams)
    assert not mc.has_teams


# --- series ----------------------------------------------------------------------------------


def _series():
    rows = [
        ("historic_complaints_outstanding", "2025-01", 8, 8, None, "records"),
        ("historic_complaints_outstanding", "2025-02", 3, 3, None, "records"),
        ("historic_complaints_outstanding", "2025-03", 0, 0, None, "records"),
        ("face_to_face_conferences", "2025-01", 50.0, 20, 40, "records"),
        ("face_to_face_conferences", "2025-02", 4 / 7 * 100, 4, 7, "records"),
        ("face_to_face_conferences", "2025-03", float("nan"), float("nan"), float("nan"), None),
    ]
    return pd.DataFrame(rows, columns=["metric", "month", "value", "numerator", "denominator", "source"]).assign(
        flags=[()] * len(rows))


def test_suppress_series_marks_hidden_months():
    out = suppress_series(_series())
    by = {(m, mo): r for m, mo, r in zip(out["metric"], out["month"], out.to_dict("records"))}
    assert by[("historic_complaints_outstanding", "2025-02")]["value"] == SUPPRESSED
    assert by[("historic_complaints_outstanding", "2025-02")]["suppressed"]
    assert by[("historic_complaints_outstanding", "2025-03")]["value"] == 0, "zero is shown"
    conf = by[("face_to_face_conferences", "2025-02")]
    assert conf["value"] == SUPPRESSED and conf["numerator"] == SUPPRESSED and conf["denominator"] == 7
    assert not by[("face_to_face_conferences", "2025-03")]["suppressed"], "no data is not suppression"
    assert by[("face_to_face_conferences", "2025-01")]["value"] == 50.0


def test_every_month_is_protected_and_percentages_follow_counts():
    d = decide(_series())
    for mc in d.cells.values():
        assert exposed(mc.values, mc.groups, mc.suppressed, mc.hidden) == []
        for pct, (n, den) in mc.percents.items():
            if mc.shown(pct):
                assert mc.shown(n) and mc.shown(den)


@pytest.mark.parametrize("text, expected", [
    ("Call ana@council.gov.uk today", "Call [removed] today"),
    ("Child C000123 and worker W00123", "Child [removed] and worker [removed]"),
    ("NHS 943 476 5919", "NHS [removed]"),
    ("ToR 2b(iii) improved by 12% in 2024", "ToR 2b(iii) improved by 12% in 2024"),
    ("£12,500 per post; ≥ 20%", "£12,500 per post; ≥ 20%"),
    # issue 17, point 12: each of these passed into the public pack
    ("Seen child 1234567 twice", "Seen child [removed] twice"),
    ("File C-000123 closed", "File [removed] closed"),
    ("CHILD12345 moved", "[removed] moved"),
    ("Jane Doe DOB 01/02/2015 was seen", "[removed] DOB [removed] was seen"),
    # the other rules
    ("Jane Doe (DOB 1.2.15)", "[removed] (DOB [removed])"),
    ("D.O.B. 010215", "D.O.B. [removed]"),
    ("born 3 March 2015", "born [removed]"),
    ("Sam, born 2015", "[removed] born [removed]"),
    ("met on 2025-02-01 and 1st February, 2015 and February 1, 2015", "met on [removed] and [removed] and [removed]"),
    ("ring 01432 260000, +44 1432 260000 or 07700 900123", "ring [removed], [removed] or [removed]"),
    ("NHS no. 9434765919", "NHS no. [removed]"),
    ("case ref AB/1234; ID: 12", "case ref [removed]; ID: [removed]"),
    ("12345 open", "[removed] open"),
])
def test_redact_text(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "Q3 2024", "ToR 2a", "ToR 2b(vii) and ToR 3", "20%", "12.5% of 1,234 cases", "£12,500 (€14,600)",
    "By March 2025 we expect 40 more", "Review 8 – Mar 2025", "FY2024/25 budget", "3.5 FTE", "Ofsted 2023 report",
    "Child Protection South improved", "child protection conferences", "The child was seen", "Case 7 closed",
])
def test_redaction_keeps_ordinary_text(text):
    assert redact_text(text) == text


def test_the_redaction_rules_are_stated_on_the_rules_page_and_in_the_docs():
    from pathlib import Path

    from reports.disclosure import REDACTION_RULES, RULES

    assert any(REDACTION_RULES in r for r in RULES), "the pack prints RULES on its suppression page"
    doc = (Path(__file__).resolve().parent.parent / "docs" / "boardpack.md").read_text()
    for example in ("child 1234567", "C-000123", "CHILD12345", "Jane Doe DOB 01/02/2015", "Q3 2024", "ToR 2a"):
        assert example in doc


# --- across measures: the workforce KPIs add up ---------------------------------------------------


def test_the_independent_linear_check_sees_the_reported_attack():
    """Before suppression across measures the reported case gives agency FTE back (the checker works)."""
    cells, relations, *_ = workforce_system("2025-02", REPORTED)
    shown = {c for c in cells if not (c[0] == "agency_rate" and c[2] == "n")}  # agency c everywhere
    got = linearly_recoverable(relations, shown, list(cells))
    assert ("agency_rate", "team:A:", "n") in got and ("agency_rate", "", "n") in got


def test_the_reported_cross_kpi_attack_no_longer_recovers_agency_fte():
    cells, relations, series, teams = workforce_system("2025-02", REPORTED)
    dec = decide(series, None, teams)
    assert not dec.shown("agency_rate", "2025-02", "team:A:n") and not dec.shown("agency_rate", "2025-02", "n")
    for scope in ("team:A:", ""):  # all FTE − permanent practitioners − managers
        assert not (dec.shown("agency_rate", "2025-02", scope + "d")
                    and dec.shown("permanent_practitioners_fte", "2025-02", scope + "n")), scope
    published = published_cells(dec, cells)
    small = {c for c in cells if c not in published and is_small(cells[c])}
    assert small and not (linearly_recoverable(relations, published, list(cells)) & small)
    # the same through the public series (the CSV)
    out = suppress_series(series, dec).set_index("metric")
    assert out.loc["agency_rate", "numerator"] == SUPPRESSED
    assert SUPPRESSED in (out.loc["agency_rate", "denominator"], out.loc["permanent_practitioners_fte", "value"])
    # the module's own audit of the joint system agrees, and the brute force finds another table
    joint = dec.get("agency_rate", "2025-02").joint
    assert joint is dec.get("permanent_practitioners_fte", "2025-02").joint
    assert joint.exposed() == []
    _check_safe(joint.values, joint.groups, joint.suppressed, joint.hidden)


def test_a_cell_fixed_by_known_figures_alone_does_not_block_publication():
    """A team with no permanent social workers: its permanent FTE is its managers' (known), which no
    suppression could hide; its agency FTE is still protected."""
    teams = {"Leadership": (1.0, 9.0, 0.0), "B": (8.0, 30.0, 20.0), "C": (7.0, 25.0, 18.0)}
    cells, relations, series, frames = workforce_system("2025-02", teams)
    dec = decide(series, None, frames)
    assert dec.breakdowns_shown("agency_rate", "2025-02") and dec.teams_available("agency_rate", "2025-02")
    published = published_cells(dec, cells)
    assert not dec.shown("agency_rate", "2025-02", "team:Leadership:n")
    assert not (linearly_recoverable(relations, published, list(cells))
                & {c for c in cells if c not in published and is_small(cells[c])})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 14), st.integers(0, 3)), min_size=2, max_size=4))
def test_no_small_workforce_figure_is_recoverable_across_measures(rows):
    """Random teams (agency FTE, permanent practitioner FTE, managers' FTE): no small figure the public
    outputs hide can be worked out from what they publish, by any combination of the sums within and
    across the workforce KPIs (independent rank test), nor by bounds (brute force over the joint system)."""
    teams = {f"T{i}": (float(a), float(a + p + m), float(p)) for i, (a, p, m) in enumerate(rows)}
    cells, relations, series, frames = workforce_system("2025-02", teams)
    dec = decide(series, None, frames)
    mc = dec.get("agency_rate", "2025-02")
    if mc.breakdowns_withheld:  # only tiny numbers: team cells are not published at all
        cells = {c: v for c, v in cells.items() if c[1] == ""}
        relations = [r for r in relations if r[0][1] == "" and all(p[1] == "" for p in r[1])]
    published = published_cells(dec, cells)
    small = {c for c in cells if c not in published and is_small(cells[c])}
    assert not (linearly_recoverable(relations, published, list(cells)) & small), (teams, published)
    joint = mc.joint
    assert joint.exposed() == []
    for c, why in joint.suppressed.items():
        if why == SMALL:
            assert _alternative_exists(joint.values, joint.groups, joint.suppressed, joint.hidden, c), (c, teams)


def test_docs_state_every_rule_word_for_word():
    from pathlib import Path

    from reports.disclosure import RULES

    doc = (Path(__file__).resolve().parent.parent / "docs" / "boardpack.md").read_text()
    for i, rule in enumerate(RULES, start=1):
        assert f"{i}. {rule}" in doc, f"docs/boardpack.md is missing rule {i}"


def test_milestone_measures_are_plan_items_and_shown_in_full():
    series = pd.DataFrame({
        "metric": ["improvement_plan_milestones_complete", "send_milestones_complete", "audits_good_or_better"],
        "month": ["2025-02"] * 3, "value": [13 / 14 * 100, 50.0, 13 / 14 * 100],
        "numerator": [13.0, 2.0, 13.0], "denominator": [14.0, 4.0, 14.0], "source": ["records"] * 3,
        "flags": [()] * 3,
    })
    out = suppress_series(series, decide(series)).set_index("metric")
    assert out.loc["improvement_plan_milestones_complete", "numerator"] == 13.0
    assert out.loc["send_milestones_complete", "value"] == 50.0  # denominator 4 < 10, but not people
    assert out.loc["audits_good_or_better", "numerator"] == "c"  # the same shape about people is hidden
