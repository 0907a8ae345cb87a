"""``cde-hourly``: Coinbase Derivatives price fluctuation limits
(docs/reference/breakers-and-events.md section 1.2, P7 [S19]).

Uses the corridor-and-halt machinery of ``engine.breakers.corridor`` (``BreachHalt``: potential
execution prices checked before matching; the triggering order clipped to the limit; the
halt right after it; an uncross at the end).
"""
from __future__ import annotations

from ..venue.codes import BreakerId
from ..venue.rounding import ceil_f, floor_f
from .base import REASON_CDE_LIMIT, positive_pct, positive_seconds, seconds
from .corridor import BreachHalt


class CoinbaseHourly(BreachHalt):
    """``cde-hourly``: hourly reference, +-10% limits, 2-minute halt (P7 [S19]).

    Reference.  "Each hour, a reference price is calculated ... and a 10% up and down price
    fluctuation limit will be applied" [S19].  How the reference is calculated is not in
    the sources: here, at the start and on each hour of simulation time (the first step at
    or after ``first_hour_s + k x period_s``), the last trade price, else the mark (assumed).
    "Each hour" is read as the clock hour: a scenario that starts at 20:40 sets
    ``first_hour_s`` = 1200 so the reference is renewed at 21:00, not at 21:40.  Limits:
    ``ref x (1 -+ band_pct)``, rounded inward to whole ticks (lower up, upper down).

    States.  OPEN -> (a trade would print outside the limits) -> HALT for ``halt_s`` (two
    minutes [S19]) -> uncross -> OPEN.  On the breach "the new reference prices will be the
    last price fluctuation limit for the remainder of that hour" [S19]: the reference
    becomes the breached limit (so the next band is centred on it) until the hour rolls.

    Orders.  OPEN: resting orders stay; incoming limit, market, IOC, FOK, stop
    (market reduce-only) and liquidation orders trade normally within the limits; an
    order whose sweep would cross a limit is clipped to it (it trades up to the limit; an
    IOC/market/stop/liquidation remainder expires -- a fill failure for a liquidation --
    and a GTC remainder rests at the limit), then the halt starts; if the opposite best
    is already outside the limits the halt starts before the order matches.
    HALT: "orders can be submitted, canceled, and amended but no matching will occur"
    [S19]: GTC limit orders rest even if they cross; market/IOC/FOK, stop and liquidation
    orders are refused by the halted book (a fill failure for a liquidation) unless
    ``liq-pause`` defers the liquidation.  Resting orders stay.
    Mark and margin during the halt: the mark policy gets no book quotes (index-driven
    mark); margin checks continue every step.
    Reopening: the uncross at the volume-maximising price, ties nearest the last price
    (the uncross rule is assumed: [S19] only says trading resumes); the price is not
    constrained to the limits (assumed).  If the book is not crossed, trading resumes
    with no trade.  Not modelled: lead-month propagation to related instruments [S19].
    """

    NAME = "cde-hourly"
    DOC = ("Coinbase Derivatives: +-10% from an hourly reference -> 2-minute halt (order "
           "entry allowed), uncross; the breached limit is the reference for the hour")
    CODE = BreakerId.CDE_HOURLY
    MOVE_REASON = REASON_CDE_LIMIT
    PARAMS = {
        "band_pct": (10, positive_pct, "price fluctuation limit around the hourly reference"),
        "halt_s": (120, positive_seconds,
                   "halt (order entry, no matching) after a breach, then uncross"),
        "period_s": (3600, positive_seconds, "reference recalculated every period (on the hour)"),
        "first_hour_s": (0, seconds, "from the run's start to its first whole hour (0: hours "
                                     "count from the start)"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.ref = None
        self.hour = None
        self.lo = self.hi = 0
        self.reference_changes = 0

    def start(self):
        self._roll(0)

    def _set_ref(self, ref: int) -> None:
        b = self.params["band_pct"]
        self.ref = ref
        self.lo = max(1, ceil_f(ref * (1 - b)))
        self.hi = floor_f(ref * (1 + b))

    def _roll(self, ts):
        # Before the first whole hour the index is negative: the start's reference holds.
        hour = (ts - self.params["first_hour_s"]) // self.params["period_s"]
        if hour != self.hour:
            self.hour = hour
            book = self.exchange.books[0]
            self._set_ref(book.last_price or self.exchange.marks[0])

    def observe(self, ts):
        self._roll(ts)

    def corridor(self, ts):
        self._roll(ts)
        return self.lo, self.hi

    def on_breach(self, ts, edge):
        # "the new reference prices will be the last price fluctuation limit" [S19]
        self._set_ref(edge)
        self.reference_changes += 1

    def halt_length(self, ts):
        return self.params["halt_s"]

    def counters(self):
        return {"cde_trips": self.trips, "cde_halts": self.halts}
