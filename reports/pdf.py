"""The board pack as a PDF: A4 landscape, large type, DejaVu Sans embedded (so £, €, ≥ and – render).

:func:`render` lays out a :class:`reports.pack.model.PackModel` with reportlab's platypus and returns the
page count. Fonts and text measuring: :mod:`reports.fonts` (``check_fonts`` is re-exported here as part
of the renderer contract).
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from metrics.months import short_month
from metrics.reviews.words import RAG_COLOURS
from reports.fonts import (FONT, FONT_BOLD, check_fonts, clip, font_files, header_layout,  # noqa: F401
                           register_fonts, text_width, wrap)
from reports.pack.model import CHART_HEIGHT, CHART_SIZE, CHART_WIDTH, row_icons

# --- layout ----------------------------------------------------------------------------------

INK = "#0b0c0c"
GREY = "#505a5f"
RULE = "#b1b4b6"
HEAD_BG = "#1d4f91"
MARKING_COLOURS = {"PUBLIC": "#00703c", "RESTRICTED": "#b10e1e"}

SIZE_TITLE, SIZE_H2, SIZE_BODY, SIZE_TABLE, SIZE_SMALL = 22, 16, 13, 13, 11.5
#: A table cell longer than this many lines is cut with an ellipsis (a table row cannot break across
#: pages, so an unbounded cell — a 5,000-character team name — could not be laid out at all).
MAX_CELL_LINES = 4



def _styles():
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=SIZE_BODY, leading=SIZE_BODY * 1.3,
                          textColor=HexColor(INK), spaceAfter=4)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=SIZE_TITLE,
                                leading=SIZE_TITLE * 1.2, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=SIZE_H2, leading=SIZE_H2 * 1.25,
                             spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base, fontName=FONT_BOLD, fontSize=SIZE_BODY, spaceBefore=4,
                             spaceAfter=2, keepWithNext=1),
        "side": ParagraphStyle("side", parent=base, fontSize=12, leading=15, spaceAfter=3),
        "small": ParagraphStyle("small", parent=base, fontSize=SIZE_SMALL, leading=SIZE_SMALL * 1.3,
                                textColor=HexColor(GREY)),
        "cell": ParagraphStyle("cell", parent=base, fontSize=SIZE_TABLE, leading=SIZE_TABLE * 1.25, spaceAfter=0),
        "cell_r": ParagraphStyle("cell_r", parent=base, fontSize=SIZE_TABLE, leading=SIZE_TABLE * 1.25,
                                 spaceAfter=0, alignment=2),
        "cell_c": ParagraphStyle("cell_c", parent=base, fontSize=SIZE_TABLE, leading=SIZE_TABLE * 1.25,
                                 spaceAfter=0, alignment=1),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=SIZE_TABLE,
                               leading=SIZE_TABLE * 1.25, spaceAfter=0, textColor=HexColor("#ffffff")),
        "cover_big": ParagraphStyle("cover_big", parent=base, fontName=FONT_BOLD, fontSize=34, leading=42,
                                    spaceAfter=10),
        "cover_mid": ParagraphStyle("cover_mid", parent=base, fontName=FONT_BOLD, fontSize=22, leading=28,
                                    spaceAfter=14),
        "cover": ParagraphStyle("cover", parent=base, fontSize=15, leading=21, spaceAfter=6),
        "status_label": ParagraphStyle("status_label", parent=base, fontSize=SIZE_SMALL, leading=SIZE_SMALL * 1.2,
                                       textColor=HexColor(GREY), spaceAfter=0),
        "status": ParagraphStyle("status", parent=base, fontName=FONT_BOLD, fontSize=16, leading=19,
                                 spaceAfter=0),
        "status_rag": ParagraphStyle("status_rag", parent=base, fontName=FONT_BOLD, fontSize=16, leading=19,
                                     spaceAfter=0, textColor=HexColor("#ffffff"), alignment=1),
    }


def _p(text: str, style) -> object:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _icon_cell(icon, para, width: float, size: float = 15):
    """An icon (PNG from :mod:`reports.icons`) beside its words, as a borderless one-row table."""
    from reportlab.platypus import Image, Table, TableStyle

    from reports.icons import png

    if icon is None:
        return para
    t = Table([[Image(io.BytesIO(png(icon, 96)), width=size, height=size), para]],
              colWidths=[size + 4, max(width - size - 4, 10)])
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                           ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return t


def _table(t, styles, width: float, *, rag_col: int | None = None, rags: list | None = None,
           size: float | None = None, padding: float = 4, icon_cols: dict | None = None):
    """A model Table as a reportlab Table: blue header row, ruled rows, optional coloured RAG column, and
    ``icon_cols`` (column → one :class:`reports.icons.Icon` or None per row) drawn beside the cell's words."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Table, TableStyle

    # headings break between words only: smaller type (down to 9 pt) or a wider column, never "confere nces"
    head_size, widths = header_layout(t.header, t.widths, width, size or SIZE_TABLE, 10, 9)

    def style_for(col: int, bold: bool = False):
        a = (t.align or ["left"] * len(t.header))[col]
        st = styles["cell_r" if a == "right" else "cell_c" if a == "center" else "cell"]
        if bold or size:
            st = ParagraphStyle(f"{st.name}_x", parent=st, fontName=FONT_BOLD if bold else st.fontName,
                                fontSize=size or st.fontSize, leading=(size or st.fontSize) * 1.25)
        return st

    def head_style(col: int):
        a = (t.align or ["left"] * len(t.header))[col]
        return ParagraphStyle(f"head_{a}_{head_size}", parent=styles["head"], fontSize=head_size,
                              leading=head_size * 1.2,
                              alignment={"left": 0, "center": 1, "right": 2}[a])

    def fit(text: str, col: int, bold: bool, lines: int) -> str:  # a row must never outgrow a page
        return "\n".join(clip(part, size or SIZE_TABLE, widths[col] * width - 10, bold, lines)
                         for part in str(text).split("\n")[:lines])

    data = [[_p(clip(h, head_size, widths[j] * width - 10, True, 3), head_style(j)) for j, h in enumerate(t.header)]]
    icon_cols = icon_cols or {}
    for i, row in enumerate(t.rows):
        bold_row = t.last_row_bold and i == len(t.rows) - 1
        cells = []
        for j, c in enumerate(row):
            icon = icon_cols[j][i] if j in icon_cols else None
            if icon is not None:  # the icon takes (size + 4) pt of the cell: fit the words to the rest
                w = widths[j] * width - 10 - (size or SIZE_TABLE) - 6
                text = "\n".join(clip(part, size or SIZE_TABLE, w, False, MAX_CELL_LINES)
                                  for part in str(c).split("\n")[:MAX_CELL_LINES])
                cells.append(_icon_cell(icon, _p(text, style_for(j)), widths[j] * width - 10,
                                        (size or SIZE_TABLE) + 2))
            else:
                cells.append(_p(fit(c, j, bold_row, MAX_CELL_LINES), style_for(j, bold_row)))
        data.append(cells)
    tbl = Table(data, colWidths=[w * width for w in widths], repeatRows=1)
    cmds = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), HexColor(HEAD_BG)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.6, HexColor(RULE)),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    if t.last_row_bold:
        cmds.append(("LINEABOVE", (0, -1), (-1, -1), 1.2, HexColor(INK)))
    if rag_col is not None and rags is not None:
        white = ParagraphStyle("rag", parent=style_for(rag_col), fontName=FONT_BOLD, alignment=1,
                               textColor=HexColor("#ffffff"))
        for i, rag in enumerate(rags, start=1):
            cmds.append(("BACKGROUND", (rag_col, i), (rag_col, i), HexColor(RAG_COLOURS.get(rag, GREY))))
            data[i][rag_col] = _p(fit(t.rows[i - 1][rag_col], rag_col, True, MAX_CELL_LINES), white)
        tbl = Table(data, colWidths=[w * width for w in widths], repeatRows=1)
    tbl.setStyle(TableStyle(cmds))
    tbl.hAlign = "LEFT"  # also where a page is set slightly smaller to fit (KeepInFrame)
    return tbl


def _status_strip(page, styles, width: float):
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Table, TableStyle


    r = page.row
    labels = [f"Actual, {short_month(r.actual_month)}", "Target", "RAG", "Direction of travel", "Forecast"]
    values = [r.actual_text, r.target_text, r.rag_text, r.travel_text, r.forecast_text]
    data = [[_p(x, styles["status_label"]) for x in labels],
            [_p(v, styles["status_rag"] if i == 2 else styles["status"]) for i, v in enumerate(values)]]
    tbl = Table(data, colWidths=[w * width for w in (0.17, 0.14, 0.14, 0.2, 0.35)])
    tbl.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (2, 1), (2, 1), HexColor(RAG_COLOURS.get(r.rag, GREY))),
        ("LINEBELOW", (0, 1), (-1, 1), 1.2, HexColor(RULE)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 1), (-1, 1), 6),
    ]))
    return tbl


def _verdict_strip(page, styles, width: float):
    """The variation and assurance icons with their words, then the basis, interval and 'cannot be told
    apart' in a sentence."""
    from reportlab.platypus import Table, TableStyle

    from reports.pack.model import verdict_line

    r = page.row
    v, a = row_icons(r)
    cols = (0.3, 0.26, 0.44)
    cells = [_icon_cell(v, _p(f"Variation: {r.variation_text}", styles["side"]), cols[0] * width - 8, 22),
             _icon_cell(a, _p(f"Assurance: {r.assurance_text}", styles["side"]), cols[1] * width - 8, 22),
             _p(verdict_line(r, page.apart_short.capitalize() + "." if page.apart_short else ""), styles["side"])]
    tbl = Table([cells], colWidths=[c * width for c in cols])
    tbl.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 3),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return tbl


def render(model, path: Path) -> int:
    """Write ``model`` as a PDF at ``path``; returns the number of pages."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Frame, Image, KeepTogether, NextPageTemplate,
                                    PageBreak, PageTemplate, Spacer, Table, TableStyle)

    register_fonts()
    styles = _styles()
    page_w, page_h = landscape(A4)
    margin = 14 * mm
    head_h, foot_h = 26, 22
    frame_w = page_w - 2 * margin
    mark_colour = HexColor(MARKING_COLOURS[model.marking])

    def header_footer(c, doc):
        c.saveState()
        c.setFont(FONT, SIZE_SMALL)
        c.setFillColor(HexColor(GREY))
        w = text_width(model.marking, SIZE_SMALL + 1, True) + 14
        c.drawString(margin, page_h - margin + 2, clip(model.footer, SIZE_SMALL, frame_w - w - 20))
        c.setFont(FONT_BOLD, SIZE_SMALL + 1)
        c.setFillColor(mark_colour)
        c.rect(page_w - margin - w, page_h - margin - 4, w, 18, stroke=0, fill=1)
        c.setFillColor(HexColor("#ffffff"))
        c.drawCentredString(page_w - margin - w / 2, page_h - margin + 1, model.marking)
        c.setStrokeColor(HexColor(RULE))
        c.line(margin, page_h - margin - 8, page_w - margin, page_h - margin - 8)
        c.setFont(FONT, SIZE_SMALL)
        c.setFillColor(HexColor(GREY))
        left = "Synthetic demo data — not real figures" if model.demo else model.marking_note
        c.drawString(margin, margin - 10, clip(left, SIZE_SMALL, frame_w - 120))
        c.restoreState()

    class NumberedCanvas(rl_canvas.Canvas):
        """'Page x of y' needs the total: keep each page's state, number them all on save."""

        pages_total = 0

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._saved: list[dict] = []
            self._marks: list[str] = []

        def bookmarkPage(self, key, **kw):  # the page exists only at save: bookmark it then
            self._marks.append(key)

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._marks = []
            self._startPage()

        def save(self):
            n = len(self._saved)
            NumberedCanvas.pages_total = n
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont(FONT, SIZE_SMALL)
                self.setFillColor(HexColor(GREY))
                self.drawRightString(page_w - margin, margin - 10, f"Page {self._pageNumber} of {n}")
                for key in state["_marks"]:
                    rl_canvas.Canvas.bookmarkPage(self, key)
                super().showPage()
            super().save()

    doc = BaseDocTemplate(
        str(path), pagesize=(page_w, page_h), leftMargin=margin, rightMargin=margin, topMargin=margin,
        bottomMargin=margin, title=f"{model.title}: {model.review_label}", author=model.council,
        subject=f"{model.marking}: {model.council}, {model.review_label}", creator="intervention-kpi board pack",
        initialFontName=FONT, initialFontSize=SIZE_BODY, lang="en-GB",
    )
    body_frame = Frame(margin, margin + foot_h - 10, frame_w, page_h - 2 * margin - head_h - foot_h + 10,
                       id="body", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    cover_frame = Frame(margin, margin + foot_h - 10, frame_w, page_h - 2 * margin - foot_h + 10, id="cover",
                        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

    def cover_page(c, doc):
        c.saveState()
        c.setFillColor(mark_colour)
        c.rect(0, page_h - 60, page_w, 60, stroke=0, fill=1)
        c.setFillColor(HexColor("#ffffff"))
        c.setFont(FONT_BOLD, 26)
        c.drawString(margin, page_h - 42, model.marking)
        c.setFont(FONT, 14)
        note_w = frame_w - text_width(model.marking, 26, True) - 30
        c.drawRightString(page_w - margin, page_h - 38, clip(model.marking_note, 14, note_w))
        c.restoreState()

    doc.addPageTemplates([
        PageTemplate("cover", frames=[cover_frame], onPage=cover_page),
        PageTemplate("body", frames=[body_frame], onPage=header_footer),
    ])

    story: list = [Spacer(1, 60), _p(clip(model.council, 34, frame_w, True, 3), styles["cover_big"]),
                   _p(clip(f"{model.title}: {model.review_label}", 22, frame_w, True, 3), styles["cover_mid"])]
    story += [_p(clip(line, 15, frame_w, False, 3), styles["cover"]) for line in model.cover_lines]
    story += [Spacer(1, 14), _p(f"Overall: {model.overall}", styles["cover_mid"])]
    story += [NextPageTemplate("body")]  # each section below starts with its page break

    frame_h = body_frame._aH
    # summary
    summary = [_Bookmark("Checkpoint summary", "summary"),
               _p(clip(f"Checkpoint summary — {model.review_label}", SIZE_TITLE, frame_w, True, 2), styles["title"])]
    from reportlab.lib.styles import ParagraphStyle

    # not kept with the table: a summary taller than the rest of the page splits between rows
    summary.append(_p(f"Overall: {model.overall}", ParagraphStyle("overall", parent=styles["h2"], keepWithNext=0)))
    verdicts = [row_icons(r) for r in model.summary_rows]
    summary.append(_table(model.summary, styles, frame_w, rag_col=3, rags=model.summary_rags, size=11.5,
                          padding=2, icon_cols={4: [v for v, _ in verdicts], 5: [a for _, a in verdicts]}))
    summary += [_p(n, styles["small"]) for n in model.summary_notes]
    story += _page_section(summary, frame_w, frame_h)

    chart_w = frame_w * 0.56
    chart_h = chart_w * CHART_HEIGHT / CHART_WIDTH
    side_w = frame_w - chart_w - 14
    for n, page in enumerate(model.kpis, start=1):
        section = [_Bookmark("Priorities", "priorities")] if n == 1 else []
        section += [_Bookmark(page.title, f"kpi-{n}", level=1), _p(page.title, styles["title"]),
                   _status_strip(page, styles, frame_w), _verdict_strip(page, styles, frame_w), Spacer(1, 4)]
        # the chart's own legend explains its lines; the caption says where its figures are as a table
        left = [Image(io.BytesIO(page.chart_png), width=chart_w, height=chart_h) if page.chart_png
                else _p("(chart not available)", styles["small"]),
                _p("Chart: actual (solid), target (dashed), checkpoints with their RAG; its checkpoint figures are "
                   "in the table 'Chart data' at the end.", styles["small"])]
        if page.benchmark_note:  # a benchmark not like for like says so under the chart, on the same page
            left.append(_p(page.benchmark_note, styles["small"]))
        right = [_p("Last three months", styles["h3"]), _table(page.recent, styles, side_w, size=12)]
        if page.details:
            right += [Spacer(1, 4)] + [_p(d, styles["side"]) for d in page.details]
        right += [_p("Definition", styles["h3"]), _p(page.definition, styles["side"])]
        top = Table([[left, right]], colWidths=[chart_w + 14, side_w])
        top.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0)]))
        section.append(top)
        if page.commentary:
            section += [_p("Latest commentary", styles["h2"]), *_commentary(page.commentary, styles)]
            if page.earlier_entries:
                section.append(_p(f"{page.earlier_entries} earlier entr{'ies' if page.earlier_entries > 1 else 'y'} "
                                  "for this KPI at this checkpoint are in the evidence log.", styles["small"]))
        else:
            section.append(KeepTogether([_p("Latest commentary", styles["h2"]),
                                         _p("No commentary recorded for this KPI at this checkpoint.",
                                            styles["body"])]))
        section += _actions(page, styles, frame_w)
        if page.quality:
            section.append(KeepTogether([_p("Data quality", styles["h3"])]
                                        + [_p(f"• {q}", styles["body"]) for q in page.quality]))
        for block in page.context:  # published context (issue 13 item 6): self-contained tables
            section.append(KeepTogether([_p(block.title, styles["h3"])]
                                        + ([_table(block.table, styles, frame_w, size=11.5, padding=2)]
                                           if block.table is not None else [])
                                        + [_p(line, styles["small"]) for line in block.lines]))
        if page.teams is not None:
            section.append(KeepTogether([_p(f"{page.kpi.label}: by team, {page.recent.rows[-1][0]}", styles["h3"]),
                                         _table(page.teams, styles, frame_w * 0.7)]))
        elif page.teams_note:
            section.append(_p(page.teams_note, styles["small"]))
        section += _registers(page, styles, frame_w)
        story += _page_section(section, frame_w, frame_h)

    # evidence, then the reference sections, flowing on from one another (a new one starts a page only
    # when less than a third of the page is left)
    rest = [_Bookmark("Evidence log", "evidence"),
            _p("Evidence log — qualitative Terms of Reference items", styles["title"]),
            _p("Overall commentary", styles["h2"])]
    if model.overall_commentary:
        for e in model.overall_commentary:
            rest += _commentary(e, styles)
    else:
        rest.append(_p("No overall commentary recorded at this checkpoint.", styles["body"]))
    for item in model.evidence:
        rest.append(_p(f"{item.code}  {item.title}", styles["h2"]))
        if item.entries:
            for e in item.entries:
                rest += _commentary(e, styles)
        else:
            rest.append(_p("No entry recorded at this checkpoint.", styles["body"]))

    if model.kpis:
        rest += [CondPageBreak(frame_h / 3), _Bookmark("Chart data", "chart-data"),
                 _p("Chart data: each priority at each checkpoint", styles["title"]),
                 _p("The figures the charts mark: the actual at each review checkpoint, the target it was judged "
                    "against and its RAG rating.", styles["body"]),
                 _chart_data(model, styles, frame_w)]

    rest += [CondPageBreak(frame_h / 3), _Bookmark("Definitions and sources", "definitions"),
             _p("Definitions and sources", styles["title"])]
    for title, text in model.definitions:
        rest.append(KeepTogether([_p(title, styles["h3"]), _p(text, styles["body"])]))
    if model.method:
        rest.append(KeepTogether([_p("How progress is judged", styles["h2"])]
                                 + [_p(m, styles["body"]) for m in model.method] + [_icon_key(styles, frame_w)]))
    rest.append(_p("Data-quality notes", styles["h2"]))
    rest += [_p(f"• {a}: {b}", styles["body"]) for a, b in model.quality_glossary]
    rest.append(_p("Sources", styles["h2"]))
    rest += [_p(f"• {s}", styles["body"]) for s in model.sources]
    if model.suppression_rules:
        rest += [CondPageBreak(200), _p("Suppression rule (public pack)", styles["h2"])]
        rest += [_p(f"{i}. {r}", styles["body"]) for i, r in enumerate(model.suppression_rules, start=1)]
    story += [PageBreak(), *_tail_together(rest, frame_w, frame_h)]

    doc.build(story, canvasmaker=NumberedCanvas)
    return NumberedCanvas.pages_total


def _registers(page, styles, width: float) -> list:
    """The KPI's register sections (``page.registers``): a heading, the table or a note, and its caption."""
    from reportlab.platypus import KeepTogether

    out = []
    for sec in page.registers:
        block = [_p(sec.title, styles["h3"])]
        if sec.table is not None:
            block.append(_table(sec.table, styles, width * (0.7 if len(sec.table.header) <= 2 else 1.0)))
        if sec.note:
            block.append(_p(sec.note, styles["small"]))
        out.append(KeepTogether(block) if sec.table is None or len(sec.table.rows) <= 20 else block[0])
        if sec.table is not None and len(sec.table.rows) > 20:
            out += block[1:]
    return out


def _icon_key(styles, width: float):
    """Every verdict icon with its words and meaning (two columns)."""
    from reportlab.platypus import Table, TableStyle

    from reports.icons import all_icons

    items = [_icon_cell(i, _p(f"{i.kind.capitalize()}: {i.label} — {i.meaning}.", styles["small"]),
                        width / 2 - 12, 20) for i in all_icons()]
    rows = [items[k:k + 2] + [""] * (2 - len(items[k:k + 2])) for k in range(0, len(items), 2)]
    t = Table(rows, colWidths=[width / 2] * 2)
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 4)]))
    return t


def _actions(page, styles, width: float) -> list:
    """The priority's actions log: owner, due, status, action (each cell wraps, then ends with an ellipsis)."""
    from reportlab.platypus import KeepTogether

    t = page.actions_table
    if t is None:
        return [KeepTogether([_p("Actions", styles["h3"]),
                              _p("No actions recorded for this priority.", styles["small"])])]
    head = [_p("Actions", styles["h3"]),
            _p("Agreed at this review or earlier, not closed before the previous review; owner is a role or team.",
               styles["small"])]
    return [KeepTogether([*head, _table(t, styles, width)])] if len(t.rows) <= 6 else [*head, _table(t, styles, width)]


def _commentary(e, styles) -> list:
    """A byline (author in a restricted pack, date, note) kept with the start of the entry's text."""
    from reportlab.lib.styles import ParagraphStyle

    who = ", ".join(x for x in (e.author, e.when) if x)
    byline = ParagraphStyle("byline", parent=styles["small"], keepWithNext=1, spaceAfter=1)
    return [_p(who + (f" ({e.note})" if e.note else "") + ":", byline), _p(e.body, styles["body"])]


# --- pagination: no near-empty page -----------------------------------------------------------

#: A page-sized section (the summary, a KPI) up to this much taller than a page is set a little smaller to
#: fit its page (type ≥ 13 pt × 1/1.3 = 10 pt) rather than leaving a few lines on a page of their own.
SHRINK_UP_TO = 1.3
#: No page but the last holds less than this share of a page: a section's tail at least this tall is kept
#: together, so a page that a section spills onto is never almost blank.
MIN_FILL = 0.2


def _height(flowables: list, width: float, height: float) -> float:
    """The height the flowables take in a frame ``width`` wide (with their space before and after)."""
    total = 0.0
    for f in flowables:
        if hasattr(f, "_content"):  # KeepTogether and the like measure their content
            total += _height(f._content, width, height)
            continue
        _, h = f.wrap(width, height)
        total += h + f.getSpaceBefore() + f.getSpaceAfter()
    return total


def _flat(flowables: list) -> list:
    """KeepTogether groups opened (inside one frame they are together anyway, and cannot be drawn as such)."""
    from reportlab.platypus import KeepTogether

    out = []
    for f in flowables:
        out += _flat(f._content) if isinstance(f, KeepTogether) else [f]
    return out


def _tail_together(flowables: list, width: float, height: float) -> list:
    """``flowables`` with their last ones (at least MIN_FILL of a page, or all) kept together: a page the
    section runs onto holds that much at least."""
    from reportlab.platypus import CondPageBreak, KeepTogether

    used, k = 0.0, len(flowables)
    while k > 0 and used < MIN_FILL * height:
        k -= 1
        if isinstance(flowables[k], CondPageBreak):
            k += 1
            break
        used += _height([flowables[k]], width, height)
    if k >= len(flowables) - 1:
        return list(flowables)
    return [*flowables[:k], KeepTogether(flowables[k:])]


def _page_section(flowables: list, width: float, height: float) -> list:
    """A section that starts a page: kept to one page (set slightly smaller) when it is up to SHRINK_UP_TO
    pages tall, else flowing over its pages with its tail kept together."""
    from reportlab.platypus import KeepInFrame, PageBreak

    h = _height(flowables, width, height)
    if height < h <= SHRINK_UP_TO * height:
        return [PageBreak(), KeepInFrame(width, height, _flat(flowables), mode="shrink")]
    return [PageBreak(), *_tail_together(flowables, width, height)]


class _Bookmark:
    """A zero-size flowable: the PDF outline entry (bookmark) for the page it lands on."""

    def __new__(cls, title: str, key: str, level: int = 0):
        from reportlab.platypus.flowables import Flowable

        class Mark(Flowable):
            _ZEROSIZE = 1

            def wrap(self, aw, ah):
                return 0, 0

            def draw(self):
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(title, key, level=level, closed=False)

        return Mark()


def _chart_data(model, styles, width: float):
    """One table: a row per priority, a column per checkpoint the charts mark (actual, target, RAG)."""
    from reports.pack.model import Table as ModelTable

    labels: list[str] = []
    for page in model.kpis:
        for label, *_ in page.chart_points:
            if label not in labels:
                labels.append(label)
    labels = labels[-8:]  # the last eight checkpoints (two years) fit the page's width
    rows = []
    for page in model.kpis:
        by = {label: (a, t, r) for label, a, t, r in page.chart_points}
        rows.append([page.title] + [f"{by[c][0]}\nvs {by[c][1]}\n{by[c][2]}" if c in by else "–" for c in labels])
    first = 0.24
    t = ModelTable(["Priority (ToR)", *labels], rows, [first] + [(1 - first) / max(len(labels), 1)] * len(labels),
                   ["left"] + ["right"] * len(labels))
    return _table(t, styles, width, size=10, padding=2)
