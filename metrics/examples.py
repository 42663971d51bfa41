"""Example files and the column guide for every extract kind, generated from the contract."""

from __future__ import annotations

import pandas as pd

from metrics.contract import KINDS


def column_guide(kind: str) -> pd.DataFrame:
    spec = KINDS[kind]
    rows = []
    for c in spec.columns:
        accepted = ""
        if c.values:
            accepted = "; ".join(
                v + (f" (also {', '.join(a)})" if a else "") for v, a in c.values.items()
            )
        rows.append({
            "column": c.name,
            "required": "yes" if c.required else "no",
            "type": {"id": "identifier (text)", "month": "month YYYY-MM"}.get(c.type, c.type),
            "also accepted as": ", ".join(c.aliases),
            "accepted values": accepted,
            "notes": c.notes + (" Pseudonymised before storage." if c.pseudonymise else ""),
        })
    return pd.DataFrame(rows)


def example_csv(kind: str) -> bytes:
    """A two-row example file with canonical headers (synthetic values)."""
    spec = KINDS[kind]
    cols = [c.name for c in spec.columns]
    first = [c.example for c in spec.columns]
    second = []
    for c in spec.columns:
        v = c.example
        if c.type == "id" and v:
            v = v[:-1] + str((int(v[-1]) + 1) % 10) if v[-1].isdigit() else v + "2"
        second.append(v)
    if kind == "figures":
        second = ["2022-04", "assessment_nfa_rate", "61", "170"]
    lines = [",".join(cols), ",".join(first), ",".join(second)]
    if spec.period == "snapshot":
        lines[0] += ",snapshot_date"
        lines[1] += ",2023-04-30"
        lines[2] += ",2023-04-30"
    return ("\n".join(lines) + "\n").encode("utf-8")
