"""Exogenous order flow the scenario scripts: sell/buy programs (``[[flows]]``), macro shocks'
one-off market orders (``[[shocks]]``) and stale deep resting orders (``[[stubs]]``).

All of it trades from account ``FLOW_ACCOUNT`` (programs, shocks) or ``STUB_ACCOUNT``
(stubs), both deep-pocketed and never near liquidation (``engine.venue.accounts``).

Sizes: a notional in quantums (``ScenarioUnits``) becomes lots at the reference price, rounded
down (``notional // Instrument.lot_value_q(price)``); an order of 0 lots is not sent.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import IOC, LIMIT, MARKET

from ..phases import SECOND
from ..venue.accounts import FLOW_ACCOUNT, STUB_ACCOUNT
from ..venue.rounding import floor_f, protection_limit


class Programs:
    """The scenario's flows and shocks' orders, sent through ``port`` (a participant's
    latency applies); ``notionals`` are the flows' quantums per second
    (``ScenarioUnits.flow_notionals``).  O(flows) per second."""

    __slots__ = ("port", "flows")

    def __init__(self, port, flows, notionals):
        self.port = port
        self.flows = tuple(zip(flows, notionals))

    def second(self, ts: int) -> None:
        """One second of every flow whose window ``[lo, hi)`` holds ``ts``."""
        secs = Fraction(ts, SECOND)
        for flow, notional in self.flows:
            lo, hi = flow.window
            if lo <= secs < hi:
                self.order(ts, flow.kind, notional, flow.limit_pct, flow.closes)

    def order(self, ts: int, kind: str, notional: int, limit_pct,
              reduce_only: bool = False) -> None:
        """One exogenous market order (a flow's second, a shock's burst): ``notional``
        quote quantums at the index, IOC, no worse than ``limit_pct`` from the index -- a sell
        trades down to ``index x (1 - limit_pct/100)`` at the lowest, a buy up to ``index x
        (1 + limit_pct/100)`` at the highest, each rounded toward the index (at least 1
        tick).  ``reduce_only``: a closing flow's order, capped by the venue at what is
        left of its holding."""
        port = self.port
        side = -1 if kind == "sell" else 1
        ref = port.index_ticks
        send_taker(port, ts, FLOW_ACCOUNT, side, lots_at(notional, ref, port.instrument),
                   protection_limit(ref, side, Fraction(limit_pct) / 100),
                   reduce_only=reduce_only)


def flow_holding(flows, notionals, start: int, instrument) -> int:
    """Signed lots the closing flows (``closes``) hold at the start: each the whole
    window's notional (``notional_per_s x (end - start)`` quantums) at the start price,
    rounded down, long for a sell program (it sells what it holds) and short for a buy
    program.  *Assumed*: a program that closes is a holder de-risking, sized to its full
    programme at the start price; once a falling price has made its per-second lots larger,
    it stops when the holding is gone (reduce-only).  O(flows)."""
    held = 0
    for flow, notional in zip(flows, notionals):
        if flow.closes:
            lo, hi = flow.window
            lots = floor_f(notional * Fraction(hi - lo)) // instrument.lot_value_q(start)
            held += lots if flow.kind == "sell" else -lots
    return held


def lots_at(notional: int, price: int, instrument) -> int:
    """Lots of ``notional`` quantums at ``price`` ticks, rounded down (0: nothing to send)."""
    return notional // instrument.lot_value_q(price)


def send_taker(port, ts: int, account: int, side: int, qty: int, limit: int,
               order_type: int = MARKET, reduce_only: bool = False) -> None:
    """Send one taker order decided at ``ts`` through ``port`` (the order latency applies):
    ``qty`` lots of ``side``, IOC, trading no worse than ``limit`` ticks -- a market order
    with that protection limit, or with ``order_type=LIMIT`` a marketable limit order.
    Nothing is sent for ``qty`` <= 0.  O(1) here; the book's matching on arrival."""
    if qty > 0:
        ex = port.exchange
        port.send(ts, lambda t: ex.submit(t, account, 0, side, qty, price=limit, tif=IOC,
                                          order_type=order_type, reduce_only=reduce_only))


def offset_price(ref: int, offset_pct) -> int:
    """``ref x (1 + offset_pct/100)`` ticks, rounded down, at least 1 tick."""
    return max(1, floor_f(ref * (1 + Fraction(offset_pct) / 100)))


def rest_order(ex, ts: int, account: int, side: int, price: int, notional: int, instrument,
               reduce_only: bool = False):
    """Rest a GTC limit order of ``notional`` quantums at ``price`` (lots rounded down,
    reduce-only if asked); returns ``(order id, lots)``, or None when it comes to 0 lots
    or is refused."""
    qty = lots_at(notional, price, instrument)
    if qty <= 0:
        return None
    oid = ex.next_order_id()
    r = ex.submit(ts, account, 0, side, qty, price=price, order_type=LIMIT,
                  reduce_only=reduce_only)
    return (oid, qty) if r else None

def place_stubs(ex, stubs, notionals, start_ticks: int, instrument) -> None:
    """Rest each ``[[stubs]]`` order at ``start x (1 + offset_pct/100)`` ticks (rounded
    down, at least 1) for its notional (``notionals``, quantums): bids below the start
    price, asks above.  They stay for the whole run -- the stale liquidity a cascade may
    reach."""
    for stub, notional in zip(stubs, notionals):
        price = offset_price(start_ticks, stub.offset_pct)
        rest_order(ex, 0, STUB_ACCOUNT, 1 if price < start_ticks else -1, price, notional,
                   instrument)
