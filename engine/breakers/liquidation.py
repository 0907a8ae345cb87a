"""Policies on the liquidation engine itself (docs/reference/breakers-and-events.md P14, P16).

``liq-throttle``  at most ``max_notional_per_s`` quote of liquidation notional starts per
                  second per instrument (cf. dYdX's per-block caps, P14); ``--scale``
                  shrinks it with the scenario (``scale_params``).  On an inverse contract
                  the cap stays in the quote currency (dollars) and is converted to the
                  coin at the mark of each check (assumed).  A unit over the
                  cap is deferred (``LiquidationDeferred``, reason 120) and found again at
                  the next check; within a check units go deepest-first, the order of
                  ``Exchange.liquidatable`` -- so the queue's priority is: most underwater
                  first, then account id.  A unit larger than the whole cap may start when
                  nothing else has started in that second, so the queue always drains.
``liq-pause``     no liquidations while trading is halted (reason 121): margin calls queue
                  and are re-checked at the reopening price (the mark recomputed after the
                  uncross), as the post-10-Oct proposals ask (P16).

Counters (run summary): ``liq_throttle_deferred_checks`` / ``liq_pause_deferred_checks``
count unit-checks turned away -- a unit that waits through n margin checks counts n, so
they measure how long the queue was held, not how many liquidations waited.  The number
of deferral episodes is the summary's ``liquidations_deferred`` (from the event log).
"""
from __future__ import annotations

from fractions import Fraction

from ..config import decimal
from ..venue.codes import BreakerId
from ..venue.rounding import floor_f
from .base import REASON_LIQ_PAUSED, REASON_LIQ_THROTTLED, Policy


def _quote(where, value):
    return Fraction(decimal(where, value, positive=True))


class LiqThrottle(Policy):
    NAME = "liq-throttle"
    DOC = "cap liquidation notional started per second per instrument; the rest waits"
    CODE = BreakerId.LIQ_THROTTLE
    PARAMS = {"max_notional_per_s": ("5000000", _quote,
                                     "quote notional of liquidations that may start per second")}
    SCALED = ("max_notional_per_s",)

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.second = None
        self.used = 0
        self.deferred = 0
        # The cap in quantums (set by start, at bind); an inverse contract's in coin
        # quantums x mark ticks, divided by the mark at each check (``_cap``).
        self.cap = None
        self.inverse = False

    def start(self):
        ins = self.port.instrument
        self.inverse = ins.inverse
        cap = self.params["max_notional_per_s"] * ins.quanta_per_unit
        # The cap is quote currency (dollars); an inverse contract's notional is coin
        # quantums, so there it is converted at the mark of each check (assumed) -- taken
        # as coin, 5M would be 5M XBT a second and never bind.  Rounded down: never more
        # than the configured cap.
        self.cap = cap / Fraction(ins.tick_size) if self.inverse else floor_f(cap)

    def _cap(self, inst: int) -> int:
        if self.cap is None:
            raise RuntimeError("liq-throttle: bind the policy to a run first (Policy.bind)")
        return floor_f(self.cap / self.exchange.marks[inst]) if self.inverse else self.cap

    def gate_liquidation(self, ts, account, inst, notional):
        cap = self._cap(inst)
        second = ts // 1_000_000_000
        if second != self.second:
            self.second, self.used = second, 0
        if self.used and self.used + notional > cap:
            self.deferred += 1
            return REASON_LIQ_THROTTLED
        self.used += notional
        return 0

    def counters(self):
        return {"liq_throttle_deferred_checks": self.deferred}


class LiqPause(Policy):
    NAME = "liq-pause"
    DOC = "no liquidations while trading is halted; margin calls re-checked at the reopen"
    CODE = BreakerId.LIQ_PAUSE

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.deferred = 0

    def pauses_liquidations(self, ts, inst, units):
        if self.exchange.halted:
            self.deferred += units
            return REASON_LIQ_PAUSED
        return 0

    def counters(self):
        return {"liq_pause_deferred_checks": self.deferred}
