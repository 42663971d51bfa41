"""Context from published data, drawn and tabled for the KPI page and the packs (issue 13 item 6): the
workforce census's turnover, vacancy and caseload as annual points at their reference date (30 September),
never a line through the months between, and the council's standing (rank and quartile) as a table. The
numbers come from :mod:`metrics.context`; nothing here reads a file.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from metrics import benchmarks as bm
from metrics.context import ROLE_COUNCIL, ContextMeasure, context_measures

INK = "#0b0c0c"
#: series → (colour, marker symbol): shape as well as colour tells them apart.
STYLE = {"council": ("#1d4f91", "star"), bm.SERIES_SN_AVERAGE: ("#00626b", "triangle-up"),
         bm.SERIES_ENGLAND: ("#6f3c97", "hexagon")}


def _role(series: str) -> str:
    if series in (bm.SERIES_SN_AVERAGE, bm.SERIES_ENGLAND):
        return series
    return "council"


def context_figure(metric_id: str, frame: pd.DataFrame, *, large: bool = False, height: int | None = None
                   ) -> go.Figure | None:
    """One panel per context measure of the KPI (``frame``: :func:`metrics.context.context_series`): the
    council's published figure, its statistical neighbours' average and England, each an annual point at
    the census date (markers only). None when there is nothing to draw."""
    from plotly.subplots import make_subplots

    measures: list[ContextMeasure] = [m for m in context_measures(metric_id)
                                      if not frame[frame["metric"] == m.key]["value"].isna().all()]
    if not measures:
        return None
    base = 20 if large else 13
    fig = make_subplots(rows=1, cols=len(measures), subplot_titles=[m.short for m in measures],
                        horizontal_spacing=0.08)
    for col, m in enumerate(measures, start=1):
        f = frame[frame["metric"] == m.key]
        for series, part in f.groupby("series", sort=False):
            if part["value"].isna().all():
                continue
            role = _role(str(series))
            colour, symbol = STYLE[role]
            name = str(series).removesuffix(" (published)")
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(part["period_end"]), y=part["value"], mode="markers", name=name,
                legendgroup=name, showlegend=col == 1,
                marker=dict(size=11 if large else 9, color=colour, symbol=symbol, line=dict(color="white", width=1)),
                hovertemplate=f"{name}, {m.short}: " + "%{y:.1f} at %{x|%d %b %Y}<extra></extra>",
            ), row=1, col=col)
        fig.update_yaxes(title_text="%" if m.source.unit == "percent" else m.source.unit, rangemode="tozero",
                         gridcolor="#dee0e2", row=1, col=col)
        fig.update_xaxes(tickformat="%Y", gridcolor="#f0f0f0", row=1, col=col)
    fig.update_layout(
        template="plotly_white", font=dict(size=base, color=INK, family="DejaVu Sans, Arial, sans-serif"),
        height=height or (460 if large else 340), margin=dict(l=50, r=20, t=50, b=40),
        legend=dict(orientation="h", yanchor="top", y=-0.15, x=0, font=dict(size=base - 2)),
        hoverlabel=dict(font_size=base),
    )
    return fig


def neighbour_display(metric_id: str, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`metrics.context.neighbour_table` in words: Area and one column per measure ('10.8%',
    'not published'); the council's row first, then the neighbours, their average and England."""
    measures = context_measures(metric_id)
    rows = []
    for r in table.to_dict("records"):
        area = r["area"] + (" (council)" if r["role"] == ROLE_COUNCIL else "")
        rows.append({"Area": area, **{m.short: m.cell(r[m.key]) for m in measures}})
    return pd.DataFrame(rows, columns=["Area", *(m.short for m in measures)])

