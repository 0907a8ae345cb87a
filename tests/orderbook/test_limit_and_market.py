"""Limit and market orders: resting, crossing, price-time priority, protection limits and
entry validation.  ``book`` checks every invariant after each call (see conftest)."""
from __future__ import annotations

import pytest

from orderbook import (Fill, OrderInfo, OrderStatus, OrderType, Reason, SelfTradePrevention, Side,
                       SubmitResult, TimeInForce)

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


def norm(r):
    """A SubmitResult with ``fills`` as a list: the book returns () or [] for "no fills"
    depending on the code path, and these tests do not pin that down."""
    return r._replace(fills=list(r.fills))


# ------------------------------------------------------------------------- resting
def test_limit_order_into_empty_book_rests_in_full(book):
    r = book.submit(order_id=1, account=7, side=BUY, price=100, qty=5)
    assert norm(r) == SubmitResult(1, OrderStatus.NEW, [], 0, 5, 0, Reason.NONE, ())
    assert r
    assert book.order(1) == OrderInfo(1, 7, 1, 100, 5, False)
    assert (book.best_bid(), book.best_ask(), len(book)) == (100, None, 1)


def test_non_crossing_orders_rest_on_their_own_sides(book):
    assert book.submit(1, 7, BUY, 99, 3).status is OrderStatus.NEW
    assert book.submit(2, 8, SELL, 101, 4).status is OrderStatus.NEW
    assert book.submit(3, 9, BUY, 100, 1).status is OrderStatus.NEW
    assert (book.best_bid(), book.best_ask()) == (100, 101)
    assert (book.volume(BUY), book.volume(SELL), len(book)) == (4, 4, 3)
    assert book.last_price is None


def test_reduce_only_flag_travels_with_the_resting_order(book):
    book.submit(1, 7, SELL, 100, 2, reduce_only=True)
    assert book.order(1).reduce_only is True


# ------------------------------------------------------------------------ crossing
def test_crossing_buy_trades_at_the_makers_price(book):
    book.submit(1, 7, SELL, 100, 5)
    r = book.submit(2, 8, BUY, 103, 5)
    assert list(r.fills) == [Fill(1, 2, 100, 5, 7, 8, 1)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.FILLED, 5, 0, 0, Reason.NONE)
    assert len(book) == 0 and book.best_ask() is None and book.best_bid() is None
    assert book.last_price == 100


def test_crossing_sell_trades_at_the_makers_price(book):
    book.submit(1, 7, BUY, 100, 5)
    r = book.submit(2, 8, SELL, 96, 2)
    assert list(r.fills) == [Fill(1, 2, 100, 2, 7, 8, -1)]
    assert r.status is OrderStatus.FILLED
    assert book.order(1) == OrderInfo(1, 7, 1, 100, 3, False)


def test_limit_exactly_at_the_opposite_best_crosses(book, fills):
    book.submit(1, 7, SELL, 100, 5)
    r = book.submit(2, 8, BUY, 100, 5)
    assert fills(r) == [(1, 2, 100, 5)]


def test_limit_one_tick_short_of_the_opposite_best_rests(book):
    book.submit(1, 7, SELL, 100, 5)
    r = book.submit(2, 8, BUY, 99, 5)
    assert r.status is OrderStatus.NEW and list(r.fills) == []
    assert (book.best_bid(), book.best_ask()) == (99, 100)


def test_taker_sweeps_best_ask_first_across_levels(book, fills):
    for oid, px in ((1, 102), (2, 100), (3, 101)):  # entered out of price order
        book.submit(oid, 7, SELL, px, 2)
    r = book.submit(9, 8, BUY, 102, 6)
    assert fills(r) == [(2, 9, 100, 2), (3, 9, 101, 2), (1, 9, 102, 2)]
    assert r.status is OrderStatus.FILLED
    assert book.last_price == 102


def test_taker_sweeps_best_bid_first_across_levels(book, fills):
    for oid, px in ((1, 98), (2, 100), (3, 99)):
        book.submit(oid, 7, BUY, px, 2)
    r = book.submit(9, 8, SELL, 98, 5)
    assert fills(r) == [(2, 9, 100, 2), (3, 9, 99, 2), (1, 9, 98, 1)]
    assert book.order(1).qty == 1 and book.best_bid() == 98


def test_better_price_beats_earlier_time(book, fills):
    book.submit(1, 7, SELL, 101, 2)
    book.submit(2, 7, SELL, 100, 2)
    r = book.submit(3, 8, BUY, 101, 2)
    assert fills(r) == [(2, 3, 100, 2)]
    assert book.order(1).qty == 2


def test_within_a_level_earlier_order_fills_first(book, fills, queue):
    for oid in (1, 2, 3):
        book.submit(oid, 7, SELL, 100, 3)
    r = book.submit(9, 8, BUY, 100, 5)
    assert fills(r) == [(1, 9, 100, 3), (2, 9, 100, 2)]
    assert queue(book, SELL, 100) == [(2, 1), (3, 3)]


def test_partially_filled_maker_keeps_its_place_at_the_front(book, fills, queue):
    book.submit(1, 7, SELL, 100, 5)
    book.submit(2, 7, SELL, 100, 5)
    book.submit(8, 8, BUY, 100, 2)
    assert queue(book, SELL, 100) == [(1, 3), (2, 5)]
    r = book.submit(9, 8, BUY, 100, 4)
    assert fills(r) == [(1, 9, 100, 3), (2, 9, 100, 1)]


def test_partially_filled_taker_rests_its_remainder_at_its_limit(book, fills):
    book.submit(1, 7, SELL, 100, 2)
    r = book.submit(2, 8, BUY, 101, 5)
    assert fills(r) == [(1, 2, 100, 2)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.PARTIALLY_FILLED, 2, 3, 0, Reason.NONE)
    assert book.order(2) == OrderInfo(2, 8, 1, 101, 3, False)
    assert (book.best_bid(), book.best_ask()) == (101, None)


def test_taker_never_trades_beyond_its_limit(book, fills):
    book.submit(1, 7, SELL, 100, 1)
    book.submit(2, 7, SELL, 101, 1)
    book.submit(3, 7, SELL, 102, 1)
    r = book.submit(9, 8, BUY, 101, 5)
    assert fills(r) == [(1, 9, 100, 1), (2, 9, 101, 1)]
    assert r.status is OrderStatus.PARTIALLY_FILLED and r.resting_qty == 3
    assert (book.best_bid(), book.best_ask()) == (101, 102)
    assert book.order(3).qty == 1


def test_fill_quantities_add_up_to_filled_qty(book):
    for oid, (px, q) in enumerate(((100, 2), (100, 1), (101, 4), (103, 7)), start=1):
        book.submit(oid, 7, SELL, px, q)
    r = book.submit(9, 8, BUY, 103, 9)
    assert sum(f.qty for f in r.fills) == r.filled_qty == 9
    assert r.filled_qty + r.resting_qty + r.expired_qty == 9
    assert book.volume(SELL) == 5 and book.order(4).qty == 5


# -------------------------------------------------------------------------- market
def test_market_order_without_limit_sweeps_until_filled(book, fills):
    book.submit(1, 7, SELL, 100, 2)
    book.submit(2, 7, SELL, 150, 2)
    book.submit(3, 7, SELL, 900, 2)
    r = book.submit(9, 8, BUY, None, 5, order_type=MARKET)
    assert fills(r) == [(1, 9, 100, 2), (2, 9, 150, 2), (3, 9, 900, 1)]
    assert (r.status, r.filled_qty, r.expired_qty) == (OrderStatus.FILLED, 5, 0)
    assert r.fills[0].aggressor == 1


def test_market_sell_without_limit_hits_bids_best_first(book, fills):
    book.submit(1, 7, BUY, 90, 2)
    book.submit(2, 7, BUY, 100, 2)
    r = book.submit(9, 8, SELL, qty=3, order_type=MARKET)
    assert fills(r) == [(2, 9, 100, 2), (1, 9, 90, 1)]
    assert r.fills[0].aggressor == -1


@pytest.mark.parametrize("tif", [GTC, IOC])
def test_market_order_remainder_expires_never_rests(book, fills, tif):
    book.submit(1, 7, SELL, 100, 2)
    r = book.submit(9, 8, BUY, qty=5, order_type=MARKET, tif=tif)
    assert fills(r) == [(1, 9, 100, 2)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 2, 0, 3, Reason.IOC_REMAINDER)
    assert 9 not in book and len(book) == 0 and book.best_bid() is None


def test_market_buy_never_trades_above_its_protection_limit(book, fills):
    book.submit(1, 7, SELL, 100, 2)
    book.submit(2, 7, SELL, 101, 2)
    book.submit(3, 7, SELL, 102, 2)
    r = book.submit(9, 8, BUY, 101, 10, order_type=MARKET)
    assert fills(r) == [(1, 9, 100, 2), (2, 9, 101, 2)]
    assert all(f.price <= 101 for f in r.fills)
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 4, 0, 6, Reason.IOC_REMAINDER)
    assert book.best_ask() == 102 and book.order(3).qty == 2 and book.best_bid() is None


def test_market_sell_never_trades_below_its_protection_limit(book, fills):
    book.submit(1, 7, BUY, 100, 2)
    book.submit(2, 7, BUY, 99, 2)
    book.submit(3, 7, BUY, 98, 2)
    r = book.submit(9, 8, SELL, 99, 10, order_type=MARKET)
    assert fills(r) == [(1, 9, 100, 2), (2, 9, 99, 2)]
    assert (r.status, r.expired_qty, r.reason) == (OrderStatus.EXPIRED, 6, Reason.IOC_REMAINDER)
    assert book.best_bid() == 98 and book.best_ask() is None


def test_market_order_with_limit_better_than_the_book_expires_untraded(book):
    book.submit(1, 7, SELL, 100, 2)
    before = book.state()
    r = book.submit(9, 8, BUY, 99, 3, order_type=MARKET)
    assert norm(r) == SubmitResult(9, OrderStatus.EXPIRED, [], 0, 0, 3, Reason.IOC_REMAINDER, ())
    assert r  # accepted, only expired
    assert book.state() == before


def test_market_order_filled_exactly_at_its_limit_is_filled(book, fills):
    book.submit(1, 7, SELL, 100, 2)
    book.submit(2, 7, SELL, 101, 2)
    r = book.submit(9, 8, BUY, 101, 4, order_type=MARKET)
    assert fills(r) == [(1, 9, 100, 2), (2, 9, 101, 2)]
    assert (r.status, r.expired_qty, r.reason) == (OrderStatus.FILLED, 0, Reason.NONE)


@pytest.mark.parametrize("side", [BUY, SELL])
def test_market_order_into_empty_book_expires_in_full(book, side):
    r = book.submit(9, 8, side, qty=4, order_type=MARKET)
    assert norm(r) == SubmitResult(9, OrderStatus.EXPIRED, [], 0, 0, 4, Reason.IOC_REMAINDER, ())
    assert len(book) == 0 and book.last_price is None


def test_market_order_into_book_with_only_same_side_liquidity_expires(book):
    book.submit(1, 7, BUY, 100, 2)
    r = book.submit(9, 8, BUY, qty=4, order_type=MARKET)
    assert (r.status, r.expired_qty, r.reason) == (OrderStatus.EXPIRED, 4, Reason.IOC_REMAINDER)
    assert book.order(1).qty == 2 and len(book) == 1


# ---------------------------------------------------------------------- validation
def _assert_rejected(book, before, r, order_id, reason):
    assert not r
    assert norm(r) == SubmitResult(order_id, OrderStatus.REJECTED, [], 0, 0, 0, reason, ())
    assert book.state() == before


@pytest.fixture
def busy(book):
    """A book with liquidity on both sides, so that a wrongly accepted order would trade."""
    book.submit(1, 7, SELL, 101, 5)
    book.submit(2, 7, SELL, 102, 5)
    book.submit(3, 7, BUY, 99, 5)
    book.submit(4, 7, BUY, 98, 5)
    return book


@pytest.mark.parametrize("side", [0, 2, -2, None, "BUY"])
def test_order_with_bad_side_is_rejected(busy, side):
    before = busy.state()
    r = busy.submit(10, 8, side, 101, 1)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_SIDE)


def test_float_side_is_rejected_not_raised(busy):
    # "Invalid requests ... are rejections with a Reason, never exceptions."
    before = busy.state()
    r = busy.submit(10, 8, 1.0, 101, 1)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_SIDE)


@pytest.mark.parametrize("qty", [0, -1, -5, 1.0, 2.5, True, False, None, "3"])
@pytest.mark.parametrize("order_type", [LIMIT, MARKET])
def test_order_with_bad_quantity_is_rejected(busy, qty, order_type):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 101, qty, order_type=order_type)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_QUANTITY)


@pytest.mark.parametrize("price", [0, -1, None, 101.0, True, "101"])
def test_limit_order_with_bad_price_is_rejected(busy, price):
    before = busy.state()
    r = busy.submit(10, 8, BUY, price, 1)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_PRICE)


@pytest.mark.parametrize("price", [0, -1, 101.0, True, "101"])
def test_market_order_with_bad_protection_limit_is_rejected(busy, price):
    before = busy.state()
    r = busy.submit(10, 8, BUY, price, 1, order_type=MARKET)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_PRICE)


@pytest.mark.parametrize("order_type", [0, 3, -1, None, "LIMIT"])
def test_order_with_bad_order_type_is_rejected(busy, order_type):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 101, 1, order_type=order_type)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_ORDER_TYPE)


@pytest.mark.parametrize("tif", [0, 4, -1, None, "GTC"])
def test_order_with_bad_time_in_force_is_rejected(busy, tif):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 101, 1, tif=tif)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_TIME_IN_FORCE)


@pytest.mark.parametrize("tif", [IOC, FOK])
def test_post_only_with_immediate_time_in_force_is_rejected(busy, tif):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 100, 1, tif=tif, post_only=True)  # would not even cross
    _assert_rejected(busy, before, r, 10, Reason.INVALID_TIME_IN_FORCE)


def test_post_only_market_order_is_rejected(busy):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 101, 1, order_type=MARKET, post_only=True)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_ORDER_TYPE)


@pytest.mark.parametrize("stp", [4, -1, None, "NONE"])
def test_order_with_bad_stp_mode_is_rejected(busy, stp):
    before = busy.state()
    r = busy.submit(10, 8, BUY, 101, 1, stp=stp)
    _assert_rejected(busy, before, r, 10, Reason.INVALID_STP_MODE)


def test_rejected_order_id_stays_free_for_a_later_valid_order(busy, fills):
    assert not busy.submit(10, 8, BUY, 101, 0)
    assert 10 not in busy
    r = busy.submit(10, 8, BUY, 101, 1)
    assert fills(r) == [(1, 10, 101, 1)]


def test_enum_members_and_plain_ints_are_interchangeable(book, fills):
    book.submit(1, 7, -1, 100, 2, tif=1, order_type=1, stp=0)
    r = book.submit(2, 8, Side.BUY, 100, 2, tif=TimeInForce.GTC, order_type=OrderType.LIMIT,
                    stp=SelfTradePrevention.NONE)
    assert fills(r) == [(1, 2, 100, 2)]
