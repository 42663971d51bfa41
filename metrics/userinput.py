"""Checks on what people type (:mod:`metrics.evidence`, :mod:`metrics.actions`, a restatement's reason in
:mod:`metrics.impact`, the review settings' names and labels in :mod:`metrics.reviews.store`): each refusal is a
``ValueError`` whose message starts with the field's name, raised before anything is written.

Invisible characters are refused wherever a person types text that is stored and later printed (board pack,
Word report, dashboard, ``kpi`` terminal output): every Unicode control, format, surrogate, private-use or
unassigned character (category C: C0 and C1 controls such as NUL, BEL and ESC; the bidirectional overrides
and isolates U+202A–U+202E and U+2066–U+2069; zero-width characters; the byte-order mark) and the Unicode
line and paragraph separators U+2028/U+2029. Where a field is multiline, newline and tab are allowed (a
carriage return before a newline is dropped). Text already stored is never rewritten: these checks run only
when something new is written.
"""

from __future__ import annotations

import unicodedata

from metrics.kpis import REGISTRY


def control_character(text: str, multiline: bool = False) -> str | None:
    """The first invisible character in ``text`` as "U+XXXX NAME" (None if there is none); newline and tab
    are allowed where ``multiline``."""
    for c in text:
        if unicodedata.category(c) in ("Zl", "Zp") or (
                unicodedata.category(c)[0] == "C" and not (multiline and c in "\n\t")):
            return f"U+{ord(c):04X}" + (f" {unicodedata.name(c)}" if unicodedata.name(c, "") else "")
    return None


def clean_text(value, name: str, limit: int | None = None, *, multiline: bool = False,
               required: bool = True) -> str:
    """``value`` stripped; refused (ValueError naming ``name``) if blank (where ``required``), longer than
    ``limit`` or holding an invisible character (newlines and tabs allowed only where ``multiline``)."""
    text = "" if value is None else str(value).strip()
    if multiline:
        text = text.replace("\r\n", "\n")
    if required and not text:
        raise ValueError(f"{name}: must not be blank")
    if limit is not None and len(text) > limit:
        raise ValueError(f"{name}: at most {limit} characters (this has {len(text)})")
    if bad := control_character(text, multiline):
        raise ValueError(f"{name}: contains a control character ({bad}); "
                         + ("use plain text" if multiline else "use one line of plain text"))
    return text


def known_kpi(kpi: str) -> str:
    """``kpi`` if it is a registered KPI id; else a ValueError naming the field and the known ids."""
    if kpi not in REGISTRY:
        raise ValueError(f"kpi: unknown KPI id '{kpi}' (known: {', '.join(REGISTRY)})")
    return kpi
