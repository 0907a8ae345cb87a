"""The recorded world as participants: a counterfactual replay of recorded market data.

``RecordedMarket`` reads the merged stream of ``engine.data`` (``RECORD_DTYPE`` batches,
pulled as the run advances: memory does not grow with the files) and, at each row's local
time (``ts_local`` minus the first row's, so the run starts at the recording's start):

* BOOK -- the recorded L2 levels become resting liquidity that follows the feed: one
  post-only GTC order per level of account ``RECORDED_BOOK``, re-synced at every message: a
  level whose resting quantity differs from the feed's absolute size is cancelled and, if
  the size is not 0, placed again at that size (a message's cancels first, then its
  placements, so a level moving from one side to the other never meets itself).  A
  snapshot (CLEAR) cancels them all first.  Stated in the run's metadata:
  assumed (L2 has no queue positions): a re-placed level joins the back of its queue;
  assumed: a level the counterfactual consumed is refilled at the feed's next update of it.
* TOP -- the venue's top-of-book stream (Binance ``bookTicker``: a bid row, then an ask
  row) is newer than the 100 ms diffs between them.  A pair newer than the last book
  message (update id greater than its final id: Binance's bookTicker ``u`` and depth ``u``
  count one sequence; where either has none, a strictly later local time) gives the true
  best bid and ask at that instant (``_top``):
  assumed (top): recorded bids above its bid and asks below its ask are stale, cancelled
  (``top_stale_levels_cleared``), and its bid and ask levels are re-synced to its sizes as
  a book message does (``top_levels_placed``); other accounts' orders stay.  The feed's own
  book is not changed (the diffs stay the source of deeper levels and of the mid index);
  the next diff re-syncs the levels it carries as before.  An older or equal pair is
  ignored (``top_older_ignored``), and so is any during a halt or a feed gap
  (``top_frozen_ignored``).  The last applied pair stays in force until a book message
  newer than it: assumed (top in force): information older than it does not undo it -- a
  book message with a smaller update id re-syncs its levels and then the pair is applied
  again (``tops_reapplied_after_diff``), and so is a trade the pair already showed (its
  exchange time at or before the pair's, Binance's transaction time ``T``), which arrives
  after it on the trade stream: the trade prints by the tape rules below, then the pair
  is applied again (``tops_reapplied_after_trade``), so an older trade neither widens
  the spread by clearing the pair's quote nor takes its size twice; liquidity the
  population took at the pair's prices meanwhile is refilled with it.
* TRADE -- exogenous taker flow consistent with the tape: an IOC limit order of account
  ``RECORDED_TAKER`` at the recorded price P, side and size.  The book is re-synced from
  100 ms diffs, so when a trade arrives its level may already be gone (the diff reflecting
  it came first), not yet there (newer than the last diff) or behind stale better levels;
  sent as it is, 2.9% of the bundled capture's lots went unfilled and 896 fills printed
  away from their recorded price.  Three rules (``_implied``), a design decision:
  assumed (stale): a trade at P proves no recorded level beat P, nor its own side at P;
  so those recorded levels are cancelled before it (``stale_levels_cleared``); other
  accounts' orders there stay, and the taker fills them first.
  assumed (implied): a trade at P proves liquidity at P: what the book lacks is printed;
  it is printed at P against implied recorded liquidity, a ``RECORDED_BOOK`` order resting
  behind everything at P (``implied_lots``).
  assumed (withheld): less what the population took from that level since the feed set it;
  that part stays a counterfactual fill failure (``implied_withheld_lots``; the trade
  counts in ``trades_unprinted`` if nothing of it printed, else ``trades_partly_unfilled``).
  With no population every recorded trade prints once, at its recorded price and size, in
  order.
* LIQUIDATION -- a liquidation IOC order of account ``RECORDED_LIQUIDATED`` (the venue's
  clearance fee applies) at the recorded side and filled size, limited at the recorded
  order's price (Binance's ``p``, the bankruptcy-side limit; for fill records the fill
  price): logged as ``LIQUIDATION_ORDER`` then ``LIQUIDATION_FILLED`` / ``_UNFILLED``
  like the venue's own, so fill failures count them.  Backstop liquidations (taken by a
  vault, never in the book) are counted and not sent.  Binance publishes at most one
  liquidation per symbol per second: the recorded ones are a lower bound.
* INDEX, MARK -- the index and the mark follow the recorded values where the data has
  them (``RecordedPath``); without an index the index is the recorded book's mid
  ``(bid + ask) // 2`` (rounded down) sampled at most every ``step``; without a mark the
  venue's own mark policy runs on that index and the counterfactual book.
* GAP -- the feed's book is void: every recorded level is cancelled until the next
  snapshot re-syncs it (only with ``--allow-gaps``; otherwise the replay refuses the file).

A halt in the counterfactual cannot stop the recorded world.  While the venue is halted the
recorded levels are left as they were (the feed's book is still followed in memory) and
re-synced in full at the first book message after the reopening; recorded trades and
liquidations are still sent, and the venue refuses or queues them as its policy does any
order.  Every such outcome is counted (``counters``).
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter

import numpy as np

from orderbook.enums import GTC, IOC, LIMIT

from ..data.book import L2Book
from ..data.records import Flag, Kind
from ..phases import Phase
from ..venue.accounts import RECORDED_BOOK, RECORDED_LIQUIDATED, RECORDED_TAKER
from ..venue.events import EventKind

_BOOK, _TRADE, _LIQ, _MARK, _INDEX, _GAP, _TOP = (
    int(Kind.BOOK), int(Kind.TRADE), int(Kind.LIQUIDATION), int(Kind.MARK), int(Kind.INDEX),
    int(Kind.GAP), int(Kind.TOP))
_LAST, _CLEAR, _EMPTY, _BACKSTOP = (int(Flag.LAST), int(Flag.CLEAR), int(Flag.EMPTY),
                                    int(Flag.BACKSTOP))


class RecordedPath:
    """A step function of recorded (time, ticks) points, in time order: ``at(ts)`` is the
    last value at or before ``ts`` (the first before it).  It stands for ``IndexPath``
    (``at``, ``scripted``, ``start``) and serves as a mark policy (``observe`` does nothing,
    ``mark`` reads it).  Points are appended as the replay reads them: O(points) memory
    (one a second for a Binance mark stream), ``at`` O(log points)."""

    __slots__ = ("ts", "px", "start")

    def __init__(self, start: int):
        self.ts: list[int] = []
        self.px: list[int] = []
        self.start = start

    def add(self, ts: int, px: int) -> None:
        if self.px and self.px[-1] == px:
            return
        self.ts.append(ts)
        self.px.append(px)

    def at(self, ts: int) -> int:
        k = bisect_right(self.ts, ts)
        return self.px[k - 1] if k else (self.px[0] if self.px else self.start)

    scripted = at

    def observe(self, *args) -> None:
        pass

    def mark(self, ts: int) -> int:
        return self.at(ts)


class RecordedMarket:
    """Drives ``port`` (the Simulation) from ``batches`` (module docstring).  ``t0`` is the
    recording's first local time (ns); rows after ``port.end_ns`` are not read.
    ``index``/``mark`` are the ``RecordedPath``s the run uses (``mark`` None: the venue's
    policy); ``mid_index`` says the index is the recorded mid; ``step_ns`` its sampling.
    O(rows) over the run; each BOOK row one book operation at most."""

    def __init__(self, port, batches, t0: int, index: RecordedPath, mark, mid_index: bool,
                 step_ns: int):
        self.port = port
        self.ex = port.exchange
        self.t0 = t0
        self.counters: Counter = Counter()
        self._rows = self._iter(batches)
        self._next = next(self._rows, None)
        self.index, self.mark = index, mark
        self.mid_index, self.step_ns = mid_index, step_ns
        self.feed = L2Book()             # the recorded book as the feed has it
        self.orders: dict[tuple[int, int], int] = {}      # (side, price) -> order id
        # (side, price) -> the lots that level's order would rest with if only recorded
        # accounts had traded on it since the feed last set it: ``expect - resting`` is what
        # the population consumed there (``_implied``).
        self.expect: dict[tuple[int, int], int] = {}
        self.message: list[tuple[int, int, int]] = []
        self.stale = False               # recorded levels frozen by a halt or a gap
        # The last book message's final update id and local time (``_top``: a top-of-book
        # message is applied only when newer), and a TOP pair's bid row awaiting its ask.
        self._book_id, self._book_local = 0, None
        self._top_bid = None
        self._top_pair = None            # the last applied (bid, ask) top rows, in force
        self._last_mid_ts = None
        # What the outputs must not score (engine.outputs.metrics.feed_meta): each snapshot's
        # (ts, lowest bid, highest ask, mid) -- the book is known only inside it -- and the
        # feed's void intervals [GAP's ts, next snapshot's ts or None], run-clock ns.
        self.snapshots: list[tuple[int, int, int, int]] = []
        self.void_ns: list[list] = []
        self._snapshot_open = False

    def _iter(self, batches):
        """The rows from the run's origin ``t0`` on; earlier ones are counted
        (``before_book_synced``: before the recorded book was first two-sided) and skipped."""
        for batch in batches:
            early = int(np.count_nonzero(batch["ts_local"] < self.t0))
            if early:
                self.counters["before_book_synced"] += early
                batch = batch[early:] if early < len(batch) else batch[:0]
            yield from batch.tolist()

    def start(self) -> None:
        if self._next is not None:
            self.port.schedule(max(0, self._next[0] - self.t0), Phase.INPUT, self.step)

    def step(self, ts: int) -> None:
        """Apply every recorded row due at or before ``ts``; wake again at the next one."""
        end = self.port.end_ns
        t0 = self.t0
        row = self._next
        rows = self._rows
        while row is not None and row[0] - t0 <= ts:
            self._apply(ts, row)
            row = next(rows, None)
        self._next = row
        if row is not None and row[0] - t0 <= end:
            self.port.schedule(row[0] - t0, Phase.INPUT, self.step)

    # -------------------------------------------------------------- rows
    def _apply(self, ts: int, r) -> None:
        kind, flags = r[2], r[4]
        c = self.counters
        if kind == _BOOK:
            if flags & _CLEAR:
                self.feed.clear()
                self.message.clear()
                self._cancel_all(ts)
                self.stale = False
                c["snapshots"] += 1
                self._snapshot_open = True
                if self.void_ns and self.void_ns[-1][1] is None:
                    self.void_ns[-1][1] = ts
            if not flags & _EMPTY:
                self.feed.set(r[3], r[7], r[8])
                self.message.append((r[3], r[7], r[8]))
            if flags & _LAST:
                c["book_messages"] += 1
                self._book_id, self._book_local = r[10], r[0]
                if self._snapshot_open:
                    self._snapshot_open = False
                    self._snapshot_range(ts)
                self._book_message(ts)
        elif kind == _TRADE:
            self._trade(ts, r)
        elif kind == _LIQ:
            self._liquidation(ts, r)
        elif kind == _TOP:
            self._top(ts, r)
        elif kind == _MARK:
            c["marks"] += 1
            if self.mark is not None:
                self.mark.add(ts, r[7])
        elif kind == _INDEX:
            c["index_points"] += 1
            if not self.mid_index:
                self.index.add(ts, r[7])
        elif kind == _GAP:
            c["gaps"] += 1
            if not self.void_ns or self.void_ns[-1][1] is not None:
                self.void_ns.append([ts, None])
            self.feed.clear()
            self._cancel_all(ts)
            self.stale = True
        else:
            c[f"ignored_{Kind(kind).name.lower()}"] += 1

    def _snapshot_range(self, ts: int) -> None:
        """Note the snapshot just applied: its lowest bid, highest ask and mid (rounded
        down); a one-sided or empty snapshot is noted as covering nothing (the mid on the
        missing side).  O(1): the feed's sides are sorted."""
        bids, asks = self.feed.bids, self.feed.asks
        if bids and asks:
            mid = (bids.peekitem(-1)[0] + asks.peekitem(0)[0]) // 2
            self.snapshots.append((ts, bids.peekitem(0)[0], asks.peekitem(-1)[0], mid))
        else:
            self.snapshots.append((ts, 0, 0, 0))

    def _cancel_all(self, ts: int) -> None:
        self._top_pair = None
        if self.orders:
            self.ex.cancel_all(ts, RECORDED_BOOK, 0)
            self.orders.clear()
            self.expect.clear()

    def _book_message(self, ts: int) -> None:
        changes, self.message = self.message, []
        ex = self.ex
        if ex.halted or ex.down:
            self.stale = True
            return
        if self.stale:          # after a halt: the whole feed book at once
            self.stale = False
            self.counters["full_resyncs"] += 1
            changes = [(1, p, q) for p, q in self.feed.bids.items()] + \
                      [(-1, p, q) for p, q in self.feed.asks.items()]
            wanted = {(s, p) for s, p, _ in changes}
            for key in [k for k in self.orders if k not in wanted]:
                ex.cancel(ts, self.orders.pop(key))
                self.expect.pop(key, None)
        self._resync(ts, changes)
        top = self._top_pair
        if top is not None:
            if top[1][10] and self._book_id and top[1][10] > self._book_id:
                self._apply_top(ts, *top)       # an older diff does not undo a newer top
                self.counters["tops_reapplied_after_diff"] += 1
            else:
                self._top_pair = None           # this message is newer: it rules
        if self.mid_index:
            bb, _, ba, _ = self.feed.top()
            if bb is not None and ba is not None and (
                    self._last_mid_ts is None or ts - self._last_mid_ts >= self.step_ns):
                self._last_mid_ts = ts
                self.index.add(ts, (bb + ba) // 2)

    def _resync(self, ts: int, changes, prefix: str = "") -> None:
        """Set each ``(side, price, qty)`` level's recorded order to the absolute ``qty``
        (0: none): a level resting otherwise is cancelled and placed again, cancels first,
        then placements (counted ``{prefix}levels_placed`` / ``_refused``); a level already
        resting at ``qty`` stays where it is in its queue and ``expect`` is re-set to it.
        O(changes) book operations."""
        ex = self.ex
        book = ex.books[0]
        orders, expect = self.orders, self.expect
        place = []
        for side, price, qty in changes:            # cancels first
            key = (side, price)
            oid = orders.get(key)
            resting = book.resting_qty(oid) if oid is not None else 0
            if resting == qty:                      # the feed re-sets the level as it rests
                if qty:
                    expect[key] = qty
                elif oid is not None:
                    del orders[key], expect[key]
                continue
            if oid is not None:
                if resting:
                    ex.cancel(ts, oid)
                del orders[key], expect[key]
            if qty:
                place.append((side, price, qty))
        for side, price, qty in place:              # then placements
            if self._place(ts, side, price, qty):
                self.counters[prefix + "levels_placed"] += 1
            else:
                self.counters[prefix + "levels_refused"] += 1

    def _place(self, ts: int, side: int, price: int, qty: int) -> bool:
        """Rest ``qty`` lots of ``RECORDED_BOOK`` at ``price`` (post-only GTC) as the level's
        order; whether it rests."""
        oid = self.ex.next_order_id()
        r = self.ex.submit(ts, RECORDED_BOOK, 0, side, qty, price=price, tif=GTC,
                           order_type=LIMIT, post_only=True)
        if r and r.resting_qty:
            self.orders[(side, price)] = oid
            self.expect[(side, price)] = qty
            return True
        return False

    def _trade(self, ts: int, r) -> None:
        """A recorded trade, consistent with the tape (module docstring, TRADE): stale
        recorded levels better than its price cleared, then its IOC, with implied recorded
        liquidity at its price for what the book lacks there."""
        side, price, qty = r[3], r[7], r[8]
        c = self.counters
        if not side or qty <= 0:
            c["trades_without_side_skipped"] += 1
            return
        c["trades_sent"] += 1
        ex = self.ex
        # A halted or down venue refuses or queues the order as it is (module docstring).
        implied = None if ex.halted or ex.down else self._implied(ts, side, price, qty)
        res = ex.submit(ts, RECORDED_TAKER, 0, side, qty, price=price, tif=IOC,
                        order_type=LIMIT)
        filled = res.filled_qty if res else 0
        if filled:
            self._taken(-side, res.fills)
        if implied is not None:
            self._settle_implied(ts, -side, price, implied)
        top = self._top_pair
        if top is not None and r[1] and r[1] <= top[1][1] and not (
                self.stale or ex.halted or ex.down):
            self._apply_top(ts, *top)      # the pair already showed this trade (docstring)
            c["tops_reapplied_after_trade"] += 1
        c["trades_filled_lots"] += filled
        c["trades_lots"] += qty
        if not res:
            c["trades_refused"] += 1
        elif not filled:
            c["trades_unprinted"] += 1        # nothing printed at all
        elif filled < qty:
            c["trades_partly_unfilled"] += 1  # printed, but less than recorded

    def _implied(self, ts: int, side: int, price: int, qty: int):
        """Make the book consistent with a recorded trade of ``side`` at ``price`` for
        ``qty`` lots before it is sent.  (a) The recorded levels of the other side strictly
        better than ``price`` are stale (the trade proves none was there): cancelled and
        counted (``stale_levels_cleared``); other accounts' orders there stay, and the taker
        fills them first.  (b) When liquidity must be implied, the recorded levels of the
        taker's own side at ``price`` or beyond are stale too (beside the implied order they
        would cross); another account's order there refuses the implied lots
        (``implied_refused_lots``).  (c) What the book then lacks at ``price`` or better is
        implied recorded liquidity at ``price``, less the recorded lots the population
        consumed at ``price`` since the feed last set that level (``implied_withheld_lots``:
        those stay a counterfactual fill failure).  The implied lots rest behind everything at
        ``price``: added to the level's own order when it is last in the queue (one maker,
        one print), else a separate order.  Returns ``(order id, implied lots, whether it is
        the level's own order)`` or None.
        O(levels cleared + orders at ``price``)."""
        ex, book, orders, expect = self.ex, self.ex.books[0], self.orders, self.expect
        c = self.counters
        opp = -side
        self._clear_stale(ts, opp, price - side)
        short = qty - book.depth(opp, price)
        if short <= 0:
            return None
        key = (opp, price)
        oid = orders.get(key)
        resting = book.resting_qty(oid) if oid is not None else 0
        withheld = min(short, max(0, expect.get(key, 0) - resting))
        if withheld:
            expect[key] -= withheld          # explained once: not withheld again
            c["implied_withheld_lots"] += withheld
        implied = short - withheld
        if not implied:
            return None
        # The taker's own side at ``price`` or beyond is stale too (beside the other side's
        # liquidity at ``price`` it would be a crossed book); another account's order left
        # there would cross the implied order: refused, a counterfactual fill failure.
        self._clear_stale(ts, side, price)
        same = book.best_bid() if side > 0 else book.best_ask()
        if same is not None and side * (same - price) >= 0:
            c["implied_refused_lots"] += implied
            return None
        if resting and book.orders_at(opp, price)[-1].order_id == oid:
            before = expect[key]
            ex.cancel(ts, oid)
            if not self._place(ts, opp, price, resting + implied):
                del orders[key], expect[key]     # (a breaker's gate): the feed re-places it
                c["implied_refused_lots"] += implied
                return None
            expect[key] = before + implied
            return orders[key], implied, True
        oid = ex.next_order_id()
        r = ex.submit(ts, RECORDED_BOOK, 0, opp, implied, price=price, tif=GTC,
                      order_type=LIMIT, post_only=True)
        if not (r and r.resting_qty):
            c["implied_refused_lots"] += implied
            return None
        return oid, implied, False

    def _clear_stale(self, ts: int, side: int, limit: int,
                     counter: str = "stale_levels_cleared") -> None:
        """Cancel the recorded levels of ``side`` at ``limit`` or better (bids >= limit,
        asks <= limit), counted (``counter``); other accounts' orders stay.
        O(log L + levels at or better than ``limit``)."""
        book = self.ex.books[0]
        best = book.best_bid() if side > 0 else book.best_ask()
        if best is None or side * (best - limit) < 0:
            return
        n = 8
        while True:
            top = book.top(side, n)
            if len(top) < n or side * (top[-1][0] - limit) < 0:
                break
            n *= 4
        orders, expect = self.orders, self.expect
        for p, _ in top:
            if side * (p - limit) < 0:
                break
            oid = orders.pop((side, p), None)
            if oid is not None:
                del expect[(side, p)]
                if self.ex.cancel(ts, oid):
                    self.counters[counter] += 1

    def _top(self, ts: int, r) -> None:
        """A top-of-book row (module docstring, TOP): the bid row waits for its ask (same
        local time and update id, the ask last); the pair, if newer than the last book
        message, clears the recorded bids above its bid and asks below its ask
        (``top_stale_levels_cleared``) and sets the recorded levels at its bid and ask to
        its sizes (``_resync``).  Ignored and counted: an older (or equal) pair
        (``top_older_ignored``), one during a halt or a feed gap (``top_frozen_ignored``), an
        unpaired, crossed or empty one (``top_invalid_ignored``).  O(log L + levels cleared)."""
        if r[3] > 0:
            self._top_bid = r
            return
        bid, self._top_bid = self._top_bid, None
        c = self.counters
        if bid is None or bid[10] != r[10] or bid[0] != r[0] or bid[7] >= r[7] \
                or bid[8] <= 0 or r[8] <= 0:
            c["top_invalid_ignored"] += 1
            return
        # Newer: by update id where both streams have one (Binance bookTicker and depth
        # share ``u``), else by local time, strictly later (a feed without ids orders
        # nothing within one instant: the book message is taken as the newer).
        if self._book_local is None or not (
                r[10] > self._book_id if r[10] and self._book_id else r[0] > self._book_local):
            c["top_older_ignored"] += 1
            return
        ex = self.ex
        if self.stale or ex.halted or ex.down:
            c["top_frozen_ignored"] += 1
            return
        c["tops_applied"] += 1
        self._top_pair = (bid, r)
        self._apply_top(ts, bid, r)

    def _apply_top(self, ts: int, bid, ask) -> None:
        """Set the recorded top to the pair of TOP rows ``bid``/``ask``: recorded bids above
        its bid and asks below its ask cancelled (``top_stale_levels_cleared``), its two
        levels re-synced to its sizes.  O(log L + levels cleared)."""
        self._clear_stale(ts, 1, bid[7] + 1, "top_stale_levels_cleared")
        self._clear_stale(ts, -1, ask[7] - 1, "top_stale_levels_cleared")
        self._resync(ts, [(1, bid[7], bid[8]), (-1, ask[7], ask[8])], "top_")

    def _settle_implied(self, ts: int, side: int, price: int, implied) -> None:
        """After the taker: count the implied lots it took (``implied_lots``,
        ``implied_trades``); withdraw any it left (a breaker stopped or moved it), so no
        implied liquidity outlives its trade.  ``side`` is the implied order's."""
        oid, lots, topped = implied
        book, c = self.ex.books[0], self.counters
        left = min(lots, book.resting_qty(oid))
        if left < lots:
            c["implied_lots"] += lots - left
            c["implied_trades"] += 1
        if not left:
            return
        keep = book.resting_qty(oid) - left
        self.ex.cancel(ts, oid)
        if topped:                  # the level's own order: put back what the feed set
            key = (side, price)
            expect = self.expect.pop(key) - left
            del self.orders[key]
            if keep and self._place(ts, side, price, keep):
                self.expect[key] = expect

    def _taken(self, side: int, fills) -> None:
        """A recorded account's fills: what it took from the recorded levels (makers on
        ``side``) is no population depletion (``expect`` follows it).  O(fills)."""
        orders, expect = self.orders, self.expect
        for maker_id, _, p, q, maker, *_ in fills.rows():
            if maker == RECORDED_BOOK and orders.get((side, p)) == maker_id:
                expect[(side, p)] -= q

    def _liquidation(self, ts: int, r) -> None:
        side, limit, qty = r[3], r[7], r[8]
        c = self.counters
        if r[4] & _BACKSTOP:
            c["liquidations_backstop_not_sent"] += 1
            return
        if not side or qty <= 0:
            c["liquidations_without_size_skipped"] += 1
            return
        ex = self.ex
        inst = ex.instruments[0]
        oid = ex.next_order_id()
        c["liquidations_sent"] += 1
        ex.log.append(ts, EventKind.LIQUIDATION_ORDER, side=side, account=RECORDED_LIQUIDATED,
                      order_id=oid, price=limit, qty=qty, reason=IOC)
        res = ex.submit(ts, RECORDED_LIQUIDATED, 0, side, qty, price=limit, tif=IOC,
                        order_type=LIMIT, liquidation=True)
        filled = res.filled_qty if res else 0
        if filled:
            self._taken(-side, res.fills)
            rows = list(res.fills.rows())
            value = sum(p * q for _, _, p, q, *_ in rows) * inst.tick_lot_quanta
            ex.log.append(ts, EventKind.LIQUIDATION_FILLED, side=side,
                          account=RECORDED_LIQUIDATED, order_id=oid, price=rows[-1][2],
                          qty=filled, value=value)
        if filled < qty:
            unfilled = qty - filled
            mark = ex.marks[0] or limit
            c["liquidations_unfilled"] += 1
            c["liquidations_unfilled_lots"] += unfilled
            ex.log.append(ts, EventKind.LIQUIDATION_UNFILLED, side=side,
                          account=RECORDED_LIQUIDATED, order_id=oid, price=limit,
                          qty=unfilled, value=inst.notional(mark, unfilled))


#: What the replay cannot reproduce, written into every recorded run's summary.
APPROXIMATIONS = (
    "L2 data has no queue positions: each recorded level is one order, re-placed at the back "
    "of its queue whenever the feed changes its size; a level the counterfactual consumed is "
    "refilled at the feed's next update of that level",
    "recorded trades are sent as IOC limit orders at their price, consistent with the tape: "
    "recorded levels better than the trade's price (and its own side's at or beyond it) "
    "are taken as stale and cancelled first; what the book lacks at that price is printed "
    "against implied recorded liquidity there, less what the simulated population took "
    "from that recorded level since the feed last set it (that part stays unfilled); with "
    "no population the replay prints the recorded tape exactly",
    "a top-of-book message (Binance bookTicker) newer than the last depth diff by update "
    "id (else by local time) sets the recorded best bid and ask: recorded levels better "
    "than them are taken as stale and cancelled, the levels at them re-sized to its sizes; "
    "deeper levels follow the diffs only; it stays in force against older information -- a "
    "diff with a smaller update id, or a trade stamped at or before it that arrives later "
    "-- and is applied again after it (liquidity the population took at its prices is "
    "refilled with it)",
    "a halt cannot stop the recorded world: during a halt the recorded levels are frozen "
    "and re-synced in full at the first book message after the reopening; recorded trades "
    "and liquidations are still sent and the venue refuses or queues them as its policy "
    "does any order",
    "Binance publishes at most one liquidation per symbol per second (forceOrder, "
    "liquidationSnapshot): the recorded liquidations are a lower bound",
    "a snapshot holds a limited number of levels (Binance's REST depth: 1000 a side, "
    "-0.24%/+0.28% of BTCUSDT's mid in the bundled capture): levels beyond its range are "
    "unknown until a diff touches them, so depth in a band reaching beyond it is "
    "understated for the whole run: such bands are not measured (summary not_measured, the "
    "time series' metadata feed)",
    "the run starts when the recorded book is first two-sided (its snapshot); earlier "
    "rows are skipped and counted (before_book_synced)",
    "the recorded index and mark do not react to the counterfactual book; without a "
    "recorded index the index is the recorded book's mid, without a recorded mark the "
    "venue's mark policy runs on that index and the counterfactual book",
)

_DEEP_UNITS = 10**9      # each recorded account's deposit, in quote units: never liquidated


class Plan:
    """What a first pass over the recorded files found (``plan``): the instrument, the
    window, the start price and which streams exist."""

    def __init__(self, paths, key, t0, t1, start, first_mark, kinds, gaps, readers):
        self.paths, self.key, self.t0, self.t1 = paths, key, t0, t1
        self.start, self.first_mark, self.kinds = start, first_mark, kinds
        self.gaps, self.readers = gaps, readers

    @property
    def duration_s(self) -> int:
        return max(1, -(-(self.t1 - self.t0) // 1_000_000_000))

    def name(self) -> str:
        return "+".join(str(p).replace("\\", "/").rsplit("/", 1)[-1] for p in self.paths)

    @property
    def start_decimal(self):
        return self.start * self.readers[0].units.tick

    def metadata(self, market) -> dict:
        has_index, has_mark = "INDEX" in self.kinds, "MARK" in self.kinds
        return dict(
            files=[str(p) for p in self.paths], formats=[r.format for r in self.readers],
            instrument=self.key, start_ns=self.t0, end_ns=self.t1,
            start_price=str(self.start_decimal),
            streams=dict(sorted(self.kinds.items())),
            index_source="recorded index" if has_index else
            "the recorded book's mid (no index in the data)",
            mark_source="recorded mark" if has_mark else
            "the venue's mark policy on that index and the counterfactual book (no mark "
            "in the data)",
            gaps=self.gaps, counters=dict(sorted(market.counters.items())),
            approximations=list(APPROXIMATIONS))


def plan(paths, allow_gaps: bool = False) -> Plan:
    """One pass over ``paths`` (streamed): one instrument for all files, the window (first
    and last local time), the start price (the first two-sided recorded book's mid rounded
    down, else the first trade, index or mark), the kinds present.  A gap in an update-id
    chain is refused (``DataError`` naming file and line) unless ``allow_gaps``."""
    from ..data.records import DataError
    from ..data.stream import read
    readers: list = []
    kinds: Counter = Counter()
    t0 = t1 = synced = None
    start = first_mark = fallback = None
    book = L2Book()
    gaps = []
    for batch in read(paths, readers):
        ts = batch["ts_local"]
        t0 = int(ts[0]) if t0 is None else t0
        t1 = int(ts[-1])
        k = batch["kind"]
        for code, n in zip(*np.unique(k, return_counts=True)):
            kinds[Kind(int(code)).name] += int(n)
        if first_mark is None and np.any(k == _MARK):
            first_mark = int(batch["price"][k == _MARK][0])
        if fallback is None:
            other = batch[(k == _TRADE) | (k == _INDEX) | (k == _MARK)]
            if len(other):
                fallback = int(other["price"][0])
        for g in batch[k == _GAP].tolist():
            reader = readers[g[5]]
            if not allow_gaps:
                raise DataError(f"{reader.path}: line {g[6]}: expected an unbroken update-id "
                                f"chain (pu {g[11]} after u {g[10]}: a gap); --allow-gaps "
                                f"resynchronises at the next snapshot or stops the book there")
            gaps.append(f"{reader.path}: line {g[6]}")
        if start is None:
            for r in batch[k == _BOOK].tolist():
                if r[4] & _CLEAR:
                    book.clear()
                if not r[4] & _EMPTY:
                    book.set(r[3], r[7], r[8])
                if r[4] & _LAST:
                    bb, _, ba, _ = book.top()
                    if bb is not None and ba is not None:
                        start, synced = (bb + ba) // 2, r[0]
                        break
    if t0 is None:
        raise DataError(f"{paths[0]}: line 1: expected recorded rows, got none")
    keys = {getattr(r.units, "key", None) for r in readers}
    if len(keys) != 1:
        raise DataError(f"{paths[0]}: line 1: expected one instrument in all --data files, "
                        f"got {sorted(map(str, keys))}")
    start = start if start is not None else fallback
    if start is None:
        raise DataError(f"{paths[0]}: line 1: expected a book, a trade or a price to start "
                        f"from, got none")
    # With a recorded book the run starts when it is first two-sided (the snapshot): the
    # rows before it (trades, tops) met a book nobody can rebuild, and a run that started
    # empty would score its first rows as a vacuum.  The Replayer skips and counts them.
    if synced is not None and synced < t1:
        t0 = synced
    return Plan(list(paths), keys.pop(), t0, t1, start, first_mark, kinds, gaps, readers)


def attach(sim, p: Plan) -> RecordedMarket:
    """Open the recorded accounts on ``sim``, put the recorded index (and mark) in place of
    the scenario's, and schedule the feed at the recording's first instant."""
    from ..data.stream import read
    ex = sim.exchange
    deep = _DEEP_UNITS * sim.instrument.quanta_per_unit
    recorded = (RECORDED_BOOK, RECORDED_TAKER, RECORDED_LIQUIDATED)
    for account in recorded:
        ex.open_account(0, account, deposit=deep)
    # Their net positions are the recorded world's bookkeeping, not open interest (the
    # data has none): the reported OI is the simulated population's.
    sim.sampler.excluded = recorded
    index = RecordedPath(p.start)
    mid_index = "INDEX" not in p.kinds
    if mid_index:
        index.add(0, p.start)
    sim.index = index
    sim.index_ticks = p.start
    mark = None
    if "MARK" in p.kinds:
        mark = RecordedPath(p.first_mark)
        sim.mark_policy = mark
    market = RecordedMarket(sim, read(p.paths), p.t0, index, mark, mid_index, sim.step_ns)
    market.start()
    return market
