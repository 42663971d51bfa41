"""Charts never collide (issue 14 item 2): every chart a surface draws — the KPI page's chart
(:func:`reports.charts.review_chart` in the DASHBOARD style), Present's large chart, the packs' chart (PACK
style, drawn by kaleido as the packs draw it) and the SPC view — is exported as SVG by kaleido at widths from
800 to 1920 px, for the demo store and for settings with 12 checkpoints, and no two pieces of text (tick
labels, checkpoint labels, legend entries, axis titles, notes) overlap or leave the figure.

Text boxes come from the SVG plotly.js laid out: each line's position and anchor as drawn, its width measured
in DejaVu Sans (the font the charts ask for, and the one the renderer has) and its height from the font size.
Slow (one kaleido render per figure and width, ~1–3 s each on the 2-core machine).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing

import pytest

from metrics.kpis import REGISTRY
from reports import charts
from reports.fonts import text_width

pytestmark = pytest.mark.slow

WIDTHS = (800, 1024, 1280, 1440, 1920)
AT = dt.date(2025, 6, 1)
KPI = "agency_rate"  # benchmarks, a trajectory, a projection and every checkpoint rated
SVG = "{http://www.w3.org/2000/svg}"


# --- text boxes from plotly's SVG -----------------------------------------------------------------


def _translate(t: str | None) -> tuple[float, float]:
    x = y = 0.0
    for m in re.finditer(r"translate\(\s*([-\d.e]+)[ ,]*([-\d.e]*)\s*\)", t or ""):
        x += float(m.group(1))
        y += float(m.group(2) or 0)
    return x, y


def _rotation(t: str | None) -> tuple[float, float, float] | None:
    m = re.search(r"rotate\(\s*([-\d.e]+)(?:[ ,]+([-\d.e]+)[ ,]+([-\d.e]+))?\s*\)", t or "")
    if not m or float(m.group(1)) == 0:
        return None
    return float(m.group(1)), float(m.group(2) or 0), float(m.group(3) or 0)


def _rotated(box, rot, ox, oy):
    a = math.radians(rot[0])
    cx, cy = rot[1] + ox, rot[2] + oy
    pts = [(x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    xs = [cx + (x - cx) * math.cos(a) - (y - cy) * math.sin(a) for x, y in pts]
    ys = [cy + (x - cx) * math.sin(a) + (y - cy) * math.cos(a) for x, y in pts]
    return min(xs), min(ys), max(xs), max(ys)


def text_boxes(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (x0, y0, x1, y1)) of every line of text in a plotly SVG, in the figure's pixels."""
    out = []

    def walk(el, ox: float, oy: float) -> None:
        transform = el.get("transform")
        rot = _rotation(transform)
        dx, dy = _translate(transform)
        tag = el.tag.replace(SVG, "")
        if tag == "text":
            size = float(re.search(r"font-size:\s*([\d.]+)px", el.get("style") or "font-size: 12px").group(1))
            anchor = el.get("text-anchor", "start")
            lines = [c for c in el if c.tag == f"{SVG}tspan" and "line" in (c.get("class") or "")] or [el]
            for i, line in enumerate(lines):
                text = "".join(line.itertext())
                if not text.strip():
                    continue
                bold = "bold" in ET.tostring(line, encoding="unicode")
                w = text_width(text, size, bold)
                x = float(line.get("x") or el.get("x") or 0)
                y = float(line.get("y") or el.get("y") or 0) + (i * 1.3 * size if line is not el else 0)
                x0 = x - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
                box = (ox + dx + x0, oy + dy + y - 0.8 * size, ox + dx + x0 + w, oy + dy + y + 0.22 * size)
                out.append((text, _rotated(box, rot, ox + dx, oy + dy) if rot else box))
            return
        for child in el:
            walk(child, ox + dx, oy + dy)

    walk(ET.fromstring(svg), 0.0, 0.0)
    return out


def collisions(boxes, tol: float = 0.5) -> list[tuple[str, str]]:
    return [(a, b) for i, (a, p) in enumerate(boxes) for b, q in boxes[i + 1:]
            if min(p[2], q[2]) - max(p[0], q[0]) > tol and min(p[3], q[3]) - max(p[1], q[1]) > tol]


def test_the_box_finder_sees_a_collision():
    """The check can fail: two annotations drawn on top of each other are found."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2], y=[1, 2]))
    fig.add_annotation(x=1.5, y=1.5, text="Jun 2025 (prov.)", showarrow=False)
    fig.add_annotation(x=1.52, y=1.5, text="Sep 2025 (prov.)", showarrow=False)
    boxes = text_boxes(_svg(fig, 800, 400))
    assert ("Jun 2025 (prov.)", "Sep 2025 (prov.)") in collisions(boxes)


# --- the charts -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kaleido_session():
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    yield kaleido
    kaleido.stop_sync_server(silence_warnings=True)


def _svg(fig, width: int, height: int) -> str:
    import kaleido

    out = kaleido.calc_fig_sync(fig, opts=dict(format="svg", width=width, height=height))
    return out.decode() if isinstance(out, bytes) else out


@pytest.fixture(scope="module")
def cases(demo_template):
    """(name, settings, boards) for the demo store's 9 checkpoints and for 12 checkpoints two months apart."""
    from metrics.benchmarks import benchmark_series
    from metrics.reviews import build_board, review_at
    from metrics.reviews.settings import Checkpoint
    from reports.tables import load

    with closing(sqlite3.connect(demo_template)) as conn:
        data = load(conn, AT)
        dates = [dt.date(2023 + (1 + 2 * i) // 12, (1 + 2 * i) % 12 + 1, 1) for i in range(12)]
        s12 = data.settings.model_copy(update={"checkpoints": [Checkpoint(date=d, label=f"Review {i + 1}")
                                                                for i, d in enumerate(dates)]})
        hist12 = [build_board(review_at(conn, d, settings=s12, series=data.series), data.series, s12) for d in dates]
    bench = benchmark_series(KPI, data.settings.la_code)
    return data, bench, [("demo", data.settings, data.history), ("12 checkpoints", s12, hist12)]


def _figures(cases, width: int):
    from dataclasses import replace

    data, bench, settings_cases = cases
    kpi = REGISTRY[KPI]
    for name, settings, boards in settings_cases:
        def chart(style, boards=boards, settings=settings):
            return charts.review_chart(kpi, data.series, settings, boards, current=boards[-1], benchmarks=bench,
                                       style=style)

        # the pages do not tell the figure its width (they stretch it): the labels must fit any width ≥ 800
        yield f"{name}: KPI page", chart(charts.DASHBOARD), 420
        yield f"{name}: Present", chart(replace(charts.PRESENT, height=400)), 400
        # Present stretches its chart to the screen (the figure is redrawn at the container's height)
        yield f"{name}: Present, full screen", chart(replace(charts.PRESENT, height=400)).update_layout(height=760), 760
        yield f"{name}: pack", chart(charts.PACK.sized(width, 540)), 540
    row = data.review.row(KPI)
    traj = charts.trajectory(data.settings, KPI)
    yield "SPC view", charts.spc_figure(kpi, row.spc, trajectory=traj), 420
    yield "SPC view, large", charts.spc_figure(kpi, row.spc, trajectory=traj, style=charts.PRESENT), 560


@pytest.mark.parametrize("width", WIDTHS)
def test_no_two_text_boxes_overlap(kaleido_session, cases, width):
    problems = []
    for name, fig, height in _figures(cases, width):
        height = fig.layout.height or height  # the figure may grow to keep its plot readable
        boxes = text_boxes(_svg(fig, width, height))
        assert len(boxes) > 10, name  # ticks, labels and legend were found
        hits = collisions(boxes)
        outside = [t for t, b in boxes if b[0] < -1 or b[1] < -1 or b[2] > width + 1 or b[3] > height + 1]
        if hits or outside:
            problems.append(f"{name} at {width} px: overlapping {hits[:5]}; outside the figure {outside[:5]}")
    assert not problems, "\n".join(problems)


def test_checkpoint_labels_step_down_before_they_are_dropped():
    """The layout keeps full labels when there is room, staggers, shortens, and only then drops the oldest."""
    import pandas as pd

    marks = [charts.CheckpointMark(dt.date(2023, m, 1), f"{dt.date(2023, m, 1):%b %Y} (prov.)", "green")
             for m in (3, 6, 9, 12)]
    rng = [pd.Timestamp("2023-01-01"), pd.Timestamp("2024-01-31")]
    wide = charts.layout_checkpoint_labels(marks, rng, 1800, 18)
    assert {p.row for p in wide} == {0} and all("(prov.)" in p.text for p in wide)
    narrow = charts.layout_checkpoint_labels(marks, rng, 300, 18)
    assert all(p is None or "(prov.)" not in p.text for p in narrow)
    assert narrow[-1] is not None  # the newest keeps its label
    tiny = charts.layout_checkpoint_labels(marks, rng, 60, 18)
    assert None in tiny and tiny[-1] is not None
