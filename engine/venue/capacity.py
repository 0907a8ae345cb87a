"""The venue's capacity: a matching engine and a liquidation engine that work at a rate.

When the flow exceeds the rate a queue forms: participants' messages wait, liquidations
wait, and the mark goes stale (the issue's "liquidation orders flooded the exchange's
systems"; docs/reference/breakers-and-events.md section 3 fact 12, infrastructure stress;
docs/reference/liquidation-mechanics.md section 9: on 10 Oct 2025 Binance reported that its
matching engines and API stayed up while some platform modules glitched from 21:18).  Off
by default (the scenario's ``[capacity]``); with no limit nothing here is built and the
loop runs as it always did.

``MatchingQueue``, the matching engine's inbound queue
    Every participant message (``Port.send``) is served first in, first out at
    ``messages_per_s``: a message arriving at ``a`` (decided at ``ts``, ``a = ts`` + the order
    latency) is applied at ``s = max(a, free)``, ``free`` being the instant the engine
    finished the message before, and keeps the engine busy until ``s + service``, with
    ``service = ceil(1e9 / messages_per_s)`` ns (rounded up: the capacity is never
    overstated).  Below the capacity ``s = a``: every message is applied at its arrival.
    Assumed unit of work: one ``send`` is one message -- an order, a cancel, a stop's order,
    a maker's pull of all its quotes (one mass cancel), and a maker's re-quote of both
    sides whatever its size (Deribit's ``private/mass_quote`` and CME's Mass Quote carry
    both sides of many levels and replace the previous quotes, so the cancels inside are
    not counted apart).
    Assumed priority: the venue's own liquidation orders go ahead of the queue but hold the
    engine for one service time each, so the messages behind them wait longer (the
    waterfall needs their fills at once; no venue publishes how it orders the two).  The
    engine works whether the venue is up or down: a message served during an outage is
    refused by the venue like any other.
    Events: ``MatchingQueueFormed`` when a message first has to wait (at its arrival) and
    ``MatchingQueueCleared`` when the last waiting message is served (qty = the most
    messages waiting in the episode, value = its longest wait in ns) -- two rows per
    episode, never one per message.
    O(1) per message; one more heap entry for each message that waits.

``LiquidationEngine``, the liquidation engine's rate
    Assumed budget: at most ``liquidations_per_s`` units start a waterfall in each whole
    second of simulated time ``[k s, (k + 1) s)`` (per second, not per step; no venue
    publishes such a rate); the units listed behind them wait.
    Assumed queue order: a waiting unit keeps no place; every check lists the deficient
    units again in the liquidation index's order (deepest first, ``Exchange.liquidatable``)
    at the then-current mark, so a unit whose deficit deepens moves forward, one that
    recovers leaves the queue without a waterfall, and the next second's budget goes to
    the first listed.  ``waiting``: the units the budget left waiting at the check that
    spent it (no check lists the units again before the next second's budget), 0 after a
    check that did not spend it.

Stale marks, ``stale_mark_after_ms``
    Assumed stale-mark rule: while the matching engine's backlog (the wait a message
    arriving now would have) exceeds ``stale_mark_after_ms``, no mark is published and the
    last one stands; the mark is recomputed at the first mark step the backlog is back
    within the threshold.  The mark engine reads its inputs through the same overloaded
    systems; Binance says its mark discounts abnormal prices (section 9), but what its
    lagging modules did to the mark is not published.
"""
from __future__ import annotations

from collections import deque

from .events import EventKind

_SECOND = 1_000_000_000     # ns (engine.phases.SECOND; the venue imports no loop vocabulary)
_FORMED = EventKind.MATCHING_QUEUE_FORMED
_CLEARED = EventKind.MATCHING_QUEUE_CLEARED


class MatchingQueue:
    """The matching engine's FIFO inbound queue (module docstring).  ``schedule(ts, fn)``
    queues ``fn(ts)`` as an input of the loop at ``ts``; ``log`` is the venue's event log.

    Invariant: ``waiting`` holds ``(arrival, fn)`` in arrival order, all arrived and none
    applied; while it is not empty exactly one ``_serve`` is scheduled, at or before the
    instant the engine is next free."""

    __slots__ = ("service_ns", "schedule", "log", "free", "waiting", "_wait_max",
                 "_episode_peak", "_episode_wait")

    def __init__(self, messages_per_s: int, schedule, log):
        if type(messages_per_s) is not int or messages_per_s <= 0:
            raise ValueError(f"messages_per_s: expected an int > 0, got {messages_per_s!r}")
        self.service_ns = -(-_SECOND // messages_per_s)     # rounded up
        self.schedule = schedule
        self.log = log
        self.free = 0               # the engine is busy until then, ns
        self.waiting: deque = deque()
        self._wait_max = 0          # the longest wait served since the last sample, ns
        self._episode_peak = 0
        self._episode_wait = 0

    def arrive(self, fn, ts: int) -> None:
        """A message reaches the venue at ``ts``: applied now (``fn(ts)``) if the engine is
        free and nobody waits, else queued."""
        waiting = self.waiting
        if not waiting and self.free <= ts:
            self.free = ts + self.service_ns
            fn(ts)
            return
        waiting.append((ts, fn))
        n = len(waiting)
        if n == 1:
            self.log.append(ts, _FORMED)
            self.schedule(self.free, self._serve)
        if n > self._episode_peak:
            self._episode_peak = n

    def _serve(self, ts: int) -> None:
        """Apply the first waiting message (the engine is free at ``ts``), or wait on if
        the venue's own orders took the engine meanwhile."""
        if self.free > ts:
            self.schedule(self.free, self._serve)
            return
        waiting = self.waiting
        arrival, fn = waiting.popleft()
        wait = ts - arrival
        if wait > self._wait_max:
            self._wait_max = wait
        if wait > self._episode_wait:
            self._episode_wait = wait
        self.free = ts + self.service_ns
        # The next turn is settled before the message runs, so a message it might send
        # finds the queue as it is.
        if waiting:
            self.schedule(self.free, self._serve)
        else:
            self.log.append(ts, _CLEARED, qty=self._episode_peak, value=self._episode_wait)
            self._episode_peak = self._episode_wait = 0
        fn(ts)

    def occupy(self, ts: int, messages: int = 1) -> None:
        """The venue's own ``messages`` (liquidation orders) were applied at ``ts``, ahead
        of the queue: the engine is busy for their service time."""
        self.free = max(self.free, ts) + messages * self.service_ns

    def backlog_ns(self, ts: int) -> int:
        """The wait a message arriving at ``ts`` would have: the rest of the message in
        service (or of the venue's own orders) plus one service time per message waiting."""
        return max(0, self.free - ts) + len(self.waiting) * self.service_ns

    def sample(self, ts: int) -> tuple[int, int]:
        """(messages waiting at ``ts`` that arrived before it, the longest wait of a
        message served since the last sample in ms, rounded up) -- and the next interval
        starts.  Messages arriving at the sample's own instant are left out: participants
        who act on the same timer (the makers) arrive together, and all but the first of
        them wait a few service times at every such instant, which is not a backlog.
        O(messages arrived at ``ts``)."""
        wait, self._wait_max = self._wait_max, 0
        waiting = self.waiting
        n = len(waiting)
        while n and waiting[n - 1][0] >= ts:
            n -= 1
        return n, -(-wait // 1_000_000)


class LiquidationEngine:
    """The liquidation engine's per-second budget of waterfalls (module docstring), read
    by ``engine.liquidation.waterfalls.run_liquidations``; ``per_s`` 0 = no budget.  Its
    liquidation orders hold ``matching`` (a ``MatchingQueue``, or None)."""

    __slots__ = ("per_s", "matching", "second", "used", "waiting")

    def __init__(self, per_s: int, matching: MatchingQueue | None = None):
        if type(per_s) is not int or per_s < 0:
            raise ValueError(f"per_s: expected an int >= 0, got {per_s!r}")
        self.per_s = per_s
        self.matching = matching
        self.second = -1
        self.used = 0           # waterfalls started in ``second``
        self.waiting = 0        # units the budget left waiting (module docstring)

    def exhausted(self, ts: int) -> bool:
        """Whether this second's budget is spent (a new second starts a new budget).  O(1)."""
        if not self.per_s:
            return False
        second = ts // _SECOND
        if second != self.second:
            self.second, self.used = second, 0
        return self.used >= self.per_s

    def order_sent(self, ts: int) -> None:
        """A liquidation order went to the book at ``ts``: it held the matching engine."""
        if self.matching is not None:
            self.matching.occupy(ts)


class VenueCapacity:
    """The run's capacity limits together: ``matching`` (None without a message rate),
    ``liquidation`` and the stale-mark threshold ``stale_mark_ns`` (None = the mark never
    goes stale)."""

    __slots__ = ("matching", "liquidation", "stale_mark_ns")

    def __init__(self, messages_per_s: int, liquidations_per_s: int,
                 stale_mark_ms: int | None, schedule, log):
        self.matching = MatchingQueue(messages_per_s, schedule, log) if messages_per_s \
            else None
        self.liquidation = LiquidationEngine(liquidations_per_s, self.matching)
        self.stale_mark_ns = None if stale_mark_ms is None else stale_mark_ms * 1_000_000

    def mark_stale(self, ts: int) -> bool:
        """Whether the mark engine publishes nothing at ``ts`` (the stale-mark rule)."""
        m = self.matching
        return m is not None and self.stale_mark_ns is not None \
            and m.backlog_ns(ts) > self.stale_mark_ns

    def sample(self, ts: int) -> tuple[int, int, int]:
        """(``queue_len``, ``queue_wait_ms``, ``liq_queue_len``) for the time series."""
        queued, wait_ms = self.matching.sample(ts) if self.matching is not None else (0, 0)
        return queued, wait_ms, self.liquidation.waiting
