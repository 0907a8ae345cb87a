"""Seeded order-book workload "A" for the matching benchmark (docs/reference/peers.md,
"Measured here").

``generate(n_ops, seed)`` returns a :class:`Workload`: the operations as numpy columns, the
book's expected final state, the expected number of fills and the workload's statistics.
``Workload.ops()`` turns the columns into a list of plain tuples of Python ints, to be built
*before* any timing.

Operation mix (drawn per op, ``numpy.random.default_rng(seed)``):

- ~60% limit adds, side 50/50.  Half go a few ticks inside the opposite touch (distance
  geometric on 1, 2, ..., mean 2.5; so they never cross); half rest deep behind their own
  touch (geometric, mean 300 ticks).
- ~25% cancels of live orders, recency-biased: the k-th newest live order, k geometric with
  mean 20 (clipped to the number of live orders).
- ~15% marketable orders.  Each sweeps a geometric number of opposite levels (mean 2,
  clipped to the levels there are); its price is capped at the last level swept and its
  quantity sized to fill completely, taking part of the last level.  Feed it to a book as an
  IOC limit order at that price.

A cancel with no live order, or a marketable order facing an empty side, becomes an add.
The generator keeps its own model of the book (price -> FIFO of orders per side, with
matching) so that it knows the live orders and the levels a sweep crosses.  That model is
also what the expected final state and fill count come from.

Order ids are 1, 2, 3, ... in op order; a cancel carries the id it cancels (and that order's
side, price and qty, for information).  Prices are ticks around 1,000,000; quantities are
lots, uniform on 1..100; accounts uniform on 1..1000 (self-trade prevention stays off).

Run as a script to print the statistics:  ``python -m engine.sweeps.workload [n_ops] [seed]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from sortedcontainers import SortedDict

DEFAULT_SEED = 20251010
DEFAULT_N_OPS = 200_000

# Op kinds (column ``kind``).
ADD = 0
CANCEL = 1
TAKE = 2  # marketable: IOC limit at the capped price, fills completely

P_ADD = 0.60
P_CANCEL = 0.25           # the rest (0.15) are marketable orders
MEAN_INSIDE_TICKS = 2.5   # inside adds: distance from the opposite touch
MEAN_DEEP_TICKS = 300.0   # deep adds: distance behind their own touch
MEAN_CANCEL_RANK = 20.0   # cancels: k-th newest live order
MEAN_SWEEP_LEVELS = 2.0   # marketable orders: levels swept
START_PRICE = 1_000_000
MAX_QTY = 100
N_ACCOUNTS = 1_000


class FinalState(NamedTuple):
    """What every engine must hold after the whole workload."""

    resting: int
    bid_volume: int
    ask_volume: int
    best_bid: int | None
    best_ask: int | None


@dataclass
class Workload:
    seed: int
    n_ops: int
    kind: np.ndarray      # int8: ADD / CANCEL / TAKE
    order_id: np.ndarray  # int64: the new order's id, or the id a cancel targets
    side: np.ndarray      # int8: +1 buy, -1 sell
    price: np.ndarray     # int64 ticks
    qty: np.ndarray       # int64 lots
    account: np.ndarray   # int32
    expected: FinalState
    expected_fills: int   # maker orders touched by marketable orders (one fill each)
    stats: dict = field(default_factory=dict)

    def ops(self) -> list[tuple[int, int, int, int, int, int]]:
        """``(kind, order_id, side, price, qty, account)`` tuples of Python ints."""
        return list(zip(self.kind.tolist(), self.order_id.tolist(), self.side.tolist(),
                        self.price.tolist(), self.qty.tolist(), self.account.tolist()))


def generate(n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED) -> Workload:
    """Build the workload deterministically from ``seed``.  Takes ~1-2 s for 200k ops."""
    rng = np.random.default_rng(seed)
    # All randomness is drawn up front, one value per op and purpose, so the stream does not
    # depend on the model's state.
    u_kind = rng.random(n_ops).tolist()
    sides = np.where(rng.random(n_ops) < 0.5, 1, -1).tolist()
    inside = (rng.random(n_ops) < 0.5).tolist()
    d_inside = rng.geometric(1.0 / MEAN_INSIDE_TICKS, n_ops).tolist()
    d_deep = rng.geometric(1.0 / MEAN_DEEP_TICKS, n_ops).tolist()
    ranks = rng.geometric(1.0 / MEAN_CANCEL_RANK, n_ops).tolist()
    n_sweep = rng.geometric(1.0 / MEAN_SWEEP_LEVELS, n_ops).tolist()
    u_part = rng.random(n_ops).tolist()
    qtys = rng.integers(1, MAX_QTY + 1, n_ops).tolist()
    accounts = rng.integers(1, N_ACCOUNTS + 1, n_ops).tolist()

    kind = np.empty(n_ops, np.int8)
    oid_col = np.empty(n_ops, np.int64)
    side_col = np.empty(n_ops, np.int8)
    price_col = np.empty(n_ops, np.int64)
    qty_col = np.empty(n_ops, np.int64)

    # The model: per side price -> {order_id: qty} (dicts keep arrival order = time priority).
    books = {1: SortedDict(), -1: SortedDict()}
    live: dict[int, tuple[int, int]] = {}   # order_id -> (side, price)
    arrivals: list[int] = []                # ids in arrival order; dead ones skipped lazily
    volume = {1: 0, -1: 0}
    ref_price = START_PRICE
    fills = 0
    n_kind = [0, 0, 0]
    n_inside = 0
    n_fallback = 0
    sweep_levels = 0
    sweep_emptied = 0
    resting_sum = 0
    resting_max = 0
    levels_sum = [0, 0]

    def best(side: int):
        lv = books[side]
        if not lv:
            return None
        return lv.peekitem(-1)[0] if side == 1 else lv.peekitem(0)[0]

    for i in range(n_ops):
        oid = i + 1
        side = sides[i]
        u = u_kind[i]
        k = ADD if u < P_ADD else CANCEL if u < P_ADD + P_CANCEL else TAKE
        if k == CANCEL and not live:
            k = ADD
            n_fallback += 1
        elif k == TAKE and not books[-side]:
            k = ADD
            n_fallback += 1

        if k == ADD:
            qty = qtys[i]
            own, opp = best(side), best(-side)
            if inside[i]:
                n_inside += 1
                anchor = opp if opp is not None else (own if own is not None else ref_price) + side
                price = anchor - side * d_inside[i]
            else:
                if own is not None:
                    anchor = own
                elif opp is not None:
                    anchor = opp - side
                else:
                    anchor = ref_price
                price = anchor - side * d_deep[i]
            price = max(price, 1)
            assert opp is None or side * (price - opp) < 0, "an add must not cross"
            lv = books[side]
            level = lv.get(price)
            if level is None:
                level = lv[price] = {}
            level[oid] = qty
            live[oid] = (side, price)
            arrivals.append(oid)
            volume[side] += qty
            ref_price = price
        elif k == CANCEL:
            rank = min(ranks[i], len(live))
            seen = 0
            j = len(arrivals)
            while True:
                j -= 1
                target = arrivals[j]
                if target in live:
                    seen += 1
                    if seen == rank:
                        break
            tside, price = live.pop(target)
            lv = books[tside]
            level = lv[price]
            qty = level.pop(target)
            if not level:
                del lv[price]
            volume[tside] -= qty
            oid, side = target, tside
            if len(arrivals) > 2 * len(live) + 1024:
                arrivals = [o for o in arrivals if o in live]
        else:  # TAKE: sweep n levels of the opposite side, part of the last one
            lv = books[-side]
            n = min(n_sweep[i], len(lv))
            if side == 1:
                prices = list(lv.islice(0, n))
            else:
                prices = list(lv.islice(len(lv) - n, None, reverse=True))
            qty = 0
            for p in prices[:-1]:
                level = lv.pop(p)
                for o, q in level.items():
                    del live[o]
                    qty += q
                fills += len(level)
                sweep_emptied += 1
            price = prices[-1]
            level = lv[price]
            total = sum(level.values())
            part = 1 + int(u_part[i] * (total - 1)) if total > 1 else 1
            qty += part
            left = part
            for o in list(level):
                q = level[o]
                fills += 1
                if q <= left:
                    del level[o]
                    del live[o]
                    left -= q
                    if not left:
                        break
                else:
                    level[o] = q - left
                    break
            if not level:
                del lv[price]
                sweep_emptied += 1
            volume[-side] -= qty
            sweep_levels += n
            ref_price = price

        n_kind[k] += 1
        kind[i] = k
        oid_col[i] = oid
        side_col[i] = side
        price_col[i] = price
        qty_col[i] = qty
        resting = len(live)
        resting_sum += resting
        if resting > resting_max:
            resting_max = resting
        levels_sum[0] += len(books[1])
        levels_sum[1] += len(books[-1])

    expected = FinalState(len(live), volume[1], volume[-1], best(1), best(-1))
    assert volume[1] == sum(sum(lvl.values()) for lvl in books[1].values())
    assert volume[-1] == sum(sum(lvl.values()) for lvl in books[-1].values())
    n_take = n_kind[TAKE]
    stats = {
        "n_ops": n_ops,
        "adds": n_kind[ADD],
        "cancels": n_kind[CANCEL],
        "marketable": n_take,
        "adds_inside": n_inside,
        "fallbacks_to_add": n_fallback,
        "mean_sweep_levels": sweep_levels / n_take if n_take else 0.0,
        "levels_emptied_by_sweeps": sweep_emptied,
        "fills": fills,
        "mean_fills_per_sweep": fills / n_take if n_take else 0.0,
        "final_resting": len(live),
        "mean_resting": resting_sum / n_ops if n_ops else 0.0,
        "max_resting": resting_max,
        "final_bid_levels": len(books[1]),
        "final_ask_levels": len(books[-1]),
        "mean_bid_levels": levels_sum[0] / n_ops if n_ops else 0.0,
        "mean_ask_levels": levels_sum[1] / n_ops if n_ops else 0.0,
        "final_spread": (expected.best_ask - expected.best_bid
                         if expected.best_ask is not None and expected.best_bid is not None
                         else None),
    }
    return Workload(seed, n_ops, kind, oid_col, side_col, price_col, qty_col,
                    np.asarray(accounts, np.int32), expected, fills, stats)


def describe(w: Workload) -> str:
    s = w.stats
    n = s["n_ops"] or 1
    return (
        f"workload seed={w.seed} n_ops={s['n_ops']:,}: "
        f"adds {s['adds']:,} ({100 * s['adds'] / n:.1f}%, {s['adds_inside']:,} inside), "
        f"cancels {s['cancels']:,} ({100 * s['cancels'] / n:.1f}%), "
        f"marketable {s['marketable']:,} ({100 * s['marketable'] / n:.1f}%); "
        f"mean sweep {s['mean_sweep_levels']:.2f} levels, {s['mean_fills_per_sweep']:.2f} fills; "
        f"fills {s['fills']:,}; resting final {s['final_resting']:,} "
        f"(mean {s['mean_resting']:,.0f}, max {s['max_resting']:,}); "
        f"levels final bid/ask {s['final_bid_levels']}/{s['final_ask_levels']} "
        f"(mean {s['mean_bid_levels']:.0f}/{s['mean_ask_levels']:.0f}); "
        f"final {w.expected}"
    )


if __name__ == "__main__":
    import sys

    from ..outputs.timing import stopwatch

    n = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N_OPS
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_SEED
    elapsed = stopwatch()
    w = generate(n, seed)
    print(f"generated in {elapsed():.2f} s")
    print(describe(w))
