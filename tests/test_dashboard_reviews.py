"""The Reviews and Settings pages, driven through Streamlit's AppTest on a copy of the demo store.

Each test gets its own copy of one demo store (built once per session), local sign-in (an admin) and
fresh settings. The review table is checked against ``kpi review --at DATE --json``; writes are checked in
the store (rows added, audit rows written) and on the page.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import store
from metrics.ingest import ingest_bytes
from metrics.kpis import REGISTRY
from metrics.reviews import words
from metrics.reviews import Checkpoint, load_settings, save_settings

from helpers_pages import demo_page_db, open_page, rerun  # noqa: F401 (open_page: test_dashboard_settings imports it here)

LOCAL_USER = "demo.admin@example.org"
# as markdown gets it: escaped, with an invisible word joiner before "@" (never a mailto link)
LOCAL_USER_MD = "demo\\.admin\u2060\\@example\\.org"
RAG_WORD = {"green": "Green", "amber": "Amber", "red": "Red", "no_data": "No data"}
TRAVEL_WORD = {"improving": "Improving", "no_significant_change": "No significant change", "worsening": "Worsening",
               "not_enough_data": "Not enough data", None: "Not known"}  # v2: from the variation verdict
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
# element types whose text Streamlit renders as markdown
MARKDOWN_TYPES = {"markdown", "caption", "title", "header", "subheader", "success", "info", "warning", "error",
                  "latex", "toast", "expander", "tab"}


# --- fixtures and helpers (the demo store: conftest.demo_template) ---------------------------------


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo store, the dashboard pointed at it in local mode (an admin)."""
    yield from demo_page_db(demo_template, tmp_path, monkeypatch)


def choose_checkpoint(at: AppTest, iso: str) -> AppTest:
    at.selectbox(key="checkpoint").set_value(iso)
    return rerun(at)


def review_table(at: AppTest):
    return at.dataframe[0].value


def cli_review(db: Path, at: str) -> dict:
    from kpi_cli import main as cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["review", "--at", at, "--json", "--db", str(db)]) == 0
    gc.collect()
    return json.loads(out.getvalue())


def count(db: Path, table: str, where: str = "") -> int:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return c.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def all_nodes(at: AppTest):
    yield from at.main
    yield from at.sidebar


def assert_no_unsafe_markup(at: AppTest) -> None:
    """No element renders HTML, and nothing rendered as markdown holds an unescaped tag or handler."""
    for node in all_nodes(at):
        if node.type == "html":  # only the judgement's icons with their words, never user text
            assert 'class="verdict' in node.proto.body and "<script" not in node.proto.body.lower()
            continue
        if node.type in MARKDOWN_TYPES:
            text = str(getattr(node, "value", "") or "") + str(getattr(node, "label", "") or "")
            assert "<script" not in text.lower() and "onerror=" not in text.lower() and "<img" not in text.lower(), text
            if node.type == "markdown":
                assert not node.proto.allow_html


def assert_table_matches_cli(table, expected: dict) -> None:
    assert len(table) == len(expected["metrics"])
    for row, m in zip(table.to_dict("records"), expected["metrics"]):
        k = REGISTRY[m["metric"]]
        assert row["KPI"] == k.label
        assert row["Actual"] == k.format(m["actual"])
        assert row["Target"] == k.format_target(m["target"])
        month = m["actual_month"]
        assert row["Month"] == f"{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][int(month[5:]) - 1]} {month[:4]}"
        word = RAG_WORD[m["rag"]]
        assert row["RAG"].endswith(word) and row["RAG"] != word, "RAG needs an icon AND the word"
        assert row["Direction of travel"].endswith(TRAVEL_WORD[m["direction_of_travel"]])
        # the v2 verdicts: the same as `kpi review --json`, as an icon and in words
        assert row["Variation (words)"] == words.variation_text(m["variation"], "upper", direction=k.direction)
        assert row["Assurance (words)"] == words.assurance_text(m["assurance"], "upper")
        assert row["Variation"].startswith("data:image/svg+xml;base64,")
        if m["interval"]:
            assert row["95% interval"] == f"{k.format(m['interval'][0])}–{k.format(m['interval'][1])}"
        if m["target_within_interval"]:
            assert words.CANNOT_TELL in row["Note"]


def overall(summary: dict) -> str:
    return (f"{summary['green']} green, {summary['amber']} amber, {summary['red']} red, "
            f"{summary['no_data']} no data — is sufficient progress being made?")


# --- the review table ---------------------------------------------------------------------------


def test_reviews_page_defaults_to_latest_checkpoint_with_data_and_matches_the_cli(demo_db):
    at = open_page("reviews")
    assert at.title[0].value == "Three-monthly reviews"
    chosen = at.selectbox(key="checkpoint").value
    assert chosen == "2025-03-01"  # the demo runs to Mar 2025: Jun 2025 (judging Apr) has no data yet
    expected = cli_review(demo_db, chosen)
    assert_table_matches_cli(review_table(at), expected)
    assert overall(expected["summary"]) in texts(at, "subheader")
    assert not texts(at, "error")


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", ["2023-06-01", "2023-09-01", "2024-06-01", "2025-06-01"])
def test_reviews_page_for_several_checkpoints(demo_db, checkpoint):
    at = choose_checkpoint(open_page("reviews"), checkpoint)
    expected = cli_review(demo_db, checkpoint)
    assert_table_matches_cli(review_table(at), expected)
    assert overall(expected["summary"]) in texts(at, "subheader")
    if checkpoint == "2023-09-01":  # the six-month review is marked, in the list and on the page
        assert any("1 Sep 2023" in o and "★ six-month review" in o for o in at.selectbox(key="checkpoint").options)
        assert any("Six-month review" in i for i in texts(at, "info"))
    if checkpoint == "2025-06-01":  # judges Apr 2025 (14-day lag), which has no data: every KPI says so
        assert set(review_table(at)["Actual"]) == {"no data"}
        assert review_table(at)["Note"].str.startswith("no data for Apr 2025; latest Mar 2025").all()
    forecasts = review_table(at)["Forecast (final target)"]
    assert forecasts.str.contains(r"^(?:on trend: \w{3} \d{4}|trend not established|already met|"
                                  r"not enough data for a trend|moving away from the target)").all()


# --- evidence -------------------------------------------------------------------------------------


def add_entry_via_form(at: AppTest, subject: str, body: str) -> AppTest:
    at.selectbox(key="evidence-subject").set_value(subject)
    at.text_area(key="evidence-body").set_value(body)
    next(b for b in at.button if b.label == "Add entry").click()
    return rerun(at)


@pytest.mark.slow
def test_adding_commentary_through_the_form_stores_it_with_the_author(demo_db):
    from metrics.evidence import list_entries

    at = choose_checkpoint(open_page("reviews"), "2024-06-01")
    audit_before = count(demo_db, "audit_log", "WHERE action = 'evidence_add'")
    body = "Agency rate fell after the recruitment drive; two team managers appointed."
    at = add_entry_via_form(at, "kpi:agency_rate", body)
    with contextlib.closing(store.connect(demo_db)) as conn:
        entries = list_entries(conn, "2024-06-01")
    assert [(e.kpi, e.body, e.author) for e in entries] == [("agency_rate", body, LOCAL_USER)]
    assert count(demo_db, "audit_log", "WHERE action = 'evidence_add'") == audit_before + 1
    assert body in texts(at, "text")  # shown as plain text, with the author and time beside it
    assert any(LOCAL_USER_MD in c for c in texts(at, "caption"))
    assert any("added" in s for s in texts(at, "success"))


def test_a_blank_entry_is_refused_with_a_message(demo_db):
    at = add_entry_via_form(choose_checkpoint(open_page("reviews"), "2024-06-01"), "overall", "   ")
    assert count(demo_db, "evidence") == 0
    assert any("blank" in e for e in texts(at, "error"))


@pytest.mark.slow
def test_an_entry_can_be_edited_while_not_final(demo_db):
    from metrics.evidence import list_entries

    at = add_entry_via_form(choose_checkpoint(open_page("reviews"), "2024-06-01"), "tor:2a", "First draft")
    at.selectbox(key="edit-entry").set_value(1)
    at = rerun(at)
    at.text_area(key="edit-body-1").set_value("Second draft")
    at.button(key="edit-save").click()
    at = rerun(at)
    with contextlib.closing(store.connect(demo_db)) as conn:
        [e] = list_entries(conn, "2024-06-01")
    assert (e.body, e.edited_by) == ("Second draft", LOCAL_USER)
    assert count(demo_db, "audit_log", "WHERE action = 'evidence_edit'") == 1
    assert "Second draft" in texts(at, "text")


# --- final ----------------------------------------------------------------------------------------


def mark_final_via_page(at: AppTest) -> AppTest:
    at.checkbox(key="final-confirm").check()
    at = rerun(at)
    at.button(key="mark-final").click()
    return rerun(at)


@pytest.mark.slow
def test_marking_final_freezes_the_review(demo_db):
    at = choose_checkpoint(open_page("reviews"), "2024-06-01")
    at = add_entry_via_form(at, "kpi:agency_rate", "Presented to the board on 3 June.")
    at = mark_final_via_page(at)
    assert count(demo_db, "checkpoint_finals") == 1
    assert count(demo_db, "audit_log", "WHERE action = 'checkpoint_final' AND target = 'checkpoint 2024-06-01'") == 1
    banner = [s for s in texts(at, "success") if s.startswith("Final")]
    assert banner and "as presented on" in banner[0] and LOCAL_USER_MD in banner[0]
    # the evidence edit form is replaced by corrections; mark final is gone
    labels = [b.label for b in at.button]
    assert "Add entry" not in labels and "Mark final" not in labels and "Add correction" in labels
    assert not [s for s in at.selectbox if s.key == "edit-entry"]
    assert_table_matches_cli(review_table(at), cli_review(demo_db, "2024-06-01"))

    # a correction is a new entry pointing at the original, which stays as it was
    at.text_area(key="correct-body").set_value("Correction: presented on 4 June.")
    next(b for b in at.button if b.label == "Add correction").click()
    at = rerun(at)
    with contextlib.closing(sqlite3.connect(demo_db)) as c:
        rows = c.execute("SELECT id, body, corrects FROM evidence ORDER BY id").fetchall()
    assert rows == [(1, "Presented to the board on 3 June.", None), (2, "Correction: presented on 4 June.", 1)]
    assert "Correction: presented on 4 June." in texts(at, "text")


@pytest.mark.slow
def test_a_final_review_flags_restated_figures(demo_db):
    at = mark_final_via_page(choose_checkpoint(open_page("reviews"), "2024-06-01"))
    frozen = cli_review(demo_db, "2024-06-01")
    was = next(m for m in frozen["metrics"] if m["metric"] == "agency_rate")["actual"]
    # re-upload Apr 2024's workforce (the month 1 Jun 2024 judges, with the 14-day reporting lag): 10 case
    # holders, 5 of them agency -> agency rate 50%
    rows = "".join(f"W9{i:05d},case_holder,{'Y' if i < 5 else 'N'},1,East\n" for i in range(10))
    with contextlib.closing(store.connect(demo_db)) as conn:
        r = ingest_bytes(conn, f"worker_id,role,agency,fte,team\n{rows}".encode(), "apr.csv", kind="workforce",
                         month="2024-04", uploaded_by="tester")
    assert r.ok, r.errors
    at = rerun(at)
    table = review_table(at)
    row = table[table["KPI"] == REGISTRY["agency_rate"].label].iloc[0]
    fmt = REGISTRY["agency_rate"].format
    assert row["Actual"] == fmt(was)  # the board's record is unchanged …
    assert row["Note"].startswith(f"restated: was {fmt(was)}, now {fmt(50.0)}")  # … and the change is flagged
    warning = [w.replace("\\", "") for w in texts(at, "warning") if w.startswith("Restated")]
    assert warning and REGISTRY["agency_rate"].label in warning[0] and "April 2024" in warning[0]
    assert_table_matches_cli(table, cli_review(demo_db, "2024-06-01"))


def test_marking_a_future_checkpoint_final_is_refused_with_a_message(demo_db):
    with contextlib.closing(store.connect(demo_db)) as conn:
        s = load_settings(conn)
        s = s.model_copy(update={"checkpoints": [*s.checkpoints, Checkpoint(date="2099-03-01", label="Far future")]})
        save_settings(conn, s.model_dump(mode="json"), by="tester", note="a future checkpoint")
    at = mark_final_via_page(choose_checkpoint(open_page("reviews"), "2099-03-01"))
    assert count(demo_db, "checkpoint_finals") == 0
    errors = texts(at, "error")
    assert errors and "future" in errors[0] and not at.exception


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_saving_valid_settings_creates_a_version_and_changes_review_targets(demo_db):
    at = choose_checkpoint(open_page("reviews"), "2024-12-01")
    before = review_table(at).set_index("KPI").loc[REGISTRY["agency_rate"].label, "Target"]
    s = open_page("settings")
    s.number_input(key="sf-agency_rate-final_target").set_value(10.0)
    s.text_input(key="sf-note").set_value("Board agreed a tougher agency target")
    s.button(key="save-settings").click()
    s = rerun(s)
    assert count(demo_db, "review_settings_versions") == 1
    assert count(demo_db, "audit_log", "WHERE action = 'settings_change'") == 1
    assert any("Saved as version 1" in m for m in texts(s, "success"))
    # the history is the last table on the page; its cells are escaped for markdown (never a mailto link)
    history = s.table[-1].value.map(lambda x: str(x).replace("\\", "").replace("\u2060", ""))
    assert history[["Version", "By", "Note"]].values.tolist() == [["1", LOCAL_USER, "Board agreed a tougher agency target"]]
    assert history["What changed"].tolist() == [
        "first saved version, from the built-in defaults; Agency social workers (% of FTE): final target 20% → 10%"]
    with contextlib.closing(store.connect(demo_db)) as conn:
        assert load_settings(conn).targets["agency_rate"].final_target == 10.0

    at = rerun(at)
    expected = cli_review(demo_db, "2024-12-01")
    after = review_table(at).set_index("KPI").loc[REGISTRY["agency_rate"].label, "Target"]
    assert after != before
    assert_table_matches_cli(review_table(at), expected)


@pytest.mark.parametrize(("widget", "value", "field", "message"), [
    (("number_input", "sf-agency_rate-tolerance"), -1.0, "targets → agency_rate → tolerance", "must be ≥ 0"),
    (("number_input", "sf-agency_rate-final_target"), 150.0, "targets.agency_rate.final_target 150",
     "outside 0–100"),
    (("text_input", "sf-la"), "999", "la_code", "Unknown local authority code '999'"),
    (("text_input", "sf-agency_rate-baseline_month"), "Feb 2023", "targets → agency_rate → baseline_month",
     "YYYY-MM"),
], ids=["negative tolerance", "percent target 150", "unknown LA code", "bad baseline month"])
def test_invalid_settings_name_the_field_and_save_nothing(demo_db, widget, value, field, message):
    s = open_page("settings")
    versions, audit = count(demo_db, "review_settings_versions"), count(demo_db, "audit_log")
    getattr(s, widget[0])(key=widget[1]).set_value(value)
    s.button(key="save-settings").click()
    s = rerun(s)
    shown = [e.replace("\\", "") for e in texts(s, "error") if "Not saved" in e]
    assert shown and field in shown[0] and message in shown[0], texts(s, "error")
    assert (count(demo_db, "review_settings_versions"), count(demo_db, "audit_log")) == (versions, audit)
    assert not texts(s, "success")


@pytest.mark.slow
def test_settings_show_what_the_la_code_resolves_to(demo_db):
    s = open_page("settings")
    assert any("884 is Herefordshire" in c and "West Midlands" in c for c in texts(s, "caption"))
    s.text_input(key="sf-la").set_value("316")
    s = rerun(s)
    assert any("316 is Newham" in c for c in texts(s, "caption"))


# --- XSS: user text is shown as text, never as markup ---------------------------------------------


@pytest.mark.slow
def test_commentary_payloads_render_as_literal_text(demo_db):
    at = choose_checkpoint(open_page("reviews"), "2024-06-01")
    for p in PAYLOADS:
        at = add_entry_via_form(at, "kpi:agency_rate", p)
    at = add_entry_via_form(at, "overall", "**bold** [link](javascript:alert(1)) :red[red]")
    shown = texts(at, "text")
    for p in PAYLOADS:
        assert p in shown
    assert "**bold** [link](javascript:alert(1)) :red[red]" in shown
    # the only HTML is the icon key (our own words); no payload ever reaches it
    assert all('class="verdict' in h.proto.body and not any(p in h.proto.body for p in PAYLOADS) for h in at.html)
    assert_no_unsafe_markup(at)
    # the edit picker shows the payload as an option label (plain text), never as markup
    at.selectbox(key="edit-entry").set_value(1)
    assert_no_unsafe_markup(rerun(at))


@pytest.mark.slow
def test_team_names_and_file_names_with_payloads_render_as_literal_text(demo_db):
    """Team values and a file name carrying payloads, ingested into a copy of the demo store: every page
    an admin can open renders them (where it shows them at all) only as text, never as markup."""
    team_rows = "".join(f"W8{i:05d},case_holder,N,1,{PAYLOADS[i % 2]}\n" for i in range(6))
    # January 2025: the month the default review (1 Mar 2025) judges, where the KPI page's breakdowns open
    assessments = "".join(f"A8{i:05d},C8{i:05d},2025-01-03,2025-01-20,N,{PAYLOADS[i % 2]}\n" for i in range(6))
    with contextlib.closing(store.connect(demo_db)) as conn:
        for data, name, opts in (
            (f"worker_id,role,agency,fte,team\n{team_rows}", f"{PAYLOADS[1]}.csv", {"month": "2025-01"}),
            (f"assessment_id,child_id,start_date,completed_date,nfa,team\n{assessments}", f"{PAYLOADS[0]}.csv", {}),
        ):
            r = ingest_bytes(conn, data.encode(), name, uploaded_by="tester", **opts)
            assert r.ok, r.errors
            teams = {t for (t,) in conn.execute(f"SELECT DISTINCT team FROM rec_{r.kind} WHERE upload_id = ?",
                                                (r.upload_id,))}
            assert teams == set(PAYLOADS)  # stored as given
    at = open_page("overview")
    pages = sorted({Path(i["script_path"]).stem for i in at._registered_pages.values()
                    if i.get("script_path") and Path(i["script_path"]).parent.name == "views"})
    assert "upload" in pages and "reviews" in pages
    seen_file_name, seen_team = False, set()
    for page in pages:
        at = open_page(page)
        assert_no_unsafe_markup(at)
        frames = " ".join(df.value.to_csv() for df in at.dataframe)
        shown_as_text = frames + " ".join(texts(at, "text"))
        seen_file_name |= f"{PAYLOADS[1]}.csv" in frames
        seen_team |= {p for p in PAYLOADS if p in shown_as_text}
    assert seen_file_name, "the upload history shows the file names, as text in a table"
    assert seen_team == set(PAYLOADS), "the team breakdown (KPI detail) shows the team names, as text in a table"


@pytest.mark.slow
def test_board_pack_is_prepared_and_offered_from_the_reviews_page(demo_db):
    at = choose_checkpoint(open_page("reviews"), "2024-06-01")
    before = count(demo_db, "audit_log", "WHERE action = 'boardpack'")
    at.button(key="pack-build").click()
    at = rerun(at)
    dl = [e for e in at.get("download_button") if "board-pack-2024-06-01.pdf" in e.proto.label]
    assert dl, [e.proto.label for e in at.get("download_button")]
    assert count(demo_db, "audit_log", "WHERE action = 'boardpack'") == before + 1
    assert not at.error
