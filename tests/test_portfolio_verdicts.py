"""The Portfolio page's fast path (issue 16): each council's verdict from one connection, its KPI series
computed once and shared with the comparison chart, cached per (store, audit version) and computed two
councils at a time. It must give exactly the verdict the full review gives (the overview page's loaders, one
cached step at a time), on SQLite and PostgreSQL, for the demo councils of ``kpi demo --councils 884,881,880``
(one of them with its latest review marked final, so a frozen, restated review is compared too)."""

from __future__ import annotations

import contextlib
import json
import shutil

import pytest
import streamlit as st

from metrics import store

CODES = ("884", "881", "880")

pytestmark = pytest.mark.slow  # three demo stores per engine


@pytest.fixture(scope="module")
def demo_councils(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """code → (name, SQLite store) of ``kpi demo --councils 884,881,880``'s stores; 880's latest review final."""
    from metrics.demo_store import build_demo_councils

    folder = tmp_path_factory.mktemp("portfolio")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)  # no stray .env
        config = json.loads(build_demo_councils(list(CODES), folder / "demo").read_text())
    _finalise_latest(config["880"]["db"])
    return {code: (e["name"], e["db"]) for code, e in config.items()}


def _finalise_latest(db: str) -> None:
    from metrics.reviews import current_series, load_settings, mark_final
    from metrics.reviews.views import latest_data_month, next_checkpoint

    with contextlib.closing(store.connect(db)) as conn:
        settings = load_settings(conn)
        at = next_checkpoint(settings, latest_data_month(current_series(conn, settings)))
        mark_final(conn, at, "tester")


@pytest.fixture(params=["sqlite", "postgresql"])
def councils(request, demo_councils, tmp_path) -> list[tuple[str, str, str]]:
    """(code, name, store) of each demo council: copies of the SQLite files, or one PostgreSQL schema each
    holding the same rows."""
    out = []
    for code, (name, db) in demo_councils.items():
        if request.param == "sqlite":
            path = tmp_path / code / "kpi.sqlite"
            path.parent.mkdir()
            with contextlib.closing(store.connect(db)) as src:
                src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(db, path)
            out.append((code, name, str(path)))
        else:
            out.append((code, name, _pg_copy(request.getfixturevalue("pg_cluster"), db)))
    st.cache_data.clear()
    yield out
    st.cache_data.clear()


def _pg_copy(cluster, db: str) -> str:
    """A new PostgreSQL store holding every row of the SQLite store ``db`` (ids kept, identities moved on)."""
    url = cluster.new_schema_url()
    with contextlib.closing(store.connect(db)) as src, contextlib.closing(store.connect(url)) as dst:
        dst.raw.execute("DELETE FROM store_meta")
        tables = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite%' ORDER BY rowid")]
        for table in tables:
            rows = src.execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                continue
            cols = list(rows[0].keys())
            # a copy is a restore: the guards that refuse new rows at a final review (an action's, say) are off
            # while rows that already passed them are copied, as pg_restore --disable-triggers does
            dst.raw.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            with dst.raw.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                                [tuple(r) for r in rows])
            dst.raw.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            if "id" in cols:
                dst.raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return url


def _full_review(code: str, name: str, db: str):
    """The verdict as the overview page's loaders build it: settings, series, the default checkpoint and its
    board, uploads and demo flag, each its own cached step (the portfolio's path before the fast one)."""
    from dashboard import loaders
    from metrics.reviews.views import latest_data_month
    from reports.portfolio import CouncilVerdict

    v = loaders.data_version(db)
    ups = loaders.uploads(db, v)
    live = ups[ups["status"].isin(["current", "restored"])] if len(ups) else ups
    return CouncilVerdict(code=code, name=name,
                          board=loaders.kpi_board(db, v, loaders.default_checkpoint(db, v)),
                          settings=loaders.review_settings(db, v),
                          latest_month=latest_data_month(loaders.review_series(db, v)),
                          last_upload=str(live["uploaded_at"].max()) if len(live) else None,
                          demo=loaders.is_demo(db, v))


def test_the_fast_path_gives_exactly_the_full_reviews_verdicts(councils):
    from dashboard import loaders

    fast = loaders.council_verdicts(councils)
    st.cache_data.clear()
    full = [_full_review(*c) for c in councils]
    assert [v.code for v in fast] == list(CODES)
    for f, g in zip(fast, full):
        assert repr(f) == repr(g)  # every field, every row, every float (NaN compares unequal to itself)
    finals = {v.code: v.board.final for v in fast}
    assert finals == {"884": False, "881": False, "880": True}
    summaries = {v.code: v.board.summary for v in fast}
    assert len({tuple(s.values()) for s in summaries.values()}) == 3, summaries  # three different councils


def test_the_comparison_reuses_each_councils_series(councils, monkeypatch):
    """The chart's series are the KPI's rows of the series each verdict judged (``one_kpi_series``), and
    drawing the comparison computes nothing again."""
    from dashboard import loaders
    from metrics.reviews import store as review_store

    loaders.council_verdicts(councils)
    calls = []
    real = review_store._compute_series
    monkeypatch.setattr(review_store, "_compute_series", lambda conn, **kw: calls.append(1) or real(conn, **kw))
    fig, table, problems = loaders.portfolio_comparison("agency_rate", councils)
    assert calls == [] and problems == []
    assert list(table["Council"]) == [f"{name} ({code})" for code, name, _ in councils]
    lines = {t.name: t for t in fig.data}
    for code, name, db in councils:
        want = loaders.one_kpi_series(db, loaders.data_version(db), "agency_rate").dropna(subset=["value"]).tail(24)
        assert len(want) > 12 and list(lines[f"{name} ({code})"].y) == list(want["value"])


def test_an_upload_to_one_council_recomputes_only_that_council(councils, monkeypatch):
    from dashboard import loaders
    from metrics.reviews import load_settings, save_settings
    from reports import portfolio

    computed = []
    real = portfolio.council_verdict
    monkeypatch.setattr(portfolio, "council_verdict",
                        lambda conn, code, name: computed.append(code) or real(conn, code, name))
    before = loaders.council_verdicts(councils)
    loaders.portfolio_comparison("agency_rate", councils)
    assert sorted(computed) == sorted(CODES)
    computed.clear()
    assert repr(loaders.council_verdicts(councils)) == repr(before)
    assert computed == []  # warm: every council's verdict from the cache
    code, _, db = councils[1]
    with contextlib.closing(store.connect(db)) as conn:  # any audited change: here, settings saved again
        save_settings(conn, load_settings(conn), "tester", note="a new version")
    after = loaders.council_verdicts(councils)
    loaders.portfolio_comparison("agency_rate", councils)
    assert computed == [code]  # only that council; the comparison reused every verdict
    assert repr(after[0]) == repr(before[0]) and repr(after[2]) == repr(before[2])
    assert repr(after[1]) == repr(_full_review(*councils[1]))


def test_a_single_council_is_computed_without_a_thread_pool(councils, monkeypatch):
    """One council (the page needs two, but the loader takes any number): no pool, the same verdict."""
    import concurrent.futures

    from dashboard import loaders

    def no_pool(*a, **k):
        raise AssertionError("a pool for one council")

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", no_pool)
    [one] = loaders.council_verdicts(councils[:1])
    assert repr(one) == repr(_full_review(*councils[0]))
