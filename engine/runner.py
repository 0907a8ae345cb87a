"""The notebook API: ``engine.run(scenario, breaker=None, seed=None, scale=1.0)``.

``scenario`` is a bundled name (``"flash-drop"``), a path to a TOML file, or a
``Scenario``.  ``breaker`` and ``seed`` default to the scenario's ``[run]`` table (a saved
run's ``scenario.toml`` replays that run), else no breaker and seed 0.  Returns a
``RunResult`` with ``.summary`` (dict), ``.timeseries`` and ``.events`` (pyarrow tables) and
``.save(dir)``; ``engine.compare(scenario, breakers=[...])`` runs several policies.
"""
from __future__ import annotations

import glob
import os
import signal
from fractions import Fraction

import numpy as np

from .config import ConfigError
from .outputs.facts import READ_KINDS, RunView, facts_summary, merge_targets, score
from .outputs.liqmap import liquidation_levels
from .outputs.metrics import (KINDS_READ, SUMMARY_KEYS, adl_summary, build_timeseries,
                              rows_of_kinds, summarize)
from .outputs.progress import Progress
from .outputs.progress import enabled as progress_enabled
from .outputs.results import RunResult
from .outputs.timing import stopwatch
from .scenarios.catalogue import time_statement
from .scenarios.scenario import Scenario, from_dict, load, scale_scenario
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
        if sc.run.get("data"):              # a recorded run's scenario.toml: re-read its data
            return _rerun_recorded(str(scenario), sc, breaker, seed, overrides, f)
    if breaker is None:
        breaker = sc.run.get("breaker")
    if seed is None:
        seed = sc.run.get("seed", 0)
    _targets(sc)                # a bad [expect] threshold fails before the run, not after
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
    result = _result(sim, sc, seed, Fraction(sc.run.get("scale", 1)) * f, elapsed(), levels)
    sim.close()         # freed now, not by the next run's collection (docs/performance.md)
    return result


def _targets(sc) -> dict | None:
    """The event's fact thresholds (``[expect] targets``), checked against the facts'
    names (``engine.outputs.facts.merge_targets``); None without an ``[expect]``."""
    if sc.expect is None:
        return None
    try:
        merge_targets(sc.expect.targets)
    except ValueError as exc:
        raise ConfigError(f"{sc.source_path}: expect.targets: {exc}") from None
    # A bound needs a number to hold: keys whose unit is a string, a flag or a table are out.
    unknown = sorted(k for k in sc.expect.summary
                     if SUMMARY_KEYS.get(k, "str").split(":")[0] in ("str", "bool", "dict"))
    if unknown:
        raise ConfigError(f"{sc.source_path}: expect.summary.{unknown[0]}: expected a numeric "
                          f"summary key (docs/columns.md)")
    return sc.expect.targets or None


def _result(sim, sc, seed: int, total: Fraction, wall: float, levels=None,
            feed=None) -> RunResult:
    """A finished run's time series, summary and facts (``total``: its scale relative to
    the file the scenario first came from; ``feed``: a recorded run's ``feed_meta``)."""
    events = sim.log.to_array(copy=False)
    # The rows any output reads, selected once (each output selects its own kinds again,
    # from these): a pass over the whole log each costs more (docs/performance.md).
    read = rows_of_kinds(events, np.union1d(KINDS_READ, READ_KINDS))
    interval = sc.meta.sample_interval_s * 1_000_000_000
    table = build_timeseries(sim.sampler, read, interval, baseline_end_ns=sim.baseline_end_ns,
                             vacuum_fraction=sc.meta.vacuum_fraction, feed=feed)
    summary = summarize(table, read, scenario=sc.meta.name, breaker=sim.breaker_name,
                        seed=seed, instrument=sim.instrument,
                        index_start_ticks=sim.index_at(sim.baseline_end_ns),
                        baseline_end_ns=sim.baseline_end_ns,
                        insurance_fund_start=sim.insurance_fund_start, wall_seconds=wall,
                        events_processed=len(events),
                        time_compression=sc.meta.time_compression)
    summary.update(sim.breaker.counters())
    liq = sim.exchange.liquidation_state       # None if nothing was ever liquidated
    summary.update(adl_summary(liq.adl_closes if liq else (),
                               liq.negative_equity if liq else (), sim.instrument,
                               counterfactual=liq.counterfactual if liq else None))
    # ``total``: the scale relative to the file the scenario first came from (a saved run's
    # file holds values already scaled by its [run].scale).
    summary["scale"] = float(total)
    summary["toy"] = sc.meta.toy
    summary["time"] = time_statement(sc.meta.time_compression, sc.meta.duration_s)
    resolved = sc.resolved()
    resolved["run"] = dict(breaker=sim.breaker_name, seed=seed,
                           scale=str(total) if total.denominator != 1 else int(total))
    # The stylized facts, scored from what the run recorded (engine.outputs.facts).
    summary.update(facts_summary(score(RunView(summary, table, read, resolved),
                                       _targets(sc))))
    return RunResult(summary=summary, timeseries=table, events=events,
                     scenario_resolved=resolved, levels=levels)


def _rerun_recorded(path: str, sc, breaker, seed, overrides, scale) -> RunResult:
    """``run`` of a recorded run's saved ``scenario.toml``: ``run_recorded`` on the files
    its ``[run].data`` names (paths as given to ``replay --data``, so relative to the
    directory that command ran in), with the saved file as the participants."""
    if overrides or scale != 1:
        raise ConfigError(f"{path}: a recorded run (run.data) replays with neither --set "
                          f"nor --scale")
    for name in sc.run["data"]:
        if not os.path.isfile(name):
            raise ConfigError(f"{path}: run.data: {name}: no such file (the path as given to "
                              f"replay --data: relative to the directory it ran in)")
    return run_recorded(sc.run["data"], breaker=breaker, scenario=path, seed=seed,
                        allow_gaps=sc.run.get("allow_gaps", False))


def _notices(paths) -> dict:
    """The licence notice files (LICENSE*, LICENCE*, NOTICE*, COPYING*) beside each
    recorded file, by file, paths written as the file's was: for the report."""
    out = {}
    for path in map(str, paths):
        folder = os.path.dirname(path)
        found = sorted({os.path.join(folder, os.path.basename(n)) for pattern in
                        ("LICENSE*", "LICENCE*", "NOTICE*", "COPYING*")
                        for n in glob.glob(os.path.join(glob.escape(folder or "."), pattern))})
        if found:
            out[path] = found
    return out


def run_recorded(paths, breaker: str | None = None, scenario=None, seed: int | None = None,
                 allow_gaps: bool = False) -> RunResult:
    """The counterfactual replay of recorded data (``liqsim replay --data``): the recorded
    book, trades, liquidations, index and mark (``engine.market.recorded``) on a venue under
    ``breaker``, with ``scenario``'s participants on top if given (its duration, index and
    instrument come from the data).  The summary's ``recorded`` table states the sources,
    the counts and the approximations; the result carries the emulator's own liquidations as
    forceOrder-style feeds (``engine.outputs.forceorders``)."""
    from .market.recorded import plan, attach
    from .outputs.forceorders import force_order_files
    from .outputs.metrics import feed_meta
    from .venue.accounts import RECORDED_LIQUIDATED
    p = plan(list(paths), allow_gaps)
    sc = _recorded_scenario(p, scenario)
    if breaker is None:
        breaker = sc.run.get("breaker")
    if seed is None:
        seed = sc.run.get("seed", 0)
    elapsed = stopwatch()
    sim = Simulation(sc, breaker=breaker, seed=seed)
    market = attach(sim, p)
    sim.run()
    result = _result(sim, sc, seed, Fraction(1), elapsed(),
                     feed=feed_meta(market.snapshots, market.void_ns, market.mid_index))
    result.summary["recorded"] = p.metadata(market)
    result.summary["recorded"]["notices"] = _notices(p.paths)
    # What reproduces the run, in its scenario.toml ([run]): the files and flags as given;
    # the population's file only informational (the saved file holds its participants).
    # The index path holds the data's start price, so that file loads (runner.run).
    run_table = result.scenario_resolved["run"]
    run_table.update(data=[str(x) for x in paths], allow_gaps=bool(allow_gaps))
    # A saved recorded scenario (run.data) carries its own population's name, or none.
    population = sc.run.get("population") if sc.run.get("data") else \
        None if scenario is None else str(scenario)
    if population is not None:
        run_table["population"] = population
    result.scenario_resolved["index"]["path"] = [[0, str(p.start_decimal)]]
    result.extras.update(force_order_files(result.events_array, sim.instrument,
                                           exclude=(RECORDED_LIQUIDATED,), epoch_ns=p.t0))
    return result


#: Why an empty recorded run's fund reads 1,000,000: no recorded feed carries the venue's
#: fund, so it is the scenario default, and nothing draws on it without participants.
RECORDED_FUND_SOURCE = ("assumed: the data has no insurance fund; 1,000,000 quote units, the "
                        "scenario default (only --scenario participants can draw on it)")


def _recorded_scenario(p, path=None) -> Scenario:
    """A recorded run's scenario: ``path``'s participants (its instrument must be the
    data's) over the data's window (``p``, ``engine.market.recorded.Plan``) and start price,
    else a venue with nothing but the recorded world.
    assumed: recorded data names no event instant, so the baseline is its first fifth."""
    d = p.duration_s
    price = str(p.start_decimal)
    if path is None:
        return from_dict({"scenario": {"name": f"recorded:{p.name()}",
                                       "description": "a counterfactual replay of recorded "
                                       "market data", "duration_s": d, "event_start_s": d // 5},
                          "venue": {"instrument": p.key, "insurance_fund": "1000000"},
                          "index": {"start": price}, "makers": {"count": 0},
                          "traders": {"count": 0},
                          "sources": {"venue.insurance_fund": RECORDED_FUND_SOURCE}},
                         "--data")
    sc = load(str(path), [f"scenario.duration_s={d}", f"scenario.event_start_s={d // 5}",
                          f'index.start="{price}"', f'index.path=[[0, "{price}"]]',
                          "index.noise_bps=0"])
    if sc.venue.instrument != p.key:
        raise ConfigError(f"{path}: venue.instrument: expected the recorded data's "
                          f"instrument {p.key!r}, got {sc.venue.instrument!r}")
    return sc


def record_flow(scenario, seed: int = 0, scale=1, overrides: list[str] = ()):
    """The exact ``submit``/``cancel`` calls that reached the book in one run of
    ``scenario`` (``Exchange.flow_recorder``), and the run's event count: the book-alone
    workload of ``liqsim bench`` (``engine.sweeps.bench``).  The run is the same as
    ``run``'s with these arguments (the recorder only appends tuples)."""
    sim = Simulation(load(str(scenario), list(overrides), _fraction(scale)), seed=seed)
    sim.exchange.flow_recorder = flow = []
    sim.run()
    return flow, len(sim.log)


def compare(scenario, breakers=("none",), seed: int | None = None, scale=1,
            overrides: list[str] = (), seeds=None, progress: bool = False,
            workers: int = 1, done=None):
    """``run`` once per policy in ``breakers`` (names, or one comma-separated string) and
    per seed in ``seeds`` (default: ``[seed]``): a ``engine.outputs.comparison.Comparison``
    with ``.plot()``, ``.to_pandas()`` and ``.save(dir)``.

    ``workers`` > 1 runs them in that many local processes (at most one per run), each
    run whole in one process, so the results are the runs' own whatever the number (each
    is deterministic from scenario, policy, seed, scale and overrides); memory is then about
    one run's peak per worker.  ``progress`` bars only run one at a time; with workers,
    ``done(name, seed, finished, total)`` is told as each run finishes (the scenario is
    loaded here first, so a bad one raises before any process starts)."""
    from .breakers import parse_policy_list
    from .outputs.comparison import Comparison
    names = parse_policy_list(breakers if isinstance(breakers, str) else ",".join(breakers))
    seeds = list(seeds) if seeds is not None else [seed]
    tasks = [(name, s) for name in names for s in seeds]
    if workers <= 1 or len(tasks) == 1:
        return Comparison({name: [run(scenario, breaker=name, seed=s, scale=scale,
                                      overrides=overrides, progress=progress) for s in seeds]
                           for name in names})
    if not isinstance(scenario, Scenario):
        load(str(scenario), list(overrides), _fraction(scale))     # ConfigError, here
    from concurrent.futures import ProcessPoolExecutor, as_completed
    results: dict[tuple, RunResult] = {}
    pool = ProcessPoolExecutor(min(workers, len(tasks)), initializer=_quiet_interrupt)
    try:
        futures = {pool.submit(run, scenario, name, s, scale, list(overrides)): (name, s)
                   for name, s in tasks}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if done is not None:
                done(*futures[future], len(results), len(tasks))
    except BaseException:       # a failed run or an interrupt: the others are not waited for
        _end(pool)
        raise
    pool.shutdown()
    return Comparison({name: [results[name, s] for s in seeds] for name in names})


def _quiet_interrupt() -> None:
    """A compare worker's start: Ctrl-C is the parent's (it ends the workers), so a
    worker waiting for its next run prints no traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _end(pool) -> None:
    """End a compare's pool now: the runs not started are cancelled and the processes of
    those running terminated (``shutdown`` alone lets them run to their end, minutes for a
    full-scale run, before the interpreter may exit).  ``_processes`` is the executor's
    own table of its workers (CPython 3.8+)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(5)


def compare_recorded(paths, breakers=("none",), scenario=None, seeds=(None,),
                     allow_gaps: bool = False):
    """``run_recorded`` once per policy in ``breakers`` and per seed in ``seeds`` (None: the
    scenario's, else 0): the ``Comparison`` of ``liqsim compare --data``, as ``compare``."""
    from .breakers import parse_policy_list
    from .outputs.comparison import Comparison
    names = parse_policy_list(breakers if isinstance(breakers, str) else ",".join(breakers))
    return Comparison({name: [run_recorded(paths, breaker=name, scenario=scenario, seed=s,
                                           allow_gaps=allow_gaps) for s in seeds]
                       for name in names})
