"""A slow, obviously-correct reference model of ``orderbook.OrderBook`` (the test oracle).

The model is a plain Python list of resting orders.  Nothing is cached: every query and
every match recomputes what it needs from that list (queue order is a ``sorted`` on
``(price, arrival seq)``), so each rule of ``orderbook/book.py``'s module docstring can be
read straight off the code below.

It shares only the vocabulary (``orderbook.enums``) with the code under test, never its
logic.  In particular the call-auction price is found by brute force over *every* tick of
the range of the limit prices in play (not only the level prices), applying the rule of
``orderbook/auction.py``'s docstring literally:

  1. maximum executable volume min(B(p), S(p));
  2. then least |B(p) - S(p)|;
  3. then market pressure: all surpluses on the buy side -> highest price, all on the sell
     side -> lowest price;
  4. then nearest the reference price; finally the lower price.

The Xetra rule (``halt(price_rule=1)``) applies the same steps to the limit prices in play
only, then the reference price clamped to the remaining candidates.  Market orders queued in
an auction (``halt(queue_market=True)``) count in B or S at every price; the limits in play
are recomputed from their definition in ``orderbook/auction.py`` with plain sums.

Results are returned as small named tuples whose fields mirror ``orderbook.results`` but
with plain containers (fills as a ``list`` of 7-tuples, ``stp_cancelled`` as a ``tuple`` of
``Info``), so a test compares them with a normalised book result using ``==``.  ``cancel``
returns the quantity the order still had, as the book does.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

from orderbook.enums import OrderStatus, Reason, Side

BUY, SELL = 1, -1
LIMIT, MARKET = 1, 2
GTC, IOC, FOK = 1, 2, 3
STP_NONE, STP_EXPIRE_TAKER, STP_EXPIRE_MAKER, STP_EXPIRE_BOTH = 0, 1, 2, 3


# ---------------------------------------------------------------------------- results
class Info(NamedTuple):
    """Mirrors ``orderbook.OrderInfo``."""

    order_id: int
    account: int
    side: int
    price: int
    qty: int
    reduce_only: bool


class Submitted(NamedTuple):
    """Mirrors ``orderbook.SubmitResult`` (``fills`` a list of 7-tuples in the field
    order of ``orderbook.Fill``; ``stp_cancelled`` a tuple of ``Info``)."""

    order_id: int
    status: int
    fills: list
    filled_qty: int
    resting_qty: int
    expired_qty: int
    reason: int
    stp_cancelled: tuple


class Refused(NamedTuple):
    """Mirrors ``orderbook.Rejection``."""

    order_id: int
    reason: int


class Auction(NamedTuple):
    """Mirrors ``orderbook.AuctionResult`` (``expired`` a tuple of ``Info``)."""

    price: int | None
    volume: int
    imbalance: int
    fills: list
    expired: tuple = ()


# ----------------------------------------------------------------------------- model
@dataclass(eq=False)  # identity comparison: list.remove must remove *this* order
class Resting:
    order_id: int
    account: int
    side: int
    price: int
    qty: int
    reduce_only: bool
    stp: int
    post_only: bool
    seq: int  # arrival number; smaller = earlier = better within a price
    market: bool = False  # a market order queued in an auction: expires at the uncross

    def info(self) -> Info:
        return Info(self.order_id, self.account, self.side, self.price, self.qty,
                    self.reduce_only)


def _priority(order: Resting) -> tuple[int, int, int]:
    """Sort key, best first: queued market orders without a price, then bids highest price
    first, asks lowest first; then arrival."""
    if order.price is None:
        return (0, 0, order.seq)
    return (1, -order.side * order.price, order.seq)


def _reachable(taker_side: int, limit: int | None, maker_price: int) -> bool:
    """May a taker on ``taker_side`` with limit ``limit`` (None: no limit) trade at
    ``maker_price``?"""
    if limit is None:
        return True
    return maker_price <= limit if taker_side == BUY else maker_price >= limit


class ReferenceBook:
    """Same public behaviour as ``orderbook.OrderBook`` for submit / cancel / reduce /
    replace / halt / uncross / resume and the queries used by the tests."""

    def __init__(self) -> None:
        self.orders: list[Resting] = []
        self.seq = 0
        self.halted = False
        self.queue_market = False
        self.rule = 0
        self.last_price: int | None = None

    # ------------------------------------------------------------- helpers
    def _find(self, order_id) -> Resting | None:
        for o in self.orders:
            if o.order_id == order_id:
                return o
        return None

    def _side(self, side: int) -> list[Resting]:
        """Resting orders of one side in priority order (best first)."""
        return sorted((o for o in self.orders if o.side == side), key=_priority)

    def _rest(self, order_id, account, side, price, qty, reduce_only, stp, post_only,
              market=False) -> None:
        self.seq += 1
        self.orders.append(Resting(order_id, account, side, price, qty, reduce_only, stp,
                                   post_only, self.seq, market))

    def _priced(self) -> list[Resting]:
        return [o for o in self.orders if o.price is not None]

    def _crosses(self, side: int, limit: int | None) -> bool:
        """Is any resting order on the other side within ``limit``?"""
        return any(_reachable(side, limit, o.price) for o in self.orders if o.side == -side)

    def live_ids(self) -> list[int]:
        return sorted(o.order_id for o in self.orders)

    # --------------------------------------------------------------- entry
    def _validate(self, order_id, side, price, qty, tif, order_type, post_only, stp):
        if type(side) not in (int, Side) or side not in (BUY, SELL):  # True, 1.0: invalid
            return Reason.INVALID_SIDE
        if type(qty) is not int or qty <= 0:
            return Reason.INVALID_QUANTITY
        if order_type == LIMIT:
            if type(price) is not int or price <= 0:
                return Reason.INVALID_PRICE
        elif order_type == MARKET:
            if price is not None and (type(price) is not int or price <= 0):
                return Reason.INVALID_PRICE
            if post_only:
                return Reason.INVALID_ORDER_TYPE
        else:
            return Reason.INVALID_ORDER_TYPE
        if tif not in (GTC, IOC, FOK) or (post_only and tif != GTC):
            return Reason.INVALID_TIME_IN_FORCE
        if stp not in (STP_NONE, STP_EXPIRE_TAKER, STP_EXPIRE_MAKER, STP_EXPIRE_BOTH):
            return Reason.INVALID_STP_MODE
        if self._find(order_id) is not None:
            return Reason.DUPLICATE_ORDER_ID
        return None

    def submit(self, order_id, account, side, price=None, qty=0, tif=GTC, order_type=LIMIT,
               post_only=False, reduce_only=False, stp=STP_NONE) -> Submitted:
        reason = self._validate(order_id, side, price, qty, tif, order_type, post_only, stp)
        if reason is not None:
            return Submitted(order_id, OrderStatus.REJECTED, [], 0, 0, 0, reason, ())
        limit = price  # for a market order: the protection price, or None
        immediate = order_type == MARKET or tif != GTC

        if self.halted:
            if immediate:
                if order_type == MARKET and tif != FOK and self.queue_market:
                    self._rest(order_id, account, side, price, qty, reduce_only, stp, False,
                               market=True)
                    return Submitted(order_id, OrderStatus.NEW, [], 0, qty, 0, Reason.NONE, ())
                return Submitted(order_id, OrderStatus.REJECTED, [], 0, 0, 0,
                                 Reason.MATCHING_HALTED, ())
            self._rest(order_id, account, side, price, qty, reduce_only, stp, post_only)
            return Submitted(order_id, OrderStatus.NEW, [], 0, qty, 0, Reason.NONE, ())

        if not self._crosses(side, limit):
            if immediate:
                why = Reason.FOK_NOT_FILLABLE if tif == FOK else Reason.IOC_REMAINDER
                return Submitted(order_id, OrderStatus.EXPIRED, [], 0, 0, qty, why, ())
            self._rest(order_id, account, side, price, qty, reduce_only, stp, post_only)
            return Submitted(order_id, OrderStatus.NEW, [], 0, qty, 0, Reason.NONE, ())

        if post_only:
            return Submitted(order_id, OrderStatus.REJECTED, [], 0, 0, 0,
                             Reason.POST_ONLY_WOULD_TAKE, ())

        if tif == FOK:
            # Fill-or-kill: try it on a copy; if it would not fill in full, nothing happens.
            trial = copy.deepcopy(self)
            left, _, _, _ = trial._match(order_id, account, side, limit, qty, stp)
            if left:
                return Submitted(order_id, OrderStatus.EXPIRED, [], 0, 0, qty,
                                 Reason.FOK_NOT_FILLABLE, ())

        left, fills, cancelled, stopped = self._match(order_id, account, side, limit, qty, stp)
        filled = qty - left
        if left == 0:
            return Submitted(order_id, OrderStatus.FILLED, fills, filled, 0, 0, Reason.NONE,
                             cancelled)
        if stopped:
            return Submitted(order_id, OrderStatus.EXPIRED, fills, filled, 0, left,
                             Reason.SELF_TRADE_PREVENTED, cancelled)
        if immediate:
            return Submitted(order_id, OrderStatus.EXPIRED, fills, filled, 0, left,
                             Reason.IOC_REMAINDER, cancelled)
        self._rest(order_id, account, side, price, left, reduce_only, stp, post_only)
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
        return Submitted(order_id, status, fills, filled, left, 0, Reason.NONE, cancelled)

    def _match(self, taker_id, account, side, limit, qty, stp):
        """Walk the opposite side best first; returns (left, fills, stp_cancelled, stopped)."""
        left = qty
        fills: list = []
        cancelled: list = []
        stopped = False
        for maker in self._side(-side):
            if left == 0 or not _reachable(side, limit, maker.price):
                break
            if stp != STP_NONE and maker.account == account:
                if stp in (STP_EXPIRE_MAKER, STP_EXPIRE_BOTH):
                    self.orders.remove(maker)
                    cancelled.append(maker.info())
                if stp in (STP_EXPIRE_TAKER, STP_EXPIRE_BOTH):
                    stopped = True
                    break
                continue
            q = min(maker.qty, left)
            fills.append((maker.order_id, taker_id, maker.price, q, maker.account, account,
                          side))
            maker.qty -= q
            left -= q
            if maker.qty == 0:
                self.orders.remove(maker)
        if fills:
            self.last_price = fills[-1][2]
        return left, fills, tuple(cancelled), stopped

    # ---------------------------------------------------------- amendments
    def cancel(self, order_id) -> int | Refused:
        """Remove a resting order; return the quantity it still had."""
        o = self._find(order_id)
        if o is None:
            return Refused(order_id, Reason.ORDER_NOT_RESTING)
        self.orders.remove(o)
        return o.qty

    def reduce(self, order_id, new_qty) -> Info | Refused:
        o = self._find(order_id)
        if o is None:
            return Refused(order_id, Reason.ORDER_NOT_RESTING)
        if type(new_qty) is not int or new_qty <= 0:
            return Refused(order_id, Reason.INVALID_QUANTITY)
        if new_qty >= o.qty:
            return Refused(order_id, Reason.NOT_A_REDUCTION)
        o.qty = new_qty  # seq unchanged: keeps its place in the queue
        return o.info()

    def replace(self, order_id, price=None, qty=None) -> Submitted | Refused:
        o = self._find(order_id)
        if o is None:
            return Refused(order_id, Reason.ORDER_NOT_RESTING)
        new_price = o.price if price is None else price
        new_qty = o.qty if qty is None else qty
        if type(new_price) is not int or new_price <= 0:
            return Refused(order_id, Reason.INVALID_PRICE)
        if type(new_qty) is not int or new_qty <= 0:
            return Refused(order_id, Reason.INVALID_QUANTITY)
        if new_price == o.price and new_qty == o.qty:
            return Refused(order_id, Reason.NOTHING_TO_CHANGE)
        if new_price == o.price and new_qty < o.qty:
            o.qty = new_qty
            return Submitted(order_id, OrderStatus.NEW, [], 0, new_qty, 0, Reason.NONE, ())
        if o.post_only and not self.halted and self._crosses(o.side, new_price):
            return Refused(order_id, Reason.POST_ONLY_WOULD_TAKE)  # order left as it was
        # New price or larger quantity: cancel, then enter again (same id, account, side,
        # post-only and reduce-only flags, STP mode) as a GTC limit at the back of the queue.
        self.orders.remove(o)
        return self.submit(order_id, o.account, o.side, new_price, new_qty, GTC, LIMIT,
                           o.post_only, o.reduce_only, o.stp)

    # ------------------------------------------------------------- auction
    def halt(self, queue_market=False, price_rule=0) -> None:
        self.halted = True
        self.queue_market = queue_market
        self.rule = price_rule

    @staticmethod
    def _b(orders, p):
        """B(p): buy quantity executable at ``p`` (unpriced market buys count everywhere)."""
        return sum(o.qty for o in orders if o.side == BUY and (o.price is None or o.price >= p))

    @staticmethod
    def _s(orders, p):
        return sum(o.qty for o in orders if o.side == SELL and (o.price is None or o.price <= p))

    def _in_play(self):
        """The limit prices in play, straight from ``orderbook/auction.py``'s definition."""
        bids = [o for o in self.orders if o.side == BUY and o.price is not None]
        asks = [o for o in self.orders if o.side == SELL and o.price is not None]
        mb = sum(o.qty for o in self.orders if o.side == BUY and o.price is None)
        ms = sum(o.qty for o in self.orders if o.side == SELL and o.price is None)
        hi = max((o.price for o in bids), default=None)
        lo = min((o.price for o in asks), default=None)
        prices = set()
        if hi is not None and lo is not None and hi >= lo:
            prices |= {o.price for o in bids if o.price >= lo}
            prices |= {o.price for o in asks if o.price <= hi}
        for p in {o.price for o in asks if hi is None or o.price > hi}:
            if ms + sum(o.qty for o in asks if o.price < p) < mb:
                prices.add(p)
        for p in {o.price for o in bids if lo is None or o.price < lo}:
            if mb + sum(o.qty for o in bids if o.price > p) < ms:
                prices.add(p)
        return prices, mb, ms

    def _auction_price(self, reference):
        """(price, volume, imbalance) by brute force, or None."""
        prices, mb, ms = self._in_play()
        if not prices:
            if mb and ms and reference is not None:
                return reference, min(mb, ms), mb - ms
            return None
        if self.rule == 0:      # every tick of the range of the limits in play
            candidates = range(min(prices), max(prices) + 1)
        else:                   # Xetra: the limit prices only
            candidates = sorted(prices)
        rows = []
        for p in candidates:
            b, s = self._b(self.orders, p), self._s(self.orders, p)
            rows.append((p, min(b, s), b - s))
        top = max(v for _, v, _ in rows)
        if top == 0:
            return None
        rows = [r for r in rows if r[1] == top]                      # 1. max volume
        least = min(abs(i) for _, _, i in rows)
        rows = [r for r in rows if abs(r[2]) == least]               # 2. least surplus
        if all(i > 0 for _, _, i in rows):                           # 3. buy pressure
            return max(rows, key=lambda r: r[0])
        if all(i < 0 for _, _, i in rows):                           #    sell pressure
            return min(rows, key=lambda r: r[0])
        if reference is None:                                        # 4. lower price
            return min(rows, key=lambda r: r[0])
        if self.rule == 0:
            return min(rows, key=lambda r: (abs(r[0] - reference), r[0]))  # 4. nearest ref
        p = min(max(reference, min(r[0] for r in rows)), max(r[0] for r in rows))
        b, s = self._b(self.orders, p), self._s(self.orders, p)
        return p, min(b, s), b - s                                   # 4. Xetra: clamp ref

    def indicative_uncross(self, reference_price=None) -> Auction:
        ref = self.last_price if reference_price is None else reference_price
        row = self._auction_price(ref)
        if row is None:
            return Auction(None, 0, 0, [])
        return Auction(row[0], row[1], row[2], [])

    def _expire(self) -> tuple:
        gone = sorted((o for o in self.orders if o.market), key=lambda o: o.seq)
        self.orders = [o for o in self.orders if not o.market]
        return tuple(o.info() for o in gone)

    def uncross(self, reference_price=None) -> Auction:
        ref = self.last_price if reference_price is None else reference_price
        row = self._auction_price(ref)
        if row is None:
            return Auction(None, 0, 0, [], self._expire())
        price, volume, imbalance = row
        buyers = [o for o in self._side(BUY) if o.price is None or o.price >= price]
        sellers = [o for o in self._side(SELL) if o.price is None or o.price <= price]
        fills = []
        left = volume
        i = j = 0
        while left:
            b, s = buyers[i], sellers[j]
            q = min(b.qty, s.qty, left)
            taker, maker = (b, s) if b.seq > s.seq else (s, b)  # later arrival takes
            fills.append((maker.order_id, taker.order_id, price, q, maker.account,
                          taker.account, 0))
            b.qty -= q
            s.qty -= q
            left -= q
            if b.qty == 0:
                i += 1
            if s.qty == 0:
                j += 1
        self.orders = [o for o in self.orders if o.qty > 0]
        self.last_price = price
        return Auction(price, volume, imbalance, fills, self._expire())

    def resume(self, reference_price=None) -> Auction:
        result = self.uncross(reference_price)
        self.halted = False
        self.queue_market = False
        self.rule = 0
        return result

    # ------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.orders)

    def __contains__(self, order_id) -> bool:
        return self._find(order_id) is not None

    def order(self, order_id) -> Info | None:
        o = self._find(order_id)
        return None if o is None else o.info()

    def best_bid(self) -> int | None:
        prices = [o.price for o in self._priced() if o.side == BUY]
        return max(prices) if prices else None

    def best_ask(self) -> int | None:
        prices = [o.price for o in self._priced() if o.side == SELL]
        return min(prices) if prices else None

    def volume(self, side: int) -> int:
        """Resting at a price: queued market orders without one are in no level."""
        return sum(o.qty for o in self._priced() if o.side == side)

    def levels(self, side: int) -> list[tuple[int, int, int]]:
        """(price, total qty, order count), best first."""
        out: list[list[int]] = []
        for o in self._side(side):
            if o.price is None:
                continue
            if out and out[-1][0] == o.price:
                out[-1][1] += o.qty
                out[-1][2] += 1
            else:
                out.append([o.price, o.qty, 1])
        return [tuple(x) for x in out]

    def level_count(self, side: int) -> int:
        return len(self.levels(side))

    def top(self, side: int, n: int = 10) -> list[tuple[int, int]]:
        return [(p, q) for p, q, _ in self.levels(side)[:n]]

    def orders_at(self, side: int, price: int) -> list[Info]:
        return [o.info() for o in self._side(side) if o.price == price]

    def depth(self, side: int, limit: int | None) -> int:
        """Quantity on ``side`` at least as good as ``limit`` (bids >= limit, asks <=)."""
        return sum(o.qty for o in self._priced() if o.side == side
                   and (limit is None or (o.price >= limit if side == BUY else o.price <= limit)))

    def snapshot(self) -> dict:
        """Whole book, queue order included: side -> [(price, [Info, ...]), ...]."""
        return {side: [(p, self.orders_at(side, p)) for p, _, _ in self.levels(side)]
                for side in (BUY, SELL)}
