"""Text is text (issue 17 point 9), without a browser: what every page hands Streamlit's markdown.

``plain()`` escapes every Markdown/HTML character and puts an invisible word joiner into "://",
"www." and before "@" (the autolinker runs after escapes are resolved). Then every page, opened by a
local admin whose name, council name, checkpoint labels and an uploader's name and file name are
Markdown payloads, must never hand markdown a payload as written. The real rendering — no outside
request, no outside link — is tests/browser/test_text_and_errors.py.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components import WORD_JOINER, plain
from metrics.settings import get_settings

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAYLOAD = "![x](http://127.0.0.2:9/x.png) [click](http://127.0.0.2:9/) http://127.0.0.2:9/bare www.example.org a@b.co"
MARKDOWN_TYPES = {"markdown", "caption", "title", "header", "subheader", "success", "info", "warning", "error",
                  "toast", "expander", "tab"}
PAGES = ("overview", "kpi", "reviews", "present", "upload", "coverage", "settings", "audit", "about")
# what markdown would make a link, image or tag of: unescaped markup in the source...
MARKUP = re.compile(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)<")
# ...and what the autolinker finds in the text once escapes are resolved
AUTOLINK = re.compile(r"https?://|www\.|[\w.]@", re.IGNORECASE)


def live(source: str) -> list[str]:
    return MARKUP.findall(source) + AUTOLINK.findall(re.sub(r"\\(.)", r"\1", source))


def test_plain_escapes_markup_and_breaks_autolinks():
    out = plain(PAYLOAD)
    assert not live(out), out
    assert live(PAYLOAD)
    assert out.replace(WORD_JOINER, "").replace("\\", "") == PAYLOAD  # nothing else changes
    assert plain("WWW.Example.org") == f"WWW{WORD_JOINER}\\.Example\\.org"
    assert plain("https://x") == f"https\\:{WORD_JOINER}\\/\\/x"
    assert plain("Team 1 (North)") == "Team 1 \\(North\\)"


def demo_settings(db: Path):
    """The demo store takes synthetic uploads under its own public key only (issue 17 point 6)."""
    from metrics.demo_store import DEMO_KEY

    return get_settings().model_copy(update={"db_path": db, "pseudonym_key": DEMO_KEY})


@pytest.fixture
def hostile_store(demo_template, tmp_path, monkeypatch) -> Path:
    from metrics import store
    from metrics.ingest import ingest_bytes
    from metrics.reviews import load_settings, save_settings

    db = tmp_path / "kpi.sqlite"
    shutil.copyfile(demo_template, db)
    with contextlib.closing(store.connect(db)) as conn:
        s = load_settings(conn)
        save_settings(conn, s.model_copy(update={"council_name": PAYLOAD, "checkpoints": [
            c.model_copy(update={"label": f"{PAYLOAD} {i}"}) for i, c in enumerate(s.checkpoints)]}),
            by=PAYLOAD, role="admin")
        rows = "".join(f"W9{i:04d},case_holder,N,1.0,Front Door,2025-03-31\n" for i in range(12))
        r = ingest_bytes(conn, f"worker_id,role,agency,fte,team,snapshot_date\n{rows}".encode(), f"{PAYLOAD}.csv",
                         uploaded_by=PAYLOAD, role="cli", settings=demo_settings(db))
        assert r.ok, r.errors
    for name in ("KPI_ROLES", "KPI_LOCAL_GROUPS", "KPI_LOCAL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KPI_DB_PATH", str(db))
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.setenv("KPI_COUNCIL_NAME", PAYLOAD)
    monkeypatch.setenv("KPI_LOCAL_USER", PAYLOAD)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_no_page_hands_markdown_a_payload_as_written(hostile_store, page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for node in [*at.main, *at.sidebar]:
        if node.type == "html":  # only the judgement's icons with their words (dashboard/components/verdict.py)
            body = node.proto.body
            assert body.lstrip().startswith(("<div", "<ul", '<span class="verdict')), body[:80]
            assert 'class="verdict' in body and "<script" not in body.lower()
            assert not any(p in body for p in ("127.0.0.2", "example.org", "b.co", "[click]")), body[:200]
            continue
        if node.type in MARKDOWN_TYPES:
            text = str(getattr(node, "value", "") or "") + str(getattr(node, "label", "") or "")
            shown = re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")
            if "127.0.0.2" in shown or "example.org" in shown or "b.co" in shown:
                assert not live(text), (node.type, text)
