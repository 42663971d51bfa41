"""The board pack as a PowerPoint deck: 16:9, titles 28 pt and more, every other text 16 pt and more.

:func:`render` lays out a :class:`reports.pack.model.PackModel` with python-pptx and returns the slide
count. Text is measured with the DejaVu Sans metrics (:func:`reports.fonts.wrap`) before it is placed,
so nothing overflows its box: what does not fit moves to a continuation slide. Every run is set in
"DejaVu Sans"; PowerPoint substitutes a similar sans-serif font on a machine without it (python-pptx
cannot embed fonts), which can make lines slightly longer or shorter — the boxes keep some slack.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from pathlib import Path

from metrics.months import short_month
from metrics.reviews.words import RAG_COLOURS
# check_fonts: part of the renderer contract
from reports.fonts import check_fonts, clip, header_layout, text_width, wrap  # noqa: F401
from reports.pack.model import CHART_HEIGHT, CHART_SIZE, CHART_WIDTH, Table

FONT_NAME = "DejaVu Sans"
TITLE_PT, HEAD_PT, BODY_PT, STATUS_PT = 28, 20, 16, 20
LINE = 1.2  # line height ÷ font size
TABLE_LINE = 1.1
SLIDE_W, SLIDE_H = 13.333, 7.5  # inches, 16:9
MARGIN = 0.4
FOOTER_Y = 7.0
CONTENT_TOP = 1.2  # content starts here below a one-line title (lower below a two-line one)
TITLE_W = SLIDE_W - 2 * MARGIN - 2.1  # the marking sits to the right of the title
TITLE_LINE = 1.05
INK, GREY, WHITE, HEAD_BG = "0B0C0C", "505A5F", "FFFFFF", "1D4F91"
MARKING_COLOURS = {"PUBLIC": "00703C", "RESTRICTED": "B10E1E"}
SLACK = 0.93  # measure against 93% of a box's width: room for PowerPoint's own font metrics


@dataclass
class Para:
    text: str
    size: float = BODY_PT
    bold: bool = False
    colour: str = INK
    space_before: float = 0.0  # points
    bullet: bool = False

    def lines(self, width_in: float) -> list[str]:
        text = ("• " + self.text) if self.bullet else self.text
        return wrap(text, self.size, width_in * 72 * SLACK, self.bold)

    def height(self, width_in: float) -> float:
        """Inches."""
        return (len(self.lines(width_in)) * self.size * LINE + self.space_before) / 72


def _chars(text: str, limit: int) -> str:
    """At most ``limit`` characters, the last an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _width(text: str, size: float) -> float:

    return text_width(text, size)


def _inches(x: float):
    from pptx.util import Inches

    return Inches(x)


def _rgb(hex6: str):
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex6.lstrip("#").upper())


def _style_run(run, size: float, bold: bool = False, colour: str = INK) -> None:
    from pptx.util import Pt

    run.font.name = FONT_NAME
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = _rgb(colour)


def _textbox(slide, x, y, w, h, paras: list[Para], *, fill: str | None = None, align: str = "left",
             anchor: str = "top", line: float = LINE):
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE

    box = slide.shapes.add_textbox(_inches(x), _inches(y), _inches(w), _inches(h))
    tf = box.text_frame
    tf.word_wrap = True
    tf.auto_size = MSO_AUTO_SIZE.NONE
    tf.margin_left = tf.margin_right = _inches(0.08)
    tf.margin_top = tf.margin_bottom = _inches(0.04)
    tf.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
    if fill:
        box.fill.solid()
        box.fill.fore_color.rgb = _rgb(fill)
    txBody = tf._txBody
    first = txBody.p_lst[0]
    for i, p in enumerate(paras):
        key = (align, p.size * line, p.space_before, p.size, p.bold, p.colour)
        para = _from_template(key, lambda para: _style_para(para, p, align, line))
        _set_text(para, ("• " + p.text) if p.bullet else p.text)
        if i == 0:
            txBody.replace(first, para)
        else:
            txBody.append(para)
    return box


def _style_para(para, p: Para, align: str, line: float) -> None:
    """A text box's paragraph ``p`` styled (its text set apart, by :func:`_set_text`)."""
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Pt

    para.alignment = {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT, "center": PP_ALIGN.CENTER}[align]
    para.line_spacing = Pt(p.size * line)
    if p.space_before:
        para.space_before = Pt(p.space_before)
    _style_run(para.add_run(), p.size, p.bold, p.colour)


#: Styled paragraphs (``a:p`` with one run and no text) by style: python-pptx takes ~1 ms to style a run through
#: its API, which made the deck's thousands of runs most of its time; a copy of the same XML takes microseconds.
_PARA_TEMPLATES: dict = {}


def _from_template(key, style):
    """A copy of the ``a:p`` that ``style`` (a function of a python-pptx paragraph) makes of an empty one."""
    import copy

    tpl = _PARA_TEMPLATES.get(key)
    if tpl is None:
        from pptx.oxml import parse_xml
        from pptx.text.text import _Paragraph

        tpl = parse_xml('<a:p xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"/>')
        style(_Paragraph(tpl, None))
        _PARA_TEMPLATES[key] = tpl
    return copy.deepcopy(tpl)


def _set_text(para, text: str) -> None:
    """The text of the (one) run of a paragraph from :func:`_from_template`, as python-pptx's ``run.text`` sets it."""
    from pptx.oxml.text import CT_RegularTextRun

    para.r_lst[0].t.text = CT_RegularTextRun._escape_ctrl_chars(text)


class Deck:
    """A presentation with the pack's furniture (marking, footer, slide numbers added at the end)."""

    def __init__(self, model) -> None:
        from pptx import Presentation

        self.model = model
        self.prs = Presentation()
        self.prs.slide_width = _inches(SLIDE_W)
        self.prs.slide_height = _inches(SLIDE_H)
        cp = self.prs.core_properties  # each at most 255 characters (the file format's limit)
        cp.title = _chars(f"{model.title}: {model.review_label}", 255)
        cp.author = _chars(model.council, 255)
        cp.subject = _chars(f"{model.marking}: {model.council}, {model.review_label}", 255)
        cp.keywords = model.marking
        self._numbered: list = []

    def slide(self, title: str | None = None):
        """A new blank slide with ``title`` (28 pt bold, one or two lines) and the marking; ``self.below``
        is then the y (inches) where the slide's content may start."""
        s = self.prs.slides.add_slide(self.prs.slide_layouts[6])  # blank
        self.below = 0.3
        if title is not None:
            title = clip(title, TITLE_PT, (TITLE_W - 0.16) * 72 * SLACK, True, 2)
            n = len(wrap(title, TITLE_PT, (TITLE_W - 0.16) * 72 * SLACK, True))
            h = min(n, 2) * TITLE_PT * TITLE_LINE / 72 + 0.1
            _textbox(s, MARGIN, 0.22, TITLE_W, h, [Para(title, TITLE_PT, True)], line=TITLE_LINE)
            w = 1.9
            _textbox(s, SLIDE_W - MARGIN - w, 0.3, w, 0.5, [Para(self.model.marking, BODY_PT, True, WHITE)],
                     fill=MARKING_COLOURS[self.model.marking], align="center", anchor="middle")
            self._numbered.append(s)
            self.below = 0.22 + h + 0.12
        return s

    def title_fits(self, title: str, lines: int = 1) -> bool:
        return len(wrap(title, TITLE_PT, (TITLE_W - 0.16) * 72 * SLACK, True)) <= lines

    def finish(self, path: Path) -> int:
        total = len(self.prs.slides)
        demo = " · Synthetic demo data" if self.model.demo else ""
        for s in self._numbered:
            n = list(self.prs.slides).index(s) + 1
            footer = clip(self.model.footer, BODY_PT, (9.5 - 0.16) * 72 * SLACK - _width(demo, BODY_PT)) + demo
            _textbox(s, MARGIN, FOOTER_Y, 9.5, 0.42, [Para(footer, BODY_PT, False, GREY)])
            _textbox(s, SLIDE_W - MARGIN - 2.5, FOOTER_Y, 2.5, 0.42, [Para(f"{n} / {total}", BODY_PT, False, GREY)],
                     align="right")
        self.prs.save(str(path))
        return total

    def title_bottom(self, title: str) -> float:
        """Where content may start below ``title`` (see :meth:`slide`)."""
        n = min(len(wrap(title, TITLE_PT, (TITLE_W - 0.16) * 72 * SLACK, True)), 2)
        return 0.22 + n * TITLE_PT * TITLE_LINE / 72 + 0.1 + 0.12

    def flow(self, title: str, paras: list[Para], *, top: float = CONTENT_TOP, continued: str = " (continued)"):
        """Text slides: ``paras`` poured into as many slides as they need."""
        width = SLIDE_W - 2 * MARGIN
        top = max(top, self.title_bottom(title), self.title_bottom(title + continued))
        height = FOOTER_Y - top - 0.1
        pages: list[list[Para]] = [[]]
        used = 0.0
        for p in paras:
            lines = p.lines(width - 0.16)
            h = p.height(width - 0.16)
            if used + h > height and pages[-1]:
                if pages[-1][-1].bold:  # keep a heading with what follows it
                    pages.append([pages[-1].pop()])
                    used = pages[-1][0].height(width - 0.16)
                else:
                    pages.append([])
                    used = 0.0
            if h > height:  # one paragraph longer than a slide: split it by lines
                per = int((height * 72) // (p.size * LINE))
                for i in range(0, len(lines), per):
                    chunk = Para(" ".join(lines[i:i + per]).removeprefix("• "), p.size, p.bold, p.colour,
                                 bullet=p.bullet and i == 0)
                    if pages[-1]:
                        pages.append([])
                    pages[-1].append(chunk)
                used = chunk.height(width - 0.16)
                continue
            pages[-1].append(p)
            used += h
        for i, page in enumerate(pages):
            s = self.slide(title + (continued if i else ""))
            if page and page[0].space_before:
                page[0] = Para(page[0].text, page[0].size, page[0].bold, page[0].colour, 0.0, page[0].bullet)
            _textbox(s, MARGIN, top, width, height, page)


def _table(slide, x: float, y: float, w: float, t, *, size: float = BODY_PT, rag_col: int | None = None,
           rags: list | None = None, max_lines: int = 3, line: float = TABLE_LINE) -> float:
    """Add model Table ``t`` (a "\n" in a cell starts a new line); rows sized to their wrapped text.
    Returns the table's height in inches."""

    t = _clipped(_laid_out(t, w, size), w, size, max_lines)
    widths = [f * w for f in t.widths]
    align = t.align or ["left"] * len(t.header)
    heights = _row_heights(t, w, size, max_lines, line)
    shape = slide.shapes.add_table(len(t.rows) + 1, len(t.header), _inches(x), _inches(y), _inches(w),
                                   _inches(sum(heights)))
    tbl = shape.table
    tbl.first_row = True
    for j, cw in enumerate(widths):
        tbl.columns[j].width = _inches(cw)
    for tr, h in zip(tbl._tbl.tr_lst, heights):  # as tbl.rows[i].height = …, the frame's height summed once
        tr.h = _inches(h)
    tbl.notify_height_changed()
    for i, cells in enumerate([t.header, *t.rows]):
        tr = tbl._tbl.tr_lst[i]
        for j, text in enumerate(cells):
            head = i == 0
            bold = head or (t.last_row_bold and i == len(t.rows))
            colour, how = WHITE if head else INK, align[j]
            if head:
                fill = HEAD_BG
            elif rag_col is not None and j == rag_col and rags is not None:
                fill = RAG_COLOURS.get(rags[i - 1], "#505a5f")
                colour, bold, how = WHITE, True, "center"
            else:
                fill = "FFFFFF" if i % 2 else "F3F2F1"
            old = tr.tc_lst[j]
            tc = _cell_from_template(old, (size * line, size, bold, colour, how, fill))
            paras = tc.txBody.p_lst
            for k, part in enumerate(str(text).split("\n")):
                if k:  # a further line: the same paragraph again, as tf.add_paragraph() styled alike made it
                    paras.append(copy.deepcopy(paras[0]))
                    tc.txBody.append(paras[-1])
                _set_text(paras[k], part)
            tr.replace(old, tc)
    return sum(heights)


#: Styled table cells (``a:tc``, one paragraph with one run and no text) by style; see :data:`_PARA_TEMPLATES`.
_CELL_TEMPLATES: dict = {}


def _cell_from_template(blank, key):
    """A copy of the table cell that the python-pptx calls below make of ``blank`` (a new table's cell) for
    ``key`` = (line spacing pt, size, bold, colour, alignment, fill)."""
    tpl = _CELL_TEMPLATES.get(key)
    if tpl is None:
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.table import _Cell
        from pptx.util import Pt

        spacing, size, bold, colour, how, fill = key
        tpl = copy.deepcopy(blank)
        cell = _Cell(tpl, None)
        cell.margin_left = cell.margin_right = _inches(0.08)
        cell.margin_top = cell.margin_bottom = _inches(0.03)
        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
        cell.fill.solid()
        cell.fill.fore_color.rgb = _rgb(fill)
        tf = cell.text_frame
        tf.word_wrap = True
        p = tf.paragraphs[0]
        p.alignment = {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT, "center": PP_ALIGN.CENTER}[how]
        p.line_spacing = Pt(spacing)
        _style_run(p.add_run(), size, bold, colour)
        _CELL_TEMPLATES[key] = tpl
    return copy.deepcopy(tpl)


def _laid_out(t, w: float, size: float):
    """Table ``t`` with its columns widened where a heading's word would not fit (headings break between
    words only, and no text is set below 16 pt: :func:`reports.fonts.header_layout`)."""
    _, widths = header_layout(t.header, t.widths, w * 72 * SLACK, size, 0.16 * 72 * SLACK, size)
    return Table(t.header, t.rows, widths, t.align, last_row_bold=t.last_row_bold)


def _clipped(t, w: float, size: float, max_lines: int):
    """Table ``t`` with every cell cut (with an ellipsis) to what its row can show: ``max_lines`` lines
    (two for the header), each "\n"-separated part of a cell counting as a line."""

    widths = [(f * w - 0.16) * 72 * SLACK for f in t.widths]

    def fit(text, cw: float, bold: bool, n: int) -> str:
        parts = str(text).split("\n")
        return "\n".join(clip(part, size, cw, bold, max(n - len(parts) + 1, 1)) for part in parts[:n])

    last = len(t.rows) - 1
    return Table([fit(h, cw, True, 3) for h, cw in zip(t.header, widths)],
                 [[fit(c, cw, t.last_row_bold and i == last, max_lines) for c, cw in zip(row, widths)]
                  for i, row in enumerate(t.rows)], t.widths, t.align, last_row_bold=t.last_row_bold)


def _picture(slide, png: bytes, x: float, y: float, w: float, h: float, alt: str) -> None:
    pic = slide.shapes.add_picture(io.BytesIO(png), _inches(x), _inches(y), _inches(w), _inches(h))
    pic._element.nvPicPr.cNvPr.set("descr", alt)  # alternative text for screen readers


def _notes(slide, text: str) -> None:
    slide.notes_slide.notes_text_frame.text = text


def _short_forecast(text: str) -> str:
    return text.replace("on trend to meet by ", "on trend: ")


# --- slides ----------------------------------------------------------------------------------


def _cover(deck: Deck) -> None:
    m = deck.model
    s = deck.slide()
    _textbox(s, 0, 0, SLIDE_W, 0.95, [Para(clip(f"{m.marking}  ·  {m.marking_note}", 20, (SLIDE_W - 0.16) * 72 * SLACK,
                                                True, 2), 20, True, WHITE)],
             fill=MARKING_COLOURS[m.marking], anchor="middle")
    width = (SLIDE_W - 1.2 - 0.16) * 72 * SLACK
    paras = [Para(clip(m.council, 40, width, True, 2), 40, True),
             Para(clip(f"{m.title}: {m.review_label}", 30, width, True, 2), 30, True, space_before=6)]
    paras += [Para(clip(line, 20, width, False, 2), 20, space_before=8) for line in m.cover_lines]
    paras.append(Para(f"Overall: {m.overall}", 24, True, space_before=18))
    _textbox(s, 0.6, 1.4, SLIDE_W - 1.2, 5.8, paras)


def _headline(rows) -> str:
    """'5 green · 2 amber · 3 red' — the overall count as a slide title (categories with none left out;
    '4 not shown' in a public pack). The full line is in the speaker notes."""
    rated = [r for r in rows if r.rag is not None or r.suppressed]
    counts = [(sum(r.rag == k for r in rated), w) for k, w in
              (("green", "green"), ("amber", "amber"), ("red", "red"), ("no_data", "no data"))]
    counts.append((sum(r.suppressed for r in rated), "not shown"))
    return " · ".join(f"{n} {w}" for n, w in counts if n)


def _summary(deck: Deck) -> None:
    """One slide: the overall count as its title, then every KPI (travel and forecast share a column so
    that ten rows fit at 16 pt)."""

    m = deck.model
    t = m.summary
    # the summary's columns: priority, actual (+ interval), target, RAG, variation, assurance, forecast
    def marked(row, what: str, text: str) -> str:
        return " ".join(x for x in (_mark(row, what), text) if x)

    rows = [[r[0], r[1].split("\n")[0], r[2], r[3],
             f"{marked(row, 'variation', r[4])}\n{marked(row, 'assurance', r[5])}", _short_forecast(r[6])]
            for r, row in zip(t.rows, m.summary_rows)]
    slim = Table([f"Priority (ToR), {short_month(m.month)}", "Actual", "Target", "RAG",
                  "Variation, assurance", "Forecast"], rows,
                 [0.33, 0.10, 0.09, 0.10, 0.25, 0.13], ["left", "right", "right", "center", "left", "left"])
    title = _headline(m.summary_rows)
    headline = deck.title_fits(title)
    s = deck.slide(title if headline else f"Checkpoint summary — {m.review_label}")
    h = _table(s, MARGIN, 1.05, SLIDE_W - 2 * MARGIN, slim, size=BODY_PT, rag_col=3, rags=m.summary_rags,
               max_lines=2, line=1.0)
    notes = ([] if headline else [f"Overall: {m.overall}."]) + list(m.summary_notes)
    room = FOOTER_Y - 1.05 - h - 0.1
    fit, rest = _fill([Para(n, BODY_PT, colour=GREY) for n in notes], SLIDE_W - 2 * MARGIN - 0.16, room,
                      split=False)
    if fit:
        _textbox(s, MARGIN, 1.05 + h + 0.05, SLIDE_W - 2 * MARGIN, room, fit)
    if rest:
        deck.flow("Checkpoint summary: notes", rest)
    _notes(s, "\n".join([f"{m.review_label}. Overall: {m.overall}.", *m.summary_notes]))


def _mark(row, what: str) -> str:
    """The text mark of a verdict in a table cell ('↑H', 'P', …; the drawn icons are on the KPI slides)."""
    from metrics.reviews import words

    if what == "variation":
        if row.variation is None:
            return ""
        sense = words.sense_of(row.variation, row.direction)
        return words.VARIATION_MARKS.get((row.variation, sense)) or words.VARIATION_MARKS.get(row.variation, "")
    return words.ASSURANCE_MARKS.get(row.assurance, "") if row.assurance else ""


def _verdicts(deck: Deck, s, page, y: float) -> float:
    """The variation and assurance icons (pictures with alt text) beside their words, and the basis and
    interval sentence; returns the height used (inches)."""
    from reports.icons import png
    from reports.pack.model import row_icons, verdict_line

    r = page.row
    v, a = row_icons(r)
    h = 2 * BODY_PT * 1.05 / 72 + 0.12
    x = MARGIN
    for icon, text, w in ((v, r.variation_text, 3.9), (a, r.assurance_text, 3.1)):
        if icon is not None:
            _picture(s, png(icon, 128), x, y + (h - 0.5) / 2, 0.5, 0.5, icon.description)
        _textbox(s, x + 0.56, y, w - 0.6, h, [Para(clip(text, BODY_PT, (w - 0.76) * 72 * SLACK, True, 2), BODY_PT,
                                                    True)], anchor="middle", line=1.05)
        x += w
    # green beside 'consistently failing': said first, so the three lines' clip never drops it
    line = " ".join(filter(None, (page.apart_short.capitalize() + "." if page.apart_short else "",
                                   verdict_line(r))))
    if line:
        lh = 3 * BODY_PT * 1.0 / 72 + 0.1
        _textbox(s, x, y, SLIDE_W - MARGIN - x, lh,
                 [Para(clip(line, BODY_PT, (SLIDE_W - MARGIN - x - 0.16) * 72 * SLACK, False, 3), BODY_PT,
                       colour=GREY)], line=1.0)
        h = max(h, lh)
    return h


def _status(deck: Deck, s, page, y: float) -> None:

    r = page.row
    cols = [(f"Actual, {short_month(r.actual_month)}", r.actual_text, 2.3), ("Target", r.target_text, 2.0),
            ("RAG", r.rag_text, 1.8), ("Travel", r.travel_text, 2.1),
            ("Forecast", r.forecast_text, SLIDE_W - 2 * MARGIN - 8.2)]
    x = MARGIN
    for i, (label, value, w) in enumerate(cols):
        _textbox(s, x, y, w, 0.36, [Para(label, BODY_PT, False, GREY)])
        if i == 2:
            _textbox(s, x + 0.05, y + 0.36, w - 0.2, 0.46, [Para(value, STATUS_PT, True, WHITE)],
                     fill=RAG_COLOURS.get(r.rag, "#505a5f").lstrip("#"), align="center", anchor="middle")
        else:
            size = STATUS_PT if len(wrap(value, STATUS_PT, (w - 0.16) * 72 * SLACK, True)) == 1 else BODY_PT
            _textbox(s, x, y + 0.36, w, 0.5, [Para(value, size, True)])
        x += w


def _kpi_slides(deck: Deck, page) -> None:
    """Slide 1: status, chart, last three months, latest commentary, data quality. Slide 2: definition,
    secondary measures and the team breakdown (third slide if it does not fit); then the actions log on its
    own slide where there are actions. Anything longer moves to a continuation slide: nothing is set below
    16 pt."""

    s = deck.slide(page.title if deck.title_fits(page.title, 2) else page.kpi.label)
    _status(deck, s, page, deck.below + 0.08)
    top = deck.below + 0.95
    top += _verdicts(deck, s, page, top) + 0.05
    bottom = FOOTER_Y - 0.1
    chart_w = min((bottom - top - 0.32) * CHART_WIDTH / CHART_HEIGHT, 7.5)  # room for its one-line caption
    chart_h = chart_w * CHART_HEIGHT / CHART_WIDTH
    if page.chart_png:
        _picture(s, page.chart_png, MARGIN, top, chart_w, chart_h, page.chart_caption)
    _textbox(s, MARGIN, top + chart_h + 0.02, chart_w, bottom - top - chart_h - 0.02,
             [Para("Chart: actual (solid), target (dashed), checkpoints with RAG."
                   + (f" {page.benchmark_note}" if page.benchmark_note else ""), BODY_PT, colour=GREY)])
    px = MARGIN + chart_w + 0.2
    pw = SLIDE_W - MARGIN - px
    recent = page.recent
    if len(recent.header) == 4:  # month, %, part, whole → month, %, "part of whole" under its unit
        fte = page.kpi.parts_unit == "fte"
        rows = [[r[0], r[1], f"{r[2]} of {r[3]}" + (" FTE" if fte else "") if r[2] or r[3] else ""]
                for r in recent.rows]
        recent = Table(["Month", "%", "FTE" if fte else "Number"], rows, [0.3, 0.24, 0.46],
                       ["left", "right", "right"])
    y = top + _table(s, px, top, pw, recent, size=BODY_PT, max_lines=2) + 0.1
    if page.commentary:
        c = page.commentary
        who = ", ".join(x for x in (c.author, c.when) if x)
        comment = [Para("Latest commentary", HEAD_PT, True), Para(c.body, BODY_PT),
                   Para(f"— {who}" + (f" ({c.note})" if c.note else ""), BODY_PT, colour=GREY)]
    else:
        comment = [Para("Latest commentary", HEAD_PT, True),
                   Para("No commentary recorded at this checkpoint.", BODY_PT, colour=GREY)]
    quality = [Para(q, BODY_PT, colour=GREY, bullet=True) for q in page.quality]
    if quality:
        quality[0].space_before = 6
    fit, rest = _fill(comment + quality, pw - 0.16, bottom - y)
    if fit:
        _textbox(s, px, y, pw, bottom - y, fit)
    _notes(s, "\n\n".join([page.title, f"{page.row.actual_text} against a target of {page.row.target_text}: "
                           f"{page.row.rag_text}, {page.row.travel_text}; forecast {page.row.forecast_text}.",
                           page.chart_caption, *(p.text for p in comment[1:]), *page.quality]))

    # slide 2: definition, details, teams
    about = [Para("Definition", HEAD_PT, True), Para(page.definition, BODY_PT)]
    if page.details:
        about += [Para(f"{short_month_of(page)}", HEAD_PT, True, space_before=8)]
        about += [Para(d, BODY_PT) for d in page.details]
    if page.teams_note:
        about.append(Para(page.teams_note, BODY_PT, colour=GREY, space_before=8))
    if not page.actions:
        about.append(Para("Actions: none recorded for this priority.", BODY_PT, colour=GREY, space_before=8))
    if rest:
        about = [Para("Latest commentary (continued)", HEAD_PT, True), *rest,
                 Para("", BODY_PT), *about]
    right_w = 7.3
    s2 = deck.slide(f"{page.kpi.label}: detail" if deck.title_fits(f"{page.kpi.label}: detail")
                    else page.kpi.label)
    y2 = max(CONTENT_TOP, deck.below + 0.1)
    teams = _slide_teams(page.teams) if page.teams is not None else None
    teams_here = teams is not None and _teams_height(teams, right_w) <= bottom - y2
    left_w = SLIDE_W - 2 * MARGIN - right_w - 0.3 if teams_here else SLIDE_W - 2 * MARGIN
    fit, rest = _fill(about, left_w - 0.16, bottom - y2)
    _textbox(s2, MARGIN, y2, left_w, bottom - y2, fit)
    if rest:
        deck.flow(f"{page.kpi.label} (continued)", rest, continued="")
    if teams_here:
        x = SLIDE_W - MARGIN - right_w
        _textbox(s2, x, y2, right_w, 0.45, [Para(f"By team, {page.recent.rows[-1][0]}", HEAD_PT, True)])
        _table(s2, x, y2 + 0.45, right_w, teams, size=BODY_PT, max_lines=2)
    elif page.teams is not None:
        _teams(deck, page)
    _context(deck, page)
    _registers(deck, page)
    if page.actions:
        _actions(deck, page)


def _context(deck: Deck, page) -> None:
    """Published context (issue 13 item 6): each block on its own slide(s), as many table rows as fit."""
    for block in page.context:
        width = SLIDE_W - 2 * MARGIN
        t = block.table
        heights = _row_heights(t, width, BODY_PT, 2, TABLE_LINE) if t is not None else [0.0]
        room = FOOTER_Y - 0.1 - 2.0 - 0.5 * len(block.lines)
        chunks = _chunk_rows(t.rows if t is not None else [], heights, room)
        for i, rows in enumerate(chunks):
            title = f"{page.kpi.label}: context" + (" (continued)" if i else "")
            sl = deck.slide(title if deck.title_fits(title) else page.kpi.label)
            _textbox(sl, MARGIN, deck.below, width, 0.45, [Para(block.title, HEAD_PT, True)])
            y = deck.below + 0.5
            if t is not None:
                y += _table(sl, MARGIN, y, width, Table(t.header, rows, t.widths, t.align), size=BODY_PT,
                            max_lines=2) + 0.1
            if i == len(chunks) - 1 and block.lines:
                _textbox(sl, MARGIN, y, width, FOOTER_Y - 0.1 - y,
                         _fill([Para(x, BODY_PT, colour=GREY) for x in block.lines], width - 0.16,
                               FOOTER_Y - 0.1 - y)[0])


def _slide_teams(t):
    """The team table with widths for a 16 pt slide: the team name gets the room."""

    widths = [0.52, 0.15, 0.165, 0.165] if len(t.header) == 4 else [0.7, 0.3]
    return Table(t.header, t.rows, widths, t.align, last_row_bold=t.last_row_bold)


def short_month_of(page) -> str:
    return f"Also in {page.recent.rows[-1][0]}"


def _teams_height(t, width: float) -> float:

    probe = Table(t.header, t.rows, t.widths, t.align, last_row_bold=t.last_row_bold)
    return 0.45 + sum(_row_heights(probe, width, BODY_PT, 2, TABLE_LINE))


def _row_heights(t, w: float, size: float, max_lines: int, line: float) -> list[float]:
    t = _laid_out(t, w, size)
    widths = [f * w for f in t.widths]

    def row_h(cells, bold=False) -> float:
        n = max(len(wrap(str(c), size, (cw - 0.16) * 72 * SLACK, bold)) for c, cw in zip(cells, widths))
        return (min(n, max_lines) * size * line) / 72 + 0.1

    header = max(len(wrap(str(c), size, (cw - 0.16) * 72 * SLACK, True)) for c, cw in zip(t.header, widths))
    return [header * size * line / 72 + 0.1] + [row_h(r, t.last_row_bold and i == len(t.rows) - 1)
                                                for i, r in enumerate(t.rows)]


def _chunk_rows(rows: list, heights: list[float], room: float) -> list[list]:
    """``rows`` cut into one list per slide: each list's rows fit in ``room`` inches under the header.

    ``heights`` is :func:`_row_heights`' answer: the header's height first, then one per row. A row taller
    than ``room`` gets a slide to itself; with no rows, one empty list (the slide is still made)."""
    chunks: list[list] = [[]]
    used = heights[0]
    for row, h in zip(rows, heights[1:]):
        if used + h > room and chunks[-1]:
            chunks.append([])
            used = heights[0]
        chunks[-1].append(row)
        used += h
    return chunks


def _fill(paras: list[Para], width: float, height: float, *, split: bool = True
          ) -> tuple[list[Para], list[Para]]:
    """The paragraphs that fit in ``height`` inches (with ``split``, a long one is cut between lines
    and continued), and the rest."""
    fit: list[Para] = []
    used = 0.0
    for i, p in enumerate(paras):
        h = p.height(width)
        if used + h <= height:
            fit.append(p)
            used += h
            continue
        room = int(((height - used) * 72 - p.space_before) // (p.size * LINE))
        lines = p.lines(width)
        if split and room >= 2 and not p.bold:
            fit.append(Para(" ".join(lines[:room - 1]) + " …", p.size, p.bold, p.colour, p.space_before,
                            p.bullet))
            rest_text = " ".join(lines[room - 1:]).removeprefix("• ")
            return fit, [Para("… " + rest_text, p.size, p.bold, p.colour), *paras[i + 1:]]
        if fit and fit[-1].bold:  # never leave a heading at the bottom
            fit.pop()
            return fit, paras[i - 1:]
        return fit, paras[i:]
    return fit, []


def _teams(deck: Deck, page) -> None:
    """The team table on its own slide(s), as many rows per slide as fit."""

    t = _slide_teams(page.teams)
    width = SLIDE_W - 2 * MARGIN - 2.4
    room = FOOTER_Y - 0.1 - 2.0  # below a two-line title
    heights = _row_heights(t, width, BODY_PT, 1, TABLE_LINE)
    chunks = _chunk_rows(t.rows, heights, room)
    for i, rows in enumerate(chunks):
        last = i == len(chunks) - 1
        s = deck.slide(f"{page.kpi.label}: by team" + (" (continued)" if i else ""))
        _textbox(s, MARGIN, deck.below, SLIDE_W - 2 * MARGIN, 0.45,
                 [Para(f"{page.recent.rows[-1][0]}. The last row is the council as a whole.", BODY_PT,
                       colour=GREY)])
        _table(s, MARGIN + 1.2, deck.below + 0.5, width, Table(t.header, rows, t.widths, t.align,
                                                  last_row_bold=t.last_row_bold and last),
               size=BODY_PT, max_lines=1)


def _registers(deck: Deck, page) -> None:
    """The KPI's register sections: each table on its own slide(s), as many rows per slide as fit, under a
    line naming it; the sections with only a note together on a text slide."""
    title = f"{page.kpi.label}: register"
    title = title if deck.title_fits(title) else "Register"
    notes = []
    for sec in page.registers:
        if sec.table is None:
            notes.append(Para(f"{sec.title}: {sec.note}", BODY_PT))
            continue
        t = sec.table
        width = SLIDE_W - 2 * MARGIN - (2.4 if len(t.header) > 2 else 5.0)
        room = FOOTER_Y - 0.1 - 2.6
        heights = _row_heights(t, width, BODY_PT, 2, TABLE_LINE)
        chunks = _chunk_rows(t.rows, heights, room)
        for i, rows in enumerate(chunks):
            last = i == len(chunks) - 1
            s = deck.slide(title + (" (continued)" if i else ""))
            caption = [Para(sec.title, HEAD_PT, True)] + ([Para(sec.note, BODY_PT, colour=GREY)] if sec.note else [])
            _textbox(s, MARGIN, deck.below, SLIDE_W - 2 * MARGIN, 0.95, caption)
            _table(s, MARGIN + (SLIDE_W - 2 * MARGIN - width) / 2, deck.below + 1.0, width,
                   Table(t.header, rows, t.widths, t.align, last_row_bold=t.last_row_bold and last),
                   size=BODY_PT, max_lines=2)
    if notes:
        deck.flow(title, notes)


def _actions(deck: Deck, page) -> None:
    """The priority's actions log on its own slide(s): owner, due, status, action; each cell at most two
    lines (cut with an ellipsis), as many rows per slide as fit."""

    t = page.actions_table
    width = SLIDE_W - 2 * MARGIN
    room = FOOTER_Y - 0.1 - 2.0  # below a two-line title and the caption
    heights = _row_heights(t, width, BODY_PT, 2, TABLE_LINE)
    chunks = _chunk_rows(t.rows, heights, room)
    for i, rows in enumerate(chunks):
        s = deck.slide(f"{page.kpi.label}: actions" + (" (continued)" if i else ""))
        _textbox(s, MARGIN, deck.below, width, 0.45,
                 [Para("Agreed at this review or earlier, not closed before the previous review. Owners are roles "
                       "or teams.", BODY_PT, colour=GREY)])
        _table(s, MARGIN, deck.below + 0.5, width, Table(t.header, rows, t.widths, t.align), size=BODY_PT,
               max_lines=2)


def _commentary_paras(entries, none_text: str) -> list[Para]:
    if not entries:
        return [Para(none_text, BODY_PT, colour=GREY)]
    out = []
    for e in entries:
        who = ", ".join(x for x in (e.author, e.when) if x)
        out += [Para(e.body, BODY_PT), Para(f"— {who}" + (f" ({e.note})" if e.note else ""), BODY_PT, colour=GREY)]
    return out


def _method(deck: Deck) -> None:
    """How progress is judged: the method in a few sentences, then every icon with its words and meaning."""
    from reports.icons import all_icons, png

    m = deck.model
    s = deck.slide("How progress is judged")
    paras = [Para(x, BODY_PT) for x in m.method]
    width = SLIDE_W - 2 * MARGIN
    fit, rest = _fill(paras, width - 0.16, 2.6, split=False)
    h = sum(p.height(width - 0.16) for p in fit) + 0.1
    _textbox(s, MARGIN, deck.below + 0.05, width, h, fit)
    y0 = deck.below + 0.1 + h
    icons = all_icons()
    col_w = width / 2
    kinds = {"variation": [i for i in icons if i.kind == "variation"], "assurance": [i for i in icons
                                                                                 if i.kind == "assurance"]}
    row_h = min(0.5, (FOOTER_Y - 0.1 - y0) / (max(len(v) for v in kinds.values()) + 1))
    placed = []
    for c, (kind, group) in enumerate(kinds.items()):
        _textbox(s, MARGIN + c * col_w, y0, col_w, row_h, [Para(kind.capitalize(), HEAD_PT, True)], anchor="middle")
        placed += [(MARGIN + c * col_w, y0 + (k + 1) * row_h, icon) for k, icon in enumerate(group)]
    for x, y, icon in placed:
        _picture(s, png(icon, 96), x, y + 0.04, row_h - 0.1, row_h - 0.1, icon.description)
        _textbox(s, x + row_h, y, col_w - row_h - 0.1, row_h, [Para(clip(icon.label, BODY_PT,
                 (col_w - row_h - 0.26) * 72 * SLACK, True, 1), BODY_PT, True)], anchor="middle")
    _notes(s, "\n".join(m.method + [f"{i.label}: {i.meaning}." for i in icons]))
    if rest:
        deck.flow("How progress is judged (continued)", rest)


def render(model, path: Path) -> int:
    """Write ``model`` as a .pptx at ``path``; returns the number of slides."""
    check_fonts()
    deck = Deck(model)
    _cover(deck)
    _summary(deck)
    for page in model.kpis:
        _kpi_slides(deck, page)
    paras = [Para("Overall commentary", HEAD_PT, True)]
    paras += _commentary_paras(model.overall_commentary, "No overall commentary recorded at this checkpoint.")
    for item in model.evidence:
        paras.append(Para(f"{item.code}  {item.title}", HEAD_PT, True, space_before=10))
        paras += _commentary_paras(item.entries, "No entry recorded at this checkpoint.")
    deck.flow("Evidence log: qualitative ToR items", paras)
    defs = []
    for title, text in model.definitions:
        defs += [Para(title, BODY_PT, True, space_before=6), Para(text, BODY_PT)]
    deck.flow("Definitions", defs)
    extra = [Para("Data-quality notes", HEAD_PT, True)]
    extra += [Para(f"{a}: {b}", BODY_PT, bullet=True) for a, b in model.quality_glossary]
    extra += [Para("Sources", HEAD_PT, True, space_before=10)]
    extra += [Para(x, BODY_PT, bullet=True) for x in model.sources]
    deck.flow("Data quality and sources", extra)
    if model.method:
        _method(deck)
    if model.suppression_rules:
        deck.flow("Suppression rule (public pack)",
                  [Para(f"{i}. {r}", BODY_PT, space_before=4) for i, r in enumerate(model.suppression_rules, 1)])
    return deck.finish(path)
