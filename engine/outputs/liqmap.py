"""The liquidation map: where the population's liquidation prices sit, over time.

``liquidation_levels(exchange, inst)`` reads, once, the liquidation index of a seeded venue
(``engine.venue.risk.LiquidationIndex``: every isolated position and single-instrument cross
account with its *trigger tick*, the mark at which it becomes deficient -- its liquidation
price) and returns one row per unit: ``account`` (id), ``side`` (+1 long / -1 short),
``trigger`` (ticks), ``qty`` (lots).  ``runner.run`` takes it after the set-up, before the
first event, and the run saves it as ``liquidation_levels.parquet``.  Read-only: the index
is not refreshed or changed, so the event log is the same with or without it.  O(units
log units); ~0.07 s for 100,000 units.

``liquidation_map(levels, events, ...)`` turns it into a time x price grid of open
liquidatable notional, as the trading terminals draw it: a unit's notional (its size at its
trigger price) sits in its price bucket from the start until the account is margin-called,
its stop fires, or it is an ADL counterparty (first such event of the log).  It is a
*simulated* map -- the model's own population, not a venue's data.  Not in it: later
arrivals, top-ups and funding that move a trigger, complex cross accounts.
Assumed (and said on the chart): the seeded population's levels at t = 0 stand for all.
O(units + buckets x time bins), vectorised.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..venue.events import EventKind

LEVEL_FIELDS = (("account", pa.uint32()), ("side", pa.int8()), ("trigger", pa.int64()),
                ("qty", pa.int64()))
#: Kinds after which a unit no longer waits at its level (``account`` column), and the ADL
#: close (``other`` column: the counterparty).
_GONE = (int(EventKind.MARGIN_CALL), int(EventKind.STOP_TRIGGERED))
_ADL = int(EventKind.AUTO_DELEVERAGED)


def liquidation_levels(exchange, inst: int = 0) -> pa.Table:
    """The indexed units of ``inst`` and their trigger ticks, longs then shorts, each in the
    index's order (deepest first, ties by account id): deterministic for a seeded venue.

    Read from the index's ``keys`` (``(account, inst)`` -> the entry its sorted lists hold),
    which a batch refresh fills in account order, so each account's position is read in the
    order the population was allocated; the index's order is then one ``np.lexsort`` (by
    side, key, account: the sorted lists' own order).  Walking the sorted lists instead
    reads the accounts in trigger order, scattered in memory (100k units: ~0.18 -> ~0.07 s,
    docs/performance.md).  O(units log units)."""
    accounts = exchange.accounts
    units = [(a, entry) for (a, i), entry in exchange.index.keys.items() if i == inst]
    n = len(units)
    account = np.fromiter((a for a, _ in units), np.int64, n)
    side = np.fromiter((e[0] for _, e in units), np.int8, n)
    key = np.fromiter((e[1][0] for _, e in units), np.int64, n)
    qty = np.fromiter((abs(accounts[a].positions[inst].size) for a, _ in units), np.int64, n)
    order = np.lexsort((account, key, -side))       # longs (+1) first; key: deepest first
    side, key = side[order], key[order]
    cols = (account[order], side, np.where(side > 0, -key, key), qty[order])
    return pa.Table.from_arrays([pa.array(c, type=t) for c, (_, t) in zip(cols, LEVEL_FIELDS)],
                                names=[n for n, _ in LEVEL_FIELDS])


def gone_at(levels: pa.Table, events: np.ndarray) -> np.ndarray:
    """Per level row, the time (ns) its unit left the map (int64 max: never)."""
    accounts = levels.column("account").to_numpy().astype(np.int64)
    out = np.full(len(accounts), np.iinfo(np.int64).max, dtype=np.int64)
    if not len(accounts):
        return out
    kind = events["kind"]
    first = {}
    for mask, col in ((np.isin(kind, _GONE), "account"), (kind == _ADL, "other")):
        rows = events[mask]
        who = rows[col].astype(np.int64)
        # the first time of each account: the log is in time order
        uniq, pos = np.unique(who, return_index=True)
        for a, t in zip(uniq.tolist(), rows["ts"][pos].tolist()):
            first[a] = min(t, first.get(a, t))
    if first:
        keys = np.fromiter(first.keys(), dtype=np.int64)
        vals = np.fromiter(first.values(), dtype=np.int64)
        order = np.argsort(keys)
        keys, vals = keys[order], vals[order]
        at = np.searchsorted(keys, accounts)
        hit = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == accounts)
        out[hit] = vals[at[hit]]
    return out


def liquidation_map(levels: pa.Table, events: np.ndarray, times_ns: np.ndarray,
                    price_edges_ticks: np.ndarray, notional_per_tick_lot: float) -> np.ndarray:
    """The grid ``[price bucket, time bin]`` of open liquidatable notional (quote currency):
    units whose trigger lies in a bucket (``price_edges_ticks``, ascending) and which are
    still open at each of ``times_ns``.  ``notional_per_tick_lot``: the quote value of one
    tick x one lot."""
    grid = np.zeros((len(price_edges_ticks) - 1, len(times_ns)))
    if not levels.num_rows or not len(times_ns):
        return grid
    trig = levels.column("trigger").to_numpy()
    qty = levels.column("qty").to_numpy()
    bucket = np.searchsorted(price_edges_ticks, trig, side="right") - 1
    inside = (bucket >= 0) & (bucket < grid.shape[0])
    end = np.searchsorted(times_ns, gone_at(levels, events), side="left")
    # A difference array along time: + at the first bin, - at the bin it left; cumsum.
    diff = np.zeros((grid.shape[0], len(times_ns) + 1))
    value = trig.astype(np.float64) * qty * notional_per_tick_lot
    np.add.at(diff, (bucket[inside], 0), value[inside])
    np.add.at(diff, (bucket[inside], end[inside]), -value[inside])
    return np.cumsum(diff, axis=1)[:, :-1]
