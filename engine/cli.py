"""The ``liqsim`` command.

    liqsim replay SCENARIO [--breaker NAME] [--seed N] [--scale F] [--set KEY=VALUE ...] --out DIR
    liqsim compare SCENARIO --breakers none,luld,... [--seed N] [--scale F] --out DIR
    liqsim list
    liqsim demo --out DIR

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
    replay.add_argument("scenario", help="a bundled scenario name (see 'liqsim list') or a "
                        "path to a .toml file")
    replay.add_argument("--breaker", default="none",
                        help="circuit-breaker policy, or several joined by commas")
    replay.add_argument("--seed", type=_seed, default=0)
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
    compare.add_argument("--seed", type=_seed, default=0)
    compare.add_argument("--scale", type=_scale, default=Fraction(1))
    compare.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE")
    compare.add_argument("--out", type=_out, required=True)

    sub.add_parser("list", help="list bundled scenarios and breaker policies with their "
                   "parameters")

    demo = sub.add_parser("demo", help="seeded order-book demo: a liquidation-sized sell burst "
                                       "into a maker ladder; writes DIR/demo.json")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.add_argument("--out", type=_out, required=True, help="output directory")
    return parser


SUMMARY_ROWS = (
    ("amplification", "amplification (book drawdown / index drawdown)"),
    ("book_drawdown_pct", "book drawdown %"),
    ("index_drawdown_pct", "index drawdown %"),
    ("min_price", "lowest trade"),
    ("liquidations_count", "liquidation orders"),
    ("liquidations_notional", "liquidated notional (quote)"),
    ("liquidation_fill_ratio", "liquidation fill ratio"),
    ("fill_failures_count", "fill failures"),
    ("unfilled_notional", "unfilled notional (quote)"),
    ("liquidations_deferred", "liquidations deferred by a breaker"),
    ("vacuum_seconds", "liquidity-vacuum seconds"),
    ("min_depth_1pct_ratio", "worst depth within 1% / baseline"),
    ("max_spread_bps", "max spread (bps, two-sided book)"),
    ("one_sided_seconds", "seconds with a one-sided or empty book"),
    ("insurance_fund_min", "insurance fund min (quote)"),
    ("adl_count", "ADL events"),
    ("bad_debt", "bad debt (quote)"),
    ("halts_count", "halts"),
    ("halted_seconds", "halted seconds"),
    ("events_processed", "events"),
    ("events_per_second", "events / second"),
)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(summaries: list[dict]) -> None:
    """One column per run (breaker), one row per headline metric."""
    heads = [s["breaker"] for s in summaries]
    width = max(len(label) for _, label in SUMMARY_ROWS) + 2
    cols = [max(14, len(h) + 2) for h in heads]
    s0 = summaries[0]
    toy = " (TOY scenario)" if s0.get("toy") else ""
    print(f"{s0['scenario']}{toy}  seed {s0['seed']}  scale {s0.get('scale', 1)}")
    print("breaker".ljust(width) + "".join(h.rjust(c) for h, c in zip(heads, cols)))
    for key, label in SUMMARY_ROWS:
        print(label.ljust(width) + "".join(_fmt(s.get(key)).rjust(c)
                                           for s, c in zip(summaries, cols)))


def _cmd_replay(args) -> int:
    from .runner import run
    result = run(args.scenario, breaker=args.breaker, seed=args.seed, scale=args.scale,
                 overrides=args.overrides)
    result.save(args.out)
    return _report([result.summary], f"wrote {args.out}/summary.json, timeseries.parquet, "
                                     f"events.parquet, scenario.toml, timeline.png")


def _cmd_compare(args) -> int:
    from .breakers import parse_policy_list
    from .runner import run
    names = parse_policy_list(args.breakers)
    results = [run(args.scenario, breaker=name, seed=args.seed, scale=args.scale,
                   overrides=args.overrides) for name in names]
    from .outputs.charts import comparison_chart
    with atomic_dir(args.out) as stage:
        for name, result in zip(names, results):
            result.save(stage / name.replace("+", "_"))
        write_json(stage / "comparison.json", {r.summary["breaker"]: r.summary for r in results})
        s0 = results[0].summary
        comparison_chart([(r.summary["breaker"], r.timeseries) for r in results],
                         f"{s0['scenario']}  seed {s0['seed']}  scale {s0.get('scale', 1)}",
                         stage / "comparison.png")
    return _report([r.summary for r in results],
                   f"wrote {args.out}/comparison.json, comparison.png and one directory per "
                   f"policy")


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
            "demo": _cmd_demo}


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
