"""The emulator's own liquidations as a Binance ``forceOrder``-style feed.

Binance publishes, per symbol, at most the latest liquidation order within each 1000 ms
(docs/reference/data-formats.md section 2.9); a recorded liquidation feed is therefore a
sample, and an emulated run is compared like for like only through the same filter.  From
the event log: one message per liquidation order (``LIQUIDATION_ORDER`` with its
``LIQUIDATION_FILLED`` row), of the accounts not excluded (a counterfactual replay excludes
the recorded liquidations it re-sent); orders that filled nothing are not published (the
public feed carries filled orders).  Two variants per whole second of exchange time:
``latest`` (the last order logged in that second: Binance's rule) and ``largest`` (the one
with the largest filled notional, ties to the first: what a reader of the feed would want
to see).

Lines are written as a websocket capture (``<time ns> <json>``, the format of
``engine.data.binance_ws``), so ``liqsim data inspect`` reads them back.  Fields: ``S`` the
order's side, ``p`` its limit (0 for a market order), ``q`` its quantity, ``z`` = ``l`` the
filled quantity (one message per order), ``ap`` the average fill price rounded half-even to
the tick, ``X`` ``FILLED`` or ``EXPIRED`` (partly filled), ``T`` = ``E`` the time in ms
(run time + ``epoch_ns``, rounded down).  O(liquidation orders).
"""
from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from ..venue.events import EventKind

SECOND = 1_000_000_000


def force_orders(events: np.ndarray, instrument, exclude=(), epoch_ns: int = 0) -> list[tuple]:
    """``(ts_ns, notional quantums, message dict)`` for every liquidation order that filled,
    in log order."""
    kinds = events["kind"]
    orders = events[(kinds == EventKind.LIQUIDATION_ORDER) & ~np.isin(events["account"],
                                                                       list(exclude))]
    fills = events[kinds == EventKind.LIQUIDATION_FILLED]
    filled = {}
    for oid, qty, value in zip(fills["order_id"].tolist(), fills["qty"].tolist(),
                               fills["value"].tolist()):
        q0, v0 = filled.get(oid, (0, 0))
        filled[oid] = (q0 + qty, v0 + value)
    tick, lot, quantum = instrument.tick_size, instrument.lot_size, instrument.quote_quantum
    out = []
    for ts, side, oid, price, qty in zip(orders["ts"].tolist(), orders["side"].tolist(),
                                         orders["order_id"].tolist(), orders["price"].tolist(),
                                         orders["qty"].tolist()):
        z, value = filled.get(oid, (0, 0))
        if not z:
            continue
        avg = (Decimal(value) * quantum / (z * lot)).quantize(tick, ROUND_HALF_EVEN)
        ms = (ts + epoch_ns) // 1_000_000
        msg = {"e": "forceOrder", "E": ms, "o": {
            "s": instrument.symbol, "S": "BUY" if side > 0 else "SELL", "o": "LIMIT",
            "f": "IOC", "q": str(qty * lot), "p": str(price * tick), "ap": str(avg),
            "X": "FILLED" if z == qty else "EXPIRED", "l": str(z * lot), "z": str(z * lot),
            "T": ms}}
        out.append((ts + epoch_ns, value, msg))
    return out


def per_second(messages: list[tuple], rule: str) -> list[tuple]:
    """At most one message per whole second: ``latest`` or ``largest`` (module docstring)."""
    chosen: dict[int, tuple] = {}
    for item in messages:
        sec = item[2]["E"] // 1000
        held = chosen.get(sec)
        if held is None or rule == "latest" or item[1] > held[1]:
            chosen[sec] = item
    return [chosen[s] for s in sorted(chosen)]


def feed_text(messages: list[tuple]) -> str:
    """Capture lines: ``<ns> {"stream": "<symbol>@forceOrder", "data": ...}``."""
    return "".join(f"{ts} " + json.dumps({"stream": f"{m['o']['s'].lower()}@forceOrder",
                                          "data": m}, separators=(",", ":")) + "\n"
                   for ts, _, m in messages)


def force_order_files(events, instrument, exclude=(), epoch_ns: int = 0) -> dict[str, str]:
    """The two feed files of a run directory (name -> text)."""
    msgs = force_orders(events, instrument, exclude, epoch_ns)
    return {f"forceorders-{rule}.txt": feed_text(per_second(msgs, rule))
            for rule in ("latest", "largest")}
