"""Plotly figures shared by the dashboard, presentation mode and the board pack.

:func:`review_chart` is the ONE chart builder: from the series, the review settings and the review
model's boards (:class:`metrics.reviews.ReviewBoard`) it assembles a KPI's chart inputs — the target
trajectory (:func:`trajectory`), the checkpoint marks (:func:`checkpoint_marks`), the projection of the
current trend (:func:`projection`), published benchmarks, public gaps — and draws them with
:func:`kpi_figure`. The dashboard (KPI and present pages) and the packs call it with a different
:class:`ChartStyle` (size and type scale, label format) and nothing else differs.

:func:`kpi_figure` draws monthly actuals, the target trajectory, labelled review checkpoints with their
RAG (colour *and* text and marker shape — never colour alone), and the published England / region /
statistical-neighbour benchmarks, from plain frames. Words, colours and shapes come from
:mod:`metrics.reviews.words`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
import plotly.graph_objects as go

from metrics import months
from metrics.kpis import KPI
from metrics.reviews import ReviewBoard, ReviewSettings, words
from reports.disclosure import SUPPRESSED, Decisions

# Colours with at least 4.5:1 contrast on white; RAG also carries a word and a marker shape.
INK = "#0b0c0c"
ACTUAL = "#1d4f91"
TARGET = "#505a5f"
RAG_STYLE = {rag: {"colour": words.RAG_COLOURS[rag], "symbol": words.RAG_MARKERS[rag],
                  "word": words.rag_text(rag, "upper")} for rag in words.RAGS}
PROJECTION = "#1d4f91"
#: A public chart's checkpoint whose actual is suppressed says so, not "NO DATA".
WITHHELD_WORD = f"'{SUPPRESSED}'"
BENCH_STYLE = {  # series name prefix -> (colour, marker symbol); the council's own: BENCH_OWN
    "England": ("#6f3c97", "hexagon"),
    "Region": ("#8f4a00", "square"),
    "Statistical neighbours": ("#00626b", "triangle-up"),
}
BENCH_OWN = ("#3d3d3d", "star")
#: On a chart whose published benchmark is defined differently from the KPI (BenchmarkSource.differs).
DIFFERS_NOTE = "Published points: {differs} — not like for like with this KPI"


def _benchmark_traces(fig: go.Figure, kpi: KPI, benchmarks: pd.DataFrame, large: bool) -> None:
    """Published figures as annual points at their reference date (30 Sept for the workforce census, 31 March
    for children in care), never a line through the months between. A benchmark whose definition differs
    from the KPI's says so on the chart itself, in a note inside the plot's top left corner
    (``BenchmarkSource.differs``; :data:`DIFFERS_NOTE`)."""
    from metrics.benchmarks import BENCHMARKED_METRICS

    src = BENCHMARKED_METRICS.get(kpi.id)
    differs = src.differs if src is not None else ""
    for name, b in benchmarks.groupby("series", sort=False):
        if b["value"].isna().all():
            continue
        colour, symbol = next((v for k, v in BENCH_STYLE.items() if str(name).startswith(k)), BENCH_OWN)
        base = str(name).removesuffix(" (published)")
        legend = f"{base} (published)"
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(b["period_end"]), y=b["value"], name=legend, mode="markers",
            marker=dict(size=11 if large else 9, symbol=symbol, color=colour, line=dict(color="white", width=1)),
            hovertemplate=f"{base} (published, annual): " + "%{y:.1f} at %{x|%d %b %Y}"
            + (f"<br>{differs}: not like for like" if differs else "") + "<extra></extra>",
        ))
    if differs and fig.data:
        fig.add_annotation(x=0.01, y=0.99, xref="paper", yref="paper", xanchor="left", yanchor="top",
                           showarrow=False, text=DIFFERS_NOTE.format(differs=differs), bgcolor="rgba(255,255,255,0.85)",
                           font=dict(size=(20 if large else 13) - 3, color=INK), name="benchmark-differs")


@dataclass(frozen=True)
class CheckpointMark:
    date: dt.date
    label: str
    rag: str  # green | amber | red | no_data
    actual: float | None = None
    target: float | None = None
    withheld: bool = False  # public: suppressed, so the mark says 'c' (not "NO DATA") and has no point


#: Figure margins left and right (CSS pixels): the y-axis ticks and title, and room for the last label.
MARGIN_L, MARGIN_R = 60, 30
#: The narrowest figure a page draws (an 800 px window with the sidebar collapsed): a chart whose width is
#: not known (the pages stretch it to their column) lays its checkpoint labels out for this width, so
#: they cannot collide at any wider size.
ASSUMED_WIDTH = 680
#: Checkpoint labels stack in at most this many rows above the plot.
MAX_LABEL_ROWS = 3
LABEL_GAP = 6  # pixels between two labels in a row
#: The legend in rows under the chart, placed from the figure's bottom edge (not the plot's: a fraction of
#: the plot's height lands on the tick labels of a short chart); plotly makes the bottom margin room for it.
LEGEND = dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0)


@dataclass(frozen=True)
class PlacedLabel:
    text: str  # "Jun 2025 (prov.)<br><b>GREEN</b>"
    row: int  # 0: nearest the plot
    anchor: str  # plotly xanchor: center | left | right


def _row_px(font_px: int) -> int:
    """Height of one row of two-line checkpoint labels."""
    return round(2 * 1.3 * font_px + 4)


def _label_texts(cp: CheckpointMark) -> tuple[tuple[str, str], tuple[str, str]]:
    """(full, short) label lines: ("Jun 2025 (prov.)", "GREEN"), ("Jun 25", "GREEN")."""
    word = WITHHELD_WORD if cp.withheld else RAG_STYLE.get(cp.rag, RAG_STYLE["no_data"])["word"]
    short = f"{cp.date:%b %y}"  # final or provisional: in the hover (and the page's own words)
    return (cp.label, word), (short, word)


def _text_px(lines: tuple[str, str], font_px: int) -> float:
    """Width of a two-line label (the second line bold), in DejaVu Sans's metrics with a margin (a
    browser without DejaVu falls back to Arial, which is narrower)."""
    from reports.fonts import text_width

    return max(text_width(lines[0], font_px), text_width(lines[1], font_px, bold=True)) * 1.02 + 4


def layout_checkpoint_labels(checkpoints: Sequence[CheckpointMark], x_range, plot_px: float,
                             font_px: int) -> list[PlacedLabel | None]:
    """Where each checkpoint's label goes so that no two overlap on a plot ``plot_px`` wide: the full
    label in one row if they fit, else staggered in two rows, then the short date ("Jun 25"), then three
    rows; if even that cannot hold them all, the newest keep their labels and the others are left
    unlabelled (None: the dotted line and the marker, shaped and coloured by the rating, remain, and the
    hover names them). Widths come from the font's metrics; a label near an edge is anchored to it."""
    if not checkpoints:
        return []
    if x_range is None:
        dates = [pd.Timestamp(cp.date) for cp in checkpoints]
        x_range = [min(dates) - pd.Timedelta(days=60), max(dates) + pd.Timedelta(days=60)]
    x0, x1 = (pd.Timestamp(v) for v in x_range)
    span = max((x1 - x0).total_seconds(), 1.0)
    px = [plot_px * (pd.Timestamp(cp.date) - x0).total_seconds() / span for cp in checkpoints]
    texts = [_label_texts(cp) for cp in checkpoints]
    order = sorted(range(len(checkpoints)), key=lambda i: px[i], reverse=True)  # newest first

    def attempt(variant: int, rows: int, drop: bool) -> list[PlacedLabel | None] | None:
        left_edge = [float("inf")] * rows  # each row's leftmost label so far (placing right to left)
        out: list[PlacedLabel | None] = [None] * len(checkpoints)
        for i in order:
            lines = texts[i][variant]
            w = _text_px(lines, font_px)
            lo, hi, anchor = px[i] - w / 2, px[i] + w / 2, "center"
            if hi > plot_px + MARGIN_R - 2:
                lo, hi, anchor = px[i] - w, px[i], "right"
            elif lo < -MARGIN_L + 2:
                lo, hi, anchor = px[i], px[i] + w, "left"
            row = next((r for r in range(rows) if hi + LABEL_GAP <= left_edge[r]), None)
            if row is None:
                if not drop:
                    return None
                continue
            left_edge[row] = lo
            out[i] = PlacedLabel(f"{lines[0]}<br><b>{lines[1]}</b>", row, anchor)
        return out

    for variant, rows in ((0, 1), (0, 2), (1, 2), (0, 3), (1, MAX_LABEL_ROWS)):
        placed = attempt(variant, rows, drop=False)
        if placed is not None:
            return placed
    return attempt(1, MAX_LABEL_ROWS, drop=True)


def month_end(month: str) -> pd.Timestamp:
    return pd.Timestamp(months.month_end(month))


def _hover(kpi: KPI, row: pd.Series) -> str:
    value = kpi.format(row["value"])
    parts = [f"<b>{pd.Timestamp(row['month'] + '-01'):%b %Y}</b>", f"{kpi.label}: {value}"]
    num, den = row.get("numerator"), row.get("denominator")
    if kpi.unit == "percent" and num is not None and den is not None and not (pd.isna(num) or pd.isna(den)):
        parts.append(f"{num:,.1f} of {den:,.1f}".replace(".0 ", " ").removesuffix(".0"))
    src = row.get("source")
    if isinstance(src, str):
        parts.append(f"Source: {'monthly totals (figures upload)' if src == 'figures' else 'record-level extract'}")
    flags = row.get("flags")
    if isinstance(flags, (tuple, list)) and flags:
        parts.append("Note: " + "; ".join(words.flag_text(str(f), "hover") for f in flags))
    return "<br>".join(parts)


def kpi_figure(
    kpi: KPI,
    series: pd.DataFrame,
    *,
    trajectory: pd.DataFrame | None = None,
    checkpoints: Sequence[CheckpointMark] = (),
    benchmarks: pd.DataFrame | None = None,
    large: bool = False,
    height: int | None = None,
    projection: pd.DataFrame | None = None,
    width: int | None = None,
) -> go.Figure:
    """The KPI trajectory chart.

    series: one KPI's rows of compute_series (month, value, numerator, denominator, source, flags).
    trajectory: columns date, target — the target path (drawn as a dashed line).
    benchmarks: rows of metrics.benchmarks.benchmark_series (series, period_end, value).
    large: projector/board-pack sizing.
    projection: columns date, value — the current trend projected to the final target (dotted).
    width: the figure's width in CSS pixels when known (packs); None: the checkpoint labels are laid out
    for the narrowest chart a page draws (:data:`ASSUMED_WIDTH`), so they fit at any wider size.
    """
    base = 20 if large else 13
    fig = go.Figure()
    s = series.sort_values("month")
    x = [month_end(m) for m in s["month"]]
    small = [isinstance(f, (tuple, list)) and "small_denominator" in f for f in s.get("flags", [()] * len(s))]
    figures_src = [src == "figures" for src in s.get("source", [None] * len(s))]
    fig.add_trace(go.Scatter(
        x=x, y=s["value"], name="Actual (monthly)", mode="lines+markers",
        line=dict(color=ACTUAL, width=3 if large else 2.5),
        marker=dict(size=[11 if sm else 7 for sm in small], color=ACTUAL,
                    symbol=["circle-open" if f else ("square" if sm else "circle") for f, sm in zip(figures_src, small)]),
        hovertext=[_hover(kpi, r) for _, r in s.iterrows()], hoverinfo="text",
        connectgaps=False,
    ))
    if trajectory is not None and not trajectory.empty:
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(trajectory["date"]), y=trajectory["target"], name="Target trajectory",
            mode="lines", line=dict(color=TARGET, width=2, dash="dash"),
            hovertemplate="Target %{x|%d %b %Y}: %{y:.1f}<extra></extra>",
        ))
    if projection is not None and not projection.empty:
        fig.add_trace(go.Scatter(
            x=pd.to_datetime(projection["date"]), y=projection["value"], name="Projection (current trend)",
            mode="lines", line=dict(color=PROJECTION, width=2, dash="dot"),
            hovertemplate="Projected %{x|%b %Y}: %{y:.1f}<extra></extra>",
        ))
    if benchmarks is not None and not benchmarks.empty:
        _benchmark_traces(fig, kpi, benchmarks, large)
    label_px = base - 2 if large else base - 3  # projector and pack: 18 px
    xr = _x_range(x, trajectory, checkpoints, projection)
    fig_w = width or ASSUMED_WIDTH
    placed = layout_checkpoint_labels(checkpoints, xr, fig_w - MARGIN_L - MARGIN_R, label_px)
    rows = max((p.row for p in placed if p is not None), default=-1) + 1
    row_px = _row_px(label_px)
    # Shapes, labels and markers are added in one go: plotly re-validates every shape on each add_vline, which
    # made ten pack charts' 80 checkpoint lines cost seconds. The checkpoints' markers are ONE trace (a colour,
    # shape and hover text per point), drawn as the one trace per mark was.
    lines, labels, marks = [], [], []
    for cp, p in zip(checkpoints, placed):
        st = RAG_STYLE.get(cp.rag, RAG_STYLE["no_data"])
        ts = pd.Timestamp(cp.date)
        lines.append(dict(type="line", xref="x", yref="y domain", x0=ts, x1=ts, y0=0, y1=1,
                          line=dict(color=st["colour"], width=1.5, dash="dot")))
        if p is not None:
            labels.append(dict(
                x=ts, y=1.0, yref="paper", yanchor="bottom", showarrow=False, yshift=p.row * row_px,
                xanchor=p.anchor, text=p.text, font=dict(size=label_px, color=st["colour"]),
            ))
        if cp.actual is not None and not (isinstance(cp.actual, float) and math.isnan(cp.actual)):
            marks.append((ts, cp.actual, st["colour"], st["symbol"],
                          f"{cp.label}: {st['word']}<br>actual {kpi.format(cp.actual)}"
                          + (f", target {kpi.format_target(cp.target)}" if cp.target is not None else "")))
    if marks:
        xs, ys, colours, symbols, hovers = (list(v) for v in zip(*marks))
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", showlegend=False, name="Checkpoints",
            marker=dict(size=14 if large else 12, color=colours, symbol=symbols, line=dict(color="white", width=1)),
            hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
        ))
    top = (row_px * rows + 14) if rows else 30
    yaxis = dict(title=dict(text={"percent": "%", "fte": "FTE", "count": "number"}[kpi.unit]),
                 gridcolor="#dee0e2", zeroline=False)
    if kpi.unit == "percent":
        yaxis["range"] = [0, 100]
    fig.update_layout(
        shapes=[*fig.layout.shapes, *lines], annotations=[*fig.layout.annotations, *labels],
        template=chart_template(),
        font=dict(size=base, color=INK, family="DejaVu Sans, Arial, sans-serif"),
        height=_tall_enough(height or (560 if large else 420), top, fig, fig_w, base - 2),
        margin=dict(l=MARGIN_L, r=MARGIN_R, t=top, b=40),
        legend=LEGEND | dict(font=dict(size=base - 2)),
        hoverlabel=dict(font_size=base),
        xaxis=dict(tickformat="%b %Y", gridcolor="#f0f0f0", range=xr, automargin=True),
        yaxis=yaxis,
    )
    return fig


def chart_template() -> go.layout.Template:
    """plotly's "plotly_white" template with only its scatter trace defaults (every chart here is scatter
    traces): the same look, and each figure copies a small template, not one with defaults for 50 trace types
    (half the time it took to build a pack's ten charts)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import plotly.io as pio

        white = pio.templates["plotly_white"]
        _TEMPLATE = go.layout.Template(layout=white.layout, data={"scatter": white.data.scatter})
    return _TEMPLATE


_TEMPLATE: go.layout.Template | None = None


#: A chart's plot area is never squeezed below this height by its labels and legend (the figure grows).
MIN_PLOT_PX = 200


def _tall_enough(height: int, top: int, fig: go.Figure, width: int, legend_px: int) -> int:
    """``height``, or taller so that the plot keeps :data:`MIN_PLOT_PX` under ``top`` px of checkpoint
    labels, the tick labels and the legend's rows (estimated at ``width``, the narrowest it is drawn)."""
    from reports.fonts import text_width

    names = [t.name for t in fig.data if t.showlegend is not False and t.name]
    row_w, rows = 0.0, 1 if names else 0
    for name in names:
        w = text_width(name, legend_px) + 50
        if row_w and row_w + w > width - 10:
            rows, row_w = rows + 1, 0.0
        row_w += w
    needed = top + MIN_PLOT_PX + 2 * legend_px + 10 + rows * (1.4 * legend_px + 6)
    return max(height, math.ceil(needed))


def _x_range(actual_x, trajectory, checkpoints, projection) -> list[pd.Timestamp] | None:
    """The council's own period: first actual month to the last actual, target, checkpoint or projection.
    Published benchmarks reach back to 2017; they stay in the figure (pan or zoom out) but do not squash
    the months under review."""
    if not actual_x:
        return None
    ends = [max(actual_x)]
    if trajectory is not None and not trajectory.empty:
        ends.append(pd.to_datetime(trajectory["date"]).max())
    ends += [pd.Timestamp(cp.date) for cp in checkpoints]
    if projection is not None and not projection.empty:
        ends.append(pd.to_datetime(projection["date"]).max())
    return [min(actual_x) - pd.Timedelta(days=20), max(ends) + pd.Timedelta(days=75)]  # room for a label


def sparkline(values: Sequence[float], *, higher_is_better: bool = True, height: int = 60) -> go.Figure:
    """A tiny trend line for the overview table (no axes; the last point emphasised)."""
    ys = list(values)
    fig = go.Figure(go.Scatter(y=ys, mode="lines", line=dict(color=ACTUAL, width=2), hoverinfo="skip"))
    if ys:
        fig.add_trace(go.Scatter(x=[len(ys) - 1], y=[ys[-1]], mode="markers", marker=dict(color=ACTUAL, size=6),
                                 hoverinfo="skip"))
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0), showlegend=False, template="plotly_white",
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


# --- the one chart builder: the model's boards → the figure ------------------------------------


@dataclass(frozen=True)
class ChartStyle:
    """How a surface draws the same chart: size and type scale, and how checkpoints are labelled."""

    large: bool = False  # projector / pack type scale (20 px base type, thicker lines)
    height: int | None = None  # CSS pixels (None: 420, large 560)
    width: int | None = None  # CSS pixels (None: the container's width)
    date_format: str = "%b %Y"  # a checkpoint mark's label ("Jun 2025"; the packs: "Jun 25")
    #: The dashboard: a mark says " final" or " (prov.)" (not yet final). The packs print the review's
    #: judgement as the summary table does (no suffix) and draw the months up to the review's judged
    #: month only.
    dashboard: bool = True
    projection: bool = True  # draw the projection of the current trend when it meets the final target
    #: Benchmarks from a year before the first month to the end of the trajectory only (a static image
    #: cannot be panned to 2017).
    clip_benchmarks: bool = False
    #: The narrowest this chart is drawn when ``width`` is None (the checkpoint labels are laid out for it).
    min_width: int = ASSUMED_WIDTH

    def sized(self, width: int | None = None, height: int | None = None) -> ChartStyle:
        return replace(self, width=width or self.width, height=height or self.height)


DASHBOARD = ChartStyle()
PRESENT = ChartStyle(large=True, min_width=760)  # Present collapses the sidebar: 800 px less the padding
PACK = ChartStyle(large=True, date_format="%b %y", dashboard=False, projection=False, clip_benchmarks=True)


def trajectory(settings: ReviewSettings, metric: str) -> pd.DataFrame | None:
    """The target path (columns date, target): baseline → explicit checkpoint targets → final target, and
    the final target held flat to the last checkpoint (checkpoints after the final date are judged
    against it). None: no target set."""
    t = settings.targets.get(metric)
    if t is None:
        return None
    pts = dict(t.points())
    for c in settings.checkpoints:
        if c.date > t.baseline_date:
            pts.setdefault(c.date, t.target_at(c.date))
    return pd.DataFrame(sorted(pts.items()), columns=["date", "target"])


def projection(series: pd.DataFrame, row) -> pd.DataFrame | None:
    """The fitted trend of a model row's forecast (:class:`metrics.reviews.ReviewRow`), drawn (columns
    date, value) from the last month it is fitted on to the month it meets the final target; None unless
    the forecast is on trend."""
    from metrics.months import month_index
    from metrics.projection import fit

    fc = row.forecast if row is not None else None
    if fc is None or fc.status != "reaches_target" or not fc.month or not row.forecast_months:
        return None
    s = series[(series["metric"] == row.metric) & series["month"].isin(row.forecast_months)]
    f = fit([month_index(m) for m in s["month"]], [float(v) for v in s["value"]])
    x0, x1 = month_index(row.forecast_months[-1]), month_index(fc.month)
    return pd.DataFrame({"date": [months.month_end(m) for m in (row.forecast_months[-1], fc.month)],
                         "value": [f.at(x) for x in (x0, x1)]})


def checkpoint_marks(metric: str, boards: Sequence[ReviewBoard], style: ChartStyle = DASHBOARD,
                     decisions: Decisions | None = None) -> list[CheckpointMark]:
    """One mark per board where the KPI is rated, from the model's rows. Public (``decisions``): a mark
    whose actual is suppressed is withheld (no point, the word 'c')."""
    from reports.tables import actual_shown

    out = []
    for b in boards:
        r = b.row(metric)
        if not r.rated:
            continue
        label = f"{b.checkpoint:{style.date_format}}"
        if style.dashboard:
            label += " final" if b.final else " (prov.)" if b.provisional else ""
            out.append(CheckpointMark(b.checkpoint, label, r.shown_rag, r.shown_value, r.target))
        elif actual_shown(r, decisions):
            out.append(CheckpointMark(b.checkpoint, label, r.rag, r.actual, r.target))
        else:
            out.append(CheckpointMark(b.checkpoint, label, "no_data", None, r.target, withheld=True))
    return out


def _clip(bench: pd.DataFrame, s: pd.DataFrame, month: str | None, traj: pd.DataFrame | None) -> pd.DataFrame:
    ends = ([months.month_end(month)] if month else []) + ([traj["date"].max()] if traj is not None else [])
    when = pd.to_datetime(bench["period_end"])
    if ends:
        bench = bench[when <= pd.Timestamp(max(ends))]
    if not s.empty:
        bench = bench[pd.to_datetime(bench["period_end"]) >= month_end(s["month"].min()).replace(day=1)
                      - pd.DateOffset(years=1)]
    return bench


def review_chart(kpi: KPI, series: pd.DataFrame, settings: ReviewSettings, boards: Sequence[ReviewBoard], *,
                 current: ReviewBoard | None = None, benchmarks: pd.DataFrame | None = None,
                 decisions: Decisions | None = None, style: ChartStyle = DASHBOARD) -> go.Figure:
    """A KPI's chart for the dashboard and the packs.

    ``series``: compute series (any KPIs; this one's rows are drawn — in a pack up to ``current``'s judged
    month).
    ``boards``: the review model at each checkpoint to mark (oldest first). ``current``: the board whose
    forecast is projected (the dashboard's next checkpoint, a pack's review). ``benchmarks``: this KPI's
    published benchmark frame (:func:`metrics.benchmarks.benchmark_series`) or None. ``decisions``: a
    public chart — suppressed months leave a gap and suppressed checkpoints are withheld."""
    s = series[series["metric"] == kpi.id]
    if current is not None and not style.dashboard:
        s = s[s["month"] <= current.month]
    if decisions is not None:
        s = s.copy()
        hide = [not decisions.value_shown(kpi.id, m) for m in s["month"]]
        s.loc[hide, ["value", "numerator", "denominator"]] = float("nan")
    traj = trajectory(settings, kpi.id)
    proj = None
    if style.projection and current is not None:
        proj = projection(series, current.row(kpi.id))
    if benchmarks is not None and style.clip_benchmarks and not benchmarks.empty:
        benchmarks = _clip(benchmarks, s, current.month if current else None, traj)
    fig = kpi_figure(kpi, s, trajectory=traj, checkpoints=checkpoint_marks(kpi.id, boards, style, decisions),
                     benchmarks=benchmarks, large=style.large, height=style.height, projection=proj,
                     width=style.width or style.min_width)
    if style.width:
        fig.update_layout(width=style.width)
    return fig


# --- the SPC view (shared/spec/judgement.md section 4; docs/judgement.md explains it) ---------------------

#: Where the method is explained in plain English (charts and packs say so).
JUDGEMENT_DOC = "docs/judgement.md"
SPC_VALUE = "#505a5f"
SPC_MEAN = "#0b0c0c"
SPC_LIMIT = "#6f777b"
SPC_TARGET = "#6f3c97"
REBASE = "#0b0c0c"
#: Special-cause points: colour AND shape (never colour alone). Improvement points are triangles pointing the
#: KPI's better way (an improvement always runs that way), concern points squares; common cause small circles.
SPC_POINT_STYLE = {
    "special_cause_improvement": {"colour": "#1d70b8", "name": "Special cause: improvement"},
    "special_cause_concern": {"colour": "#b35900", "name": "Special cause: concern", "symbol": "square"},
    "common_cause": {"colour": SPC_VALUE, "name": "Common cause", "symbol": "circle"},
}


def spc_symbol(point_type: str, direction: str) -> str:
    """The plotly marker symbol of an SPC point type on a KPI whose better direction is ``direction``."""
    if point_type == "special_cause_improvement":
        return "triangle-up" if direction == "up" else "triangle-down"
    return SPC_POINT_STYLE[point_type]["symbol"]


def _spc_hover(kpi: KPI, p, seg, run_length: int, parts: tuple | None, interval) -> str:
    lines = [f"<b>{pd.Timestamp(p.month + '-01'):%b %Y}</b>", f"{kpi.label}: {kpi.format(p.value)}"]
    if parts is not None:
        lines[-1] += f" ({parts[0]:,.1f} of {parts[1]:,.1f})".replace(".0 ", " ").replace(".0)", ")")
    if interval:
        lines.append(words.interval_text(interval, kpi.format))
    if p.type == "common_cause":
        lines.append("Common cause: within the usual range")
    else:
        name = SPC_POINT_STYLE[p.type]["name"].replace(":", "")
        lines.append(f"{name} — {words.rule_text(p.rule, p.sense, run_length)}")
    if seg is not None:
        limits = (f"limits {kpi.format(seg.lpl)}–{kpi.format(seg.upl)}" if seg.upl is not None else "no limits yet")
        lines.append(f"{'Trial period' if seg.trial else 'Period'}: mean {kpi.format(seg.mean)}, {limits}")
    return "<br>".join(lines)


def _steps(spc_obj, attr: str, segments) -> tuple[list, list]:
    """x, y of a per-segment horizontal line (None gaps between segments) for ``segments``."""
    xs: list = []
    ys: list = []
    for seg in segments:
        y = getattr(seg, attr)
        if y is None:
            continue
        xs += [month_end(seg.start) - pd.Timedelta(days=12), month_end(seg.end) + pd.Timedelta(days=12), None]
        ys += [y, y, None]
    return xs, ys


def spc_figure(kpi: KPI, spc_obj, *, series: pd.DataFrame | None = None, trajectory: pd.DataFrame | None = None,
               intervals: dict | None = None, style: ChartStyle = DASHBOARD, hidden: Sequence[str] = (),
               doc_link: str | None = JUDGEMENT_DOC) -> go.Figure:
    """The KPI's statistical process control chart (XmR, Making Data Count's rules) from an
    :class:`metrics.spc.Spc`: the monthly values, each period's mean and process limits (step lines; a period
    with fewer than 13 months has *trial limits*, drawn dashed and labelled so), the target, rebases as
    vertical lines with their reason, special-cause points coloured AND shaped (triangles for improvement,
    squares for concern), the judged month ringed. ``series``: the KPI's rows (numerator and denominator in
    the hover); ``intervals``: month → 95% interval (percentages); ``hidden``: months a public chart leaves
    out (a gap, no hover). ``doc_link``: the note under the chart pointing to the method."""
    base = 20 if style.large else 13
    fig = go.Figure()
    run_length = spc_obj.settings.run_length
    parts: dict[str, tuple] = {}
    if series is not None and kpi.unit == "percent":
        for m, n, d in zip(series["month"], series["numerator"], series["denominator"]):
            if not (pd.isna(n) or pd.isna(d)):
                parts[m] = (float(n), float(d))
    hidden = set(hidden)
    pts = [p for p in spc_obj.points if p.month not in hidden]
    segs = spc_obj.segments

    def seg_of(p):
        return segs[p.segment] if 0 <= p.segment < len(segs) else None

    # the values: one line (gaps where a month is hidden or missing between points stay joined, as the spec
    # treats consecutive points), hover on every point
    fig.add_trace(go.Scatter(
        x=[month_end(p.month) for p in pts], y=[p.value for p in pts], name="Monthly value",
        mode="lines+markers", line=dict(color=SPC_VALUE, width=2.5 if style.large else 2),
        marker=dict(size=7 if style.large else 6, color=SPC_VALUE, symbol="circle"),
        hovertext=[_spc_hover(kpi, p, seg_of(p), run_length, parts.get(p.month), (intervals or {}).get(p.month))
                   for p in pts], hoverinfo="text",
    ))
    x, y = _steps(spc_obj, "mean", segs)
    fig.add_trace(go.Scatter(x=x, y=y, name="Mean", mode="lines", line=dict(color=SPC_MEAN, width=1.8),
                             hoverinfo="skip"))
    for trial, name, dash in ((False, "Process limits", "solid"), (True, "Trial limits (under 13 months)", "dash")):
        chosen = [s for s in segs if s.trial == trial and s.upl is not None]
        if not chosen:
            continue
        xu, yu = _steps(spc_obj, "upl", chosen)
        xl, yl = _steps(spc_obj, "lpl", chosen)
        fig.add_trace(go.Scatter(x=xu + xl, y=yu + yl, name=name, mode="lines", hoverinfo="skip",
                                 line=dict(color=SPC_LIMIT, width=1.6, dash=dash)))
        if trial:
            for s in chosen:
                fig.add_annotation(x=month_end(s.start), y=s.upl, text="trial limits", showarrow=False,
                                   xanchor="left", yanchor="bottom",
                                   font=dict(size=base - 2 if style.large else base - 3, color=SPC_LIMIT))
    if trajectory is not None and not trajectory.empty and pts:
        t = trajectory.copy()
        t["date"] = pd.to_datetime(t["date"])
        t = t[t["date"] <= month_end(pts[-1].month) + pd.Timedelta(days=1)]
        if not t.empty:
            fig.add_trace(go.Scatter(x=t["date"], y=t["target"], name="Target", mode="lines",
                                     line=dict(color=SPC_TARGET, width=2.2, dash="dot"),
                                     hovertemplate="Target %{x|%d %b %Y}: %{y:.1f}<extra></extra>"))
    for ptype in ("special_cause_improvement", "special_cause_concern"):
        sel = [p for p in pts if p.type == ptype]
        if not sel:
            continue
        st = SPC_POINT_STYLE[ptype]
        fig.add_trace(go.Scatter(
            x=[month_end(p.month) for p in sel], y=[p.value for p in sel], name=st["name"], mode="markers",
            marker=dict(size=14 if style.large else 12, color=st["colour"], symbol=spc_symbol(ptype, kpi.direction),
                        line=dict(color="white", width=1)),
            hovertext=[_spc_hover(kpi, p, seg_of(p), run_length, parts.get(p.month), (intervals or {}).get(p.month))
                       for p in sel], hoverinfo="text",
        ))
    judged = spc_obj.point(spc_obj.judged_month) if spc_obj.judged_month else None
    if judged is not None and judged.month not in hidden:
        fig.add_trace(go.Scatter(
            x=[month_end(judged.month)], y=[judged.value], mode="markers", name="Judged month",
            marker=dict(size=24 if style.large else 20, color=INK, symbol="circle-open", line=dict(width=2)),
            hoverinfo="skip"))
    # Above the plot, one row each (never side by side, so they cannot collide): the note on how to read
    # the chart, then each rebase with its reason, cut to the room beside its line.
    from reports.fonts import clip

    label_px = base - 2 if style.large else base - 3
    row_px = round(1.3 * label_px + 4)
    plot_px = (style.width or style.min_width) - MARGIN_L - MARGIN_R
    first = month_end(spc_obj.points[0].month) - pd.Timedelta(days=20) if spc_obj.points else None
    last = month_end(spc_obj.points[-1].month) + pd.Timedelta(days=20) if spc_obj.points else None
    rebases = list(spc_obj.settings.rebases)
    for i, r in enumerate(rebases):
        ts = pd.Timestamp(r.month + "-01")
        frac = ((ts - first) / (last - first)) if first is not None and last > first else 0.5
        right_half = frac > 0.5
        room = (frac * plot_px + MARGIN_L) if right_half else ((1 - frac) * plot_px + MARGIN_R)
        fig.add_vline(x=ts, line=dict(color=REBASE, width=1.5, dash="dashdot"))
        fig.add_annotation(x=ts, y=1.0, yref="paper", yanchor="bottom", xanchor="right" if right_half else "left",
                           showarrow=False,
                           text=clip(f"Rebase {ts:%b %Y}: {_short(r.reason, 60)}", label_px, room / 1.04 - 8),
                           yshift=(len(rebases) - 1 - i + (1 if doc_link else 0)) * row_px,
                           font=dict(size=label_px, color=REBASE))
    if doc_link:
        fig.add_annotation(x=0, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                           showarrow=False, text=f"How to read this chart: {doc_link}",
                           font=dict(size=label_px, color=SPC_VALUE))
    yaxis = dict(title=dict(text={"percent": "%", "fte": "FTE", "count": "number"}.get(kpi.unit, "")),
                 gridcolor="#dee0e2", zeroline=False)
    label_rows = len(rebases) + (1 if doc_link else 0)
    fig.update_layout(
        template="plotly_white",
        font=dict(size=base, color=INK, family="DejaVu Sans, Arial, sans-serif"),
        height=style.height or (560 if style.large else 420),
        margin=dict(l=MARGIN_L, r=MARGIN_R, t=14 + label_rows * row_px, b=40),
        legend=LEGEND | dict(font=dict(size=base - 2)),
        hoverlabel=dict(font_size=base),
        xaxis=dict(tickformat="%b %Y", gridcolor="#f0f0f0", range=[first, last] if first is not None else None,
                   automargin=True),
        yaxis=yaxis,
    )
    if style.width:
        fig.update_layout(width=style.width)
    return fig


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
