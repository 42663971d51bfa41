"""Context from published data (issue 13 item 6): ranks and quartiles against the raw DfE files, annual
points at their reference date, "not like for like" on the chart and on the pack page, and the workforce
census's turnover, vacancy and caseload on the KPI page."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from metrics import benchmarks as bm
from metrics import context
from metrics.context import Rank, kpi_standings, rank, standings
from metrics.kpis import REGISTRY

DATA = Path(__file__).resolve().parent.parent / "data" / "benchmarks"
MISSING = {"c", "u", "x", "z", "low", ""}
HEREFORDSHIRE = "884"  # E06000019


# --- by hand, from the raw files (csv module only: nothing from metrics.benchmarks) ------------------


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _published(name: str, column: str, year: int, **where) -> dict[str, float]:
    """old_la_code → value of every LA row with a published value in ``year``."""
    out = {}
    for r in _rows(name):
        if (r["geographic_level"] == "Local authority" and r["time_period"] == str(year)
                and all(r[k] == v for k, v in where.items()) and r[column].strip() not in MISSING):
            out[r["old_la_code"].strip()] = float(r[column])
    return out


def _neighbours(code: str) -> list[str]:
    row = next(r for r in _rows("sn_model_2025_wide.csv") if r["old_la_code"] == code)
    return [row[f"SN_{i}"] for i in range(1, 11)]


def _by_hand(values: dict[str, float], code: str, lower_is_better: bool) -> tuple[int, int, int]:
    own = values[code]
    better = sum(1 for v in values.values() if (v < own if lower_is_better else v > own))
    r = better + 1
    return r, len(values), math.ceil(4 * r / len(values))


AGENCY = ("csww_indicators_2017_to_2025.csv", "agency_rate_fte", {})
THREE_PLUS = ("la_cla_swcount.csv", "percentage", {"sw_stability": "3 or more social workers during the year",
                                                   "cla_group": "CLA on 31 March"})


def _standing(metric: str, code: str, year: int):
    return next(s for s in kpi_standings(metric, code) if s.year == year)


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize("values, own, direction, expected", [
    ([10, 20, 20, 30], 10, "down", Rank(1, 4, 1)),
    ([10, 20, 20, 30], 20, "down", Rank(2, 4, 2)),  # a tie shares the best rank of the tie …
    ([10, 20, 20, 30], 30, "down", Rank(4, 4, 4)),  # … and the next rank is skipped (1, 2, 2, 4)
    ([10, 20, 20, 30], 30, "up", Rank(1, 4, 1)),
    ([10, 20, 20, 30], 10, "up", Rank(4, 4, 4)),
    ([10, float("nan"), 30], 30, "down", Rank(2, 2, 4)),  # missing values are left out
    ([10, 20], float("nan"), "down", Rank(None, 2, None)),
    (list(range(1, 12)), 3, "down", Rank(3, 11, 2)),  # quartile = ceil(4 × 3 / 11) = 2
])
def test_rank_one_is_best_ties_share_the_best_rank(values, own, direction, expected):
    assert rank(values, own, direction) == expected


# --- against the raw DfE files -----------------------------------------------------------------------


def test_herefordshire_agency_rate_2025_by_hand():
    """884 (E06000019) at 30 Sept 2025: 18.3% agency; lower is better."""
    name, col, where = AGENCY
    england = _published(name, col, 2025, **where)
    assert england[HEREFORDSHIRE] == 18.3
    s = _standing("agency_rate", HEREFORDSHIRE, 2025)
    assert s.value == 18.3 and s.period_end == "2025-09-30"
    assert (s.england.rank, s.england.of, s.england.quartile) == _by_hand(england, HEREFORDSHIRE, True) == (100, 148, 3)
    group = {c: v for c, v in england.items() if c in {HEREFORDSHIRE, *_neighbours(HEREFORDSHIRE)}}
    assert len(group) == 11
    assert (s.neighbours.rank, s.neighbours.of, s.neighbours.quartile) == _by_hand(group, HEREFORDSHIRE, True)
    assert (s.neighbours.rank, s.neighbours.of) == (10, 11)


@pytest.mark.parametrize("code", ["884", "943", "350", "873", "202"])
@pytest.mark.parametrize("year", [2023, 2025])
def test_agency_rate_rank_in_england_matches_the_raw_file(code, year):
    name, col, where = AGENCY
    england = _published(name, col, year, **where)
    s = _standing("agency_rate", code, year)
    assert s.value == england[code]
    assert (s.england.rank, s.england.of, s.england.quartile) == _by_hand(england, code, True)


@pytest.mark.parametrize("code", ["884", "943", "807"])
def test_three_plus_social_workers_rank_matches_the_raw_file(code):
    name, col, where = THREE_PLUS
    england = _published(name, col, 2024, **where)
    s = _standing("three_plus_social_workers", code, 2024)
    assert s.period_end == "2024-03-31"
    assert (s.england.rank, s.england.of, s.england.quartile) == _by_hand(england, code, True)
    group = {c: v for c, v in england.items() if c in {code, *_neighbours(code)}}
    assert (s.neighbours.rank, s.neighbours.of, s.neighbours.quartile) == _by_hand(group, code, True)


def test_a_tie_shares_the_best_rank_and_the_next_rank_is_skipped():
    """DfE rounds the 3+ social workers percentage to a whole number: eight councils published 20% in 2024
    (among them Westmorland and Furness, 943, Herefordshire's nearest neighbour, and Redcar, 807)."""
    name, col, where = THREE_PLUS
    england = _published(name, col, 2024, **where)
    tied = sorted(c for c, v in england.items() if v == 20)
    assert len(tied) == 8 and {"943", "807"} <= set(tied)
    ranks = {_standing("three_plus_social_workers", c, 2024).england.rank for c in tied}
    assert ranks == {1 + sum(v < 20 for v in england.values())}
    tie_rank = ranks.pop()
    nxt = min(v for v in england.values() if v > 20)
    after = next(c for c, v in england.items() if v == nxt)
    assert _standing("three_plus_social_workers", after, 2024).england.rank == tie_rank + len(tied)


def test_herefordshire_three_plus_social_workers_2024_is_worst_among_neighbours():
    s = _standing("three_plus_social_workers", HEREFORDSHIRE, 2024)
    assert s.value == 44
    assert (s.neighbours.rank, s.neighbours.of, s.neighbours.quartile) == (11, 11, 4)


def test_workforce_context_measures_rank_lower_is_better_against_the_raw_file():
    name = "csww_indicators_2017_to_2025.csv"
    for key, col in (("turnover", "turnover_rate_fte"), ("vacancy", "vacancy_rate_fte"),
                     ("caseload", "caseload_fte")):
        m = context.CONTEXT_MEASURES[key]
        s = next(x for x in standings(m.source, m.direction, HEREFORDSHIRE) if x.year == 2025)
        england = _published(name, col, 2025)
        assert s.value == england[HEREFORDSHIRE]
        assert (s.england.rank, s.england.of, s.england.quartile) == _by_hand(england, HEREFORDSHIRE, True)


def test_neighbour_table_has_the_council_its_ten_neighbours_their_average_and_england():
    t = context.neighbour_table("agency_rate", HEREFORDSHIRE, 2025)
    assert list(t["role"]) == ["council"] + ["neighbour"] * 10 + ["neighbours' average", "England"]
    assert t.iloc[0]["area"].startswith("Herefordshire")
    raw = {r["old_la_code"]: r for r in _rows("csww_indicators_2017_to_2025.csv")
           if r["time_period"] == "2025" and r["geographic_level"] == "Local authority"}
    for code, (_, row) in zip([HEREFORDSHIRE, *_neighbours(HEREFORDSHIRE)], t.iloc[:11].iterrows()):
        assert row["turnover"] == float(raw[code]["turnover_rate_fte"])
        assert row["caseload"] == float(raw[code]["caseload_fte"])
    england = next(r for r in _rows("csww_indicators_2017_to_2025.csv")
                   if r["time_period"] == "2025" and r["geographic_level"] == "National")
    assert t.iloc[-1]["vacancy"] == float(england["vacancy_rate_fte"])
    assert t.iloc[11]["turnover"] == pytest.approx(sum(t.iloc[1:11]["turnover"]) / 10)


def test_context_is_declared_on_the_workforce_priorities_only():
    with_context = {k.id for k in REGISTRY.values() if k.context}
    assert with_context == {"agency_rate", "permanent_practitioners_fte", "permanent_team_managers",
                            "three_plus_social_workers"}
    assert context.standing_table("audits_good_or_better", HEREFORDSHIRE).empty
    assert context.context_series("audits_good_or_better", HEREFORDSHIRE).empty


def test_standing_table_as_known_at_a_review():
    t = context.standing_table("agency_rate", HEREFORDSHIRE, until="2025-03-01", years=3)
    assert list(t["Reference date"]) == ["30 Sep 2022", "30 Sep 2023", "30 Sep 2024"] + ["30 Sep 2024"] * 3
    assert t.iloc[2]["Council"] == "33.9%" and t.iloc[2]["Quartile (England)"] == "4 (worst quarter)"


def test_an_unknown_la_code_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown local authority code '999'"):
        context.standing_table("agency_rate", "999")


# --- charts: annual points at the reference date; "not like for like" on the chart itself -------------------


def _kpi_figure(metric: str):
    from reports.charts import kpi_figure

    series = pd.DataFrame({"metric": metric, "month": ["2024-01", "2024-02"], "value": [20.0, 21.0],
                           "numerator": [2.0, 2.1], "denominator": [10.0, 10.0], "source": "records",
                           "flags": [(), ()]})
    return kpi_figure(REGISTRY[metric], series, benchmarks=bm.benchmark_series(metric, HEREFORDSHIRE))


@pytest.mark.parametrize("metric, month_day", [("agency_rate", "09-30"), ("three_plus_social_workers", "03-31")])
def test_benchmarks_are_annual_points_at_their_reference_date(metric, month_day):
    fig = _kpi_figure(metric)
    published = [t for t in fig.data if t.name and "(published)" in t.name]
    assert len(published) == 4  # England, region, statistical neighbours, the council
    for t in published:
        assert t.mode == "markers"  # never a line through the months between
        assert {pd.Timestamp(x).strftime("%m-%d") for x in t.x} == {month_day}


def test_a_benchmark_not_like_for_like_says_so_on_the_chart():
    notes = [a.text for a in _kpi_figure("three_plus_social_workers").layout.annotations]
    assert any("children in care only" in n and "not like for like" in n for n in notes)
    assert not any("not like for like" in (a.text or "") for a in _kpi_figure("agency_rate").layout.annotations)


def test_context_chart_draws_annual_points_at_30_september():
    from reports.context import context_figure

    fig = context_figure("agency_rate", context.context_series("agency_rate", HEREFORDSHIRE))
    assert [a.text for a in fig.layout.annotations] == ["Turnover (%)", "Vacancies (%)", "Caseload (cases per FTE)"]
    assert len(fig.data) == 9  # the council, neighbours' average and England in each of three panels
    for t in fig.data:
        assert t.mode == "markers"
        assert {pd.Timestamp(x).strftime("%m-%d") for x in t.x} == {"09-30"}


# --- the pack page ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pack_pdf(demo_template, tmp_path_factory) -> Path:
    """The restricted PDF pack of the demo store at the Mar 2025 review, without charts (fast)."""
    import shutil

    from metrics.store import connect
    from reports.pack.build import build_model
    from reports.pdf import render
    from reports.tables import load

    home = tmp_path_factory.mktemp("context-pack")
    db = shutil.copyfile(demo_template, home / "demo.sqlite")
    conn = connect(db)
    try:
        model = build_model(conn, load(conn, dt.date(2025, 3, 1)), public=False, include_teams=False, by="tester")
    finally:
        conn.close()
    out = home / "pack.pdf"
    render(model, out)
    return out


def _pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [" ".join(p.split()) for p in text.split("\f")]


@pytest.mark.slow
def test_pack_page_says_the_benchmark_is_not_like_for_like(pack_pdf):
    pages = _pages(pack_pdf)
    kpi = REGISTRY["three_plus_social_workers"]
    page = next(p for p in pages if f"{kpi.tor} {kpi.label}" in p and "Last three months" in p)
    assert "Published benchmark not like for like (children in care only)" in page  # on the same page
    agency = next(p for p in pages if "2b(i) Agency social workers (% of FTE)" in p and "Last three months" in p)
    assert "not like for like" not in agency


@pytest.mark.slow
def test_pack_gives_rank_quartile_and_the_workforce_census(pack_pdf):
    text = " ".join(_pages(pack_pdf))
    assert "Where the council stands (published figures)" in text
    assert "Workforce census, 30 September 2024: the council and its statistical neighbours" in text
    s = _standing("agency_rate", HEREFORDSHIRE, 2024)
    assert f"{s.england.rank} of {s.england.of}" in text and f"{s.neighbours.rank} of {s.neighbours.of}" in text
    assert "30 Sep 2025" not in text  # a pack shows reference dates up to its review date only


# --- the KPI page (AppTest) ------------------------------------------------------------------------------


@pytest.fixture
def kpi_page(demo_template, tmp_path, monkeypatch):
    import shutil

    from helpers_pages import kpi_pages

    db = shutil.copyfile(demo_template, tmp_path / "kpi.sqlite")
    yield from kpi_pages(monkeypatch, db, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["agency_rate", "permanent_team_managers"])
def test_kpi_page_shows_turnover_vacancy_and_caseload_for_workforce_kpis(kpi_page, metric):
    at = kpi_page(metric)
    assert "Context from published data" in [h.value for h in at.header]
    frames = [d.value for d in at.dataframe]
    census = next(f for f in frames if "Turnover (%)" in f.columns)
    assert list(census.columns) == ["Area", "Turnover (%)", "Vacancies (%)", "Caseload (cases per FTE)"]
    assert census.iloc[0]["Area"] == "Herefordshire, County of (council)"
    # the demo opens on its Mar 2025 review: the census of 30 Sep 2024 is the latest known then (not 2025's)
    assert census.iloc[0]["Turnover (%)"] == "11.4%" and census.iloc[0]["Caseload (cases per FTE)"] == "14.5"
    standing = next(f for f in frames if "Among statistical neighbours" in f.columns)
    assert "30 Sep 2024" in set(standing["Reference date"]) and "30 Sep 2025" not in set(standing["Reference date"])
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ctx = next(c for c in charts if any(a.get("text") == "Caseload (cases per FTE)"
                                        for a in c["layout"].get("annotations", [])))
    assert all(t["mode"] == "markers" for t in ctx["data"])
    assert any("Rank 1 = the best figure" in c.value for c in at.caption)


@pytest.mark.slow
def test_kpi_page_three_plus_warns_not_like_for_like(kpi_page):
    at = kpi_page("three_plus_social_workers")
    assert any("not like for like: children in care only" in w.value for w in at.warning)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any("not like for like" in (a.get("text") or "") for a in chart["layout"]["annotations"])


@pytest.mark.slow
def test_kpi_page_without_published_data_has_no_context(kpi_page):
    at = kpi_page("audits_good_or_better")
    assert "Context from published data" not in [h.value for h in at.header]


@pytest.mark.slow
def test_kpi_page_context_follows_the_chosen_review_as_the_pack_does(demo_template, tmp_path, monkeypatch):
    """An early review shows what was published by its date (the pack's rule, one code path), not the latest
    year; the latest review shows the later years."""
    import shutil

    from helpers_pages import app_page, local_mode, point_at
    from reports.pack.build import context_blocks

    db = shutil.copyfile(demo_template, tmp_path / "kpi.sqlite")
    point_at(monkeypatch, db, tmp_path)
    local_mode(monkeypatch)
    seen = {}
    for review, census_year, said in (("2023-09-01", 2022, "1 Sep 2023"), ("2025-03-01", 2024, "1 Mar 2025")):
        at = app_page("kpi", kpi="agency_rate", at=review)
        assert not at.exception, [e.value for e in at.exception]
        frames = [d.value for d in at.dataframe]
        standing = next(f for f in frames if "Among statistical neighbours" in f.columns)
        census = next(f for f in frames if "Turnover (%)" in f.columns)
        pack = context_blocks(REGISTRY["agency_rate"], HEREFORDSHIRE, dt.date.fromisoformat(review))
        pack_rows = [r[1:] for r in pack[0].table.rows]  # the pack shortens the measure's name
        assert pack_rows == [r[1:] for r in standing.astype(str).values.tolist()]
        assert pack[1].title.startswith(f"Workforce census, 30 September {census_year}")
        assert any(f"**30 September {census_year}: the council" in m.value for m in at.markdown)
        assert any(f"As known at the {said} review" in c.value for c in at.caption)
        seen[review] = (list(standing["Reference date"]), census.iloc[0]["Turnover (%)"])
    early, late = seen["2023-09-01"], seen["2025-03-01"]
    assert early[0][:3] == ["30 Sep 2020", "30 Sep 2021", "30 Sep 2022"] and "30 Sep 2023" not in early[0]
    assert early[1] == "50%"  # the 2022 census, the latest published by 1 Sep 2023
    assert "30 Sep 2024" in late[0] and late[1] == "11.4%"
    from metrics.settings import get_settings

    get_settings.cache_clear()
