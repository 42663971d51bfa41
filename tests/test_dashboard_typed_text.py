"""The dashboard's forms refuse typed text holding an invisible control character (metrics/userinput.py) with
the field's name and the character as U+XXXX, and save nothing (AppTest on a copy of the demo store)."""

from __future__ import annotations

from test_dashboard_reviews import (add_entry_via_form, choose_checkpoint, count, demo_db,  # noqa: F401 (a fixture)
                                    open_page, rerun, texts)


def test_an_evidence_entry_with_a_terminal_escape_is_refused_and_nothing_saved(demo_db):
    evidence, audit = count(demo_db, "evidence"), count(demo_db, "audit_log")
    at = add_entry_via_form(choose_checkpoint(open_page("reviews"), "2024-06-01"), "kpi:agency_rate",
                            "Agency rate fell.\x1b[2J\nTwo managers appointed.")
    errors = [e.replace("\\", "") for e in texts(at, "error")]
    assert any("Not saved" in e and "body: contains a control character (U+001B)" in e for e in errors), errors
    assert not any("\x1b" in e for e in errors)
    assert (count(demo_db, "evidence"), count(demo_db, "audit_log")) == (evidence, audit)
    assert not texts(at, "success")


def test_an_evidence_entry_over_several_lines_is_still_saved(demo_db):
    at = add_entry_via_form(choose_checkpoint(open_page("reviews"), "2024-06-01"), "overall",
                            "First line\nSecond line\twith a tab")
    assert count(demo_db, "evidence") == 1 and not texts(at, "error")


def test_a_council_name_with_a_bidi_override_is_refused_and_nothing_saved(demo_db):
    s = open_page("settings")
    versions, audit = count(demo_db, "review_settings_versions"), count(demo_db, "audit_log")
    s.text_input(key="sf-council").set_value("Hereford\u202eshire")
    s.text_input(key="sf-note").set_value("rename\x07")
    s.button(key="save-settings").click()
    s = rerun(s)
    shown = [e.replace("\\", "") for e in texts(s, "error") if "Not saved" in e]
    assert shown and "council_name: contains a control character (U+202E RIGHT-TO-LEFT OVERRIDE)" in shown[0]
    assert "note: contains a control character (U+0007)" in shown[0]
    assert (count(demo_db, "review_settings_versions"), count(demo_db, "audit_log")) == (versions, audit)
    assert not texts(s, "success")
