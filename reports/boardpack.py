"""The Improvement Board pack: one review, as a PDF (A4 landscape) or a PowerPoint deck (16:9).

:func:`build_pack` reads the store once (:func:`reports.tables.load`, with the review model), builds a
renderer-neutral :class:`reports.pack.model.PackModel` (:func:`reports.pack.build.build_model`: every
figure already formatted — and, for a public pack, already suppressed by :mod:`reports.disclosure`),
draws each KPI's chart with the dashboard's own builder (:func:`reports.charts.review_chart`) through ONE
kaleido session, and hands the model to :mod:`reports.pdf` or :mod:`reports.slides` (which import only
the model and :mod:`reports.fonts`, never this module). An audit row (action ``boardpack``) records who made
which pack.

Contents, in order: cover; checkpoint summary (actual, target, RAG as text and colour, direction of
travel, forecast, the overall count line); one page per KPI (chart, status, last three months,
breakdowns, latest commentary, definition, data-quality notes); the evidence log for the qualitative
Terms of Reference items; definitions and sources (and, in a public pack, the suppression rule).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

from reports import disclosure, pdf, slides
from reports.pack.build import build_model, figure
from reports.pack.model import (CHART_HEIGHT, CHART_SCALE, CHART_SIZE, CHART_WIDTH, NAME_LIMIT,  # noqa: F401
                                Commentary, EvidenceItem, KpiPage, PackError, PackInfo, PackModel, Table, shorten)
from reports.tables import PackData, load

FORMATS = (".pdf", ".pptx")
SUPPRESSED = disclosure.SUPPRESSED


# --- charts ---------------------------------------------------------------------------------

_KALEIDO_LOCK = threading.Lock()
#: Drawn charts by figure: sha256 of the figure's JSON, its size and scale → PNG. Both renderers draw
#: charts at the one CHART_SIZE, so the PDF and the PowerPoint of a review (the dashboard offers both)
#: draw each chart once; a chart that changes (data, settings, public or not) has another key.
_PNG_CACHE: OrderedDict[str, bytes] = OrderedDict()
PNG_CACHE_SIZE = 64
#: Browser tabs drawing charts at once (each its own renderer process). Measured on the 2-core machine: a
#: second tab gains little while the model is built on the other core, and costs a second plotly.js load.
CHART_TABS = 1


def chart_key(fig, size: tuple[int, int], scale: float = CHART_SCALE) -> str:
    """The cache key of a chart: the figure's JSON (what kaleido is given), its size and scale."""
    h = hashlib.sha256(fig.to_json().encode())
    h.update(f"|{size[0]}x{size[1]}@{scale}".encode())
    return h.hexdigest()


#: plotly.js's "basic" bundle (scatter, bar, pie; npm plotly.js-basic-dist-min, MIT; reports/vendor/README.md):
#: a quarter of the full bundle kaleido loads, so Chromium starts on half the CPU. Used only when it is the
#: version of plotly.js that plotly.py ships (the PNGs are then byte for byte the same), else the full one.
BASIC_PLOTLY_JS = Path(__file__).parent / "vendor" / "plotly-basic.min.js"
#: The trace types the basic bundle draws (the pack's charts use scatter only).
BASIC_TRACES = frozenset({"scatter", "bar", "pie"})


def _plotly_js_version(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(400).decode("ascii", "replace")
    m = re.search(r"plotly\.js\b[^\n]*?\bv(\d+\.\d+\.\d+)", head)
    return m.group(1) if m else None


@lru_cache(maxsize=1)
def basic_plotly_js() -> Path | None:
    """The basic bundle when its version is the plotly.js of the installed plotly.py, else None."""
    import plotly

    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    try:
        same = _plotly_js_version(BASIC_PLOTLY_JS) == _plotly_js_version(full) is not None
    except OSError:
        return None
    return BASIC_PLOTLY_JS if same else None


def _kaleido_class():
    """kaleido.Kaleido that keeps its tab between charts. Kaleido reloads the page (and so parses plotly.js
    again, about half of a chart's time) after every image, to start each from a clean page; plotly.js's
    ``toImage`` draws each figure in a fresh element it removes afterwards, so within one pack's session
    the reload changes nothing (the PNGs are byte for byte the same) and the session is closed after the
    pack. Should a later kaleido rename the hook, it simply reloads again."""
    import kaleido

    class _PackKaleido(kaleido.Kaleido):
        async def _return_kaleido_tab(self, tab) -> None:
            await self.tabs_ready.put(tab)

    return _PackKaleido


class _ChartSession:
    """ONE kaleido (headless Chromium) session per pack, started only when a chart is not in the cache
    (``eager``: at once, so the browser boots while the store is read), stopped in ``close`` (call it in a
    ``finally``). Chromium is driven from a thread of its own with its own event loop, so ``submit`` returns
    at once and the caller builds the next figure while Chromium draws this one. ``png`` / ``submit``
    answer from the cache where they can. No MathJax: the charts have no formulae, and kaleido would fetch
    it from a CDN on every page load. plotly.js: the basic bundle (:func:`basic_plotly_js`)."""

    def __init__(self, eager: bool = True, tabs: int = CHART_TABS) -> None:
        self._tabs = tabs
        self._started = False
        self.drawn = self.cached = 0
        if eager:
            self._start()

    def _start(self) -> None:
        import asyncio

        _KALEIDO_LOCK.acquire()
        try:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="boardpack-kaleido", daemon=True)
            self._thread.start()
            self._started = True
            self._opening = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        except BaseException:
            self._stop_loop()
            raise

    async def _open(self):
        basic = basic_plotly_js()
        k = _kaleido_class()(n=self._tabs, mathjax=False, plotlyjs=str(basic) if basic else None)
        await k.open()
        return k

    def _kaleido(self):
        if not self._started:
            self._start()
        try:
            return self._opening.result()
        except Exception as e:  # a missing Chromium shows up here
            raise _draw_error(e) from e

    def submit(self, fig, size: tuple[int, int] = (960, 540)) -> Future:
        """The chart's PNG, as a future: drawn in the background (or at once from the cache)."""
        import asyncio

        other = {t.type for t in fig.data} - BASIC_TRACES
        if other and basic_plotly_js() is not None:
            raise PackError(f"The pack cannot draw {', '.join(sorted(other))} charts: reports/boardpack.py draws "
                            "charts with plotly.js's basic bundle (scatter, bar and pie).")
        key = chart_key(fig, size)
        done: Future = Future()
        if key in _PNG_CACHE:
            _PNG_CACHE.move_to_end(key)
            self.cached += 1
            done.set_result(_PNG_CACHE[key])
            return done
        k = self._kaleido()
        opts = dict(format="png", width=size[0], height=size[1], scale=CHART_SCALE)
        drawing = asyncio.run_coroutine_threadsafe(k.calc_fig(fig.to_dict(), opts=opts), self._loop)

        def finished(f: Future) -> None:
            try:
                out = f.result()
            except BaseException as e:  # noqa: BLE001 — handed to the caller, as a PackError
                done.set_exception(_draw_error(e))
                return
            self.drawn += 1
            _PNG_CACHE[key] = out
            while len(_PNG_CACHE) > PNG_CACHE_SIZE:
                _PNG_CACHE.popitem(last=False)
            done.set_result(out)

        drawing.add_done_callback(finished)
        return done

    def png(self, fig, size: tuple[int, int] = (960, 540)) -> bytes:
        return self.submit(fig, size).result()

    def _stop_loop(self) -> None:
        try:
            if getattr(self, "_thread", None) is not None and self._thread.is_alive():
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join()
            if getattr(self, "_loop", None) is not None:
                self._loop.close()
        finally:
            self._started = False
            _KALEIDO_LOCK.release()

    def close(self) -> None:
        if not self._started:
            return
        import asyncio

        try:
            try:
                k = self._opening.result()
            except Exception:  # noqa: BLE001 — it never opened; the error was (or will be) reported
                k = None
            if k is not None:
                asyncio.run_coroutine_threadsafe(k.close(), self._loop).result(timeout=60)
        finally:
            self._stop_loop()


def _draw_error(e: BaseException) -> PackError:
    if isinstance(e, PackError):
        return e
    return PackError(f"The charts could not be drawn ({type(e).__name__}: {e}). Kaleido needs a "
                     "Chromium browser (Debian: apt-get install chromium).")


# --- the entry point -------------------------------------------------------------------------


def pack_format(out: str | Path) -> str:
    """'pdf' or 'pptx' from the file name; anything else is a ValueError naming the choices."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"The board pack is written as PDF or PowerPoint: '{Path(out).name}' must end in "
                         f".pdf or .pptx (got '{suffix or 'no extension'}').")
    return suffix[1:]


def build_pack(conn: sqlite3.Connection, review_date: dt.date, out: Path, *, public: bool = False,
               include_teams: bool = True, by: str = "cli", role: str = "",
               data: PackData | None = None) -> PackInfo:
    """Write the board pack for the review at ``review_date`` to ``out`` (``.pdf`` or ``.pptx``).

    ``public=True`` applies the disclosure rules of :mod:`reports.disclosure` and leaves out who wrote
    each piece of commentary; ``include_teams=False`` leaves out team breakdowns. The file is written
    atomically (a temporary file renamed into place). Records an audit row (action ``boardpack``)
    as ``by`` with ``role``. ``data``: what was already read for this review (the dashboard passes its
    cached :class:`reports.tables.PackData`); read from ``conn`` when not given. Raises ``ValueError`` for
    an unsupported extension or data for another review, :class:`PackError` if the charts cannot be drawn,
    ``RuntimeError`` if the DejaVu fonts are missing.
    """
    from metrics.audit import record_now
    from metrics.reviews import as_date

    t0 = time.perf_counter()
    fmt = pack_format(out)
    review_date = as_date(review_date)
    out = Path(out)
    renderer = pdf if fmt == "pdf" else slides
    renderer.check_fonts()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    # Chromium boots in the background while the store is read — unless charts are cached (a second pack)
    session = _ChartSession(eager=not _PNG_CACHE)
    try:
        t = time.perf_counter()
        if data is None:
            data = load(conn, review_date)
        elif data.review is None or data.review.checkpoint != review_date:
            raise ValueError(f"the data given are not for the review of {review_date.isoformat()}")
        t = lap("load", t)
        # The charts need only the data: Chromium draws them (on the other core) while this thread builds the
        # model. A public pack's disclosure decisions are computed first, so both threads read the same ones.
        from concurrent.futures import ThreadPoolExecutor

        from metrics.kpis import REGISTRY

        if data.review is None:
            raise ValueError("a board pack needs PackData loaded with a review date")
        if public:
            data.decisions  # noqa: B018 (computed once, here, before the worker reads them)
        size = CHART_SIZE  # one size for both formats: a chart drawn for one is reused by the other
        charts_t: dict[str, float] = {}

        def draw_all() -> dict[str, bytes]:
            # each figure goes to Chromium as soon as it is built, and the next is built while it is drawn
            start, built, pending = time.perf_counter(), 0.0, {}
            for kpi in (REGISTRY[r.metric] for r in data.review.rows):  # the model's pages, in order
                f0 = time.perf_counter()
                fig = figure(data, kpi, public, size)
                built += time.perf_counter() - f0
                pending[kpi.id] = session.submit(fig, size)
            pngs = {k: f.result() for k, f in pending.items()}
            charts_t["figures"], charts_t["charts"] = round(built, 2), round(time.perf_counter() - start - built, 2)
            return pngs

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="boardpack-charts") as pool:
            drawing = pool.submit(draw_all)
            model = build_model(conn, data, public=public, include_teams=include_teams, by=by)
            t = lap("model", t)
            pngs = drawing.result()
            t = lap("charts_wait", t)
        for page in model.kpis:
            page.chart_png = pngs.get(page.kpi.id)
        timings.update(charts_t)
        timings["charts_drawn"], timings["charts_cached"] = session.drawn, session.cached
    finally:
        session.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    try:
        pages = renderer.render(model, tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    lap("render", t)
    shown_c = _count_suppressed(model)
    info = PackInfo(path=out, format=fmt, pages=pages, review=review_date, review_label=model.review_label,
                    public=public, include_teams=include_teams, kpis=len(model.kpis), suppressed_cells=shown_c,
                    seconds=round(time.perf_counter() - t0, 2), timings=timings)
    record_now(conn, by, "boardpack", str(out), {
        "review": review_date.isoformat(), "label": model.review_label, "format": fmt, "public": public,
        "include_teams": include_teams, "pages": pages, "suppressed_cells": shown_c, "file": out.name,
    }, role=role)
    return info


def _count_suppressed(model: PackModel) -> int:
    """How many figures the pack shows as c (tables and sentences)."""
    n = sum(c == SUPPRESSED for row in model.summary.rows for c in row)
    for p in model.kpis:
        n += sum(c == SUPPRESSED for row in p.recent.rows for c in row)
        if p.teams:
            n += sum(c == SUPPRESSED for row in p.teams.rows for c in row)
        n += sum(len(re.findall(rf"(?<![\w']){SUPPRESSED}(?![\w'])", d)) for d in p.details)
    return n
