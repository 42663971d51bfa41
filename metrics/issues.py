"""Validation findings: what went wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Issue:
    row: int | None  # spreadsheet row number (the header is row 1 unless blank lines precede it)
    column: str | None
    value: str | None  # identifiers already masked
    rule: str
    message: str

    @classmethod
    def file(cls, rule: str, message: str, column: str | None = None) -> "Issue":
        return cls(row=None, column=column, value=None, rule=rule, message=message)

    @property
    def fix(self) -> str:
        from metrics.contract import RULES

        return RULES.get(self.rule, "")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["message"] = f"{self.message} {self.fix}".strip()
        return d


class Refused(Exception):
    """The input is refused; nothing was changed."""

    def __init__(self, errors: list[Issue], kind: str | None = None):
        super().__init__("; ".join(e.message for e in errors[:3]))
        self.errors = errors
        self.kind = kind


def mask(value: str) -> str:
    """Mask an identifier for display: keep the first character and the length."""
    v = str(value)
    if len(v) <= 1:
        return "*"
    return v[0] + "*" * min(len(v) - 1, 12) + (f" ({len(v)} chars)" if len(v) > 13 else "")
