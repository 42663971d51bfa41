"""Small render_* helpers shared by pages, in rooms by job. Text is rendered as text: never unsafe HTML.

* :mod:`~dashboard.components.text` — UK months and dates, KPI values, user text made inert;
* :mod:`~dashboard.components.chrome` — what every page shares (demo notice, empty store, audited downloads);
* :mod:`~dashboard.components.kpi` — the overview table and the KPI detail page;
* :mod:`~dashboard.components.present` — the Present page's slide;
* :mod:`~dashboard.components.review` — the review table, evidence, finals, checkpoint picker, board pack;
* :mod:`~dashboard.components.actions` — the actions log: tables, history and the forms for writers;
* :mod:`~dashboard.components.upload` — the Upload page: check, load, history, examples;
* :mod:`~dashboard.components.settings` — the Settings page's form and history.

Words for RAG, travel, forecasts and flags come from :mod:`metrics.reviews.words`, never from here.
"""

from dashboard.components.text import (WORD_JOINER, fmt, month_list, plain, uk_date, uk_datetime, uk_month,
                                       validation_problems)

__all__ = ["WORD_JOINER", "fmt", "month_list", "plain", "uk_date", "uk_datetime", "uk_month", "validation_problems"]
