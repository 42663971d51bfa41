"""Three-monthly review checkpoints: settings, targets, RAG, direction of travel, finals, and the one
review model every surface reads.

The package, by job:

* :mod:`metrics.reviews.settings` — the settings models (checkpoints, trajectories, tolerances), the demo
  defaults, the readable diff between versions;
* :mod:`metrics.reviews.evaluate` — judging the KPIs at a date (pure): RAG, direction of travel,
  forecast, the frozen result's shape;
* :mod:`metrics.reviews.store` — settings versions, finals and the review at a date, against the store;
* :mod:`metrics.reviews.model` — the review model: one row per KPI with everything any surface shows;
* :mod:`metrics.reviews.words` — the words (and shapes) for RAG, travel, forecasts and flags.

Everything public is importable from ``metrics.reviews``.

The authority is shared/spec/metrics.md, "Review checkpoints". User-facing explanation:
``docs/reviews.md``. Reading of the spec and choices made here:

- **Last complete month.** At checkpoint C the actual is the value for the latest month whose last day
  is before C — always the calendar month before C's month (C = 1 Jun 2023 → May 2023; C = 15 Jun
  2023 → still May, because 30 June is not before 15 June; C = 1 Jul → June). If that month has no
  value the KPI is ``no_data``: we never fall back silently to an older month. The latest month up to
  then that *does* have a value is reported separately (``latest_available_month``/``_value``), so the
  page can say "no data for May; latest April". ``actual_month`` is always the last complete month.
- **Trajectory.** The baseline value holds on the *last day of the baseline month* (a KPI is measured
  at its month end). The target at a date is read off the piecewise-linear line (by days) through the
  baseline point, any explicit ``checkpoint_targets`` and the final target at ``final_date``. So an
  explicit checkpoint target wins on its date; before the baseline point the target is the baseline
  value; after the last point (normally ``final_date``) it is that point's value (the final target).
  Targets are rounded to 4 decimal places.
- **RAG.** Compared with an absolute tolerance of :data:`EPS` (1e-9) to absorb float noise: green when
  the actual meets or beats the target in the KPI's direction (exact equality is green), amber when the
  shortfall is at most the tolerance (exactly the tolerance is amber), red beyond, ``no_data`` without
  an actual. No display rounding is applied: 20.04% against a target of 20.0% with direction down is
  amber even though both print as "20.0%".
- **Direction of travel** compares the actual with the actual at the previous configured checkpoint
  (the latest checkpoint dated before C — also for an off-schedule C), in the KPI's direction, on the
  same data. ``None`` (JSON ``null``) when either actual is missing or there is no previous checkpoint.
- **KPIs without a target** in the settings are not evaluated (they are not priorities being judged).
- **Final.** :func:`~metrics.reviews.store.mark_final` freezes the whole :class:`~metrics.reviews.evaluate.CheckpointResult` as presented, with the
  settings version and the data's as-of time. :func:`~metrics.reviews.store.review_at` for a final checkpoint returns the
  frozen result; each KPI also carries the actual computed now and ``restated: True`` where it differs.
  New settings versions never change a final verdict.
"""


from metrics.months import month_label, month_of
from metrics.reviews.evaluate import (EPS, RAGS, TARGET_DECIMALS, CheckpointResult, MetricResult, Rag, Travel,
                                      direction_of_travel, evaluate, evaluate_all, last_complete_month, rag,
                                      restate, targets_frame)
from metrics.reviews.model import TREND_MONTHS, ReviewBoard, ReviewRow, build_board, review_board
from metrics.reviews.settings import (DEFAULT_BASELINE_MONTH, DEFAULT_FINAL_DATE, DEFAULT_LAST_CHECKPOINT,
                                      DEFAULT_TRAJECTORIES, DIRECTION_DATE, Checkpoint, KpiTarget, ReviewSettings,
                                      as_date, default_checkpoints, default_settings, diff_settings)
from metrics.reviews.store import (AlreadyFinal, NotACheckpoint, SettingsVersion, current_series, data_as_of,
                                   final_checkpoints, get_final, is_final, latest_version_id, load_settings,
                                   mark_final, review_all, review_at, save_settings, settings_history)

__all__ = [
    "EPS", "RAGS", "TARGET_DECIMALS", "CheckpointResult", "MetricResult", "Rag", "Travel", "direction_of_travel",
    "evaluate", "evaluate_all", "last_complete_month", "rag", "restate", "targets_frame",
    "TREND_MONTHS", "ReviewBoard", "ReviewRow", "build_board", "review_board",
    "DEFAULT_BASELINE_MONTH", "DEFAULT_FINAL_DATE", "DEFAULT_LAST_CHECKPOINT", "DEFAULT_TRAJECTORIES",
    "DIRECTION_DATE", "Checkpoint", "KpiTarget", "ReviewSettings", "as_date", "default_checkpoints",
    "default_settings", "diff_settings",
    "AlreadyFinal", "NotACheckpoint", "SettingsVersion", "current_series", "data_as_of", "final_checkpoints",
    "get_final", "is_final", "latest_version_id", "load_settings", "mark_final", "review_all", "review_at",
    "save_settings", "settings_history",
    "month_label", "month_of",
]
