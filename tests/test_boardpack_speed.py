"""What made the board pack fast (issue 14 item 5) changes nothing a reader sees:

* the charts are drawn by one kaleido tab that is not reloaded between charts, with plotly.js's basic bundle
  (``reports/vendor``, used only at the installed plotly.js version): the PNGs are the ones kaleido's own
  session draws with the full bundle, byte for byte;
* a chart's checkpoint markers are one trace, on a template with only the scatter defaults;
* the deck's table cells and paragraphs are copies of templates python-pptx styles once: the XML is what the
  python-pptx calls make for each cell and run.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest

from metrics.kpis import REGISTRY
from reports import boardpack, charts, slides
from reports.pack.model import CHART_SCALE, CHART_SIZE, PackError, Table


def _figure(kpi_id: str = "agency_rate") -> go.Figure:
    """A pack-style chart: monthly actuals, a trajectory, benchmarks and rated checkpoints."""
    kpi = REGISTRY[kpi_id]
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    series = pd.DataFrame({"month": months, "value": [20 + (i % 5) for i in range(12)],
                           "numerator": [None] * 12, "denominator": [None] * 12,
                           "source": ["records"] * 12, "flags": [()] * 12})
    trajectory = pd.DataFrame({"date": [dt.date(2024, 1, 31), dt.date(2025, 3, 31)], "target": [25.0, 15.0]})
    marks = [charts.CheckpointMark(dt.date(2024, 3, 1), "Mar 24", "green", 21.0, 24.0),
             charts.CheckpointMark(dt.date(2024, 6, 1), "Jun 24", "amber", 23.0, 22.0),
             charts.CheckpointMark(dt.date(2024, 9, 1), "Sep 24", "red", 24.0, 19.0),
             charts.CheckpointMark(dt.date(2024, 12, 1), "Dec 24", "no_data", None, 17.0, withheld=True)]
    bench = pd.DataFrame({"series": ["England", "England"], "period_end": ["2023-09-30", "2024-09-30"],
                          "value": [17.0, 16.5]})
    fig = charts.kpi_figure(kpi, series, trajectory=trajectory, checkpoints=marks, benchmarks=bench, large=True,
                            width=CHART_SIZE[0], height=CHART_SIZE[1])
    fig.update_layout(width=CHART_SIZE[0])
    return fig


def test_the_basic_plotly_bundle_is_the_installed_plotly_js():
    assert boardpack.basic_plotly_js() is not None, (
        "reports/vendor/plotly-basic.min.js is not the plotly.js version plotly.py ships: fetch that version's "
        "basic bundle (reports/vendor/README.md), or the packs load the full bundle (slower)")


def test_pack_charts_use_only_trace_types_of_the_basic_bundle():
    fig = _figure()
    assert {t.type for t in fig.data} <= boardpack.BASIC_TRACES


def test_checkpoint_markers_are_one_trace_with_a_colour_shape_and_hover_per_point():
    fig = _figure()
    marks = [t for t in fig.data if t.name == "Checkpoints"]
    assert len(marks) == 1
    m = marks[0]
    assert len(m.x) == 3  # the withheld checkpoint has no point
    assert list(m.marker.symbol) == [charts.RAG_STYLE[r]["symbol"] for r in ("green", "amber", "red")]
    assert list(m.marker.color) == [charts.RAG_STYLE[r]["colour"] for r in ("green", "amber", "red")]
    assert m.hovertext[1].startswith("Jun 24: AMBER<br>actual")
    assert m.showlegend is False


def test_the_chart_template_is_plotly_white_for_scatter():
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    t = charts.chart_template()
    assert t.layout == white.layout
    assert t.data.scatter == white.data.scatter


def test_a_chart_type_the_basic_bundle_cannot_draw_is_a_clear_error():
    session = boardpack._ChartSession(eager=False)  # no browser is started for this
    with pytest.raises(PackError, match="cannot draw heatmap charts"):
        session.submit(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])), CHART_SIZE)
    session.close()


@pytest.mark.slow
def test_pack_session_draws_what_kaleido_draws_byte_for_byte():
    """Two charts through the pack's session (the basic bundle, no reload between them) against kaleido's own
    sync server (the full bundle, the page reloaded after each chart)."""
    import kaleido

    figs = [_figure("agency_rate"), _figure("audits_good_or_better")]
    boardpack._PNG_CACHE.clear()
    session = boardpack._ChartSession(eager=True)
    try:
        ours = [f.result() for f in [session.submit(fig, CHART_SIZE) for fig in figs]]
    finally:
        session.close()
    assert session.drawn == 2
    kaleido.start_sync_server(silence_warnings=True)
    try:
        theirs = [kaleido.calc_fig_sync(fig, opts=dict(format="png", width=CHART_SIZE[0], height=CHART_SIZE[1],
                                                       scale=CHART_SCALE)) for fig in figs]
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    assert ours == theirs
    boardpack._PNG_CACHE.clear()


# --- the deck's XML ---------------------------------------------------------------------------------


def _reference_table(slide, x, y, w, t, *, size=slides.BODY_PT, rag_col=None, rags=None, max_lines=3,
                     line=slides.TABLE_LINE):
    """The table as python-pptx's own calls made it before the templates (the reference)."""
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Pt

    t = slides._clipped(slides._laid_out(t, w, size), w, size, max_lines)
    align = t.align or ["left"] * len(t.header)
    heights = slides._row_heights(t, w, size, max_lines, line)
    tbl = slide.shapes.add_table(len(t.rows) + 1, len(t.header), slides._inches(x), slides._inches(y),
                                 slides._inches(w), slides._inches(sum(heights))).table
    tbl.first_row = True
    for j, f in enumerate(t.widths):
        tbl.columns[j].width = slides._inches(f * w)
    for i, h in enumerate(heights):
        tbl.rows[i].height = slides._inches(h)
    for i, cells in enumerate([t.header, *t.rows]):
        for j, text in enumerate(cells):
            cell = tbl.cell(i, j)
            cell.margin_left = cell.margin_right = slides._inches(0.08)
            cell.margin_top = cell.margin_bottom = slides._inches(0.03)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            head = i == 0
            bold = head or (t.last_row_bold and i == len(t.rows))
            colour = slides.WHITE if head else slides.INK
            how = {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT, "center": PP_ALIGN.CENTER}[align[j]]
            cell.fill.solid()
            if head:
                cell.fill.fore_color.rgb = slides._rgb(slides.HEAD_BG)
            elif rag_col is not None and j == rag_col and rags is not None:
                cell.fill.fore_color.rgb = slides._rgb(slides.RAG_COLOURS.get(rags[i - 1], "#505a5f"))
                colour, bold, how = slides.WHITE, True, PP_ALIGN.CENTER
            else:
                cell.fill.fore_color.rgb = slides._rgb("FFFFFF" if i % 2 else "F3F2F1")
            tf = cell.text_frame
            tf.word_wrap = True
            for k, part in enumerate(str(text).split("\n")):
                p = tf.paragraphs[0] if k == 0 else tf.add_paragraph()
                p.alignment = how
                p.line_spacing = Pt(size * line)
                run = p.add_run()
                run.text = part
                slides._style_run(run, size, bold, colour)


def _reference_paragraphs(tf, paras, align, line):
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Pt

    for i, p in enumerate(paras):
        para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        para.alignment = {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT, "center": PP_ALIGN.CENTER}[align]
        para.line_spacing = Pt(p.size * line)
        if p.space_before:
            para.space_before = Pt(p.space_before)
        run = para.add_run()
        run.text = ("• " + p.text) if p.bullet else p.text
        slides._style_run(run, p.size, p.bold, p.colour)


def test_deck_tables_and_text_boxes_are_the_xml_python_pptx_makes():
    from lxml import etree
    from pptx import Presentation

    prs = Presentation()
    ours, ref = (prs.slides.add_slide(prs.slide_layouts[6]) for _ in range(2))
    table = Table(["Team", "Value & more <b>", "RAG"],
                  [["Alpha\nsecond line", "12.5%", "x"], ["Bell \x07 char", "", "y"], ["All teams", "9", "z"]],
                  [0.4, 0.3, 0.3], ["left", "right", "center"], last_row_bold=True)
    slides._table(ours, 1, 1, 8, table, rag_col=2, rags=["green", "amber", "red"])
    _reference_table(ref, 1, 1, 8, table, rag_col=2, rags=["green", "amber", "red"])
    paras = [slides.Para("Heading", 20, True), slides.Para("Body & <text>", 16, space_before=6, bullet=True),
             slides.Para("", 16, colour=slides.GREY)]
    for s, fill in ((ours, "#123456"), (ref, "#123456")):
        box = slides._textbox(s, 1, 5, 6, 1, paras if s is ours else [], fill=fill, align="center")
        if s is ref:
            _reference_paragraphs(box.text_frame, paras, "center", slides.LINE)
    assert etree.tostring(ours.shapes._spTree) == etree.tostring(ref.shapes._spTree)
    # each cell is its own copy: changing one changes no other cell and no template
    ours.shapes[0].table.cell(2, 1).text_frame.paragraphs[0].runs[0].text = "changed"
    assert ours.shapes[0].table.cell(3, 1).text_frame.text == ref.shapes[0].table.cell(3, 1).text_frame.text == "9"
    a = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"
    assert not any(t.text for tpl in [*slides._CELL_TEMPLATES.values(), *slides._PARA_TEMPLATES.values()]
                   for t in tpl.iter(a))
