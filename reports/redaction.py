"""Public commentary: what the public pack removes from free text (:func:`redact_text`), and the rule in
plain words (:data:`REDACTION_RULES`, printed in :data:`reports.disclosure.RULES` and in
docs/boardpack.md)."""

from __future__ import annotations

import re

#: The redaction rules in plain words (rule 9 of :data:`RULES`, docs/boardpack.md).
REDACTION_RULES = (
    "e-mail addresses; phone numbers; dates (a day, month and year in any common form; a month and year "
    "alone, such as 'March 2025' or 'Q3 2024', is kept); the code or number after 'child', 'DOB', 'born', "
    "'NHS', 'ID' or 'ref'; up to three capitalised words (a name) just before 'DOB' or 'born'; codes mixing "
    "letters and at least 4 digits (a financial year such as 'FY2024' is kept); and runs of 5 or more "
    "digits, or 9 or more with spaces (such as NHS numbers). Percentages, amounts, years and references "
    "such as 'ToR 2a' are kept"
)


# --- text --------------------------------------------------------------------------------------

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
#: What the public pack removes from commentary, in order: (pattern, replacement). The plain words are
#: :data:`REDACTION_RULES` (in rule 9 of :data:`RULES` and in docs/boardpack.md).
_R = "[removed]"
_REDACT: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    # e-mail addresses
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", _R),
    # dates: 01/02/2015, 1-2-15, 1.2.2015, 2015-02-01, 1 Feb 2015, 1st February, 2015, February 1, 2015
    (r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b", _R),
    (r"\b\d{4}-\d{1,2}-\d{1,2}\b", _R),
    (rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{2,4}}\b", _R),
    (rf"\b{_MONTH}\s+{_DAY},?\s+\d{{4}}\b", _R),
    # up to three capitalised words (a name) just before "DOB" or "born"
    (r"(?-i:\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2}),?(?=\s*\(?\s*(?:D\.?O\.?B\b|born\b))", _R),
    # phone numbers: +44 1432 260000, (01432) 260000, 07700 900123
    (r"(?:\+\d{1,3}[\s-]?(?:\(0\))?|(?<![\w.,])\(?0)\d{2,5}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}\b", _R),
    # long numbers, spaced or not (NHS numbers 943 476 5919, case numbers): 9 or more digits
    (r"(?<![\w.,])\d(?:[ -]?\d){8,}\b", _R),
    # the code or number after a word that introduces one: child, DOB, born, NHS, ID, ref
    (r"\b(child|d\.?o\.?b\b\.?|born|nhs|id|ref)\b((?:\s*(?:[:#(]|no\.|number|on|is)\s*)*\s*)"
     r"(?!\[removed\])[\w/.-]*\d[\w/.-]*", rf"\1\2{_R}"),
    # codes of letters and digits with at least 4 digits (C000123, C-000123, CHILD12345, AB/1234),
    # except a financial year (FY2024, FY2024/25)
    (r"\b(?!FY(?:19|20)\d\d(?:/\d\d)?\b)(?=[\w/-]*[A-Za-z])(?=(?:[\w/-]*?\d){4})"
     r"[A-Za-z0-9]+(?:[/_-][A-Za-z0-9]+)*\b", _R),
    # runs of 5 or more digits
    (r"(?<![\w.,])\d{5,}\b", _R),
))


def redact_text(text: str) -> str:
    """Public commentary with every match of the redaction rules (:data:`REDACTION_RULES`) replaced by
    ``[removed]``. Names cannot be recognised in general: keep personal details out of commentary."""
    for rule, replacement in _REDACT:
        text = rule.sub(replacement, text)
    return text
