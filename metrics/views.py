"""View shaping outside the reviews, in pure pandas (the review views are in :mod:`metrics.reviews.views`):
the data-coverage grid and an upload's problems by rule. The dashboard's pages only render these."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from metrics.contract import KINDS
from metrics.months import month_range


#: A cell of the coverage grid that the next review needs and that is missing (the page highlights it).
NEEDED = "⚠ missing"  # highlighted, and said in the legend: missing and needed for the next review
#: A record-level kind missing in a month whose KPIs were all given as figures.
BY_FIGURES = "as figures"


@dataclass(frozen=True)
class ReviewNeeds:
    """What the next review needs: its checkpoint (ISO date), the month it judges and the extract kinds
    its rated KPIs are computed from (in contract order)."""

    checkpoint: str
    month: str
    kinds: tuple[str, ...]


def next_review_needs(settings, latest_month: str | None) -> ReviewNeeds:
    """The ONE place that says which month the next review judges: the first checkpoint whose judged month
    (checkpoint − reporting lag, shared/spec/judgement.md section 1) has no data yet (else the last
    checkpoint), and that judged month."""
    from metrics.kpis import REGISTRY
    from metrics.reviews.evaluate import judged_month

    lag = settings.reporting_lag_days
    upcoming = [c.date for c in settings.checkpoints
                if latest_month is None or judged_month(c.date, lag) > latest_month]
    at = upcoming[0] if upcoming else settings.checkpoints[-1].date
    used = {REGISTRY[k].source_kind for k in settings.targets if k in REGISTRY}
    return ReviewNeeds(at.isoformat(), judged_month(at, lag), tuple(k for k in KINDS if k in used and k != "figures"))


def coverage_grid(cov: pd.DataFrame, needs: ReviewNeeds | None = None) -> pd.DataFrame:
    """``metrics.store.coverage`` as one row per month (newest first) and one column per extract kind:
    '✓ loaded', '✓ loaded (2 replaced)' or '— missing' (conferences: '✓ loaded, initial conferences only' when
    one SSD conference table of the two counts for the month). Figures uploads count as the kind "figures", shown
    only where figures are present ('✓ 10 KPIs') or expected ('— missing': a month before a KPI's
    record-level extracts begin, for which no figures were given); blank elsewhere. A record-level kind
    missing in a month whose KPIs were all given as figures reads :data:`BY_FIGURES`. With ``needs``, the
    grid reaches the month the next review judges, and each kind it needs that is missing there reads
    :data:`NEEDED`."""
    from metrics.kpis import REGISTRY

    last = max(cov["month"].max(), needs.month) if needs else cov["month"].max()
    months = month_range(min(cov["month"].min(), last), last)
    records = cov[cov["kind"] != "figures"]  # conferences are scoped by type: any type's upload counts here
    agg = records.groupby(["kind", "month"]).agg(uploads=("uploads", "max"))
    conf = records[(records["kind"] == "conferences") & records["current_upload"].notna()]
    conf_types = conf.groupby("month")["scope"].agg(set).to_dict()  # the conference types that count, by month
    given = cov[cov["kind"] == "figures"].groupby("month")["scope"].agg(set).to_dict()
    figures = pd.Series({m: len(v) for m, v in given.items()}, dtype=int)
    kpis_of = {k: {m.id for m in REGISTRY.values() if m.source_kind == k} for k in KINDS}
    first = records.groupby("kind")["month"].min().to_dict()
    kpi_kinds = [k.source_kind for k in REGISTRY.values() if k.source_kind != "figures"]

    def cell(kind: str, month: str) -> str:
        if kind == "figures":
            if month in figures.index:
                n = int(figures[month])
                return f"✓ {n} KPI{'s' if n != 1 else ''}"
            expected = any(k not in first or month < first[k] for k in kpi_kinds)
            return "— missing" if expected and month < max(first.values(), default=month) else ""
        if (kind, month) not in agg.index:
            if needs and month == needs.month and kind in needs.kinds:
                return NEEDED
            return BY_FIGURES if kpis_of[kind] and kpis_of[kind] <= given.get(month, set()) else "— missing"
        uploads = int(agg.loc[(kind, month), "uploads"])
        loaded = "✓ loaded" if uploads == 1 else f"✓ loaded ({uploads - 1} replaced)"
        types = conf_types.get(month, set()) if kind == "conferences" else set()
        if len(types) == 1 and "" not in types:  # one SSD conference table of the two
            return f"{loaded}, {next(iter(types))} conferences only"
        return loaded

    return pd.DataFrame({m: [cell(k, m) for k in KINDS] for m in months}, index=list(KINDS)).T[::-1]


def problems_by_rule(errors: pd.DataFrame) -> pd.DataFrame:
    """An upload's problems (``Issue.as_dict`` rows) counted by rule, with how to fix each."""
    from metrics.contract import RULES

    out = errors.groupby("rule").size().rename("problems").reset_index()
    out["how to fix"] = out["rule"].map(RULES)
    return out
