"""The SPC view (reports/charts.py spc_figure): special causes marked by shape as well as colour, limits per
period with trial limits dashed and labelled, rebases drawn with their reason, a legend in words."""

from __future__ import annotations

import pandas as pd

from metrics.kpis import REGISTRY
from metrics.spc import Rebase, SpcSettings, spc
from reports.charts import DASHBOARD, PACK, SPC_POINT_STYLE, spc_figure, spc_symbol

MONTHS = [f"{2022 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
# 12 months around 10, then 7 months at 14 (a shift), one far outlier low, then back to 10
VALUES = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9, 14, 14.5, 13.5, 14, 14.5, 13.5, 14, 2, 10, 11, 9, 10]


def traces(fig, name):
    return [t for t in fig.data if t.name == name]


def test_special_causes_are_marked_by_shape_and_colour():
    kpi = REGISTRY["agency_rate"]  # lower is better: high points are a concern, low ones an improvement
    s = spc(list(zip(MONTHS, VALUES)), direction=kpi.direction, target=12)
    kinds = {p.type for p in s.points}
    assert {"special_cause_concern", "special_cause_improvement", "common_cause"} <= kinds
    fig = spc_figure(kpi, s)
    concern = traces(fig, "Special cause: concern")[0]
    better = traces(fig, "Special cause: improvement")[0]
    assert concern.marker.symbol == "square" and better.marker.symbol == "triangle-down"
    assert concern.marker.color != better.marker.color
    assert len(concern.x) == sum(p.type == "special_cause_concern" for p in s.points)
    # every symbol differs from the plain points' circle
    assert spc_symbol("special_cause_improvement", "up") == "triangle-up"
    assert SPC_POINT_STYLE["common_cause"]["symbol"] == "circle"
    hover = " ".join(concern.hovertext)
    assert "Special cause concern — 2 of 3 points beyond the near limit above the mean" in hover
    assert "Special cause improvement — below the lower process limit" in " ".join(better.hovertext)


def test_limits_per_period_trial_limits_dashed_and_labelled_and_rebases_drawn():
    kpi = REGISTRY["audits_good_or_better"]
    rebase = Rebase("2023-06", "New audit framework")
    s = spc(list(zip(MONTHS, [40 + (i % 3) for i in range(24)])), direction="up",
            settings=SpcSettings(rebases=(rebase,)), target=50)
    assert [seg.trial for seg in s.segments] == [False, True]
    fig = spc_figure(kpi, s, trajectory=pd.DataFrame({"date": ["2022-01-31", "2023-12-31"], "target": [45, 55]}),
                     intervals={"2023-12": (30.0, 55.0)})
    assert traces(fig, "Process limits")[0].line.dash == "solid"
    assert traces(fig, "Trial limits (under 13 months)")[0].line.dash == "dash"
    texts = [a.text for a in fig.layout.annotations]
    assert "trial limits" in texts
    assert any("Rebase Jun 2023: New audit framework" in t for t in texts)
    assert any("docs/judgement.md" in t for t in texts)
    assert fig.layout.shapes, "the rebase is a vertical line"
    assert traces(fig, "Target") and traces(fig, "Judged month")
    value = traces(fig, "Monthly value")[0]
    assert "95% interval 30.0%–55.0%" in value.hovertext[-1]
    # the mean is a step line: one level per period
    mean = traces(fig, "Mean")[0]
    assert len({y for y in mean.y if y is not None}) == 2


def test_hidden_months_leave_a_gap_and_the_pack_style_is_larger():
    kpi = REGISTRY["agency_rate"]
    s = spc(list(zip(MONTHS, VALUES)), direction="down")
    fig = spc_figure(kpi, s, hidden={"2023-08"}, style=PACK.sized(960, 540))
    assert pd.Timestamp("2023-08-31") not in list(traces(fig, "Monthly value")[0].x)
    assert fig.layout.font.size == 20 and fig.layout.width == 960
    assert spc_figure(kpi, s, style=DASHBOARD).layout.font.size == 13
