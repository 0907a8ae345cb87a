"""The plain reference order book the benchmark measures ``orderbook.OrderBook`` against.

Not the test oracle (that is ``tests/orderbook/reference_book.py``): this is the yardstick
from docs/reference/peers.md ("reference_sorteddict"), the obvious way to write a
price-time book in Python, used only to put a number on "fast enough".

- Each side is a ``SortedDict`` price -> ``deque`` of ``[order_id, qty, account]`` (FIFO).
- Cancel is lazy: the id goes into a set and leaves the id index; the record stays in its
  deque and is dropped when matching meets it at the head.  A level whose orders are all
  cancelled stays in the SortedDict until matching reaches it.
- Limit orders match first, best price then time, and rest their remainder; IOC orders
  (``ioc=True``, the workload's marketable orders, priced at their cap) drop it.
- One trade tuple ``(maker_id, taker_id, price, qty)`` per fill.

No validation, no self-trade prevention, no order types beyond limit/IOC.
"""
from __future__ import annotations

from collections import deque

from sortedcontainers import SortedDict


class PlainReferenceBook:
    __slots__ = ("bids", "asks", "orders", "cancelled", "volume")

    def __init__(self) -> None:
        self.bids = SortedDict()
        self.asks = SortedDict()
        self.orders: dict[int, list] = {}   # live orders: id -> [id, qty, account, side]
        self.cancelled: set[int] = set()    # cancelled ids still sitting in a deque
        self.volume = [0, 0, 0]             # [_, bids, asks] via index side (1 / -1)

    def limit(self, order_id: int, account: int, side: int, price: int, qty: int,
              ioc: bool = False) -> list:
        """Enter a limit order (IOC if ``ioc``); return its trades."""
        trades = []
        if side == 1:
            book, idx = self.asks, 0
        else:
            book, idx = self.bids, -1
        cancelled = self.cancelled
        orders = self.orders
        while qty and book:
            px, queue = book.peekitem(idx)
            if side * (price - px) < 0:
                break
            while queue:
                rec = queue[0]
                oid = rec[0]
                if oid in cancelled:
                    queue.popleft()
                    cancelled.discard(oid)
                    continue
                q = rec[1]
                if q <= qty:
                    trades.append((oid, order_id, px, q))
                    queue.popleft()
                    del orders[oid]
                    qty -= q
                    self.volume[-side] -= q
                    if not qty:
                        break
                else:
                    trades.append((oid, order_id, px, qty))
                    rec[1] = q - qty
                    self.volume[-side] -= qty
                    qty = 0
                    break
            if not queue:
                del book[px]
        if qty and not ioc:
            own = self.bids if side == 1 else self.asks
            rec = [order_id, qty, account, side]
            queue = own.get(price)
            if queue is None:
                own[price] = deque((rec,))
            else:
                queue.append(rec)
            orders[order_id] = rec
            self.volume[side] += qty
        return trades

    def cancel(self, order_id: int) -> bool:
        rec = self.orders.pop(order_id, None)
        if rec is None:
            return False
        self.cancelled.add(order_id)
        self.volume[rec[3]] -= rec[1]
        return True

    # ------------------------------------------------------------ queries (untimed)
    def __len__(self) -> int:
        return len(self.orders)

    def _best(self, book: SortedDict, prices) -> int | None:
        cancelled = self.cancelled
        for px in prices:
            if any(rec[0] not in cancelled for rec in book[px]):
                return px
        return None

    def best_bid(self) -> int | None:
        return self._best(self.bids, reversed(self.bids))

    def best_ask(self) -> int | None:
        return self._best(self.asks, iter(self.asks))

    def bid_volume(self) -> int:
        return self.volume[1]

    def ask_volume(self) -> int:
        return self.volume[-1]
