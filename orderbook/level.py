"""One price level: resting orders in arrival (FIFO) order plus a cached total.

A ``dict`` keyed by order id keeps insertion order, so iteration is time priority and
cancel-by-id is O(1).  ``total`` is kept equal to the sum of the orders' quantities on
every change, so depth queries never sum a level.

A resting order is a plain ``list`` (not an object) because the book creates one per add
on its hottest path; a list costs about 40 ns against ~150 ns for a slotted class.  The
field positions are the ``R_*`` constants below.
"""
from __future__ import annotations

# Positions inside a resting-order record (a list, mutated in place on partial fills).
R_QTY = 0
R_ID = 1
R_ACCOUNT = 2
R_SIDE = 3
R_PRICE = 4
R_REDUCE_ONLY = 5
R_SEQ = 6
R_STP = 7
R_POST_ONLY = 8
R_LEVEL = 9       # the PriceLevel the order rests in (cancel goes straight to it)


class PriceLevel:
    """Orders resting at one price.

    Invariant: ``orders`` is non-empty while the level is in a book, and
    ``total == sum(r[R_QTY] for r in orders.values())``.
    """

    __slots__ = ("orders", "total")

    def __init__(self) -> None:
        self.orders: dict[int, list] = {}
        self.total = 0

    def __repr__(self) -> str:
        return f"PriceLevel(total={self.total}, orders={len(self.orders)})"
