"""docs/judgement.md's generated blocks (icons, rules, settings) and its icon files are what the code
renders (rewrite them with ``python -m reports.judgement_doc``); every icon and verdict is on the page."""

from __future__ import annotations

import pytest

from metrics.reviews import words
from reports import icons, judgement_doc


def test_generated_blocks_are_up_to_date():
    text = judgement_doc.DOC_PATH.read_text(encoding="utf-8")
    assert set(m.group("name") for m in judgement_doc.BLOCK.finditer(text)) == set(judgement_doc.BLOCKS)
    assert judgement_doc.update(text) == text, (
        "docs/judgement.md differs from what the code renders: run `python -m reports.judgement_doc`")


@pytest.mark.parametrize("name", sorted(judgement_doc.icon_files()))
def test_icon_files_are_up_to_date(name):
    path = judgement_doc.ICON_DIR / name
    assert path.is_file(), f"docs/icons/{name} is missing: run `python -m reports.judgement_doc`"
    assert path.read_text(encoding="utf-8") == judgement_doc.icon_files()[name]
    assert f"icons/{name}" in judgement_doc.DOC_PATH.read_text(encoding="utf-8")


def test_every_verdict_is_explained_on_the_page():
    text = judgement_doc.DOC_PATH.read_text(encoding="utf-8")
    for v in words.VARIATIONS:
        assert words.VARIATION_MEANINGS[v][1:] in text
    for a in words.ASSURANCES:
        assert words.ASSURANCE_MEANINGS[a][1:] in text
    for phrase in ("reporting lag", "3 months pooled", words.CANNOT_TELL, "trial limits", "rebase",
                   "trend not established", "one month's swing"):
        assert phrase.lower() in text.lower(), phrase


def test_an_unknown_block_is_refused():
    with pytest.raises(ValueError, match="unknown generated block 'nope'"):
        judgement_doc.update("<!-- generated:nope -->\nx\n<!-- /generated:nope -->")


def test_the_page_renders_the_icons_it_lists():
    text = judgement_doc.render_block("icons")
    for i in icons.all_icons():
        assert i.label in text and judgement_doc.icon_file(i) in text
