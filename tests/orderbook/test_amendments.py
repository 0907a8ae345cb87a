"""Cancel, reduce, replace and duplicate ids.  ``book`` checks every invariant after each
call (see conftest)."""
from __future__ import annotations

import pytest

from orderbook import (OrderInfo, OrderStatus, OrderType, Reason, Rejection, SelfTradePrevention,
                       Side, SubmitResult, TimeInForce)

BUY, SELL = Side.BUY, Side.SELL
MARKET = OrderType.MARKET
IOC, FOK = TimeInForce.IOC, TimeInForce.FOK
EXPIRE_TAKER = SelfTradePrevention.EXPIRE_TAKER


def norm(r):
    """A SubmitResult with ``fills`` as a list: the book returns () or [] for "no fills"
    depending on the code path, and these tests do not pin that down."""
    return r._replace(fills=list(r.fills))


@pytest.fixture
def bids(book):
    """Bids: #1, #2, #3 at 100 (3, 4, 5 lots, accounts 1, 2, 3); #4 at 99 (6 lots)."""
    book.submit(1, 1, BUY, 100, 3)
    book.submit(2, 2, BUY, 100, 4)
    book.submit(3, 3, BUY, 100, 5)
    book.submit(4, 4, BUY, 99, 6)
    return book


def ids_at(book, side, price):
    return [o.order_id for o in book.orders_at(side, price)]


# --------------------------------------------------------------------------- cancel
def test_cancel_returns_the_truthy_quantity_it_removed(book):
    book.submit(1, 7, SELL, 101, 5, reduce_only=True)
    assert book.order(1) == OrderInfo(1, 7, -1, 101, 5, True)
    qty = book.cancel(1)
    assert qty and qty == 5 and type(qty) is int
    assert 1 not in book and book.order(1) is None and len(book) == 0
    assert book.best_ask() is None and book.volume(SELL) == 0 and book.level_count(SELL) == 0


def test_cancel_from_the_middle_of_a_queue_keeps_the_others_in_order(bids):
    assert bids.cancel(2) == 4
    assert ids_at(bids, BUY, 100) == [1, 3]
    assert bids.level_qty(BUY, 100) == 8 and bids.volume(BUY) == 14


def test_cancel_of_the_last_order_at_the_best_price_moves_the_best(bids):
    for oid in (1, 2, 3):
        assert bids.cancel(oid)
    assert bids.best_bid() == 99 and bids.level_count(BUY) == 1


def test_cancel_of_a_partially_filled_order_reports_its_remaining_quantity(bids):
    bids.submit(9, 9, SELL, 100, 2)
    assert bids.cancel(1) == 1


def test_cancel_of_unknown_id_is_a_falsy_rejection(bids):
    before = bids.state()
    r = bids.cancel(404)
    assert not r
    assert r == Rejection(404, Reason.ORDER_NOT_RESTING)
    assert isinstance(r, Rejection)
    assert bids.state() == before


def test_cancel_of_an_already_cancelled_order_is_rejected(bids):
    assert bids.cancel(2)
    before = bids.state()
    r = bids.cancel(2)
    assert not r and r == Rejection(2, Reason.ORDER_NOT_RESTING)
    assert bids.state() == before


def test_cancel_of_a_filled_maker_is_rejected(bids):
    bids.submit(9, 9, SELL, 100, 3)  # fills #1 exactly
    assert 1 not in bids
    r = bids.cancel(1)
    assert not r and r == Rejection(1, Reason.ORDER_NOT_RESTING)


@pytest.mark.parametrize("kwargs", [
    dict(price=100, qty=3),                               # filled taker
    dict(price=101, qty=3, tif=IOC),                      # expired IOC
    dict(price=100, qty=99, tif=FOK),                     # expired FOK
    dict(price=None, qty=50, order_type=MARKET),          # market remainder expired
    dict(price=101, qty=0),                               # rejected
])
def test_cancel_of_an_order_that_never_rested_or_no_longer_rests_is_rejected(bids, kwargs):
    bids.submit(9, 9, SELL, **kwargs)
    assert 9 not in bids
    before = bids.state()
    r = bids.cancel(9)
    assert r == Rejection(9, Reason.ORDER_NOT_RESTING) and not r
    assert bids.state() == before


@pytest.mark.parametrize("order_id", [None, "1", 1.5, (1,)])
def test_cancel_never_raises_for_odd_ids(bids, order_id):
    r = bids.cancel(order_id)
    assert r == Rejection(order_id, Reason.ORDER_NOT_RESTING) and not r


# ---------------------------------------------------------------------- duplicate
@pytest.mark.parametrize("side,price", [(BUY, 98), (SELL, 100), (SELL, 120)])
def test_submit_with_the_id_of_a_resting_order_is_rejected(bids, side, price):
    before = bids.state()
    r = bids.submit(2, 9, side, price, 7)  # (SELL, 100) would even trade
    assert not r
    assert norm(r) == SubmitResult(2, OrderStatus.REJECTED, [], 0, 0, 0,
                                   Reason.DUPLICATE_ORDER_ID, ())
    assert bids.state() == before
    assert bids.order(2) == OrderInfo(2, 2, 1, 100, 4, False)


# --------------------------------------------------------------------------- reduce
def test_reduce_keeps_queue_priority(bids):
    info = bids.reduce(1, 1)
    assert info and info == OrderInfo(1, 1, 1, 100, 1, False)
    assert ids_at(bids, BUY, 100) == [1, 2, 3]
    assert bids.level_qty(BUY, 100) == 10 and bids.volume(BUY) == 16
    r = bids.submit(9, 9, SELL, 100, 2)
    assert [(f.maker_id, f.qty) for f in r.fills] == [(1, 1), (2, 1)]


def test_reduce_of_the_last_order_in_the_queue_keeps_it_last(bids):
    assert bids.reduce(3, 4)
    assert [(o.order_id, o.qty) for o in bids.orders_at(BUY, 100)] == [(1, 3), (2, 4), (3, 4)]


@pytest.mark.parametrize("new_qty", [4, 5, 100])
def test_reduce_rejects_a_quantity_that_is_not_smaller(bids, new_qty):
    before = bids.state()
    r = bids.reduce(2, new_qty)
    assert not r and r == Rejection(2, Reason.NOT_A_REDUCTION)
    assert bids.state() == before


@pytest.mark.parametrize("new_qty", [0, -1, 1.0, 2.5, True, None, "2"])
def test_reduce_rejects_an_invalid_quantity(bids, new_qty):
    before = bids.state()
    r = bids.reduce(2, new_qty)
    assert not r and r == Rejection(2, Reason.INVALID_QUANTITY)
    assert bids.state() == before


def test_reduce_of_an_order_that_is_not_resting_is_rejected(bids):
    bids.cancel(2)
    before = bids.state()
    assert bids.reduce(2, 1) == Rejection(2, Reason.ORDER_NOT_RESTING)
    assert bids.reduce(404, 1) == Rejection(404, Reason.ORDER_NOT_RESTING)
    assert bids.state() == before


def test_reduce_after_a_partial_fill_is_measured_against_the_remaining_quantity(bids):
    bids.submit(9, 9, SELL, 100, 2)  # #1 has 1 lot left
    assert bids.reduce(1, 1) == Rejection(1, Reason.NOT_A_REDUCTION)
    assert bids.reduce(2, 3) == OrderInfo(2, 2, 1, 100, 3, False)


# -------------------------------------------------------------------------- replace
def test_replace_to_a_new_price_loses_priority(bids):
    bids.submit(5, 5, BUY, 101, 1)
    r = bids.replace(1, price=101)
    assert norm(r) == SubmitResult(1, OrderStatus.NEW, [], 0, 3, 0, Reason.NONE, ())
    assert ids_at(bids, BUY, 101) == [5, 1]
    assert ids_at(bids, BUY, 100) == [2, 3]
    assert bids.order(1) == OrderInfo(1, 1, 1, 101, 3, False)


def test_replace_away_and_back_to_the_old_price_goes_to_the_back(bids):
    assert bids.replace(1, price=98)
    assert bids.replace(1, price=100)
    assert ids_at(bids, BUY, 100) == [2, 3, 1]
    assert bids.level_count(BUY) == 2  # the level at 98 was removed again


def test_replace_to_a_crossing_price_trades_on_entry(bids):
    bids.submit(7, 7, SELL, 102, 2)
    r = bids.replace(4, price=102)
    assert [(f.maker_id, f.taker_id, f.price, f.qty, f.aggressor) for f in r.fills] == \
        [(7, 4, 102, 2, 1)]
    assert (r.status, r.filled_qty, r.resting_qty) == (OrderStatus.PARTIALLY_FILLED, 2, 4)
    assert bids.order(4) == OrderInfo(4, 4, 1, 102, 4, False)
    assert (bids.best_bid(), bids.best_ask()) == (102, None)
    assert bids.last_price == 102


def test_replace_with_a_larger_quantity_loses_priority(bids):
    r = bids.replace(1, qty=10)
    assert norm(r) == SubmitResult(1, OrderStatus.NEW, [], 0, 10, 0, Reason.NONE, ())
    assert [(o.order_id, o.qty) for o in bids.orders_at(BUY, 100)] == [(2, 4), (3, 5), (1, 10)]
    assert bids.volume(BUY) == 25


def test_replace_with_a_smaller_quantity_at_the_same_price_keeps_priority(bids):
    r = bids.replace(1, price=100, qty=2)
    assert r and norm(r) == SubmitResult(1, OrderStatus.NEW, [], 0, 2, 0, Reason.NONE, ())
    assert [(o.order_id, o.qty) for o in bids.orders_at(BUY, 100)] == [(1, 2), (2, 4), (3, 5)]
    assert bids.replace(2, qty=1)  # price omitted = unchanged
    assert ids_at(bids, BUY, 100) == [1, 2, 3] and bids.order(2).qty == 1


def test_replace_with_a_new_price_keeps_the_remaining_quantity_when_qty_omitted(bids):
    bids.submit(9, 9, SELL, 100, 4)  # #1 filled, #2 has 3 left
    r = bids.replace(2, price=99)
    assert r.resting_qty == 3 and bids.order(2) == OrderInfo(2, 2, 1, 99, 3, False)
    assert ids_at(bids, BUY, 99) == [4, 2]


def test_replace_of_an_unknown_id_is_rejected(bids):
    before = bids.state()
    r = bids.replace(404, price=101)
    assert not r and r == Rejection(404, Reason.ORDER_NOT_RESTING)
    assert bids.state() == before


def test_replace_of_a_filled_order_is_rejected(bids):
    bids.submit(9, 9, SELL, 100, 3)
    assert bids.replace(1, price=101) == Rejection(1, Reason.ORDER_NOT_RESTING)


def test_replace_with_nothing_to_change_is_rejected_and_keeps_priority(bids):
    before = bids.state()
    for kwargs in (dict(), dict(price=100), dict(qty=3), dict(price=100, qty=3)):
        r = bids.replace(1, **kwargs)
        assert not r and r == Rejection(1, Reason.NOTHING_TO_CHANGE)
    assert bids.state() == before


@pytest.mark.parametrize("price", [0, -1, 100.0, 100.5, True, "101"])
def test_replace_with_an_invalid_price_is_rejected_and_the_order_kept(bids, price):
    before = bids.state()
    r = bids.replace(1, price=price)
    assert not r and r == Rejection(1, Reason.INVALID_PRICE)
    assert bids.state() == before


@pytest.mark.parametrize("qty", [0, -1, 3.0, 2.5, True, "3"])
def test_replace_with_an_invalid_quantity_is_rejected_and_the_order_kept(bids, qty):
    before = bids.state()
    r = bids.replace(1, qty=qty)
    assert not r and r == Rejection(1, Reason.INVALID_QUANTITY)
    assert bids.state() == before


def test_replace_keeps_account_side_and_reduce_only(book):
    book.submit(1, 7, SELL, 105, 3, reduce_only=True)
    r = book.replace(1, price=104, qty=5)
    assert r.status is OrderStatus.NEW
    assert book.order(1) == OrderInfo(1, 7, -1, 104, 5, True)


def test_replace_keeps_the_stp_mode(book):
    book.submit(1, 7, BUY, 100, 2)
    book.submit(2, 7, SELL, 105, 3, stp=EXPIRE_TAKER)
    r = book.replace(2, price=100)
    assert (r.status, list(r.fills), r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, [], 3, Reason.SELF_TRADE_PREVENTED)
    assert 2 not in book and book.order(1).qty == 2


def test_replace_of_a_post_only_order_that_would_take_is_rejected_and_keeps_it(book):
    book.submit(1, 7, SELL, 100, 5)
    assert book.submit(2, 8, BUY, 98, 5, post_only=True).status is OrderStatus.NEW
    before = book.state()
    for kwargs in (dict(price=100), dict(price=101, qty=9)):
        r = book.replace(2, **kwargs)
        assert not r and r == Rejection(2, Reason.POST_ONLY_WOULD_TAKE)
        assert book.state() == before


def test_replace_keeps_post_only_through_a_passive_replace(book, queue):
    book.submit(1, 7, SELL, 100, 5)
    book.submit(2, 8, BUY, 98, 5, post_only=True)
    r = book.replace(2, price=99, qty=6)  # passive: re-entered, still post-only
    assert norm(r) == SubmitResult(2, OrderStatus.NEW, [], 0, 6, 0, Reason.NONE, ())
    assert queue(book, BUY, 99) == [(2, 6)]
    r = book.replace(2, price=100)
    assert r == Rejection(2, Reason.POST_ONLY_WOULD_TAKE)
    assert book.order(1).qty == 5 and book.order(2).price == 99


def test_replace_of_a_non_post_only_order_may_take(book):
    book.submit(1, 7, SELL, 100, 5)
    book.submit(2, 8, BUY, 98, 5)
    r = book.replace(2, price=100)
    assert [(f.maker_id, f.taker_id, f.price, f.qty) for f in r.fills] == [(1, 2, 100, 5)]
