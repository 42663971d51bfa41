"""Statistical process control (XmR charts) after NHS England's *Making Data Count*.

The rules are those of ``shared/spec/judgement.md`` section 4 (the reference implementation is the R
package NHSRplotthedots 0.2.2), in plain Python so each step can be read against the spec:

- **segments**: a rebase month starts a new segment; each has its own limits and its own runs;
- **limits**: mean and average moving range (AMR) of the baseline (all the segment's points, or its
  first ``fix_after``), moving ranges only between consecutive baseline points; **screening** drops
  every moving range ≥ 3.267 × AMR and recomputes AMR once (0 when every one is dropped);
  process limits mean ± 2.66 × AMR, near limits mean ± (2/3)·2.66 × AMR ("2σ", 1.7733 rounded);
  a segment with fewer than :data:`MIN_POINTS_FOR_VERDICT` points has *trial* limits;
- **rules** per point, labelled by the first of :data:`RULES` that flags it;
- **variation** = the type of the judged month's point; **assurance** = where the target lies against
  the judged segment's process limits (strict comparisons).

Pure functions: no pandas, no I/O. The caller passes only the points a reviewer could have seen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

RULES = ("outside_limits", "trend", "two_of_three", "shift")  # label precedence, first wins
VARIATIONS = ("improvement", "concern", "common_cause", "not_enough_data")
ASSURANCES = ("consistent_pass", "consistent_fail", "hit_or_miss", "not_enough_data")
POINT_TYPES = ("special_cause_improvement", "special_cause_concern", "common_cause")
MIN_POINTS_FOR_VERDICT = 13  # a segment with fewer points has trial limits (fix_after is >= 12 anyway)
DIRECTIONS = ("up", "down")

LIMIT = 2.66  # process limits: mean ± LIMIT × AMR ("3σ")
NEAR = 2 * LIMIT / 3  # near limits ("2σ"): 1.77333…, the spec's 1.7733 unrounded, as NHSRplotthedots
SCREEN = 3.267  # screening drops moving ranges ≥ SCREEN × AMR

VARIATION_TRAVEL = {"improvement": "improving", "concern": "worsening",
                    "common_cause": "no_significant_change", "not_enough_data": "not_enough_data"}

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _finite(v: object, what: str = "every point's value") -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(v, bool) or not math.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {v!r} (leave months without a value out)")
    return x


def _check_month(month: object, what: str) -> str:
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ValueError(f"{what} must be a month written YYYY-MM, got {month!r}")
    return month


@dataclass(frozen=True)
class Rebase:
    month: str  # 'YYYY-MM': the first month of the new segment
    reason: str

    def __post_init__(self) -> None:
        _check_month(self.month, "a rebase month")

    def to_json(self) -> dict:
        return {"month": self.month, "reason": self.reason}


@dataclass(frozen=True)
class SpcSettings:
    run_length: int = 7
    screening: bool = True
    two_of_three_counts_beyond_limits: bool = True
    fix_after: int | None = None
    rebases: tuple[Rebase, ...] = ()

    def __post_init__(self) -> None:
        if self.run_length not in (6, 7):
            raise ValueError(f"run_length must be 6 or 7, got {self.run_length!r}")
        if self.fix_after is not None and (isinstance(self.fix_after, bool)
                                           or not isinstance(self.fix_after, int) or self.fix_after < 12):
            raise ValueError(f"fix_after must be empty or a whole number of at least 12, got {self.fix_after!r}")
        rebases = tuple(self.rebases)
        if not all(isinstance(r, Rebase) for r in rebases):
            raise ValueError("rebases must be Rebase(month, reason) values")
        object.__setattr__(self, "rebases", tuple(sorted(rebases, key=lambda r: r.month)))

    def to_json(self) -> dict:
        return {"run_length": self.run_length, "screening": self.screening,
                "two_of_three_counts_beyond_limits": self.two_of_three_counts_beyond_limits,
                "fix_after": self.fix_after, "rebases": [r.to_json() for r in self.rebases]}


@dataclass(frozen=True)
class Segment:
    start: str  # first point month of the segment
    end: str  # last point month of the segment
    n: int
    mean: float
    amr: float | None  # None with a single baseline point (no moving range)
    upl: float | None
    lpl: float | None
    near_upl: float | None
    near_lpl: float | None
    trial: bool

    def to_json(self) -> dict:
        return {"from": self.start, "to": self.end, "n": self.n, "mean": self.mean, "amr": self.amr,
                "upl": self.upl, "lpl": self.lpl, "near_upl": self.near_upl, "near_lpl": self.near_lpl,
                "trial": self.trial}


@dataclass(frozen=True)
class SpcPoint:
    month: str
    value: float
    segment: int  # index into Spc.segments
    rule: str | None  # one of RULES or None
    sense: str | None  # "high" | "low" | None
    type: str  # one of POINT_TYPES

    def to_json(self) -> dict:
        return {"month": self.month, "value": self.value, "rule": self.rule, "sense": self.sense,
                "type": self.type}


@dataclass(frozen=True)
class Spc:
    metric: str | None
    direction: str
    settings: SpcSettings
    segments: tuple[Segment, ...]
    points: tuple[SpcPoint, ...]
    judged_month: str | None
    variation: str
    assurance: str | None
    target: float | None

    @cached_property
    def _by_month(self) -> dict[str, SpcPoint]:
        return {p.month: p for p in self.points}

    def point(self, month: str) -> SpcPoint | None:
        return self._by_month.get(month)

    def segment_of(self, month: str) -> Segment | None:
        """The segment whose first to last point months include ``month`` (None between or outside them)."""
        for s in self.segments:
            if s.start <= month <= s.end:
                return s
        return None

    def to_json(self) -> dict:
        return {"metric": self.metric, "direction": self.direction, "settings": self.settings.to_json(),
                "segments": [s.to_json() for s in self.segments],
                "points": [p.to_json() for p in self.points],
                "variation": self.variation, "assurance": self.assurance}


# --- limits -----------------------------------------------------------------------------------------

def limits(values: Sequence[float], *, screening: bool = True, fix_after: int | None = None,
           start: str = "", end: str = "") -> Segment:
    """The limits of one segment's ``values`` (in month order)."""
    baseline = list(values[:fix_after] if fix_after is not None else values)
    mean = sum(baseline) / len(baseline)
    mrs = [abs(b - a) for a, b in zip(baseline, baseline[1:])]
    amr: float | None = None
    if mrs:
        amr = sum(mrs) / len(mrs)
        if screening:
            kept = [mr for mr in mrs if mr < SCREEN * amr]
            amr = sum(kept) / len(kept) if kept else 0.0
    if amr is None:
        upl = lpl = near_upl = near_lpl = None
    else:
        upl, lpl = mean + LIMIT * amr, mean - LIMIT * amr
        near_upl, near_lpl = mean + NEAR * amr, mean - NEAR * amr
    return Segment(start, end, len(values), mean, amr, upl, lpl, near_upl, near_lpl,
                   trial=len(values) < MIN_POINTS_FOR_VERDICT)


# --- rules ------------------------------------------------------------------------------------------

def _sign(d: float) -> int:
    return (d > 0) - (d < 0)


def _runs(keys: Sequence[int], run_length: int) -> list[int]:
    """For each position, the non-zero key of the run of ≥ ``run_length`` equal non-zero keys it belongs
    to, else 0."""
    out = [0] * len(keys)
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[j + 1] == keys[i]:
            j += 1
        if keys[i] != 0 and j - i + 1 >= run_length:
            out[i:j + 1] = [keys[i]] * (j - i + 1)
        i = j + 1
    return out


def _flags(values: Sequence[float], seg: Segment, s: SpcSettings) -> list[dict[str, int]]:
    """For each point of one segment: {rule: +1 (high) | -1 (low)} for every rule that flags it."""
    n = len(values)
    flags: list[dict[str, int]] = [{} for _ in range(n)]
    side = [_sign(x - seg.mean) for x in values]

    if seg.amr is not None:
        outside = [x > seg.upl or x < seg.lpl for x in values]
        for i, x in enumerate(values):
            if outside[i]:
                flags[i]["outside_limits"] = 1 if x > seg.upl else -1

        def beyond_near(i: int, sd: int) -> bool:
            x = values[i]
            if not s.two_of_three_counts_beyond_limits and outside[i]:
                return False
            return x > seg.near_upl if sd > 0 else x < seg.near_lpl

        for i in range(n - 2):
            sd = side[i]
            if sd == 0 or side[i + 1] != sd or side[i + 2] != sd:
                continue
            beyond = [k for k in range(i, i + 3) if beyond_near(k, sd)]
            if len(beyond) >= 2:
                for k in beyond:
                    flags[k]["two_of_three"] = sd

    # a trend of run_length points has run_length - 1 steps, each strictly up (or each strictly down);
    # the turning point of a rise then a fall belongs to both and keeps the earlier run's sense
    steps = [_sign(b - a) for a, b in zip(values, values[1:])]
    for i, d in enumerate(_runs(steps, s.run_length - 1)):
        if d:
            flags[i].setdefault("trend", d)
            flags[i + 1].setdefault("trend", d)

    for i, d in enumerate(_runs(side, s.run_length)):
        if d:
            flags[i]["shift"] = d
    return flags


def _segment_bounds(months: Sequence[str], rebases: Sequence[Rebase]) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the segments: a rebase month starts a new one (empty ones dropped)."""
    cuts = {0, len(months)}
    for r in rebases:
        cuts.add(next((i for i, m in enumerate(months) if m >= r.month), len(months)))
    edges = sorted(cuts)
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


# --- the whole chart --------------------------------------------------------------------------------

def spc(points: Sequence[tuple[str, float]], *, direction: str, settings: SpcSettings = SpcSettings(),
        target: float | None = None, judged_month: str | None = None, metric: str | None = None) -> Spc:
    """The XmR chart of ``points`` ((month, value), months with a value only, in month order) and its
    verdicts at ``judged_month`` (default: the last point). The caller passes only the points up to the
    judged month; a judged month with no point gives ``not_enough_data``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    months = [_check_month(m, "a point's month") for m, _ in points]
    if any(b <= a for a, b in zip(months, months[1:])):
        raise ValueError("points must be in month order with one value per month")
    values = [_finite(v) for _, v in points]
    if judged_month is not None:
        _check_month(judged_month, "the judged month")
    if target is not None:
        target = _finite(target, "the target")

    better = 1 if direction == "up" else -1
    segments: list[Segment] = []
    out: list[SpcPoint] = []
    for k, (a, b) in enumerate(_segment_bounds(months, settings.rebases)):
        vals = values[a:b]
        seg = limits(vals, screening=settings.screening, fix_after=settings.fix_after,
                     start=months[a], end=months[b - 1])
        segments.append(seg)
        for i, f in enumerate(_flags(vals, seg, settings)):
            rule = next((r for r in RULES if r in f), None)
            sense = None if rule is None else f[rule]
            if rule is None:
                kind = "common_cause"
            elif sense == better:
                kind = "special_cause_improvement"
            else:
                kind = "special_cause_concern"
            out.append(SpcPoint(months[a + i], vals[i], k, rule,
                                None if sense is None else ("high" if sense > 0 else "low"), kind))

    if judged_month is None and out:
        judged_month = out[-1].month
    judged = next((p for p in out if p.month == judged_month), None)
    seg = segments[judged.segment] if judged is not None else None
    if judged is None or seg.trial:
        variation = "not_enough_data"
    else:
        variation = {"special_cause_improvement": "improvement", "special_cause_concern": "concern",
                     "common_cause": "common_cause"}[judged.type]
    assurance = None if target is None else _assurance(seg, target, direction)
    return Spc(metric, direction, settings, tuple(segments), tuple(out), judged_month, variation,
               assurance, target)


def _assurance(seg: Segment | None, target: float, direction: str) -> str:
    if seg is None or seg.trial or seg.amr is None:
        return "not_enough_data"
    if target > seg.upl:
        return "consistent_fail" if direction == "up" else "consistent_pass"
    if target < seg.lpl:
        return "consistent_pass" if direction == "up" else "consistent_fail"
    return "hit_or_miss"
