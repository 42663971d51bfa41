"""The Settings page's pieces: the council, the checkpoints, each KPI's trajectory and how progress is judged
(reporting lag, SPC options, per KPI basis, fixed limits and rebases) as one form, each judgement setting
with its explanation and since when it is in force; the preview of what saving would change (in words,
and every rating that would move); its save (a new permanent version, only when all of it is valid) and
the history of versions in words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from dashboard import access, loaders
from dashboard.components.text import fmt, fmt_target, plain, uk_date, uk_month, validation_problems
from metrics.kpis import REGISTRY
from metrics.reviews import (DEFAULT_BASELINE_MONTH, DEFAULT_FINAL_DATE, DEFAULT_TRAJECTORIES, ReviewSettings,
                             judged_month, save_settings)
from metrics.reviews.changes import summarise, tolerance_unit
from metrics.reviews.store import text_problems
from metrics.reviews.words import rag_text

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


def face_to_face_input(current: ReviewSettings, since: dict) -> dict:
    """ToR 2b(iii): whether a hybrid conference counts as face to face, explained and dated."""
    from metrics.reviews.changes import HYBRID

    choice = st.radio("Does a hybrid conference count as face to face?", [True, False], format_func=lambda x: (
        "Yes: face to face or hybrid (as the KPI is defined)" if x else "No: in person only"),
        index=0 if current.hybrid_counts_as_face_to_face else 1, horizontal=True, key=f"{FIELD}hybrid")
    st.caption("The face-to-face conferences KPI counts conferences held in person, and by default those held "
               "hybrid (some attending in person, some remotely). Choosing in person only lowers the rate wherever "
               "hybrid conferences were held, at every review not yet final (final reviews keep what they "
               "judged); months known only from monthly totals then have no value, as totals do not separate "
               f"hybrid. The in-person-only figure is shown beside the KPI either way. Now: {HYBRID[choice]}. "
               f"{_in_force(since, 'hybrid_counts_as_face_to_face')}")
    return {"hybrid_counts_as_face_to_face": choice}


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
        "tolerance": c.number_input(f"Amber tolerance ({tolerance_unit(k).strip('()')})", step=0.1, format="%.2f",
                                    value=t.tolerance if t else tol, key=f"{f}tolerance",
                                    help="How far short of the target still counts as amber, in "
                                         f"{tolerance_unit(k).strip('()')}; further short is red."),
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


# --- how progress is judged (shared/spec/judgement.md) -------------------------------------------------

JUDGE_ON = {"month": "the month", "rolling_3_months": "3 months pooled"}
TWO_OF_THREE = {True: "Yes: a point beyond the process limits counts (MDC, 2023)",
                False: "No: only points between the near and the process limits count (NHSRplotthedots 0.2.2)"}
LABEL_ID = {kpi.label: k for k, kpi in REGISTRY.items()}
EVERY = "every point"


def _since(since: dict, *keys: str) -> str:
    """'in force since 3 May 2024 (version 2)': the latest of ``keys``' dates."""
    found = [since[k] for k in keys if k in since]
    if not found:
        return "new"
    latest = max(found, key=lambda x: x.version or 0)
    return latest.words()


def _in_force(since: dict, key: str) -> str:
    """'In force since 3 May 2024 (version 2).' / 'The built-in default, never saved.'"""
    words = _since(since, key)
    return f"In force {words}." if words.startswith("since") else f"{words[:1].upper()}{words[1:]}."


def _example_checkpoint(current: ReviewSettings) -> dt.date:
    return next((c.date for c in current.checkpoints if c.date.month == 12), current.checkpoints[0].date)


def judgement_inputs(current: ReviewSettings, since: dict) -> tuple[dict, list[str]]:
    """The reporting lag, the SPC options, and per KPI its basis, fixed limits and rebases, each explained
    and dated; as the ``judgement`` of ReviewSettings, with any problem the tables have."""
    j, problems = current.judgement, []
    a, b = st.columns(2)
    lag = a.number_input("Reporting lag (days)", value=j.reporting_lag_days, step=1, key=f"{FIELD}lag")
    cp = _example_checkpoint(current)
    example = uk_month(judged_month(cp, lag)) if isinstance(lag, int) and 0 <= lag <= 3650 else "—"
    a.caption(f"How long after a month ends before its data are complete. A review judges the latest month that "
              f"ended at least this many days before it: with {lag} days, a review on {uk_date(cp)} judges "
              f"{example}. {_in_force(since, 'judgement.reporting_lag_days')}")
    run = b.radio("Run length (points in a row)", [7, 6], index=[7, 6].index(j.run_length), horizontal=True,
                  key=f"{FIELD}run_length")
    b.caption("A shift is this many points in a row on one side of the mean; a trend, this many each higher "
              "(or each lower) than the one before. 7 is NHS England's Making Data Count; 6 signals sooner, and "
              f"by chance more often. {_in_force(since, 'judgement.run_length')}")
    screening = a.checkbox("Screen out unusual moving ranges", value=j.screening, key=f"{FIELD}screening")
    a.caption("Before the process limits are set, a month-to-month jump of 3.267 times the average or more is "
              "left out, so one extraordinary month does not widen the limits for every other month. "
              f"{_in_force(since, 'judgement.screening')}")
    two = b.radio("Two-of-three rule: does a point beyond the process limits count?", [True, False],
                  format_func=TWO_OF_THREE.get, index=0 if j.two_of_three_counts_beyond_limits else 1,
                  key=f"{FIELD}two_of_three")
    b.caption("Two of three points in a row beyond the near limit (two-thirds of the way to a process limit) "
              "on one side signal a change. "
              f"{_in_force(since, 'judgement.two_of_three_counts_beyond_limits')}")
    st.markdown("**Per KPI.** *Judged on*: a percentage built on a few cases a month (audits, conferences) swings "
                "by chance, so it can be judged on its month pooled with the two before (all numerators ÷ all "
                "denominators); counts and FTE are always judged on the month. *Fix limits on the first N "
                "points*: blank sets the process limits on every point; N (12 or more) fixes them on the first "
                "N points of each segment and extends them, so later months are judged against that baseline.")
    rows = [{"KPI": kpi.label, "Judged on": JUDGE_ON[j.judge_on(k)],
             "Fix limits on the first N points": EVERY if j.of(k).fix_after is None else str(j.of(k).fix_after),
             "In force": _since(since, f"judgement.{k}.judge_on", f"judgement.{k}.fix_after")}
            for k, kpi in REGISTRY.items()]
    per_kpi = st.data_editor(
        pd.DataFrame(rows), hide_index=True, key=f"{FIELD}judge_kpis", width="stretch", disabled=["KPI", "In force"],
        column_config={"Judged on": st.column_config.SelectboxColumn(
                           options=list(JUDGE_ON.values()), required=True,
                           help="Percentages only; counts and FTE are always judged on the month"),
                       "Fix limits on the first N points": st.column_config.TextColumn(
                           help=f"'{EVERY}', or a whole number of points, 12 or more")})
    st.markdown("**Rebases.** A month when the process changed (a restructure, the statutory direction): it starts "
                "a new segment with its own limits, drawn on the charts with its reason. Add or delete rows at "
                "the table's edge.")
    rebases = st.data_editor(
        pd.DataFrame([{"KPI": REGISTRY[k].label, "First month (YYYY-MM)": r.month, "Reason": r.reason,
                       "In force": _since(since, f"judgement.{k}.rebase {r.month}")}
                      for k in REGISTRY for r in j.of(k).rebases],
                     columns=["KPI", "First month (YYYY-MM)", "Reason", "In force"]),
        num_rows="dynamic", hide_index=True, key=f"{FIELD}rebases", width="stretch", disabled=["In force"],
        column_config={"KPI": st.column_config.SelectboxColumn(options=list(LABEL_ID), width="large")})
    kpis: dict[str, dict] = {}
    for r in per_kpi.to_dict("records"):
        k = LABEL_ID[r["KPI"]]
        chosen = next((key for key, word in JUDGE_ON.items() if word == r["Judged on"]), None)
        judge_on = j.of(k).judge_on if chosen == j.judge_on(k) else chosen
        fix = r["Fix limits on the first N points"]
        fix = "" if _blank(fix) else str(fix).strip()
        if fix.lower() not in ("", EVERY) and not fix.isdigit():
            problems.append(f"judgement → {k} → fix limits on the first N points: '{fix}' is not a whole number "
                            f"(write '{EVERY}', or a number of points, 12 or more)")
        kpis[k] = {"judge_on": judge_on, "fix_after": int(fix) if fix.isdigit() else None, "rebases": []}
    for i, r in enumerate(rebases.to_dict("records"), start=1):
        if all(_blank(v) for key, v in r.items() if key != "In force"):
            continue
        if _blank(r["KPI"]) or r["KPI"] not in LABEL_ID:
            problems.append(f"judgement → rebases → row {i}: choose the KPI the rebase is for")
            continue
        kpis[LABEL_ID[r["KPI"]]]["rebases"].append({"month": "" if _blank(r["First month (YYYY-MM)"]) else
                                                    str(r["First month (YYYY-MM)"]),
                                                    "reason": "" if _blank(r["Reason"]) else str(r["Reason"])})
    kpis = {k: v for k, v in kpis.items() if k in j.kpis or v["judge_on"] or v["fix_after"] or v["rebases"]}
    return {"reporting_lag_days": lag, "run_length": run, "screening": screening,
            "two_of_three_counts_beyond_limits": two, "kpis": kpis}, problems


# --- validate, preview, save ------------------------------------------------------------------------


def draft(data: dict, targets: dict[str, dict], judgement: dict,
          problems: list[str]) -> tuple[ReviewSettings | None, list[str]]:
    """The whole form as ReviewSettings, or None with every problem (pydantic's messages as words)."""
    problems = list(problems)
    for k, row in targets.items():
        bad = [i + 1 for i, d in enumerate(row["checkpoint_targets"]) if d is None]
        if bad or any(_blank(v) for v in row["checkpoint_targets"].values()):
            problems.append(f"targets → {k} → checkpoint_targets: every row needs both a date and a target")
    data = {**data, "judgement": judgement,
            "targets": {k: {**row, "checkpoint_targets": {d: v for d, v in row["checkpoint_targets"].items()
                                                          if d is not None and not _blank(v)}}
                        for k, row in targets.items()}}
    try:
        new = ReviewSettings.model_validate(data)
    except ValidationError as err:
        return None, problems + validation_problems(err)
    return (None, problems) if problems else (new, [])


def _rating(rag: str | None) -> str:
    return rag_text(rag, "icon") if rag else "not reviewed"


def _pair(metric: str, a, b, f=fmt) -> str:
    return f(metric, a) if a == b else f"{f(metric, a)} → {f(metric, b)}"


def render_impact(db: str, version: int, current: ReviewSettings, new: ReviewSettings | None) -> None:
    """Before the Save button: what saving would change, in words, and every rating that would move at
    every review that is not final (final reviews are frozen: said so)."""
    if new is None or new == current:
        return
    changes, finals = loaders.settings_impact(db, version, new.model_dump_json())
    with st.container(border=True, key="settings-impact"):
        st.markdown("**Saving would change:** " + plain("; ".join(summarise(current, new))) + ".")
        if changes:
            reviews = len({c.checkpoint for c in changes})
            st.markdown(f"**{len(changes)} rating{'s' if len(changes) != 1 else ''} would change** at {reviews} "
                        f"review{'s' if reviews != 1 else ''} that {'are' if reviews != 1 else 'is'} not final:")
            st.table(pd.DataFrame([{
                "Review": c.title, "Date": uk_date(c.checkpoint), "KPI": c.label,
                "Judged month": uk_month(c.new_month or c.old_month),
                "Rating": f"{_rating(c.old_rag)} → {_rating(c.new_rag)}",
                "Value": _pair(c.metric, c.old_value, c.new_value) if c.old_rag and c.new_rag else
                fmt(c.metric, c.old_value if c.old_rag else c.new_value),
                "Target": _pair(c.metric, c.old_target, c.new_target, fmt_target) if c.old_rag and c.new_rag else
                fmt_target(c.metric, c.old_target if c.old_rag else c.new_target),
            } for c in changes]).map(plain), hide_index=True, border="horizontal")  # wraps: nothing cut off
            # (st.table renders markdown in its cells: every cell is made inert text by plain())
        else:
            st.markdown("**No rating would change** at any review that is not final.")
        st.caption("Final reviews are frozen and keep the settings they were judged against: "
                   + (f"{', '.join(uk_date(f) for f in finals)} {'is' if len(finals) == 1 else 'are'} final and "
                      "would not change." if finals else "none is final yet."))


def save(current: ReviewSettings, in_force: int | None, new: ReviewSettings | None, note: str,
         problems: list[str]) -> None:
    """Save the validated form as a new version (with its audit row), or say what to fix."""
    who = access.guard("settings")  # checked again on the server at the moment of the action
    if new is not None and (typed := text_problems(new, note)):  # checked again by save_settings
        new, problems = None, [*problems, *typed]
    if new is None:
        st.error("**Not saved — nothing was changed.** Fix these and save again:\n\n"
                 + "\n".join(f"- {plain(p)}" for p in problems), icon=":material/block:")
    elif in_force is not None and new == current:
        st.info("Nothing has changed, so no new version was saved.")
    else:
        words = summarise(current if in_force is not None else None, new)
        with loaders.connect() as conn:  # a new version and its audit row, in one transaction
            vid = save_settings(conn, new, by=who.label, note=note, role=who.role.name)
        st.session_state["settings-flash"] = f"Saved as version {vid}: {'; '.join(words)}."
        st.rerun()


LONDON = ZoneInfo("Europe/London")


def uk_time(iso: str | None) -> str:
    """'2024-05-03T08:14:00Z' → '3 May 2024 09:14' (UK clock time: BST in summer)."""
    if not iso:
        return ""
    t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone(LONDON)
    return f"{t.day} {t.strftime('%b %Y %H:%M')}"


def render_history(db: str, version: int) -> None:
    history = loaders.settings_history(db, version)
    if history.empty:
        st.caption("No version saved yet: the built-in defaults are in force.")
        return
    shown = pd.DataFrame({"Version": history["version"], "Saved (UK time)": history["saved_at"].map(uk_time),
                          "By": history["by"], "Note": history["note"], "What changed": history["summary"]})
    # st.table wraps (every word of what changed is shown) and renders markdown: cells made inert by plain()
    st.table(shown.astype({"Version": str}).map(plain), hide_index=True, border="horizontal")
    st.download_button("Download the history with the machine diff (CSV)", key="settings-history-csv",
                       data=history.rename(columns={"saved_at": "saved_at_utc"}).to_csv(index=False).encode(),
                       file_name="settings-history.csv", mime="text/csv")
