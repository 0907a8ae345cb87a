"""Call-auction price determination (the uncross): two rules, chosen when the book halts.

Both rules work on B(p), the buy quantity executable at p (market buys plus bids at or above
p), and S(p), the sell quantity executable at p (market sells plus asks at or below p).

``EVERY_TICK`` (0, the default; every policy but ``xetra-vi``), in order:
  1. the price that maximises executable volume min(B(p), S(p));
  2. then the least absolute surplus |B(p) - S(p)|;
  3. then, if every remaining candidate leaves the surplus on the buy side, the highest
     price; if every one leaves it on the sell side, the lowest (market pressure);
  4. otherwise the price nearest the reference price; finally the lower price, so results
     are deterministic (this last tie-break is assumed).
  Every tick between the lowest and the highest limit price in play is a candidate, not
  only the limit prices.  B and S are step functions that change only at ask prices and one
  tick above bid prices, so the range splits into O(C) segments of constant (B, S): the
  search costs O(C log C) for C levels in play whatever the width of the range.

``XETRA`` (1; ``xetra-vi``): the same four steps over the *limit prices in play only*, the
  reference price entering only at step 4 -- the reference itself if it lies between the
  lowest and the highest remaining candidate, else the candidate nearest it -- and as the
  price when only market orders can execute against each other.  Sources: the auction
  price follows the "principle of highest volume transacted" (Xetra trading models,
  xetra.com/xetra-en/trading/trading-models); the surplus is the unexecuted volume on the
  buy or sell side at the auction price (Wiener Boerse on Xetra T7, mondovisione.com, Dec
  2004).  The T7 Market Model for the Trading Venue Xetra gives the rule in full (its
  auction-price section was found but not read here); until it is, these hold:
  - assumed: the step order above, limits only as candidates, the clamp of step 4;
  - assumed: only market orders executable -> the reference price (none: no price);
  - assumed: with no reference price step 4 takes the lowest candidate.
  Between two remaining candidates with surpluses of opposite sign B - S (non-increasing in
  p) keeps |B - S| within the candidates' and the volume at their common maximum, so the
  reference price executes as much as they do.

Market orders in the auction (queued only where the halting policy says so, see
``OrderBook.halt``) are executable at any price: they add to B or S everywhere.  The limit
orders *in play* are the crossed ones (bids at or above the best ask, asks at or below the
best bid: all of them when no market order rests) and, for queued market buys, the asks
above the best bid taken lowest first while the sell quantity ahead of each (market sells
and cheaper asks) has not yet covered the market buys -- an ask beyond that executes at no
price; symmetrically for market sells.  So the every-tick range stays finite:
  - assumed: a market order acts as a limit at the most aggressive limit price in play.

Executing the maximum volume at the chosen price leaves the book uncrossed: a remaining bid
at or above a remaining ask would give a higher volume at the bid's price, contradicting
rule 1 (for the Xetra rule the same holds at a limit price; at a reference price between
two candidates, a remaining crossed pair would lie inside that range and raise the volume).
"""
from __future__ import annotations

from bisect import bisect_left

EVERY_TICK = 0
XETRA = 1
PRICE_RULES = {"every-tick": EVERY_TICK, "xetra": XETRA}


def find_uncross_price(bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                       reference: int | None, market_buy: int = 0, market_sell: int = 0,
                       rule: int = EVERY_TICK) -> tuple[int, int, int] | None:
    """Return ``(price, volume, imbalance)``, or None when nothing can execute.

    ``bids``: (price, qty) of the bid levels in play, highest first.
    ``asks``: (price, qty) of the ask levels in play, lowest first.
    ``market_buy``/``market_sell``: lots of queued market orders.  ``imbalance`` is
    B(p) - S(p).  Without market orders and with a crossed book, ``EVERY_TICK`` gives the
    rule the book has always used.

    >>> find_uncross_price([(105, 3), (101, 4)], [(100, 5), (104, 1)], None)
    (101, 5, 2)
    >>> find_uncross_price([(105, 5)], [(100, 5)], 102)
    (102, 5, 0)
    >>> find_uncross_price([(102, 1), (100, 1)], [(100, 1)], None)
    (101, 1, 0)
    >>> find_uncross_price([(102, 1), (100, 1)], [(100, 1)], None, rule=XETRA)
    (102, 1, 0)
    >>> find_uncross_price([], [], 250, market_buy=4, market_sell=3, rule=XETRA)
    (250, 3, 1)
    """
    if not bids and not asks:
        if market_buy and market_sell and reference is not None:
            return reference, min(market_buy, market_sell), market_buy - market_sell
        return None
    if rule == XETRA:
        return _xetra(bids, asks, reference, market_buy, market_sell)
    lo = min(asks[0][0] if asks else bids[-1][0], bids[-1][0] if bids else asks[0][0])
    hi = max(bids[0][0] if bids else asks[-1][0], asks[-1][0] if asks else bids[0][0])
    starts = sorted({lo} | {p for p, _ in asks if lo < p <= hi}
                    | {p + 1 for p, _ in bids if lo < p + 1 <= hi})
    bids_asc = bids[::-1]
    b_total = market_buy + sum(q for _, q in bids)
    b_below = 0          # bid quantity priced strictly below the segment start
    s_at_or_below = market_sell
    bi = ai = 0
    segments = []        # (start, end, volume, imbalance)
    for k, start in enumerate(starts):
        end = starts[k + 1] - 1 if k + 1 < len(starts) else hi
        while bi < len(bids_asc) and bids_asc[bi][0] < start:
            b_below += bids_asc[bi][1]
            bi += 1
        while ai < len(asks) and asks[ai][0] <= start:
            s_at_or_below += asks[ai][1]
            ai += 1
        buy = b_total - b_below
        segments.append((start, end, min(buy, s_at_or_below), buy - s_at_or_below))
    segments = _steps_1_2(segments, 2)
    if segments is None:
        return None
    if all(i > 0 for *_, i in segments):
        start, end, v, i = segments[-1]
        return end, v, i
    if all(i < 0 for *_, i in segments) or reference is None:
        start, end, v, i = segments[0]
        return start, v, i
    best = None
    for start, end, v, i in segments:
        p = min(max(reference, start), end)
        key = (abs(p - reference), p)
        if best is None or key < best[0]:
            best = (key, (p, v, i))
    return best[1]


def _steps_1_2(rows: list, vol: int) -> list | None:
    """Rows (ascending by price) with the maximum volume (field ``vol``), then the least
    absolute imbalance (the last field); None if nothing executes."""
    top = max(r[vol] for r in rows)
    if not top:
        return None
    rows = [r for r in rows if r[vol] == top]
    least = min(abs(r[-1]) for r in rows)
    return [r for r in rows if abs(r[-1]) == least]


def _xetra(bids, asks, reference, market_buy, market_sell):
    """The Xetra rule (module docstring): candidates are the limit prices in play.
    O(C log C)."""
    bid_px = [p for p, _ in reversed(bids)]          # ascending
    bid_cum = []                                     # bid quantity at or above bid_px[k]
    total = market_buy
    for _, q in bids:
        total += q
        bid_cum.append(total)
    bid_cum.reverse()
    ask_px = [p for p, _ in asks]                    # ascending
    ask_cum = []                                     # ask quantity at or below ask_px[k]
    total = market_sell
    for _, q in asks:
        total += q
        ask_cum.append(total)

    def at(p: int) -> tuple[int, int, int]:
        k = bisect_left(bid_px, p)
        b = bid_cum[k] if k < len(bid_cum) else market_buy
        k = bisect_left(ask_px, p + 1) - 1
        s = ask_cum[k] if k >= 0 else market_sell
        return p, min(b, s), b - s

    rows = _steps_1_2([at(p) for p in sorted(set(bid_px) | set(ask_px))], 1)
    if rows is None:
        return None
    if all(r[2] > 0 for r in rows):
        return rows[-1]
    if all(r[2] < 0 for r in rows) or reference is None:
        return rows[0]
    return at(min(max(reference, rows[0][0]), rows[-1][0]))
