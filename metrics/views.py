"""View shaping outside the reviews, in pure pandas (the review views are in :mod:`metrics.reviews.views`):
the data-coverage grid and an upload's problems by rule. The dashboard's pages only render these."""

from __future__ import annotations

import pandas as pd

from metrics.contract import KINDS
from metrics.months import month_range


def coverage_grid(cov: pd.DataFrame) -> pd.DataFrame:
    """``metrics.store.coverage`` as one row per month (newest first) and one column per extract kind:
    '✓ loaded', '✓ loaded (2 replaced)' or '— missing'. Figures uploads count as the kind "figures"."""
    months = month_range(cov["month"].min(), cov["month"].max())
    cov = cov.assign(kind=cov["kind"].where(cov["scope"] == "", "figures"))
    agg = cov.groupby(["kind", "month"]).agg(uploads=("uploads", "max"), current=("current_upload", "count"))

    def cell(kind: str, month: str) -> str:
        if (kind, month) not in agg.index:
            return "— missing"
        uploads = int(agg.loc[(kind, month), "uploads"])
        return "✓ loaded" if uploads == 1 else f"✓ loaded ({uploads - 1} replaced)"

    return pd.DataFrame({m: [cell(k, m) for k in KINDS] for m in months}, index=list(KINDS)).T[::-1]


def problems_by_rule(errors: pd.DataFrame) -> pd.DataFrame:
    """An upload's problems (``Issue.as_dict`` rows) counted by rule, with how to fix each."""
    from metrics.contract import RULES

    out = errors.groupby("rule").size().rename("problems").reset_index()
    out["how to fix"] = out["rule"].map(RULES)
    return out
