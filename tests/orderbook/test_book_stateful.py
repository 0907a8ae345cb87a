"""Stateful differential test: ``orderbook.OrderBook`` against ``reference_book.ReferenceBook``.

A hypothesis ``RuleBasedStateMachine`` drives random sequences of limit GTC (some
post-only), IOC, FOK and market orders (with and without a protection price), cancels,
reduces and replaces (of live, dead and unknown ids), invalid requests, and halt /
uncross / resume, through both books.  A halt either refuses market orders or queues them
into the auction (``halt(queue_market=True)``), with the every-tick or the Xetra price rule.  Prices stay in a narrow band (95..105) and orders
come from four accounts with random STP modes, so crossing and self-trades are frequent.

After every step the results must be identical (fills, status, reason, quantities,
STP-cancelled orders), ``OrderBook._check()`` must hold, and the whole visible state must
match: best bid/ask, ``len``, per-side volume, level counts, top levels, every level's
queue in time priority, ``last_price``, the halted flag and the indicative uncross.

Default run: 1,000 examples of up to 30 steps (~22 s on two cores; the suite's slowest
test, halved to keep the suite within its 10-minute CI budget).  ``-m slow`` runs 20,000.
Two small tests at the end pin the call-auction price search on its own.
"""
from __future__ import annotations

import sys
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from orderbook import (AuctionResult, Fill, OrderBook, OrderInfo, OrderStatus, Reason, Rejection,
                       SubmitResult)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_book import (FOK, GTC, IOC, LIMIT, MARKET, Auction, Info,  # noqa: E402
                            ReferenceBook, Refused, Submitted)

LO, HI = 95, 105
SIDES = st.sampled_from([1, -1])
PRICES = st.integers(LO, HI)
QTYS = st.integers(1, 8)
ACCOUNTS = st.integers(0, 3)
# NONE twice as likely as each other mode; the other three still self-trade often.
STP_MODES = st.sampled_from([0, 0, 1, 2, 3])
TIFS = st.sampled_from([GTC, IOC, FOK])
UNKNOWN_BASE = 1_000_000  # ids from here up are never submitted
# halt(queue_market, price_rule): today's refusal (most often), queuing with either rule.
HALT_MODES = st.sampled_from([(False, 0), (False, 0), (True, 0), (True, 1), (False, 1)])


@dataclass(frozen=True)
class Order:
    """The arguments of one ``submit`` apart from the id (which the machine assigns)."""

    side: int
    price: int | None
    qty: int
    account: int
    stp: int
    tif: int = GTC
    order_type: int = LIMIT
    post_only: bool = False
    reduce_only: bool = False

    def __repr__(self) -> str:  # short falsifying examples: only non-default fields
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.default is MISSING or getattr(self, f.name) != f.default]
        return f"Order({', '.join(shown)})"

    def _repr_pretty_(self, printer, cycle) -> None:  # used by hypothesis' pretty-printer
        printer.text(repr(self))


@st.composite
def orders(draw, prices="any", tif=st.just(GTC), order_type=st.just(LIMIT),
           post_only=st.just(False), qty=QTYS):
    """``prices``: "any" (95..105, crosses often), "passive" (bids <= 100 <= asks),
    "aggressive" (bids >= 100 >= asks), "protection" (None or 95..105, for market), or a
    tuple of those to choose from."""
    side = draw(SIDES)
    if isinstance(prices, tuple):
        prices = draw(st.sampled_from(prices))
    if prices == "any":
        price = draw(PRICES)
    elif prices == "protection":
        price = draw(st.none() | PRICES)
    else:
        offset = draw(st.integers(0, 5))
        price = 100 - side * offset if prices == "passive" else 100 + side * offset
    return Order(side=side, price=price, qty=draw(qty), account=draw(ACCOUNTS),
                 stp=draw(STP_MODES), tif=draw(tif), order_type=draw(order_type),
                 post_only=draw(post_only), reduce_only=draw(st.booleans()))


# --------------------------------------------------------------------- normalising
def norm(result):
    """Turn a book result into the reference's plain shape, checking its type."""
    if isinstance(result, SubmitResult):
        # fills: a list read as Fill items, or the empty tuple when nothing traded
        if result.fills:
            assert isinstance(result.fills, list), result
            assert [result.fills[i] for i in range(len(result.fills))] == list(result.fills)
        else:
            assert result.fills == () and type(result.fills) is tuple, result
        assert all(type(f) is Fill for f in result.fills), result
        assert all(type(i) is OrderInfo for i in result.stp_cancelled), result
        assert type(result.stp_cancelled) is tuple, result
        if result.status != OrderStatus.REJECTED:
            assert result.filled_qty + result.resting_qty + result.expired_qty > 0
        return Submitted(result.order_id, int(result.status), [tuple(f) for f in result.fills],
                         result.filled_qty, result.resting_qty, result.expired_qty,
                         int(result.reason), tuple(Info(*i) for i in result.stp_cancelled))
    if isinstance(result, Rejection):
        assert not result
        return Refused(result.order_id, int(result.reason))
    if isinstance(result, OrderInfo):
        return Info(*result)
    if type(result) is int:  # cancel: the quantity the order still had
        assert result > 0
        return result
    if isinstance(result, AuctionResult):
        assert all(type(f) is Fill for f in result.fills), result
        assert all(type(i) is OrderInfo for i in result.expired), result
        return Auction(result.price, result.volume, result.imbalance,
                       [tuple(f) for f in result.fills], tuple(Info(*i) for i in result.expired))
    raise AssertionError(f"unexpected result type {type(result).__name__}: {result!r}")


def book_snapshot(book: OrderBook) -> dict:
    return {side: [(p, [Info(*i) for i in book.orders_at(side, p)])
                   for p, _, _ in book.levels(side)]
            for side in (1, -1)}


# -------------------------------------------------------------------- the machine
class BookVersusReference(RuleBasedStateMachine):
    """Every rule applies the same request to both books and compares the answers; the
    invariant compares the whole state.  (Entry rules take one composite ``order``
    argument: hypothesis favours rules with fewer arguments, and order flow should
    dominate.)"""

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook()
        self.ref = ReferenceBook()
        self.next_id = 1
        self.used: list[int] = []  # every id ever submitted, in order

    # ---------------------------------------------------------------- helpers
    def _fresh_id(self) -> int:
        oid = self.next_id
        self.next_id += 1
        return oid

    def _same(self, what: str, got, want) -> None:
        got = norm(got)
        assert got == want, (f"{what}:\n  book      {got!r}\n  reference {want!r}\n"
                             f"  book state {book_snapshot(self.book)!r}")

    def _submit(self, order_id: int, order: Order) -> None:
        kw = dict(order_id=order_id, **vars(order))
        got = self.book.submit(**kw)
        want = self.ref.submit(**kw)
        self.used.append(order_id)
        self._same(f"submit({kw})", got, want)
        if want.status != OrderStatus.REJECTED:
            assert want.filled_qty + want.resting_qty + want.expired_qty == order.qty
        event(f"submit -> {OrderStatus(want.status).name} / {Reason(want.reason).name}")
        if want.stp_cancelled:
            event("submit -> STP cancelled makers")

    def _dead_or_unknown(self, data) -> int:
        dead = [i for i in self.used if i not in self.ref]
        choices = st.integers(UNKNOWN_BASE, UNKNOWN_BASE + 5)
        if dead:
            choices = st.sampled_from(dead) | choices
        return data.draw(choices, label="dead_or_unknown_id")

    def _live(self, data) -> int:
        return data.draw(st.sampled_from(self.ref.live_ids()), label="live_id")

    def _has_live(self) -> bool:
        return len(self.ref) > 0

    # ------------------------------------------------------------------ entry
    @initialize(batch=st.lists(orders(prices="passive"), max_size=10))
    def seed_depth(self, batch):
        """Most runs start with some resting depth, so takers have something to hit."""
        for order in batch:
            self._submit(self._fresh_id(), order)

    @rule(order=orders(post_only=st.sampled_from([False, False, False, True])))
    def add_gtc(self, order):
        """GTC limit anywhere in the band (often crossing); a quarter are post-only."""
        self._submit(self._fresh_id(), order)

    @rule(order=orders(prices="passive", post_only=st.booleans()))
    def add_passive(self, order):
        """GTC limit on its own half of the band: builds depth (half of it post-only)."""
        self._submit(self._fresh_id(), order)

    @rule(order=orders(prices=("aggressive", "any"), tif=st.just(IOC)))
    def add_ioc(self, order):
        self._submit(self._fresh_id(), order)

    @rule(order=orders(prices=("aggressive", "any"), tif=st.just(FOK),
                       qty=st.integers(1, 8) | st.integers(9, 16)))
    def add_fok(self, order):
        self._submit(self._fresh_id(), order)

    @rule(order=orders(prices="protection", tif=TIFS, order_type=st.just(MARKET),
                       qty=st.integers(1, 16)))
    def add_market(self, order):
        """Market order with or without a protection price, any time-in-force."""
        self._submit(self._fresh_id(), order)

    @precondition(lambda self: self.ref.halted)
    @rule(order=orders(prices="aggressive", post_only=st.booleans()))
    def add_while_halted(self, order):
        """During a halt: bids at 100 or above, asks at 100 or below, so the book crosses
        and the uncross has work to do (post-only orders rest too)."""
        self._submit(self._fresh_id(), order)

    @precondition(lambda self: self.ref.halted)
    @rule(order=orders(prices="protection", tif=TIFS, order_type=st.just(MARKET),
                       qty=st.integers(1, 16)))
    def add_market_while_halted(self, order):
        """During a halt: a market order, queued or refused as the halt says."""
        self._submit(self._fresh_id(), order)

    @rule(data=st.data(), order=orders(tif=TIFS))
    def add_reusing_dead_id(self, data, order):
        """The id of an order that is gone (or was never seen) may be used again."""
        self._submit(self._dead_or_unknown(data), order)

    @rule(data=st.data(), case=st.sampled_from([
        Order(side=0, price=100, qty=1, account=0, stp=0),
        Order(side=True, price=100, qty=1, account=0, stp=0),
        Order(side=1.0, price=100, qty=1, account=0, stp=0),
        Order(side=1, price=100, qty=0, account=0, stp=0),
        Order(side=-1, price=100, qty=-3, account=0, stp=0),
        Order(side=1, price=0, qty=1, account=0, stp=0),
        Order(side=1, price=None, qty=1, account=0, stp=0),
        Order(side=1, price=-1, qty=1, account=0, stp=0, order_type=MARKET),
        Order(side=1, price=None, qty=1, account=0, stp=0, order_type=MARKET, post_only=True),
        Order(side=1, price=100, qty=1, account=0, stp=0, order_type=7),
        Order(side=1, price=100, qty=1, account=0, stp=0, tif=9),
        Order(side=-1, price=100, qty=1, account=0, stp=0, tif=IOC, post_only=True),
        Order(side=1, price=100, qty=1, account=0, stp=4),
        "duplicate of a live id",
    ]))
    def add_invalid(self, data, case):
        if case == "duplicate of a live id":
            if not self._has_live():
                return
            self._submit(self._live(data), data.draw(orders(), label="order"))
        else:
            self._submit(self._fresh_id(), case)

    # ------------------------------------------------------------- amendments
    @precondition(_has_live)
    @rule(data=st.data())
    def cancel_live(self, data):
        oid = self._live(data)
        self._same(f"cancel({oid})", self.book.cancel(oid), self.ref.cancel(oid))

    @precondition(_has_live)
    @rule(data=st.data(), delta=st.integers(-2, 8))
    def reduce_live(self, data, delta):
        """new qty = current - delta: mostly valid reductions, sometimes not."""
        oid = self._live(data)
        new_qty = self.ref.order(oid).qty - delta
        self._same(f"reduce({oid}, {new_qty})", self.book.reduce(oid, new_qty),
                   self.ref.reduce(oid, new_qty))

    @precondition(_has_live)
    @rule(data=st.data(),
          price=st.none() | PRICES | st.sampled_from([0, "touch", "one tick off"]),
          qty_delta=st.none() | st.integers(-4, 6))
    def replace_live(self, data, price, qty_delta):
        """New price and/or quantity (current + qty_delta); includes no-ops and invalid.
        "touch": the opposite best price (a post-only order would take); "one tick off":
        one tick short of it (it would not)."""
        oid = self._live(data)
        order = self.ref.order(oid)
        if isinstance(price, str):
            opposite = self.ref.best_ask() if order.side == 1 else self.ref.best_bid()
            if opposite is None:
                price = None
            else:
                price = opposite if price == "touch" else opposite - order.side
        qty = None if qty_delta is None else order.qty + qty_delta
        want = self.ref.replace(oid, price=price, qty=qty)
        self._same(f"replace({oid}, price={price}, qty={qty})",
                   self.book.replace(oid, price=price, qty=qty), want)
        if isinstance(want, Submitted):
            event(f"replace -> {OrderStatus(want.status).name}"
                  + (" with fills" if want.fills else ""))

    @rule(data=st.data(), op=st.sampled_from(["cancel", "reduce", "replace"]),
          price=st.none() | PRICES, qty=st.none() | QTYS)
    def amend_dead_or_unknown(self, data, op, price, qty):
        oid = self._dead_or_unknown(data)
        if op == "cancel":
            got, want = self.book.cancel(oid), self.ref.cancel(oid)
        elif op == "reduce":
            got, want = self.book.reduce(oid, qty or 1), self.ref.reduce(oid, qty or 1)
        else:
            got = self.book.replace(oid, price=price, qty=qty)
            want = self.ref.replace(oid, price=price, qty=qty)
        self._same(f"{op}({oid}, price={price}, qty={qty})", got, want)

    # ---------------------------------------------------------------- auction
    @rule(op=st.sampled_from(["resume", "halt", "uncross", "resume"]),
          reference=st.none() | st.integers(LO - 3, HI + 3), mode=HALT_MODES)
    def auction(self, op, reference, mode=(False, 0)):
        """halt() (refusing or queuing market orders, every-tick or Xetra price); or
        uncross/resume with an explicit reference price or None (then the last trade price
        is the reference)."""
        if op == "halt":
            self.book.halt(*mode)
            self.ref.halt(*mode)
            event(f"halt{mode}")
            return
        indication = self.ref.indicative_uncross(reference)
        self._same(f"indicative_uncross({reference})", self.book.indicative_uncross(reference),
                   indication)
        want = getattr(self.ref, op)(reference)
        self._same(f"{op}({reference})", getattr(self.book, op)(reference), want)
        assert want[:3] == indication[:3]  # executes what it indicated
        event(f"{op} -> " + ("traded" if want.fills else "not crossed"))

    @rule(batch=st.lists(orders(prices="aggressive", post_only=st.booleans()), min_size=2,
                         max_size=6),
          end=st.sampled_from(["resume", "uncross", "stay halted"]),
          reference=st.none() | st.integers(LO - 3, HI + 3), mode=HALT_MODES,
          markets=st.lists(orders(prices="protection", order_type=st.just(MARKET)),
                           max_size=4))
    def call_auction(self, batch, end, reference, mode, markets):
        """A whole auction in one step: halt(), a burst of bids at 100 or above and asks at
        100 or below (the crossed book the auction exists for) and some market orders,
        then resume or uncross."""
        self.book.halt(*mode)
        self.ref.halt(*mode)
        for order in batch + markets:
            self._submit(self._fresh_id(), order)
        if end != "stay halted":
            self.auction(end, reference)

    # -------------------------------------------------------------- invariant
    @invariant()
    def books_agree(self):
        book, ref = self.book, self.ref
        book._check()
        assert book.halted == ref.halted
        assert (book.best_bid(), book.best_ask()) == (ref.best_bid(), ref.best_ask())
        assert len(book) == len(ref)
        for side in (1, -1):
            assert book.volume(side) == ref.volume(side), side
            assert book.level_count(side) == ref.level_count(side), side
            assert book.top(side, 3) == ref.top(side, 3), side
            assert book.depth(side, 100) == ref.depth(side, 100), side
        assert book_snapshot(book) == ref.snapshot()
        for oid in ref.live_ids()[:5] + self.used[-2:]:
            assert (oid in book) == (oid in ref), oid
            got = book.order(oid)
            assert (None if got is None else Info(*got)) == ref.order(oid), oid
        assert book.last_price == ref.last_price
        if book.halted:
            self._same("indicative_uncross()", book.indicative_uncross(),
                       ref.indicative_uncross())


def _settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, stateful_step_count=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_book_matches_reference():
    run_state_machine_as_test(BookVersusReference, settings=_settings(600))   # 20,000: -m slow


@pytest.mark.slow
def test_book_matches_reference_many():
    run_state_machine_as_test(BookVersusReference, settings=_settings(20_000))


# ------------------------------------------------------------ auction price search alone
def _halted_pair(orders_):
    book, ref = OrderBook(), ReferenceBook()
    book.halt()
    ref.halt()
    for oid, (side, price, qty) in enumerate(orders_, 1):
        book.submit(oid, oid % 4, side, price, qty)
        ref.submit(oid, oid % 4, side, price, qty)
    return book, ref


@settings(max_examples=1_000, deadline=None)
@given(orders_=st.lists(st.tuples(SIDES, PRICES, QTYS), max_size=12),
       reference=st.none() | st.integers(LO - 3, HI + 3))
def test_uncross_matches_brute_force(orders_, reference):
    """Any crossed book: price, volume, imbalance and fills equal the brute-force search
    over every tick of the crossed range."""
    book, ref = _halted_pair(orders_)
    assert norm(book.indicative_uncross(reference)) == ref.indicative_uncross(reference)
    assert norm(book.uncross(reference)) == ref.uncross(reference)
    book._check()
    assert book_snapshot(book) == ref.snapshot()


def test_uncross_price_may_lie_between_level_prices():
    """Regression (found by the state machine): bids 97 x1 and 95 x1, ask 95 x1, no
    reference.  Volume 1 at 95..97; |surplus| is 1 at 95 and 0 at 96 and 97, so rule 2
    leaves {96, 97} and the final tie-break picks 96 -- a price where no order rests.
    The book used to consider only level prices (and the reference) and answered 97."""
    book, ref = _halted_pair([(1, 95, 1), (-1, 95, 1), (1, 97, 1)])
    assert ref.indicative_uncross() == Auction(96, 1, 0, [])
    assert norm(book.indicative_uncross()) == Auction(96, 1, 0, [])


@settings(max_examples=1_500, deadline=None)
@given(orders_=st.lists(st.tuples(SIDES, PRICES, QTYS), max_size=10),
       markets=st.lists(st.tuples(SIDES, st.none() | PRICES, QTYS), min_size=1, max_size=5),
       rule=st.sampled_from([0, 1]), reference=st.none() | st.integers(LO - 3, HI + 3))
def test_uncross_with_queued_market_orders_matches_brute_force(orders_, markets, rule,
                                                                reference):
    """A halt that queues market orders, either price rule: indication, uncross (fills and
    the expired market remainders) and the book afterwards equal the brute force over the
    limits in play; the book is left uncrossed and holds no market order."""
    book, ref = OrderBook(), ReferenceBook()
    book.halt(True, rule)
    ref.halt(True, rule)
    entries = [(s, p, q, LIMIT) for s, p, q in orders_] + [(s, p, q, MARKET) for s, p, q in markets]
    for oid, (side, price, qty, kind) in enumerate(entries, 1):
        got = book.submit(oid, oid % 4, side, price, qty, tif=IOC if kind == MARKET else GTC,
                          order_type=kind)
        want = ref.submit(oid, oid % 4, side, price, qty, tif=IOC if kind == MARKET else GTC,
                          order_type=kind)
        assert norm(got) == want
    assert norm(book.indicative_uncross(reference)) == ref.indicative_uncross(reference)
    assert norm(book.resume(reference)) == ref.resume(reference)
    book._check()
    assert book_snapshot(book) == ref.snapshot()
    assert len(book) == len(ref.orders)
    bb, ba = book.best_bid(), book.best_ask()
    assert bb is None or ba is None or bb < ba
