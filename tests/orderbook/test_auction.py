"""Halt, call-auction uncross and resume.  ``book`` checks every invariant after each call
(while halted the book may be crossed; once resumed it must not be)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orderbook import (AuctionResult, Fill, OrderStatus, OrderType, Reason, SelfTradePrevention,
                       Side, SubmitResult, TimeInForce)
from orderbook.auction import EVERY_TICK, XETRA, find_uncross_price

BUY, SELL = Side.BUY, Side.SELL
MARKET = OrderType.MARKET
IOC, FOK = TimeInForce.IOC, TimeInForce.FOK
EXPIRE_BOTH = SelfTradePrevention.EXPIRE_BOTH
NOTHING = AuctionResult(None, 0, 0, [])


def norm(r):
    """A SubmitResult with ``fills`` as a list: the book returns () or [] for "no fills"
    depending on the code path, and these tests do not pin that down."""
    return r._replace(fills=list(r.fills))


def crossed(book, bids, asks, first_id=1):
    """Halt ``book`` and rest ``bids``/``asks`` [(price, qty), ...]; bids first, ids in order."""
    book.halt()
    oid = first_id
    for side, orders in ((BUY, bids), (SELL, asks)):
        for price, qty in orders:
            assert book.submit(oid, 100 + oid, side, price, qty).status is OrderStatus.NEW
            oid += 1
    return book


# -------------------------------------------------------------------------- halting
def test_halt_sets_the_halted_flag_and_resume_clears_it(book):
    assert book.halted is False
    book.halt()
    assert book.halted is True
    book.resume()
    assert book.halted is False


def test_crossing_limit_orders_rest_while_halted_and_the_book_may_be_crossed(book):
    book.submit(1, 7, SELL, 100, 5)
    book.halt()
    r = book.submit(2, 8, BUY, 105, 3)
    assert norm(r) == SubmitResult(2, OrderStatus.NEW, [], 0, 3, 0, Reason.NONE, ())
    r = book.submit(3, 9, SELL, 90, 2)
    assert r.status is OrderStatus.NEW and list(r.fills) == []
    assert (book.best_bid(), book.best_ask()) == (105, 90)
    assert len(book) == 3 and book.last_price is None


def test_post_only_order_rests_while_halted_even_if_crossing(book):
    book.submit(1, 7, SELL, 100, 5)
    book.halt()
    r = book.submit(2, 8, BUY, 100, 3, post_only=True)
    assert (r.status, r.resting_qty) == (OrderStatus.NEW, 3)


@pytest.mark.parametrize("kwargs", [
    dict(price=None, order_type=MARKET),
    dict(price=105, order_type=MARKET),
    dict(price=None, order_type=MARKET, tif=FOK),
    dict(price=105, tif=IOC),
    dict(price=105, tif=FOK),
    dict(price=50, tif=IOC),   # would not even cross
    dict(price=50, tif=FOK),
], ids=["market", "market-limit", "market-fok", "ioc", "fok", "ioc-passive", "fok-passive"])
def test_immediate_orders_are_rejected_while_halted(book, kwargs):
    book.submit(1, 7, SELL, 100, 5)
    book.halt()
    before = book.state()
    r = book.submit(2, 8, BUY, qty=3, **kwargs)
    assert not r
    assert norm(r) == SubmitResult(2, OrderStatus.REJECTED, [], 0, 0, 0,
                                   Reason.MATCHING_HALTED, ())
    assert book.state() == before


def test_cancel_reduce_and_replace_work_while_halted_without_trading(book):
    book.submit(1, 7, SELL, 100, 5)
    book.submit(2, 8, BUY, 99, 5)
    book.halt()
    assert book.reduce(1, 4).qty == 4
    r = book.replace(2, price=101)  # crosses, but matching is halted
    assert norm(r) == SubmitResult(2, OrderStatus.NEW, [], 0, 5, 0, Reason.NONE, ())
    assert (book.best_bid(), book.best_ask()) == (101, 100)
    assert book.cancel(1) == 4
    assert len(book) == 1


# -------------------------------------------------------------------------- uncross
def test_uncross_executes_everything_at_one_price_in_price_time_priority(book):
    book.halt()
    book.submit(1, 11, SELL, 100, 4)
    book.submit(2, 12, BUY, 104, 3)
    book.submit(3, 13, BUY, 102, 2)
    book.submit(4, 14, SELL, 101, 2)
    book.submit(5, 15, BUY, 102, 2)
    book.submit(6, 16, SELL, 103, 5)
    book.submit(7, 17, BUY, 101, 2)
    # B(p): 9 up to 101, 7 at 102, 3 at 103-104.  S(p): 4 at 100, 6 at 101-102, 11 from 103.
    # Volume 6 at 101 (imbalance 3) and at 102 (imbalance 1): least imbalance -> 102.
    r = book.uncross()
    assert (r.price, r.volume, r.imbalance) == (102, 6, 1)
    assert r.fills == [
        Fill(1, 2, 102, 3, 11, 12, 0),  # best bid #2 against best ask #1 (earlier: maker)
        Fill(1, 3, 102, 1, 11, 13, 0),  # #3 before #5 at 102 (time priority)
        Fill(3, 4, 102, 1, 13, 14, 0),  # ask #4 arrived after bid #3: #4 is the taker
        Fill(4, 5, 102, 1, 14, 15, 0),
    ]
    assert [(o.order_id, o.qty) for o in book.orders_at(BUY, 102)] == [(5, 1)]
    assert book.order(7).qty == 2 and book.order(6).qty == 5
    assert (book.best_bid(), book.best_ask()) == (102, 103)
    assert book.last_price == 102
    assert book.halted  # uncross leaves the flag alone


def test_uncross_price_maximises_volume_before_any_tie_break(book):
    crossed(book, [(103, 10)], [(100, 2), (102, 3), (103, 5)])
    r = book.uncross(reference_price=100)
    assert (r.price, r.volume, r.imbalance) == (103, 10, 0)
    assert sum(f.qty for f in r.fills) == 10 and {f.price for f in r.fills} == {103}
    assert len(book) == 0


def test_volume_ties_are_broken_by_least_imbalance(book):
    # Every tick is a candidate.  100: vol 5, imbalance +1; 101-102: vol 5, imbalance 0;
    # 103-105: vol 5, imbalance -3.  The balanced 101-102 win; the reference 105 only picks
    # the nearest price inside them.
    crossed(book, [(105, 5), (100, 1)], [(100, 5), (103, 3)])
    r = book.uncross(reference_price=105)
    assert (r.price, r.volume, r.imbalance) == (102, 5, 0)


def test_imbalance_ties_on_the_buy_side_take_the_highest_price(book):
    # 100 and 105 both: vol 5, imbalance +1 (buyers left) -> highest, whatever the reference.
    crossed(book, [(105, 6)], [(100, 5)])
    r = book.uncross(reference_price=100)
    assert (r.price, r.volume, r.imbalance) == (105, 5, 1)
    assert book.order(1).qty == 1 and book.best_ask() is None


def test_imbalance_ties_on_the_sell_side_take_the_lowest_price(book):
    crossed(book, [(105, 5)], [(100, 6)])
    r = book.uncross(reference_price=105)
    assert (r.price, r.volume, r.imbalance) == (100, 5, -1)
    assert book.order(2).qty == 1 and book.best_bid() is None


@pytest.mark.parametrize("reference,price", [
    (None, 100),   # no reference: the lower price
    (102, 102),    # reference inside the crossed range is itself a candidate
    (104, 104),
    (100, 100),
    (105, 105),
    (200, 105),    # outside the range: the nearest candidate
    (50, 100),
])
def test_remaining_ties_are_broken_by_the_nearest_reference_price(book, reference, price):
    crossed(book, [(105, 5)], [(100, 5)])
    r = book.uncross(reference_price=reference)
    assert (r.price, r.volume, r.imbalance) == (price, 5, 0)
    assert r.fills == [Fill(1, 2, price, 5, 101, 102, 0)]


@pytest.mark.parametrize("reference,price,imbalance", [
    (None, 100, 2), (1, 100, 2), (200, 101, -2), (101, 101, -2),
])
def test_mixed_side_surpluses_fall_through_to_the_reference_price(book, reference, price,
                                                                   imbalance):
    # 100: vol 5, +2; 101: vol 5, -2 (equal surplus on different sides, no tick between).
    crossed(book, [(101, 5), (100, 2)], [(100, 5), (101, 2)])
    r = book.uncross(reference_price=reference)
    assert (r.price, r.volume, r.imbalance) == (price, 5, imbalance)


def test_uncross_uses_the_last_trade_price_as_default_reference(book):
    book.submit(90, 9, SELL, 103, 1)
    book.submit(91, 9, BUY, 103, 1)
    assert book.last_price == 103
    crossed(book, [(105, 5)], [(100, 5)])
    assert book.indicative_uncross().price == 103
    assert book.uncross().price == 103
    assert book.last_price == 103


def test_explicit_reference_overrides_the_last_trade_price(book):
    book.submit(90, 9, SELL, 103, 1)
    book.submit(91, 9, BUY, 103, 1)
    crossed(book, [(105, 5)], [(100, 5)])
    assert book.uncross(reference_price=101).price == 101
    assert book.last_price == 101


def test_uncross_reports_the_later_arrival_as_taker_with_no_aggressor(book):
    book.halt()
    book.submit(1, 11, BUY, 101, 2)
    book.submit(2, 12, SELL, 100, 1)
    book.submit(3, 13, SELL, 99, 1)
    r = book.uncross(reference_price=100)
    # Asks priced 99 first (#3), then #2; the bid #1 is older than both: always the maker.
    assert r.fills == [Fill(1, 3, 100, 1, 11, 13, 0), Fill(1, 2, 100, 1, 11, 12, 0)]


def test_uncross_ignores_self_trade_prevention(book):
    book.halt()
    book.submit(1, 7, BUY, 101, 2, stp=EXPIRE_BOTH)
    book.submit(2, 7, SELL, 100, 2, stp=EXPIRE_BOTH)
    r = book.uncross(reference_price=100)
    assert r.fills == [Fill(1, 2, 100, 2, 7, 7, 0)]


def test_book_is_not_crossed_after_uncross_and_resume(book):
    crossed(book, [(106, 3), (104, 4), (103, 1), (99, 2)], [(98, 2), (101, 5), (105, 6)])
    r = book.resume()
    assert r.volume > 0 and not book.halted
    book._check()  # not halted: asserts the book is not crossed
    assert book.best_bid() < book.best_ask()


def test_uncross_of_an_uncrossed_book_does_nothing(book):
    book.submit(1, 7, BUY, 99, 5)
    book.submit(2, 7, SELL, 101, 5)
    book.halt()
    before = book.state()
    assert book.uncross() == NOTHING
    assert book.uncross(reference_price=100) == NOTHING
    assert book.indicative_uncross() == NOTHING
    assert book.state() == before


def test_uncross_with_one_side_empty_does_nothing(book):
    crossed(book, [(105, 5), (104, 1)], [])
    before = book.state()
    assert book.uncross() == NOTHING
    assert book.state() == before


def test_uncross_of_an_empty_book_does_nothing(book):
    assert book.uncross() == NOTHING
    book.halt()
    assert book.uncross() == NOTHING
    assert book.resume() == NOTHING and not book.halted


def test_second_uncross_does_nothing(book):
    crossed(book, [(105, 5)], [(100, 3)])
    assert book.uncross(reference_price=100).volume == 3
    before = book.state()
    assert book.uncross() == NOTHING
    assert book.state() == before


def test_indicative_uncross_predicts_without_changing_anything(book):
    crossed(book, [(105, 5), (100, 1)], [(100, 5), (103, 3)])
    before = book.state()
    ind = book.indicative_uncross(reference_price=105)
    assert ind == AuctionResult(102, 5, 0, [])
    assert book.state() == before
    r = book.uncross(reference_price=105)
    assert (r.price, r.volume, r.imbalance) == (ind.price, ind.volume, ind.imbalance)


def test_orders_still_rest_after_an_uncross_until_resume(book):
    crossed(book, [(105, 5)], [(100, 5)])
    book.uncross(reference_price=100)
    book.submit(10, 7, SELL, 100, 1)
    r = book.submit(11, 8, BUY, 100, 1)
    assert r.status is OrderStatus.NEW and list(r.fills) == []


def test_resume_uncrosses_then_returns_to_continuous_matching(book):
    crossed(book, [(105, 5)], [(100, 3)])
    r = book.resume(reference_price=100)
    assert (r.price, r.volume, r.imbalance) == (105, 3, 2)  # buyers left: highest price
    assert not book.halted
    assert book.order(1).qty == 2
    r = book.submit(10, 9, SELL, 104, 1, tif=IOC)
    assert [(f.maker_id, f.taker_id, f.price, f.qty, f.aggressor) for f in r.fills] == \
        [(1, 10, 105, 1, -1)]
    r = book.submit(11, 9, SELL, qty=5, order_type=MARKET)
    assert (r.status, r.filled_qty, r.expired_qty) == (OrderStatus.EXPIRED, 1, 4)
    assert len(book) == 0


# ------------------------------------------------------------- brute-force property
ORDERS = st.lists(
    st.tuples(st.sampled_from([1, -1]), st.integers(95, 105), st.integers(1, 5),
              st.integers(1, 3)),
    min_size=2, max_size=14)


def _documented_price(levels_b, levels_s, ref, B, S):
    """The auction-price rule of ``orderbook.auction``, evaluated by brute force over every
    tick of the crossed range."""
    lo, hi = min(levels_s), max(levels_b)
    cands = range(lo, hi + 1)
    rows = [(p, min(B(p), S(p)), B(p) - S(p)) for p in cands]
    top = max(v for _, v, _ in rows)
    rows = [r for r in rows if r[1] == top]
    least = min(abs(i) for _, _, i in rows)
    rows = [r for r in rows if abs(r[2]) == least]
    if all(i > 0 for _, _, i in rows):
        return rows[-1][0]
    if all(i < 0 for _, _, i in rows):
        return rows[0][0]
    if ref is None:
        return rows[0][0]
    return min(rows, key=lambda r: (abs(r[0] - ref), r[0]))[0]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=ORDERS, ref=st.one_of(st.none(), st.integers(90, 110)))
def test_uncross_volume_is_the_maximum_over_all_prices(new_book, orders, ref):
    bids = {i: o for i, o in enumerate(orders, 1) if o[0] == 1}
    asks = {i: o for i, o in enumerate(orders, 1) if o[0] == -1}
    assume(bids and asks and max(o[1] for o in bids.values()) >= min(o[1] for o in asks.values()))
    book = new_book()
    book.halt()
    for oid, (side, price, qty, account) in enumerate(orders, 1):
        assert book.submit(oid, account, side, price, qty).status is OrderStatus.NEW

    def B(p):
        return sum(q for _, bp, q, _ in bids.values() if bp >= p)

    def S(p):
        return sum(q for _, ap, q, _ in asks.values() if ap <= p)

    best_volume = max(min(B(p), S(p)) for p in range(90, 112))
    ind = book.indicative_uncross(ref)
    r = book.uncross(ref)

    # One price, the maximum volume, the documented tie-breaks.
    assert r.volume == best_volume == ind.volume > 0
    assert r.price == ind.price
    assert min(B(r.price), S(r.price)) == best_volume
    assert r.imbalance == B(r.price) - S(r.price)
    assert r.price == _documented_price({o[1] for o in bids.values()},
                                        {o[1] for o in asks.values()}, ref, B, S)
    assert {f.price for f in r.fills} == {r.price}
    assert sum(f.qty for f in r.fills) == r.volume

    # Every fill pairs a bid with an ask; the later arrival is the taker.
    done = dict.fromkeys(range(1, len(orders) + 1), 0)
    for f in r.fills:
        assert f.aggressor == 0 and f.qty > 0
        assert {f.maker_id, f.taker_id} <= bids.keys() | asks.keys()
        assert (f.maker_id in bids) != (f.taker_id in bids)
        assert f.maker_id < f.taker_id
        assert (f.maker_account, f.taker_account) == (orders[f.maker_id - 1][3],
                                                      orders[f.taker_id - 1][3])
        done[f.maker_id] += f.qty
        done[f.taker_id] += f.qty

    # Price-time priority: executed quantities form a prefix (full, ..., partial, 0, ...).
    for side_orders, key in ((bids, lambda i: (-bids[i][1], i)),
                             (asks, lambda i: (asks[i][1], i))):
        ranked = sorted(side_orders, key=key)
        seq = [done[i] for i in ranked]
        full = [done[i] == side_orders[i][2] for i in ranked]
        k = full.index(False) if False in full else len(full)
        assert all(full[:k]) and all(q == 0 for q in seq[k + 1:])

    # Nothing priced beyond the auction price executes.
    assert all(done[i] == 0 for i, o in bids.items() if o[1] < r.price)
    assert all(done[i] == 0 for i, o in asks.items() if o[1] > r.price)

    # What is left rests unchanged otherwise; once resumed the book is not crossed.
    for oid, (side, price, qty, _) in enumerate(orders, 1):
        left = qty - done[oid]
        assert left >= 0
        assert (book.order(oid).qty if oid in book else 0) == left
    book.resume()
    book._check()
    bb, ba = book.best_bid(), book.best_ask()
    assert bb is None or ba is None or bb < ba


# ------------------------------------------- market orders queued; the Xetra price rule

def test_xetra_rule_takes_the_limit_of_maximum_executable_volume():
    """Bids 105 x3, 101 x4; asks 100 x5, 104 x1: volume 5 at 100 and 101, 3 at 104/105."""
    assert find_uncross_price([(105, 3), (101, 4)], [(100, 5), (104, 1)], None,
                              rule=XETRA) == (101, 5, 2)


def test_xetra_rule_prefers_the_least_surplus_among_limits_where_every_tick_finds_a_gap():
    """Bids 102 x1, 100 x1; ask 100 x1: volume 1 at 100 (surplus 1) and 102 (surplus 0).
    Every tick: 101 has surplus 0 too and is lower; Xetra considers limits only: 102."""
    bids, asks = [(102, 1), (100, 1)], [(100, 1)]
    assert find_uncross_price(bids, asks, None, rule=EVERY_TICK) == (101, 1, 0)
    assert find_uncross_price(bids, asks, None, rule=XETRA) == (102, 1, 0)


def test_xetra_rule_market_pressure_picks_the_highest_or_lowest_limit():
    # Buy surplus at every candidate (100 and 103): the highest limit.
    assert find_uncross_price([(103, 5)], [(100, 2)], 90, rule=XETRA) == (103, 2, 3)
    # Sell surplus everywhere: the lowest.
    assert find_uncross_price([(103, 2)], [(100, 5)], 110, rule=XETRA) == (100, 2, -3)


def test_xetra_rule_takes_the_reference_price_between_the_remaining_limits():
    """Bids 103 x1, 100 x1; asks 100 x1, 103 x1: volume 1 at both limits, surplus +1 at
    100 and -1 at 103 (no pressure): the reference if inside [100, 103], else the nearer
    limit.  Every tick instead finds surplus 0 at 101-102."""
    bids, asks = [(103, 1), (100, 1)], [(100, 1), (103, 1)]
    assert find_uncross_price(bids, asks, 102, rule=XETRA) == (102, 1, 0)
    assert find_uncross_price(bids, asks, 120, rule=XETRA) == (103, 1, -1)
    assert find_uncross_price(bids, asks, 80, rule=XETRA) == (100, 1, 1)
    assert find_uncross_price(bids, asks, 80, rule=EVERY_TICK) == (101, 1, 0)


def test_only_market_orders_trade_at_the_reference_price(book):
    book.halt(queue_market=True, price_rule=XETRA)
    book.submit(1, 7, BUY, None, 4, order_type=MARKET)
    book.submit(2, 8, SELL, None, 3, order_type=MARKET, tif=IOC)
    r = book.resume(250)
    assert (r.price, r.volume, r.imbalance) == (250, 3, 1)
    assert [(f.maker_id, f.taker_id, f.price, f.qty) for f in r.fills] == [(1, 2, 250, 3)]
    assert [(i.order_id, i.qty) for i in r.expired] == [(1, 1)]
    assert len(book) == 0 and book.last_price == 250
    assert find_uncross_price([], [], None, 4, 3, XETRA) is None     # no reference: no price


def test_queued_market_orders_execute_first_at_the_uncross_price_and_the_rest_expires(book):
    """Market buys 3 (id 2) then 4 (id 5) queue ahead of the bid at 101; asks 100 x5 and
    102 x5.  Every tick: volume 7 at 102 only (asks 10 there, buys 7): price 102, the
    market buys fill in arrival order, the bid (below 102) does not trade."""
    book.halt(queue_market=True)
    book.submit(1, 11, BUY, 101, 2)
    assert book.submit(2, 12, BUY, None, 3, order_type=MARKET).status is OrderStatus.NEW
    book.submit(3, 13, SELL, 100, 5)
    book.submit(4, 14, SELL, 102, 5)
    book.submit(5, 15, BUY, None, 4, order_type=MARKET, tif=IOC)
    assert book.best_bid() == 101 and book.volume(BUY) == 2 and len(book) == 5
    assert book.order(2).price is None and book.resting_qty(5) == 4
    assert book.indicative_uncross().price == 102
    r = book.resume()
    assert (r.price, r.volume, r.imbalance) == (102, 7, -3)   # B 7, S 10
    assert [(f.taker_id, f.maker_id, f.qty) for f in r.fills] == [(3, 2, 3), (5, 3, 2),
                                                                  (5, 4, 2)]
    assert r.expired == ()
    assert (book.best_bid(), book.best_ask(), book.level_qty(SELL, 102)) == (101, 102, 3)


def test_a_protected_market_order_rests_at_its_protection_price_and_expires_after(book):
    book.halt(queue_market=True)
    book.submit(1, 11, SELL, 99, 2)
    r = book.submit(2, 12, BUY, 100, 5, order_type=MARKET, tif=IOC)
    assert r.status is OrderStatus.NEW and book.level_qty(BUY, 100) == 5
    result = book.resume(100)
    assert (result.price, result.volume) == (100, 2)
    assert [(i.order_id, i.price, i.qty) for i in result.expired] == [(2, 100, 3)]
    assert len(book) == 0


def test_a_queued_market_order_can_be_reduced_or_cancelled_but_not_replaced(book):
    """It has no price: ``replace`` (which re-enters a GTC limit) refuses it."""
    book.halt(queue_market=True)
    book.submit(1, 11, BUY, None, 5, order_type=MARKET)
    assert book.reduce(1, 2).qty == 2 and book.resting_qty(1) == 2
    assert book.replace(1, qty=1).reason is Reason.INVALID_PRICE
    assert book.cancel(1) == 2 and len(book) == 0


@pytest.mark.parametrize("queue", [False, True])
def test_fok_and_ioc_limit_orders_are_refused_in_any_halt(book, queue):
    book.halt(queue_market=queue)
    assert book.submit(1, 1, BUY, None, 1, order_type=MARKET, tif=FOK).reason \
        is Reason.MATCHING_HALTED
    assert book.submit(2, 1, BUY, 100, 1, tif=IOC).reason is Reason.MATCHING_HALTED
    r = book.submit(3, 1, BUY, None, 1, order_type=MARKET)
    assert (r.reason is Reason.MATCHING_HALTED) is not queue


def test_without_queuing_the_old_uncross_is_unchanged():
    """The every-tick rule without market orders is the book's rule of before (the
    doctests of ``orderbook.auction`` and the brute-force state machine pin it too)."""
    assert find_uncross_price([(105, 3), (101, 4)], [(100, 5), (104, 1)], None) == (101, 5, 2)
    assert find_uncross_price([(105, 5)], [(100, 5)], 102) == (102, 5, 0)
