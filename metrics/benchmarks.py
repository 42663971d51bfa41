"""Published DfE benchmarks: England, the council's region, its statistical neighbours, and the
council's own published figure, for the KPIs that have a published equivalent.

Pure pandas. The data are DfE official statistics (Open Government Licence v3.0) bundled in
``data/benchmarks/`` — see the README there for sources, definitions and data quirks.

Public API:

* :data:`SOURCES` — the published measures (what is published, where, caveats), by source key.
* :data:`BENCHMARKED_METRICS` — KPI id → its :class:`BenchmarkSource`, for each KPI whose declaration
  names one (``metrics.kpis.KPI.benchmark``): the link lives in the KPI's declaration, the data here.
* :func:`statistical_neighbours` — the 10 DfE statistical neighbours of an LA, nearest first.
* :func:`la_info` — an LA's published name and region.
* :func:`benchmark_series` — a tidy frame of benchmark values for one KPI and one LA;
  :func:`source_series` the same for any published measure (a :class:`BenchmarkSource`).
* :func:`la_values` — every LA's published value of a measure in one year (ranks: ``metrics.context``).

LA codes are the DfE "old" three-digit codes (884 = Herefordshire), given as ``str`` or ``int``.
Suppressed or unreliable cells (``c``, ``u``, ``x``, ``z``, ``low``) and blanks become NaN, never 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd

from metrics.kpis import View

DEFAULT_DATA_DIR: Path = Path(__file__).resolve().parent.parent / "data" / "benchmarks"

PUBLISHER = "Department for Education (DfE)"
LICENCE = "Open Government Licence v3.0"

SN_FILE = "sn_model_2025_wide.csv"
WORKFORCE_FILE = "csww_indicators_2017_to_2025.csv"
CLA_SW_FILE = "la_cla_swcount.csv"

#: Cell values that mean "no published value" (suppressed, unreliable, not available, not applicable).
SUPPRESSION_CODES: frozenset[str] = frozenset({"c", "u", "x", "z", "low"})

#: Columns of every frame returned by :func:`benchmark_series`, in order.
SERIES_COLUMNS: tuple[str, ...] = ("metric", "series", "time_period", "period_end", "value", "n")

SERIES_ENGLAND = "England"
SERIES_SN_AVERAGE = "Statistical neighbours (average)"
N_NEIGHBOURS = 10

LEVEL_NATIONAL = "National"
LEVEL_REGIONAL = "Regional"
LEVEL_LA = "Local authority"


@dataclass(frozen=True)
class BenchmarkSource:
    """Where a KPI's published benchmark comes from and how far it is comparable."""

    label: str
    file: str
    value_column: str
    first_year: int
    last_year: int
    #: month-day (``MM-DD``) of the reference date within ``time_period``
    period_end_month_day: str
    measured_at: str
    publication: str
    definition: str
    caveat: str
    #: extra (column, value) equality filters selecting the measure's rows in ``file``
    row_filter: tuple[tuple[str, str], ...] = ()
    unit: str = "percent"
    publisher: str = PUBLISHER
    licence: str = LICENCE
    metric_id: str = ""  # the KPI it is linked to (set in BENCHMARKED_METRICS from the KPI's declaration)
    #: Where the published definition differs from the KPI's, in a few words for a chart's legend and the
    #: pack page ("" = the same definition). Charts and packs print it beside the published figures.
    differs: str = ""

    def period_end(self, year: int) -> str:
        """ISO date of the published figure for ``time_period`` = ``year``."""
        return f"{int(year):04d}-{self.period_end_month_day}"


#: Source key → the published measure. A KPI links to one by naming its key (``KPI.benchmark``).
SOURCES: dict[str, BenchmarkSource] = {
    "dfe_workforce_agency_rate": BenchmarkSource(
        label="Agency social workers (% of FTE), DfE workforce census",
        file=WORKFORCE_FILE,
        value_column="agency_rate_fte",
        first_year=2017,
        last_year=2025,
        period_end_month_day="09-30",
        measured_at="30 September of time_period",
        publication="Children's social work workforce (explore-education-statistics)",
        definition=(
            "Agency FTE ÷ (agency FTE + directly employed FTE), children and family social "
            "workers, at 30 September."
        ),
        caveat=(
            "Same definition as our KPI, but DfE's is a single 30 September snapshot each year; ours "
            "is month-end. Compare our September value with the published figure."
        ),
    ),
    "dfe_cla_three_plus_social_workers": BenchmarkSource(
        label="Children looked after with 3+ social workers in the year (%), DfE",
        file=CLA_SW_FILE,
        value_column="percentage",
        first_year=2024,
        last_year=2024,
        period_end_month_day="03-31",
        measured_at="31 March of time_period (children looked after on that date)",
        publication="Children looked after in England including adoptions (explore-education-statistics)",
        definition=(
            "Children looked after on 31 March who had 3 or more social workers during the year "
            "(the 12 months to 31 March) ÷ all children looked after on 31 March."
        ),
        caveat=(
            "DfE's measure covers children looked after only; ours covers all children with an open "
            "allocation (children in need, child protection and looked after), so it is a reference "
            "point, not a like-for-like comparison. DfE rounds the percentage to a whole number."
        ),
        differs="children in care only",
        row_filter=(
            ("cla_group", "CLA on 31 March"),
            ("sw_stability", "3 or more social workers during the year"),
        ),
    ),
}

#: KPI id → its published benchmark, for every KPI whose declaration names a source (always current).
BENCHMARKED_METRICS: View[BenchmarkSource] = View(
    lambda k: replace(SOURCES[k.benchmark], metric_id=k.id) if k.benchmark else None)


# --------------------------------------------------------------------------------------------
# Reading


def _data_dir(data_dir: str | Path | None) -> Path:
    return DEFAULT_DATA_DIR if data_dir is None else Path(data_dir)


@lru_cache(maxsize=32)
def _read_cached(path: str) -> pd.DataFrame:
    # Everything as text (old_la_code would otherwise become float, 884.0, because National and
    # Regional rows leave it blank); utf-8-sig strips the BOM some files carry.
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda col: col.str.strip())


def _read(data_dir: str | Path | None, name: str) -> pd.DataFrame:
    """The CSV ``name`` (all text, stripped). Cached per resolved path: do not mutate the result."""
    path = (_data_dir(data_dir) / name).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"benchmark file not found: {path}")
    return _read_cached(str(path))


#: Caches of other modules derived from these files (``functools.lru_cache`` functions, e.g.
#: ``metrics.context``'s standings): :func:`clear_cache` clears them too.
DERIVED_CACHES: list = []


def clear_cache() -> None:
    """Forget cached CSV reads and what was derived from them (e.g. after the files in data/benchmarks
    are replaced)."""
    for cached in DERIVED_CACHES:
        cached.cache_clear()
    _read_cached.cache_clear()
    _sn_index.cache_clear()
    _la_info_cached.cache_clear()
    _measure_rows_cached.cache_clear()
    _la_values_cached.cache_clear()
    _la_positions.cache_clear()
    _la_entries.cache_clear()
    _area_per_year.cache_clear()
    _source_series_cached.cache_clear()


def _to_number(values: pd.Series, *, what: str) -> pd.Series:
    """Text → float. Suppression codes and blanks become NaN; anything else unparseable raises."""
    text = values.astype(str).str.strip()
    missing = text.eq("") | text.str.lower().isin(SUPPRESSION_CODES)
    out = pd.to_numeric(text.where(~missing), errors="coerce").astype(float)
    bad = out.isna() & ~missing
    if bad.any():
        examples = sorted(set(text[bad]))[:5]
        raise ValueError(f"unexpected non-numeric value(s) in {what}: {examples}")
    return out


# --------------------------------------------------------------------------------------------
# LA codes


def _normalise_code(la_code: str | int) -> str:
    if isinstance(la_code, bool):
        raise ValueError(f"Invalid local authority code: {la_code!r}")
    if isinstance(la_code, float) and la_code.is_integer():
        la_code = int(la_code)
    text = str(la_code).strip()
    m = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    if not m:
        raise ValueError(f"Invalid local authority code: {la_code!r} (expected a DfE code such as 884)")
    return str(int(m.group(1)))


def _code_parts(code_cell: str) -> tuple[str, ...]:
    """``"314 / 318"`` → ``("314", "318")``; ``"884"`` → ``("884",)``; blank → ``()``."""
    cell = str(code_cell).strip()
    if cell.isascii() and cell.isdigit():  # the usual one code: what _normalise_code gives, without its regex
        return (str(int(cell)),)
    parts = []
    for p in str(code_cell).split("/"):
        p = p.strip()
        if p:
            try:
                parts.append(_normalise_code(p))
            except ValueError:
                parts.append(p)
    return tuple(parts)


def _sn_row(la_code: str | int, data_dir: str | Path | None) -> pd.Series:
    code = _normalise_code(la_code)
    sn = _read(data_dir, SN_FILE)
    i = _sn_index(str((_data_dir(data_dir) / SN_FILE).resolve())).get(code)
    if i is None:
        raise ValueError(
            f"Unknown local authority code {code!r}: not a current LA in the DfE statistical "
            f"neighbours model ({SN_FILE})"
        )
    return sn.iloc[i]


@lru_cache(maxsize=32)
def _sn_index(path: str) -> dict[str, int]:
    """LA code → position of its own (not joint) row in the statistical neighbours file (the first one)."""
    out: dict[str, int] = {}
    for i, cell in enumerate(_read_cached(path)["old_la_code"]):
        parts = _code_parts(cell)
        if len(parts) == 1:
            out.setdefault(parts[0], i)
    return out


def statistical_neighbours(la_code: str | int, data_dir: str | Path | None = None) -> list[str]:
    """The LA's 10 DfE statistical neighbours (codes as strings), in order SN_1..SN_10 (nearest first).

    Raises ``ValueError`` for a code that is not a current LA in the model.
    """
    row = _sn_row(la_code, data_dir)
    out = []
    for i in range(1, N_NEIGHBOURS + 1):
        cell = row.get(f"SN_{i}", "")
        if str(cell).strip():
            out.append(_normalise_code(cell))
    return out


@lru_cache(maxsize=32)
def _la_positions(path: str) -> dict[str, list[int]]:
    """LA code → positions, in file order, of the LA-level rows of the CSV at ``path`` whose ``old_la_code`` is
    that code or a joint code containing it: every code at once, so a portfolio of councils reads the file's
    codes once, not once per council."""
    df = _read_cached(path)
    out: dict[str, list[int]] = {}
    for i, (level, cell) in enumerate(zip(df["geographic_level"], df["old_la_code"])):
        if level == LEVEL_LA:
            for code in dict.fromkeys(_code_parts(cell)):
                out.setdefault(code, []).append(i)
    return out


def la_info(la_code: str | int, data_dir: str | Path | None = None) -> dict:
    """The LA's code, name and region as published.

    Name and region come from the workforce census LA rows (latest year). London boroughs get
    "Inner London" or "Outer London", as there. Falls back to the statistical neighbours file.
    Raises ``ValueError`` for a code that is not a current LA.
    """
    return dict(_la_info_cached(_normalise_code(la_code), str(_data_dir(data_dir).resolve())))


@lru_cache(maxsize=256)
def _la_info_cached(code: str, data_dir: str) -> dict:
    """:func:`la_info` (cached per code and data directory: do not mutate the result)."""
    sn_row = _sn_row(code, data_dir)
    info = {
        "la_code": code,
        "la_name": sn_row.get("la_name", ""),
        "region_name": sn_row.get("region_name", ""),
    }
    try:
        wf = _read(data_dir, WORKFORCE_FILE)
    except FileNotFoundError:
        return info
    rows = wf.iloc[_la_positions(str((_data_dir(data_dir) / WORKFORCE_FILE).resolve())).get(code, [])]
    if rows.empty:
        return info
    rows = rows.assign(_year=pd.to_numeric(rows["time_period"], errors="coerce")).sort_values("_year")
    if rows["region_name"].str.len().gt(0).any():
        info["region_name"] = rows.loc[rows["region_name"] != "", "region_name"].iloc[-1]
    exact = rows[rows["old_la_code"].map(lambda c: _code_parts(c) == (code,))]
    if not exact.empty and exact["la_name"].iloc[-1]:
        info["la_name"] = exact["la_name"].iloc[-1]
    return info


# --------------------------------------------------------------------------------------------
# Series


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric": pd.Series(dtype=str),
            "series": pd.Series(dtype=str),
            "time_period": pd.Series(dtype="int64"),
            "period_end": pd.Series(dtype=str),
            "value": pd.Series(dtype=float),
            "n": pd.Series(dtype="int64"),
        }
    )


def _measure_rows(src: BenchmarkSource, data_dir: str | Path | None) -> pd.DataFrame:
    """The measure's rows with ``year`` (int), ``value`` (float, NaN where suppressed) and ``codes``
    (the LA codes a row covers, as a tuple). Cached: do not mutate the result."""
    _read(data_dir, src.file)  # raises FileNotFoundError with the path if missing
    return _measure_rows_cached(str((_data_dir(data_dir) / src.file).resolve()), src)


@lru_cache(maxsize=32)
def _measure_rows_cached(path: str, src: BenchmarkSource) -> pd.DataFrame:
    df = _read_cached(path)
    for col, val in src.row_filter:
        df = df[df[col] == val]
    df = df[df["time_period"].str.fullmatch(r"\d{4}")]
    blank = pd.Series("", index=df.index, dtype=str)
    out = pd.DataFrame({
        "geographic_level": df["geographic_level"],
        "region_name": df["region_name"] if "region_name" in df else blank,
        "old_la_code": df["old_la_code"] if "old_la_code" in df else blank,
        "la_name": df["la_name"] if "la_name" in df else blank,
        "year": df["time_period"].astype(int),
        "value": _to_number(df[src.value_column], what=f"{src.file}:{src.value_column}"),
    })
    out["codes"] = [_code_parts(c) for c in out["old_la_code"]]
    return out.reset_index(drop=True)


def _one_per_year(rows: pd.DataFrame, what: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for year, g in rows.groupby("year", sort=True):
        vals = g["value"].drop_duplicates()
        if len(vals) > 1 and vals.notna().sum() > 1:
            raise ValueError(f"conflicting published values for {what} in {year}: {list(vals)}")
        non_missing = vals.dropna()
        out[int(year)] = float(non_missing.iloc[0]) if len(non_missing) else math.nan
    return out


@lru_cache(maxsize=256)
def _area_per_year(path: str, src: BenchmarkSource, region: str | None) -> dict[int, float]:
    """Year → England's published value of the measure (``region`` None), or that region's: the same for
    every council of the region, so worked out once (cached: do not mutate the result)."""
    rows = _measure_rows_cached(path, src)
    if region is None:
        return _one_per_year(rows[rows["geographic_level"] == LEVEL_NATIONAL], "England")
    return _one_per_year(rows[(rows["geographic_level"] == LEVEL_REGIONAL) & (rows["region_name"] == region)],
                         f"region {region}")


@lru_cache(maxsize=32)
def _la_entries(path: str, src: BenchmarkSource) -> dict[str, list[tuple[tuple[str, ...], int, float, str]]]:
    """LA code → (codes, year, value, published name) of each LA-level row of the measure covering it (its own
    row or a joint one), in the file's order: for every code at once (a portfolio asks for many)."""
    rows = _measure_rows_cached(path, src)
    la = rows[rows["geographic_level"] == LEVEL_LA]
    out: dict[str, list] = {}
    for entry in zip(la["codes"], la["year"], la["value"], la["la_name"]):
        for code in dict.fromkeys(entry[0]):
            out.setdefault(code, []).append(entry)
    return out


def _pick_per_year(entries, code: str, exclude_joint_with: str | None = None) -> dict[int, tuple[float, str]]:
    """Year → (value, published name) for LA ``code`` from the (codes, year, value, name) rows covering it: its
    own row, else a joint row containing it. A joint row that also covers ``exclude_joint_with`` is ignored
    (it is not independent of it)."""
    by_year: dict[int, list[tuple[tuple[str, ...], float, str]]] = {}
    for parts, year, value, name in entries:
        by_year.setdefault(int(year), []).append((parts, float(value), name))
    out: dict[int, tuple[float, str]] = {}
    for year in sorted(by_year):
        cands = by_year[year]
        pick = [c for c in cands if c[0] == (code,)] or [
            c for c in cands if exclude_joint_with is None or exclude_joint_with not in c[0]]
        if not pick:
            continue
        values = [v for _, v, _ in pick if not math.isnan(v)]
        out[year] = (values[0] if values else math.nan, pick[0][2])
    return out


def benchmark_series(metric_id: str, la_code: str | int, data_dir: str | Path | None = None
                     ) -> pd.DataFrame:
    """Published benchmarks for one KPI and one LA, as a tidy frame.

    Columns: ``metric``, ``series``, ``time_period`` (int), ``period_end`` (ISO date), ``value``
    (float, NaN where suppressed) and ``n``. Series:

    * ``"England"``;
    * ``"Region: <region name>"`` (the LA's region as in :func:`la_info`);
    * ``"Statistical neighbours (average)"`` — simple mean of the non-missing published values of the
      LA's 10 neighbours; ``n`` = how many neighbours had a value (value NaN when 0). A neighbour
      published only jointly (e.g. Kingston/Richmond ``314 / 318``) takes the joint figure, unless
      the joint figure also covers the LA itself, in which case it counts as missing;
    * ``"<LA name> (published)"`` — the LA's own published figure (a joint row's name when the LA is
      published jointly), for the years it has a row.

    ``n`` is 1 for all but the neighbours' average. A KPI without a published benchmark gives an empty
    frame with these columns. An unknown LA code raises ``ValueError``.
    """
    code = _normalise_code(la_code)
    src = BENCHMARKED_METRICS.get(metric_id)
    if src is None:
        la_info(code, data_dir)  # validates the code
        return _empty()
    return _source_series_cached(src, code, str(_data_dir(data_dir).resolve())).copy()


def source_series(src: BenchmarkSource, la_code: str | int, data_dir: str | Path | None = None) -> pd.DataFrame:
    """:func:`benchmark_series` for any published measure ``src`` (e.g. the workforce census's turnover
    rate, ``metrics.context``): the same series and columns, ``metric`` = ``src.metric_id``."""
    code = _normalise_code(la_code)
    return _source_series_cached(src, code, str(_data_dir(data_dir).resolve())).copy()


@lru_cache(maxsize=256)
def _source_series_cached(src: BenchmarkSource, code: str, data_dir: str) -> pd.DataFrame:
    info = la_info(code, data_dir)  # validates the code
    metric_id = src.metric_id
    rows = _measure_rows(src, data_dir)
    records: list[tuple[str, int, float, int]] = []

    path = str((_data_dir(data_dir) / src.file).resolve())
    england = _area_per_year(path, src, None)
    records += [(SERIES_ENGLAND, y, v, 1) for y, v in england.items()]

    region = info["region_name"]
    if region:
        records += [(f"Region: {region}", y, v, 1) for y, v in _area_per_year(path, src, region).items()]

    years = sorted(set(rows["year"]))
    entries = _la_entries(path, src)
    neighbour_values = [
        _pick_per_year(entries.get(nb, ()), nb, exclude_joint_with=code)
        for nb in statistical_neighbours(code, data_dir)
    ]
    for y in years:
        vals = [nv[y][0] for nv in neighbour_values if y in nv and not math.isnan(nv[y][0])]
        mean = float(sum(vals) / len(vals)) if vals else math.nan
        records.append((SERIES_SN_AVERAGE, y, mean, len(vals)))

    for y, (v, name) in _pick_per_year(entries.get(code, ()), code).items():
        records.append((f"{name or info['la_name']} (published)", y, v, 1))

    if not records:
        return _empty()
    out = pd.DataFrame(records, columns=["series", "time_period", "value", "n"])
    out.insert(0, "metric", metric_id)
    out.insert(3, "period_end", out["time_period"].map(src.period_end))
    out = out.astype({"metric": str, "series": str, "time_period": "int64", "period_end": str,
                      "value": float, "n": "int64"})
    return out[list(SERIES_COLUMNS)].reset_index(drop=True)


def la_values(src: BenchmarkSource, year: int, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every local authority's published value of ``src`` in ``year``: one row per published LA row
    (a joint row such as Kingston/Richmond ``314 / 318`` is one row), columns ``codes`` (tuple of LA
    codes the row covers), ``la_name`` and ``value`` (NaN where suppressed)."""
    _read(data_dir, src.file)  # raises FileNotFoundError with the path if missing
    by_year = _la_values_cached(str((_data_dir(data_dir) / src.file).resolve()), src)
    la = by_year.get(int(year))
    return la.copy() if la is not None else pd.DataFrame({c: [] for c in ("codes", "la_name", "value")})


@lru_cache(maxsize=32)
def _la_values_cached(path: str, src: BenchmarkSource) -> dict[int, pd.DataFrame]:
    """Year → :func:`la_values` (cached: ranks read a measure's years many times for one pack)."""
    rows = _measure_rows_cached(path, src)
    la = rows[rows["geographic_level"] == LEVEL_LA]
    return {int(y): g[["codes", "la_name", "value"]].reset_index(drop=True) for y, g in la.groupby("year")}


def source_years(src: BenchmarkSource, data_dir: str | Path | None = None) -> list[int]:
    """The years ``src`` has rows for, oldest first."""
    return sorted(int(y) for y in set(_measure_rows(src, data_dir)["year"]))
