"""The KPI registry: every declaration complete, groupings derived from units, and an eleventh KPI
registered from outside seen everywhere on the metrics side without editing any other module."""

from __future__ import annotations

import dataclasses
import json

import pytest

from metrics import contract, kpi_registry, kpis
from metrics.benchmarks import BENCHMARKED_METRICS, SOURCES
from metrics.compute import AGGREGATORS, BREAKDOWNS, FORMULAS
from metrics.issues import Refused
from metrics.kpis import KPI, REGISTRY, SECONDARY, Part, SecondaryMeasure

DECLARED = tuple(REGISTRY)


# --- completeness ------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", DECLARED)
def test_every_declaration_is_complete(metric):
    k = REGISTRY[metric]
    assert kpi_registry.problems(k) == []
    for f in dataclasses.fields(KPI):  # every part is there: text filled in, flags a real bool
        v = getattr(k, f.name)
        if f.name in ("denominator", "benchmark", "breakdowns", "secondary"):
            continue  # optional by nature (checked below against the unit / the source kind)
        assert v not in (None, ""), (metric, f.name)
    assert isinstance(k.counts_people, bool)
    assert (k.denominator is None) == (k.unit != "percent")
    for part in (k.numerator, k.denominator):
        if part is not None:
            assert part.column in AGGREGATORS[k.source_kind].columns
            assert part.label and part.noun
    assert all(s.parent == metric for s in k.secondary)


def test_the_declared_ten_in_terms_of_reference_order():
    assert DECLARED == ("agency_rate", "permanent_practitioners_fte", "permanent_team_managers",
                        "face_to_face_conferences", "assessment_nfa_rate", "three_plus_social_workers",
                        "audits_good_or_better", "send_milestones_complete", "historic_complaints_outstanding",
                        "improvement_plan_milestones_complete")


def test_people_and_plan_items():
    assert [k for k, v in REGISTRY.items() if not v.counts_people] == [
        "send_milestones_complete", "improvement_plan_milestones_complete"]


def test_pack_wording_is_declared():
    assert REGISTRY["agency_rate"].parts_unit == "fte"
    assert (REGISTRY["agency_rate"].numerator.label, REGISTRY["agency_rate"].denominator.label) == (
        "Agency FTE", "All FTE")
    assert REGISTRY["face_to_face_conferences"].denominator.noun == "conferences"
    assert REGISTRY["three_plus_social_workers"].denominator.noun == "children"
    assert {k.parts_unit for k in REGISTRY.values() if k.id != "agency_rate" and k.unit == "percent"} == {"count"}


def _broken(**changes) -> KPI:
    return dataclasses.replace(REGISTRY["audits_good_or_better"], id="broken", **{"secondary": (), **changes})


@pytest.mark.parametrize("changes, words", [
    ({"rule": ""}, "rule is empty"),
    ({"definition": " "}, "definition is empty"),
    ({"numerator": Part("no_such_column", "x", "y")}, "numerator column 'no_such_column'"),
    ({"denominator": None}, "a percentage needs a denominator"),
    ({"unit": "count"}, "only a percentage has one"),
    ({"unit": "count", "denominator": None}, "judge_on 'rolling_3_months' needs a percentage"),  # judgement.md s. 2
    ({"judge_on": "quarter"}, "judge_on 'quarter' is not month or rolling_3_months"),
    ({"denominator": Part("audits", "", "audits")}, "denominator label is empty"),
    ({"breakdowns": ("format",)}, "cannot be broken down by 'format'"),
    ({"benchmark": "nowhere"}, "benchmark 'nowhere' is not a published source"),
    ({"source_kind": "nothing"}, "source kind 'nothing' has no aggregator"),
    ({"secondary": (SecondaryMeasure("s", "S", "count", "d", "nope"),)}, "column 'nope'"),
])
def test_an_incomplete_declaration_is_named_and_refused(changes, words):
    k = _broken(**changes)
    assert any(words in p for p in kpi_registry.problems(k)), kpi_registry.problems(k)
    with pytest.raises(ValueError, match="Incomplete KPI declaration"):
        kpi_registry.register(k)
    assert "broken" not in REGISTRY


def test_a_taken_id_is_refused_and_the_ten_cannot_be_removed():
    with pytest.raises(ValueError, match="already registered"):
        kpi_registry.register(REGISTRY["agency_rate"])
    with pytest.raises(ValueError, match="cannot be removed"):
        kpi_registry.unregister("agency_rate")
    assert tuple(REGISTRY) == DECLARED


def test_groupings_come_from_the_unit():
    assert tuple(contract.PERCENT_KPI_IDS) == kpis.ids_with_unit("percent")
    assert contract.KPI_IDS == DECLARED
    assert set(kpis.ids_with_unit("count")) == {"permanent_team_managers", "historic_complaints_outstanding"}
    assert kpis.ids_with_unit("fte") == ("permanent_practitioners_fte",)


@pytest.mark.parametrize(("metric", "target", "shown"), [
    ("permanent_team_managers", 13.3806, "13.4"),  # the demo's Mar 2025 target: an actual of 13 misses it
    ("permanent_team_managers", 12.96, "13.0"),  # not whole: the decimal says so
    ("permanent_team_managers", 13.0, "13"),  # a whole count target stays whole
    ("historic_complaints_outstanding", 1234.5, "1,234.5"),
    ("historic_complaints_outstanding", None, "no data"),
    ("agency_rate", 12.34, "12.3%"),  # other units: as format() shows them
    ("permanent_practitioners_fte", 61.25, "61.2 FTE"),
])
def test_a_count_target_that_is_not_whole_keeps_one_decimal(metric, target, shown):
    k = REGISTRY[metric]
    assert k.format_target(target) == shown
    if k.unit != "count" or target is None or target == round(target):
        assert k.format_target(target) == k.format(target)


def test_links_are_derived_from_the_declarations():
    assert dict(BREAKDOWNS) == {k.id: k.breakdowns for k in REGISTRY.values() if k.breakdowns}
    assert dict(FORMULAS) == {k.id: k.rule for k in REGISTRY.values()}
    assert {m: s.metric_id for m, s in BENCHMARKED_METRICS.items()} == {
        k.id: k.id for k in REGISTRY.values() if k.benchmark}
    assert all(BENCHMARKED_METRICS[k.id] == dataclasses.replace(SOURCES[k.benchmark], metric_id=k.id)
               for k in REGISTRY.values() if k.benchmark)
    assert list(SECONDARY) == [s.id for k in REGISTRY.values() for s in k.secondary]


# --- an eleventh KPI, registered from outside ----------------------------------------------------------

TOY = KPI(
    id="audits_requires_improvement", tor="2b(vi)", label="Audits graded requires improvement (%)",
    unit="percent", direction="down", source_kind="audits", priority="Improve the quality of practice",
    definition="Case-file audits completed in the month graded requires improvement, as a percentage of all.",
    numerator=Part("grade_requires_improvement", "Requires improvement", "audits"),
    denominator=Part("audits", "All audits", "audits"),
    rule="Audits with audit_date in M graded requires_improvement ÷ all audits with audit_date in M, × 100.",
    counts_people=True, breakdowns=("team",),
    secondary=(SecondaryMeasure("audits_outstanding_count", "Audits graded outstanding", "count",
                                "Audits completed in the month graded outstanding.", "grade_outstanding"),),
)


@pytest.fixture
def toy():
    with kpi_registry.registered(TOY):
        yield TOY
    assert tuple(REGISTRY) == DECLARED and "audits_outstanding_count" not in SECONDARY


def test_toy_kpi_is_in_every_registry_view(toy):
    assert tuple(REGISTRY)[-1] == toy.id and contract.KPI_IDS[-1] == toy.id
    assert toy.id in contract.PERCENT_KPI_IDS
    assert BREAKDOWNS[toy.id] == ("team",) and FORMULAS[toy.id] == toy.rule
    assert SECONDARY["audits_outstanding_count"].parent == toy.id
    assert toy.id not in BENCHMARKED_METRICS
    from metrics.docs import render_metrics_md

    page = render_metrics_md()
    assert f"### `{toy.id}` — {toy.label}" in page and toy.rule in page


def test_toy_kpi_may_be_named_by_a_figures_upload(toy):
    from metrics.validate import validate

    ok = validate(f"month,metric,numerator,denominator\n2021-01,{toy.id},3,10\n".encode(), kind="figures")
    assert list(ok.frame["metric"]) == [toy.id]
    with pytest.raises(Refused) as e:  # a percentage: the denominator is required
        validate(f"month,metric,numerator\n2021-01,{toy.id},3\n".encode(), kind="figures")
    assert [i.rule for i in e.value.errors] == ["denominator_required"]


def test_an_unregistered_kpi_is_refused_by_a_figures_upload():
    from metrics.validate import validate

    with pytest.raises(Refused) as e:
        validate(f"month,metric,numerator,denominator\n2021-01,{TOY.id},3,10\n".encode(), kind="figures")
    assert [i.rule for i in e.value.errors] == ["enum"]


@pytest.fixture(scope="module")
def demo_db(demo_copy_of, tmp_path_factory):
    return demo_copy_of(tmp_path_factory.mktemp("toy") / "kpi.sqlite")


def test_toy_kpi_is_computed_listed_and_reviewed(toy, demo_db, run_kpi):
    from metrics import store
    from metrics.compute import breakdown, compute_series, secondary_series
    from metrics.reviews import default_settings, review_board, save_settings
    from metrics.reviews.settings import KpiTarget

    conn = store.connect(demo_db)
    try:
        series = compute_series(conn)
        mine = series[series["metric"] == toy.id].set_index("month")
        grades = breakdown(conn, "audits_good_or_better", by="grade")
        ri = grades[grades["group"] == "requires_improvement"].set_index("month")
        assert len(ri) > 12
        for month, g in ri.iterrows():  # the toy's value is its declared numerator over its denominator
            assert mine.loc[month, "numerator"] == g["numerator"]
            assert mine.loc[month, "denominator"] == g["denominator"]
            assert mine.loc[month, "value"] == pytest.approx(100 * g["numerator"] / g["denominator"])
        assert not breakdown(conn, toy.id, by="team").empty
        sec = secondary_series(conn, parents=[toy.id])
        assert set(sec["metric"]) == {"audits_outstanding_count"}

        s = default_settings()
        s = s.model_copy(update={"targets": {**s.targets, toy.id: KpiTarget(
            baseline_month="2023-02", baseline_value=40.0, final_target=20.0,
            final_date=s.targets["agency_rate"].final_date, tolerance=5.0)}})
        save_settings(conn, s, by="analyst", note="toy KPI")
        assert review_board(conn, "2024-06-01").row(toy.id).rag in ("green", "amber", "red")
    finally:
        conn.close()

    res = run_kpi("metrics", "--db", str(demo_db), "--metric", toy.id, "--json")
    assert res.code == 0, res.err
    rows = json.loads(res.out)
    assert rows and {r["metric"] for r in rows} == {toy.id}
    assert rows[-1]["value"] == pytest.approx(mine["value"].dropna().iloc[-1])

    res = run_kpi("review", "--db", str(demo_db), "--at", "2024-06-01", "--json")
    assert res.code == 0, res.err
    review = json.loads(res.out)
    row = next(m for m in review["metrics"] if m["metric"] == toy.id)
    # judgement.md section 1: 1 Jun 2024 less the 14-day reporting lag judges April (on the month: the
    # toy KPI declares no other basis)
    assert row["actual_month"] == "2024-04" and row["actual"] == pytest.approx(mine.loc["2024-04", "value"])
    assert (row["basis"], row["months_pooled"]) == ("month", 1)
    assert row["rag"] in ("green", "amber", "red") and sum(review["summary"].values()) == 11
