"""Call-auction price determination (the uncross).

Rule, in order (the Xetra/Eurex auction-price rule, which CME's opening algorithm shares in
its first steps; see shared/reference/breakers-and-events.md, section 1.2, P8/P9):
  1. the price that maximises executable volume min(B(p), S(p)), where B(p) is the bid
     quantity at or above p and S(p) the ask quantity at or below p;
  2. then the least absolute surplus |B(p) - S(p)|;
  3. then, if every remaining candidate leaves the surplus on the buy side, the highest
     price; if every one leaves it on the sell side, the lowest (market pressure);
  4. otherwise the price nearest the reference price (the reference itself is a candidate
     when it lies inside the crossed range); finally the lower price, so results are
     deterministic (this last tie-break is assumed).
Executing the maximum volume at that price leaves the book uncrossed: a remaining bid at or
above a remaining ask would give a higher volume at the bid's price, contradicting rule 1.
"""
from __future__ import annotations


def find_uncross_price(bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                       reference: int | None) -> tuple[int, int, int]:
    """Return ``(price, volume, imbalance)`` for a crossed book.

    ``bids``: (price, qty) of bid levels at or above the best ask, highest first.
    ``asks``: (price, qty) of ask levels at or below the best bid, lowest first.
    ``imbalance`` is B(p) - S(p).  Runtime complexity: O(C log C) for C candidate prices.

    >>> find_uncross_price([(105, 3), (101, 4)], [(100, 5), (104, 1)], None)
    (101, 5, 2)
    >>> find_uncross_price([(105, 5)], [(100, 5)], 102)
    (102, 5, 0)
    """
    lo, hi = asks[0][0], bids[0][0]
    candidates = {p for p, _ in bids} | {p for p, _ in asks}
    if reference is not None and lo <= reference <= hi:
        candidates.add(reference)
    bids_asc = bids[::-1]
    b_total = sum(q for _, q in bids)
    b_below = 0  # bid quantity priced strictly below the candidate
    s_at_or_below = 0
    bi = ai = 0
    table = []
    for p in sorted(c for c in candidates if lo <= c <= hi):
        while bi < len(bids_asc) and bids_asc[bi][0] < p:
            b_below += bids_asc[bi][1]
            bi += 1
        while ai < len(asks) and asks[ai][0] <= p:
            s_at_or_below += asks[ai][1]
            ai += 1
        buy = b_total - b_below
        table.append((p, min(buy, s_at_or_below), buy - s_at_or_below))
    top_volume = max(v for _, v, _ in table)
    table = [row for row in table if row[1] == top_volume]
    least = min(abs(i) for _, _, i in table)
    table = [row for row in table if abs(row[2]) == least]
    if all(i > 0 for _, _, i in table):
        return table[-1]
    if all(i < 0 for _, _, i in table):
        return table[0]
    if reference is None:
        return table[0]
    return min(table, key=lambda row: (abs(row[0] - reference), row[0]))
