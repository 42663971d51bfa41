"""Several councils in one deployment (issue 16 item 2): configuration, per-council stores and keys,
the store's council binding, and roles per council."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from metrics import councils, store
from metrics.auth import Role, council_roles, local_identity, resolve
from metrics.settings import Settings


def _settings(tmp_path: Path, councils_json=None, **kw) -> Settings:
    raw = json.dumps(councils_json) if isinstance(councils_json, dict) else councils_json
    return Settings(_env_file=None, db_path=tmp_path / "kpi.sqlite", councils=raw, **kw)


TWO = {"884": {"name": "Herefordshire Council"}, "881": {"name": "Essex County Council"}}


@pytest.fixture
def two_councils(tmp_path, monkeypatch):
    """The deployment's settings configure councils 884 and 881 (stores under tmp_path/councils)."""
    from metrics.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("KPI_DB_PATH", str(tmp_path / "kpi.sqlite"))
    monkeypatch.setenv("KPI_COUNCILS", json.dumps(TWO))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_one_council_by_default_is_the_deployment_as_before(tmp_path):
    s = _settings(tmp_path, la_code="884", council_name="Herefordshire Council")
    (c,) = councils.parse_councils(s)
    assert (c.code, c.name, c.store, c.key_file) == ("884", "Herefordshire Council", str(tmp_path / "kpi.sqlite"),
                                                     None)
    assert c.settings(s).resolved_key_file == s.resolved_key_file  # the key is found as today
    assert councils.council(None, s) == c


def test_several_councils_each_get_their_own_store_and_key(tmp_path):
    cs = councils.parse_councils(_settings(tmp_path, TWO))
    assert [c.code for c in cs] == ["884", "881"]
    assert cs[1].store == str(tmp_path / "councils" / "881" / "kpi.sqlite")
    assert cs[1].key_file == tmp_path / "councils" / "881" / "pseudonym.key"
    s881 = cs[1].settings(_settings(tmp_path, TWO))
    assert (s881.db_path, s881.resolved_key_file, s881.la_code, s881.council_name) == (
        tmp_path / "councils" / "881" / "kpi.sqlite", tmp_path / "councils" / "881" / "pseudonym.key", "881",
        "Essex County Council")


def test_postgres_councils_default_to_a_schema_each(tmp_path):
    cs = councils.parse_councils(_settings(tmp_path, TWO, db_url="postgresql://kpi@db/kpi"))
    assert [c.store for c in cs] == ["postgresql://kpi@db/kpi#la_884", "postgresql://kpi@db/kpi#la_881"]
    assert cs[0].key_file != cs[1].key_file


def test_councils_from_a_file(tmp_path):
    f = tmp_path / "councils.json"
    f.write_text(json.dumps(TWO))
    assert [c.code for c in councils.parse_councils(_settings(tmp_path, str(f)))] == ["884", "881"]


@pytest.mark.parametrize("config, words", [
    ({"88": {"name": "X"}}, "'88' is not a DfE LA code"),
    ({"E06000019": {"name": "X"}}, "not a DfE LA code"),
    ({"884": {"name": ""}}, "council 884, name"),
    ({"884": {"name": "A", "colour": "red"}}, "council 884, colour"),
    ({"884": {"name": "A", "key_file": "/k/one.key"}, "881": {"name": "B", "key_file": "/k/one.key"}},
     "councils 884 and 881 share the key file"),
    ({"884": {"name": "A", "db": "/s/one.sqlite"}, "881": {"name": "B", "db": "/s/one.sqlite"}},
     "councils 884 and 881 share the store"),
    ("{not json", "KPI_COUNCILS is not valid JSON"),
    ("/no/such/councils.json", "neither JSON nor a file that exists"),
    ("{}", "must map LA codes to councils"),
])
def test_bad_council_configuration_is_refused_with_a_message(tmp_path, config, words):
    with pytest.raises(councils.CouncilConfigError, match=words):
        councils.parse_councils(_settings(tmp_path, config))


def test_one_key_for_several_councils_is_refused(tmp_path):
    with pytest.raises(councils.CouncilConfigError, match="same key"):
        councils.parse_councils(_settings(tmp_path, TWO, pseudonym_key="x" * 20))


def test_council_lookup_messages(tmp_path):
    s = _settings(tmp_path, TWO)
    with pytest.raises(LookupError, match="Several councils are configured: say which with --council"):
        councils.council(None, s)
    with pytest.raises(LookupError, match="There is no council 880"):
        councils.council("880", s)
    assert councils.council("881", s).name == "Essex County Council"


def test_a_store_is_bound_to_its_council_and_refuses_another(two_councils):
    a, b = councils.configured()
    conn = councils.open_store(a)
    assert store.get_meta(conn, "la_code") == "884"
    conn.close()
    wrong = councils.Council("881", "Essex County Council", a.store, b.key_file)  # 884's store, as 881
    with pytest.raises(councils.CouncilMismatch, match="belongs to council 884, not to council 881"):
        councils.open_store(wrong)


def test_one_council_store_is_bound_at_its_first_upload_not_when_opened(tmp_path, settings, fresh_db):
    c = councils.Council("884", "Herefordshire Council", str(fresh_db))
    conn = councils.open_store(c)
    assert store.get_meta(conn, "la_code") is None  # opening changes nothing (byte-for-byte checks stay true)
    from metrics.ingest import ingest_path

    r = ingest_path(conn, Path(__file__).parent / "fixtures" / "good" / "assessments_canonical.csv", settings=settings)
    assert r.ok, r.errors
    assert store.get_meta(conn, "la_code") == settings.la_code
    other = settings.model_copy(update={"la_code": "881", "council_name": "Essex"})
    with pytest.raises(councils.CouncilMismatch, match="belongs to council 884, not to council 881"):
        ingest_path(conn, Path(__file__).parent / "fixtures" / "good" / "audits_canonical.csv", settings=other)


def test_review_settings_default_to_the_stores_council(two_councils):
    from metrics.reviews import load_settings

    conn = councils.open_store(councils.council("881"))
    got = load_settings(conn)
    assert (got.la_code, got.council_name) == ("881", "Essex County Council")


# --- roles per council --------------------------------------------------------------------------------


def test_a_plain_role_with_one_council_is_as_today(tmp_path):
    s = _settings(tmp_path, roles={"ana@x.gov.uk": "admin"})
    assert council_roles(s) == {"ana@x.gov.uk": {"884": Role.admin}}
    ident = resolve({"email": "ana@x.gov.uk", "email_verified": True}, s)
    assert ident.role is Role.admin and ident.councils == (("884", Role.admin),)


def test_a_plain_role_with_several_councils_is_refused(tmp_path):
    s = _settings(tmp_path, TWO, roles={"ana@x.gov.uk": "admin"})
    with pytest.raises(ValueError, match=r"give \{LA code: role\}"):
        council_roles(s)


@pytest.mark.parametrize("roles, words", [
    ({"ana@x.gov.uk": {"880": "admin"}}, "no council 880"),
    ({"ana@x.gov.uk": {"884": "boss"}}, "'boss' for 'ana@x.gov.uk' at 884 is not a role"),
    ({"ana@x.gov.uk": {"88x": "admin"}}, "not a DfE LA code"),
])
def test_bad_roles_per_council_are_refused(tmp_path, roles, words):
    with pytest.raises(ValueError, match=words):
        council_roles(_settings(tmp_path, TWO, roles=roles))


def test_roles_per_council_an_unlisted_council_is_invisible(tmp_path):
    s = _settings(tmp_path, TWO, roles={"ana@x.gov.uk": {"884": "admin"}, "dfe-team": {"884": "viewer",
                                                                                        "881": "viewer"}},
                  trusted_group_claims=["groups"])
    claims = {"email": "ana@x.gov.uk", "email_verified": True}
    assert resolve(claims, s, council="884").role is Role.admin
    assert resolve(claims, s, council="881").role is None
    assert resolve(claims, s).councils == (("884", Role.admin),)
    assert resolve(claims, s).role is None  # several councils and none named: no role anywhere
    both = resolve(claims | {"groups": ["dfe-team"]}, s, council="881")
    assert both.role is Role.viewer and both.councils == (("884", Role.admin), ("881", Role.viewer))


def test_local_mode_role_applies_to_every_council_when_the_user_is_unlisted(tmp_path):
    one = _settings(tmp_path, auth_mode="local")
    assert local_identity(one).role is Role.admin
    several = _settings(tmp_path, TWO, auth_mode="local", local_user="demo@x.org",
                        roles={"demo@x.org": {"881": "viewer"}})
    ident = local_identity(several, council="884")
    assert ident.role is None and ident.councils == (("881", Role.viewer),)
    unlisted = local_identity(_settings(tmp_path, TWO, auth_mode="local"), council="881")  # the demo: every council
    assert unlisted.role is Role.admin and unlisted.councils == (("884", Role.admin), ("881", Role.admin))


def test_the_dashboard_refuses_a_bad_council_configuration_in_the_gate(tmp_path, monkeypatch):
    """The gate stops on a bad KPI_COUNCILS/KPI_ROLES: the page shows only Streamlit's redacted notice (the
    configuration's addresses and roles are not for visitors: tests/browser/test_text_and_errors.py); the reason
    is in the server's log and `kpi` prints it."""
    from streamlit.testing.v1 import AppTest

    from metrics.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_DB_PATH", str(tmp_path / "kpi.sqlite"))
    monkeypatch.setenv("KPI_COUNCILS", json.dumps(TWO))
    monkeypatch.setenv("KPI_AUTH_MODE", "local")
    monkeypatch.setenv("KPI_ROLES", json.dumps({"demo.admin@example.org": "admin"}))  # plain role, two councils
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(str(Path(__file__).parent.parent / "dashboard" / "app.py"), default_timeout=60)
        at.run()
        shown = " ".join(e.value for e in at.exception)
        assert "This app has encountered an error" in shown and "redacted" in shown
        assert "demo.admin@example.org" not in shown and "LA code" not in shown and "Traceback" not in shown
        assert not at.title and not at.dataframe  # no page ran
    finally:
        get_settings.cache_clear()


# --- kpi demo --councils ---------------------------------------------------------------------------------


def test_demo_councils_refuse_bad_codes_and_build_nothing(tmp_path, run_kpi):
    for codes, words in (("884,88", "'88' is not a DfE LA code"), ("884,884", "Give each council once"),
                         ("884,999", "Unknown local authority code '999'")):
        res = run_kpi("demo", "--councils", codes, "--folder", str(tmp_path / "demo"))
        assert res.code == 1 and words in res.err and "Nothing was built." in res.err
        assert not (tmp_path / "demo").exists()


def test_demo_councils_build_a_store_each_bound_to_its_council(tmp_path, run_kpi, demo_template, monkeypatch):
    """The builder (the demo itself is ``build_demo``'s, tested elsewhere; copied here to stay fast)."""
    import shutil

    from metrics import demo_store

    seeds, paces = {}, {}

    def fake_build(path, *, replace=False, seed=2023, council=None, pace=1.0):
        seeds[council.code], paces[council.code] = seed, pace
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_template, path)
        with store.transaction(conn := store.connect(path)):
            conn.execute("DELETE FROM store_meta WHERE key IN ('la_code', 'council_name')")
        conn.close()

    monkeypatch.setattr(demo_store, "build_demo", fake_build)
    res = run_kpi("demo", "--councils", "884,881", "--folder", str(tmp_path / "demo"))
    assert res.code == 0, res.err
    assert "KPI_COUNCILS=" in res.err and "councils.json" in res.err
    config = json.loads((tmp_path / "demo" / "councils.json").read_text())
    assert list(config) == ["884", "881"] and config["881"]["name"] == "Essex (synthetic demo)"
    assert seeds == {"884": 884, "881": 881}  # each council its own seed: the councils differ
    assert paces == {"884": 1.0, "881": demo_store.DEMO_PACES[1]} and paces["881"] < 1  # ... and improve at their own pace
    for code, entry in config.items():
        with contextlib.closing(store.connect(entry["db"])) as conn:
            assert store.get_meta(conn, "la_code") == code
    parsed = councils.parse_councils(_settings(tmp_path, str(tmp_path / "demo" / "councils.json"), pseudonym_key=None))
    assert [c.code for c in parsed] == ["884", "881"]


def test_demo_pace_scales_each_improvement_and_keeps_the_demo_story_at_one():
    """``metrics.demo._path`` with a pace: 1 is the trajectory as given (the single demo store unchanged), 0.5
    half the change from the first point, never below 0; the NFA rate falls from 38% to 24% by March 2025."""
    from metrics.demo import NFA_RATE, _parse_month, _path

    end = _parse_month("2025-03")
    assert _path(NFA_RATE, end) == _path(NFA_RATE, end, 1.0) == pytest.approx(0.24)
    assert _path(NFA_RATE, end, 0.5) == pytest.approx(0.31)
    assert _path(NFA_RATE, _parse_month("2021-01"), 0.5) == pytest.approx(0.38)  # before the change: the start
    assert _path((("2022-01", 0.1), ("2023-01", 0.0)), _parse_month("2023-01"), 3.0) == 0.0
