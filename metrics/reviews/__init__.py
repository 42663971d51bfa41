"""Three-monthly review checkpoints: settings, targets, RAG, direction of travel, finals, and the one
review model every surface reads.

The package, by job:

* :mod:`metrics.reviews.settings` — the settings models (checkpoints, trajectories, tolerances), the demo
  defaults, the readable diff between versions;
* :mod:`metrics.reviews.evaluate` — judging the KPIs at a date (pure): RAG, direction of travel,
  forecast, the frozen result's shape;
* :mod:`metrics.reviews.store` — settings versions, finals and the review at a date, against the store;
* :mod:`metrics.reviews.model` — the review model: one row per KPI with everything any surface shows;
* :mod:`metrics.reviews.words` — the words (and shapes) for RAG, travel, forecasts and flags;
* :mod:`metrics.reviews.changes` — a settings change in plain English, and since when each setting is in force;
* :mod:`metrics.reviews.impact` — the ratings a settings change would move at the reviews not yet final.

Everything public is importable from ``metrics.reviews``.

The authority is shared/spec/judgement.md (v2 of the review rules), over shared/spec/metrics.md,
"Review checkpoints", where they do not differ. User-facing explanation: ``docs/reviews.md``. Reading of
the spec and choices made here:

- **Judged month.** At checkpoint C the judged month is the latest calendar month whose last day is on or
  before C minus the reporting lag (setting ``judgement.reporting_lag_days``, default 14):
  :func:`~metrics.reviews.evaluate.judged_month`. 1 Dec 2023 → October 2023; 15 Dec 2023 → November. The
  target is the trajectory at the judged month's last day. If the judged month has no value the KPI is
  ``no_data``: never a silent fall-back. The latest month up to then that *does* have a value is reported
  separately (``latest_available_month``/``_value``).
- **Judged value.** ``judge_on`` per percentage KPI: the month, or three months pooled (Σ numerators ÷
  Σ denominators over the judged month and the two before it that have a value; the judged month itself
  must have one). Its 95% Wilson interval, and ``target_within_interval``: :mod:`metrics.intervals`.
- **Trajectory.** The baseline value holds on the *last day of the baseline month* (a KPI is measured
  at its month end). The target at a date is read off the piecewise-linear line (by days) through the
  baseline point, any explicit ``checkpoint_targets`` and the final target at ``final_date``. So an
  explicit checkpoint target wins on its date; before the baseline point the target is the baseline
  value; after the last point (normally ``final_date``) it is that point's value (the final target).
  Targets are rounded to 4 decimal places.
- **RAG.** The v1 rule on the judged value, compared with an absolute tolerance of :data:`EPS` (1e-9)
  to absorb float noise: green when it meets or beats the target in the KPI's direction (exact equality
  is green), amber when the shortfall is at most the tolerance (exactly the tolerance is amber), red
  beyond, ``no_data`` without a value. No display rounding is applied.
- **Variation, assurance, direction of travel.** :func:`metrics.spc.spc` over the KPI's monthly values up
  to the judged month, with the SPC settings of ``judgement``; direction of travel is
  ``metrics.spc.VARIATION_TRAVEL[variation]``. ``change_since_previous`` (judged value minus the previous
  configured checkpoint's judged value, same basis) is information, never the verdict.
- **Forecast.** :func:`metrics.projection.forecast` over the current SPC segment's points up to the
  judged month.
- **KPIs without a target** in the settings are not evaluated (they are not priorities being judged).
- **Final.** :func:`~metrics.reviews.store.mark_final` freezes the whole :class:`~metrics.reviews.evaluate.CheckpointResult` as presented, with the
  settings version and the data's as-of time. :func:`~metrics.reviews.store.review_at` for a final checkpoint returns the
  frozen result; each KPI also carries the judged value computed now and ``restated: True`` where it
  differs. New settings versions never change a final verdict; a final made under the v1 rules reads
  back as it was (last complete month, no interval or SPC verdicts).
"""


from metrics.months import month_label, month_of
from metrics.reviews.evaluate import (EPS, RAGS, TARGET_DECIMALS, CheckpointResult, MetricResult, Rag, Travel,
                                      change_since, direction_of_travel, evaluate, evaluate_all,
                                      evaluate_with_spc, judged_month, last_complete_month, rag, restate,
                                      spc_chart, targets_frame)
from metrics.reviews.model import TREND_MONTHS, ReviewBoard, ReviewRow, build_board, review_board
from metrics.reviews.settings import (DEFAULT_BASELINE_MONTH, DEFAULT_FINAL_DATE, DEFAULT_LAST_CHECKPOINT,
                                      DEFAULT_TRAJECTORIES, DIRECTION_DATE, Checkpoint, JudgementSettings,
                                      KpiJudgement, KpiTarget, RebaseSetting, ReviewSettings, as_date,
                                      default_checkpoints, default_settings, diff_settings)
from metrics.reviews.store import (AlreadyFinal, NotACheckpoint, SettingsVersion, current_series, data_as_of,
                                   final_checkpoints, get_final, is_final, latest_version_id, load_settings,
                                   mark_final, review_all, review_at, save_settings, settings_history)

__all__ = [
    "EPS", "RAGS", "TARGET_DECIMALS", "CheckpointResult", "MetricResult", "Rag", "Travel", "change_since",
    "direction_of_travel", "evaluate", "evaluate_all", "evaluate_with_spc", "judged_month", "last_complete_month",
    "rag", "restate", "spc_chart", "targets_frame",
    "TREND_MONTHS", "ReviewBoard", "ReviewRow", "build_board", "review_board",
    "DEFAULT_BASELINE_MONTH", "DEFAULT_FINAL_DATE", "DEFAULT_LAST_CHECKPOINT", "DEFAULT_TRAJECTORIES",
    "DIRECTION_DATE", "Checkpoint", "JudgementSettings", "KpiJudgement", "KpiTarget", "RebaseSetting",
    "ReviewSettings", "as_date", "default_checkpoints",
    "default_settings", "diff_settings",
    "AlreadyFinal", "NotACheckpoint", "SettingsVersion", "current_series", "data_as_of", "final_checkpoints",
    "get_final", "is_final", "latest_version_id", "load_settings", "mark_final", "review_all", "review_at",
    "save_settings", "settings_history",
    "month_label", "month_of",
]
