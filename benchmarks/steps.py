"""Where the engine's time goes beyond the logged floor, step by step (issue 17's analysis).

Not a test: ``python benchmarks/steps.py [--full]`` runs bench-cascade (the reduced run by
default, as ``liqsim bench --quick``; ``--full`` the full one) twice, keeping the second
(the first pays the imports), with a CPU-time
stopwatch around each step of the loop, then replays its recorded book calls through the
bare book and the logged floor (``engine.sweeps.bench``), and prints:

- each step's own CPU seconds (``process_time``; time in a nested timed step is counted
  once, in the inner one) and calls, the set-up and the outputs;
- the floor, and the engine's lower bound with the liquidation engine and the makers'
  decisions taken as free: the makers' mass quotes, the set-up, the outputs, the marks and
  the rest of the loop over the floor.  ``engine_vs_floor`` cannot read below that bound
  however cheap the risk step and the decisions become.

The stopwatches add ~1 us a call (a few percent of the loop); the engine's own ratio is
``liqsim bench``'s.  docs/performance.md keeps the figures.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict

#: (owner module, class or None, attribute, label, part of the lower bound)
STEPS = (
    ("engine.venue.exchange", "Exchange", "mass_quote", "makers' mass quotes", True),
    ("engine.market.makers", "MarketMaker", "wake", "makers' decisions", False),
    ("engine.simulation", "Simulation", "_risk_step", "risk step (rest)", False),
    ("engine.venue.exchange", "Exchange", "submit", "orders (liquidations, takers)", False),
    ("engine.venue.exchange", "Exchange", "liquidatable", "liquidatable units", False),
    ("engine.venue.exchange", "Exchange", "deficit", "deficits", False),
    ("engine.liquidation.waterfalls", None, "run_liquidations", "waterfalls", False),
    ("engine.simulation", "Simulation", "_mark_step", "marks", True),
)


def _wrap(acc, cnt, stack, owner, name, label):
    clock = time.process_time
    f = getattr(owner, name)

    def timed(*a, **k):
        t = clock()
        stack.append(0.0)
        try:
            return f(*a, **k)
        finally:
            inner, d = stack.pop(), clock() - t
            acc[label] += d - inner
            cnt[label] += 1
            stack[-1] += d
    setattr(owner, name, timed)


def main(argv: list[str]) -> None:
    import importlib

    from engine import runner
    from engine.outputs.timing import cpu_timed
    from engine.sweeps.bench import CASCADE, CASCADE_SEED, FULL, REDUCED, book_loop, floor_loop
    cfg = FULL if "--full" in argv else REDUCED
    acc, cnt, stack = defaultdict(float), defaultdict(int), [0.0]
    bound = {label for *_, label, part in STEPS if part}
    for module, cls, name, label, _ in STEPS:
        mod = importlib.import_module(module)
        _wrap(acc, cnt, stack, getattr(mod, cls) if cls else mod, name, label)
    # the simulation imports run_liquidations by name: point it at the timed one
    importlib.import_module("engine.simulation").run_liquidations = \
        importlib.import_module("engine.liquidation.waterfalls").run_liquidations
    clock = time.process_time
    for _ in range(2):      # the first run pays the imports and warms up: keep the second
        acc.clear()
        cnt.clear()
        t = clock()
        sc = runner.load(CASCADE, list(cfg["overrides"]), cfg["scale"])
        sim = runner.Simulation(sc, breaker=None, seed=CASCADE_SEED)
        levels = runner.liquidation_levels(sim.exchange)
        setup = clock() - t
        t = clock()
        sim.run()
        loop = clock() - t
        t = clock()
        runner._result(sim, sc, CASCADE_SEED, cfg["scale"], 0.0, levels)
        outputs = clock() - t
        sim.close()
    acc, cnt = dict(acc), dict(cnt)     # before the recording run below adds to them
    flow, _ = runner.record_flow(CASCADE, CASCADE_SEED, cfg["scale"], cfg["overrides"])
    book = min(cpu_timed(book_loop, flow)[0] for _ in range(3))
    floor = min(cpu_timed(floor_loop, flow)[0] for _ in range(3))
    rest = loop - sum(acc.values())
    print(f"{'step':34s} {'CPU s':>8s} {'calls':>9s}")
    for label, s in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"{label:34s} {s:8.3f} {cnt[label]:9,d}")
    print(f"{'loop: the rest':34s} {rest:8.3f}\n{'set-up':34s} {setup:8.3f}\n"
          f"{'outputs':34s} {outputs:8.3f}\n{'engine in all':34s} "
          f"{setup + loop + outputs:8.3f}")
    print(f"\nbare book {book:.3f} s, logged floor {floor:.3f} s ({len(flow):,} book calls)")
    low = sum(acc.get(k, 0.0) for k in bound) + rest + setup + outputs
    print(f"lower bound with the risk step and the makers' decisions free: {low:.3f} s = "
          f"{low / floor:.3f}x the floor (bar 1.3)")


if __name__ == "__main__":
    main(sys.argv[1:])
