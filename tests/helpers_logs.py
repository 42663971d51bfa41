"""What the evidence and actions log tests share (``from helpers_logs import …``): two reviews, a series and
an open store with the default review settings saved."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.reviews import default_settings, save_settings
from metrics.store import connect

JUN, SEP = dt.date(2023, 6, 1), dt.date(2023, 9, 1)
# judgement.md section 1: the 1 Jun 2023 review judges April 2023 (the default 14-day reporting lag)
SERIES = pd.DataFrame({"metric": ["agency_rate"], "month": ["2023-04"], "value": [50.0]})


@pytest.fixture
def fresh_db(request, engine, tmp_path):
    """An open connection (not conftest's path) to a new store with the default review settings saved: SQLite,
    or in a module marked ``both_engines`` also a PostgreSQL schema of its own (conftest's ``engine``)."""
    conn = connect(request.getfixturevalue("pg_url") if engine == "postgresql" else tmp_path / "kpi.sqlite")
    save_settings(conn, default_settings("Test Council", "884"), by="analyst")
    yield conn
    conn.close()
