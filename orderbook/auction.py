"""Call-auction price determination (the uncross).

Rule, in order (the Xetra/Eurex auction-price rule, which CME's opening algorithm shares in
its first steps; see docs/reference/breakers-and-events.md, section 1.2, P8/P9):
  1. the price that maximises executable volume min(B(p), S(p)), where B(p) is the bid
     quantity at or above p and S(p) the ask quantity at or below p;
  2. then the least absolute surplus |B(p) - S(p)|;
  3. then, if every remaining candidate leaves the surplus on the buy side, the highest
     price; if every one leaves it on the sell side, the lowest (market pressure);
  4. otherwise the price nearest the reference price; finally the lower price, so results
     are deterministic (this last tie-break is assumed).
Every tick between the best ask and the best bid is a candidate, not only the limit prices.
B and S are step functions that change only at ask prices and one tick above bid prices, so
the range splits into O(C) segments of constant (B, S): the search costs O(C log C) for C
crossed levels whatever the width of the range.
Executing the maximum volume at that price leaves the book uncrossed: a remaining bid at or
above a remaining ask would give a higher volume at the bid's price, contradicting rule 1.
"""
from __future__ import annotations


def find_uncross_price(bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                       reference: int | None) -> tuple[int, int, int]:
    """Return ``(price, volume, imbalance)`` for a crossed book.

    ``bids``: (price, qty) of bid levels at or above the best ask, highest first.
    ``asks``: (price, qty) of ask levels at or below the best bid, lowest first.
    ``imbalance`` is B(p) - S(p).

    >>> find_uncross_price([(105, 3), (101, 4)], [(100, 5), (104, 1)], None)
    (101, 5, 2)
    >>> find_uncross_price([(105, 5)], [(100, 5)], 102)
    (102, 5, 0)
    >>> find_uncross_price([(102, 1), (100, 1)], [(100, 1)], None)
    (101, 1, 0)
    """
    lo, hi = asks[0][0], bids[0][0]
    starts = sorted({lo} | {p for p, _ in asks if lo < p <= hi}
                    | {p + 1 for p, _ in bids if lo < p + 1 <= hi})
    bids_asc = bids[::-1]
    b_total = sum(q for _, q in bids)
    b_below = 0          # bid quantity priced strictly below the segment start
    s_at_or_below = 0
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
    top = max(v for _, _, v, _ in segments)
    segments = [g for g in segments if g[2] == top]
    least = min(abs(i) for _, _, _, i in segments)
    segments = [g for g in segments if abs(g[3]) == least]
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
