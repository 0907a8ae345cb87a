"""The venue's limit order book: price-time priority matching on integer ticks and lots.

Ordering invariant
    Within a price, orders match in arrival order (a level is an insertion-ordered dict).
    Across prices, the best price matches first.  Each side keeps a plain ``dict`` price ->
    ``PriceLevel`` and a sorted list of its level keys ``side x price`` in ascending order,
    so the best price is always the *last* key: emptying the best level is ``list.pop()``.
    The keys are kept sorted with ``bisect`` -- what a ``sortedcontainers.SortedList``
    does below its load factor, minus its method overhead (docs/performance.md); beyond a
    few thousand levels an insertion deep in the book costs an O(L) memmove in C.  The best
    price of each side is cached.

Modify semantics
    ``reduce`` lowers a resting order's quantity and keeps its queue position.
    ``replace`` with a new price or a larger quantity cancels and re-enters the order with
    the same id: it loses priority and may trade on entry.

Self-trade prevention
    Binance USD-M modes (``SelfTradePrevention``), keyed by account; the taker's mode
    decides.  Cancelled makers are listed in ``SubmitResult.stp_cancelled``.

Auction mode
    ``halt()`` stops continuous matching: limit GTC orders rest even if they cross; market,
    IOC and FOK orders are rejected (``MATCHING_HALTED``).  ``halt(queue_market=True)``
    instead queues market orders (not FOK) into the auction, as Xetra and the LULD
    reopening do: one without a protection price rests unpriced, ahead of every limit of
    its side (executable at any auction price; time priority among market orders); one
    with a protection price rests as a limit at that price.  Either takes part in the next
    uncross and its remainder then expires (a market order's remainder always expires);
    it may be cancelled or reduced meanwhile.  ``uncross()`` executes the call auction at
    the single price of ``halt``'s ``price_rule`` (``orderbook.auction``: every tick, or
    Xetra's limits-and-reference rule); ``resume`` uncrosses and returns to continuous
    matching.
    No self-trade prevention in an uncross (assumed: the referenced venues describe STP for
    continuous trading only).  Queued market orders count in
    ``len``, ``order`` and ``resting_qty`` but rest at no price level, so no depth query
    sees them.

Ownership
    The book computes and returns what happened (fills, expiries, rejections); it holds no
    reference to an owner, takes no clock and calls nothing back.  Invalid requests --
    unknown, duplicate or finished ids, bad prices or quantities -- are rejections with a
    ``Reason``, never exceptions.

Complexity (L = levels on a side, k = levels or orders touched)
    submit resting at an existing level O(1); at a new level O(log L); a sweep O(k + log L
    per emptied level); cancel O(1), O(log L) when it empties a level; best bid/ask O(1);
    depth queries O(log L + levels in range).

Performance
    The hot methods follow the sortedcontainers style: attributes bound to locals once,
    plain ints instead of enum members, tuples built with ``tuple.__new__``.  Per-side state
    lives in 3-element lists indexed by the signed side (``x[1]`` bids, ``x[-1]`` asks) so
    one code path serves both sides.  Resting records are immutable tuples of ints, which
    the cyclic GC stops tracking (``orderbook.level``): a partial fill or a reduction
    replaces the record under its key instead of mutating it.
"""
from __future__ import annotations

from bisect import bisect_left, insort

from .auction import EVERY_TICK, find_uncross_price
from .enums import (FOK, GTC, IOC, LIMIT, MARKET, STP_EXPIRE_BOTH, STP_EXPIRE_MAKER, STP_EXPIRE_TAKER,
                    STP_NONE,
                    OrderStatus, Reason, Side)
from .level import (R_ACCOUNT, R_ID, R_POST_ONLY, R_PRICE, R_QTY, R_REDUCE_ONLY, R_SEQ,
                    R_SIDE, R_STP, PriceLevel)
from .results import AuctionResult, Fills, OrderInfo, Rejection, SubmitResult

_new = tuple.__new__
_new_list = list.__new__

# Enum members bound once for results (constructing ``OrderStatus(x)`` in a loop is slow).
_NEW = OrderStatus.NEW
_PARTIAL = OrderStatus.PARTIALLY_FILLED
_FILLED = OrderStatus.FILLED
_EXPIRED = OrderStatus.EXPIRED
_REJECTED = OrderStatus.REJECTED
_R_NONE = Reason.NONE
_R_IOC = Reason.IOC_REMAINDER
_R_FOK = Reason.FOK_NOT_FILLABLE
_R_STP = Reason.SELF_TRADE_PREVENTED
_NO_FILLS: tuple = ()
_SIDE_TYPES = frozenset((int, Side))   # not bool, not float: 1.0 must not index a side list


def _info(rec: list) -> OrderInfo:
    return _new(OrderInfo, (rec[R_ID], rec[R_ACCOUNT], rec[R_SIDE], rec[R_PRICE], rec[R_QTY],
                            rec[R_REDUCE_ONLY]))


class OrderBook:
    """A continuous limit order book with a call auction for halts.

    >>> from orderbook import OrderBook, Side, TimeInForce
    >>> book = OrderBook()
    >>> book.submit(order_id=1, account=7, side=Side.SELL, price=100_000, qty=5).status.name
    'NEW'
    >>> r = book.submit(order_id=2, account=8, side=Side.BUY, price=100_000, qty=3,
    ...                 tif=TimeInForce.IOC)
    >>> [(f.maker_id, f.taker_id, f.price, f.qty) for f in r.fills]
    [(1, 2, 100000, 3)]
    >>> book.best_ask(), book.best_bid(), len(book)
    (100000, None, 1)
    """

    __slots__ = ("_levels", "_prices", "_best", "_index", "_seq", "_halted",
                 "last_price", "_mkt", "_queue_mkt", "_rule", "_expiring")

    def __init__(self) -> None:
        # Index 1: bids, index -1 (== 2): asks; index 0 unused.
        self._levels: list = [None, {}, {}]
        self._prices: list = [None, [], []]  # side*price, ascending: best last
        self._best: list = [None, None, None]
        self._index: dict[int, list] = {}
        self._seq = 0
        self._halted = False
        self.last_price: int | None = None
        # Auction mode (``halt``): market orders queued without a price, per side
        # (id -> record, arrival order); whether market orders queue; the price rule; the
        # protected market orders resting at their protection price (id -> arrival
        # number, which tells them from a later order re-using the id).
        self._mkt: list = [None, {}, {}]
        self._queue_mkt = False
        self._rule = EVERY_TICK
        self._expiring: dict[int, int] = {}

    # ------------------------------------------------------------------ entry
    def submit(self, order_id: int, account: int, side: int, price: int | None = None,
               qty: int = 0, tif: int = GTC, order_type: int = LIMIT, post_only: bool = False,
               reduce_only: bool = False, stp: int = STP_NONE) -> SubmitResult:
        """Enter an order; return what happened to it.

        ``price`` is the limit price in ticks; for a market order it is an optional
        protection limit (the order never trades beyond it) or None.  A market order's
        remainder always expires, whatever ``tif``.  FOK fills in full or not at all
        (``EXPIRED`` with ``FOK_NOT_FILLABLE``, and the book unchanged).  Post-only is a
        GTC limit that is rejected if it would take.  ``reduce_only`` only travels with the
        order: the engine enforces it.

        Runtime complexity: O(1) to rest at an existing level, O(log L) at a new one,
        plus O(k) for k makers matched.
        """
        # Fast path: a valid limit GTC/IOC order while matching runs -- nearly all flow.
        # Post-only and self-trade prevention only matter when the order crosses, so a
        # non-crossing one rests here too; a crossing one with either falls through to the
        # full path, as does anything unusual (which re-validates, so the order of
        # rejection reasons is unchanged).  Literals, not the LIMIT/GTC/IOC aliases, for
        # speed: 1 = LIMIT and GTC, 2 = IOC, 0-3 the STP modes (orderbook.enums).
        if (type(price) is int and type(qty) is int and price > 0 and qty > 0
                and (type(side) is int or type(side) is Side) and (side == 1 or side == -1)
                and order_type == 1 and (tif == 1 or (tif == 2 and post_only is False))
                and (stp == 0 or stp == 1 or stp == 2 or stp == 3) and not self._halted):
            # A plain int from here on: indexing a list with an IntEnum (Side.BUY) misses
            # CPython's int fast path and cost ~400 instructions per order (callgrind).
            side = 1 if side == 1 else -1
            index = self._index
            if order_id not in index:
                best_opp = self._best[-side]
                if best_opp is None or side * (price - best_opp) < 0:
                    if tif == 2:
                        return _new(SubmitResult, (order_id, _EXPIRED, _NO_FILLS, 0, 0, qty,
                                                   _R_IOC, ()))
                    # Rest: the body of _rest, inlined on purpose (a method call here costs
                    # ~5% of the order-book benchmark).
                    levels = self._levels[side]
                    level = levels.get(price)
                    if level is None:
                        level = levels[price] = PriceLevel()
                        level.total = 0
                        insort(self._prices[side], side * price)
                        best = self._best
                        b = best[side]
                        if b is None or side * (price - b) > 0:
                            best[side] = price
                    rec = (qty, order_id, account, side, price, reduce_only, 0, stp, post_only)
                    level[order_id] = rec
                    level.total += qty
                    index[order_id] = rec
                    return _new(SubmitResult, (order_id, _NEW, _NO_FILLS, 0, qty, 0, _R_NONE, ()))
                if not stp and not post_only:
                    remaining, fills = self._sweep(order_id, account, side, price, qty)
                    filled = qty - remaining
                    if not remaining:
                        return _new(SubmitResult, (order_id, _FILLED, fills, filled, 0, 0,
                                                   _R_NONE, ()))
                    if tif == 2:
                        return _new(SubmitResult, (order_id, _EXPIRED, fills, filled, 0,
                                                   remaining, _R_IOC, ()))
                    self._rest(order_id, account, side, price, remaining, reduce_only, 0)
                    return _new(SubmitResult, (order_id, _PARTIAL, fills, filled, remaining, 0,
                                               _R_NONE, ()))
        # Validation, cheapest checks first; every failure is a rejection, never a raise.
        if side.__class__ not in _SIDE_TYPES or (side != 1 and side != -1):
            return self._reject(order_id, Reason.INVALID_SIDE)
        side = 1 if side == 1 else -1      # plain int (see the fast path)
        if type(qty) is not int or qty <= 0:
            return self._reject(order_id, Reason.INVALID_QUANTITY)
        if order_type == LIMIT:
            if type(price) is not int or price <= 0:
                return self._reject(order_id, Reason.INVALID_PRICE)
        elif order_type == MARKET:
            if price is not None and (type(price) is not int or price <= 0):
                return self._reject(order_id, Reason.INVALID_PRICE)
            if post_only:
                return self._reject(order_id, Reason.INVALID_ORDER_TYPE)
        else:
            return self._reject(order_id, Reason.INVALID_ORDER_TYPE)
        if tif != GTC and tif != IOC and tif != FOK or (post_only and tif != GTC):
            return self._reject(order_id, Reason.INVALID_TIME_IN_FORCE)
        if stp != STP_NONE and stp != STP_EXPIRE_TAKER and stp != STP_EXPIRE_MAKER and stp != STP_EXPIRE_BOTH:
            return self._reject(order_id, Reason.INVALID_STP_MODE)
        if order_id in self._index:
            return self._reject(order_id, Reason.DUPLICATE_ORDER_ID)

        immediate = order_type == MARKET or tif != GTC
        if self._halted:
            if immediate:
                if order_type == MARKET and tif != FOK and self._queue_mkt:
                    self._queue_market(order_id, account, side, price, qty, reduce_only, stp)
                    return _new(SubmitResult, (order_id, _NEW, _NO_FILLS, 0, qty, 0, _R_NONE,
                                               ()))
                return self._reject(order_id, Reason.MATCHING_HALTED)
            self._rest(order_id, account, side, price, qty, reduce_only, stp, post_only)
            return _new(SubmitResult, (order_id, _NEW, _NO_FILLS, 0, qty, 0, _R_NONE, ()))

        best_opp = self._best[-side]
        if best_opp is None or (price is not None and side * (price - best_opp) < 0):
            # Does not cross: the common case for passive flow.
            if immediate:
                return _new(SubmitResult, (order_id, _EXPIRED, _NO_FILLS, 0, 0, qty,
                                           _R_FOK if tif == FOK else _R_IOC, ()))
            self._rest(order_id, account, side, price, qty, reduce_only, stp, post_only)
            return _new(SubmitResult, (order_id, _NEW, _NO_FILLS, 0, qty, 0, _R_NONE, ()))

        if post_only:
            return self._reject(order_id, Reason.POST_ONLY_WOULD_TAKE)
        if tif == FOK and self._fillable(account, side, price, qty, stp) < qty:
            return _new(SubmitResult, (order_id, _EXPIRED, _NO_FILLS, 0, 0, qty, _R_FOK, ()))

        remaining, fills, stp_cancelled, stopped = self._take(order_id, account, side, price,
                                                              qty, stp)
        filled = qty - remaining
        if not fills:
            fills = _NO_FILLS
        if not remaining:
            return _new(SubmitResult, (order_id, _FILLED, fills, filled, 0, 0, _R_NONE,
                                       stp_cancelled))
        if stopped:
            return _new(SubmitResult, (order_id, _EXPIRED, fills, filled, 0, remaining, _R_STP,
                                       stp_cancelled))
        if immediate:
            return _new(SubmitResult, (order_id, _EXPIRED, fills, filled, 0, remaining, _R_IOC,
                                       stp_cancelled))
        self._rest(order_id, account, side, price, remaining, reduce_only, stp)
        return _new(SubmitResult, (order_id, _PARTIAL if filled else _NEW, fills, filled,
                                   remaining, 0, _R_NONE, stp_cancelled))

    @staticmethod
    def _reject(order_id, reason: Reason) -> SubmitResult:
        return _new(SubmitResult, (order_id, _REJECTED, _NO_FILLS, 0, 0, 0, reason, ()))

    def _rest(self, order_id, account, side, price, qty, reduce_only, stp,
              post_only=False) -> None:
        """Append an order at the back of its level's queue (creating the level)."""
        levels = self._levels[side]
        level = levels.get(price)
        if level is None:
            level = levels[price] = PriceLevel()
            level.total = 0
            insort(self._prices[side], side * price)
            best = self._best
            b = best[side]
            if b is None or side * (price - b) > 0:
                best[side] = price
        if self._halted:        # arrival numbers matter only in an auction (see uncross)
            self._seq = seq = self._seq + 1
        else:
            seq = 0
        rec = (qty, order_id, account, side, price, reduce_only, seq, stp, post_only)
        level[order_id] = rec
        level.total += qty
        self._index[order_id] = rec

    def _queue_market(self, order_id, account, side, price, qty, reduce_only, stp) -> None:
        """Queue a market order in the auction (``halt(queue_market=True)``): unpriced in
        the side's market queue, or at its protection price in the levels, noted to expire
        at the uncross.  O(1), or O(log L) at a new level."""
        if price is None:
            self._seq = seq = self._seq + 1
            rec = (qty, order_id, account, side, None, reduce_only, seq, stp, False)
            self._mkt[side][order_id] = self._index[order_id] = rec
        else:
            self._rest(order_id, account, side, price, qty, reduce_only, stp)
            self._expiring[order_id] = self._seq

    def _sweep(self, taker_id, account, side, limit, qty):
        """``_take`` without self-trade prevention, for an int ``limit`` that crosses the
        opposite best.  Whole levels are dropped at once (decided on the cached total).
        Returns ``(remaining, fills)``."""
        opp = -side
        levels = self._levels[opp]
        keys = self._prices[opp]
        index = self._index
        fills = _new_list(Fills)       # an empty Fills without calling list.__init__
        append = fills.append
        remaining = qty
        px = self._best[opp]
        while True:
            level = levels[px]
            total = level.total
            if total <= remaining:
                for rec in level.values():
                    oid = rec[1]
                    append((oid, taker_id, px, rec[0], rec[2], account, side))
                    del index[oid]
                remaining -= total
                del levels[px]
                keys.pop()
                if not keys:
                    px = None
                    break
                px = opp * keys[-1]
                if not remaining or side * (limit - px) < 0:
                    break
                continue
            orders = level
            left = remaining
            done = []
            for rec in orders.values():
                q = rec[0]
                oid = rec[1]
                if q <= left:
                    append((oid, taker_id, px, q, rec[2], account, side))
                    done.append(oid)
                    left -= q
                    if not left:
                        break
                else:
                    append((oid, taker_id, px, left, rec[2], account, side))
                    # Records are immutable: the rest of the order replaces it in place
                    # (same key, so the same queue position).
                    orders[oid] = index[oid] = (q - left,) + rec[1:]
                    break
            for oid in done:
                del orders[oid]
                del index[oid]
            level.total = total - remaining
            remaining = 0
            break
        self._best[opp] = px
        if fills:
            # list.__getitem__: Fills indexing would build a Fill (a hot path).
            self.last_price = list.__getitem__(fills, -1)[2]
        return remaining, fills

    def _take(self, taker_id, account, side, limit, qty, stp):
        """Match an incoming order against the opposite side, best price first.

        Returns ``(remaining, fills, stp_cancelled, stopped_by_stp)``.  The caller has
        checked that the order crosses the opposite best price.
        """
        opp = -side
        levels = self._levels[opp]
        prices = self._prices[opp]
        index = self._index
        fills = _new_list(Fills)       # an empty Fills without calling list.__init__
        append = fills.append
        stp_cancelled: tuple = ()
        remaining = qty
        stopped = False
        removed_total = 0
        px = self._best[opp]
        while px is not None and (limit is None or side * (limit - px) >= 0):
            level = levels[px]
            orders = level
            consumed = []
            removed = 0
            for rec in orders.values():
                if stp and rec[R_ACCOUNT] == account:
                    if stp == STP_EXPIRE_MAKER or stp == STP_EXPIRE_BOTH:
                        consumed.append(rec[R_ID])
                        removed += rec[R_QTY]
                        stp_cancelled += (_info(rec),)
                        if stp == STP_EXPIRE_MAKER:
                            continue
                    stopped = True
                    break
                q = rec[R_QTY]
                if q <= remaining:
                    append((rec[R_ID], taker_id, px, q, rec[R_ACCOUNT], account, side))
                    consumed.append(rec[R_ID])
                    removed += q
                    remaining -= q
                    if not remaining:
                        break
                else:
                    append((rec[R_ID], taker_id, px, remaining, rec[R_ACCOUNT], account,
                            side))
                    orders[rec[R_ID]] = index[rec[R_ID]] = (q - remaining,) + rec[1:]
                    removed += remaining
                    remaining = 0
                    break
            removed_total += removed
            if len(consumed) == len(orders):
                # The level is exhausted: drop it whole, then look at the next price.
                del levels[px]
                prices.pop()
                for oid in consumed:
                    del index[oid]
                px = opp * prices[-1] if prices else None
                if remaining and not stopped:
                    continue
            else:
                for oid in consumed:
                    del orders[oid]
                    del index[oid]
                level.total -= removed
            break
        self._best[opp] = px
        if fills:
            # list.__getitem__: Fills indexing would build a Fill (a hot path).
            self.last_price = list.__getitem__(fills, -1)[2]
        return remaining, fills, stp_cancelled, stopped

    def _fillable(self, account, side, limit, qty, stp) -> int:
        """Quantity an order could take now (at most ``qty``), honouring STP; read-only."""
        opp = -side
        levels = self._levels[opp]
        prices = self._prices[opp]
        available = 0
        for k in reversed(prices):
            px = opp * k
            if limit is not None and side * (limit - px) < 0:
                break
            level = levels[px]
            if not stp:
                available += level.total
            else:
                for rec in level.values():
                    if rec[R_ACCOUNT] == account:
                        if stp == STP_EXPIRE_MAKER:
                            continue
                        return available
                    available += rec[R_QTY]
            if available >= qty:
                return available
        return available

    # ------------------------------------------------------------ amendments
    def cancel(self, order_id: int) -> int | Rejection:
        """Remove a resting order.  Returns the quantity it still had (a positive int, so
        truthy) or a falsy ``Rejection`` with ``ORDER_NOT_RESTING`` for an unknown, filled
        or already cancelled id; never raises.  ``order(id)`` gives the details first if you
        need them.  Runtime complexity: O(1), or O(log L) plus a memmove when the level
        empties and is not the best.
        """
        try:        # zero-cost when the id rests (CPython 3.11); unknown ids are rare
            rec = self._index.pop(order_id)
        except (KeyError, TypeError):
            return _new(Rejection, (order_id, Reason.ORDER_NOT_RESTING))
        qty = rec[0]
        side = rec[3]
        price = rec[4]
        if price is None:                   # a market order queued in an auction
            del self._mkt[side][order_id]
            return qty
        levels = self._levels[side]
        level = levels[price]
        del level[order_id]
        if level:
            level.total -= qty
        else:
            del levels[price]
            prices = self._prices[side]
            if self._best[side] == price:
                prices.pop()
                self._best[side] = side * prices[-1] if prices else None
            else:
                del prices[bisect_left(prices, side * price)]
        return qty

    def reduce(self, order_id: int, new_qty: int) -> OrderInfo | Rejection:
        """Lower a resting order's quantity to ``new_qty`` (0 < new_qty < current),
        keeping its queue position.  Runtime complexity: O(1)."""
        rec = self._index.get(order_id)
        if rec is None:
            return _new(Rejection, (order_id, Reason.ORDER_NOT_RESTING))
        if type(new_qty) is not int or new_qty <= 0:
            return _new(Rejection, (order_id, Reason.INVALID_QUANTITY))
        if new_qty >= rec[R_QTY]:
            return _new(Rejection, (order_id, Reason.NOT_A_REDUCTION))
        return _info(self._shrink(order_id, new_qty))

    def _shrink(self, order_id: int, qty: int) -> tuple:
        """Store resting order ``order_id`` with the smaller quantity ``qty`` (> 0): a new
        record under the same key keeps its queue position; the level total follows.
        Returns the new record.  O(1)."""
        rec = self._index[order_id]
        if rec[R_PRICE] is None:            # a market order queued in an auction
            self._mkt[rec[R_SIDE]][order_id] = self._index[order_id] = rec = (qty,) + rec[1:]
            return rec
        level = self._levels[rec[R_SIDE]][rec[R_PRICE]]
        level.total -= rec[R_QTY] - qty
        level[order_id] = self._index[order_id] = rec = (qty,) + rec[1:]
        return rec

    def replace(self, order_id: int, price: int | None = None,
                qty: int | None = None) -> SubmitResult | Rejection:
        """Change a resting order's price and/or quantity.

        A smaller quantity at the same price is a ``reduce`` (priority kept).  A new price or
        a larger quantity cancels the order and re-enters it under the same id, account,
        side, flags and STP mode: it goes to the back of the queue and may trade on entry.
        A post-only order that would take at its new price is rejected
        (``POST_ONLY_WOULD_TAKE``) and stays as it was.
        """
        rec = self._index.get(order_id)
        if rec is None:
            return _new(Rejection, (order_id, Reason.ORDER_NOT_RESTING))
        new_price = rec[R_PRICE] if price is None else price
        new_qty = rec[R_QTY] if qty is None else qty
        if type(new_price) is not int or new_price <= 0:
            return _new(Rejection, (order_id, Reason.INVALID_PRICE))
        if type(new_qty) is not int or new_qty <= 0:
            return _new(Rejection, (order_id, Reason.INVALID_QUANTITY))
        if new_price == rec[R_PRICE]:
            if new_qty == rec[R_QTY]:
                return _new(Rejection, (order_id, Reason.NOTHING_TO_CHANGE))
            if new_qty < rec[R_QTY]:
                self.reduce(order_id, new_qty)
                return _new(SubmitResult, (order_id, _NEW, _NO_FILLS, 0, new_qty, 0, _R_NONE, ()))
        side = rec[R_SIDE]
        if rec[R_POST_ONLY] and not self._halted:
            best_opp = self._best[-side]
            if best_opp is not None and side * (new_price - best_opp) >= 0:
                return _new(Rejection, (order_id, Reason.POST_ONLY_WOULD_TAKE))
        self.cancel(order_id)
        return self.submit(order_id, rec[R_ACCOUNT], side, new_price, new_qty, GTC, LIMIT,
                           rec[R_POST_ONLY], rec[R_REDUCE_ONLY], rec[R_STP])

    # ---------------------------------------------------------------- auction
    @property
    def halted(self) -> bool:
        """True while continuous matching is stopped (call-auction mode)."""
        return self._halted

    def halt(self, queue_market: bool = False, price_rule: int = EVERY_TICK) -> None:
        """Stop continuous matching: from now on limit GTC orders rest even if they cross,
        and IOC/FOK orders are rejected with ``MATCHING_HALTED``; market orders too, unless
        ``queue_market`` (then they queue into the auction: module docstring).
        ``price_rule`` (``orderbook.auction.EVERY_TICK`` or ``XETRA``) decides the uncross
        price until the book resumes.  Halting a halted book changes only these two."""
        self._halted = True
        self._queue_mkt = queue_market
        self._rule = price_rule

    def indicative_uncross(self, reference_price: int | None = None) -> AuctionResult:
        """The auction price and volume ``uncross`` would produce now; changes nothing.

        ``reference_price`` breaks ties (default: the last trade price)."""
        mkt = self._mkt
        if mkt[1] or mkt[-1]:
            bids, asks, mb, ms = self._auction_levels()
        else:
            bids, asks = self._crossed_levels()
            if not bids:
                return _new(AuctionResult, (None, 0, 0, [], ()))
            mb = ms = 0
        ref = self.last_price if reference_price is None else reference_price
        found = find_uncross_price(bids, asks, ref, mb, ms, self._rule)
        if found is None:
            return _new(AuctionResult, (None, 0, 0, [], ()))
        return _new(AuctionResult, found + ([], ()))

    def uncross(self, reference_price: int | None = None) -> AuctionResult:
        """Execute the call auction: every eligible order trades at one price.

        Buyers are taken highest price first, sellers lowest first, each in time priority,
        until the auction volume is reached.  The order that arrived later is reported as the
        taker (``aggressor`` 0).  Only orders entered while halted carry an arrival number
        (others carry 0): every auction fill pairs at least one of them, because two orders
        entered during continuous matching that cross each other would already have traded.
        Afterwards the book is not crossed.  The halted flag is left as it is; ``resume``
        uncrosses and restarts continuous matching.

        Queued market orders (``halt(queue_market=True)``) execute first on their side;
        whatever is left of them then expires (``expired``), traded or not.

        Runtime complexity: O(C log C + k) for C levels in play and k orders executed.
        """
        indication = self.indicative_uncross(reference_price)
        price, volume = indication.price, indication.volume
        if price is None or volume == 0:
            if self._expiring or self._mkt[1] or self._mkt[-1]:
                return indication._replace(expired=self._expire_market())
            return indication
        fills = _new_list(Fills)       # an empty Fills without calling list.__init__
        bid_walk = self._auction_walk(1, price)
        ask_walk = self._auction_walk(-1, price)
        bid = next(bid_walk)
        ask = next(ask_walk)
        bid_left, ask_left = bid[R_QTY], ask[R_QTY]     # records are immutable snapshots
        left = volume
        while True:
            q = min(bid_left, ask_left, left)
            if bid[R_SEQ] > ask[R_SEQ]:
                taker, maker = bid, ask
            else:
                taker, maker = ask, bid
            fills.append((maker[R_ID], taker[R_ID], price, q, maker[R_ACCOUNT],
                          taker[R_ACCOUNT], 0))
            bid_left = self._consume(bid, bid_left, q)
            ask_left = self._consume(ask, ask_left, q)
            left -= q
            if not left:
                break
            if not bid_left:
                bid = next(bid_walk)
                bid_left = bid[R_QTY]
            if not ask_left:
                ask = next(ask_walk)
                ask_left = ask[R_QTY]
        self.last_price = price
        expired = self._expire_market() if self._expiring or self._mkt[1] or self._mkt[-1] \
            else ()
        return _new(AuctionResult, (price, volume, indication.imbalance, fills, expired))

    def resume(self, reference_price: int | None = None) -> AuctionResult:
        """Uncross, then return to continuous matching.  Returns the uncross result."""
        result = self.uncross(reference_price)
        self._halted = False
        self._queue_mkt = False
        self._rule = EVERY_TICK
        return result

    def _expire_market(self) -> tuple:
        """Cancel what is left of the market orders queued in this auction; return their
        ``OrderInfo`` (quantity = the lots that expired), in arrival order.  O(k log k)."""
        index = self._index
        left = [rec for side in (1, -1) for rec in self._mkt[side].values()]
        left += [rec for oid, seq in self._expiring.items()
                 if (rec := index.get(oid)) is not None and rec[R_SEQ] == seq]
        self._expiring.clear()
        left.sort(key=lambda rec: rec[R_SEQ])
        for rec in left:
            self.cancel(rec[R_ID])
        return tuple(_info(rec) for rec in left)

    def _auction_levels(self) -> tuple[list, list, int, int]:
        """(bids, asks, market buy lots, market sell lots) in play when market orders are
        queued (``orderbook.auction``: the crossed levels, then for market buys the asks
        above the best bid while the sells ahead have not covered them, and symmetrically).
        O(C log L) for the C levels returned."""
        bids, asks = self._crossed_levels()
        mb = sum([rec[R_QTY] for rec in self._mkt[1].values()])
        ms = sum([rec[R_QTY] for rec in self._mkt[-1].values()])
        bb, ba = self._best[1], self._best[-1]
        if mb:
            covered = ms + sum([q for _, q in asks])
            al = self._levels[-1]
            for k in reversed(self._prices[-1]):          # asks, lowest first
                if covered >= mb:
                    break
                p = -k
                if bb is not None and p <= bb:
                    continue                              # crossed: listed already
                q = al[p].total
                asks.append((p, q))
                covered += q
        if ms:
            covered = mb + sum([q for _, q in bids])
            bl = self._levels[1]
            for p in reversed(self._prices[1]):           # bids, highest first
                if covered >= ms:
                    break
                if ba is not None and p >= ba:
                    continue
                q = bl[p].total
                bids.append((p, q))
                covered += q
        return bids, asks, mb, ms

    def _crossed_levels(self) -> tuple[list, list]:
        """(price, total) of bids at or above the best ask, best first, and of asks at or
        below the best bid, best first; both empty when the book is not crossed."""
        bb, ba = self._best[1], self._best[-1]
        if bb is None or ba is None or bb < ba:
            return [], []
        bl, al = self._levels[1], self._levels[-1]
        bids = [(p, bl[p].total) for p in self._range(1, ba)]
        asks = [(p, al[p].total) for p in self._range(-1, bb)]
        return bids, asks

    def _auction_walk(self, side: int, price: int):
        """Yield resting records eligible at ``price``, in price-time priority: queued
        market orders first.  Records are snapshotted level by level, so consuming them
        while walking is safe."""
        if self._mkt[side]:
            yield from list(self._mkt[side].values())
        levels = self._levels[side]
        for px in self._range(side, price):
            level = levels.get(px)
            if level is not None:
                yield from list(level.values())

    def _consume(self, rec: tuple, have: int, q: int) -> int:
        """Execute ``q`` of the ``have`` lots a resting order still has in an auction;
        unlink it when done.  Returns the lots it has left."""
        if q == have:
            self.cancel(rec[R_ID])
            return 0
        self._shrink(rec[R_ID], have - q)
        return have - q

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        """Number of resting orders.  O(1)."""
        return len(self._index)

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._index

    def best_bid(self) -> int | None:
        """Highest bid price in ticks, or None.  O(1)."""
        return self._best[1]

    def best_ask(self) -> int | None:
        """Lowest ask price in ticks, or None.  O(1)."""
        return self._best[-1]

    def order(self, order_id: int) -> OrderInfo | None:
        """The resting order with this id, or None.  O(1)."""
        rec = self._index.get(order_id)
        return None if rec is None else _info(rec)

    def resting_qty(self, order_id: int) -> int:
        """Lots still resting for this order id (0 if it is not resting).  O(1), and no
        object is built: the cheap form of ``order(order_id).qty`` for hot loops."""
        rec = self._index.get(order_id)
        return 0 if rec is None else rec[0]

    def volume(self, side: int) -> int:
        """Total resting quantity on one side, in lots.  O(L): summed from the levels'
        cached totals (a per-side running total cost ~3% of the order path and is read
        rarely)."""
        return sum([level.total for level in self._levels[side].values()])

    def level_count(self, side: int) -> int:
        """Number of price levels on one side.  O(1)."""
        return len(self._levels[side])

    def top(self, side: int, n: int = 10) -> list[tuple[int, int]]:
        """The best ``n`` levels of one side as (price, qty), best first.  O(log L + n)."""
        levels = self._levels[side]
        keys = self._prices[side][-n:] if n > 0 else []
        return [(side * k, levels[side * k].total) for k in reversed(keys)]

    def level_qty(self, side: int, price: int) -> int:
        """Resting quantity at one price on one side (0 if none).  O(1)."""
        level = self._levels[side].get(price)
        return 0 if level is None else level.total

    def _range(self, side: int, limit: int | None):
        """Prices of one side at least as good as ``limit`` for a taker on the other side:
        bids >= limit, asks <= limit (all of them for None)."""
        keys = self._prices[side]
        lo = 0 if limit is None else bisect_left(keys, side * limit)
        return [side * k for k in reversed(keys[lo:])]  # best first

    def depth(self, side: int, limit: int | None) -> int:
        """Quantity resting on ``side`` at prices at least as good as ``limit``: what an
        opposite market order protected at ``limit`` could take.  O(log L + levels)."""
        levels = self._levels[side]
        return sum([levels[p].total for p in self._range(side, limit)])

    def depth_notional(self, side: int, limit: int | None) -> int:
        """Like ``depth`` but sums price x qty (tick-lots; the engine converts to quote)."""
        levels = self._levels[side]
        return sum([p * levels[p].total for p in self._range(side, limit)])

    def sweep_price(self, side: int, qty: int, limit: int | None = None) -> int | None:
        """The worst price an incoming order of ``side`` for ``qty`` lots (protected at
        ``limit``) would trade at now, ignoring self-trade prevention; None if it would not
        trade.  Read-only: breakers use it to act before a trade prints.
        O(levels walked)."""
        opp = -side
        levels = self._levels[opp]
        worst = None
        left = qty
        for px in self._range(opp, limit):
            worst = px
            left -= levels[px].total
            if left <= 0:
                break
        return worst

    def depth_within_ticks(self, side: int, ticks: int, price: int | None = None) -> int:
        """Quantity on ``side`` no more than ``ticks`` worse than ``price`` (default: that
        side's best price): bids >= price - ticks, asks <= price + ticks."""
        if price is None:
            price = self._best[side]
            if price is None:
                return 0
        return self.depth(side, price - side * ticks)

    def band_limit(self, side: int, ppm: int) -> int | None:
        """Worst price of ``side`` within ``ppm`` parts-per-million of mid, or None with no mid.

        Bids: smallest p with p >= mid x (1 - f), i.e. ceil; asks: largest p with
        p <= mid x (1 + f), i.e. floor.  Exact integer arithmetic on 2 x mid = bid + ask.
        """
        bb, ba = self._best[1], self._best[-1]
        if bb is None or ba is None:
            return None
        mid2 = bb + ba
        if side == 1:
            return -((-mid2 * (1_000_000 - ppm)) // 2_000_000)
        return (mid2 * (1_000_000 + ppm)) // 2_000_000

    def depth_within_fraction(self, side: int, ppm: int) -> int:
        """Quantity on ``side`` within ``ppm`` parts-per-million of mid (0 with no mid)."""
        limit = self.band_limit(side, ppm)
        return 0 if limit is None else self.depth(side, limit)

    def levels(self, side: int):
        """Iterate (price, qty, order_count) of one side, best first.  O(L)."""
        levels = self._levels[side]
        for p in [side * k for k in reversed(self._prices[side])]:
            level = levels[p]
            yield p, level.total, len(level)

    def orders_at(self, side: int, price: int) -> list[OrderInfo]:
        """Resting orders at one price in queue (time-priority) order."""
        level = self._levels[side].get(price)
        return [] if level is None else [_info(r) for r in level.values()]

    # ------------------------------------------------------------- invariants
    def _check(self) -> None:
        """Assert every structural invariant; raise AssertionError naming the broken one."""
        seen = {}
        for side in (1, -1):
            levels, prices = self._levels[side], self._prices[side]
            assert prices == sorted(set(prices)), f"side {side}: duplicate prices"
            assert {side * k for k in prices} == set(levels), f"side {side}: price list != level dict"
            expect_best = side * prices[-1] if prices else None
            assert self._best[side] == expect_best, \
                f"side {side}: cached best {self._best[side]} != {expect_best}"
            for p, level in levels.items():
                assert len(level), f"side {side}: empty level at {p}"
                total = 0
                for oid, rec in level.items():
                    assert rec[R_ID] == oid, f"order {oid}: id mismatch"
                    assert rec[R_SIDE] == side and rec[R_PRICE] == p, f"order {oid}: misplaced"
                    assert type(rec) is tuple, f"order {oid}: record is not an immutable tuple"
                    assert type(rec[R_QTY]) is int and rec[R_QTY] > 0, f"order {oid}: qty"
                    assert oid not in seen, f"order {oid}: in two levels"
                    seen[oid] = rec
                    total += rec[R_QTY]
                assert level.total == total, f"side {side} level {p}: total {level.total} != {total}"
        for side in (1, -1):
            for oid, rec in self._mkt[side].items():
                assert self._halted, f"order {oid}: market order outside an auction"
                assert rec[R_ID] == oid and rec[R_SIDE] == side and rec[R_PRICE] is None, \
                    f"market order {oid}: misplaced"
                assert type(rec) is tuple and type(rec[R_QTY]) is int and rec[R_QTY] > 0, \
                    f"market order {oid}: qty"
                assert rec[R_SEQ] > 0 and oid not in seen, f"market order {oid}: seq or twice"
                seen[oid] = rec
        assert self._halted or not self._expiring, "expiring market orders outside an auction"
        assert seen.keys() == self._index.keys(), "id index != orders in levels"
        assert all(seen[k] is self._index[k] for k in seen), "id index points elsewhere"
        if not self._halted:
            bb, ba = self._best[1], self._best[-1]
            assert bb is None or ba is None or bb < ba, f"crossed book: bid {bb} >= ask {ba}"

    def __repr__(self) -> str:
        return (f"OrderBook(bid={self._best[1]}, ask={self._best[-1]}, orders={len(self._index)},"
                f" halted={self._halted})")


__all__ = ["OrderBook"]
