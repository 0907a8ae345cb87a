"""The ``liqsim`` command.

Exit codes: 0 success, 2 bad input (one line on stderr naming what was expected), 1 an
internal error.  Every output is written atomically (``engine.atomic``).
"""
from __future__ import annotations

import argparse
import sys

from .atomic import atomic_dir, write_json


class _Parser(argparse.ArgumentParser):
    """argparse with the project's bad-input contract: one line on stderr, exit 2."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised via main()
        self.exit(2, f"liqsim: error: {message}\n")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liqsim", description="Exchange liquidation-engine emulator.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser("demo", help="seeded order-book demo: a liquidation-sized sell burst "
                                       "into a maker ladder; writes DIR/demo.json")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.add_argument("--out", required=True, help="output directory")
    return parser


def _cmd_demo(args) -> int:
    from .demo import run_demo

    report = run_demo(seed=args.seed)
    with atomic_dir(args.out) as stage:
        write_json(stage / "demo.json", report)
    print(f"{'burst lots':>10} {'filled':>8} {'unfilled':>9} {'worst px':>9} {'bid depth 1%':>13}")
    for b in report["bursts"]:
        print(f"{b['order_qty_lots']:>10} {b['filled_lots']:>8} {b['unfilled_lots']:>9} "
              f"{str(b['worst_price_ticks']):>9} {b['bid_depth_1pct_lots']:>13}")
    print(f"baseline bid depth within 1%: {report['baseline_bid_depth_1pct_lots']} lots; "
          f"report: {args.out}/demo.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"demo": _cmd_demo}[args.command](args)
    except OSError as exc:
        print(f"liqsim: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
