"""The grid file of ``liqsim sweep``: which replays to run, validated before any runs.

```toml
[sweep]
scenarios = ["flash-drop", "my-event.toml"]  # bundled names, or paths (relative to this file)
breakers = ["none", "luld", "cde-hourly+liq-pause"]   # default ["none"]
seeds = [0, 1, 2]                            # default [0]
scale = 0.02                                 # (0, 1], a number or "a/b"; default 1

[sweep.set]                                  # any scenario or policy key -> its values
"makers.count" = [3, 5]
"breaker.luld.band_pct" = [5, 10]

[[sweep.runs]]                               # or explicit rows instead of [sweep.set]
breaker = "luld"                             # a row fixes what it names ...
set = { "breaker.luld.band_pct" = 7 }        # ... and runs over the [sweep] lists for the rest
```

Without ``[[sweep.runs]]`` the runs are the Cartesian product scenarios x breakers x
``[sweep.set]`` values x seeds, in that nesting order (seeds innermost); with it, each row
in the order written, crossed with the ``[sweep]`` lists for the dimensions (scenario,
breaker, seed) it leaves out.  ``[sweep.set]`` and ``[[sweep.runs]]`` exclude each other.

Seed rule: a run's simulation seed is its grid seed, whatever its scenario, policy or
parameters -- so the policies of one seed meet the same market draws (common random numbers,
as ``liqsim compare --seeds``), a row is reproduced by the single replay in its
``command`` column, and nothing depends on which worker ran it or when.

Validation (``read``): unknown keys, empty or repeated values, a bad scale, seed or policy,
a run repeated, and every run's scenario loaded with its overrides (``scenario.load``), so
a bad key or value is one ``ConfigError`` naming the grid file, the field and the run --
before any run starts and before anything is written.  O(runs) loads of at most
(scenarios x parameter combinations) distinct files.
"""
from __future__ import annotations

import itertools
import math
import pathlib
import shlex
from decimal import Decimal
from fractions import Fraction

import attrs
import tomli_w

from ..breakers import split_names
from ..config import ConfigError, integer, read_toml, scale_ratio
from ..scenarios.scenario import REPLAYS, load

MAX_RUNS = 100_000
_SWEEP_KEYS = {"scenarios", "breakers", "seeds", "scale", "set", "runs"}
_ROW_KEYS = {"scenario", "breaker", "seed", "set"}


@attrs.frozen
class Task:
    """One replay of the grid: ``run`` is its place in grid order (the results' order)."""

    run: int
    scenario: str           # as written in the grid file (the results' coordinate)
    path: str               # what ``engine.run`` loads: a bundled name or an absolute path
    breaker: str            # one spelling per policy (``breakers.split_names``)
    seed: int
    scale: Fraction
    params: tuple           # ((key, TOML value), ...) in the grid's key order

    @property
    def file(self) -> pathlib.Path:
        """The scenario file this run loads: ``path``, or a bundled name's bundled file."""
        p = pathlib.Path(self.path)
        return p if p.is_absolute() else REPLAYS / f"{self.path}.toml"

    @property
    def overrides(self) -> list[str]:
        return [override(k, v) for k, v in self.params]

    def coordinates(self) -> dict:
        """The results' grid columns of this run (``execute.COORDINATES`` + one per key)."""
        return {"run": self.run, "scenario": self.scenario, "breaker": self.breaker,
                "seed": self.seed, "scale": float(self.scale),
                **{k: column_value(v) for k, v in self.params}, "command": self.command()}

    def command(self) -> str:
        """The single replay that reproduces this row (same seed rule, same overrides)."""
        scale = str(self.scale) if self.scale.denominator != 1 else str(int(self.scale))
        args = ["liqsim", "replay", self.path, "--breaker", self.breaker, "--seed",
                str(self.seed), "--scale", scale]
        for item in self.overrides:
            args += ["--set", item]
        return shlex.join(args + ["--out", f"run-{self.run}"])


@attrs.frozen
class Grid:
    source: str
    tasks: tuple
    keys: tuple             # the swept parameter keys, in the grid's order

    def identity(self) -> list[dict]:
        """What ``--resume`` compares: every run's coordinates, in order."""
        return [t.coordinates() for t in self.tasks]

    def ignored(self) -> list[tuple[str, list[str], int]]:
        """``(key, policies, repeats)`` for each swept breaker key some of the grid's
        policies ignore (``outputs.sweepcharts.applies``): under them, runs differing only
        in that key are the same run, ``repeats`` of them beyond the first.  O(tasks x
        keys)."""
        from ..outputs.sweepcharts import applies
        out = []
        for key in self.keys:
            idle = [t for t in self.tasks
                    if any(k == key for k, _ in t.params) and not applies(t.breaker, key)]
            distinct = {(t.scenario, t.breaker, t.seed,
                         tuple(kv for kv in t.params if kv[0] != key)) for t in idle}
            if len(idle) > len(distinct):       # one value alone repeats nothing
                policies = list(dict.fromkeys(t.breaker for t in idle))
                out.append((key, policies, len(idle) - len(distinct)))
        return out


def override(key: str, value) -> str:
    """``key=value`` as ``--set`` takes it (the value written as TOML)."""
    return f"{key}={_toml_value(value)}"


def column_value(value):
    """A parameter's value in the results table: numbers and strings as they are, a bool
    as it is, anything else (an array, a table) as its TOML text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return _toml_value(value)


def _toml_value(value) -> str:
    """``value`` as TOML text: as ``tomli_w`` writes it, except a table, which ``tomli_w``
    writes as a ``[v]`` section (its text after the first ``=`` was only its first value):
    an inline table, one line.  O(size of the value)."""
    if isinstance(value, dict):
        keys = [k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k)
                else _toml_value(k) for k in value]
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}"
                                for k, v in zip(keys, value.values())) + " }"
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def _list(where: str, value, default=None) -> list:
    if value is None and default is not None:
        return default
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list, got {value!r}")
    seen = set()
    for v in value:
        if _same(v) in seen:
            raise ConfigError(f"{where}: {v!r} is listed twice; expected each value once")
        seen.add(_same(v))
    return value


def _same(value) -> str:
    """What makes two values one: their repr, a number's read as a decimal (``5`` and
    ``5.0`` are one value of a key: the scenario reads both as ``Decimal(5)``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(Decimal(repr(value)).normalize())     # nan, inf: refused at load
    return repr(value)


def _scenario(where: str, value, base: pathlib.Path) -> tuple[str, str]:
    """(as written, what to load): a bundled name stays a name; a path is taken relative
    to the grid file's directory."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a bundled scenario name or a .toml path, "
                          f"got {value!r}")
    p = pathlib.Path(value)
    if not p.suffix and (REPLAYS / f"{value}.toml").is_file():
        return value, value
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise ConfigError(f"{where}: no such scenario file {value!r} (looked for {p})")
    return value, str(p.resolve())


def _breaker(where: str, value) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a policy name, got {value!r}")
    try:
        return "+".join(split_names(value))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).partition(': ')[2]}") from None


def _seed(where: str, value) -> int:
    return integer(where, value, 0, 2**63 - 1)


def _params(where: str, table) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of KEY = value, got {table!r}")
    for key in table:
        parts = key.split(".")
        if not all(p.strip() for p in parts):
            raise ConfigError(f"{where}.{key}: expected a dotted scenario or policy key "
                              f"(e.g. makers.count or breaker.luld.band_pct)")
    return table


def read(path) -> Grid:
    """The validated grid of ``path`` (module docstring).  Raises ``ConfigError``."""
    src = pathlib.Path(path)
    where = str(path)
    data = read_toml(src, where, "a grid")
    extra = sorted(set(data) - {"sweep"})
    if extra or not isinstance(data.get("sweep"), dict):
        raise ConfigError(f"{where}: {extra[0] if extra else 'sweep'}: expected one [sweep] "
                          f"table (scenarios, breakers, seeds, scale, set or runs)")
    sw = data["sweep"]
    unknown = sorted(set(sw) - _SWEEP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: sweep.{unknown[0]}: unknown key; expected one of "
                          f"{', '.join(sorted(_SWEEP_KEYS))}")
    base = src.resolve().parent
    scenarios = [_scenario(f"{where}: sweep.scenarios[{k}]", v, base)
                 for k, v in enumerate(_list(f"{where}: sweep.scenarios", sw.get("scenarios"),
                                             [] if "runs" in sw else None))]
    breakers = [_breaker(f"{where}: sweep.breakers[{k}]", v)
                for k, v in enumerate(_list(f"{where}: sweep.breakers", sw.get("breakers"),
                                            ["none"]))]
    seeds = [_seed(f"{where}: sweep.seeds[{k}]", v)
             for k, v in enumerate(_list(f"{where}: sweep.seeds", sw.get("seeds"), [0]))]
    for name, values in (("breakers", breakers), ("seeds", seeds)):
        if len(set(values)) != len(values):
            raise ConfigError(f"{where}: sweep.{name}: a value is listed twice (after "
                              f"normalising); expected each once")
    scale = scale_ratio(f"{where}: sweep.scale", sw.get("scale", 1))
    if "set" in sw and "runs" in sw:
        raise ConfigError(f"{where}: sweep.runs: expected [sweep.set] or [[sweep.runs]], "
                          f"not both")
    rows = _rows(where, sw, scenarios, breakers, seeds, base)
    keys = list(dict.fromkeys(k for *_, params in rows for k, _ in params))
    tasks = tuple(Task(i, sc[0], sc[1], b, s, scale, p) for i, (sc, b, s, p) in enumerate(rows))
    seen: dict = {}
    for t in tasks:
        ident = (t.path, t.breaker, t.seed, tuple((k, _same(v)) for k, v in t.params))
        if ident in seen:
            raise ConfigError(f"{where}: sweep: run {t.run} repeats run {seen[ident]} "
                              f"({t.scenario}, {t.breaker}, seed {t.seed}); expected each once")
        seen[ident] = t.run
    _validate(where, tasks)
    return Grid(where, tasks, tuple(keys))


def _rows(where, sw, scenarios, breakers, seeds, base) -> list:
    """(scenario, breaker, seed, params) in grid order (module docstring)."""
    if "runs" not in sw:
        table = _params(f"{where}: sweep.set", sw.get("set", {}))
        values = [[(k, v) for v in _list(f"{where}: sweep.set.{k}", vs)]
                  for k, vs in table.items()]
        _at_most(where, math.prod(map(len, values)) * len(scenarios) * len(breakers)
                 * len(seeds))
        return [(sc, b, s, tuple(p)) for sc in scenarios for b in breakers
                for p in itertools.product(*values) for s in seeds]
    runs = sw["runs"]
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{where}: sweep.runs: expected one or more [[sweep.runs]] tables")
    out = []
    for k, row in enumerate(runs):
        at = f"{where}: sweep.runs[{k}]"
        unknown = sorted(set(row) - _ROW_KEYS)
        if unknown:
            raise ConfigError(f"{at}.{unknown[0]}: unknown key; expected one of "
                              f"{', '.join(sorted(_ROW_KEYS))}")
        scs = [_scenario(f"{at}.scenario", row["scenario"], base)] if "scenario" in row \
            else scenarios
        if not scs:
            raise ConfigError(f"{at}.scenario: expected a scenario (the row names none and "
                              f"[sweep] has no scenarios)")
        bs = [_breaker(f"{at}.breaker", row["breaker"])] if "breaker" in row else breakers
        ss = [_seed(f"{at}.seed", row["seed"])] if "seed" in row else seeds
        params = tuple(_params(f"{at}.set", row.get("set", {})).items())
        _at_most(where, len(out) + len(scs) * len(bs) * len(ss))
        out += [(sc, b, s, params) for sc in scs for b in bs for s in ss]
    return out


def _at_most(where: str, runs: int) -> None:
    """Refuse a grid of more than ``MAX_RUNS`` runs from its count, before its rows are
    built (a product of a few long lists would not fit in memory).  O(1)."""
    if runs > MAX_RUNS:
        raise ConfigError(f"{where}: sweep: {runs:,} runs; expected at most {MAX_RUNS:,}")


def _validate(where: str, tasks) -> None:
    """Load every distinct (scenario, overrides) once: a bad key or value fails here."""
    done = set()
    for t in tasks:
        key = (t.path, tuple(t.overrides))
        if key in done:
            continue
        done.add(key)
        try:
            sc = load(t.path, t.overrides, t.scale)
            if sc.run.get("data"):
                raise ConfigError(f"{t.path}: a recorded run's scenario (run.data) replays "
                                  f"only as itself (liqsim replay FILE); a sweep cannot "
                                  f"scale or --set it")
        except ConfigError as exc:
            # an array parameter's TOML text spans lines: one line, as every error
            raise ConfigError(" ".join(f"{where}: run {t.run} ({t.scenario}, "
                                       f"{', '.join(t.overrides) or 'no overrides'}): "
                                       f"{exc}".split())) from None
