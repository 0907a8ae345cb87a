"""The notebook API: ``engine.run(scenario, breaker=None, seed=None, scale=1.0)``.

``scenario`` is a bundled name (``"flash-drop"``), a path to a TOML file, or a
``Scenario``.  ``breaker`` and ``seed`` default to the scenario's ``[run]`` table (a saved
run's ``scenario.toml`` replays that run), else no breaker and seed 0.  Returns a
``RunResult`` with ``.summary`` (dict), ``.timeseries`` and ``.events`` (pyarrow tables) and
``.save(dir)``; ``engine.compare(scenario, breakers=[...])`` runs several policies.
"""
from __future__ import annotations

from fractions import Fraction

from .config import ConfigError
from .outputs.facts import RunView, facts_summary, score
from .outputs.liqmap import liquidation_levels
from .outputs.progress import Progress
from .outputs.progress import enabled as progress_enabled
from .outputs.metrics import build_timeseries, summarize
from .outputs.results import RunResult
from .outputs.timing import stopwatch
from .scenarios.scenario import Scenario, load, scale_scenario
from .simulation import Simulation


def _fraction(scale) -> Fraction:
    if isinstance(scale, float):
        return Fraction(repr(scale))
    try:
        return Fraction(scale)
    except (TypeError, ValueError):
        raise ConfigError(f"--scale: expected a number in (0, 1], got {scale!r}") from None


def run(scenario, breaker: str | None = None, seed: int | None = None, scale=1,
        overrides: list[str] = (), progress: bool = False) -> RunResult:
    """Replay ``scenario`` under ``breaker`` with ``seed``; see the module docstring.
    ``progress``: a bar on standard error while it runs, if that is a terminal
    (``engine.outputs.progress``; results are the same either way)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"seed: expected an integer >= 0, got {seed!r}")
    f = _fraction(scale)
    if isinstance(scenario, Scenario):
        if overrides:
            raise ConfigError("overrides: apply them when loading "
                              "(engine.scenarios.scenario.load)")
        sc = scale_scenario(scenario, f)
    else:
        sc = load(str(scenario), list(overrides), f)
    if breaker is None:
        breaker = sc.run.get("breaker")
    if seed is None:
        seed = sc.run.get("seed", 0)
    elapsed = stopwatch()
    sim = Simulation(sc, breaker=breaker, seed=seed)
    # The seeded population's liquidation prices, read before the first event (read-only:
    # the log is the same without it; engine.outputs.liqmap).
    levels = liquidation_levels(sim.exchange)
    bar = None
    if progress and progress_enabled():
        bar = sim.progress = Progress(sc.meta.duration_s, f"{sc.meta.name} {sim.breaker_name} "
                                                          f"seed {seed}")
    try:
        sim.run()
    finally:
        if bar is not None:
            bar.close()
    events = sim.log.to_array(copy=False)
    wall = elapsed()
    interval = sc.meta.sample_interval_s * 1_000_000_000
    table = build_timeseries(sim.sampler, events, interval, baseline_end_ns=sim.baseline_end_ns,
                             vacuum_fraction=sc.meta.vacuum_fraction)
    summary = summarize(table, events, scenario=sc.meta.name, breaker=sim.breaker_name,
                        seed=seed, instrument=sim.instrument,
                        index_start_ticks=sim.index_at(sim.baseline_end_ns),
                        baseline_end_ns=sim.baseline_end_ns,
                        insurance_fund_start=sim.insurance_fund_start, wall_seconds=wall)
    summary.update(sim.breaker.counters())
    # The scale relative to the file the scenario first came from: a saved run's file holds
    # values already scaled by its [run].scale.
    total = Fraction(sc.run.get("scale", 1)) * f
    summary["scale"] = float(total)
    summary["toy"] = sc.meta.toy
    resolved = sc.resolved()
    resolved["run"] = dict(breaker=sim.breaker_name, seed=seed,
                           scale=str(total) if total.denominator != 1 else int(total))
    # The stylized facts, scored from what the run recorded (engine.outputs.facts).
    summary.update(facts_summary(score(RunView(summary, table, events, resolved))))
    return RunResult(summary=summary, timeseries=table, events=events,
                     scenario_resolved=resolved, levels=levels)


def compare(scenario, breakers=("none",), seed: int | None = None, scale=1,
            overrides: list[str] = (), seeds=None, progress: bool = False):
    """``run`` once per policy in ``breakers`` (names, or one comma-separated string) and
    per seed in ``seeds`` (default: ``[seed]``): a ``engine.outputs.comparison.Comparison``
    with ``.plot()``, ``.to_pandas()`` and ``.save(dir)``."""
    from .breakers import parse_policy_list
    from .outputs.comparison import Comparison
    names = parse_policy_list(breakers if isinstance(breakers, str) else ",".join(breakers))
    seeds = list(seeds) if seeds is not None else [seed]
    return Comparison({name: [run(scenario, breaker=name, seed=s, scale=scale,
                                  overrides=overrides, progress=progress) for s in seeds]
                       for name in names})
