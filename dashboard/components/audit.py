"""The audit trail's "Details" for a person: the stored JSON (:func:`metrics.audit.record`) as one line of words,
e.g. ``replaces: upload 1 · months: Apr 2025 – Jun 2025 · rows: 1,234``. The CSV download keeps the JSON as
stored; this is display only.

Details never hold a child's identifier (the store records upload numbers, months, counts, KPI ids, file names
and what people typed), and nothing here adds one. Invisible characters in text stored before they were
refused (:mod:`metrics.userinput`) are shown as ``<U+XXXX>``, never passed through.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from dashboard.components.text import month_list, plain, uk_date, uk_time
from metrics.userinput import control_character

SEP = " · "
TEXT_LIMIT = 200  # a long typed text (a replaced evidence entry) is cut here; the CSV keeps it whole
LISTED = 3  # restated KPIs named before "and N more"


def _text(value, limit: int = TEXT_LIMIT) -> str:
    """Stored text as one visible line: invisible characters as <U+XXXX>, line breaks as ' / ', cut to ``limit``."""
    s = str(value).replace("\r\n", "\n")
    s = "".join(" / " if c == "\n" else " " if c == "\t" else
                f"<U+{ord(c):04X}>" if control_character(c) else c for c in s)
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def _quoted(value) -> str:
    return f"“{_text(value)}”"


def _date(value) -> str:
    try:
        return uk_date(str(value))
    except ValueError:
        return _text(value)


def _months(value) -> str:
    months = [str(m) for m in value] if isinstance(value, list) else [str(value)]
    try:
        return month_list(months) or "none"
    except (ValueError, IndexError):  # an implausible month: as stored
        return ", ".join(_text(m) for m in months)


def _kpi(value) -> str:
    from metrics.kpis import REGISTRY

    return REGISTRY[value].label if value in REGISTRY else _text(value)


def _value(kpi: str, value) -> str:
    from metrics.kpis import REGISTRY

    if value is None or kpi not in REGISTRY:
        return "no data" if value is None else _text(value)
    try:
        return REGISTRY[kpi].format(float(value))
    except (TypeError, ValueError):
        return _text(value)


def _uploads(ids) -> str:
    ids = list(ids) if isinstance(ids, list) else [ids]
    return f"upload{'s' if len(ids) != 1 else ''} {', '.join(str(i) for i in ids)}"


def _fallback(value) -> str:
    """{"3": ["2024-04"]} -> 'upload 3 current again for Apr 2024'."""
    if not isinstance(value, dict) or not value:
        return "no earlier upload current again"
    return "; ".join(f"upload {uid} current again for {_months(m)}" for uid, m in value.items())


def _summary(value) -> str:
    if isinstance(value, dict):  # a finalised review's ratings
        order = ("green", "amber", "red", "no_data")
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return "ratings: " + ", ".join(f"{value[k]} {k.replace('_', ' ')}" for k in keys)
    if isinstance(value, list):
        return "; ".join(_text(x) for x in value)
    return _text(value)


def _changed(value) -> str:
    """{"status": ["open", "done"]} -> 'status: open → done'."""
    if not isinstance(value, dict):
        return _text(value)
    return "; ".join(f"{k.replace('_', ' ')}: {_text(v[0])} → {_text(v[1])}"
                     if isinstance(v, list) and len(v) == 2 else f"{k}: {_text(v)}" for k, v in value.items())


def _restated(value) -> str:
    """The KPIs a restatement changed: 'Agency social workers (% of FTE) for Apr 2024: 48.0% → 45.0%'."""
    if not isinstance(value, list):
        return _text(value)
    parts = []
    for k in value[:LISTED]:
        if not isinstance(k, dict):
            parts.append(_text(k))
            continue
        kpi = str(k.get("kpi", ""))
        parts.append(f"{_kpi(kpi)} for {_months(k.get('month', ''))}: {_value(kpi, k.get('old'))} → "
                     f"{_value(kpi, k.get('new'))}")
    more = f" and {len(value) - LISTED} more" if len(value) > LISTED else ""
    return "; ".join(parts) + more


def _status(value) -> str:
    from metrics.actions import STATUSES

    return STATUSES.get(value, _text(value))


#: key -> (label, how the value reads). A label of "" shows the value alone. Keys are formatted in this order;
#: any other key follows as "key: value".
FIELDS: dict[str, tuple[str, Callable]] = {
    "kind": ("kind", _text),
    "months": ("months", _months),
    "rows": ("rows", lambda v: f"{v:,}" if isinstance(v, int) else _text(v)),
    "replaces": ("replaces", _uploads),
    "fallback": ("", _fallback),
    "empty": ("no data now for", _months),
    "review": ("review", _date),
    "checkpoint": ("review", _date),
    "label": ("", _text),
    "kpi": ("KPI", _kpi),
    "tor_item": ("ToR item", _text),
    "corrects": ("corrects entry", _text),
    "entry": ("update entry", _text),
    "owner": ("owner", _text),
    "due": ("due", _date),
    "status": ("status", _status),
    "changed": ("", _changed),
    "summary": ("", _summary),
    "settings_version": ("settings version", _text),
    "data_as_of": ("data as of", uk_time),
    "reason": ("reason", _quoted),
    "cause": ("cause", _text),
    "kpis": ("restated", _restated),
    "note": ("note", _quoted),
    "previous_body": ("replaced text", _quoted),
    "format": ("format", lambda v: _text(v).upper()),
    "public": ("", lambda v: "public version (small numbers suppressed)" if v else "internal version"),
    "include_teams": ("", lambda v: "with team breakdowns" if v else "without team breakdowns"),
    "pages": ("pages", _text),
    "priorities": ("priorities", _text),
    "suppressed_cells": ("cells suppressed", _text),
    "file": ("file", _text),
    "source": ("source", _text),
    "sha256": ("SHA-256", lambda v: _text(v)[:12] + "…"),
}
#: keys left out when empty (no replaced upload, no correction, no ToR item …)
OMIT_EMPTY = {"replaces", "empty", "corrects", "tor_item", "kpi", "note", "cause", "changed", "data_as_of"}


def _skip(key: str, value, details: dict) -> bool:
    if key in OMIT_EMPTY and value in (None, "", [], {}):
        return True
    return key == "changes" and "summary" in details  # the machine diff; the summary says it in words


def audit_details(details) -> str:
    """A stored audit row's details (JSON text or a dict) as one line for a person; '' when there are none."""
    if isinstance(details, str):
        try:
            details = json.loads(details) if details.strip() else {}
        except ValueError:
            return _text(details)  # not JSON: shown as stored, made visible
    if not isinstance(details, dict):
        return _text(details)
    keys = [k for k in FIELDS if k in details] + sorted(k for k in details if k not in FIELDS)
    parts = []
    for key in keys:
        value = details[key]
        if _skip(key, value, details):
            continue
        label, how = FIELDS.get(key, (key.replace("_", " "), _generic))
        shown = how(value)
        parts.append(f"{label}: {shown}" if label else shown)
    return SEP.join(p for p in parts if p)


def _generic(value) -> str:
    if isinstance(value, list):
        return ", ".join(_generic(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_generic(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    return _text(value)


def render_trail(friendly) -> None:
    """The audit table (friendly column names, Details in words), then the selected row's details in full: a
    long Details cell does not fit beside six columns on a laptop screen."""
    import streamlit as st

    text = st.column_config.TextColumn
    event = st.dataframe(
        friendly, hide_index=True, width="stretch", key="audit-table", on_select="rerun",
        selection_mode="single-row",
        # what happened first, so the details start on screen at 1280 px; who and the role scroll in from the right
        column_order=["Entry", "When (UK time)", "Action", "What", "Details", "Who", "Role"],
        column_config={"Entry": st.column_config.NumberColumn(width=56, format="%d"),
                       "When (UK time)": text(width=128), "Action": text(width=112), "What": text(width=104),
                       "Details": text(width=420), "Who": text(width=150), "Role": text(width=70)})
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if not rows:
        st.caption("Select a row to read its details in full.")
        return
    row = friendly.iloc[rows[0]]
    with st.container(border=True, key="audit-row"):
        st.caption(plain(f"Entry {int(row['Entry'])} · {row['When (UK time)']} · {row['Action']} · {row['What']} · by "
                         f"{row['Who']}" + (f" ({row['Role']})" if row["Role"] else "")))
        st.markdown(plain(row["Details"] or "No details recorded."))  # inert text that wraps
