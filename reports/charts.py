"""Plotly figures shared by the dashboard, presentation mode and the board pack.

One function draws a KPI's trajectory: monthly actuals, the target trajectory, labelled review
checkpoints with their RAG (colour *and* text and marker shape — never colour alone), and the published
England / region / statistical-neighbour benchmarks. Inputs are plain frames so every caller draws the
same chart from the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from metrics import months
from metrics.kpis import KPI

# Colours with at least 4.5:1 contrast on white; RAG also carries a word and a marker shape.
INK = "#0b0c0c"
ACTUAL = "#1d4f91"
TARGET = "#505a5f"
RAG_STYLE = {
    "green": {"colour": "#00703c", "symbol": "circle", "word": "GREEN"},
    "amber": {"colour": "#8a5300", "symbol": "diamond", "word": "AMBER"},
    "red": {"colour": "#b10e1e", "symbol": "x", "word": "RED"},
    "no_data": {"colour": "#505a5f", "symbol": "circle-open", "word": "NO DATA"},
}
PROJECTION = "#1d4f91"
#: Data-quality flag codes (metrics.compute.FLAGS) in the few plain words a hover has room for.
FLAG_WORDS = {
    "month_missing": "no data for this month",
    "zero_denominator": "none in the month, so no percentage",
    "small_denominator": "small numbers (fewer than 10): one case moves the percentage a lot",
    "figures_sourced": "from monthly totals, not record-level data",
    "snapshot_stale": "snapshot taken before the month ended",
}
BENCH_STYLE = {  # series name prefix -> (colour, dash)
    "England": ("#6f3c97", "dot"),
    "Region": ("#8f4a00", "dashdot"),
    "Statistical neighbours": ("#00626b", "dash"),
}


@dataclass(frozen=True)
class CheckpointMark:
    date: dt.date
    label: str
    rag: str  # green | amber | red | no_data
    actual: float | None = None
    target: float | None = None


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
        parts.append("Note: " + "; ".join(FLAG_WORDS.get(str(f), str(f).replace("_", " ")) for f in flags))
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
) -> go.Figure:
    """The KPI trajectory chart.

    series: one KPI's rows of compute_series (month, value, numerator, denominator, source, flags).
    trajectory: columns date, target — the target path (drawn as a dashed line).
    benchmarks: rows of metrics.benchmarks.benchmark_series (series, period_end, value).
    large: projector/board-pack sizing.
    projection: columns date, value — the current trend projected to the final target (dotted).
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
        for name, b in benchmarks.groupby("series", sort=False):
            if b["value"].isna().all():
                continue
            style = next((v for k, v in BENCH_STYLE.items() if str(name).startswith(k)), ("#3d3d3d", "dot"))
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(b["period_end"]), y=b["value"],
                name=str(name) if "(published)" in str(name) else f"{name} (published)",
                mode="lines+markers", line=dict(color=style[0], dash=style[1], width=1.8),
                marker=dict(size=6, symbol="triangle-up"),
                hovertemplate=f"{name}: " + "%{y:.1f} at %{x|%d %b %Y}<extra></extra>",
            ))
    # Labels of checkpoints three months apart collide on a two-year axis: above six, alternate two rows.
    rows = 2 if len(checkpoints) > 6 else 1
    row_px = 2 * (base - 3) + 10
    for i, cp in enumerate(checkpoints):
        st = RAG_STYLE.get(cp.rag, RAG_STYLE["no_data"])
        ts = pd.Timestamp(cp.date)
        fig.add_vline(x=ts, line=dict(color=st["colour"], width=1.5, dash="dot"))
        fig.add_annotation(
            x=ts, y=1.0, yref="paper", yanchor="bottom", showarrow=False, yshift=(i % rows) * row_px,
            text=f"{cp.label}<br><b>{st['word']}</b>", font=dict(size=base - 3, color=st["colour"]),
        )
        if cp.actual is not None and not (isinstance(cp.actual, float) and math.isnan(cp.actual)):
            fig.add_trace(go.Scatter(
                x=[ts], y=[cp.actual], mode="markers", showlegend=False,
                marker=dict(size=14 if large else 12, color=st["colour"], symbol=st["symbol"],
                            line=dict(color="white", width=1)),
                hovertemplate=f"{cp.label}: {st['word']}<br>actual {kpi.format(cp.actual)}"
                + (f", target {kpi.format(cp.target)}" if cp.target is not None else "") + "<extra></extra>",
            ))
    yaxis = dict(title=dict(text={"percent": "%", "fte": "FTE", "count": "number"}[kpi.unit]),
                 gridcolor="#dee0e2", zeroline=False)
    if kpi.unit == "percent":
        yaxis["range"] = [0, 100]
    fig.update_layout(
        template="plotly_white",
        font=dict(size=base, color=INK, family="DejaVu Sans, Arial, sans-serif"),
        height=height or (560 if large else 420),
        margin=dict(l=60, r=20, t=(row_px * rows + 20) if checkpoints else 30, b=40),
        legend=dict(orientation="h", yanchor="top", y=-0.1, x=0, font=dict(size=base - 2),
                    **(dict(entrywidth=0.5, entrywidthmode="fraction") if large else {})),
        hoverlabel=dict(font_size=base),
        xaxis=dict(tickformat="%b %Y", gridcolor="#f0f0f0", range=_x_range(x, trajectory, checkpoints, projection)),
        yaxis=yaxis,
    )
    return fig


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
