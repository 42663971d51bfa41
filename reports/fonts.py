"""DejaVu Sans for the packs: finding and registering the fonts, and measuring text with their metrics.

:func:`register_fonts` (alias :func:`check_fonts`) finds DejaVu Sans and DejaVu Sans Bold (bundled in
``reports/fonts/`` if present, else Debian's ``fonts-dejavu-core``) and raises a clear error if they are
missing; :func:`text_width`, :func:`wrap` and :func:`clip` measure text with the same metrics — the PDF
lays text out with them and the slides decide with them what fits on a slide. The pack model, the PDF
and the slides renderers share this room; none imports another.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}
FONT_DIRS: tuple[Path, ...] = (
    Path(__file__).resolve().parent / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)

_registered = False


def font_files() -> dict[str, Path]:
    """Paths of DejaVu Sans and DejaVu Sans Bold; ``RuntimeError`` saying how to install them if absent."""
    found = {}
    for name, file in _FILES.items():
        for d in FONT_DIRS:
            if (d / file).is_file():
                found[name] = d / file
                break
    missing = [f for n, f in _FILES.items() if n not in found]
    if missing:
        raise RuntimeError(
            f"The board pack needs the DejaVu Sans fonts ({', '.join(missing)}) and could not find them in "
            f"{', '.join(str(d) for d in FONT_DIRS)}. Install them with 'apt-get install fonts-dejavu-core' "
            "(Debian/Ubuntu) or copy the .ttf files into reports/fonts/.")
    return found


def register_fonts() -> None:
    """Register DejaVu Sans (+ Bold) with reportlab, once. ``<b>`` in paragraphs uses the bold face."""
    global _registered
    if _registered:
        return
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, path in font_files().items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT, bold, italic, FONT_BOLD if bold else FONT)
    _registered = True


check_fonts = register_fonts


@lru_cache(maxsize=65536)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of ``text`` at ``size`` in DejaVu Sans (Bold)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    register_fonts()
    return stringWidth(text, FONT_BOLD if bold else FONT, size)


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """Greedy word wrap of ``text`` (newlines kept) into lines no wider than ``width`` points. Lines break
    between words; only a single word wider than the line is cut (see :func:`wrap_marked`)."""
    return [line for line, _ in wrap_marked(text, size, width, bold)]


def wrap_marked(text: str, size: float, width: float, bold: bool = False) -> list[tuple[str, bool]]:
    """:func:`wrap`, each line with True where it ends inside a word (a word wider than the line), so
    that whoever joins the lines again joins those without a space."""
    lines: list[tuple[str, bool]] = []
    for para in str(text).split("\n"):
        words = para.split()
        if not words:
            lines.append(("", False))
            continue
        line = ""
        for w in words:
            cand = f"{line} {w}" if line else w
            if text_width(cand, size, bold) <= width or not line:
                line = cand
            else:
                lines.append((line, False))
                line = w
            while text_width(line, size, bold) > width and len(line) > 1:  # one very long word
                lo, hi = 1, len(line) - 1  # the longest prefix that fits (at least one character)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if text_width(line[:mid], size, bold) <= width:
                        lo = mid
                    else:
                        hi = mid - 1
                lines.append((line[:lo], True))
                line = line[lo:]
        lines.append((line, False))
    return lines


def words_fit(text: str, size: float, width: float, bold: bool = False) -> bool:
    """True when every word of ``text`` fits in ``width`` points (so wrapping never cuts one)."""
    return all(text_width(w, size, bold) <= width for w in str(text).split())


def clip(text: str, size: float, width: float, bold: bool = False, max_lines: int = 1) -> str:
    """``text`` as it fits in ``max_lines`` lines of ``width`` points: unchanged if it does, else its
    first lines with the last one cut and ended with an ellipsis ("…"). Lines are joined by spaces
    (a renderer wraps them again the same way)."""
    text = str(text)
    # no line holds more than width / (0.2 em) characters: measure no more than can possibly show
    most = int(max_lines * (width / (0.2 * size) + 1)) + 1
    lines = wrap_marked(text[:most], size, width, bold)
    if len(lines) <= max_lines:
        if len(text) <= most:
            return text
        keep = lines  # only characters of no width could get here
    else:
        keep = lines[:max_lines]
    last = keep[-1][0].rstrip()
    while last and text_width(last + "…", size, bold) > width:
        last = last[:-1].rstrip()
    # a word cut by the wrap is joined again without a space: the renderer re-wraps it, never "confere nces"
    out = ""
    for i, (line, mid_word) in enumerate(keep[:-1]):
        out += line + ("" if mid_word else " ")
    return (out + last + "…").strip()


def header_layout(header: list[str], widths: list[float], total: float, size: float, pad: float,
                  min_size: float, max_lines: int = 3) -> tuple[float, list[float]]:
    """A table header that breaks only between words: the largest type size from ``size`` down to
    ``min_size`` (half-point steps) at which every word of every heading fits its column (``widths``:
    fractions of ``total`` points, less ``pad`` points of cell padding) in ``max_lines`` lines; where a word
    still does not fit, its column is widened by what it lacks, taken from the widest other column.
    Returns (size, widths)."""
    widths = list(widths)

    def fits(s: float) -> bool:
        return all(words_fit(h, s, w * total - pad, True) and len(wrap(h, s, w * total - pad, True)) <= max_lines
                   for h, w in zip(header, widths))

    s = size
    while not fits(s) and s - 0.5 >= min_size:
        s -= 0.5
    for j, h in enumerate(header):
        need = max((text_width(w, s, True) for w in str(h).split()), default=0.0) + pad + 1
        if widths[j] * total < need and len(widths) > 1:
            extra = need / total - widths[j]
            donor = max((k for k in range(len(widths)) if k != j), key=lambda k: widths[k])
            widths[donor] -= extra
            widths[j] += extra
    return s, widths
