"""KPI computation benchmark: all ten KPIs for 36 months over a large store. Goal: ≤ 2 s.

The store holds 1,000,000 assessments, 1,000,000 allocation episodes (over 36 monthly allocation
snapshots), 200,000 conferences, and workforce, audits, complaints and milestones for 36 months,
plus a superseded upload for some months (whose rows must be skipped, not counted). It is written
directly with ``executemany`` into a store made by :func:`metrics.store.connect`, with upload rows
and ``current_months`` pointers as ingest would leave them (far faster than CSV ingest; the ingest
path has its own benchmark). Identifiers are 32-hex-character strings like real pseudonyms.

Run: ``.venv/bin/python bench/bench_kpis.py [--db PATH] [--rebuild]`` (the store is kept and reused).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from metrics.store import scopes_and_months

GOAL_S = 2.0
MONTHS = [f"{y:04d}-{m:02d}" for y in (2022, 2023, 2024, 2025) for m in range(1, 13)][3:39]  # 2022-04..2025-03
N_ASSESSMENTS = 1_000_000
N_ALLOCATIONS = 1_000_000
N_CONFERENCES = 200_000
SUPERSEDED_MONTHS = MONTHS[-3:]  # these months also hold an earlier, superseded upload of each big kind
TEAMS = np.array(["Front Door", "Assessment North", "Assessment South", "Child Protection North",
                  "Child Protection South", "Children in Care"])


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct-looking 32-hex-char pseudonyms."""
    a = rng.integers(0, 2**63, n, dtype=np.int64)
    b = rng.integers(0, 2**63, n, dtype=np.int64)
    return np.array([f"{x:016x}{y:016x}" for x, y in zip(a.tolist(), b.tolist())], dtype=object)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _month_bounds(month: str) -> tuple[np.datetime64, np.datetime64]:
    start = np.datetime64(month + "-01")
    return start, (np.datetime64(month) + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")


class Builder:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def upload(self, kind: str, months: list[str], rows: int, as_of: str | None = None,
               current: bool = True) -> int:
        cur = self.conn.execute(
            "INSERT INTO uploads (kind, months, rows, sha256, file_name, uploaded_by, uploaded_at, status,"
            " warnings, as_of) VALUES (?, ?, ?, ?, ?, 'bench', '2025-04-02T09:00:00Z', ?, '[]', ?)",
            (kind, json.dumps(months), rows, "0" * 64, f"{kind}.csv", "current" if current else "superseded",
             as_of))
        uid = int(cur.lastrowid)
        pairs = scopes_and_months(kind, None, months)  # as ingest: a conferences file covers both types
        self.conn.executemany("INSERT INTO upload_months (upload_id, kind, scope, month) VALUES (?, ?, ?, ?)",
                              [(uid, kind, s, m) for s, m in pairs])
        if current:
            self.conn.executemany(
                "INSERT INTO current_months (kind, scope, month, upload_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, scope, month) DO UPDATE SET upload_id = excluded.upload_id",
                [(kind, s, m, uid) for s, m in pairs])
        return uid

    def rows(self, kind: str, columns: list[str], data: list) -> None:
        sql = f"INSERT INTO rec_{kind} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.conn.executemany(sql, zip(*data))


def build(path: Path, seed: int = 7) -> dict[str, int]:
    from metrics.store import connect

    rng = np.random.default_rng(seed)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    conn = connect(path)
    b = Builder(conn)
    counts: dict[str, int] = {}
    children = _hex_ids(rng, 60_000)
    workers = _hex_ids(rng, 1_500)
    conn.execute("BEGIN IMMEDIATE")

    # event kinds: one upload per month (plus an earlier, superseded one for the last three months)
    def events(kind: str, total: int, make) -> None:
        per = np.full(len(MONTHS), total // len(MONTHS))
        per[: total % len(MONTHS)] += 1
        for month, n in zip(MONTHS, per.tolist()):
            lo, hi = _month_bounds(month)
            for current in ((False, True) if month in SUPERSEDED_MONTHS else (True,)):
                m = n if current else n // 2
                uid = b.upload(kind, [month], m, current=current)
                day = lo + rng.integers(0, int((hi - lo).astype(int)) + 1, m)
                cols, data = make(m, day)
                b.rows(kind, ["upload_id", "month", *cols], [[uid] * m, [month] * m, *data])
                counts[kind] = counts.get(kind, 0) + (m if current else 0)

    events("assessments", N_ASSESSMENTS, lambda n, day: (
        ["assessment_id", "child_id", "start_date", "completed_date", "nfa", "team"],
        [_hex_ids(rng, n).tolist(), children[rng.integers(0, len(children), n)].tolist(),
         _dates(day - rng.integers(0, 45, n)).tolist(), _dates(day).tolist(),
         (rng.random(n) < 0.3).astype(int).tolist(), TEAMS[rng.integers(0, 3, n)].tolist()]))
    events("conferences", N_CONFERENCES, lambda n, day: (
        ["conference_id", "child_id", "conference_type", "conference_date", "format"],
        [_hex_ids(rng, n).tolist(), children[rng.integers(0, len(children), n)].tolist(),
         np.array(["initial", "review"])[rng.integers(0, 2, n)].tolist(), _dates(day).tolist(),
         np.array(["face_to_face", "hybrid", "virtual"])[rng.integers(0, 3, n)].tolist()]))
    events("audits", 36 * 40, lambda n, day: (
        ["audit_id", "audit_date", "grade", "child_id", "team"],
        [_hex_ids(rng, n).tolist(), _dates(day).tolist(),
         np.array(["outstanding", "good", "requires_improvement", "inadequate"])[rng.integers(0, 4, n)].tolist(),
         children[rng.integers(0, len(children), n)].tolist(), TEAMS[rng.integers(0, 6, n)].tolist()]))

    # snapshot kinds: one upload per month
    per_alloc = N_ALLOCATIONS // len(MONTHS)
    for i, month in enumerate(MONTHS):
        lo, hi = _month_bounds(month)
        as_of = str(hi)
        n = per_alloc + (1 if i < N_ALLOCATIONS % len(MONTHS) else 0)
        # ~2.3 episodes per child: children drawn from a pool, start dates over the previous 2 years,
        # a third still open; (child, worker, start) is the contract's key, so make it unique.
        child = children[rng.integers(0, 12_000, n) + (i * 1_000) % 48_000]
        start = hi - rng.integers(0, 730, n)
        length = rng.integers(1, 400, n)
        end = start + length
        open_ = (rng.random(n) < 0.35) | (end > hi)
        end_s = np.where(open_, None, _dates(np.minimum(end, hi)))
        uid = b.upload("allocations", [month], n, as_of=as_of)
        b.rows("allocations", ["upload_id", "month", "child_id", "worker_id", "start_date", "end_date",
                               "change_reason"],
               [[uid] * n, [month] * n, child.tolist(), workers[rng.integers(0, len(workers), n)].tolist(),
                _dates(start).tolist(), end_s.tolist(), [None] * n])
        counts["allocations"] = counts.get("allocations", 0) + n

        w = 400
        role = np.array(["senior_manager", "middle_manager", "team_manager", "senior_practitioner",
                         "case_holder", "qualified_no_cases", "other"])[rng.choice(7, w, p=[.02, .05, .08, .15, .55, .05, .10])]
        wend = np.where(rng.random(w) < 0.05, _dates(hi - rng.integers(-20, 20, w)), None)
        uid = b.upload("workforce", [month], w, as_of=as_of)
        b.rows("workforce", ["upload_id", "month", "worker_id", "role", "agency", "fte", "team", "start_date",
                             "end_date"],
               [[uid] * w, [month] * w, workers[:w].tolist(), role.tolist(), (rng.random(w) < 0.4).astype(int).tolist(),
                np.round(rng.choice([0.5, 0.6, 0.8, 1.0], w), 1).tolist(), TEAMS[rng.integers(0, 6, w)].tolist(),
                _dates(hi - rng.integers(0, 2000, w)).tolist(), wend.tolist()])

        c = 200
        rec = np.datetime64("2021-01-01") + rng.integers(0, 1500, c)
        closed = np.where(rng.random(c) < 0.5, None, _dates(rec + rng.integers(0, 300, c)))
        uid = b.upload("complaints", [month], c, as_of=as_of)
        b.rows("complaints", ["upload_id", "month", "complaint_id", "received_date", "closed_date", "stage"],
               [[uid] * c, [month] * c, [f"CO{j:05d}" for j in range(c)], _dates(rec).tolist(), closed.tolist(),
                ["1"] * c])

        k = 60
        due = np.datetime64("2023-03-01") + rng.integers(0, 900, k)
        done = np.where(rng.random(k) < 0.6, _dates(due + rng.integers(-30, 60, k)), None)
        uid = b.upload("milestones", [month], k, as_of=as_of)
        b.rows("milestones", ["upload_id", "month", "milestone_id", "tor_ref", "title", "due_date",
                              "completed_date", "status"],
               [[uid] * k, [month] * k, [f"M{j:03d}" for j in range(k)],
                np.array(["2a", "2b-vii", "2c"])[rng.integers(0, 3, k)].tolist(), ["Milestone"] * k,
                _dates(due).tolist(), done.tolist(), ["on_track"] * k])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "kpi-bench-kpis.sqlite")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the store even if it exists")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    if args.rebuild or not args.db.exists():
        t = time.perf_counter()
        counts = build(args.db)
        print(f"built {args.db} in {time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    else:
        print(f"reusing {args.db} (--rebuild to rebuild)")

    from metrics.compute import compute_series
    from metrics.store import connect

    walls, cpus = [], []
    for i in range(1 + args.repeat):
        conn = connect(args.db)
        t, c = time.perf_counter(), time.process_time()
        series = compute_series(conn, first=MONTHS[0], last=MONTHS[-1])
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        conn.close()
        if i == 0:
            print(f"cold (first) run:  {walls[0]:.3f} s wall, {cpus[0]:.3f} s CPU")
    best = min(walls[1:])
    n_values = int(series["value"].notna().sum())
    print(f"best of {args.repeat}:        {best:.3f} s wall, {min(cpus[1:]):.3f} s CPU   "
          f"(wall runs: {', '.join(f'{x:.3f}' for x in walls[1:])})")
    print(f"series: {len(series)} rows ({series['metric'].nunique()} KPIs x {series['month'].nunique()} months), "
          f"{n_values} with a value")
    from metrics import compute  # where the time goes, per extract kind (one more pass)

    conn = connect(args.db)
    uploads = compute._current_uploads(conn, MONTHS[0], MONTHS[-1])
    parts = []
    for kind in compute.AGGREGATORS:
        t = time.perf_counter()
        compute._aggregates(conn, kind, uploads.get(kind, {}))
        parts.append(f"{kind} {time.perf_counter() - t:.3f}")
    conn.close()
    print("per kind (s): " + ", ".join(parts))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} (wall time rises with other work; CPU time less so)")
    print(f"goal ≤ {GOAL_S:.1f} s: {'met' if best <= GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
