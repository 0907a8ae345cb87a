"""One price level: resting orders in arrival (FIFO) order plus a cached total.

A ``dict`` keyed by order id keeps insertion order, so iteration is time priority and
cancel-by-id is O(1).  The level object is that dict (see ``PriceLevel``).  ``total`` is
kept equal to the sum of the orders' quantities on every change, so depth queries never
sum a level.

A resting order is a plain ``tuple`` of ints and bools, which CPython's cyclic GC stops
tracking after its first collection (why: docs/performance.md).  Records are therefore
immutable: a partial fill or a reduction stores a new tuple under the same key, in the level
and in the id index (a dict keeps a re-assigned key's position, so queue priority is
unchanged), and the level is found by ``side`` and ``price``.  The field positions are the
``R_*`` constants below.
"""
from __future__ import annotations

# Positions inside a resting-order record (an immutable tuple of ints and bools).
R_QTY = 0
R_ID = 1
R_ACCOUNT = 2
R_SIDE = 3
R_PRICE = 4
R_REDUCE_ONLY = 5
R_SEQ = 6
R_STP = 7
R_POST_ONLY = 8


class PriceLevel(dict):
    """Orders resting at one price: the level *is* the insertion-ordered dict
    ``order_id -> record`` (arrival order = time priority), plus a cached ``total``.

    A ``dict`` subclass with one slot: created at C speed (no ``__init__``) and one
    attribute hop shorter on every order access than a level object holding a dict.
    Invariant: non-empty while in a book, and ``total == sum(r[R_QTY] for r in values())``.
    """

    __slots__ = ("total",)

    def __repr__(self) -> str:
        return f"PriceLevel(total={self.total}, orders={len(self)})"
