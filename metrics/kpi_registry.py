"""Registering a KPI from outside :mod:`metrics.kpis`: the declaration is checked against what computes it
(its source kind's aggregator, :data:`metrics.compute.AGGREGATORS`) and its published benchmark
(:data:`metrics.benchmarks.SOURCES`) before it joins the registry. It sits above ``kpis``, ``compute``
and ``benchmarks`` (which read the registry), so none of them imports another back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from metrics import kpis
from metrics.benchmarks import SOURCES
from metrics.compute import AGGREGATORS
from metrics.kpis import KPI, REGISTRY, RELATIONS, SECONDARY, Part


def problems(kpi: KPI) -> list[str]:
    """What the declaration ``kpi`` lacks or gets wrong, in words (empty: complete). Checks its text,
    that its numerator, denominator and secondary measures name columns its source kind's aggregator
    produces, that a percentage has a denominator and nothing else does, its breakdowns against its
    source kind, and its benchmark against the published sources."""
    out = []
    for name in ("id", "tor", "label", "definition", "priority", "rule", "source_kind"):
        if not str(getattr(kpi, name) or "").strip():
            out.append(f"{kpi.id or '?'}: {name} is empty")
    if kpi.unit not in ("percent", "fte", "count"):
        out.append(f"{kpi.id}: unit {kpi.unit!r} is not percent, fte or count")
    if kpi.direction not in ("up", "down"):
        out.append(f"{kpi.id}: direction {kpi.direction!r} is not up or down")
    if not isinstance(kpi.counts_people, bool):
        out.append(f"{kpi.id}: counts_people must be True or False")
    if kpi.parts_unit not in ("count", "fte"):
        out.append(f"{kpi.id}: parts_unit {kpi.parts_unit!r} is not count or fte")
    if kpi.judge_on not in ("month", "rolling_3_months"):
        out.append(f"{kpi.id}: judge_on {kpi.judge_on!r} is not month or rolling_3_months")
    elif kpi.judge_on != "month" and kpi.unit != "percent":
        out.append(f"{kpi.id}: judge_on {kpi.judge_on!r} needs a percentage (a {kpi.unit} KPI is judged on the month)")
    agg = AGGREGATORS.get(kpi.source_kind)
    if agg is None:
        out.append(f"{kpi.id}: source kind {kpi.source_kind!r} has no aggregator (known: {', '.join(AGGREGATORS)})")
        return out
    if (kpi.unit == "percent") != (kpi.denominator is not None):
        out.append(f"{kpi.id}: a percentage needs a denominator, and only a percentage has one")
    for role, part in (("numerator", kpi.numerator), ("denominator", kpi.denominator)):
        if part is None:
            continue
        if not isinstance(part, Part):
            out.append(f"{kpi.id}: {role} must be a Part(column, label, noun)")
            continue
        if part.column not in agg.columns:
            out.append(f"{kpi.id}: {role} column {part.column!r} is not an aggregate of {kpi.source_kind} "
                       f"({', '.join(agg.columns)})")
        for name in ("label", "noun"):
            if not getattr(part, name).strip():
                out.append(f"{kpi.id}: {role} {name} is empty (packs caption it)")
    for b in kpi.breakdowns:
        if b not in agg.groups:
            out.append(f"{kpi.id}: {kpi.source_kind} records cannot be broken down by {b!r} "
                       f"(they can by: {', '.join(agg.groups) or 'nothing'})")
    for s in kpi.secondary:
        for name in ("id", "label", "definition"):
            if not getattr(s, name).strip():
                out.append(f"{kpi.id}: secondary measure {s.id or '?'}: {name} is empty")
        for col in (s.numerator, s.denominator):
            if col is not None and col not in agg.columns:
                out.append(f"{kpi.id}: secondary measure {s.id}: column {col!r} is not an aggregate of "
                           f"{kpi.source_kind}")
    for rel in RELATIONS.get(kpi.source_kind, ()):
        for col in rel.columns:
            if col not in agg.columns:
                out.append(f"{kpi.source_kind}: relation {rel.total} = {' + '.join(rel.parts)}: column {col!r} "
                           f"is not an aggregate of {kpi.source_kind}")
    if kpi.benchmark is not None and kpi.benchmark not in SOURCES:
        out.append(f"{kpi.id}: benchmark {kpi.benchmark!r} is not a published source ({', '.join(SOURCES)})")
    from metrics.context import CONTEXT_MEASURES

    for key in kpi.context:
        if key not in CONTEXT_MEASURES:
            out.append(f"{kpi.id}: context {key!r} is not a published context measure "
                       f"({', '.join(CONTEXT_MEASURES)})")
    return out


def register(kpi: KPI) -> KPI:
    """Add ``kpi`` to the registry (after the declared ones). Raises ``ValueError`` naming what is wrong
    if its id or a secondary measure's id is taken, or its declaration is incomplete (:func:`problems`)."""
    if kpi.id in REGISTRY:
        raise ValueError(f"A KPI with id {kpi.id!r} is already registered.")
    taken = [s.id for s in kpi.secondary if s.id in SECONDARY]
    if taken:
        raise ValueError(f"Secondary measure id(s) already registered: {', '.join(taken)}.")
    wrong = problems(kpi)
    if wrong:
        raise ValueError("Incomplete KPI declaration: " + "; ".join(wrong))
    REGISTRY[kpi.id] = kpi
    kpis._sync_secondary()
    return kpi


def unregister(metric_id: str) -> None:
    """Remove a registered KPI (the declared ten stay: they are the Terms of Reference)."""
    if metric_id in _DECLARED_IDS:
        raise ValueError(f"{metric_id} is one of the declared Terms of Reference KPIs; it cannot be removed.")
    REGISTRY.pop(metric_id, None)
    kpis._sync_secondary()


_DECLARED_IDS = frozenset(k.id for k in kpis._DECLARED)


@contextmanager
def registered(*declarations: KPI) -> Iterator[tuple[KPI, ...]]:
    """``with registered(KPI(...)):`` — the KPIs are in the registry inside the block only (tests)."""
    done: list[str] = []
    try:
        for k in declarations:
            register(k)
            done.append(k.id)
        yield declarations
    finally:
        for metric_id in done:
            unregister(metric_id)

