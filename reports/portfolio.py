"""The portfolio: several councils' verdicts side by side, and one KPI across them with their published
benchmarks. Pure pandas and plotly over the ONE review model (``metrics.reviews.ReviewBoard``): every
verdict here is a formatting of a council's board at its latest review, as the overview page shows it.

Each council's board is built from that council's own store (:mod:`metrics.councils`); nothing here
opens a store (:func:`council_verdict` reads through a connection its caller opened).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from metrics import store
from metrics.kpis import REGISTRY
from metrics.reviews import words
from metrics.reviews.model import ReviewBoard
from metrics.reviews.settings import ReviewSettings

#: Line colours for up to eight councils (Okabe–Ito, safe for colour-blind readers), each with a marker shape.
COUNCIL_STYLES = (("#0072b2", "circle"), ("#d55e00", "square"), ("#009e73", "diamond"), ("#cc79a7", "triangle-up"),
                  ("#56b4e9", "triangle-down"), ("#e69f00", "cross"), ("#000000", "x"), ("#f0e442", "star"))


@dataclass(frozen=True)
class CouncilVerdict:
    """One council at its latest review: its board, and how fresh its data are."""

    code: str
    name: str
    board: ReviewBoard
    settings: ReviewSettings
    latest_month: str | None  # the latest month with any KPI value
    last_upload: str | None  # UTC ISO time of the latest upload in use
    demo: bool = False

    @property
    def next_review(self) -> dt.date | None:
        """The next configured checkpoint after the review shown (None: none scheduled)."""
        later = [c.date for c in self.settings.checkpoints if c.date > self.board.checkpoint]
        return min(later) if later else None


def council_verdict(conn, code: str, name: str) -> tuple[CouncilVerdict, pd.DataFrame]:
    """(the :class:`CouncilVerdict` of council ``code`` at its latest review, the KPI series it judged) from
    one connection to ITS store: the review settings, the series (every KPI computed once, shared with the
    comparison chart), the review its data can hold (``metrics.reviews.views.next_checkpoint``: frozen and
    restated if final), its uploads and demo flag. The same board as the overview page's at that review
    (tests/test_portfolio_verdicts.py holds them equal)."""
    from metrics.reviews import build_board, current_series, load_settings, review_at
    from metrics.reviews.views import latest_data_month, next_checkpoint

    settings = load_settings(conn)
    series = current_series(conn, settings)
    latest = latest_data_month(series)
    board = build_board(review_at(conn, next_checkpoint(settings, latest), settings=settings, series=series),
                        series, settings)
    live = [u["uploaded_at"] for u in store.list_uploads(conn) if u["status"] in ("current", "restored")]
    return CouncilVerdict(code=code, name=name, board=board, settings=settings, latest_month=latest,
                          last_upload=str(pd.Series(live).max()) if live else None,
                          demo=store.is_demo(conn)), series


def _month(m: str | None) -> str:
    return pd.Period(m, "M").strftime("%b %Y") if m else "—"


def _date(d: dt.date | str | None) -> str:
    if d is None:
        return "—"
    d = dt.date.fromisoformat(str(d)[:10])
    return f"{d.day} {d.strftime('%b %Y')}"


def _count(rows, attr: str, value: str) -> int:
    return sum(1 for r in rows if getattr(r, attr) == value)


def verdict_table(verdicts: list[CouncilVerdict]) -> pd.DataFrame:
    """One row per council: its review, the priorities by rating (shape and word with the count), what
    statistical process control says (special-cause improvement and concern), assurance (how many
    targets will not be met if nothing changes), data freshness and the next review; ``Dashboard`` is the
    link to that council's dashboard."""
    rows = []
    for v in verdicts:
        b, s = v.board, v.board.summary
        rated = b.rated
        rows.append({
            "Council": v.name + (" (demo)" if v.demo and "demo" not in v.name.lower() else ""),
            "Dashboard": f"/?council={v.code}",
            "Review": f"{b.title} ({'final' if b.final else 'provisional'})",
            "Judged month": _month(b.month),
            **{words.rag_text(k, "icon"): s[k] for k in words.RAGS},
            "Improving (SPC)": _count(rated, "variation", "improvement"),
            "Concern (SPC)": _count(rated, "variation", "concern"),
            "Will not meet target": _count(rated, "assurance", "consistent_fail"),
            "Latest data": _month(v.latest_month),
            "Last upload": _date(v.last_upload),
            "Next review": _date(v.next_review) if v.next_review else "none scheduled",
        })
    return pd.DataFrame(rows)


def priority_matrix(verdicts: list[CouncilVerdict]) -> pd.DataFrame:
    """Priorities (rows) × councils (columns): each council's rating of each priority at its latest
    review, as shape and word ('● Green'), for a table whose cells are also tinted."""
    out = {"ToR": [k.tor for k in REGISTRY.values()], "Priority": [k.label for k in REGISTRY.values()]}
    for v in verdicts:
        out[f"{v.name} ({v.code})"] = [words.rag_text(v.board.row(m).rag, "icon") for m in REGISTRY]
    return pd.DataFrame(out)


def comparison_table(metric: str, verdicts: list[CouncilVerdict], published: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One KPI across the councils: the judged value and rating at each council's latest review, and each
    council's latest published benchmark with England's and its statistical neighbours' for that year."""
    kpi = REGISTRY[metric]
    rows = []
    for v in verdicts:
        r = v.board.row(metric)
        bench = published.get(v.code, pd.DataFrame())
        own = bench[bench["series"].str.endswith("(published)")].dropna(subset=["value"]) if len(bench) else bench
        year = int(own["time_period"].max()) if len(own) else None

        def at(prefix: str, year=year, bench=bench) -> float | None:
            if year is None:
                return None
            hit = bench[(bench["series"].str.startswith(prefix)) & (bench["time_period"] == year)]["value"].dropna()
            return float(hit.iloc[0]) if len(hit) else None

        rows.append({
            "Council": f"{v.name} ({v.code})",
            "Value": kpi.format(r.actual) if r.actual is not None else "—",
            "Month": _month(r.actual_month),
            "Rating": words.rag_text(r.rag, "icon"),
            "Published (council)": kpi.format(float(own[own["time_period"] == year]["value"].iloc[0]))
            if year else "not published",
            "Year": str(year) if year else "—",
            "England": kpi.format(at("England")) if at("England") is not None else "—",
            "Statistical neighbours": kpi.format(at("Statistical neighbours")) if at("Statistical neighbours")
            is not None else "—",
        })
    return pd.DataFrame(rows)


def comparison_figure(metric: str, series: dict[str, pd.DataFrame], verdicts: list[CouncilVerdict],
                      published: dict[str, pd.DataFrame], *, months: int = 24) -> go.Figure:
    """Each council's monthly values of ``metric`` (the last ``months`` months), a line and a marker shape
    each, with its published values as larger hollow markers of the same shape, and England's."""
    kpi = REGISTRY[metric]
    fig = go.Figure()
    for i, v in enumerate(verdicts):
        colour, symbol = COUNCIL_STYLES[i % len(COUNCIL_STYLES)]
        s = series.get(v.code)
        if s is not None and len(s):
            s = s.dropna(subset=["value"]).tail(months)
            fig.add_trace(go.Scatter(
                x=pd.PeriodIndex(s["month"], freq="M").to_timestamp(how="end").normalize(), y=s["value"],
                mode="lines+markers", name=f"{v.name} ({v.code})", line={"color": colour, "width": 2},
                marker={"symbol": symbol, "size": 7, "color": colour},
                hovertemplate=f"{v.name}<br>%{{x|%b %Y}}: %{{y:.1f}}<extra></extra>"))
        bench = published.get(v.code)
        if bench is not None and len(bench):
            own = bench[bench["series"].str.endswith("(published)")].dropna(subset=["value"])
            if len(own):
                fig.add_trace(go.Scatter(
                    x=pd.to_datetime(own["period_end"]), y=own["value"], mode="markers",
                    name=f"{v.name}: published", marker={"symbol": f"{symbol}-open", "size": 13, "color": colour,
                                                          "line": {"width": 2}},
                    hovertemplate=f"{v.name}, published<br>%{{x|%d %b %Y}}: %{{y:.1f}}<extra></extra>"))
    eng = next((b for b in published.values() if len(b)), None)
    if eng is not None:
        e = eng[eng["series"] == "England"].dropna(subset=["value"])
        if len(e):
            fig.add_trace(go.Scatter(x=pd.to_datetime(e["period_end"]), y=e["value"], mode="lines+markers",
                                     name="England (published)", line={"color": "#505a5f", "dash": "dash"},
                                     marker={"symbol": "star", "size": 10, "color": "#505a5f"}))
    unit = "%" if kpi.unit == "percent" else kpi.unit
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font={"color": "#0b0c0c"},
                      legend={"orientation": "h", "y": -0.2}, yaxis_title=unit, plot_bgcolor="white",
                      title={"text": f"{kpi.label}: {'higher' if kpi.higher_is_better else 'lower'} is better",
                             "font": {"size": 15}})
    fig.update_xaxes(showgrid=True, gridcolor="#e8eaeb")
    fig.update_yaxes(showgrid=True, gridcolor="#e8eaeb")
    return fig
