"""The ``liqsim`` command.

    liqsim replay SCENARIO [--breaker NAME] [--seed N] [--scale F] [--set KEY=VALUE ...] --out DIR
    liqsim replay --data PATH... [--breaker NAME] [--scenario FILE] [--allow-gaps] --out DIR
    liqsim compare SCENARIO --breakers none,luld,... [--seed N] [--scale F] [--workers N] --out DIR
    liqsim compare --data PATH... --breakers none,luld,... [--scenario FILE] [--allow-gaps] --out DIR
    liqsim sweep GRID.toml --out DIR [--workers N] [--scheduler ADDRESS] [--resume]
    liqsim bench [--quick] [--json]   the throughput measurements (engine.sweeps.bench)
    liqsim facts RUN_DIR [--against RUN_DIR]
    liqsim report DIR                 rebuild DIR/report.html from the saved runs
    liqsim account RUN_DIR ID         one account's story from the saved event log
    liqsim list
    liqsim demo --out DIR
    liqsim data inspect PATH... [--json]

Exit codes: 0 success, 2 bad input (one line on stderr naming the file, field or flag and
what was expected; no traceback, no partial output), 1 an internal error, or a sweep with a
run not ok (everything written, then one line on stderr: how many failed, where to look).
Every output is written atomically (``engine.outputs.atomic``).
"""
from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

from .config import ConfigError, decimal
from .outputs.atomic import atomic_dir, check_out, write_json


class _Parser(argparse.ArgumentParser):
    """argparse with the project's bad-input contract: one line on stderr, exit 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"liqsim: error: {message}\n")


def _seed(text: str) -> int:
    try:        # ASCII digits only: int() also reads other scripts' digits and "1_0"
        value = int(text) if text.strip().isdecimal() and text.isascii() else -1
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


MAX_SEEDS = 1000


def _seeds(text: str) -> list[int]:
    """``0-4`` (a range, both ends included), ``1,5,9`` or a mix (``0-2,7``): distinct seeds."""
    out: list[int] = []
    for item in text.split(","):
        lo, dash, hi = item.strip().partition("-")
        try:
            first = _seed(lo)
            last = _seed(hi) if dash else first
        except argparse.ArgumentTypeError:
            first, last = 0, -1
        if last < first or last - first >= MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"expected seeds as N, N-M or a comma list of "
                                             f"those (at most {MAX_SEEDS}), got {text!r}")
        out += range(first, last + 1)
    if len(set(out)) != len(out) or len(out) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"expected distinct seeds (at most {MAX_SEEDS}), "
                                         f"got {text!r}")
    return out


def _scale(text: str) -> Fraction:
    try:        # a decimal of sane size (config.decimal), or a ratio "a/b" of short ints
        if not text.isascii():
            value = Fraction(0)
        elif "/" in text and len(text) <= 40:
            value = Fraction(text)
        else:
            value = Fraction(decimal("--scale", text))
    except (ValueError, ZeroDivisionError):
        value = Fraction(0)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text) if text.strip().isdecimal() and text.isascii() else 0
    except ValueError:
        value = 0
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 1024, got {text!r}")
    return value


def _out(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory path, got an empty one")
    return text


def _path(text: str) -> str:
    """An input path (or a bundled name): not empty -- "" reads as the current directory,
    and an error about it named no file, or blamed --out."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file or directory path, got an empty one")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liqsim", description="Exchange liquidation-engine emulator: a limit "
                     "order book and a margin/liquidation engine in one loop.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = sub.add_parser("replay", help="replay a scenario; writes summary.json, "
                            "timeseries.parquet, events.parquet, scenario.toml, timeline.png, "
                            "liquidation_levels.parquet and report.html (report.json: how "
                            "to rebuild it) to --out")
    replay.add_argument("scenario", nargs="?", default=None, type=_path,
                        help="a bundled scenario name (see 'liqsim list') or a path to a "
                        ".toml file (not with --data)")
    replay.add_argument("--data", nargs="+", metavar="PATH", default=None, type=_path,
                        help="replay recorded market data instead (engine.data): its book, "
                        "trades, liquidations, index and mark; also writes "
                        "forceorders-latest.txt and forceorders-largest.txt")
    replay.add_argument("--scenario", dest="data_scenario", metavar="FILE", default=None,
                        type=_path,
                        help="with --data: a scenario whose participants trade on top")
    replay.add_argument("--allow-gaps", action="store_true",
                        help="with --data: replay across update-id gaps (the recorded book "
                        "resyncs at the next snapshot or stops there)")
    replay.add_argument("--breaker", default=None,
                        help="circuit-breaker policy, or several joined by '+' (default: the "
                        "scenario's [run].breaker, else none)")
    replay.add_argument("--seed", type=_seed, default=None,
                        help="random seed (default: the scenario's [run].seed, else 0)")
    replay.add_argument("--scale", type=_scale, default=Fraction(1),
                        help="0 < F <= 1: shrink population, flows and depth together")
    replay.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a scenario key, e.g. "
                        "traders.count=1000 (repeatable)")
    replay.add_argument("--out", type=_out, required=True, help="output directory")
    replay.add_argument("--quiet", action="store_true", help="no progress bar (it is shown on "
                        "standard error only when that is a terminal)")

    compare = sub.add_parser("compare", help="replay one scenario under several breaker "
                             "policies; writes one run per policy (replay's files), "
                             "comparison.json, comparison.png and report.html (report.json: "
                             "how to rebuild it) to --out")
    compare.add_argument("scenario", nargs="?", default=None, type=_path,
                         help="a bundled scenario name or a .toml file (not with --data)")
    compare.add_argument("--data", nargs="+", metavar="PATH", default=None, type=_path,
                         help="compare on recorded market data instead (as replay --data)")
    compare.add_argument("--scenario", dest="data_scenario", metavar="FILE", default=None,
                         type=_path,
                         help="with --data: a scenario whose participants trade on top")
    compare.add_argument("--allow-gaps", action="store_true",
                         help="with --data: replay across update-id gaps")
    compare.add_argument("--breakers", default="none",
                         help="comma-separated policies; '+' composes, e.g. none,luld+liq-pause")
    seeds = compare.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, default=None)
    seeds.add_argument("--seeds", type=_seeds, default=None, metavar="SEEDS",
                       help="run each policy over several seeds (0-4, or 1,5,9) and show the "
                       "mean and min-max of every row")
    compare.add_argument("--scale", type=_scale, default=Fraction(1))
    compare.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE")
    compare.add_argument("--out", type=_out, required=True)
    compare.add_argument("--workers", type=_workers, default=None, metavar="N",
                         help="local processes running the runs side by side (default: the "
                         "cores, at most one per run; results do not depend on it; memory "
                         "is about one run's per worker)")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")

    sweep = sub.add_parser("sweep", help="run a grid of replays (scenarios x policies x "
                           "parameters x seeds, engine.sweeps.grid) on local processes or a "
                           "Dask cluster; writes results.parquet, results.csv, sweep.png and "
                           "report.html to --out (liqsim report DIR rebuilds the report); "
                           "exit 1 if a run failed")
    sweep.add_argument("grid", metavar="GRID.toml", type=_path,
                       help="the grid file ([sweep] table)")
    sweep.add_argument("--out", type=_out, required=True, help="output directory")
    sweep.add_argument("--workers", type=_workers, default=None, metavar="N",
                       help="local worker processes (default: the machine's cores)")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a Dask scheduler (tcp://host:8786) whose workers run the "
                       "replays (default: $DASK_SCHEDULER_ADDRESS if set and no --workers); "
                       "needs pip install 'liqsim[cluster]'")
    sweep.add_argument("--resume", action="store_true",
                       help="continue a sweep in --out: run only the rows not finished ok")
    sweep.add_argument("--quiet", action="store_true", help="no line per finished run")

    bench = sub.add_parser("bench", help="the throughput measurements, each a ratio timed "
                           "in the same run: book vs plain reference, engine vs book and vs "
                           "the logged floor on bench-cascade, peak memory, 2 sweep workers "
                           "vs 1 (docs/performance.md)")
    bench.add_argument("--quick", action="store_true", help="the reduced bench-cascade and "
                       "smaller inputs: well under a minute")
    bench.add_argument("--json", action="store_true", help="print one JSON object")

    facts = sub.add_parser("facts", help="score a saved run against the 14 stylized facts "
                           "(docs/facts.md) and print the table")
    facts.add_argument("run_dir", metavar="RUN_DIR", type=_path, help="a run directory "
                       "written by replay or compare (summary.json, timeseries.parquet, "
                       "events.parquet, scenario.toml)")
    facts.add_argument("--against", metavar="RUN_DIR", default=None, type=_path,
                       help="a second run to print beside it (e.g. the same scenario without "
                       "breaker: fact 13 then compares with it; warns when the two differ in "
                       "more than the breaker: seed, scale or a scenario setting)")

    report = sub.add_parser("report", help="rebuild DIR/report.html (the self-contained HTML "
                            "report replay and compare write) from the runs saved in DIR")
    report.add_argument("run_dir", metavar="DIR", type=_path,
                        help="a directory written by replay or compare")

    account = sub.add_parser("account", help="one account's story from a saved run's event "
                             "log: positions, margin, orders, liquidation, ADL, funding")
    account.add_argument("run_dir", metavar="RUN_DIR", type=_path, help="a run directory "
                         "(summary.json, events.parquet, ...); for a comparison, one "
                         "policy's directory")
    account.add_argument("account_id", metavar="ID", type=_seed, help="the account id")

    sub.add_parser("list", help="list bundled scenarios and breaker policies with their "
                   "parameters")
    sub.add_parser("columns", help="every column of the time series and the event log, with "
                   "its unit and meaning (docs/columns.md)")

    data = sub.add_parser("data", help="recorded market data (engine.data): 'liqsim data "
                          "inspect PATH...'")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    inspect = data_sub.add_parser("inspect", help="what is in recorded files: format, symbol, "
                                  "time range, messages by type, gaps, resyncs, crossed books, "
                                  "the top-of-book cross-check")
    inspect.add_argument("paths", nargs="+", metavar="PATH", type=_path)
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    demo = sub.add_parser("demo", help="seeded order-book demo: a liquidation-sized sell burst "
                                       "into a maker ladder; writes demo.json to --out DIR")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.add_argument("--out", type=_out, required=True, help="output directory")
    return parser


from .outputs.table import (CENSORED, SUMMARY_ROWS, _cell, _fmt, _seed_list,  # noqa: F401
                            not_measured, price_currency, row_label)


def print_table(summaries: list[dict]) -> None:
    """One column per run (breaker), one row per headline metric, then the legend: what
    each row counts and its unit.  A duration the run's end cut off reads "..., still open"."""
    heads = [s["breaker"] for s in summaries]
    s0 = summaries[0]
    q = s0.get("quote_currency", "quote")
    labels = [(key, row_label(key, label, s0), legend) for key, label, legend in SUMMARY_ROWS]
    width = max(len(label) for _, label, _ in labels) + 2
    cells = [[_cell(s, key) for key, _, _ in labels] for s in summaries]
    cols = [max(14, len(h) + 2, *(len(c) + 2 for c in column))
            for h, column in zip(heads, cells)]
    toy = " (TOY scenario)" if s0.get("toy") else ""
    seeds = s0.get("seeds")
    runs = f"seeds {_seed_list(seeds)}: mean (min-max)" if seeds else f"seed {s0['seed']}"
    p = price_currency(s0)
    print(f"{s0['scenario']}{toy}  {runs}  scale {s0.get('scale', 1)}  (money in {q}"
          + (f", prices in {p})" if p != q else ")"))
    print("breaker".ljust(width) + "".join(h.rjust(c) for h, c in zip(heads, cols)))
    for k, (_, label, _) in enumerate(labels):
        print(label.ljust(width) + "".join(column[k].rjust(c)
                                           for column, c in zip(cells, cols)))
    print("\nrows:")
    for _, label, legend in labels:
        print(f"  {label}: {legend}")
    unmeasured = not_measured(summaries)
    if unmeasured:
        names = {key: label for key, label, _ in labels}
        print("\nnot measured:")
        for key, why in unmeasured:
            print(f"  {names[key]}: {why}")
    from .outputs.facts import facts_table
    lines = facts_table(summaries)
    if lines:
        print()
        print("\n".join(lines))


def _warn_unused_breaker_sets(overrides: list[str], policies: list[str]) -> None:
    """One line on stderr for each ``--set breaker.NAME.KEY=V`` whose policy no run of this
    command uses (it is validated, and recorded, but changes nothing)."""
    used = {name for spec in policies for name in spec.split("+")}
    for item in overrides:
        parts = item.partition("=")[0].strip().split(".")
        if len(parts) >= 2 and parts[0] == "breaker" and parts[1] not in used:
            print(f"liqsim: warning: --set {item}: policy {parts[1]!r} is not used by this run "
                  f"({', '.join(policies)}); the setting changes nothing", file=sys.stderr)


def _cmd_replay(args) -> int:
    if args.data is not None:
        return _cmd_replay_data(args)
    if args.scenario is None or args.data_scenario is not None or args.allow_gaps:
        raise ConfigError("replay: expected a SCENARIO, or --data PATH... (--scenario and "
                          "--allow-gaps go with --data)")
    _not_data(args.scenario, "replay")
    from .runner import run
    result = run(args.scenario, breaker=args.breaker, seed=args.seed, scale=args.scale,
                 overrides=args.overrides, progress=not args.quiet)
    _warn_unused_breaker_sets(args.overrides, [result.summary["breaker"]])
    from .outputs.report import write_report
    with atomic_dir(args.out) as stage:       # the run and its report, all or nothing
        result.save(stage)
        write_report(stage, _command(args), shown=args.out)
    if "recorded" in result.summary:          # a recorded run's scenario.toml
        return _report_recorded(result, args.out)
    return _report([result.summary], f"wrote {args.out}/summary.json, timeseries.parquet, "
                                     f"events.parquet, scenario.toml, timeline.png, "
                                     f"liquidation_levels.parquet and report.html")


def _cmd_replay_data(args) -> int:
    """``replay --data``: the counterfactual replay of recorded data (``engine.runner.
    run_recorded``); bad data is one line, exit 2, nothing written."""
    if args.scenario is not None or args.overrides or args.scale != 1:
        raise ConfigError("replay --data: expected no SCENARIO, --set or --scale (give "
                          "participants with --scenario FILE)")
    from .runner import run_recorded
    result = run_recorded(args.data, breaker=args.breaker, scenario=args.data_scenario,
                          seed=args.seed, allow_gaps=args.allow_gaps)
    from .outputs.report import write_report
    with atomic_dir(args.out) as stage:       # the run and its report, all or nothing
        result.save(stage)
        write_report(stage, _command(args), shown=args.out)
    return _report_recorded(result, args.out)


def _report_recorded(result, out: str) -> int:
    rec = result.summary["recorded"]
    c = rec["counters"]
    code = _report([result.summary], f"wrote {out}/summary.json, timeseries.parquet, "
                                     f"events.parquet, scenario.toml, timeline.png, "
                                     f"forceorders-latest.txt, forceorders-largest.txt and "
                                     f"report.html")
    print(f"recorded: index = {rec['index_source']}; mark = {rec['mark_source']}")
    _recorded_counts(result.summary)
    return code


def _recorded_counts(summary: dict, who: str = "") -> None:
    rec = summary["recorded"]
    c = rec["counters"]
    print(f"{who}recorded liquidations: {c.get('liquidations_sent', 0)} sent, "
          f"{c.get('liquidations_unfilled', 0)} failed to fill "
          f"({c.get('liquidations_unfilled_lots', 0)} lots); recorded trades: "
          f"{c.get('trades_sent', 0)} sent, {c.get('trades_refused', 0)} refused, "
          f"{c.get('trades_unprinted', 0)} unprinted, "
          f"{c.get('trades_partly_unfilled', 0)} partly unfilled "
          f"({c.get('trades_lots', 0) - c.get('trades_filled_lots', 0)} lots), "
          f"{c.get('implied_lots', 0)} lots implied, {c.get('stale_levels_cleared', 0)} "
          f"stale levels cleared; gaps {len(rec['gaps'])}")


def _not_data(scenario: str, command: str) -> None:
    """A file given as SCENARIO that is not a .toml (a recorded capture): one line saying
    that recorded data goes with --data."""
    if os.path.isfile(scenario) and not scenario.lower().endswith(".toml"):
        raise ConfigError(f"{scenario}: expected a scenario (a .toml file or a bundled name); "
                          f"for recorded market data use liqsim {command} --data {scenario} "
                          f"... --out DIR")


def _cmd_compare(args) -> int:
    from concurrent.futures.process import BrokenProcessPool

    from .breakers import parse_policy_list
    from .runner import compare, compare_recorded
    names = parse_policy_list(args.breakers)
    _warn_unused_breaker_sets(args.overrides, names)
    seeds = args.seeds or [args.seed]
    if args.data is not None:
        if args.scenario is not None or args.overrides or args.scale != 1 or args.workers:
            raise ConfigError("compare --data: expected no SCENARIO, --set, --scale or "
                              "--workers (give participants with --scenario FILE; the runs "
                              "take turns)")
        comparison = compare_recorded(args.data, names, scenario=args.data_scenario,
                                      seeds=seeds, allow_gaps=args.allow_gaps)
    elif args.scenario is None or args.data_scenario is not None or args.allow_gaps:
        raise ConfigError("compare: expected a SCENARIO, or --data PATH... (--scenario and "
                          "--allow-gaps go with --data)")
    else:
        _not_data(args.scenario, "compare")
        runs = len(names) * len(seeds)
        workers = min(args.workers or os.cpu_count() or 1, runs)

        def done(name, seed, finished, total):
            if not args.quiet:
                print(f"liqsim: {name}{'' if seed is None else f' seed {seed}'} done "
                      f"({finished}/{total})", file=sys.stderr, flush=True)
        try:
            comparison = compare(args.scenario, names, scale=args.scale,
                                 overrides=args.overrides, seeds=seeds,
                                 progress=not args.quiet, workers=workers, done=done)
        except BrokenProcessPool:
            print(f"liqsim: error: compare: a worker process died (out of memory? each of the "
                  f"{workers} workers holds a run; try --workers 1); no output written",
                  file=sys.stderr)
            return 1
    comparison.save(args.out, _command(args))
    s0 = next(iter(comparison.results.values()))[0].summary
    code = _report(comparison.summaries,
                   f"wrote {args.out}/report.html, comparison.json, comparison.png and one "
                   f"directory per policy" + (f" (one run per seed; the chart shows seed "
                                              f"{s0['seed']})" if len(seeds) > 1 else ""))
    for name, rs in (comparison.results.items() if args.data is not None else ()):
        _recorded_counts(rs[0].summary, f"{name}: ")
    return code


def _cmd_sweep(args) -> int:
    """Validate the grid (one line, exit 2, nothing written), then run it; the table is
    kept up to date as runs finish, so an interrupted sweep keeps them (``--resume``).
    Exit 1 when a run of the final table is not ok (after writing everything), else 0."""
    from .sweeps.execute import RESULTS, sweep
    from .sweeps.grid import read
    grid = read(args.grid)
    total = len(grid.tasks)
    for key, policies, repeats in grid.ignored():
        print(f"liqsim: warning: {args.grid}: {key} changes nothing under "
              f"{', '.join(policies)}: {repeats} of the {total} runs repeat another; they "
              f"are drawn flat, as ignoring it", file=sys.stderr)

    def progress(done, _total, task, outcome):
        if not args.quiet:
            error = f": {outcome['error']}" if outcome["status"] != "ok" else ""
            print(f"[{done}/{total}] run {task.run} {task.scenario} {task.breaker} seed "
                  f"{task.seed}: {outcome['status']}{error}", file=sys.stderr)
    try:
        table = sweep(grid, args.out, workers=args.workers, scheduler=args.scheduler,
                      resume=args.resume, progress=progress)
    except KeyboardInterrupt:
        print(f"liqsim: interrupted; the finished runs are in {args.out}/{RESULTS} "
              f"(--resume continues)", file=sys.stderr)
        return 130
    statuses = table.column("status").to_pylist()
    bad = sum(s != "ok" for s in statuses)
    from .sweeps.execute import finish
    finish(args.out, table, _command(args))
    print(f"{len(statuses)} runs, {bad} failed" + (" (see the error column)" if bad else "")
          + f"; wrote {args.out}/{RESULTS}, results.csv, sweep.png and report.html")
    if bad:
        print(f"liqsim: {bad} of {len(statuses)} runs failed: see {args.out}/results.csv "
              f"(status, error)", file=sys.stderr)
    return 1 if bad else 0


#: (key, label, format) of ``liqsim bench``'s table.
_BENCH_ROWS = (("book_vs_reference", "book / plain reference (ops/s, workload A)", "{:.3f}x"),
               ("engine_events_per_second", "engine events/s (bench-cascade)", "{:,}"),
               ("engine_vs_book", "engine / bare book (time)", "{:.3f}x"),
               ("engine_vs_floor", "engine / logged floor (time)", "{:.3f}x"),
               ("floor_vs_book", "logged floor / bare book (time)", "{:.3f}x"),
               ("peak_rss_mb", "engine process peak RSS (MB)", "{:,}"),
               ("sweep_speedup_2_workers", "sweep: 2 workers / 1 (throughput)", "{:.3f}x"),
               ("machine_speedup_2_workers", "control: pure CPU work, 2 workers / 1", "{:.3f}x"))


def _cmd_bench(args) -> int:
    import json
    from .sweeps.bench import bench
    out = bench(quick=args.quick, progress=None if args.json else
                lambda text: print(f"... {text}", file=sys.stderr))
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    runs = {"book_vs_reference": "book_vs_reference_runs", "engine_vs_book":
            "engine_vs_book_runs", "engine_vs_floor": "engine_vs_floor_runs",
            "floor_vs_book": "floor_vs_book_runs",
            "sweep_speedup_2_workers": "sweep_speedup_runs",
            "machine_speedup_2_workers": "machine_speedup_runs"}
    print(f"liqsim bench{' --quick' if args.quick else ''}: {out['cascade']} bench-cascade "
          f"({out['engine_events']:,} events, {out['book_calls']:,} book calls); workload A "
          f"{out['workload_ops']:,} ops; sweep of {out['sweep_runs']} replays of "
          f"{out['sweep_scenario']}; {out['cpu_count']} cores (1-min load average "
          f"{out['load_average_start']} at the start, {out['load_average_end']} at the end: "
          f"other processes), Python {out['python']}")
    print(f"{'figure':<46}{'value':>12}  {'per repeat':<24}{'bar':<10}met")
    for key, label, fmt in _BENCH_ROWS:
        bar = out["bars"].get(key)
        spread = ", ".join(f"{x:.3f}" for x in out.get(runs.get(key), []))
        print(f"{label:<46}{fmt.format(out[key]):>12}  {spread:<24}"
              f"{bar['bar'] if bar else '':<10}{('yes' if bar['met'] else 'NO') if bar else ''}")
    return 0


def _report(summaries: list[dict], wrote: str) -> int:
    """Print the table once the files are written.  A standard output that cannot be
    written (full, closed) loses only the table: said so on stderr, exit 1 (a reader that
    went away -- ``| head`` -- is not an error: see ``main``)."""
    try:
        print_table(summaries)
        print(wrote)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        print(f"liqsim: error: standard output: {exc.strerror or exc} (the files are "
              f"written)", file=sys.stderr)
        return 1
    return 0


#: Tables of a resolved scenario that may differ between two runs compared by ``facts
#: --against`` without the difference being more than the breaker's: the run's own policy,
#: seed and scale, every policy's parameters, and the sources (no effect on a run).
_RUN_ONLY = frozenset(("run", "breaker", "sources"))


def _cmd_facts(args) -> int:
    """Score saved runs afresh (the saved summary's ``facts`` are not read) and print one
    column per run.  A missing or unreadable input: one line, exit 2."""
    from .outputs.facts import RunInputError, RunView, facts_summary, facts_table, score
    try:
        views = [RunView.load(d) for d in (args.run_dir, args.against) if d is not None]
    except RunInputError as exc:
        print(f"liqsim: error: {exc}", file=sys.stderr)
        return 2
    if len(views) == 2:     # fact 13 would read a seed's difference as the breaker's
        a, b = (v.summary for v in views)
        differ = [f"{key} {a.get(key)} vs {b.get(key)}" for key in ("scenario", "seed", "scale")
                  if a.get(key) != b.get(key)]
        if a.get("scenario") == b.get("scenario"):   # a --set of one run (not its breaker's)
            sa, sb = (v.scenario for v in views)
            tables = sorted(k for k in {*sa, *sb} if k not in _RUN_ONLY and sa.get(k) != sb.get(k))
            if tables:
                differ.append("the scenario's " + ", ".join(f"[{k}]" for k in tables))
        if differ:
            print(f"liqsim: warning: {args.run_dir} and {args.against} differ in "
                  f"{', '.join(differ)}: their difference is not the breaker's alone",
                  file=sys.stderr)
    summaries = []
    for k, view in enumerate(views):
        other = views[1 - k] if len(views) == 2 else None
        summaries.append({"breaker": view.summary["breaker"],
                          **facts_summary(score(view, against=other))})
    s0 = views[0].summary
    print(f"{s0.get('scenario', '?')}  seed {s0.get('seed', '?')}  scale {s0.get('scale', 1)}"
          + "".join(f"  |  {d}" for d in (args.run_dir, args.against) if d is not None))
    print("\n".join(facts_table(summaries)))
    return 0


def _command(args) -> str:
    """The command line as typed (``liqsim`` and its arguments), shell-quoted."""
    import shlex
    return shlex.join(["liqsim", *args.argv])


def _cmd_report(args) -> int:
    """Rebuild DIR/report.html from the saved runs (the command recorded in report.json)."""
    from .outputs.facts import RunInputError
    from .outputs.report import write_report
    d = args.run_dir
    if not (os.path.isfile(os.path.join(d, "summary.json"))
            or os.path.isfile(os.path.join(d, "comparison.json"))
            or os.path.isfile(os.path.join(d, "sweep.json"))):
        runs = sorted(n for n in os.listdir(d) if os.path.isfile(
            os.path.join(d, n, "summary.json"))) if os.path.isdir(d) else []
        print(f"liqsim: error: {d}: expected a directory written by replay, compare or sweep "
              f"(summary.json, comparison.json or sweep.json), found none" + (
                  f"; it holds the runs {', '.join(runs)}: liqsim report {d}/{runs[0]} for one, "
                  f"liqsim compare [--data PATH...] --breakers ... --out DIR for them side by "
                  f"side" if runs else ""), file=sys.stderr)
        return 2
    try:
        path = write_report(d)
    except RunInputError as exc:
        print(f"liqsim: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _cmd_account(args) -> int:
    """Print one account's story from a saved run."""
    from .outputs.account import story
    from .outputs.facts import RunInputError
    from .outputs.saved import load_run
    try:
        result = load_run(args.run_dir)
    except RunInputError as exc:
        print(f"liqsim: error: {exc}", file=sys.stderr)
        return 2
    told = story(result, args.account_id)
    if not len(told.events):        # an id of no account: bad input, not an empty story
        print(f"liqsim: error: {args.run_dir}: ID: no row of the event log names account "
              f"{args.account_id}; expected an account of this run (the report's account "
              f"stories name some)", file=sys.stderr)
        return 2
    print(told.text)
    return 0


def _cmd_columns(args) -> int:
    from .outputs.columns import markdown
    print(markdown())
    return 0


def _cmd_list(args) -> int:
    from .breakers import describe_policies
    from .scenarios.scenario import bundled_names, load
    print("Scenarios (liqsim replay NAME):")
    for name in bundled_names():
        sc = load(name)
        tag = " [TOY]" if sc.meta.toy else ""
        print(f"  {name}{tag}: {sc.meta.description}")
    print("\nBreaker policies (--breaker NAME[+NAME...]; parameters via --set breaker.NAME.KEY=V):")
    for name, doc, params in describe_policies():
        print(f"  {name}: {doc}")
        for key, value in params.items():
            print(f"      {key} = {value}")
    return 0


def _cmd_data(args) -> int:
    """``data inspect``: read every file to the end first (a bad line is one error line,
    exit 2, and nothing on stdout), then print."""
    from .data.stream import as_json, inspect
    summary = inspect(args.paths)
    if args.json:
        print(as_json(summary))
        return 0
    for f in summary.get("files", [summary]):
        print(_inspect_text(f))
    if "files" in summary:
        print(_inspect_text(dict(summary, file="all files")))
    return 0


def _clock_lines(span: dict) -> list[str]:
    """The exchange's clock beside the recorder's, and how far apart they were: a receive
    time before the event time (local - exchange < 0) is impossible, so the recorder's
    clock was behind by at least that much (``inspect_file``)."""
    ex, skew = span.get("exchange"), span.get("local_minus_exchange_ns")
    if not ex or ex[0] is None or ex == span["local"]:
        return []                          # one clock (ts_local is ts_exchange)
    lines = [f"  exchange     {ex[0]} .. {ex[1]}"]
    lo, hi = skew
    note = " (receive before event: the recorder's clock was behind)" if hi < 0 else ""
    lines.append(f"  local-exch   {lo / 1e9:+.3f} .. {hi / 1e9:+.3f} s{note}")
    return lines


def _inspect_text(s: dict) -> str:
    lo, hi = s["time_range"]["local"]
    agree = s.get("top_of_book_agreement")
    lines = [f"{s.get('file')}: {s['format']} {s['symbol']}",
             f"  local time   {lo} .. {hi}",
             *_clock_lines(s["time_range"]),
             "  messages     " + ", ".join(f"{k} {v:,}" for k, v in s["messages"].items()),
             f"  gaps {s['gaps']}  resyncs {s['resyncs']}  crossed books {s['crossed_books']}",
             "  top of book  " + ("no diff book and top-of-book stream to compare"
                                  if s.get("top_of_book_checked") is None else
                                  f"{s['top_of_book_checked']:,} checked, agreement "
                                  + ("-" if agree is None else f"{agree:.4f}"))]
    if s.get("repairs"):
        lines.append("  repairs      " + ", ".join(f"{k} {v:,}" for k, v in s["repairs"].items()))
    lines += [f"  note: {n}" for n in s.get("notes", [])]
    return "\n".join(lines)


def _cmd_demo(args) -> int:
    from .demo import run_demo
    report = run_demo(seed=args.seed)
    with atomic_dir(args.out) as stage:
        write_json(stage / "demo.json", report)
    print(f"{'burst lots':>10} {'filled':>8} {'unfilled':>9} {'worst px':>9} {'bid depth 1%':>13}")
    for b in report["bursts"]:
        print(f"{b['order_qty_lots']:>10} {b['filled_lots']:>8} {b['unfilled_lots']:>9} "
              f"{str(b['worst_price_ticks']):>9} {b['bid_depth_1pct_lots']:>13}")
    print(f"report: {args.out}/demo.json")
    return 0


#: What each command saves at the top of its --out, and what the directory then holds.
_KINDS = (("replay", "summary.json", "a replay's run"),
          ("compare", "comparison.json", "a comparison"),
          ("sweep", "sweep.json", "a sweep"))


def _check_kind(out: str, command: str) -> None:
    """Refuse, before any run, a replay, compare or sweep --out that holds another kind of
    saved run (its marker file, ``_KINDS``): the two would mix (a comparison.json beside a
    replay's summary.json, one report.html replacing the other).  The same kind is
    re-run into its own directory as before.  O(kinds)."""
    if command not in ("replay", "compare", "sweep"):
        return
    wanted = next(what for kind, _, what in _KINDS if kind == command)
    for kind, marker, what in _KINDS:
        if kind != command and os.path.isfile(os.path.join(out, marker)):
            raise ConfigError(f"{out}: holds {what} ({marker}), not {wanted}; give "
                              f"{command} another --out, or remove {out} first")


COMMANDS = {"replay": _cmd_replay, "compare": _cmd_compare, "sweep": _cmd_sweep,
            "bench": _cmd_bench, "list": _cmd_list,
            "columns": _cmd_columns, "facts": _cmd_facts, "report": _cmd_report,
            "account": _cmd_account, "demo": _cmd_demo, "data": _cmd_data}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        if getattr(args, "out", None):
            check_out(args.out)         # before any run: not a file, writable
            _check_kind(args.out, args.command)
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"liqsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout went away (``liqsim ... | head``): the files are written
        # before the table is printed, so nothing is lost; stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = exc.filename or getattr(args, "out", "")
        print(f"liqsim: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("liqsim: interrupted; no output written", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: exit 1 with one line, no traceback
        print(f"liqsim: internal error: {type(exc).__name__}: {exc} (please report)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
