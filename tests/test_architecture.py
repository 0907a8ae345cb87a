"""Architecture guards: dependency direction and determinism, checked on the source.

* ``orderbook`` must not load ``engine`` or numpy (the book knows nothing of the exchange).
* The rooms of ``engine/`` (docs/design.md, "The house") import only rooms below them:
  ``venue`` nothing of the others; ``liquidation`` and ``outputs`` only ``venue``; no module
  imports the loop but the runner and the CLI.  No import circle, between modules or between
  rooms, static or dynamic (``importlib`` is not used to load the project's own code).
* Neither package may use the global RNGs (``random.*``, ``np.random.<fn>`` other than
  ``default_rng``/``Generator``/``SeedSequence``/``PCG64``) or read the wall clock, except
  the single module allowed to time runs (``engine/outputs/timing.py``: its figures go into the
  summary's ``wall_seconds`` and never into the event log).
"""
from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("orderbook", "engine")
CLOCK_ALLOWED = {"engine/outputs/timing.py", "engine/cli.py"}
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


# ------------------------------------------------------------------ the house's layers
#: The rooms of ``engine/`` and what each may import of the project (besides itself).
#: ``config`` (ConfigError and the validating converters) and ``phases`` (Phase, SECOND,
#: the Port) are vocabulary every room above the venue may use.
ROOMS = ("venue", "liquidation", "breakers", "market", "scenarios", "outputs", "data", "sweeps")
MAY_IMPORT = {
    "orderbook": set(),
    "engine.config": set(),
    "engine.phases": set(),
    "engine.venue": {"orderbook"},
    "engine.liquidation": {"orderbook", "engine.venue"},
    "engine.outputs": {"orderbook", "engine.venue"},
    "engine.breakers": {"orderbook", "engine.venue", "engine.config", "engine.phases"},
    "engine.market": {"orderbook", "engine.venue", "engine.config", "engine.phases",
                      "engine.data"},
    "engine.data": {"engine.venue", "engine.config"},
    "engine.scenarios": {"engine.venue", "engine.config", "engine.breakers"},
    # above the runner: one replay per task through engine.runner, never the loop itself
    "engine.sweeps": {"orderbook", "engine.venue", "engine.config", "engine.breakers",
                      "engine.scenarios", "engine.outputs", "engine.runner"},
}
TOP_MODULES_AT_MOST = 8


def _module_name(rel: str) -> str:
    parts = rel[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(rel: str, tree: ast.AST) -> set[str]:
    """Every project module ``rel`` imports, at the top or inside a function."""
    name = _module_name(rel)
    package = name if rel.endswith("__init__.py") else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)     # "from . import adl"
    return {m for m in out if m.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    sources = {_module_name(rel): tree for rel, tree in _sources()}
    rels = {_module_name(rel): rel for rel, _ in _sources()}
    return {mod: {m for m in _imports(rels[mod], tree) if m in sources and m != mod}
            for mod, tree in sources.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "orderbook":
        return "orderbook"
    if len(parts) > 1 and parts[1] in ROOMS:
        return f"engine.{parts[1]}"
    return module       # a top-level module of engine, or the package face


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative).
    O(nodes + edges)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_circle_and_passes_a_chain():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_between_modules():
    assert _cycles(_graph()) == []


def test_no_import_circle_between_rooms():
    rooms: dict[str, set[str]] = {}
    for mod, deps in _graph().items():
        rooms.setdefault(_room(mod), set()).update(_room(d) for d in deps if _room(d) != _room(mod))
    assert _cycles(rooms) == []


def test_each_room_imports_only_the_rooms_below_it():
    offences = []
    for mod, deps in sorted(_graph().items()):
        room = _room(mod)
        allowed = MAY_IMPORT.get(room)
        if allowed is None:
            continue        # the loop, the runner, the CLI and the face may import anything
        offences += [f"{mod} imports {d}" for d in sorted(deps)
                     if _room(d) != room and _room(d) not in allowed]
    assert not offences, "\n".join(offences)


def test_only_the_runner_and_the_cli_import_the_loop():
    importers = sorted(m for m, deps in _graph().items() if "engine.simulation" in deps)
    assert importers == ["engine.runner"], importers


def test_the_project_loads_none_of_its_own_code_through_importlib():
    offences = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func)[-1:] in (["import_module"],
                                                                          ["__import__"]):
                offences.append(f"{rel}:{node.lineno}")
    assert not offences, offences


def test_engine_top_level_holds_at_most_eight_modules_and_each_room_says_what_it_holds():
    top = sorted(p.name for p in (ROOT / "engine").glob("*.py"))
    assert len(top) <= TOP_MODULES_AT_MOST, top
    for room in ROOMS:
        init = ROOT / "engine" / room / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc, f"engine/{room}/__init__.py: say what lives here " \
                                        f"and what it may import"


#: Balances only the Exchange may write, and its private ledger helpers.
BALANCES = {"wallet", "margin", "bad_debt", "fee_income", "net_deposits"}
LEDGER_PRIVATE = {"_pay", "_dirty", "_next_oid", "_credit", "_fill_leg"}
LEDGER_OWNERS = {"engine/venue/exchange.py", "engine/venue/accounts.py"}


def _ledger_offences(rel: str, tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        out += [f"{rel}:{node.lineno}: writes .{t.attr}" for t in targets
                if isinstance(t, ast.Attribute) and t.attr in BALANCES]
        if isinstance(node, ast.Attribute) and node.attr in LEDGER_PRIVATE:
            out.append(f"{rel}:{node.lineno}: uses .{node.attr}")
    return out


def test_nothing_outside_the_exchange_writes_a_balance_or_uses_its_private_ledger():
    """One door: every balance change goes through an Exchange method that logs it and
    re-keys the account (``move``, ``move_collateral``, ``write_off``, ``deposit``...)."""
    offences = []
    for rel, tree in _sources():
        if rel.startswith("engine/") and rel not in LEDGER_OWNERS:
            offences += _ledger_offences(rel, tree)
    assert not offences, "\n".join(offences)


def test_the_ledger_guard_itself_catches_a_wallet_write_and_a_private_call():
    tree = ast.parse("acct.wallet -= 5\nex._pay(acct, 0, 1)\nx = acct.wallet\n")
    assert [o.split(": ")[1] for o in _ledger_offences("x.py", tree)] == \
        ["writes .wallet", "uses ._pay"]


def test_every_document_the_code_cites_is_in_the_repository():
    """Citations a reader can open: ``docs/...`` paths exist; nothing points outside the
    repository (no ``shared/``, no absolute paths)."""
    cited, outside = set(), []
    for pkg in (*PACKAGES, "tests", "benchmarks"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            text = path.read_text()
            cited |= set(re.findall(r"\bdocs/[\w./-]*\w\.md", text))
            outside += [f"{path.relative_to(ROOT)}: {m}"
                        for m in re.findall(r"(?:shared/reference|/work/)\S*", text)
                        if path.name != "test_architecture.py"]
    assert cited and not [c for c in cited if not (ROOT / c).is_file()]
    assert not outside, outside
