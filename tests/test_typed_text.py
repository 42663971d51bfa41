"""Text a person types that is stored and later printed (board pack, Word report, dashboard, ``kpi`` output)
never holds an invisible control character: evidence, actions, the review settings' names, labels, rebase
reasons and note, a restatement's reason (metrics/userinput.py). Refused with the field's name and the
character as U+XXXX; nothing is written. Text already stored is never rewritten."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from helpers_logs import fresh_db  # noqa: F401 (a fixture: a connection to an empty store)
from test_impact import FINAL, _workforce, demo  # noqa: F401 (demo: a fixture)

from metrics import impact, store
from metrics.evidence import add_entry, edit_entry, list_entries
from metrics.ingest import commit, prepare
from metrics.issues import Refused
from metrics.reviews import load_settings, mark_final, save_settings
from metrics.userinput import clean_text, control_character

JUN = "2023-06-01"
# C0 (NUL, BEL, ESC, VT, DEL), C1 (NEL mid-text, CSI), bidi overrides and isolates, zero-width, BOM, line separators
INVISIBLE = ["\x00", "\x07", "\x1b", "\x0b", "\x7f", "\x85", "\x9b", "\u202a", "\u202b", "\u202c", "\u202d",
             "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\u200e", "\ufeff", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_every_invisible_character_is_refused_naming_it(char):
    for multiline in (False, True):
        with pytest.raises(ValueError, match=rf"^body: contains a control character \(U\+{ord(char):04X}"):
            clean_text(f"Agency{char}rate", "body", multiline=multiline)
    assert control_character(f"a{char}b") is not None


def test_newlines_and_tabs_only_where_multiline_and_ordinary_text_passes():
    assert clean_text("Line one\r\nLine two\tand a tab", "body", multiline=True) == "Line one\nLine two\tand a tab"
    with pytest.raises(ValueError, match="^title: .*U\\+000A.*one line of plain text"):
        clean_text("Line one\nLine two", "title")
    text = "Équipe Nord – café £12 “quoted” 50% — ok ✓ 日本語 \u00a0non-breaking"
    assert clean_text(text, "title") == text.strip()
    assert control_character("\u05e9\u05dc\u05d5\u05dd Arabic \u0645\u0631\u062d\u0628\u0627") is None  # RTL script


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\u202e", "\x9b"])
@pytest.mark.parametrize("field", ["body", "author"])
def test_the_evidence_log_refuses_a_control_character_and_writes_nothing(fresh_db, char, field):
    args = {"body": "Agency rate fell.\nTwo managers appointed.\tOK", "author": "analyst"}
    args[field] = f"x{char}y"
    with pytest.raises(ValueError, match=rf"^{field}: contains a control character \(U\+{ord(char):04X}"):
        add_entry(fresh_db, JUN, args["body"], args["author"], kpi="agency_rate")
    assert list_entries(fresh_db, JUN) == []
    assert fresh_db.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'evidence_%'").fetchone()[0] == 0


def test_an_evidence_edit_refuses_a_control_character_and_keeps_the_entry(fresh_db):
    eid = add_entry(fresh_db, JUN, "First line\nsecond line\twith a tab", "analyst")
    assert list_entries(fresh_db, JUN)[0].body == "First line\nsecond line\twith a tab"  # multiline: allowed
    for body, by in (("New \x1b[2Jtext", "analyst2"), ("New text", "ana\u202elyst")):
        with pytest.raises(ValueError, match="^(body|by): contains a control character"):
            edit_entry(fresh_db, eid, body, by=by)
    [e] = list_entries(fresh_db, JUN)
    assert (e.body, e.edited_by) == ("First line\nsecond line\twith a tab", None)
    assert fresh_db.execute("SELECT count(*) FROM audit_log WHERE action = 'evidence_edit'").fetchone()[0] == 0


def test_text_stored_before_the_check_is_read_and_never_rewritten(fresh_db):
    fresh_db.execute("INSERT INTO evidence (checkpoint, kpi, tor_item, body, author, created_at) "
                     "VALUES (?, NULL, NULL, ?, ?, ?)", (JUN, "old\x1b text", "analyst", "2023-06-02T09:00:00Z"))
    fresh_db.commit()
    [e] = list_entries(fresh_db, JUN)
    assert e.body == "old\x1b text"


@pytest.mark.parametrize(("change", "field"), [
    (lambda s: s.model_copy(update={"council_name": "Hereford\u202eshire"}), "council_name"),
    (lambda s: s.model_copy(update={"checkpoints": [s.checkpoints[0].model_copy(update={"label": "Review\x071"}),
                                                    *s.checkpoints[1:]]}), "checkpoints → "),
    (lambda s: s.model_validate({**s.model_dump(mode="json"), "judgement": {"kpis": {"agency_rate": {
        "rebases": [{"month": "2023-04", "reason": "statutory\x1b direction"}]}}}}),
     "judgement → agency_rate → rebase 2023-04 → reason"),
], ids=["council name", "checkpoint label", "rebase reason"])
def test_settings_refuse_a_control_character_and_save_nothing(fresh_db, change, field):
    def counts():
        return [fresh_db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("review_settings_versions", "audit_log")]

    before = counts()
    s = change(load_settings(fresh_db))
    with pytest.raises(ValueError, match=f"^{field}.*contains a control character"):
        save_settings(fresh_db, s, by="lead")
    with pytest.raises(ValueError, match="^note: contains a control character"):
        save_settings(fresh_db, load_settings(fresh_db), by="lead", note="tougher\x00 target")
    assert counts() == before


def test_a_restatement_reason_with_a_control_character_is_refused(demo):
    with contextlib.closing(store.connect(demo)) as conn:
        mark_final(conn, FINAL, by="tester")
        got = impact.upload_impact(conn, [prepare(conn, _workforce(10, 5), "april.csv", kind="workforce",
                                                  month="2024-04")])
        with pytest.raises(Refused) as e:
            impact.check_reason(got, "HR\x1b[31m corrected April")
    assert e.value.errors[0].rule == "restatement_reason"
    assert e.value.errors[0].message.startswith("reason: contains a control character (U+001B)")


def _kpi(*argv) -> tuple[int, str, str]:
    from kpi_cli.main import main as kpi

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = kpi([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_kpi_restore_and_ingest_refuse_a_reason_with_a_control_character(demo, tmp_path):
    with contextlib.closing(store.connect(demo)) as conn:
        p = prepare(conn, _workforce(10, 5), "april.csv", kind="workforce", month="2024-04")
        old = p.result.replaces[0]["id"]
        commit(conn, p, uploaded_by="tester")
        mark_final(conn, FINAL, by="tester")
        assert impact.restore_impact(conn, old).restatements
        audit_rows = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    code, _, err = _kpi("restore", old, "--db", demo, "--reason", "right after all\u202e")
    assert code == 1 and "reason: contains a control character (U+202E" in err and "Traceback" not in err
    assert "\u202e" not in err
    april = tmp_path / "april.csv"
    april.write_bytes(_workforce(12, 2))  # not the current April: it restates the final review
    code, out, _ = _kpi("ingest", april, "--db", demo, "--month", "2024-04", "--reason", "HR\x07", "--json")
    [r] = json.loads(out)
    assert code == 1 and r["status"] == "refused" and r["errors"][0]["rule"] == "restatement_reason"
    assert "U+0007" in r["errors"][0]["message"]
    with contextlib.closing(store.connect(demo)) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_rows


def test_a_file_name_with_a_control_character_is_refused_and_never_printed(fresh_db, tmp_path):
    from metrics.ingest import ingest_bytes

    r = ingest_bytes(fresh_db, _workforce(3, 1), "april\x1b[2J\u202e.csv", kind="workforce", month="2024-04")
    assert r.status == "refused" and [e.rule for e in r.errors] == ["control_character"]
    assert "U+001B" in r.errors[0].message and r.file == "april?[2J?.csv"
    assert fresh_db.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
