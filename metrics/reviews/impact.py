"""What a change of review settings would do to the ratings, worked out before it is saved (issue 15,
item 4). Pure: the reviews are judged with the old and with the new settings over the same series, at
every non-final review of either, and compared::

    changes = settings_impact(series, old, new, finals={"2023-06-01"})
    [c.text for c in changes]   # ['Review 8 – Mar 2025, Agency social workers (% of FTE): green → amber …']

The judgement compared is the one the review model carries: :func:`metrics.reviews.build_board` copies
each rated row's RAG, judged month, value and target from :func:`metrics.reviews.evaluate`, so this reads
``evaluate`` directly — about a sixth of the time, as the page previews on every edit
(tests/test_settings_impact.py checks the result against the review model built both ways).

Final reviews are frozen (their verdict, target and settings version never change with new settings), so
they are left out; the page says so. A checkpoint that only one version has is compared with "not
reviewed" (``None``) on the other side; so is a KPI whose target is added or removed. When the historic
complaints cut-off changes, the series itself changes: pass ``new_series`` computed with the new one.
(Uploads and restores have their own preview, :mod:`metrics.impact`, of the same shape.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from metrics.reviews.evaluate import evaluate
from metrics.kpis import REGISTRY
from metrics.reviews.evaluate import CheckpointResult
from metrics.reviews.settings import ReviewSettings, as_date

RAG_WORD = {"green": "green", "amber": "amber", "red": "red", "no_data": "no data", None: "not reviewed"}


@dataclass(frozen=True)
class SettingsChange:
    """One KPI at one non-final review whose RAG rating would change with the new settings."""

    checkpoint: str  # ISO date
    title: str  # the checkpoint's label (the new one, else the old)
    metric: str
    label: str
    old_month: str | None  # the judged month (None: not reviewed)
    new_month: str | None
    old_value: float | None
    new_value: float | None
    old_target: float | None
    new_target: float | None
    old_rag: str | None  # None: not reviewed (no such checkpoint, or the KPI has no target)
    new_rag: str | None

    @property
    def text(self) -> str:
        return f"{self.title}, {self.label}: {RAG_WORD[self.old_rag]} → {RAG_WORD[self.new_rag]}"


def _reviews(series: pd.DataFrame, settings: ReviewSettings, dates: Iterable[dt.date]) -> dict[str, CheckpointResult]:
    return {d.isoformat(): evaluate(series, settings, d) for d in dates}


def _num(x) -> float | None:
    return None if x is None or x != x else float(x)


def settings_impact(series: pd.DataFrame, old: ReviewSettings, new: ReviewSettings,
                    finals: Iterable[dt.date | str] = (), *,
                    new_series: pd.DataFrame | None = None) -> list[SettingsChange]:
    """Every rating (checkpoint, KPI) that differs between the review model under ``old`` and under
    ``new``, at every checkpoint of either that is not in ``finals``; in date order, then registry order."""
    frozen = {as_date(f) for f in finals}
    dates = sorted(({c.date for c in old.checkpoints} | {c.date for c in new.checkpoints}) - frozen)
    before = _reviews(series, old, [d for d in dates if old.checkpoint_on(d)])
    after = _reviews(series if new_series is None else new_series, new, [d for d in dates if new.checkpoint_on(d)])
    out = []
    for d in dates:
        a, b = before.get(d.isoformat()), after.get(d.isoformat())
        title = (new.checkpoint_on(d) or old.checkpoint_on(d)).label
        ma = {m.metric: m for m in a.metrics} if a else {}
        mb = {m.metric: m for m in b.metrics} if b else {}
        for kpi in REGISTRY.values():
            x, y = ma.get(kpi.id), mb.get(kpi.id)
            if (x.rag if x else None) == (y.rag if y else None):
                continue
            out.append(SettingsChange(
                checkpoint=d.isoformat(), title=title, metric=kpi.id, label=kpi.label,
                old_month=x.actual_month if x else None, new_month=y.actual_month if y else None,
                old_value=_num(x.actual) if x else None, new_value=_num(y.actual) if y else None,
                old_target=_num(x.target) if x else None, new_target=_num(y.target) if y else None,
                old_rag=x.rag if x else None, new_rag=y.rag if y else None))
    return out
