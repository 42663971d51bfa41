"""The judgement's icons (reports/icons.py): each has words and a title, and no two differ by colour alone."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest

from metrics.reviews import words
from reports import icons

SVG = "{http://www.w3.org/2000/svg}"


def contrast(hex_colour: str) -> float:
    def channel(x: float) -> float:
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(hex_colour.lstrip("#")[i:i + 2], 16) / 255) for i in (0, 2, 4))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


@pytest.mark.parametrize("icon", icons.all_icons(), ids=lambda i: f"{i.kind}-{i.code}")
def test_every_icon_has_words_a_title_and_a_role(icon):
    root = ET.fromstring(icons.svg(icon))
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and icon.label in title.text and icon.meaning in title.text
    assert root.get("aria-label") == title.text
    assert icon.label and icon.meaning
    badge = icons.badge_html(icon)
    assert f">{icon.label}<" in badge, "the badge shows the words beside the icon"
    assert f'alt="{icon.description}"' in badge.replace("&#x27;", "'"), "the picture has the words as alt text"
    assert "<svg" in icons.badge_html(icon, inline_svg=True)
    assert contrast(icon.colour) >= 4.5


def test_no_two_icons_differ_by_colour_alone():
    seen = {}
    for i in icons.all_icons():
        shape = (i.outline, i.ring, i.letter, i.arrow, i.glyph)
        # the two "not enough data" icons differ by outline (circle: variation, square: assurance)
        assert shape not in seen, f"{i.code} looks like {seen.get(shape)} without colour"
        seen[shape] = i.code


def test_variation_icons_follow_the_kpis_direction():
    assert icons.variation_icon("improvement", "up").letter == "H"
    assert icons.variation_icon("improvement", "down").letter == "L"
    assert icons.variation_icon("improvement", "down").arrow == "down"
    assert icons.variation_icon("concern", "down").letter == "H"
    assert icons.variation_icon("concern", "up").code == "concern_low"
    assert icons.variation_icon("improvement", "up").ring == "solid"
    assert icons.variation_icon("concern", "up").ring == "dashed"
    assert icons.variation_icon(None).label == "Not judged"
    assert icons.assurance_icon(None).label == "No target"


def test_png_is_a_square_png_of_the_size_asked():
    from PIL import Image

    for i in icons.all_icons():
        im = Image.open(io.BytesIO(icons.png(i, 64)))
        assert im.format == "PNG" and im.size == (64, 64)


def test_badge_escapes_its_text():
    html = icons.badge_html(icons.assurance_icon("hit_or_miss"), text="<b>x</b>", detail="a & b")
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html and "a &amp; b" in html


def test_data_url_is_base64_svg():
    assert icons.data_url(icons.assurance_icon("consistent_pass")).startswith("data:image/svg+xml;base64,")


def test_words_of_the_verdicts():
    assert words.variation_text("improvement") == "special cause improvement"
    assert words.variation_text("concern", "upper", direction="up") == "Special cause concern (low)"
    assert words.variation_text("improvement", "icon", direction="down") == "↓L Special cause improvement"
    assert words.variation_text("common_cause", "icon") == "~ Common cause"
    assert words.assurance_text("hit_or_miss", "icon") == "? Hit or miss"
    assert words.assurance_text(None) == "no target"
    assert words.interval_text((41.23, 63.0), lambda x: f"{x:.1f}%", target_within=True) == (
        "95% interval 41.2%–63.0%; cannot be told apart from the target at 95%")
    assert words.interval_text(None) == ""
    assert words.basis_text("rolling_3_months", "2023-10", 3) == "3 months pooled (Aug–Oct 2023)"
    assert words.basis_text("rolling_3_months", "2024-01", 2) == "2 months pooled (Nov 2023–Jan 2024; 1 without data)"
    assert words.basis_text("month", "2023-10", 1) == "the month (Oct 2023)"
    assert words.travel_text("no_significant_change", "icon") == "▶ No significant change"
