"""Exogenous order flow the scenario scripts: sell/buy programs (``[[flows]]``), macro shocks'
one-off market orders (``[[shocks]]``) and stale deep resting orders (``[[stubs]]``).

All of it trades from account ``FLOW_ACCOUNT`` (programs, shocks) or ``STUB_ACCOUNT``
(stubs), both deep-pocketed and never near liquidation (``engine.venue.accounts``).

Sizes: a notional in quantums (``ScenarioUnits``) becomes lots at the reference price, rounded
down (``notional // (price x tick_lot_quanta)``); an order of 0 lots is not sent.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import IOC, MARKET

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
                self.order(ts, flow.kind, notional, flow.limit_pct)

    def order(self, ts: int, kind: str, notional: int, limit_pct) -> None:
        """One exogenous market order (a flow's second, a shock's burst): ``notional``
        quote quantums at the index, IOC, no worse than ``limit_pct`` from the index -- a sell
        trades down to ``index x (1 - limit_pct/100)`` at the lowest, a buy up to ``index x
        (1 + limit_pct/100)`` at the highest, each rounded toward the index (at least 1
        tick)."""
        port = self.port
        ex, instrument = port.exchange, port.instrument
        side = -1 if kind == "sell" else 1
        ref = port.index_ticks
        qty = notional // (ref * instrument.tick_lot_quanta)
        limit = protection_limit(ref, side, Fraction(limit_pct) / 100)
        if qty > 0:
            port.send(ts, lambda t: ex.submit(t, FLOW_ACCOUNT, 0, side, qty, price=limit,
                                              tif=IOC, order_type=MARKET))


def place_stubs(ex, stubs, notionals, start_ticks: int, instrument) -> None:
    """Rest each ``[[stubs]]`` order at ``start x (1 + offset_pct/100)`` ticks (rounded
    down, at least 1) for its notional (``notionals``, quantums): bids below the start
    price, asks above.  They stay for the whole run -- the stale liquidity a cascade may
    reach."""
    t = instrument.tick_lot_quanta
    for stub, notional in zip(stubs, notionals):
        price = max(1, floor_f(start_ticks * (1 + Fraction(stub.offset_pct) / 100)))
        qty = notional // (price * t)
        if qty > 0:
            ex.submit(0, STUB_ACCOUNT, 0, 1 if price < start_ticks else -1, qty, price=price)
