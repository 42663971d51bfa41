"""Tests for metrics.benchmarks (published DfE benchmarks)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from metrics import benchmarks as bm
from metrics.benchmarks import (
    BENCHMARKED_METRICS,
    SERIES_COLUMNS,
    BenchmarkSource,
    benchmark_series,
    la_info,
    statistical_neighbours,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "benchmarks"
SUPPRESSED = {"c", "u", "x", "z", "low", ""}

HEREFORDSHIRE = "884"
HEREFORDSHIRE_PUBLISHED = {2021: 32.5, 2022: 54.9, 2023: 55.2, 2024: 33.9, 2025: 18.3}
ENGLAND_AGENCY = {2021: 15.5, 2022: 17.6, 2023: 17.9, 2024: 16.2, 2025: 13.0}


def _series(df: pd.DataFrame, name: str) -> dict[int, float]:
    part = df[df["series"] == name]
    return dict(zip(part["time_period"].astype(int), part["value"].astype(float)))


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


# --- data files --------------------------------------------------------------------------------


def test_bundled_files_and_readme_present():
    for name in ("csww_indicators_2017_to_2025.csv", "la_cla_swcount.csv", "sn_model_2025_wide.csv",
                 "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv", "README.md"):
        assert (DATA_DIR / name).is_file(), name
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in readme
    assert "Department for Education" in readme
    assert bm.DEFAULT_DATA_DIR == DATA_DIR


def test_benchmarked_metrics_registry():
    assert set(BENCHMARKED_METRICS) == {"agency_rate", "three_plus_social_workers"}
    for metric_id, src in BENCHMARKED_METRICS.items():
        assert isinstance(src, BenchmarkSource)
        assert src.metric_id == metric_id
        assert src.publisher.startswith("Department for Education")
        assert src.licence == "Open Government Licence v3.0"
        assert src.label and src.definition and src.caveat
        assert (DATA_DIR / src.file).is_file()
    with pytest.raises(Exception):
        BENCHMARKED_METRICS["agency_rate"].label = "x"  # frozen
    assert "looked after" in BENCHMARKED_METRICS["three_plus_social_workers"].caveat
    assert BENCHMARKED_METRICS["agency_rate"].period_end(2024) == "2024-09-30"
    assert BENCHMARKED_METRICS["three_plus_social_workers"].period_end(2024) == "2024-03-31"


def test_benchmarked_ids_are_kpi_ids():
    from metrics.contract import KPI_IDS

    assert set(BENCHMARKED_METRICS) <= set(KPI_IDS)


# --- Herefordshire -----------------------------------------------------------------------------


def test_herefordshire_agency_rate_published_and_england():
    df = benchmark_series("agency_rate", HEREFORDSHIRE)
    assert list(df.columns) == list(SERIES_COLUMNS)
    info = la_info(HEREFORDSHIRE)
    own = _series(df, f"{info['la_name']} (published)")
    england = _series(df, "England")
    for year, expected in HEREFORDSHIRE_PUBLISHED.items():
        assert own[year] == pytest.approx(expected)
    for year, expected in ENGLAND_AGENCY.items():
        assert england[year] == pytest.approx(expected)
    assert set(df["metric"]) == {"agency_rate"}
    assert set(df["time_period"]) == set(range(2017, 2026))
    assert (df["period_end"] == df["time_period"].map(lambda y: f"{y}-09-30")).all()
    assert df["value"].dtype == float
    assert set(df["series"]) == {
        "England", "Region: West Midlands", "Statistical neighbours (average)",
        "Herefordshire, County of (published)",
    }
    assert (df.loc[df["series"] != "Statistical neighbours (average)", "n"] == 1).all()


def test_herefordshire_info_and_region():
    info = la_info(884)
    assert info["region_name"] == "West Midlands"
    assert info["la_name"] == "Herefordshire, County of"
    assert info["la_code"] == "884"


def test_herefordshire_has_ten_neighbours_in_order():
    sn = statistical_neighbours(884)
    assert len(sn) == 10
    assert all(isinstance(c, str) for c in sn)
    with open(DATA_DIR / "sn_model_2025_wide.csv", newline="", encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["old_la_code"] == "884")
    assert sn == [row[f"SN_{i}"] for i in range(1, 11)]
    assert statistical_neighbours("884") == statistical_neighbours(884)


def _hand_sn_mean(la_code: str, year: str) -> tuple[float, int]:
    """Mean of the neighbours' agency_rate_fte for ``year``, via the csv module only."""
    sn_row = next(r for r in _csv_rows("sn_model_2025_wide.csv") if r["old_la_code"] == la_code)
    neighbours = [sn_row[f"SN_{i}"] for i in range(1, 11)]
    by_code = {
        r["old_la_code"]: r["agency_rate_fte"]
        for r in _csv_rows("csww_indicators_2017_to_2025.csv")
        if r["time_period"] == year and r["geographic_level"] == "Local authority"
    }
    values = [float(by_code[c]) for c in neighbours if c in by_code and by_code[c] not in SUPPRESSED]
    return sum(values) / len(values), len(values)


@pytest.mark.parametrize("year", [2024, 2022])
def test_sn_average_matches_hand_computed_mean(year):
    expected, n = _hand_sn_mean("884", str(year))
    df = benchmark_series("agency_rate", 884)
    row = df[(df["series"] == "Statistical neighbours (average)") & (df["time_period"] == year)]
    assert len(row) == 1
    assert row["value"].iloc[0] == pytest.approx(expected)
    assert row["n"].iloc[0] == n
    # Westmorland and Furness (943) only exists from 2023, so one neighbour is missing in 2022.
    assert n == (10 if year == 2024 else 9)


# --- suppression -------------------------------------------------------------------------------


def test_real_suppressed_cell_is_nan_not_zero():
    # Sunderland (394) agency_rate_fte is published as "low" in 2025; Kensington and Chelsea (207)
    # as "x" in 2021-2025.
    raw = {(r["old_la_code"], r["time_period"]): r["agency_rate_fte"]
           for r in _csv_rows("csww_indicators_2017_to_2025.csv")}
    assert raw[("394", "2025")] == "low"
    assert raw[("207", "2024")] == "x"
    sunderland = _series(benchmark_series("agency_rate", 394), "Sunderland (published)")
    assert math.isnan(sunderland[2025])
    kc = _series(benchmark_series("agency_rate", "207"), "Kensington and Chelsea (published)")
    assert math.isnan(kc[2024])
    # Isles of Scilly had no looked-after children: 3+ social workers published as "z".
    scilly = _series(benchmark_series("three_plus_social_workers", 420), "Isles of Scilly (published)")
    assert math.isnan(scilly[2024])


def _write(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A minimal data dir: LA 100 with neighbours 101..110; 101 suppressed ('c'), 102 blank."""
    sn_header = ["old_la_code", "la_name", "region_ind", "region_name"]
    for i in range(1, 11):
        sn_header += [f"SN_{i}", f"SN_{i}P"]
    sn_row = ["100", "Testshire", "1", "Test Region"]
    for c in range(101, 111):
        sn_row += [str(c), "Close"]
    _write(tmp_path / "sn_model_2025_wide.csv", sn_header, [sn_row], bom=True)

    header = ["time_period", "time_identifier", "geographic_level", "region_name", "old_la_code",
              "la_name", "agency_rate_fte"]
    rows = [
        ["2024", "Reporting year", "National", "", "", "", "10"],
        ["2024", "Reporting year", "Regional", "Test Region", "", "", "z"],
        ["2024", "Reporting year", "Local authority", "Test Region", "100", "Testshire", "c"],
        ["2024", "Reporting year", "Local authority", "Test Region", "101", "N101", "c"],
        ["2024", "Reporting year", "Local authority", "Test Region", "102", "N102", ""],
    ]
    rows += [["2024", "Reporting year", "Local authority", "Test Region", str(c), f"N{c}", str(c - 100)]
             for c in range(103, 111)]
    _write(tmp_path / "csww_indicators_2017_to_2025.csv", header, rows)
    return tmp_path


def test_fixture_suppressed_cells_are_nan_and_excluded_from_sn_average(tiny_data):
    bm.clear_cache()
    df = benchmark_series("agency_rate", 100, data_dir=tiny_data)
    assert _series(df, "England") == {2024: 10.0}
    assert math.isnan(_series(df, "Region: Test Region")[2024])
    assert math.isnan(_series(df, "Testshire (published)")[2024])
    sn = df[df["series"] == "Statistical neighbours (average)"]
    # neighbours 103..110 have values 3..10; 101 ('c') and 102 (blank) are missing, not 0
    assert sn["value"].iloc[0] == pytest.approx(sum(range(3, 11)) / 8)
    assert sn["n"].iloc[0] == 8
    assert la_info(100, data_dir=tiny_data) == {
        "la_code": "100", "la_name": "Testshire", "region_name": "Test Region"}


def test_sn_average_is_nan_when_no_neighbour_has_a_value(tmp_path):
    sn_header = ["old_la_code", "la_name", "region_ind", "region_name"]
    for i in range(1, 11):
        sn_header += [f"SN_{i}", f"SN_{i}P"]
    sn_row = ["100", "Testshire", "1", "Test Region"] + [x for c in range(101, 111) for x in (str(c), "")]
    _write(tmp_path / "sn_model_2025_wide.csv", sn_header, [sn_row])
    _write(tmp_path / "csww_indicators_2017_to_2025.csv",
           ["time_period", "geographic_level", "region_name", "old_la_code", "la_name", "agency_rate_fte"],
           [["2024", "National", "", "", "", "10"],
            ["2024", "Local authority", "Test Region", "101", "N101", "u"]])
    df = benchmark_series("agency_rate", "100", data_dir=tmp_path)
    sn = df[df["series"] == "Statistical neighbours (average)"]
    assert math.isnan(sn["value"].iloc[0])
    assert sn["n"].iloc[0] == 0


def test_unexpected_text_in_value_column_raises(tmp_path):
    sn_header = ["old_la_code", "la_name", "region_ind", "region_name"] + [
        x for i in range(1, 11) for x in (f"SN_{i}", f"SN_{i}P")]
    _write(tmp_path / "sn_model_2025_wide.csv", sn_header,
           [["100", "Testshire", "1", "R"] + [x for c in range(101, 111) for x in (str(c), "")]])
    _write(tmp_path / "csww_indicators_2017_to_2025.csv",
           ["time_period", "geographic_level", "region_name", "old_la_code", "la_name", "agency_rate_fte"],
           [["2024", "National", "", "", "", "n/a?"]])
    with pytest.raises(ValueError, match="non-numeric"):
        benchmark_series("agency_rate", 100, data_dir=tmp_path)


# --- other LAs, errors, other metrics ------------------------------------------------------------


def test_another_la_works():
    info = la_info(301)
    assert info["la_name"] == "Barking and Dagenham"
    assert info["region_name"] == "Outer London"  # as the workforce census files London boroughs
    assert len(statistical_neighbours(301)) == 10
    df = benchmark_series("agency_rate", "301")
    assert "Barking and Dagenham (published)" in set(df["series"])
    assert "Region: Outer London" in set(df["series"])
    assert df["value"].notna().any()
    assert not df.empty


def test_jointly_published_la():
    # Kingston (314) and Richmond (318) are published jointly as "314 / 318" in the workforce census.
    df = benchmark_series("agency_rate", 314)
    joint = _series(df, "Kingston upon Thames / Richmond upon Thames (published)")
    assert joint[2025] == pytest.approx(14.9)
    # 318 is one of 314's neighbours, but its only figure is the joint one (which includes 314
    # itself), so it does not count towards the neighbours' average.
    assert "318" in statistical_neighbours(314)
    sn = df[(df["series"] == "Statistical neighbours (average)") & (df["time_period"] == 2025)]
    assert sn["n"].iloc[0] == 9


@pytest.mark.parametrize("bad", ["999", 999, "abc", "", "314 / 318"])
def test_unknown_la_code_raises_value_error(bad):
    with pytest.raises(ValueError, match=str(bad) if bad not in ("", "314 / 318") else "code"):
        statistical_neighbours(bad)
    with pytest.raises(ValueError):
        benchmark_series("agency_rate", bad)
    with pytest.raises(ValueError):
        la_info(bad)


def test_unknown_code_message_names_the_code():
    with pytest.raises(ValueError, match="'999'"):
        statistical_neighbours(999)


def test_three_plus_social_workers_england_2024():
    df = benchmark_series("three_plus_social_workers", 884)
    assert _series(df, "England") == {2024: 27.0}
    assert _series(df, "Region: West Midlands") == {2024: 27.0}
    assert _series(df, "Herefordshire, County of (published)") == {2024: 44.0}
    assert set(df["period_end"]) == {"2024-03-31"}
    sn = df[df["series"] == "Statistical neighbours (average)"]
    assert sn["n"].iloc[0] == 10


@pytest.mark.parametrize("metric_id", ["assessment_nfa_rate", "audits_good_or_better",
                                       "permanent_team_managers", "no_such_metric"])
def test_metric_without_benchmark_returns_empty_frame(metric_id):
    df = benchmark_series(metric_id, 884)
    assert df.empty
    assert list(df.columns) == list(SERIES_COLUMNS)


def test_csv_reads_are_cached():
    bm.clear_cache()
    benchmark_series("agency_rate", 884)
    misses = bm._read_cached.cache_info().misses
    benchmark_series("agency_rate", 301)
    benchmark_series("agency_rate", 884)
    info = bm._read_cached.cache_info()
    assert info.misses == misses
    assert info.hits > 0


def test_returned_frame_is_a_copy():
    first = benchmark_series("agency_rate", 884)
    first["value"] = 0.0
    again = benchmark_series("agency_rate", 884)
    assert _series(again, "England")[2025] == pytest.approx(13.0)
