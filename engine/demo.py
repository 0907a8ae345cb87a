"""A small, seeded book demonstration used by ``liqsim demo``.

It builds a two-sided ladder of maker quotes, then sends a series of growing market sell
orders protected at 2% below the starting mid -- the shape of a liquidation burst -- and
records for each what it filled, what it could not fill within its protection limit (a
fill failure) and how much bid depth was left within 1% of the starting mid.  It exists
until the replay engine replaces it as the README's main job; it uses only the public
book API.
"""
from __future__ import annotations

import numpy as np

from orderbook import OrderBook, OrderType, Side, TimeInForce


def run_demo(seed: int = 0, levels: int = 200, start_price: int = 100_000) -> dict:
    """Run the demo; return a JSON-ready report (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    book = OrderBook()
    oid = 0
    for i in range(1, levels + 1):
        for side, price in ((Side.BUY, start_price - i * 10), (Side.SELL, start_price + i * 10)):
            oid += 1
            qty = int(rng.geometric(1 / 20))
            book.submit(order_id=oid, account=1 + (i % 5), side=side, price=price, qty=qty)
    band_1pct = start_price * 99 // 100
    protection = start_price * 98 // 100
    baseline = book.depth(Side.BUY, band_1pct)
    bursts = []
    for k, size in enumerate((50, 100, 200, 400, 800, 1600, 3200)):
        oid += 1
        r = book.submit(order_id=oid, account=1000 + k, side=Side.SELL, price=protection,
                        qty=size, order_type=OrderType.MARKET, tif=TimeInForce.IOC)
        bursts.append({
            "order_qty_lots": size,
            "filled_lots": r.filled_qty,
            "unfilled_lots": r.expired_qty,
            "fill_failure": r.expired_qty > 0,
            "worst_price_ticks": min((f.price for f in r.fills), default=None),
            "best_bid_after_ticks": book.best_bid(),
            "bid_depth_1pct_lots": book.depth(Side.BUY, band_1pct),
        })
    return {
        "seed": seed,
        "start_mid_ticks": start_price,
        "protection_limit_ticks": protection,
        "baseline_bid_depth_1pct_lots": baseline,
        "bursts": bursts,
        "resting_orders_end": len(book),
    }
