"""docs/metrics.md is generated from the registries and must not drift from them."""

from __future__ import annotations

from metrics.benchmarks import BENCHMARKED_METRICS
from metrics.compute import FLAGS
from metrics.docs import DOCS_PATH, render_metrics_md
from metrics.kpis import REGISTRY, SECONDARY


def test_committed_page_matches_the_registry():
    assert DOCS_PATH.read_text(encoding="utf-8") == render_metrics_md(), (
        "docs/metrics.md is out of date: run `python -m metrics.docs` and commit the result"
    )


def test_every_kpi_is_documented():
    page = render_metrics_md()
    for k in REGISTRY.values():
        assert f"### `{k.id}` — {k.label}" in page
        for text in (k.tor, k.definition, k.source_kind, k.priority):
            assert text in page, (k.id, text)


def test_secondary_measures_flags_and_benchmarks_are_documented():
    page = render_metrics_md()
    for s in SECONDARY.values():
        assert f"| `{s.id}` | {s.label} |" in page
    for code, text in FLAGS.items():
        assert f"| `{code}` | {text} |" in page
    table = page.split("## Common terms")[0]
    for k in REGISTRY:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{k}` |"))
        assert row.endswith("| yes |") == (k in BENCHMARKED_METRICS)
        if k in BENCHMARKED_METRICS:
            assert BENCHMARKED_METRICS[k].caveat in page
