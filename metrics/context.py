"""Context from published data (issue 13 item 6): where the council stands among its statistical
neighbours and England, and the workforce census's turnover, vacancy and caseload beside the workforce
priorities. Published DfE figures only (``data/benchmarks/``, read through :mod:`metrics.benchmarks`):
shown beside a KPI, never rated against a target.

Public API:

* :data:`CONTEXT_MEASURES` — the published context measures (turnover, vacancy, caseload) by key; a KPI
  names the ones shown beside it in its declaration (``metrics.kpis.KPI.context``).
* :func:`rank` — one value's rank and quartile in a list, rank 1 = best for the direction.
* :func:`standings` / :func:`kpi_standings` — the council's published value, rank and quartile among
  its statistical neighbours and among England's LAs, for each published year (as LAIT gave).
* :func:`standing_table` — the same in words, a table for the KPI page and the packs (``until``: only
  reference dates on or before a review's date).
* :func:`context_series` — the council's, its neighbours' average and England's annual figures of a KPI's
  context measures (tidy, as :func:`metrics.benchmarks.benchmark_series`), for annual points on a chart.
* :func:`neighbour_table` — one census year: the council, each of its 10 statistical neighbours, their
  average and England, one column per context measure; :func:`latest_year` the census year to show.
* :func:`at_review` — all of the above as known at one review (reference dates on or before its date): the
  one rule the KPI page and the packs both show a review's published context by.

**Ranking** (docs/context.md): rank 1 = the best value for the measure's direction (lowest for a
"lower is better" measure). Ties share the best rank of the tied group and the next rank is skipped
("1, 2, 2, 4": standard competition ranking, as ``pandas.Series.rank(method="min")``). The population is
every LA row with a published value that year (a suppressed or blank cell is left out; a joint row such
as Kingston/Richmond ``314 / 318`` counts once). Among neighbours: the council and its 10 DfE statistical
neighbours (the 2025 model, for every year), so "of 11" when all are published. Quartile =
⌈4 × rank ÷ number ranked⌉: 1 = the best quarter, 4 = the worst; tied LAs share a quartile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from metrics import benchmarks as bm
from metrics.kpis import REGISTRY, Direction
from metrics.reviews.changes import uk_date

#: What the rows of :func:`neighbour_table` are.
ROLE_COUNCIL, ROLE_NEIGHBOUR, ROLE_AVERAGE, ROLE_ENGLAND = "council", "neighbour", "neighbours' average", "England"


@dataclass(frozen=True)
class ContextMeasure:
    """A published figure shown beside a KPI for context (never rated)."""

    key: str
    short: str  # a table's column: "Turnover (%)"
    direction: Direction  # which way is better, for ranks
    source: bm.BenchmarkSource

    @property
    def label(self) -> str:
        return self.source.label

    def format(self, value: float | None) -> str:
        return published(value, self.source.unit)

    def cell(self, value: float | None) -> str:
        """A table cell under :attr:`short` (which names the unit): '10.8%', '13.6'."""
        return self.format(value).removesuffix(f" {self.source.unit}")


def _workforce(key: str, short: str, column: str, label: str, definition: str, unit: str = "percent"
               ) -> ContextMeasure:
    return ContextMeasure(key, short, "down", bm.BenchmarkSource(
        label=label, file=bm.WORKFORCE_FILE, value_column=column, first_year=2017, last_year=2025,
        period_end_month_day="09-30", measured_at="30 September of time_period",
        publication="Children's social work workforce (explore-education-statistics)",
        definition=definition, caveat="Context only: the council reports no monthly equivalent.", unit=unit,
        metric_id=key))


#: Key → the published context measure (the DfE workforce census, 30 September each year, FTE-based).
CONTEXT_MEASURES: dict[str, ContextMeasure] = {m.key: m for m in (
    _workforce("turnover", "Turnover (%)", "turnover_rate_fte",
               "Children and family social worker turnover (% of FTE), DfE workforce census",
               "FTE social workers who left in the year to 30 September ÷ FTE social workers in post at "
               "30 September, × 100."),
    _workforce("vacancy", "Vacancies (%)", "vacancy_rate_fte",
               "Children and family social worker vacancies (% of posts), DfE workforce census",
               "FTE vacancies at 30 September ÷ (FTE vacancies + FTE social workers in post), × 100."),
    _workforce("caseload", "Caseload (cases per FTE)", "caseload_fte",
               "Average caseload of case-holding children and family social workers, DfE workforce census",
               "Cases held at 30 September ÷ FTE of case-holding social workers.", unit="cases per FTE"),
)}


def context_measures(metric_id: str) -> tuple[ContextMeasure, ...]:
    """The context measures a KPI's declaration names (empty for most KPIs)."""
    kpi = REGISTRY.get(metric_id)
    return tuple(CONTEXT_MEASURES[k] for k in (kpi.context if kpi else ()))


# --- ranks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rank:
    """A value's place among ``of`` published values: ``rank`` 1 = best (None: not published)."""

    rank: int | None
    of: int
    quartile: int | None

    @property
    def text(self) -> str:
        return "not ranked" if self.rank is None else f"{self.rank} of {self.of}"

    @property
    def quartile_text(self) -> str:
        if self.quartile is None:
            return "—"
        return {1: "1 (best quarter)", 2: "2", 3: "3", 4: "4 (worst quarter)"}[self.quartile]


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def rank(values: Iterable[float], own: float | None, direction: Direction) -> Rank:
    """The rank and quartile of ``own`` among ``values`` (which include it); missing values are left out.
    Rank 1 = best for ``direction``; ties share the best rank of the tie (1, 2, 2, 4); quartile =
    ⌈4 × rank ÷ number ranked⌉."""
    vals = [float(v) for v in values if not _nan(v)]
    if _nan(own) or not vals:
        return Rank(None, len(vals), None)
    own = float(own)
    better = sum(1 for v in vals if (v < own if direction == "down" else v > own))
    r = better + 1
    return Rank(r, len(vals), math.ceil(4 * r / len(vals)))


@dataclass(frozen=True)
class Standing:
    """The council's published value of one measure in one year and where it stands."""

    measure: str  # KPI id or context key
    year: int
    period_end: str  # ISO reference date (30 Sept, 31 March)
    value: float  # NaN: not published
    neighbours: Rank  # among the council and its statistical neighbours
    england: Rank  # among every LA with a published value


def _position(codes: list[tuple[str, ...]], code: str, exclude: str | None = None) -> int | None:
    """Position of the row that publishes LA ``code`` in ``codes`` (the ``codes`` column of
    :func:`metrics.benchmarks.la_values`, as a list): its own row, else a joint row containing it (not one
    that also covers ``exclude``). Plain loops: pandas' ``map`` per code cost a board pack seconds."""
    own = next((i for i, c in enumerate(codes) if c == (code,)), None)
    if own is None:
        own = next((i for i, c in enumerate(codes) if code in c and (exclude is None or exclude not in c)), None)
    return own


def standings(src: bm.BenchmarkSource, direction: Direction, la_code: str | int,
              data_dir: str | Path | None = None) -> list[Standing]:
    """The council's standing on published measure ``src`` for every year it has a row, oldest first.
    An unknown LA code raises ``ValueError`` (as :func:`metrics.benchmarks.statistical_neighbours`)."""
    code = bm.la_info(la_code, data_dir)["la_code"]
    return list(_standings(src, direction, code, None if data_dir is None else str(Path(data_dir).resolve())))


@lru_cache(maxsize=64)
def _standings(src: bm.BenchmarkSource, direction: Direction, code: str, data_dir: str | None
               ) -> tuple[Standing, ...]:
    """:func:`standings` (cached: a pack asks for the workforce measures once per workforce priority;
    :func:`metrics.benchmarks.clear_cache` clears it with the files' reads)."""
    neighbours = bm.statistical_neighbours(code, data_dir)
    out = []
    for year in bm.source_years(src, data_dir):
        la = bm.la_values(src, year, data_dir)
        codes, values = la["codes"].tolist(), la["value"].tolist()
        own = _position(codes, code)
        if own is None:
            continue
        value = float(values[own])
        group = {own} | {i for i in (_position(codes, nb, exclude=code) for nb in neighbours) if i is not None}
        out.append(Standing(
            measure=src.metric_id, year=year, period_end=src.period_end(year), value=value,
            neighbours=rank([values[i] for i in sorted(group)], value, direction),
            england=rank(values, value, direction)))
    return tuple(out)


bm.DERIVED_CACHES.append(_standings)


def kpi_standings(metric_id: str, la_code: str | int, data_dir: str | Path | None = None) -> list[Standing]:
    """:func:`standings` of a benchmarked KPI's published measure, ranked in the KPI's direction (empty for
    a KPI without a published benchmark)."""
    src = bm.BENCHMARKED_METRICS.get(metric_id)
    if src is None:
        bm.la_info(la_code, data_dir)  # validates the code
        return []
    return standings(src, REGISTRY[metric_id].direction, la_code, data_dir)


def published(value: float | None, unit: str) -> str:
    """A published figure as DfE gives it (one decimal place, or whole where DfE rounds): '18.3%', '27%',
    '15.2 cases per FTE'; 'not published' where suppressed or blank."""
    if _nan(value):
        return "not published"
    v = round(float(value), 1)
    return f"{v:g}%" if unit == "percent" else f"{v:g} {unit}"


STANDING_COLUMNS = ("Measure", "Reference date", "Council", "Among statistical neighbours",
                    "Quartile (neighbours)", "In England", "Quartile (England)")


def standing_table(metric_id: str, la_code: str | int, data_dir: str | Path | None = None, *,
                   until: str | None = None, years: int | None = None) -> pd.DataFrame:
    """The council's standing as a table (:data:`STANDING_COLUMNS`, words): the KPI's published benchmark
    for each year (the last ``years`` of them), then each context measure's latest year. ``until`` (ISO
    date): only figures whose reference date is on or before it (a pack shows what was known at its
    review). Empty for a KPI with neither."""
    items: list[tuple[str, str, Standing]] = []
    src = bm.BENCHMARKED_METRICS.get(metric_id)
    if src is not None:
        own = [s for s in kpi_standings(metric_id, la_code, data_dir) if until is None or s.period_end <= until]
        items += [(src.label, src.unit, s) for s in own[-years if years else 0:]]
    for m in context_measures(metric_id):
        own = [s for s in standings(m.source, m.direction, la_code, data_dir)
               if until is None or s.period_end <= until]
        items += [(m.label, m.source.unit, own[-1])] if own else []
    rows = [{"Measure": label, "Reference date": uk_date(s.period_end), "Council": published(s.value, unit),
             "Among statistical neighbours": s.neighbours.text, "Quartile (neighbours)": s.neighbours.quartile_text,
             "In England": s.england.text, "Quartile (England)": s.england.quartile_text}
            for label, unit, s in items]
    return pd.DataFrame(rows, columns=list(STANDING_COLUMNS))


# --- the workforce context ------------------------------------------------------------------


def context_series(metric_id: str, la_code: str | int, data_dir: str | Path | None = None) -> pd.DataFrame:
    """The annual figures of a KPI's context measures: for each, the council's published figure, its
    statistical neighbours' average and England (columns as :data:`metrics.benchmarks.SERIES_COLUMNS`,
    ``metric`` = the measure's key). Empty for a KPI without context measures."""
    frames = []
    for m in context_measures(metric_id):
        s = bm.source_series(m.source, la_code, data_dir)
        frames.append(s[~s["series"].str.startswith("Region: ")])
    if not frames:
        bm.la_info(la_code, data_dir)  # validates the code
        return pd.DataFrame(columns=list(bm.SERIES_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def latest_year(metric_id: str, data_dir: str | Path | None = None, until: str | None = None) -> int | None:
    """The latest census year of a KPI's context measures (with ``until``, an ISO date: the latest whose
    reference date is on or before it)."""
    ms = context_measures(metric_id)
    if not ms:
        return None
    ys = [y for y in bm.source_years(ms[0].source, data_dir) if until is None or ms[0].source.period_end(y) <= until]
    return ys[-1] if ys else None


def neighbour_table(metric_id: str, la_code: str | int, year: int, data_dir: str | Path | None = None
                    ) -> pd.DataFrame:
    """One census year of a KPI's context measures: rows the council, its 10 statistical neighbours (nearest
    first), their average and England; columns ``area``, ``role`` (:data:`ROLE_COUNCIL` …) and one per
    measure key (float, NaN where not published). Empty for a KPI without context measures."""
    ms = context_measures(metric_id)
    info = bm.la_info(la_code, data_dir)
    code = info["la_code"]
    if not ms:
        return pd.DataFrame(columns=["area", "role"])
    neighbours = bm.statistical_neighbours(code, data_dir)
    names = {}
    rows: dict[str, dict] = {}
    order = [(code, ROLE_COUNCIL)] + [(nb, ROLE_NEIGHBOUR) for nb in neighbours]
    for m in ms:
        la = bm.la_values(m.source, year, data_dir)  # a RangeIndex: positions are labels
        codes = la["codes"].tolist()
        for c, role in order:
            i = _position(codes, c, exclude=None if role == ROLE_COUNCIL else code)
            if i is not None:
                names.setdefault(c, la.at[i, "la_name"])
            rows.setdefault(c, {})[m.key] = float(la.at[i, "value"]) if i is not None else math.nan
        s = bm.source_series(m.source, code, data_dir)
        s = s[s["time_period"] == year]
        for series, role in ((bm.SERIES_SN_AVERAGE, ROLE_AVERAGE), (bm.SERIES_ENGLAND, ROLE_ENGLAND)):
            v = s.loc[s["series"] == series, "value"]
            rows.setdefault(role, {})[m.key] = float(v.iloc[0]) if len(v) else math.nan
    out = []
    for c, role in order:
        out.append({"area": names.get(c) or (info["la_name"] if role == ROLE_COUNCIL else c), "role": role,
                    **rows[c]})
    out.append({"area": "Statistical neighbours (average)", "role": ROLE_AVERAGE, **rows[ROLE_AVERAGE]})
    out.append({"area": "England", "role": ROLE_ENGLAND, **rows[ROLE_ENGLAND]})
    return pd.DataFrame(out, columns=["area", "role", *(m.key for m in ms)])


# --- as known at a review ----------------------------------------------------------------------------


#: How many years of a KPI's own published benchmark the standing table shows at a review (the latest ones).
STANDING_YEARS = 3


@dataclass(frozen=True)
class ReviewContext:
    """A KPI's published context as known at one review (:func:`at_review`)."""

    at: str  # ISO date of the review
    standing: pd.DataFrame  # :func:`standing_table`, reference dates on or before ``at``
    series: pd.DataFrame  # :func:`context_series`, reference dates on or before ``at``
    year: int | None  # the latest census year on or before ``at`` (None: no context measures, or none yet)
    neighbours: pd.DataFrame | None  # :func:`neighbour_table` of ``year``


def at_review(metric_id: str, la_code: str | int, at: str, data_dir: str | Path | None = None) -> ReviewContext:
    """A KPI's published context as known at the review of ``at`` (ISO date): only figures whose reference
    date is on or before it — a review of September 2023 shows the census of 30 September 2023 at the latest,
    never a later year's. The KPI page and the packs both call this (one rule for every surface). An unknown
    LA code raises ``ValueError``."""
    at = str(at)[:10]
    year = latest_year(metric_id, data_dir, until=at)
    series = context_series(metric_id, la_code, data_dir)
    return ReviewContext(
        at=at, standing=standing_table(metric_id, la_code, data_dir, until=at, years=STANDING_YEARS),
        series=series[series["period_end"].astype(str) <= at].reset_index(drop=True), year=year,
        neighbours=neighbour_table(metric_id, la_code, year, data_dir) if year else None)
