"""Words on the page: UK dates and months, KPI values, user text made inert (never markdown)."""

from __future__ import annotations

import datetime as dt
import re


def uk_month(month: str) -> str:
    """'2023-06' -> 'Jun 2023'."""
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def uk_date(iso: str | dt.date) -> str:
    d = dt.date.fromisoformat(str(iso)[:10]) if not isinstance(iso, dt.date) else iso
    return f"{d.day} {d.strftime('%b %Y')}"


def uk_datetime(iso: str | None) -> str:
    """'2025-06-03T10:04:00Z' -> '3 Jun 2025, 10:04 UTC'."""
    if not iso:
        return ""
    t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    return f"{uk_date(t.date())}, {t.strftime('%H:%M')} UTC"


def uk_time(iso: str | None) -> str:
    """A stored UTC time in UK local time (GMT or BST), as the upload and audit tables show it:
    '2024-05-03T08:14:00Z' -> '3 May 2024 09:14'."""
    if not iso:
        return ""
    from zoneinfo import ZoneInfo

    t = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    t = t.astimezone(ZoneInfo("Europe/London"))
    return f"{uk_date(t.date())} {t.strftime('%H:%M')}"


WORD_JOINER = "\u2060"  # invisible, not a space: "http:⁠//x" is not a URL to the autolinker


_AUTOLINK_SEAMS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def plain(text: object) -> str:
    """User-provided text made inert for Streamlit markdown (titles, captions, alerts): every ASCII
    punctuation character is backslash-escaped, so no link, image, emphasis, directive or HTML can come
    from it; and an invisible word joiner goes into every "://", "www." and before every "@", because
    the autolinker (GFM autolink literals) runs on the text after escapes are resolved and would still
    make bare URLs and addresses into links. What the reader sees is the text as typed."""
    seamed = _AUTOLINK_SEAMS.sub(WORD_JOINER, str(text))
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|:~$&\"'=/%@^;?," else c for c in seamed)


def fmt(metric: str, value) -> str:
    """UK display of a KPI value: 54.9%, 61.5 FTE, 1,234; "no data" when missing."""
    from metrics.kpis import REGISTRY

    return REGISTRY[metric].format(None if value is None else float(value))


def fmt_target(metric: str, value) -> str:
    """A KPI's target as shown (:meth:`metrics.kpis.KPI.format_target`: a count target not whole keeps a decimal)."""
    from metrics.kpis import REGISTRY

    return REGISTRY[metric].format_target(None if value is None else float(value))


def month_list(months: list[str]) -> str:
    """['2023-01','2023-02','2023-03','2023-06'] -> 'Jan 2023 – Mar 2023, Jun 2023'."""
    from metrics.months import month_index

    out, run = [], []
    for m in sorted(months):
        if run and month_index(m) != month_index(run[-1]) + 1:
            out.append(run)
            run = []
        run.append(m)
    if run:
        out.append(run)
    return ", ".join(uk_month(r[0]) if len(r) == 1 else f"{uk_month(r[0])} – {uk_month(r[-1])}" for r in out)


def validation_problems(error: Exception) -> list[str]:
    """A pydantic ``ValidationError`` (or any error) as readable lines naming the field:
    'targets → agency_rate → tolerance: must be ≥ 0'. List positions count from 1 (table rows)."""
    if not hasattr(error, "errors"):
        return [str(error)]
    out = []
    for e in error.errors():
        loc = [f"row {p + 1}" if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        ctx, kind = e.get("ctx") or {}, e.get("type", "")
        msg = {
            "greater_than_equal": f"must be ≥ {ctx.get('ge')}", "greater_than": f"must be > {ctx.get('gt')}",
            "less_than_equal": f"must be ≤ {ctx.get('le')}", "less_than": f"must be < {ctx.get('lt')}",
            "missing": "is required", "string_too_short": "must not be blank",
        }.get(kind, str(e.get("msg", "")).removeprefix("Value error, "))
        for part in msg.split("; "):
            out.append(f"{' → '.join(loc)}: {part}" if loc else part)
    return out
