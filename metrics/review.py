"""Re-exports of :mod:`metrics.reviews` under the old name — removed in phase 2.

``metrics/review.py`` did three jobs; it is now the package ``metrics/reviews/`` (settings, evaluate,
store, model, words). This module keeps ``metrics.review`` importable for the code not yet moved
(``reports/``, ``dashboard/``), so the branches hardening those files in parallel still merge. Import
from ``metrics.reviews`` instead. Note that patching a name here does not patch it where it is used
(``metrics.reviews.store._compute_series``).
"""

from metrics.reviews import *  # noqa: F401,F403
from metrics.reviews import __all__  # noqa: F401
