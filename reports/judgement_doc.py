"""The generated parts of ``docs/judgement.md`` (the method in plain English) and its icons.

The page is written by hand, except for blocks between ``<!-- generated:NAME -->`` and
``<!-- /generated:NAME -->``, which :func:`render_block` produces from the code itself:

* ``icons`` — every variation and assurance icon (``docs/icons/*.svg``, drawn by :mod:`reports.icons`),
  its words, what it means and how it looks without colour;
* ``rules`` — the four process-control rules in words (:func:`metrics.reviews.words.rule_text`);
* ``settings`` — each judgement setting and its default (:mod:`metrics.spc` and the review settings).

``tests/test_docs_judgement.py`` fails when the committed page or an icon file differs from what this
module renders. Rewrite them with ``python -m reports.judgement_doc``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from metrics import spc
from metrics.reviews import words
from reports import icons

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC_PATH = DOCS / "judgement.md"
ICON_DIR = DOCS / "icons"
BLOCK = re.compile(r"(<!-- generated:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /generated:(?P=name) -->)", re.S)

_LOOKS = {"solid": "solid", "dashed": "dashed", "dotted": "dotted"}


def icon_file(icon: icons.Icon) -> str:
    return f"{icon.kind}-{icon.code}.svg"


def _looks(i: icons.Icon) -> str:
    """How the icon looks without colour."""
    outline = "circle" if i.outline == "circle" else "rounded square"
    inside = {"wave": "a wave", "dots": "three dots"}.get(i.glyph or "", "")
    if i.letter:
        inside = ("a question mark" if i.letter == "?" else f"the letter {i.letter}") + (
            f" with an arrow {i.arrow}" if i.arrow else "")
    return f"{_LOOKS[i.ring]} {outline}, {inside}"


def _icons_block() -> str:
    out = ["| Icon | Verdict | What it means | Without colour |", "|---|---|---|---|"]
    for i in icons.all_icons():
        kind = "Variation" if i.kind == "variation" else "Assurance"
        img = f'<img src="icons/{icon_file(i)}" width="32" height="32" alt="{kind}: {i.label}">'
        out.append(f"| {img} | **{kind}: {i.label}** | {i.meaning[0].upper()}{i.meaning[1:]}. | {_looks(i)} |")
    return "\n".join(out) + "\n"


def _rules_block() -> str:
    s = spc.SpcSettings()
    out = []
    for n, rule in enumerate(spc.RULES, start=1):
        out.append(f"{n}. **{rule.replace('_', ' ').capitalize()}** (`{rule}`): "
                   f"{words.rule_text(rule, 'high', s.run_length)}, or "
                   f"{words.rule_text(rule, 'low', s.run_length)}.")
    return "\n".join(out) + "\n"


def settings_rows() -> list[tuple[str, str, str]]:
    """(setting, default, meaning) for every judgement setting, from the review settings' own defaults
    (:class:`metrics.reviews.settings.JudgementSettings`) and each KPI's declaration."""
    from metrics.kpis import REGISTRY
    from metrics.reviews.settings import JudgementSettings

    j = JudgementSettings()
    pooled = [k.label for k in REGISTRY.values() if k.judge_on == "rolling_3_months"]
    yes = {True: "yes", False: "no"}
    return [
        ("reporting_lag_days", f"{j.reporting_lag_days} days",
         "How long after a month ends its data are complete: a review judges the latest month that ended at "
         "least this long before it."),
        ("judge_on", "3 months pooled for " + " and ".join(pooled) + "; the month for the rest",
         "Per percentage KPI: `month` or `rolling_3_months` (the judged month and the two before it pooled)."),
        ("run_length", str(j.run_length), "How many points in a row make a shift or a trend: 7 or 6."),
        ("screening", yes[j.screening],
         f"Leave out moving ranges of {spc.SCREEN} × the average or more before setting the limits, so one "
         "freak month does not widen them."),
        ("two_of_three_counts_beyond_limits", yes[j.two_of_three_counts_beyond_limits],
         "A point beyond the process limit also counts as beyond the near limit for the two-of-three rule "
         "(Making Data Count's 2023 reading; no reproduces NHSRplotthedots 0.2.2)."),
        ("fix_after", "empty",
         "Per KPI: set the limits on the first N months of a period (N ≥ 12) and extend them over the rest."),
        ("rebases", "none", "Per KPI: months that start a new period, each with its reason."),
    ]


def _settings_block() -> str:
    out = ["| Setting | Default | What it does |", "|---|---|---|"]
    out += [f"| `{a}` | {b} | {c} |" for a, b, c in settings_rows()]
    out.append("")
    out.append(f"A period with fewer than {spc.MIN_POINTS_FOR_VERDICT} months has trial limits. Process limits "
               f"are the mean ± {spc.LIMIT} × the average moving range; near limits ± {spc.NEAR:.4f} ×.")
    return "\n".join(out) + "\n"


BLOCKS = {"icons": _icons_block, "rules": _rules_block, "settings": _settings_block}


def render_block(name: str) -> str:
    return BLOCKS[name]()


def update(text: str) -> str:
    """``text`` with every generated block re-rendered (an unknown block name is an error)."""
    def sub(m: re.Match) -> str:
        name = m.group("name")
        if name not in BLOCKS:
            raise ValueError(f"docs/judgement.md has an unknown generated block '{name}' (known: {', '.join(BLOCKS)})")
        return m.group(1) + render_block(name) + m.group(4)

    return BLOCK.sub(sub, text)


def icon_files() -> dict[str, str]:
    """file name → SVG text for every icon the page shows."""
    return {icon_file(i): icons.svg(i, 32) + "\n" for i in icons.all_icons()}


def main(argv: list[str] | None = None) -> int:
    DOC_PATH.write_text(update(DOC_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in icon_files().items():
        (ICON_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH} and {len(icon_files())} icons in {ICON_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
