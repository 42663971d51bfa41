"""The Settings page's pieces: the council, the checkpoints and each KPI's trajectory as one form, its save
(a new permanent version, only when all of it is valid) and the history of versions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from dashboard import access, loaders
from dashboard.components.text import plain, uk_datetime, validation_problems
from metrics.kpis import REGISTRY
from metrics.reviews import (DEFAULT_BASELINE_MONTH, DEFAULT_FINAL_DATE, DEFAULT_TRAJECTORIES, ReviewSettings,
                             diff_settings, save_settings)

FIELD = "sf-"  # every form widget's key starts with this, so a new saved version can reset them all
UNIT = {"percent": "%", "fte": "FTE", "count": "count"}


def reset_when_saved(in_force: int | None) -> None:
    """On the first visit, or when someone saved meanwhile, start the form from the version in force."""
    if st.session_state.get("settings-form-of", "unset") != in_force:
        for key in [k for k in st.session_state if str(k).startswith(FIELD)]:
            del st.session_state[key]
        st.session_state["settings-form-of"] = in_force


def _date(value) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return value.date() if isinstance(value, (pd.Timestamp, dt.datetime)) else value


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        not isinstance(value, (str, dt.date)) and pd.isna(value))


def council_inputs(current: ReviewSettings) -> tuple[dict, str | None]:
    """(council name, LA code, historic-complaints cut-off; a problem with the LA code or None)."""
    c1, c2, c3 = st.columns(3)
    council = c1.text_input("Council name", value=current.council_name, key=f"{FIELD}council")
    la_code = c2.text_input("LA code (DfE old code, e.g. 884)", value=current.la_code, key=f"{FIELD}la").strip()
    la_problem = None
    try:
        info = loaders.la_info(la_code)
        c2.caption(f"{info['la_code']} is {info['la_name']} ({info['region_name']}); benchmarks follow it.")
    except ValueError as err:
        la_problem = f"la_code: {err}"
        c2.error(plain(la_problem))
    cutoff = c3.date_input("Historic complaints: received before", value=current.historic_complaints_cutoff,
                           format="DD/MM/YYYY", key=f"{FIELD}cutoff",
                           help="Complaints received before this date count as historic (ToR 2c).")
    return {"council_name": council, "la_code": la_code, "historic_complaints_cutoff": cutoff}, la_problem


def checkpoint_editor(current: ReviewSettings) -> list[dict]:
    """The checkpoints table (rows may be added or deleted), as rows for ReviewSettings."""
    edited = st.data_editor(
        pd.DataFrame({"date": pd.Series([c.date for c in current.checkpoints], dtype=object),
                      "label": [c.label for c in current.checkpoints],
                      "six_month": [c.six_month for c in current.checkpoints]}),
        num_rows="dynamic", hide_index=True, key=f"{FIELD}checkpoints", width="stretch",
        column_config={"date": st.column_config.DateColumn("Date", format="D MMM YYYY", required=True),
                       "label": st.column_config.TextColumn("Label", required=True),
                       "six_month": st.column_config.CheckboxColumn("Six-month review", default=False)},
    )
    return [{"date": _date(r["date"]), "label": "" if _blank(r["label"]) else r["label"],
             "six_month": bool(r["six_month"]) if not _blank(r["six_month"]) else False}
            for r in edited.to_dict("records") if not all(_blank(v) for v in r.values())]


def _target_inputs(k: str, kpi, t) -> dict | None:
    base, final, tol = DEFAULT_TRAJECTORIES.get(k, (None, None, 0.0))
    f, unit = f"{FIELD}{k}-", UNIT[kpi.unit]
    on = st.checkbox("Rated at reviews", value=t is not None, key=f"{f}on")
    a, b, c = st.columns(3)
    row = {
        "baseline_month": a.text_input("Baseline month (YYYY-MM)", key=f"{f}baseline_month",
                                       value=t.baseline_month if t else DEFAULT_BASELINE_MONTH),
        "baseline_value": b.number_input(f"Baseline value ({unit})", step=0.1, format="%.2f",
                                         value=t.baseline_value if t else base, key=f"{f}baseline_value"),
        "tolerance": c.number_input(f"Amber tolerance ({unit})", step=0.1, format="%.2f",
                                    value=t.tolerance if t else tol, key=f"{f}tolerance"),
        "final_target": a.number_input(f"Final target ({unit})", step=0.1, format="%.2f",
                                       value=t.final_target if t else final, key=f"{f}final_target"),
        "final_date": b.date_input("Final target due", format="DD/MM/YYYY", key=f"{f}final_date",
                                   value=t.final_date if t else DEFAULT_FINAL_DATE),
    }
    explicit = st.data_editor(
        pd.DataFrame({"date": pd.Series(list(t.checkpoint_targets) if t else [], dtype=object),
                      "target": pd.Series(list(t.checkpoint_targets.values()) if t else [], dtype="float64")}),
        num_rows="dynamic", hide_index=True, key=f"{f}checkpoint_targets",
        column_config={"date": st.column_config.DateColumn("Checkpoint date", format="D MMM YYYY"),
                       "target": st.column_config.NumberColumn(f"Target ({unit})", format="%.2f")},
    )
    if not on:
        return None
    row["checkpoint_targets"] = {_date(d): v for d, v in zip(explicit["date"], explicit["target"])
                                 if not (_blank(d) and _blank(v))}
    return row


def target_inputs(current: ReviewSettings) -> dict[str, dict]:
    """One expander per KPI: whether it is rated, its baseline, tolerance, final target and explicit targets."""
    targets = {}
    for k, kpi in REGISTRY.items():
        t = current.targets.get(k)
        better = "higher is better" if kpi.higher_is_better else "lower is better"
        with st.expander(f"{kpi.label} — {better}; {'rated at reviews' if t else 'not rated'}"):
            row = _target_inputs(k, kpi, t)
        if row is not None:
            targets[k] = row
    return targets


def save(current: ReviewSettings, in_force: int | None, data: dict, targets: dict[str, dict], note: str,
         problems: list[str]) -> None:
    """Validate the whole form and save it as a new version (with its audit row), or say what to fix."""
    who = access.guard("settings")  # checked again on the server at the moment of the action
    for k, row in targets.items():
        bad = [i + 1 for i, d in enumerate(row["checkpoint_targets"]) if d is None]
        if bad or any(_blank(v) for v in row["checkpoint_targets"].values()):
            problems.append(f"targets → {k} → checkpoint_targets: every row needs both a date and a target")
    data = {**data, "targets": {k: {**row, "checkpoint_targets": {d: v for d, v in row["checkpoint_targets"].items()
                                                                  if d is not None and not _blank(v)}}
                                for k, row in targets.items()}}
    new = None
    try:
        new = ReviewSettings.model_validate(data)
    except ValidationError as err:
        problems += validation_problems(err)
    if problems:
        st.error("**Not saved — nothing was changed.** Fix these and save again:\n\n"
                 + "\n".join(f"- {plain(p)}" for p in problems), icon=":material/block:")
    elif in_force is not None and new == current:
        st.info("Nothing has changed, so no new version was saved.")
    else:
        changes = diff_settings(current, new)
        with loaders.connect() as conn:  # a new version and its audit row, in one transaction
            vid = save_settings(conn, new, by=who.label, note=note, role=who.role.name)
        st.session_state["settings-flash"] = f"Saved as version {vid}: {'; '.join(changes)}."
        st.rerun()


def render_history(db: str, version: int) -> None:
    history = loaders.settings_history(db, version)
    if history.empty:
        st.caption("No version saved yet: the defaults are in force.")
        return
    st.dataframe(history.assign(**{"saved (UTC)": history["saved (UTC)"].map(uk_datetime)}),
                 hide_index=True, width="stretch",
                 column_config={"version": st.column_config.NumberColumn(width=70),
                                "note": st.column_config.TextColumn(width="medium"),
                                "what changed": st.column_config.TextColumn(width="large")})
