"""What the page tests share (``from helpers_pages import …``): the app under Streamlit's AppTest, local
sign-in, and the dashboard's settings pointed at a store (a private copy of the demo store, usually)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.demo_store import DEMO_KEY
from metrics.settings import get_settings

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
#: the sign-in settings a test clears so that the machine's own environment plays no part
SIGN_IN_ENV = ("KPI_ROLES", "KPI_LOCAL_USER", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE", "KPI_KEY_FILE")


def local_mode(monkeypatch) -> None:
    """Local sign-in (the local user is an admin) with no role list from the environment; settings re-read."""
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.delenv("KPI_ROLES", raising=False)
    get_settings.cache_clear()


def point_at(monkeypatch, db: Path, home: Path, *, key: str | None = None) -> None:
    """Settings on the store at ``db``, run from ``home`` (no stray .env), with pseudonymisation ``key`` if
    given; settings re-read."""
    monkeypatch.chdir(home)
    monkeypatch.setenv("KPI_DB_PATH", str(db))
    if key is not None:
        monkeypatch.setenv("KPI_PSEUDONYM_KEY", key)
    get_settings.cache_clear()


def demo_page_db(demo_template: Path, tmp_path: Path, monkeypatch, unset: tuple[str, ...] = SIGN_IN_ENV):
    """For a fixture to ``yield from``: a private copy of the demo store, the dashboard pointed at it in local
    mode (an admin), ``unset`` cleared from the environment; settings re-read after the test too."""
    db = tmp_path / "kpi.sqlite"
    shutil.copyfile(demo_template, db)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    point_at(monkeypatch, db, tmp_path, key=DEMO_KEY)
    yield db
    get_settings.cache_clear()


def app_page(page: str, *, timeout: float = 60, user: dict | None = None, **query: str) -> AppTest:
    """The app run once, switched to ``views/{page}.py`` (with ``query`` parameters) and run again; whoever
    calls it checks ``at.exception``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    if user is not None:
        at.user = user
    at.run()
    at.switch_page(f"views/{page}.py")
    if query:
        at.query_params.update(query)
    at.run()
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, user: dict | None = None) -> AppTest:
    """``app_page`` that ran without an exception."""
    at = app_page(page, user=user)
    assert not at.exception, [e.value for e in at.exception]
    return at


def kpi_pages(monkeypatch, db: Path, home: Path, *, timeout: float = 60):
    """For a fixture to ``yield from``: ``open(metric)``, the KPI page of ``metric`` (run without an exception)
    on the store at ``db`` in local mode; settings re-read after the test too."""
    point_at(monkeypatch, db, home)
    local_mode(monkeypatch)

    def _open(metric: str) -> AppTest:
        at = app_page("kpi", timeout=timeout, kpi=metric)
        assert not at.exception, [e.value for e in at.exception]
        return at

    yield _open
    get_settings.cache_clear()
