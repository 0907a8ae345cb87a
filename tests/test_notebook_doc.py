"""docs/notebook.md runs: its ``python`` blocks are executed in order, in one namespace, in a
temporary directory (the example writes runs/nb-compare there)."""
from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "notebook.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_notebook_example_in_docs_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    code = blocks()
    assert len(code) == 4
    for k, block in enumerate(code):
        exec(compile(block, f"{DOC}:block{k + 1}", "exec"), namespace)
    assert "MARGIN CALL" in capsys.readouterr().out
    assert (tmp_path / "runs" / "nb-compare" / "report.html").is_file()
