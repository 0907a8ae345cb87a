"""The ``liqsim`` command.

    liqsim replay SCENARIO [--breaker NAME] [--seed N] [--scale F] [--set KEY=VALUE ...] --out DIR
    liqsim replay --data PATH... [--breaker NAME] [--scenario FILE] [--allow-gaps] --out DIR
    liqsim compare SCENARIO --breakers none,luld,... [--seed N] [--scale F] --out DIR
    liqsim facts RUN_DIR [--against RUN_DIR]
    liqsim list
    liqsim demo --out DIR
    liqsim data inspect PATH... [--json]

Exit codes: 0 success, 2 bad input (one line on stderr naming the file, field or flag and
what was expected; no traceback, no partial output), 1 an internal error.  Every output is
written atomically (``engine.outputs.atomic``).
"""
from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

from .config import ConfigError, decimal
from .outputs.atomic import atomic_dir, write_json


class _Parser(argparse.ArgumentParser):
    """argparse with the project's bad-input contract: one line on stderr, exit 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"liqsim: error: {message}\n")


def _seed(text: str) -> int:
    try:
        value = int(text)
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
        if "/" in text and len(text) <= 40:
            value = Fraction(text)
        else:
            value = Fraction(decimal("--scale", text))
    except (ValueError, ZeroDivisionError):
        value = Fraction(0)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _out(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory path, got an empty one")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liqsim", description="Exchange liquidation-engine emulator: a limit "
                     "order book and a margin/liquidation engine in one loop.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    replay = sub.add_parser("replay", help="replay a scenario; writes summary.json, "
                            "timeseries.parquet, events.parquet, scenario.toml and "
                            "timeline.png to --out")
    replay.add_argument("scenario", nargs="?", default=None,
                        help="a bundled scenario name (see 'liqsim list') or a path to a "
                        ".toml file (not with --data)")
    replay.add_argument("--data", nargs="+", metavar="PATH", default=None,
                        help="replay recorded market data instead (engine.data): its book, "
                        "trades, liquidations, index and mark; also writes "
                        "forceorders-latest.txt and forceorders-largest.txt")
    replay.add_argument("--scenario", dest="data_scenario", metavar="FILE", default=None,
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

    compare = sub.add_parser("compare", help="replay one scenario under several breaker "
                             "policies; writes one run per policy, comparison.json and "
                             "comparison.png")
    compare.add_argument("scenario")
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

    facts = sub.add_parser("facts", help="score a saved run against the 14 stylized facts "
                           "(docs/facts.md) and print the table")
    facts.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by replay "
                       "or compare (summary.json, timeseries.parquet, events.parquet, "
                       "scenario.toml)")
    facts.add_argument("--against", metavar="RUN_DIR", default=None,
                       help="a second run to print beside it (e.g. the same scenario without "
                       "breaker: fact 13 then compares with it)")

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
    inspect.add_argument("paths", nargs="+", metavar="PATH")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    demo = sub.add_parser("demo", help="seeded order-book demo: a liquidation-sized sell burst "
                                       "into a maker ladder; writes DIR/demo.json")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.add_argument("--out", type=_out, required=True, help="output directory")
    return parser


#: (summary key, row label, what the row counts and its unit -- the table's legend).
#: ``{q}`` is the run's quote currency.
SUMMARY_ROWS = (
    ("amplification", "amplification",
     "the book's drawdown / the index's (read it with trades and one-sided seconds: a frozen "
     "market is not a calm one)"),
    ("book_drawdown_pct", "book drawdown %", "start price to lowest trade after the event start"),
    ("index_drawdown_pct", "index drawdown %", "the index from the event start to its low"),
    ("min_price", "lowest trade ({q})", "lowest trade price after the event start"),
    ("trades_count", "trades", "trades printed in the whole run"),
    ("one_sided_seconds", "one-sided book s", "seconds whose book had no bid or no ask"),
    ("max_mark_index_gap_pct", "max mark-index gap %", "largest |mark - index| / index"),
    ("liquidations_count", "liquidations", "positions liquidated (units, once each)"),
    ("liquidation_orders", "liquidation orders", "orders sent to the book for them"),
    ("liquidations_notional", "liquidated notional ({q})",
     "each liquidated lot once: in the book + off it"),
    ("liquidation_fill_ratio", "filled in the book", "share of the liquidated notional"),
    ("liquidations_off_book_notional", "closed off the book ({q})",
     "taken over by the fund or backstop, or ADL'd"),
    ("fund_offload_notional", "fund sold back in the book ({q})",
     "the fund's offload of what it took over"),
    ("liquidations_through_book_share", "reached the book",
     "share of the liquidated notional: filled at once or offloaded by the fund"),
    ("fill_failures_count", "fill failures", "liquidation orders left unfilled (per order)"),
    ("liquidations_deferred", "deferred by a breaker", "deferral episodes"),
    ("vacuum_seconds", "liquidity-vacuum s", "seconds with depth within 1% below the threshold"),
    ("min_depth_1pct_ratio", "worst depth 1% / baseline", "lowest depth within 1% / pre-event"),
    ("max_spread_bps", "max spread (bps)", "widest spread of a two-sided book"),
    ("insurance_fund_min", "fund cash min ({q})", "the insurance fund's wallet"),
    ("insurance_fund_equity_min", "fund equity min ({q})",
     "cash + taken-over positions at the mark"),
    ("adl_units", "ADL'd units", "bankrupt units closed by ADL"),
    ("adl_fills", "ADL fills", "counterparty closes (one unit may take many)"),
    ("bad_debt", "bad debt ({q})", "losses nobody absorbed"),
    ("halts_count", "halts", "trading halts started"),
    ("halted_seconds", "halted s", "seconds halted"),
    ("events_processed", "events", "rows of the event log"),
    ("events_per_second", "events / second", "engine throughput (machine-dependent)"),
)
#: Rows whose figure is cut off by the end of the run when the flag is set.
CENSORED = {"vacuum_seconds": "vacuum_open_at_end", "halted_seconds": "halted_at_end"}


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _seed_list(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _cell(summary: dict, key: str) -> str:
    spread = summary.get("range", {}).get(key)
    text = _fmt(summary.get(key))
    if spread is not None and spread[0] != spread[1]:
        text += f" ({_fmt(spread[0])}-{_fmt(spread[1])})"
    flag = CENSORED.get(key)
    return f"{text}, still open" if flag and summary.get(flag) else text


def print_table(summaries: list[dict]) -> None:
    """One column per run (breaker), one row per headline metric, then the legend: what
    each row counts and its unit.  A duration the run's end cut off reads "..., still open"."""
    heads = [s["breaker"] for s in summaries]
    s0 = summaries[0]
    q = s0.get("quote_currency", "quote")
    labels = [(key, label.format(q=q), legend) for key, label, legend in SUMMARY_ROWS]
    width = max(len(label) for _, label, _ in labels) + 2
    cells = [[_cell(s, key) for key, _, _ in labels] for s in summaries]
    cols = [max(14, len(h) + 2, *(len(c) + 2 for c in column))
            for h, column in zip(heads, cells)]
    toy = " (TOY scenario)" if s0.get("toy") else ""
    seeds = s0.get("seeds")
    runs = f"seeds {_seed_list(seeds)}: mean (min-max)" if seeds else f"seed {s0['seed']}"
    print(f"{s0['scenario']}{toy}  {runs}  scale {s0.get('scale', 1)}  (money in {q})")
    print("breaker".ljust(width) + "".join(h.rjust(c) for h, c in zip(heads, cols)))
    for k, (_, label, _) in enumerate(labels):
        print(label.ljust(width) + "".join(column[k].rjust(c)
                                           for column, c in zip(cells, cols)))
    print("\nrows:")
    for _, label, legend in labels:
        print(f"  {label}: {legend}")
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
    from .runner import run
    result = run(args.scenario, breaker=args.breaker, seed=args.seed, scale=args.scale,
                 overrides=args.overrides)
    _warn_unused_breaker_sets(args.overrides, [result.summary["breaker"]])
    result.save(args.out)
    return _report([result.summary], f"wrote {args.out}/summary.json, timeseries.parquet, "
                                     f"events.parquet, scenario.toml, timeline.png")


def _cmd_replay_data(args) -> int:
    """``replay --data``: the counterfactual replay of recorded data (``engine.runner.
    run_recorded``); bad data is one line, exit 2, nothing written."""
    if args.scenario is not None or args.overrides or args.scale != 1:
        raise ConfigError("replay --data: expected no SCENARIO, --set or --scale (give "
                          "participants with --scenario FILE)")
    from .runner import run_recorded
    result = run_recorded(args.data, breaker=args.breaker, scenario=args.data_scenario,
                          seed=args.seed, allow_gaps=args.allow_gaps)
    result.save(args.out)
    rec = result.summary["recorded"]
    c = rec["counters"]
    code = _report([result.summary], f"wrote {args.out}/summary.json, timeseries.parquet, "
                                     f"events.parquet, scenario.toml, timeline.png, "
                                     f"forceorders-latest.txt, forceorders-largest.txt")
    print(f"recorded: index = {rec['index_source']}; mark = {rec['mark_source']}")
    print(f"recorded liquidations: {c.get('liquidations_sent', 0)} sent, "
          f"{c.get('liquidations_unfilled', 0)} failed to fill "
          f"({c.get('liquidations_unfilled_lots', 0)} lots); recorded trades: "
          f"{c.get('trades_sent', 0)} sent, {c.get('trades_refused', 0)} refused; "
          f"gaps {len(rec['gaps'])}")
    return code


def _cmd_compare(args) -> int:
    from .breakers import parse_policy_list
    from .outputs.charts import comparison_chart
    from .outputs.seeds import over_seeds
    from .runner import run
    names = parse_policy_list(args.breakers)
    _warn_unused_breaker_sets(args.overrides, names)
    seeds = args.seeds or [args.seed]
    runs = {name: [run(args.scenario, breaker=name, seed=seed, scale=args.scale,
                       overrides=args.overrides) for seed in seeds] for name in names}
    first = [results[0] for results in runs.values()]
    with atomic_dir(args.out) as stage:
        for name, results in runs.items():
            folder = stage / name.replace("+", "_")
            if len(results) == 1:
                results[0].save(folder)
            else:
                for result in results:
                    result.save(folder / f"seed-{result.summary['seed']}")
        if len(seeds) == 1:
            table = [r.summary for r in first]
            write_json(stage / "comparison.json", {r.summary["breaker"]: r.summary for r in first})
        else:
            table = [over_seeds([r.summary for r in results]) for results in runs.values()]
            write_json(stage / "comparison.json", {s["breaker"]: s for s in table})
        s0 = first[0].summary
        title = f"{s0['scenario']}  seed {s0['seed']}  scale {s0.get('scale', 1)}"
        comparison_chart([(r.summary["breaker"], r.timeseries) for r in first], title,
                         stage / "comparison.png")
    return _report(table, f"wrote {args.out}/comparison.json, comparison.png and one directory "
                          f"per policy" + (f" (one run per seed; the chart shows seed "
                                           f"{s0['seed']})" if len(seeds) > 1 else ""))


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


def _cmd_facts(args) -> int:
    """Score saved runs afresh (the saved summary's ``facts`` are not read) and print one
    column per run.  A missing or unreadable input: one line, exit 2."""
    from .outputs.facts import RunInputError, RunView, facts_summary, facts_table, score
    try:
        views = [RunView.load(d) for d in (args.run_dir, args.against) if d is not None]
    except RunInputError as exc:
        print(f"liqsim: error: {exc}", file=sys.stderr)
        return 2
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


def _inspect_text(s: dict) -> str:
    lo, hi = s["time_range"]["local"]
    agree = s.get("top_of_book_agreement")
    lines = [f"{s.get('file')}: {s['format']} {s['symbol']}",
             f"  local time   {lo} .. {hi}",
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


COMMANDS = {"replay": _cmd_replay, "compare": _cmd_compare, "list": _cmd_list,
            "columns": _cmd_columns, "facts": _cmd_facts,
            "demo": _cmd_demo, "data": _cmd_data}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
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
