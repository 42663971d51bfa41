"""CSV exports are safe to open in a spreadsheet; example files and docs follow the contract."""

import io

import pandas as pd
import pytest

from metrics.contract import KINDS
from metrics.examples import example_csv, render_extracts_md
from metrics.export import neutralise, safe_csv
from metrics.validate import validate
from metrics.settings import PROJECT_ROOT


@pytest.mark.parametrize("cell", ["=1+1", "+44 1432", "-2+3", "@SUM(A1)", "\tx", "\r=x", "=HYPERLINK(\"http://x\")"])
def test_formula_like_text_is_neutralised(cell):
    out = neutralise(cell)
    assert out == "'" + cell


@pytest.mark.parametrize("cell", ["Assessment North", "", "1.5", "2023-04-30", "O'Brien team"])
def test_ordinary_text_is_untouched(cell):
    assert neutralise(cell) == cell


def test_numbers_stay_numbers():
    assert neutralise(-3.5) == -3.5


def test_safe_csv_neutralises_every_dangerous_cell_and_header():
    df = pd.DataFrame({"=bad header": ["=1+1", "ok", "@x"], "n": [-1, 2, 3], "t": ["+1", "-x", "fine"]})
    back = pd.read_csv(io.BytesIO(safe_csv(df)), dtype=str, encoding="utf-8-sig")
    for col in back.columns:
        assert not col.startswith(("=", "+", "-", "@"))
    for v in back[["=bad header", "t"]].to_numpy().ravel() if "=bad header" in back else back.drop(columns="n").to_numpy().ravel():
        assert not str(v).startswith(("=", "+", "-", "@", "\t", "\r"))
    assert list(back["n"]) == ["-1", "2", "3"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_example_files_are_valid_and_committed(kind):
    data = example_csv(kind)
    v = validate(data)
    assert v.kind == kind and len(v.frame) == 2
    assert (PROJECT_ROOT / "data" / "examples" / f"{kind}.csv").read_bytes() == data


def test_extracts_doc_is_generated_from_the_contract():
    doc = (PROJECT_ROOT / "docs" / "extracts.md").read_text()
    assert doc == render_extracts_md(), "docs/extracts.md is stale: run `python -m metrics.examples`"
    for kind, spec in KINDS.items():
        assert f"## {kind} (" in doc
        for c in spec.columns:
            assert f"| {c.name} |" in doc
            for a in c.aliases:
                assert a in doc
