"""The one review model (metrics/reviews/model.py) against the record of what every surface shows
(tests/fixtures/review_model_golden.json.gz, recorded by tests/fixtures/make_review_golden.py — first
before the model existed, re-recorded when shared/spec/judgement.md v2 changed the verdicts), on two
demo-store variants (tests/review_variants.py) at every checkpoint.

Each surface must be a pure formatting of the model: the overview's Board rows are model fields; the
pack's ReviewRow texts are the model's values through metrics.reviews.words; the public pack's
withholding follows ReviewRow.depends_on; `kpi review` prints the model byte for byte as before.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import review_variants as rv
from metrics import store
from metrics.months import short_month
from metrics.kpis import REGISTRY
from metrics.reviews import ReviewBoard, current_series, load_settings, review_board, words

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "review_model_golden.json.gz"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(gzip.decompress(GOLDEN.read_bytes()))


@pytest.fixture(scope="module", params=rv.VARIANTS)
def variant(request, demo_template, tmp_path_factory):
    """(name, store path, {ISO date: ReviewBoard}) for one variant, every golden date."""
    name = request.param
    path = rv.make_variant(name, demo_template, tmp_path_factory.mktemp(f"model-{name}") / "kpi.sqlite")
    conn = store.connect(path)
    try:
        settings = load_settings(conn)
        series = current_series(conn, settings)
        boards = {at: review_board(conn, at, settings=settings, series=series)
                  for at in [*rv.checkpoint_dates(path), *rv.EXTRA_DATES]}
    finally:
        conn.close()
    return name, path, boards


def _list(x):
    return None if x is None else list(x)


# --- the overview, present and KPI pages (dashboard.loaders.kpi_board) ------------------------------


def board_view(b: ReviewBoard) -> dict:
    """kpi_board's Board, as fields of the model."""
    return {
        "board": {
            "at": b.at, "label": b.title, "month": b.month, "latest_month": b.latest_month,
            "provisional": b.provisional, "final": b.final,
            "previous": b.previous_checkpoint.isoformat() if b.previous_checkpoint else None,
            "summary": b.shown_summary,
            "rows": [{
                "metric": r.metric, "value": r.shown_value, "month": r.shown_month, "target": r.target,
                "rag": r.shown_rag, "travel": r.shown_travel, "previous_actual": r.previous_actual,
                "outlook": r.outlook, "outlook_status": r.outlook_status, "restated": r.restated,
                "current_actual": r.current_actual, "final_target": r.final_target, "final_date": r.final_date,
                "flags": list(r.flags), "prev_value": r.prev_value, "prev_month": r.prev_month,
                "trend": _list(r.trend), "kpi_latest_month": r.latest_month,
            } for r in b.rows],
        },
    }


def test_model_gives_the_overview_board(golden, variant):
    name, _, boards = variant
    assert set(boards) == set(golden[name])
    for at, b in boards.items():
        want = golden[name][at]["board"]
        got = rv.mask(board_view(b))["board"]
        assert {k: got[k] for k in got if k != "rows"} == {k: want[k] for k in want if k != "rows"}, at
        for g, w in zip(got["rows"], want["rows"], strict=True):
            assert g == w, (name, at, g["metric"])


# --- the board pack and the review CSV (reports.tables.review_rows) ---------------------------------


def pack_rows(b: ReviewBoard, decisions=None) -> list[dict]:
    """reports.tables.review_rows as a formatting of the model (public: ``decisions`` given), the way
    phase 2 writes it: every withholding reads ReviewRow.depends_on, nothing is re-derived."""
    out = []
    for r in b.rows:
        k = r.kpi

        def shown(what: str) -> bool:
            return decisions is None or all(decisions.value_shown(k.id, m) for m in r.depends_on[what])

        if not r.rated:
            ok = shown("actual")
            out.append({"metric": r.metric, "tor": r.tor, "label": r.label, "unit": r.unit,
                        "actual_month": r.actual_month, "actual": r.actual if ok else None,
                        "actual_text": k.format(r.actual) if ok else "c", "target": None, "target_text": "no target",
                        "rag": None, "rag_text": words.rag_text(None, "upper"), "travel_text": words.NO_TRAVEL,
                        "forecast_text": "–", "suppressed": not ok, "notes": [], "restated": False,
                        **verdicts(r, ok), "forecast_short": "–"})
            continue
        if decisions is None:
            ok = True
        elif r.actual is None:
            ok = True
        elif r.restated:  # a frozen figure from data no longer current: its denominator is not kept
            from reports.disclosure import is_small

            ok = r.unit != "percent" and not is_small(r.actual)
        else:
            ok = shown("actual")
        notes = []
        actual_text = (k.format(r.actual) if ok else "c") + ("*" if r.restated else "")
        if r.restated:
            now_ok = shown("actual")
            now = k.format(r.current_actual) if now_ok else "c"
            rag_now = (words.rag_text(r.current_rag, "upper") if r.current_rag else "") if now_ok else "c"
            notes.append(f"* {r.label}: restated after the review was made final — from re-uploaded data the "
                         f"{short_month(r.actual_month)} figure is now {now} ({rag_now}). The final record stands.")
        if r.actual is None and r.latest_available_month:
            latest = k.format(r.latest_available_value) if shown("latest_available") else "c"
            notes.append(f"{r.label}: no data for {short_month(r.actual_month)}; latest is "
                         f"{short_month(r.latest_available_month)}: {latest}.")
        out.append({
            "metric": r.metric, "tor": r.tor, "label": r.label, "unit": r.unit, "actual_month": r.actual_month,
            "actual": r.actual if ok else None, "actual_text": actual_text, "target": r.target,
            "target_text": k.format_target(r.target), "rag": r.rag if ok else None,
            "rag_text": words.rag_text(r.rag, "upper") if ok else "c",
            "travel_text": words.travel_text(r.direction_of_travel) if ok and shown("direction_of_travel") else "c",
            "forecast_text": words.forecast_text(r.forecast, fmt=k.format) if ok and shown("forecast") else "c",
            "suppressed": not ok, "notes": notes, "restated": r.restated, **verdicts(r, ok),
            "forecast_short": words.forecast_text(r.forecast, "short") if ok and shown("forecast") else "c",
        })
    return out


def verdicts(r, ok: bool) -> dict:
    """The v2 judgement of a pack row (judgement.md): withheld with the actual (a pooled value rests on every
    month it pools: ``depends_on['actual']``)."""
    k = r.kpi
    interval = f"{k.format(r.interval[0])}–{k.format(r.interval[1])}" if r.interval else ""
    fc = r.forecast
    csv = {"basis": r.basis, "months_pooled": r.months_pooled,
           "interval_low": round(r.interval[0], 4) if r.interval else None,
           "interval_high": round(r.interval[1], 4) if r.interval else None,
           "target_within_interval": r.target_within_interval, "variation": r.variation, "assurance": r.assurance,
           "change_since_previous": None if r.change_since_previous is None else round(r.change_since_previous, 4),
           "forecast_status": fc.status if fc else None, "forecast_month": fc.month if fc else None,
           "forecast_low": round(fc.interval[0], 4) if fc and fc.interval else None,
           "forecast_high": round(fc.interval[1], 4) if fc and fc.interval else None}
    if not ok:
        csv = {key: (v if key in ("basis", "months_pooled") else "c") for key, v in csv.items()}
        return {"direction": r.direction, "variation": None, "variation_text": "c", "assurance": None,
                "assurance_text": "c", "interval_text": "", "basis_text": "", "cannot_tell": False,
                "judgement": csv | {"method": "docs/judgement.md"}}
    rated = r.rated
    return {"direction": r.direction, "variation": r.variation if rated else None,
            "variation_text": words.variation_text(r.variation if rated else None, "upper", direction=r.direction),
            "assurance": r.assurance if rated else None,
            "assurance_text": words.assurance_text(r.assurance if rated else None, "upper"),
            "interval_text": interval, "basis_text": words.basis_text(r.basis, r.actual_month, r.months_pooled),
            "cannot_tell": bool(r.target_within_interval) if rated else False,
            "judgement": csv | {"method": "docs/judgement.md"}}


def test_model_gives_the_pack_review_rows(golden, variant):
    name, _, boards = variant
    for at, b in boards.items():
        assert rv.mask(pack_rows(b)) == golden[name][at]["review_rows"], (name, at)


def test_depends_on_is_enough_for_the_public_pack(golden, variant):
    """The public pack withholds exactly what it withheld before, reading only the model's months."""
    from reports.tables import load

    name, path, boards = variant
    conn = store.connect(path)
    try:
        decisions = load(conn).decisions
    finally:
        conn.close()
    for at, b in boards.items():
        assert rv.mask(pack_rows(b, decisions)) == golden[name][at]["review_rows_public"], (name, at)


def test_board_summary_and_headline(variant):
    _, _, boards = variant
    for b in boards.values():
        assert sum(b.summary.values()) == len(b.rated)
        assert b.headline.startswith(f"{b.summary['green']} of {len(b.rated)} priorities green")
        assert [r.metric for r in b.rows] == list(REGISTRY)
        for r in b.rows:
            assert b.row(r.metric) is r
            # judgement.md section 2: a pooled value rests on every month it pools
            assert r.depends_on["rag"] == r.depends_on["actual"] == tuple(
                dict.fromkeys((*r.pooled_months, r.actual_month)))
            assert len(r.pooled_months) == r.months_pooled and all(m <= r.actual_month for m in r.pooled_months)
            assert set(r.forecast_months) <= {m for m in r.depends_on["forecast"]}


# --- kpi review ------------------------------------------------------------------------------


def test_kpi_review_prints_what_it_printed(golden, variant, run_kpi):
    name, path, boards = variant
    for at in boards:
        want = golden[name][at]
        res = run_kpi("review", "--db", str(path), "--at", at, "--json")
        assert res.code == 0, res.err
        assert rv.mask(json.loads(res.out)) == want["cli_json"], (name, at)
        res = run_kpi("review", "--db", str(path), "--at", at)
        assert rv.mask(res.out) == want["cli_text"], (name, at)
