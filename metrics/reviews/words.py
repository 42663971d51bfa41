"""The words (and shapes) for RAG ratings, direction of travel, forecasts and data-quality flags,
defined once for every surface: the dashboard, the board pack (PDF and PowerPoint), the CSV exports and
``kpi review``. A rating is always a word, and where there is room a shape too: never colour alone.

Each surface today prints one of a few *styles* of the same word, so the functions take a style:

=========  =======================  ===============================  ======================
style      RAG                      travel                           used by
=========  =======================  ===============================  ======================
plain      ``green``, ``no data``   ``improving``, ``no change``     ``kpi review`` table
upper      ``GREEN``, ``NO DATA``   (as plain)                       packs, CSV, chart marks
icon       ``● Green``              ``▲ Improving``                  dashboard
=========  =======================  ===============================  ======================

Phase 2 of the one-model issue points every surface here and deletes their copies
(dashboard/components.py RAG_TEXT/TRAVEL_TEXT/FLAG_WORDS, reports/tables.py RAG_TEXT/TRAVEL_TEXT,
reports/charts.py FLAG_WORDS and RAG_STYLE's words, reports/boardpack.py FLAG_WORDS/RAG_COLOURS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "upper", "icon"]

RAGS = ("green", "amber", "red", "no_data")
TRAVELS = ("improving", "worsening", "no_significant_change", "not_enough_data")  # v2 (judgement.md)

RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", "no_data": "No data"}
#: Glyphs every system font has (emoji-free), one shape per rating.
RAG_SHAPES = {"green": "●", "amber": "◆", "red": "✖", "no_data": "○"}
#: The same shapes as plotly marker symbols (chart checkpoint marks).
RAG_MARKERS = {"green": "circle", "amber": "diamond", "red": "x", "no_data": "circle-open"}
#: Colours with at least 4.5:1 contrast on white (text and marks; the word and shape carry the meaning).
RAG_COLOURS = {"green": "#00703c", "amber": "#8a5300", "red": "#b10e1e", "no_data": "#505a5f"}
#: Light cell tints behind the RAG word (text stays #0b0c0c).
RAG_TINTS = {"green": "#d4ecdc", "amber": "#fbe6c6", "red": "#f6d5d8", "no_data": "#e8eaeb"}
#: A KPI without a target: not rated. ``icon`` style says why.
NOT_RATED = "not rated"
NO_TARGET = "— No target set"

TRAVEL_WORDS = {"improving": "Improving", "worsening": "Worsening",
                "no_significant_change": "No significant change", "not_enough_data": "Not enough data",
                "no_change": "No change"}  # no_change: v1 finals only
#: ▲ always means better.
TRAVEL_SHAPES = {"improving": "▲", "worsening": "▼", "no_significant_change": "▶", "not_enough_data": "…",
                 "no_change": "▶"}
#: No direction of travel (no previous checkpoint, or a missing actual).
NO_TRAVEL = "–"
NOT_KNOWN = "– Not known"

# --- the v2 judgement (shared/spec/judgement.md; docs/judgement.md explains each in plain English) ------

VARIATIONS = ("improvement", "concern", "common_cause", "not_enough_data")
ASSURANCES = ("consistent_pass", "consistent_fail", "hit_or_miss", "not_enough_data")
#: Short names (Making Data Count's meanings, our words).
VARIATION_WORDS = {"improvement": "Special cause improvement", "concern": "Special cause concern",
                   "common_cause": "Common cause", "not_enough_data": "Not enough data"}
ASSURANCE_WORDS = {"consistent_pass": "Consistently passing", "consistent_fail": "Consistently failing",
                   "hit_or_miss": "Hit or miss", "not_enough_data": "Not enough data"}
#: The one sentence each verdict means (tooltips, the packs' key, docs/judgement.md).
VARIATION_MEANINGS = {
    "improvement": "a change too large or too long-lasting to be chance, in the better direction",
    "concern": "a change too large or too long-lasting to be chance, in the worse direction",
    "common_cause": "within the range this measure normally moves by chance: no significant change",
    "not_enough_data": "fewer than 13 months since the last rebase (trial limits), or no value for the judged "
                       "month: no verdict yet",
}
ASSURANCE_MEANINGS = {
    "consistent_pass": "the target lies beyond the process limits on the worse side: if nothing changes, "
                       "every month will meet it",
    "consistent_fail": "the target lies beyond the process limits on the better side: if nothing changes, "
                       "no month will meet it",
    "hit_or_miss": "the target lies inside the process limits: some months will meet it and some will not, "
                   "by chance alone",
    "not_enough_data": "no verdict: fewer than 13 months since the last rebase, no value for the judged month, "
                       "or no target",
}
#: Text-only shapes (table cells, where a drawn icon cannot go): the letters of the drawn icons.
VARIATION_MARKS = {("improvement", "high"): "↑H", ("improvement", "low"): "↓L", ("concern", "high"): "↑H",
                   ("concern", "low"): "↓L", "common_cause": "~", "not_enough_data": "…"}
ASSURANCE_MARKS = {"consistent_pass": "P", "consistent_fail": "F", "hit_or_miss": "?", "not_enough_data": "…"}
#: Where the target lies inside a value's 95% interval (judgement.md section 3).
CANNOT_TELL = "cannot be told apart from the target at 95%"
BASIS_WORDS = {"month": "the month", "rolling_3_months": "3 months pooled"}


#: Why a point is special cause (judgement.md section 4's rules), for chart hovers and the SPC table.
def rule_text(rule: str | None, sense: str | None = None, run_length: int = 7) -> str:
    """'outside the process limits', '7 points in a row above the mean', '7 points each higher than the
    one before', '2 of 3 points beyond the near limit above the mean'; '' for no rule."""
    if rule is None:
        return ""
    side = {"high": "above", "low": "below"}.get(sense or "", "on one side of")
    limit = {"high": "above the upper process limit", "low": "below the lower process limit"}
    step = {"high": "higher", "low": "lower"}.get(sense or "", "higher (or lower)")
    return {
        "outside_limits": limit.get(sense or "", "outside the process limits"),
        "trend": f"{run_length} points each {step} than the one before",
        "two_of_three": f"2 of 3 points beyond the near limit {side} the mean",
        "shift": f"{run_length} points in a row {side} the mean",
    }.get(rule, rule.replace("_", " "))


def sense_of(variation: str | None, direction: str) -> str | None:
    """'high' or 'low' for a special-cause verdict on a KPI whose better ``direction`` is 'up'/'down':
    improvement runs the better way, concern the other; None for the rest."""
    if variation not in ("improvement", "concern"):
        return None
    better = "high" if direction == "up" else "low"
    return better if variation == "improvement" else ("low" if better == "high" else "high")


def variation_text(variation: str | None, style: Style = "plain", *, direction: str | None = None) -> str:
    """The variation verdict in words: plain 'special cause improvement', upper 'Special cause improvement
    (high)', icon '↑H Special cause improvement'. With ``direction`` (the KPI's better direction) the
    high/low sense is named. ``None`` (not judged) → 'not judged' ('– Not judged' in the icon style)."""
    if variation is None:
        return "– Not judged" if style == "icon" else "not judged"
    word = VARIATION_WORDS[variation]
    sense = sense_of(variation, direction) if direction else None
    if style == "plain":
        return word.lower()
    if style == "upper":
        return word + (f" ({sense})" if sense else "")
    mark = VARIATION_MARKS.get((variation, sense)) or VARIATION_MARKS.get(variation) or "!"
    return f"{mark} {word}"


def assurance_text(assurance: str | None, style: Style = "plain") -> str:
    """The assurance verdict in words: plain 'consistently passing', upper 'Consistently passing', icon
    'P Consistently passing'. ``None`` (no target) → 'no target' ('– No target set' in the icon style)."""
    if assurance is None:
        return NO_TARGET if style == "icon" else "no target"
    word = ASSURANCE_WORDS[assurance]
    if style == "plain":
        return word.lower()
    return f"{ASSURANCE_MARKS[assurance]} {word}" if style == "icon" else word


def interval_text(interval, fmt=None, *, target_within: bool | None = None) -> str:
    """'95% interval 41.2%–63.0%' (``fmt`` formats a value, e.g. ``kpi.format``), followed by '; cannot be
    told apart from the target at 95%' when ``target_within``. No interval → ''."""
    if not interval:
        return ""
    f = fmt or (lambda x: f"{x:.1f}")
    text = f"95% interval {f(interval[0])}–{f(interval[1])}"
    return text + (f"; {CANNOT_TELL}" if target_within else "")


def _span(months) -> str:
    """('2023-08','2023-09','2023-10') → 'Aug–Oct 2023'; across a year 'Dec 2023–Feb 2024'; one month
    'Oct 2023'."""
    from metrics.months import short_month

    ms = sorted(m for m in months if m)
    if not ms:
        return ""
    first, last = ms[0], ms[-1]
    if first == last:
        return short_month(first)
    if first[:4] == last[:4]:
        return f"{short_month(first)[:3]}–{short_month(last)}"
    return f"{short_month(first)}–{short_month(last)}"


def basis_text(basis: str | None, judged_month: str | None, months_pooled: int | None = None) -> str:
    """How the judged value was made: 'the month (Oct 2023)'; pooled, '3 months pooled (Aug–Oct 2023)',
    or with a month of the window without data '2 months pooled (Aug–Oct 2023; 1 without data)'."""
    from metrics.months import month_from_index, month_index

    if not basis or not judged_month:
        return ""
    if basis == "month":
        return f"the month ({_span([judged_month])})"
    if basis == "rolling_3_months":
        window = [month_from_index(month_index(judged_month) - i) for i in (2, 1, 0)]
        n = 3 if months_pooled is None else int(months_pooled)
        gap = f"; {3 - n} without data" if n < 3 else ""
        return f"{n} month{'s' if n != 1 else ''} pooled ({_span(window)}{gap})"
    return basis.replace("_", " ")


def rag_text(rag: str | None, style: Style = "plain") -> str:
    """A rating in words: ``rag_text("no_data")`` → 'no data', ``"upper"`` → 'NO DATA', ``"icon"`` →
    '○ No data'. ``None`` (no target) → 'not rated', or '— No target set' in the icon style."""
    if rag is None:
        return NO_TARGET if style == "icon" else NOT_RATED
    word = RAG_WORDS[rag]
    if style == "upper":
        return word.upper()
    if style == "icon":
        return f"{RAG_SHAPES[rag]} {word}"
    return word.lower()


def travel_text(travel: str | None, style: Style = "plain") -> str:
    """Direction of travel in words: 'improving', 'no change', '–' (none); icon style '▲ Improving',
    '– Not known'. (The upper style is the plain one: packs print travel in lower case.)"""
    if travel is None:
        return NOT_KNOWN if style == "icon" else NO_TRAVEL
    word = TRAVEL_WORDS[travel]
    return f"{TRAVEL_SHAPES[travel]} {word}" if style == "icon" else word.lower()


ForecastStyle = Literal["sentence", "short", "tile"]


def forecast_text(fc, style: ForecastStyle = "sentence", fmt=None) -> str:
    """A forecast (:class:`metrics.projection.Forecast`) in words. ``sentence`` (review table, packs,
    ``kpi review``): its own :meth:`~metrics.projection.Forecast.describe` — 'on trend to reach 60.0% by
    Aug 2025 (95%: 52.0%–68.0% then)', 'trend not established' — with ``fmt`` (``kpi.format``) for the
    numbers; ``short`` (dashboard review table): 'on trend: Aug 2025'; ``tile`` (KPI page headline): 'on
    trend, met by Aug 2025'. No forecast: '–' (``tile``: '')."""
    from metrics.months import short_month as month_label
    from metrics.projection import STATUS_TEXT

    if fc is None:
        return "" if style == "tile" else "–"
    if style == "sentence":
        if fc.status == "reaches_target" and fc.target is None:  # no final target recorded with it
            f = fmt or (lambda x: f"{x:g}")
            then = f" (95%: {f(fc.interval[0])}–{f(fc.interval[1])} then)" if fc.interval else ""
            return f"on trend to meet the target by {month_label(fc.month)}{then}"
        return fc.describe(fmt) if fmt else fc.text
    if fc.status == "reaches_target" and fc.month:
        label = month_label(fc.month)
        return {"short": f"on trend: {label}", "tile": f"on trend, met by {label}"}[style]
    return STATUS_TEXT[fc.status]


@dataclass(frozen=True)
class FlagWords:
    """A data-quality flag (``metrics.compute.FLAGS`` holds its full definition) in fewer words."""

    short: str  # a table cell: 'small numbers'
    hover: str  # a chart's hover note
    sentence: str  # a pack's data-quality line, before the months it applies to


FLAG_WORDS: dict[str, FlagWords] = {
    "month_missing": FlagWords(
        "no data for the month", "no data for this month",
        "No data (no extract and no totals uploaded)"),
    "zero_denominator": FlagWords(
        "none in the month", "none in the month, so no percentage",
        "Nothing to count that month (zero denominator), so no value"),
    "small_denominator": FlagWords(
        "small numbers", "small numbers (fewer than 10): one case moves the percentage a lot",
        "Fewer than 10 in the denominator: one case moves the percentage a lot"),
    "figures_sourced": FlagWords(
        "from monthly totals", "from monthly totals, not record-level data",
        "From monthly totals (a figures upload), not record-level data"),
    "snapshot_stale": FlagWords(
        "snapshot taken before month end", "snapshot taken before the month ended",
        "Snapshot taken before the month ended"),
    "hybrid_not_separable": FlagWords(
        "totals count hybrid", "monthly totals count hybrid with face to face: no in-person-only value",
        "Monthly totals count hybrid with face to face, so there is no in-person-only value"),
}


def flag_text(code: str, style: Literal["short", "hover", "sentence"] = "short") -> str:
    """A flag code in words (an unknown code is shown as itself, underscores as spaces)."""
    words = FLAG_WORDS.get(code)
    return getattr(words, style) if words else code.replace("_", " ")


def verdicts_apart(r, style: Literal["sentence", "short"] = "sentence") -> str:
    """When the RAG and the assurance seem to say opposite things (green beside 'consistently failing', amber
    or red beside 'consistently passing'), the sentence every surface shows beside them: both are against the
    SAME target (the trajectory's, at the judged month: judgement.md sections 1 and 4), but the RAG rates the
    judged value and assurance the process limits — and the judged value lies beyond those limits (it must, for
    the two to differ), a real change the limits, set on the segment's earlier months too, do not yet
    reflect. '' when they agree, or for a row without a target. ``r``: a ``metrics.reviews.ReviewRow``;
    ``style`` 'short': a table cell's note."""
    from metrics.months import short_month

    if not r.rated or r.target is None or r.actual is None:
        return ""
    if r.rag == "green" and r.assurance == "consistent_fail":
        rag, meets, reach = "Green", "meets it", "do not reach it"
    elif r.rag in ("amber", "red") and r.assurance == "consistent_pass":
        rag, meets, reach = r.rag.capitalize(), "misses it", "lie wholly on its passing side"
    else:
        return ""
    fmt, month = r.kpi.format, short_month(r.actual_month)
    verdict = ASSURANCE_WORDS[r.assurance].lower()
    if style == "short":
        return f"{rag.lower()} yet {verdict}: the same target; the value is beyond the process limits"
    seg = r.spc.segments[r.spc.points[-1].segment] if r.spc is not None and r.spc.points else None
    limits = (f"the process limits ({fmt(seg.lpl)}–{fmt(seg.upl)}, set on {short_month(seg.start)}–"
              f"{short_month(seg.end)})" if seg is not None and seg.lpl is not None and seg.upl is not None
              else "the process limits")
    return (f"{rag} and '{verdict}' are against the same target ({r.kpi.format_target(r.target)} for {month}): "
            f"the RAG rates the {month} value, {fmt(r.actual)}, which {meets}; assurance compares the target "
            f"with {limits}, which {reach}. The value lies beyond those limits: a real change that the limits, "
            "set on the earlier months too, do not yet reflect; if it holds, a rebase (Settings) gives the "
            "changed process limits of their own.")
