"""Architecture guards: dependency direction and determinism, checked on the source.

* ``orderbook`` must not load ``engine`` or numpy (the book knows nothing of the exchange).
* Neither package may use the global RNGs (``random.*``, ``np.random.<fn>`` other than
  ``default_rng``/``Generator``/``SeedSequence``/``PCG64``) or read the wall clock, except
  the single module allowed to time runs (``engine/timing.py``: its figures go into the
  summary's ``wall_seconds`` and never into the event log).
"""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("orderbook", "engine")
CLOCK_ALLOWED = {"engine/timing.py", "engine/cli.py"}
RNG_OK = {"default_rng", "Generator", "SeedSequence", "PCG64", "BitGenerator"}
CLOCK_CALLS = {("time", "time"), ("time", "time_ns"), ("time", "perf_counter"),
               ("time", "perf_counter_ns"), ("time", "monotonic"), ("time", "monotonic_ns"),
               ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}


def _sources():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _dotted(node: ast.AST) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def test_importing_orderbook_loads_neither_engine_nor_numpy():
    code = ("import sys, orderbook; "
            "print(sorted(m for m in ('engine', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]", f"import orderbook also loaded {out}"


def test_orderbook_source_imports_no_engine_and_no_numpy():
    for rel, tree in _sources():
        if not rel.startswith("orderbook/"):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in ("engine", "numpy"), f"{rel} imports {name}"


def test_no_global_random_and_no_wall_clock_in_results():
    offences = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offences += [f"{rel}: import random" for a in node.names if a.name == "random"]
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                offences.append(f"{rel}: from random import ...")
            if isinstance(node, ast.Call):
                d = _dotted(node.func)
                if len(d) >= 3 and d[-3] in ("np", "numpy") and d[-2] == "random" \
                        and d[-1] not in RNG_OK:
                    offences.append(f"{rel}:{node.lineno}: global numpy RNG {'.'.join(d)}")
                if len(d) >= 2 and tuple(d[-2:]) in CLOCK_CALLS and rel not in CLOCK_ALLOWED:
                    offences.append(f"{rel}:{node.lineno}: wall clock {'.'.join(d)}")
    assert not offences, "\n".join(offences)


def test_the_guard_itself_catches_a_global_rng_call():
    tree = ast.parse("import numpy as np\nx = np.random.rand(3)\n")
    calls = [_dotted(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert ["np", "random", "rand"] in calls


def test_every_package_directory_is_installed_by_pyproject():
    """A non-editable install must ship every subpackage (engine.breakers once was not)."""
    import tomllib

    from setuptools import find_packages
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(where=str(ROOT), include=include))
    on_disk = {p.parent.relative_to(ROOT).as_posix().replace("/", ".")
               for pkg in ("orderbook", "engine", "replays")
               for p in (ROOT / pkg).rglob("__init__.py")}
    assert on_disk and on_disk <= shipped, f"not installed: {sorted(on_disk - shipped)}"
    assert "engine.breakers" in shipped
