"""Checks on what people type into the logs (:mod:`metrics.evidence`, :mod:`metrics.actions`): each refusal is
a ``ValueError`` whose message starts with the field's name, raised before anything is written."""

from __future__ import annotations

import unicodedata

from metrics.kpis import REGISTRY


def _control(text: str, multiline: bool) -> str | None:
    for c in text:
        if unicodedata.category(c)[0] == "C" and not (multiline and c in "\n\t"):
            return f"U+{ord(c):04X}"
    return None


def clean_text(value, name: str, limit: int | None = None, *, multiline: bool = False, required: bool = True,
               plain: bool = True) -> str:
    """``value`` stripped; refused (ValueError naming ``name``) if blank (where ``required``), longer than
    ``limit`` or, where ``plain``, with control characters (newlines and tabs only where ``multiline``)."""
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValueError(f"{name}: must not be blank")
    if limit is not None and len(text) > limit:
        raise ValueError(f"{name}: at most {limit} characters (this has {len(text)})")
    if plain and (bad := _control(text, multiline)):
        raise ValueError(f"{name}: contains a control character ({bad}); "
                         + ("use plain text" if multiline else "use one line of plain text"))
    return text


def known_kpi(kpi: str) -> str:
    """``kpi`` if it is a registered KPI id; else a ValueError naming the field and the known ids."""
    if kpi not in REGISTRY:
        raise ValueError(f"kpi: unknown KPI id '{kpi}' (known: {', '.join(REGISTRY)})")
    return kpi
