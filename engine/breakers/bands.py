"""``price-band``: Binance-style order-entry protection around the mark price.

Reference docs/reference/breakers-and-events.md P10 (Binance PERCENT_PRICE and
marketTakeBound; BTCUSDT snapshot: multipliers 1.05 / 0.95, marketTakeBound 0.05), P11 (Bybit futures reprice to the
nearest allowed price) and P15 (Paradex: a market order gets the band as its limit and the
rest is rejected).  No halt ever.

* a BUY limit above mark x (1 + band) or a SELL limit below mark x (1 - band):
  ``mode = "reject"`` (Binance) rejects it (reason 110); ``mode = "reprice"`` (Bybit)
  moves it to the band edge;
* a market order gets mark x (1 +- take_bound) as its protection price, so it never
  trades beyond it and its remainder expires (Binance marketTakeBound; Paradex "cap");
  ``price_band_market_capped`` counts the market orders the bound stopped (a remainder
  expired with liquidity left beyond it), not every order given the bound;
* liquidation orders: subject to the bands only if ``apply_to_liquidations`` (whether
  Binance applies them to liquidations is unconfirmed, reference P10: default false).
Band edges round inward to whole ticks (a buy band down, a sell band up).  ``limit_edge``
tells the insurance fund's offload the edge, so the fund prices inside the band instead of
sending orders that are refused (``engine.liquidation.offload``).
"""
from __future__ import annotations

from orderbook.enums import MARKET

from ..config import boolean
from ..venue.codes import BreakerId
from ..venue.rounding import ceil_f, floor_f
from .base import REASON_MARKET_BOUND, REASON_PRICE_BAND, Policy, choice, pct


class PriceBand(Policy):
    NAME = "price-band"
    DOC = ("order-entry protection around mark (Binance PERCENT_PRICE / marketTakeBound; "
           "reprice mode = Bybit futures; market orders capped at the band = Paradex)")
    CAP_REASON = REASON_MARKET_BOUND
    CODE = BreakerId.PRICE_BAND
    PARAMS = {
        "band_pct": (5, pct, "limit orders outside mark x (1 +- band) are rejected/repriced"),
        "take_bound_pct": (5, pct, "market orders never trade beyond mark x (1 +- bound)"),
        "mode": ("reject", choice("reject", "reprice"), "what happens to a limit outside the band"),
        "apply_to_liquidations": (False, boolean, "whether liquidation orders are banded too"),
    }

    def __init__(self, params=None, where="breaker"):
        super().__init__(params, where)
        self.rejected = 0
        self.repriced = 0
        self.capped = 0

    def gate_order(self, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        if liquidation and not self.params["apply_to_liquidations"]:
            return price, 0
        mark = self.exchange.marks[inst]
        if mark is None:
            return price, 0
        if order_type == MARKET:   # the take bound becomes (or tightens) its protection
            edge = _band_edge(mark, side, self.params["take_bound_pct"])
            if price is None or side * (price - edge) > 0:
                self.moved = REASON_MARKET_BOUND
                return max(edge, 1), 0
            return price, 0
        edge = _band_edge(mark, side, self.params["band_pct"])
        if side * (price - edge) > 0:
            if self.params["mode"] == "reject":
                self.rejected += 1
                return price, REASON_PRICE_BAND
            self.repriced += 1
            self.moved = REASON_PRICE_BAND
            return max(edge, 1), 0
        return price, 0

    def limit_edge(self, inst, side):
        """The band edge a limit order of ``side`` may rest at now; None before a mark."""
        mark = self.exchange.marks[inst]
        return None if mark is None else max(_band_edge(mark, side, self.params["band_pct"]), 1)

    def counters(self):
        return {"price_band_rejected": self.rejected, "price_band_repriced": self.repriced,
                "price_band_market_capped": self.capped}


def _band_edge(mark: int, side: int, band) -> int:
    """mark x (1 +- band) in ticks, rounded inward (a buy's down, a sell's up)."""
    edge = mark * (1 + side * band)
    return floor_f(edge) if side > 0 else ceil_f(edge)
