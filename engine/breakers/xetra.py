"""``xetra-vi``: Xetra volatility interruption (docs/reference/breakers-and-events.md section 1.2,
P9 [S23-S26]; P8 for Eurex's treatment of IOC orders [S20]).

Uses the corridor-and-halt machinery of ``engine.breakers.corridor`` (``BreachHalt``).
"""
from __future__ import annotations

from ..venue.codes import BreakerId
from ..venue.rounding import ceil_f, floor_f
from .base import REASON_XETRA_VI, auction_params, positive_pct, positive_seconds, seconds
from .corridor import BreachHalt


class XetraVolatilityInterruption(BreachHalt):
    """``xetra-vi``: dynamic and static price corridors; a breach starts a VI auction.

    Corridors.  Dynamic: the last price (from continuous trading or an auction) +-
    ``dynamic_pct``; static: the last auction price (initially the start price) +-
    ``static_pct`` [S23].  The corridor is their intersection, rounded inward to whole
    ticks.  Xetra's corridors are per security and undisclosed [S26]: both defaults
    (2% and 5%) are **assumed**.  Xetra's static reference is "the last regular auction
    price" [S23]; a 24/7 replay has no regular auctions, so the VI auction's price
    becomes the static reference (assumed).

    States.
      CONTINUOUS: resting orders stay.  "Incoming orders are (partially) executed until
        the next potential execution price leaves the price corridor (exception: fill or
        kill orders)" [S23]: a limit, market, IOC, stop (market reduce-only) or
        liquidation order whose sweep would leave the corridor is clipped to the corridor
        edge -- it trades up to the edge; an IOC/market/stop/liquidation remainder expires
        (as Eurex cancels an IOC that triggers [S20]; a fill failure for a liquidation),
        a GTC remainder rests at the edge (assumed: Xetra would carry it into the auction
        at its own limit) -- and then the VI auction starts.  If the opposite best is
        already outside the corridor the auction starts before the order matches (a GTC
        order rests in the auction book; a market/IOC order is refused by the halted book).
        An FOK order that would leave the corridor is rejected (reason 116) and starts no
        auction (the "exception" of [S23]; assumed that it triggers nothing).
      VI AUCTION (call phase): orders are entered, modified and cancelled without matching
        [S23]; GTC limit orders rest even if they cross.  Market orders -- stops', flow
        programs' and Hyperliquid's liquidation orders, and one whose first potential
        price already left the corridor -- queue into the auction (``queue_market_orders``,
        default true: Eurex places the triggering order in the auction book [S20]; Xetra's
        auctions take market orders, executed first at the auction price); their remainder
        expires after the uncross (all the engine's market orders are IOC; Xetra carries
        unexecuted market orders into continuous trading: not modelled).  IOC/FOK orders
        are refused (Eurex cancels a triggering IOC [S20]), and so are the liquidation
        orders that are IOC/FOK limits (a fill failure) unless ``liq-pause`` defers the
        liquidation.  Length: ``min_auction_s`` (at least two
        minutes [S24]) plus a random end of 0..``random_end_s`` ("After a minimum duration,
        the call phase in general ends randomly" [S23]; "max. 30 sec." in a Xetra T7
        parametrisation [S25]), drawn in whole milliseconds from the run's seeded
        ``port.rng`` when the auction starts.
      Price determination: the uncross by Xetra's rule (``auction_price_rule = "xetra"``,
        ``orderbook.auction``): the limit price of maximum executable volume, then least
        surplus, then market pressure, then the reference price (the last price); market
        orders alone trade at the reference price.  If there is no crossing
        volume, the auction ends without a price and continuous trading resumes (assumed);
        the references stay as they were, so the next order outside the corridor starts
        another auction.
    Mark and margin during the auction: the mark policy gets no book quotes (index-driven
    mark); margin checks continue every step.  Not modelled: the extended VI ("until
    manually ended" [S23]), mini auctions.
    """

    NAME = "xetra-vi"
    DOC = ("Xetra volatility interruption: next price outside dynamic (last +-) or static "
           "(last auction +-) corridor -> >= 2-minute auction with a random end, uncross")
    CODE = BreakerId.XETRA_VI
    REJECT_FOK = True
    FOK_REASON = REASON_XETRA_VI
    MOVE_REASON = REASON_XETRA_VI
    PARAMS = {
        "dynamic_pct": (2, positive_pct, "dynamic corridor around the last price (assumed)"),
        "static_pct": (5, positive_pct,
                       "static corridor around the last auction price / start price (assumed)"),
        "min_auction_s": (120, positive_seconds, "minimum length of the VI auction's call phase"),
        "random_end_s": (30, seconds, "random end of the call phase: up to this much longer"),
        **auction_params(True, "xetra"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.static_ref = None
        self.uncrossed = 0
        self.no_uncross = 0

    def start(self):
        self.static_ref = self.exchange.marks[0]

    def corridor(self, ts):
        d, s = self.params["dynamic_pct"], self.params["static_pct"]
        last = self.exchange.books[0].last_price or self.static_ref
        ref = self.static_ref
        lo = max(ceil_f(last * (1 - d)), ceil_f(ref * (1 - s)), 1)
        hi = min(floor_f(last * (1 + d)), floor_f(ref * (1 + s)))
        return lo, hi

    def halt_length(self, ts):
        ms = self.params["random_end_s"] // 1_000_000
        return self.params["min_auction_s"] + int(self.port.rng.integers(0, ms + 1)) * 1_000_000

    def on_reopen(self, ts, result):
        if result.volume:
            self.uncrossed += 1
            self.static_ref = result.price
        else:
            self.no_uncross += 1

    def counters(self):
        return {"xetra_vis": self.halts, "xetra_triggers": self.trips,
                "xetra_uncrossed": self.uncrossed, "xetra_resumed_without_auction_price":
                self.no_uncross, "xetra_fok_rejected": self.fok_rejected}
