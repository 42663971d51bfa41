"""Reproducible synthetic demo data: a county the size of Herefordshire, April 2022 – March 2025.

:func:`generate` writes monthly extracts in the canonical form of the upload contract
(``metrics/contract.py``; ``shared/spec/extracts.md``) plus one ``figures`` file for the three
months before the record-level extracts. The data tell the story of the improvement journey:
agency reliance falling from ~55% to ~20%, permanent team managers rising, fewer changes of social
worker, more conferences held in person, fewer assessments ending in no further action, better
audit grades and the historic complaints backlog cleared.

Everything here is invented. Identifiers are random (``C`` + 6 digits for children, ``W`` + 5 digits
for workers); there are no names, dates of birth or free text about children or staff.

How it works: one simulation from January 2020 (a two-year burn-in, so the first files carry a
believable history) to the last month. The workforce is a set of posts whose holders leave and are
replaced (agency or permanent, steered towards a target share); children's allocation episodes
change worker when a worker leaves (``LEFTRL``) or on transfer/restructure (``CASETR``/``ORGRST``)
and end when the case closes (``CASECL``). Snapshot files are then cut from the simulated history
as it was known at each month end: nothing dated after the snapshot's last day is shown.

Each stream (workforce, allocations, events, complaints, milestones) has its own random generator
seeded from ``seed``, so the same seed always gives byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import pathlib
import random
import sys
from dataclasses import dataclass, field

from metrics.contract import KINDS, PRACTITIONER_ROLES, QUALIFIED_ROLES
from metrics.months import month_end, month_from_index, month_index, month_of

DEMO_FIRST_MONTH = "2022-04"
DEMO_LAST_MONTH = "2025-03"

#: Months of figures written before the first record-level month.
FIGURES_MONTHS = 3
#: Historic complaints cut-off (metrics.md default: the revised direction of 1 March 2023).
HISTORIC_CUTOFF = dt.date(2023, 3, 1)
#: The simulation starts here (or earlier if asked for earlier months).
SIM_START = "2020-01"

# Load order within a month (contract order).
MONTH_KIND_ORDER = ("workforce", "assessments", "conferences", "allocations", "audits",
                    "complaints", "milestones")

PRACTICE_TEAMS = (
    "Front Door",
    "Assessment North",
    "Assessment South",
    "Child Protection North",
    "Child Protection South",
    "Children in Care",
    "Care Leavers",
    "Children with Disabilities",
)
ASSESSMENT_TEAMS = ("Front Door", "Assessment North", "Assessment South", "Children with Disabilities")
CASE_HOLDING_ROLES = ("senior_practitioner", "case_holder")


# ---------------------------------------------------------------------------------------------
# Calendar helpers. A month is an integer index: year * 12 + (month - 1).

def _parse_month(text: str) -> int:
    y, m = text.split("-")
    y_i, m_i = int(y), int(m)
    if not 1 <= m_i <= 12:
        raise ValueError(f"bad month {text!r}: use YYYY-MM")
    return y_i * 12 + m_i - 1


def _month_label(mi: int) -> str:
    return f"{mi // 12:04d}-{mi % 12 + 1:02d}"


def _month_start(mi: int) -> dt.date:
    return dt.date.fromisoformat(f"{month_from_index(mi)}-01")


def _month_end(mi: int) -> dt.date:
    return month_end(month_from_index(mi))


def _month_of(d: dt.date) -> int:
    return month_index(month_of(d))


def _rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    """Uniform date in [lo, hi] (hi >= lo)."""
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


_WEEKDAYS: dict[int, list[dt.date]] = {}


def _weekday(rng: random.Random, mi: int) -> dt.date:
    days = _WEEKDAYS.get(mi)
    if days is None:
        d, end = _month_start(mi), _month_end(mi)
        days = []
        while d <= end:
            if d.weekday() < 5:
                days.append(d)
            d += dt.timedelta(days=1)
        _WEEKDAYS[mi] = days
    return rng.choice(days)


def _path(points: tuple[tuple[str, float], ...], mi: float, pace: float = 1.0) -> float:
    """Piecewise-linear trajectory through (month, value) points, flat beyond the ends. ``pace`` scales the
    change from the first point (1: as given; 0.5: half the improvement; never below 0)."""
    pts = [(_parse_month(m), v) for m, v in points]
    start = pts[0][1]
    if mi <= pts[0][0]:
        return start
    for (m0, v0), (m1, v1) in zip(pts, pts[1:]):
        if mi <= m1:
            value = v0 + (v1 - v0) * (mi - m0) / (m1 - m0)
            break
    else:
        value = pts[-1][1]
    return value if pace == 1.0 else max(0.0, start + pace * (value - start))


def _stream(seed: int, name: str) -> random.Random:
    # str seeds are hashed with SHA-512 by random.seed: stable across runs and platforms.
    return random.Random(f"intervention-kpi-demo:{seed}:{name}")


def _weighted(rng: random.Random, options: tuple[tuple[object, float], ...]):
    x = rng.random() * sum(w for _, w in options)
    for value, w in options:
        x -= w
        if x < 0:
            return value
    return options[-1][0]


def _ids(rng: random.Random, prefix: str, digits: int, count: int) -> list[str]:
    lo = 10 ** (digits - 1)
    return [f"{prefix}{n}" for n in rng.sample(range(lo, 10 * lo), count)]


# ---------------------------------------------------------------------------------------------
# Story trajectories (values by calendar month).

# Share of posts held by agency workers, by post group.
AGENCY_TARGET = {
    "practitioner": (("2020-01", 0.50), ("2021-06", 0.52), ("2022-12", 0.53), ("2025-03", 0.17)),
    "team_manager": (("2020-01", 0.72), ("2022-06", 0.70), ("2025-03", 0.06)),
    "manager": (("2020-01", 0.34), ("2022-12", 0.34), ("2024-06", 0.10)),
    "other": (("2020-01", 0.15),),
}
# Monthly leaving hazard: (agency, permanent).
LEAVE_HAZARD = {
    "practitioner": (0.05, 0.012),
    "team_manager": (0.045, 0.008),
    "manager": (0.04, 0.008),
    "other": (0.05, 0.012),
}
# Monthly hazard of a change of worker other than the worker leaving (transfer, restructure).
TRANSFER_HAZARD = (("2020-01", 0.095), ("2022-07", 0.095), ("2024-06", 0.035), ("2025-12", 0.03))
CASE_CLOSE_HAZARD = 0.04
CASELOAD_TARGET = 1450
NFA_RATE = (("2020-01", 0.38), ("2022-12", 0.38), ("2025-03", 0.24))
IN_PERSON_SHARE = (("2020-01", 0.06), ("2022-09", 0.10), ("2025-03", 0.70))
ASSESSMENTS_PER_MONTH = 168
SEASON = {1: 1.0, 2: 1.0, 3: 1.08, 4: 0.95, 5: 1.02, 6: 1.05, 7: 1.05, 8: 0.85, 9: 1.0,
          10: 1.08, 11: 1.05, 12: 0.87}
# Audit grade distributions (outstanding, good, requires_improvement, inadequate).
AUDIT_GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
AUDIT_BEFORE = (0.02, 0.18, 0.50, 0.30)
AUDIT_AFTER = (0.07, 0.48, 0.37, 0.08)
AUDIT_IMPROVE = ("2022-09", "2025-03")


# ---------------------------------------------------------------------------------------------
# Workforce

@dataclass
class Worker:
    worker_id: str
    role: str
    agency: bool
    fte: float
    team: str
    start: dt.date
    end: dt.date | None = None


def _posts() -> list[tuple[str, str, str]]:
    """(role, team, group) for every established post."""
    posts: list[tuple[str, str, str]] = []
    posts += [("senior_manager", "Leadership", "manager")] * 3
    posts += [("middle_manager", "Leadership", "manager")] * 6
    for i, team in enumerate(PRACTICE_TEAMS):
        posts += [("team_manager", team, "team_manager")] * 2
        posts += [("senior_practitioner", team, "practitioner")] * (3 if i < 6 else 2)
        posts += [("case_holder", team, "practitioner")] * 11
    posts += [("qualified_no_cases", "Safeguarding and Review", "practitioner")] * 5
    posts += [("qualified_no_cases", "Quality Assurance", "practitioner")] * 3
    posts += [("other", "Family Support", "other")] * 8
    return posts


def _fte(rng: random.Random, role: str, agency: bool) -> float:
    if role in ("senior_manager", "middle_manager", "team_manager") or agency:
        return _weighted(rng, ((1.0, 0.92), (0.8, 0.08)))  # type: ignore[return-value]
    return _weighted(rng, ((1.0, 0.68), (0.8, 0.14), (0.6, 0.10), (0.5, 0.08)))  # type: ignore[return-value]


def _simulate_workforce(seed: int, sim_first: int, sim_last: int, pace: float = 1.0) -> list[Worker]:
    rng = _stream(seed, "workforce")
    ids = iter(_ids(rng, "W", 5, 4000))
    posts = _posts()
    sim_start = _month_start(sim_first)

    order = {g: [i for i, p in enumerate(posts) if p[2] == g] for g in AGENCY_TARGET}
    current: list[Worker] = [None] * len(posts)  # type: ignore[list-item]
    for group, idx in order.items():
        n_agency = round(_path(AGENCY_TARGET[group], sim_first, pace) * len(idx))
        agency_posts = set(rng.sample(idx, n_agency))
        for i in idx:
            role, team, _ = posts[i]
            agency = i in agency_posts
            if agency:
                start = _rand_date(rng, sim_start - dt.timedelta(days=540), sim_start - dt.timedelta(days=7))
            else:
                start = _rand_date(rng, sim_start - dt.timedelta(days=15 * 365), sim_start - dt.timedelta(days=30))
            current[i] = Worker(next(ids), role, agency, _fte(rng, role, agency), team, start)
    everyone = list(current)

    for mi in range(sim_first, sim_last + 1):
        m_start, m_end = _month_start(mi), _month_end(mi)
        for group, idx in order.items():
            target = _path(AGENCY_TARGET[group], mi, pace)
            h_agency, h_perm = LEAVE_HAZARD[group]
            share = sum(current[i].agency for i in idx) / len(idx)
            release = 0.04 if share > target + 0.02 else 0.0
            for i in idx:
                w = current[i]
                if w.start >= m_start:  # not yet started, or started this month
                    continue
                hazard = (h_agency + release) if w.agency else h_perm
                if rng.random() >= hazard:
                    continue
                w.end = _rand_date(rng, m_start, m_end)
                share = sum(current[j].agency for j in idx if j != i) / len(idx)
                agency = rng.random() < (0.95 if share < target else 0.04)
                gap = rng.randint(1, 14) if agency else rng.randint(7, 50)
                role, team, _ = posts[i]
                nxt = Worker(next(ids), role, agency, _fte(rng, role, agency), team,
                             w.end + dt.timedelta(days=gap))
                current[i] = nxt
                everyone.append(nxt)
    return everyone


def _in_post(w: Worker, day: dt.date) -> bool:
    return w.start <= day and (w.end is None or w.end > day)


# ---------------------------------------------------------------------------------------------
# Allocations

@dataclass
class Episode:
    child_id: str
    worker_id: str
    start: dt.date
    end: dt.date | None = None
    reason: str = ""


@dataclass
class Allocations:
    episodes: list[Episode] = field(default_factory=list)
    # month -> children open for the whole month (for conferences and audits)
    open_all_month: dict[int, list[str]] = field(default_factory=dict)


def _simulate_allocations(seed: int, workers: list[Worker], sim_first: int, sim_last: int,
                          child_ids: list[str], *, pace: float = 1.0) -> Allocations:
    rng = _stream(seed, "allocations")
    out = Allocations()
    by_id = {w.worker_id: w for w in workers}
    holders = [w for w in workers if w.role in CASE_HOLDING_ROLES]
    ids = iter(child_ids)
    sim_start = _month_start(sim_first)

    def eligible(mi: int) -> list[Worker]:
        s, e = _month_start(mi), _month_end(mi)
        return [w for w in holders if w.start <= s and (w.end is None or w.end > e)]

    current: dict[str, Episode] = {}
    arrived: dict[str, int] = {}
    pool = eligible(sim_first)
    for _ in range(CASELOAD_TARGET):
        child = next(ids)
        w = rng.choice(pool)
        case_start = sim_start - dt.timedelta(days=int(min(rng.expovariate(1 / 480), 2900)) + 1)
        last_change = sim_start - dt.timedelta(days=int(rng.expovariate(1 / 240)) + 1)
        start = max(case_start, last_change, w.start)
        ep = Episode(child, w.worker_id, start)
        current[child] = ep
        arrived[child] = sim_first - 1
        out.episodes.append(ep)

    def change(child: str, ep: Episode, day: dt.date, reason: str, pool: list[Worker]) -> Episode:
        new = rng.choice(pool)
        while new.worker_id == ep.worker_id:
            new = rng.choice(pool)
        ep.end, ep.reason = day, reason
        nxt = Episode(child, new.worker_id, day)
        current[child] = nxt
        out.episodes.append(nxt)
        return nxt

    for mi in range(sim_first, sim_last + 1):
        m_start, m_end = _month_start(mi), _month_end(mi)
        pool = eligible(mi)
        transfer = _path(TRANSFER_HAZARD, mi, pace)
        for child in list(current):
            ep = current[child]
            w = by_id[ep.worker_id]
            left = w.end if (w.end is not None and m_start <= w.end <= m_end) else None
            if left is not None and left <= ep.start:  # defensive: never a zero-length episode
                left = ep.start + dt.timedelta(days=1)
            close = None
            if arrived[child] != mi and rng.random() < CASE_CLOSE_HAZARD:
                close = _rand_date(rng, max(m_start, ep.start + dt.timedelta(days=1)), m_end) \
                    if ep.start < m_end else None
            moved = None
            if left is not None:
                moved = (left, "LEFTRL")
            elif rng.random() < transfer and ep.start + dt.timedelta(days=1) <= m_end:
                day = _rand_date(rng, max(m_start, ep.start + dt.timedelta(days=1)), m_end)
                moved = (day, "CASETR" if rng.random() < 0.75 else "ORGRST")
            if moved is not None and (close is None or moved[0] < close):
                ep = change(child, ep, moved[0], moved[1], pool)
            if close is not None:
                ep.end, ep.reason = close, "CASECL"
                del current[child]
        stock = len(current)
        mean = CASE_CLOSE_HAZARD * CASELOAD_TARGET + 0.25 * (CASELOAD_TARGET - stock)
        n_new = max(0, round(rng.gauss(mean, math.sqrt(max(mean, 1.0)))))
        for _ in range(n_new):
            child = next(ids)
            w = rng.choice(pool)
            ep = Episode(child, w.worker_id, _rand_date(rng, m_start, m_end))
            current[child] = ep
            arrived[child] = mi
            out.episodes.append(ep)
        out.open_all_month[mi] = [c for c in current if arrived[c] != mi]
    return out


# ---------------------------------------------------------------------------------------------
# Events: assessments, conferences, audits

def _simulate_events(seed: int, first: int, last: int, alloc: Allocations,
                     child_ids: list[str], *, pace: float = 1.0) -> dict[str, dict[int, list[dict[str, str]]]]:
    rng = _stream(seed, "events")
    fresh = iter(child_ids)
    a_ids = iter(_ids(rng, "A", 6, 12000))
    cp_ids = iter(_ids(rng, "CP", 5, 4000))
    au_ids = iter(_ids(rng, "AU", 5, 3000))
    out: dict[str, dict[int, list[dict[str, str]]]] = {"assessments": {}, "conferences": {}, "audits": {}}
    for mi in range(first, last + 1):
        # assessments
        n = round(ASSESSMENTS_PER_MONTH * SEASON[mi % 12 + 1] * rng.gauss(1.0, 0.05))
        nfa_p = _path(NFA_RATE, mi, pace)
        rows = []
        for _ in range(n):
            done = _weekday(rng, mi)
            start = done - dt.timedelta(days=int(rng.triangular(0, 60, 28)))
            rows.append({"assessment_id": next(a_ids), "child_id": next(fresh),
                         "start_date": start.isoformat(), "completed_date": done.isoformat(),
                         "nfa": "Y" if rng.random() < nfa_p else "N",
                         "team": rng.choice(ASSESSMENT_TEAMS)})
        rows.sort(key=lambda r: (r["completed_date"], r["assessment_id"]))
        out["assessments"][mi] = rows

        # conferences: one row per child; siblings share a conference
        open_children = alloc.open_all_month[mi]
        in_person = _path(IN_PERSON_SHARE, mi, pace)
        rows = []
        used: set[str] = set()
        for _ in range(rng.randint(28, 44)):
            cid = next(cp_ids)
            day = _weekday(rng, mi)
            kind = "initial" if rng.random() < 0.35 else "review"
            r = rng.random()
            fmt = "face_to_face" if r < in_person * 0.6 else ("hybrid" if r < in_person else "virtual")
            size = _weighted(rng, ((1, 0.6), (2, 0.28), (3, 0.12)))
            for _ in range(size):  # type: ignore[call-overload]
                child = rng.choice(open_children)
                while child in used:
                    child = rng.choice(open_children)
                used.add(child)
                rows.append({"conference_id": cid, "child_id": child, "conference_type": kind,
                             "conference_date": day.isoformat(), "format": fmt})
        rows.sort(key=lambda r: (r["conference_date"], r["conference_id"], r["child_id"]))
        out["conferences"][mi] = rows

        # audits
        a0, a1 = (_parse_month(m) for m in AUDIT_IMPROVE)
        t = min(1.0, max(0.0, (mi - a0) / (a1 - a0)))
        probs = tuple(max(0.0, b + (a - b) * t * pace) for b, a in zip(AUDIT_BEFORE, AUDIT_AFTER))
        rows = []
        for _ in range(rng.randint(20, 35)):
            rows.append({"audit_id": next(au_ids), "audit_date": _weekday(rng, mi).isoformat(),
                         "grade": _weighted(rng, tuple(zip(AUDIT_GRADES, probs))),
                         "child_id": rng.choice(open_children) if rng.random() < 0.9 else "",
                         "team": rng.choice(PRACTICE_TEAMS)})
        rows.sort(key=lambda r: (r["audit_date"], r["audit_id"]))
        out["audits"][mi] = rows
    return out


# ---------------------------------------------------------------------------------------------
# Complaints

@dataclass
class Complaint:
    complaint_id: str
    received: dt.date
    closed: dt.date | None
    stage: str


def _simulate_complaints(seed: int, sim_first: int, last: int) -> list[Complaint]:
    rng = _stream(seed, "complaints")
    ids = iter(_ids(rng, "CO", 5, 3000))
    out: list[Complaint] = []
    # the register starts in July 2020 (earlier if the simulation is asked to start earlier)
    for mi in range(min(_parse_month("2020-07"), sim_first + 6), last + 1):
        historic_era = _month_end(mi) < HISTORIC_CUTOFF
        n = rng.randint(4, 10) if historic_era else rng.randint(5, 10)
        for _ in range(n):
            rec = _weekday(rng, mi)
            if historic_era and rng.random() < 0.38:
                # stuck in the backlog: cleared progressively after the revised direction
                lo = max(rec + dt.timedelta(days=120), dt.date(2023, 3, 15))
                closed = _rand_date(rng, lo, dt.date(2025, 5, 15)) if rng.random() < 0.97 else None
                stage = _weighted(rng, (("1", 0.45), ("2", 0.35), ("3", 0.12), ("ombudsman", 0.08)))
            else:
                r = rng.random()
                days = rng.randint(15, 90) if r < 0.85 else (rng.randint(91, 150) if r < 0.97
                                                             else rng.randint(151, 300))
                closed = rec + dt.timedelta(days=days)
                stage = _weighted(rng, (("1", 0.78), ("2", 0.16), ("3", 0.04), ("ombudsman", 0.02)))
            out.append(Complaint(next(ids), rec, closed, str(stage)))
    out.sort(key=lambda c: (c.received, c.complaint_id))
    return out


# ---------------------------------------------------------------------------------------------
# Milestones

MILESTONE_TITLES: dict[str, tuple[str, ...]] = {
    "2a": (
        # earlier plan, due before the first record-level month
        "Quality assurance framework refreshed",
        "Supervision policy revised",
        "Front Door screening tool introduced",
        # Improvement Plan
        "Practice standards launched",
        "Performance scorecard published monthly",
        "Front Door threshold guidance reissued",
        "Case transfer protocol agreed",
        "Management oversight standard embedded",
        "Social work academy first cohort",
        "Chronology template rolled out",
        "Practice model training complete",
        "Caseload management tool live",
        "Recruitment and retention offer launched",
        "Children in care sufficiency plan agreed",
        "Care leaver local offer published",
    ),
    "2b-vii": (
        "SEND local offer website updated",
        "EHCP timeliness tracker introduced",
        "SEND self-evaluation refreshed",
        "SEND sufficiency strategy agreed",
        "EHCP quality assurance panel established",
        "Annual review recovery plan agreed",
        "Parent carer forum charter signed",
        "Specialist places commissioning plan",
        "Preparation for adulthood pathway published",
        "SEND joint commissioning board formed",
        "Inclusion toolkit issued to schools",
        "Short breaks statement refreshed",
    ),
    "2c": (
        "Complaints backlog recovery plan agreed",
        "Complaints handling training delivered",
        "Complaints learning report to scrutiny",
        "Complaints process redesigned",
    ),
    "2d": (
        "Safeguarding partnership arrangements refreshed",
        "Multi-agency escalation protocol agreed",
        "Joint health and care pathway agreed",
        "Partners co-located in Front Door",
    ),
    "2e": (
        "Member induction on corporate parenting",
        "Scrutiny work programme aligned to plan",
        "Corporate parenting panel refreshed",
    ),
    "3": (
        "Improvement Board terms of reference revised",
        "External practice support commissioned",
        "Improvement Board effectiveness review",
    ),
    "4": (
        "Partner authority options appraised",
        "Long-term partnership agreement signed",
    ),
}
EARLY_MILESTONES = {"2a": ("2021-10", "2021-12", "2022-03"), "2b-vii": ("2021-11", "2022-02")}


@dataclass
class Milestone:
    milestone_id: str
    tor_ref: str
    title: str
    due: dt.date
    completed: dt.date | None  # when it is (or will be) completed; shown only once known


def _milestones(seed: int, pace: float = 1.0) -> list[Milestone]:
    rng = _stream(seed, "milestones")
    specs: list[tuple[str, str, dt.date]] = []
    for tor, titles in MILESTONE_TITLES.items():
        early = EARLY_MILESTONES.get(tor, ())
        for title, m in zip(titles, early):
            specs.append((tor, title, _month_end(_parse_month(m))))
        rest = titles[len(early):]
        lo, hi = (_parse_month("2022-06"), _parse_month("2025-06")) if tor in ("2a", "2b-vii") \
            else (_parse_month("2023-04"), _parse_month("2025-06"))
        for k, title in enumerate(rest):
            mi = lo + round((hi - lo) * (k + rng.uniform(0.1, 0.9)) / len(rest))
            specs.append((tor, title, _month_end(min(hi, mi))))
    specs.sort(key=lambda s: (s[2], s[0], s[1]))
    out = []
    for n, (tor, title, due) in enumerate(specs, start=1):
        late_p = _path((("2022-06", 0.35), ("2025-06", 0.08)), _month_of(due), pace)
        r = rng.random()
        if r < 0.04:
            done = None
        elif r < 0.04 + late_p:
            done = due + dt.timedelta(days=rng.randint(10, 150))
        else:
            done = due - dt.timedelta(days=rng.randint(0, 75))
        out.append(Milestone(f"M{n:03d}", tor, title, due, done))
    return out


def _milestone_status(m: Milestone, e: dt.date) -> tuple[str, str]:
    """(completed_date, status) as the register shows them at month end ``e``."""
    if m.completed is not None and m.completed <= e:
        return m.completed.isoformat(), "complete"
    if m.due <= e:
        return "", "off_track"
    if (m.due - e).days > 270:
        return "", "not_started"
    will_be_late = m.completed is None or m.completed > m.due
    if will_be_late and (m.due - e).days <= 120:
        return "", "at_risk"
    return "", "on_track"


# ---------------------------------------------------------------------------------------------
# KPI values for the figures file (the metrics.md definitions, applied to the simulation)

def _kpis(mi: int, workers: list[Worker], alloc: Allocations, events, complaints: list[Complaint],
          milestones: list[Milestone]) -> dict[str, tuple[float, float | None]]:
    e = _month_end(mi)
    post = [w for w in workers if _in_post(w, e) and w.role in QUALIFIED_ROLES]
    fte_all = sum(w.fte for w in post)
    fte_agency = sum(w.fte for w in post if w.agency)
    perm_prac = sum(w.fte for w in post if not w.agency and w.role in PRACTITIONER_ROLES)
    perm_tm = len({w.worker_id for w in post if not w.agency and w.role == "team_manager"})

    conf = events["conferences"][mi]
    in_person = sum(r["format"] in ("face_to_face", "hybrid") for r in conf)
    ass = events["assessments"][mi]
    nfa = sum(r["nfa"] == "Y" for r in ass)
    aud = events["audits"][mi]
    gob = sum(r["grade"] in ("good", "outstanding") for r in aud)

    w_start = _month_end(mi - 12) + dt.timedelta(days=1)
    workers_of: dict[str, set[str]] = {}
    cohort: set[str] = set()
    for ep in alloc.episodes:
        if ep.start > e:
            continue
        if ep.end is None or ep.end > e:
            cohort.add(ep.child_id)
        if ep.end is None or ep.end >= w_start:
            workers_of.setdefault(ep.child_id, set()).add(ep.worker_id)
    three = sum(len(workers_of[c]) >= 3 for c in cohort)

    def done(tor: str) -> tuple[float, float]:
        due = [m for m in milestones if m.tor_ref == tor and m.due <= e]
        return float(sum(m.completed is not None and m.completed <= e for m in due)), float(len(due))

    historic = sum(c.received <= e and c.received < HISTORIC_CUTOFF and (c.closed is None or c.closed > e) for c in complaints)
    return {
        "agency_rate": (round(fte_agency, 1), round(fte_all, 1)),
        "permanent_practitioners_fte": (round(perm_prac, 1), None),
        "permanent_team_managers": (float(perm_tm), None),
        "face_to_face_conferences": (float(in_person), float(len(conf))),
        "assessment_nfa_rate": (float(nfa), float(len(ass))),
        "three_plus_social_workers": (float(three), float(len(cohort))),
        "audits_good_or_better": (float(gob), float(len(aud))),
        "send_milestones_complete": done("2b-vii"),
        "historic_complaints_outstanding": (float(historic), None),
        "improvement_plan_milestones_complete": done("2a"),
    }


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


# ---------------------------------------------------------------------------------------------
# Writing

def _write(path: pathlib.Path, header: list[str], rows: list[dict[str, str]]) -> pathlib.Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.get(h, "") for h in header])
    return path


def _columns(kind: str) -> list[str]:
    cols = [c.name for c in KINDS[kind].columns]
    if KINDS[kind].period == "snapshot":
        cols.append("snapshot_date")
    return cols


def generate(out_dir: pathlib.Path, seed: int = 2023, first: str = DEMO_FIRST_MONTH,
             last: str = DEMO_LAST_MONTH, pace: float = 1.0) -> list[pathlib.Path]:
    """Write the synthetic demo extracts into ``out_dir`` and return the paths in load order.

    Files: ``figures_{F1}_{F3}.csv`` for the three months before ``first`` (all ten KPIs), then for
    each month M from ``first`` to ``last`` one ``{kind}_{M}.csv`` per kind. Snapshot kinds carry a
    ``snapshot_date`` column (M's last day on every row); event kinds hold the events dated in M.
    Same seed and months → byte-identical files. ``pace`` scales every improvement trajectory (agency share,
    changes of worker, no further action, face to face, audit grades, late milestones): 1 is the demo's own
    story, below 1 a council improving more slowly (the demo councils of ``kpi demo --councils`` differ so).
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first_i, last_i = _parse_month(first), _parse_month(last)
    if last_i < first_i:
        raise ValueError(f"last month {last} is before first month {first}")
    fig_first = first_i - FIGURES_MONTHS
    sim_first = min(_parse_month(SIM_START), fig_first - 24)

    id_rng = _stream(seed, "children")
    child_ids = _ids(id_rng, "C", 6, 120_000)
    workers = _simulate_workforce(seed, sim_first, last_i, pace)
    alloc = _simulate_allocations(seed, workers, sim_first, last_i, child_ids[:60_000], pace=pace)
    events = _simulate_events(seed, fig_first, last_i, alloc, child_ids[60_000:], pace=pace)
    complaints = _simulate_complaints(seed, sim_first, last_i)
    milestones = _milestones(seed, pace)

    paths: list[pathlib.Path] = []

    # figures for the months before record-level data
    rows = []
    for mi in range(fig_first, first_i):
        for metric, (num, den) in _kpis(mi, workers, alloc, events, complaints, milestones).items():
            if den is not None and den <= 0:
                continue  # no value for this month
            rows.append({"month": _month_label(mi), "metric": metric, "numerator": _num(num),
                         "denominator": "" if den is None else _num(den)})
    name = f"figures_{_month_label(fig_first)}_{_month_label(first_i - 1)}.csv"
    paths.append(_write(out_dir / name, _columns("figures"), rows))

    workers_sorted = sorted(workers, key=lambda w: w.worker_id)
    episodes_sorted = sorted(alloc.episodes, key=lambda ep: (ep.child_id, ep.start, ep.worker_id))

    for mi in range(first_i, last_i + 1):
        label = _month_label(mi)
        m_start, e = _month_start(mi), _month_end(mi)
        snap = e.isoformat()
        month_rows: dict[str, list[dict[str, str]]] = {}

        month_rows["workforce"] = [
            {"worker_id": w.worker_id, "role": w.role, "agency": "Y" if w.agency else "N",
             "fte": f"{w.fte:.1f}", "team": w.team, "start_date": w.start.isoformat(),
             "end_date": w.end.isoformat() if w.end is not None and w.end <= e else "",
             "snapshot_date": snap}
            for w in workers_sorted
            if w.start <= e and (w.end is None or w.end >= m_start)
        ]

        w_start = _month_end(mi - 12) + dt.timedelta(days=1)
        month_rows["allocations"] = [
            {"child_id": ep.child_id, "worker_id": ep.worker_id, "start_date": ep.start.isoformat(),
             "end_date": ep.end.isoformat() if ep.end is not None and ep.end <= e else "",
             "change_reason": ep.reason if ep.end is not None and ep.end <= e else "",
             "snapshot_date": snap}
            for ep in episodes_sorted
            if ep.start <= e and (ep.end is None or ep.end >= w_start)
        ]

        # the register: open complaints, and those closed in the last 12 months
        month_rows["complaints"] = [
            {"complaint_id": c.complaint_id, "received_date": c.received.isoformat(),
             "closed_date": c.closed.isoformat() if c.closed is not None and c.closed <= e else "",
             "stage": c.stage, "snapshot_date": snap}
            for c in complaints
            if c.received <= e and (c.closed is None or c.closed >= w_start)
        ]

        month_rows["milestones"] = []
        for m in milestones:
            completed, status = _milestone_status(m, e)
            month_rows["milestones"].append(
                {"milestone_id": m.milestone_id, "tor_ref": m.tor_ref, "title": m.title,
                 "due_date": m.due.isoformat(), "completed_date": completed, "status": status,
                 "snapshot_date": snap})

        for kind in ("assessments", "conferences", "audits"):
            month_rows[kind] = events[kind][mi]

        for kind in MONTH_KIND_ORDER:
            paths.append(_write(out_dir / f"{kind}_{label}.csv", _columns(kind), month_rows[kind]))
    return paths


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m metrics.demo OUT_DIR [SEED]")
    written = generate(pathlib.Path(sys.argv[1]), seed=int(sys.argv[2]) if len(sys.argv) > 2 else 2023)
    print(f"wrote {len(written)} files to {sys.argv[1]}")
