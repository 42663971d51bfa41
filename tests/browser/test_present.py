"""Present on a projector (issue 14 item 1), in a real browser at 1280×720: a clicker's keys change the
slide, the chart's plot area is on screen, the type is projector-sized, and axe-core finds nothing serious;
at 1920×1080 (or resized to it) the chart fills the screen, its plot area ending in the viewport's lower third.
Screenshots at 1280×720 and 1920×1080 go to docs/screenshots/ (the README and docs/reviews.md show them)."""

from __future__ import annotations

import pytest

from browser_support import REPO_ROOT, after_rerun, format_violations, run_axe, wait_for_app
from metrics.kpis import REGISTRY

LABELS = [k.label for k in REGISTRY.values()]
PLOT_AREA_JS = """() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"]');
  const drag = chart.querySelector('.nsewdrag');  // the plot area: axes and data
  const r = drag.getBoundingClientRect();
  const ticks = [...chart.querySelectorAll('.xtick text, .ytick text')];
  const t = ticks.map(e => e.getBoundingClientRect());
  return {left: Math.min(r.left, ...t.map(b => b.left)), top: r.top,
          right: Math.max(r.right, ...t.map(b => b.right)), bottom: Math.max(r.bottom, ...t.map(b => b.bottom)),
          vw: window.innerWidth, vh: window.innerHeight, scrollY: window.scrollY,
          tickPx: Math.min(...ticks.map(e => parseFloat(getComputedStyle(e).fontSize))),
          labelPx: Math.min(...[...chart.querySelectorAll('.annotation-text')].map(
              e => parseFloat(getComputedStyle(e).fontSize)))};
}"""


#: Words of the page's headings drawn on more than one line (broken inside the word).
BROKEN_WORDS_JS = """() => {
  const out = [];
  for (const h of document.querySelectorAll('[data-testid="stMain"] h1, [data-testid="stMain"] h2')) {
    const walk = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      for (const m of n.textContent.matchAll(/\\S+/g)) {
        const r = document.createRange();
        r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
        if (tops.size > 1) out.push(m[0]);
      }
    }
  }
  return out;
}"""


def _open(browser, base_url, width: int, height: int):
    ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto("/present")
    wait_for_app(page, timeout=60_000)
    return ctx, page


def _title(page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


@pytest.fixture
def present(browser, base_url):
    ctx, page = _open(browser, base_url, 1280, 720)
    yield page
    ctx.close()


def test_a_clickers_keys_change_the_slide(present):
    page = present
    assert _title(page) == LABELS[0]
    for key, expected in (("ArrowRight", 1), ("PageDown", 2), ("Space", 3), ("ArrowLeft", 2), ("PageUp", 1)):
        after_rerun(page, lambda: page.keyboard.press(key))
        assert _title(page) == LABELS[expected], key
        assert page.locator('[data-testid="stMain"]').inner_text().count(f"{expected + 1} of {len(LABELS)}") == 1


def test_the_chart_is_above_the_fold_in_projector_type(present):
    box = present.evaluate(PLOT_AREA_JS)
    assert box["scrollY"] == 0
    assert 0 <= box["left"] and box["right"] <= box["vw"], box
    assert 0 <= box["top"] and box["bottom"] <= box["vh"], box
    assert box["tickPx"] >= 18 and box["labelPx"] >= 18, box
    # the local-mode and demo notices are still there, small
    alerts = present.locator('[data-testid="stAlert"]')
    assert alerts.count() == 2 and all(h <= 40 for h in (b["height"] for b in
                                                        (alerts.nth(i).bounding_box() for i in range(2)))), \
        "the notices stay visible but small"
    present.screenshot(path=str(REPO_ROOT / "docs" / "screenshots" / "present-1280.png"))


def test_every_slide_keeps_its_chart_above_the_fold(present):
    """Long priority titles (two-line headers) must not push any slide's plot area below 720 px."""
    page = present
    for i in range(len(LABELS)):
        box = page.evaluate(PLOT_AREA_JS)
        assert box["scrollY"] == 0 and 0 <= box["top"] and box["bottom"] <= box["vh"], (LABELS[i], box)
        after_rerun(page, lambda: page.keyboard.press("ArrowRight"))


def test_the_rating_is_coloured_shaped_and_in_words(present):
    rating = present.locator('[class*="st-key-present_rag_"] h2').first
    assert rating.inner_text().strip() in {"● Green", "◆ Amber", "✖ Red", "○ No data"}
    assert rating.evaluate("e => getComputedStyle(e).color") != "rgb(11, 12, 12)"  # not plain ink
    icons = present.locator('[data-testid="stMain"] img[alt^="Variation"], '
                            '[data-testid="stMain"] img[alt^="Assurance"]')
    assert icons.count() == 2  # the variation and assurance icons, with their words as alt text


def test_slide_index_jumps_to_any_priority(present):
    page = present
    page.get_by_role("button", name="Go to…").click()
    page.get_by_role("combobox", name="Priority").click()
    after_rerun(page, lambda: page.get_by_role("option", name=f"7. {LABELS[6]}").click())
    assert _title(page) == LABELS[6]


def test_no_serious_accessibility_violations(present):
    violations = [v for v in run_axe(present) if v["impact"] in {"critical", "serious"}]
    assert not violations, format_violations(violations)


@pytest.mark.parametrize("width, height", [(1920, 1080), (800, 720)])
def test_other_sizes(browser, base_url, width, height):
    ctx, page = _open(browser, base_url, width, height)
    try:
        box = page.evaluate(PLOT_AREA_JS)
        assert box["right"] <= box["vw"] and box["tickPx"] >= 18, box
        if width == 1920:
            # the chart fills the screen: its plot area ends in the lower third of the viewport, still inside it
            assert box["vh"] * 2 / 3 <= box["bottom"] <= box["vh"], box
            page.screenshot(path=str(REPO_ROOT / "docs" / "screenshots" / "present-1920.png"))
        # no heading breaks inside a word: each heading's words are each on one line
        broken = page.evaluate(BROKEN_WORDS_JS)
        assert not broken, broken
    finally:
        ctx.close()


def test_the_chart_follows_the_screen(browser, base_url):
    """Made larger (the browser's full-screen mode, a bigger projector), the chart grows with it: opened at
    1280×720 and resized to 1920×1080, its plot area ends in the lower third of the new viewport."""
    ctx, page = _open(browser, base_url, 1280, 720)
    try:
        small = page.evaluate(PLOT_AREA_JS)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_function("() => { const d = document.querySelector('[data-testid=\"stPlotlyChart\"] .nsewdrag');"
                               " return d && d.getBoundingClientRect().bottom > window.innerHeight * 2 / 3; }")
        large = page.evaluate(PLOT_AREA_JS)
        assert large["bottom"] - large["top"] > small["bottom"] - small["top"] + 200, (small, large)
        assert large["vh"] * 2 / 3 <= large["bottom"] <= large["vh"] and large["scrollY"] == 0, large
    finally:
        ctx.close()
