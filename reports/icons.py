"""The judgement's icons: our own accessible drawings of Making Data Count's variation and assurance verdicts
(shared/spec/judgement.md section 4; docs/judgement.md shows them all).

One description per icon (:class:`Icon`: outline, ring, letter, arrow, colour, words), drawn three ways
from the same geometry, so every surface shows the same picture:

* :func:`svg` — inline SVG with ``role="img"``, an ``aria-label`` and a ``<title>`` (the dashboard through
  ``st.html``, docs/judgement.md's ``docs/icons/*.svg``), and :func:`data_url` for image cells;
* :func:`png` — a PNG drawn with Pillow in DejaVu Sans (the PDF and the PowerPoint packs: reportlab and
  python-pptx place PNG, neither SVG);
* :func:`badge_html` — the icon followed by its words (an icon never stands alone).

Nothing relies on colour: a **variation** icon is a circle, an **assurance** icon a rounded square; a
special cause improvement has a solid ring, a concern a dashed ring, "not enough data" a dotted one;
the letters say high or low (``H``/``L`` with an arrow), pass or fail (``P``/``F``), hit or miss (``?``);
common cause is a wave and "not enough data" three dots. Colours are Making Data Count's hues at
≥ 4.5:1 contrast on white: blue for improvement and pass, orange for concern and fail, grey for neither.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Literal

from metrics.reviews import words

BLUE = "#1d70b8"  # improvement, consistently passing (5.2:1 on white)
ORANGE = "#b35900"  # concern, consistently failing (4.8:1)
GREY = "#505a5f"  # common cause, hit or miss, not enough data (7.1:1)
VIEW = 48  # the SVG viewBox is VIEW × VIEW


@dataclass(frozen=True)
class Icon:
    kind: Literal["variation", "assurance"]
    code: str  # 'improvement_high', 'concern_low', 'common_cause', 'consistent_pass', 'not_enough_data', …
    verdict: str | None  # the model's value ('improvement', 'hit_or_miss', …; None: not judged / no target)
    outline: Literal["circle", "square"]  # variation: circle; assurance: rounded square
    ring: Literal["solid", "dashed", "dotted"]
    colour: str
    letter: str  # 'H', 'L', 'P', 'F', '?' or '' (drawn as a glyph below)
    arrow: Literal["up", "down"] | None
    glyph: Literal["wave", "dots"] | None
    label: str  # the words shown beside the icon: 'Special cause improvement (high)'
    meaning: str  # one sentence: the <title> and the packs' key

    @property
    def description(self) -> str:
        """What a screen reader says: the kind, the words and the meaning."""
        kind = "Variation" if self.kind == "variation" else "Assurance"
        return f"{kind}: {self.label} — {self.meaning}"


def variation_icon(variation: str | None, direction: str = "up") -> Icon:
    """The icon of a variation verdict (``metrics.spc.VARIATIONS``; None = not judged) on a KPI whose
    better ``direction`` is 'up' or 'down' (which sets high/low)."""
    v = variation if variation in words.VARIATIONS else "not_enough_data"
    sense = words.sense_of(v, direction)
    label = words.variation_text(v, "upper", direction=direction)
    meaning = words.VARIATION_MEANINGS[v]
    if variation is None:
        label, meaning = "Not judged", "no target is set, so the review does not judge this measure"
    if v in ("improvement", "concern"):
        return Icon("variation", f"{v}_{sense}", variation, "circle", "solid" if v == "improvement" else "dashed",
                    BLUE if v == "improvement" else ORANGE, "H" if sense == "high" else "L",
                    "up" if sense == "high" else "down", None, label, meaning)
    if v == "common_cause":
        return Icon("variation", v, variation, "circle", "solid", GREY, "", None, "wave", label, meaning)
    return Icon("variation", v, variation, "circle", "dotted", GREY, "", None, "dots", label, meaning)


def assurance_icon(assurance: str | None) -> Icon:
    """The icon of an assurance verdict (``metrics.spc.ASSURANCES``; None = no target)."""
    a = assurance if assurance in words.ASSURANCES else "not_enough_data"
    label, meaning = words.assurance_text(a, "upper"), words.ASSURANCE_MEANINGS[a]
    if assurance is None:
        label, meaning = "No target", "no target is set, so there is nothing to assure"
    spec = {"consistent_pass": ("solid", BLUE, "P", None), "consistent_fail": ("dashed", ORANGE, "F", None),
            "hit_or_miss": ("solid", GREY, "?", None), "not_enough_data": ("dotted", GREY, "", "dots")}[a]
    return Icon("assurance", a, assurance, "square", spec[0], spec[1], spec[2], None, spec[3], label, meaning)


def all_icons() -> list[Icon]:
    """Every distinct icon, in the order docs/judgement.md lists them."""
    return ([variation_icon(v, d) for v, d in (("improvement", "up"), ("improvement", "down"), ("concern", "down"),
                                              ("concern", "up"))]
            + [variation_icon("common_cause"), variation_icon("not_enough_data")]
            + [assurance_icon(a) for a in words.ASSURANCES])


# --- geometry, in viewBox units (0–48) -------------------------------------------------------------------

_RING_WIDTH = {"solid": 3.5, "dashed": 3.5, "dotted": 2.5}
_DASH = {"solid": None, "dashed": (6.0, 3.5), "dotted": (1.2, 3.2)}


def _wave(n: int = 25) -> list[tuple[float, float]]:
    return [(12 + 24 * i / (n - 1), 24 - 4.5 * math.sin(2 * math.pi * i / (n - 1) * 1.5)) for i in range(n)]


def _arrow(direction: str) -> list[tuple[float, float]]:
    """A filled triangle above (up) or below (down) the letter."""
    return [(24, 7.5), (17.5, 15), (30.5, 15)] if direction == "up" else [(24, 40.5), (17.5, 33), (30.5, 33)]


def _letter_box(icon: Icon) -> tuple[float, float]:
    """(baseline y, font size) of the letter."""
    if icon.arrow == "up":
        return 36.5, 17
    if icon.arrow == "down":
        return 27.5, 17
    return 31.5, 21


def svg(icon: Icon, size: int = 32) -> str:
    """The icon as inline SVG (``size`` CSS pixels), with role="img", an aria-label and a <title>."""
    c, w = icon.colour, _RING_WIDTH[icon.ring]
    dash = _DASH[icon.ring]
    dash_attr = f' stroke-dasharray="{dash[0]} {dash[1]}"' if dash else ""
    cap = ' stroke-linecap="round"' if icon.ring == "dotted" else ""
    if icon.outline == "circle":
        shape = f'<circle cx="24" cy="24" r="20.5" fill="#ffffff" stroke="{c}" stroke-width="{w}"{dash_attr}{cap}/>'
    else:
        shape = (f'<rect x="3.5" y="3.5" width="41" height="41" rx="9" fill="#ffffff" stroke="{c}" '
                 f'stroke-width="{w}"{dash_attr}{cap}/>')
    parts = [shape]
    if icon.arrow:
        pts = " ".join(f"{x:g},{y:g}" for x, y in _arrow(icon.arrow))
        parts.append(f'<polygon points="{pts}" fill="{c}"/>')
    if icon.letter:
        y, fs = _letter_box(icon)
        parts.append(f'<text x="24" y="{y:g}" text-anchor="middle" font-family="DejaVu Sans, Verdana, Arial, '
                     f'sans-serif" font-weight="bold" font-size="{fs}" fill="{c}">{escape(icon.letter)}</text>')
    if icon.glyph == "wave":
        pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in _wave())
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="3" '
                     'stroke-linecap="round" stroke-linejoin="round"/>')
    if icon.glyph == "dots":
        parts += [f'<circle cx="{x}" cy="24" r="2.6" fill="{c}"/>' for x in (15, 24, 33)]
    label = escape(icon.description, quote=True)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW} {VIEW}" width="{size}" height="{size}" '
            f'role="img" aria-label="{label}" focusable="false" style="vertical-align:middle;flex:none">'
            f'<title>{label}</title>{"".join(parts)}</svg>')


def data_url(icon: Icon, size: int = 32) -> str:
    """The SVG as a ``data:`` URL (Streamlit's ImageColumn, <img> in HTML)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg(icon, size).encode()).decode()


def img_html(icon: Icon, size: int = 32) -> str:
    """The icon as an ``<img>`` of its SVG (a data URL) with the words as ``alt`` and ``title``: what survives
    a sanitiser that drops inline ``<svg>`` (Streamlit's ``st.html`` runs DOMPurify's HTML profile)."""
    label = escape(icon.description, quote=True)
    return (f'<img src="{data_url(icon, size)}" width="{size}" height="{size}" alt="{label}" title="{label}" '
            'style="vertical-align:middle;flex:none">')


def badge_html(icon: Icon, size: int = 28, text: str | None = None, *, detail: str = "",
               inline_svg: bool = False) -> str:
    """The icon followed by its words (``text``, default the icon's label) and an optional smaller
    ``detail`` line, as one inline HTML block. ``inline_svg``: the icon as inline ``<svg>`` (documents), else
    as an ``<img>`` (:func:`img_html`, the dashboard). Every string is escaped here."""
    words_html = f'<span style="font-weight:600">{escape(text or icon.label)}</span>'
    if detail:
        words_html += f'<br><span style="font-size:0.85em;color:#505a5f">{escape(detail)}</span>'
    picture = svg(icon, size) if inline_svg else img_html(icon, size)
    return (f'<span class="verdict verdict-{icon.kind}" style="display:inline-flex;align-items:center;gap:0.45em;'
            f'line-height:1.25">{picture}<span>{words_html}</span></span>')


# --- PNG (the packs) --------------------------------------------------------------------------------------


def _dashed_arc_segments(dash: tuple[float, float], perimeter: float) -> list[tuple[float, float]]:
    """(start, end) fractions of the perimeter that are drawn, for a dash pattern."""
    on, off = dash
    n = max(1, round(perimeter / (on + off)))
    step = 1 / n
    return [(i * step, i * step + step * on / (on + off)) for i in range(n)]


@lru_cache(maxsize=64)
def png(icon: Icon, size: int = 96) -> bytes:
    """The icon as a PNG ``size`` pixels square (drawn 4× larger and scaled down, so edges are smooth)."""
    from PIL import Image, ImageDraw, ImageFont

    from reports.fonts import FONT_BOLD, font_files

    k = 4 * size / VIEW  # pixels per viewBox unit at the drawing scale
    big = 4 * size
    im = Image.new("RGBA", (big, big), (255, 255, 255, 0))
    d = ImageDraw.Draw(im)
    c = icon.colour
    w = max(1, round(_RING_WIDTH[icon.ring] * k))
    dash = _DASH[icon.ring]

    def p(x: float, y: float) -> tuple[float, float]:
        return x * k, y * k

    if icon.outline == "circle":
        box = [*p(24 - 20.5 - _RING_WIDTH[icon.ring] / 2, 24 - 20.5 - _RING_WIDTH[icon.ring] / 2),
               *p(24 + 20.5 + _RING_WIDTH[icon.ring] / 2, 24 + 20.5 + _RING_WIDTH[icon.ring] / 2)]
        d.ellipse(box, fill="#ffffff")
        if dash is None:
            d.ellipse(box, outline=c, width=w)
        else:
            for a, b in _dashed_arc_segments(dash, 2 * math.pi * 20.5):
                d.arc(box, a * 360, b * 360 + (2 if icon.ring == "dotted" else 0), fill=c, width=w)
    else:
        half = _RING_WIDTH[icon.ring] / 2
        box = [*p(3.5 - half, 3.5 - half), *p(44.5 + half, 44.5 + half)]
        d.rounded_rectangle(box, radius=9 * k, fill="#ffffff")
        if dash is None:
            d.rounded_rectangle(box, radius=9 * k, outline=c, width=w)
        else:  # dashes along the rounded square: sample its outline and draw the "on" stretches
            outline = _rounded_square_points(3.5, 44.5, 9, 400)
            pos = 0.0
            on, off = dash
            for i in range(len(outline) - 1):
                seg = math.dist(outline[i], outline[i + 1])
                if (pos % (on + off)) < on:
                    d.line([p(*outline[i]), p(*outline[i + 1])], fill=c, width=w)
                pos += seg
    if icon.arrow:
        d.polygon([p(x, y) for x, y in _arrow(icon.arrow)], fill=c)
    if icon.letter:
        y, fs = _letter_box(icon)
        font = ImageFont.truetype(str(font_files()[FONT_BOLD]), round(fs * k))
        d.text(p(24, y), icon.letter, fill=c, font=font, anchor="ms")
    if icon.glyph == "wave":
        d.line([p(x, y) for x, y in _wave(49)], fill=c, width=round(3 * k), joint="curve")
    if icon.glyph == "dots":
        for x in (15, 24, 33):
            d.ellipse([*p(x - 2.6, 24 - 2.6), *p(x + 2.6, 24 + 2.6)], fill=c)
    out = io.BytesIO()
    im.resize((size, size), Image.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def _rounded_square_points(lo: float, hi: float, r: float, n: int) -> list[tuple[float, float]]:
    """Points around a rounded square, clockwise from the top edge's start."""
    pts: list[tuple[float, float]] = []
    corners = [(hi - r, lo + r, -90), (hi - r, hi - r, 0), (lo + r, hi - r, 90), (lo + r, lo + r, 180)]
    for cx, cy, start in corners:
        for i in range(n // 8 + 1):
            a = math.radians(start + 90 * i / (n // 8))
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    pts.append(pts[0])
    # straight edges are the chords between corner arcs: densify them so dashes fall evenly
    dense: list[tuple[float, float]] = []
    for a, b in zip(pts, pts[1:]):
        steps = max(1, int(math.dist(a, b) / 0.5))
        dense += [(a[0] + (b[0] - a[0]) * t / steps, a[1] + (b[1] - a[1]) * t / steps) for t in range(steps)]
    dense.append(pts[-1])
    return dense
