"""What the book returns: fills, submit results, rejections, auction results.

All of them are tuples (``typing.NamedTuple``) so that the hot path builds them with
``tuple.__new__(cls, (...))`` -- about 100 ns against 230 ns for the generated
``__new__`` -- and so that they pack straight into numpy rows.  None holds a reference
to the book or to an owner.
"""
from __future__ import annotations

from typing import NamedTuple

from .enums import OrderStatus, Reason


class Fill(NamedTuple):
    """One execution between a resting (maker) and an incoming (taker) order.

    ``aggressor`` is the taker's side (+1 buy, -1 sell), or 0 for an auction uncross,
    where the order that arrived later is reported as the taker.
    """

    maker_id: int
    taker_id: int
    price: int
    qty: int
    maker_account: int
    taker_account: int
    aggressor: int


_new = tuple.__new__


def _as_fill(row: tuple) -> Fill:
    return _new(Fill, row)


class Fills(list):
    """The fills of one order: a list of plain 7-tuples in ``Fill`` field order, read as
    ``Fill`` named tuples.

    The book appends plain tuples (~7 ns each) instead of building a named tuple per fill
    (~100 ns); indexing and iterating hand out ``Fill`` objects, so ``f.maker_id`` etc.
    work as documented, and ``len()`` costs nothing.  Comparison with a list of ``Fill``
    is element-wise tuple equality.  ``rows()`` gives the raw tuples to hot code that
    unpacks them anyway (the engine).
    """

    __slots__ = ()

    def __getitem__(self, index):
        item = list.__getitem__(self, index)
        if type(index) is slice:
            return [_new(Fill, row) for row in item]
        return _new(Fill, item)

    def __iter__(self):
        return map(_as_fill, list.__iter__(self))

    def __reversed__(self):
        return map(_as_fill, list.__reversed__(self))

    def rows(self):
        """Iterate the raw tuples (maker_id, taker_id, price, qty, maker_account,
        taker_account, aggressor)."""
        return list.__iter__(self)

    def __repr__(self) -> str:
        return repr(list(self))


class OrderInfo(NamedTuple):
    """A resting order as seen from outside (returned by ``cancel``/``order``)."""

    order_id: int
    account: int
    side: int
    price: int
    qty: int
    reduce_only: bool


class SubmitResult(NamedTuple):
    """Outcome of ``OrderBook.submit``/``replace``.

    ``fills`` is a ``Fills`` list in execution order (each item read as a ``Fill``), or
    ``()`` when nothing traded.
    ``filled_qty + resting_qty + expired_qty`` equals the order's quantity unless the
    order was rejected (then all three are 0).  ``stp_cancelled`` lists the resting
    orders that self-trade prevention cancelled (EXPIRE_MAKER/EXPIRE_BOTH).
    The result is falsy only when the order was rejected.
    """

    order_id: int
    status: OrderStatus
    fills: Fills | tuple    # ``Fills`` (read as ``Fill``); the empty tuple when nothing traded
    filled_qty: int
    resting_qty: int
    expired_qty: int
    reason: Reason
    stp_cancelled: tuple

    def __bool__(self) -> bool:
        return self[1] != 5  # OrderStatus.REJECTED


class Rejection(NamedTuple):
    """A refused cancel/reduce/replace; always falsy."""

    order_id: int
    reason: Reason

    def __bool__(self) -> bool:
        return False


class AuctionResult(NamedTuple):
    """Outcome (or indication) of a call-auction uncross.

    ``price`` is None when the book is not crossed.  ``imbalance`` is buy volume minus
    sell volume eligible at ``price`` (positive: buyers left over).  ``expired`` lists
    (``OrderInfo``, with the lots left) the market orders queued in the auction whose
    remainder expired at the uncross (empty for an indication, and whenever the halt did
    not queue market orders).
    """

    price: int | None
    volume: int
    imbalance: int
    fills: list
    expired: tuple = ()
