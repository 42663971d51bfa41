"""Demo-store variants for the review-model characterisation (tests/test_review_model.py and
tests/fixtures/make_review_golden.py share them, so the golden file and the test see the same stores).

* ``plain``: the demo store as built (default review settings, nothing final).
* ``finals``: the demo store with saved settings that leave ``historic_complaints_outstanding`` without
  a target (a KPI that is shown but not rated), the Sep 2023 review marked final on a series whose
  agency rate for August 2023 was 1.5 points higher (so it is now *restated*), and the Mar 2024 review
  marked final on today's data.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

VARIANTS = ("plain", "finals")
#: Every configured demo checkpoint, plus an off-schedule date and one before any data.
EXTRA_DATES = ("2024-06-15", "2022-01-01")
#: Fields that record when something happened (they differ between builds of the same store).
TIMESTAMPS = ("finalised_at", "data_as_of")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def make_variant(name: str, template: Path, path: Path) -> Path:
    from metrics import store
    from metrics.reviews import current_series, default_settings, mark_final, save_settings

    shutil.copyfile(template, path)
    if name == "plain":
        return path
    conn = store.connect(path)
    try:
        s = default_settings()
        targets = {k: v for k, v in s.targets.items() if k != "historic_complaints_outstanding"}
        s = s.model_copy(update={"targets": targets})
        save_settings(conn, s, by="analyst", note="no target for historic complaints")
        series = current_series(conn, s)
        bumped = series.copy()
        hit = (bumped["metric"] == "agency_rate") & (bumped["month"] == "2023-08")
        bumped.loc[hit, "value"] = bumped.loc[hit, "value"] + 1.5
        mark_final(conn, dt.date(2023, 9, 1), by="commissioner", series=bumped, today=dt.date(2025, 11, 1))
        mark_final(conn, dt.date(2024, 3, 1), by="commissioner", today=dt.date(2025, 11, 1))
    finally:
        conn.close()
    return path


def checkpoint_dates(path: Path) -> list[str]:
    from metrics import store
    from metrics.reviews import final_checkpoints, load_settings

    conn = store.connect(path)
    try:
        s = load_settings(conn)
        dates = {c.date.isoformat() for c in s.checkpoints} | {f["checkpoint"] for f in final_checkpoints(conn)}
    finally:
        conn.close()
    return sorted(dates)


def mask(x):
    """``x`` with every timestamp field replaced by ``"<ts>"`` (recursively)."""
    if isinstance(x, dict):
        return {k: ("<ts>" if k in TIMESTAMPS and v not in (None, "") else mask(v)) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [mask(v) for v in x]
    if isinstance(x, str):
        return _STAMP.sub("<ts>", x)
    return x
