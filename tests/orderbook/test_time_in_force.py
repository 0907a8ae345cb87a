"""Time in force: GTC, IOC, FOK, and post-only.  ``book`` checks every invariant after
each call (see conftest)."""
from __future__ import annotations

import pytest

from orderbook import (OrderInfo, OrderStatus, OrderType, Reason, SelfTradePrevention, Side,
                       SubmitResult, TimeInForce)

BUY, SELL = Side.BUY, Side.SELL
MARKET = OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
NONE = SelfTradePrevention.NONE
EXPIRE_TAKER = SelfTradePrevention.EXPIRE_TAKER
EXPIRE_MAKER = SelfTradePrevention.EXPIRE_MAKER
EXPIRE_BOTH = SelfTradePrevention.EXPIRE_BOTH


def norm(r):
    """A SubmitResult with ``fills`` as a list: the book returns () or [] for "no fills"
    depending on the code path, and these tests do not pin that down."""
    return r._replace(fills=list(r.fills))


@pytest.fixture
def ladder(book):
    """Asks 2@100, 3@101, 4@102 (account 7); bids 2@99, 3@98, 4@97 (account 7)."""
    book.submit(1, 7, SELL, 100, 2)
    book.submit(2, 7, SELL, 101, 3)
    book.submit(3, 7, SELL, 102, 4)
    book.submit(4, 7, BUY, 99, 2)
    book.submit(5, 7, BUY, 98, 3)
    book.submit(6, 7, BUY, 97, 4)
    return book


# ----------------------------------------------------------------------------- GTC
def test_gtc_is_the_default_and_rests_when_nothing_crosses(ladder):
    r = ladder.submit(10, 8, BUY, 99, 5)
    assert norm(r) == SubmitResult(10, OrderStatus.NEW, [], 0, 5, 0, Reason.NONE, ())
    assert ladder.order(10) == OrderInfo(10, 8, 1, 99, 5, False)


def test_gtc_rests_its_remainder_after_a_partial_fill(ladder, fills, queue):
    r = ladder.submit(10, 8, BUY, 101, 7, tif=GTC)
    assert fills(r) == [(1, 10, 100, 2), (2, 10, 101, 3)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty) == \
        (OrderStatus.PARTIALLY_FILLED, 5, 2, 0)
    assert queue(ladder, BUY, 101) == [(10, 2)]
    assert (ladder.best_bid(), ladder.best_ask()) == (101, 102)


# ----------------------------------------------------------------------------- IOC
def test_ioc_never_rests_when_nothing_crosses(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 99, 5, tif=IOC)
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 5, Reason.IOC_REMAINDER, ())
    assert r
    assert ladder.state() == before and 10 not in ladder


def test_ioc_fills_what_it_can_and_expires_the_rest(ladder, fills):
    r = ladder.submit(10, 8, SELL, 98, 9, tif=IOC)
    assert fills(r) == [(4, 10, 99, 2), (5, 10, 98, 3)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 5, 0, 4, Reason.IOC_REMAINDER)
    assert 10 not in ladder
    assert (ladder.best_bid(), ladder.best_ask()) == (97, 100)


def test_ioc_filled_in_full_is_filled(ladder, fills):
    r = ladder.submit(10, 8, BUY, 101, 4, tif=IOC)
    assert fills(r) == [(1, 10, 100, 2), (2, 10, 101, 2)]
    assert (r.status, r.expired_qty, r.reason) == (OrderStatus.FILLED, 0, Reason.NONE)


def test_ioc_into_empty_book_expires_in_full(book):
    r = book.submit(10, 8, BUY, 100, 3, tif=IOC)
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 3, Reason.IOC_REMAINDER, ())
    assert len(book) == 0


# ----------------------------------------------------------------------------- FOK
def test_fok_order_never_partially_fills(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 100, 3, tif=FOK)  # only 2 at 100
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 3,
                                   Reason.FOK_NOT_FILLABLE, ())
    assert r
    assert ladder.state() == before


def test_fok_fills_completely_across_several_levels(ladder, fills):
    r = ladder.submit(10, 8, BUY, 102, 9, tif=FOK)
    assert fills(r) == [(1, 10, 100, 2), (2, 10, 101, 3), (3, 10, 102, 4)]
    assert (r.status, r.filled_qty, r.expired_qty) == (OrderStatus.FILLED, 9, 0)
    assert ladder.best_ask() is None and ladder.volume(SELL) == 0


def test_fok_sell_fills_completely_across_several_bid_levels(ladder, fills):
    r = ladder.submit(10, 8, SELL, 97, 6, tif=FOK)
    assert fills(r) == [(4, 10, 99, 2), (5, 10, 98, 3), (6, 10, 97, 1)]
    assert r.status is OrderStatus.FILLED
    assert ladder.order(6).qty == 3


def test_fok_one_lot_more_than_the_book_holds_does_not_fill(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 102, 10, tif=FOK)
    assert (r.status, list(r.fills), r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, [], 10, Reason.FOK_NOT_FILLABLE)
    assert ladder.state() == before


def test_fok_does_not_count_liquidity_beyond_its_limit(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 101, 6, tif=FOK)  # 5 at or below 101, 4 more at 102
    assert (r.status, list(r.fills), r.reason) == \
        (OrderStatus.EXPIRED, [], Reason.FOK_NOT_FILLABLE)
    assert ladder.state() == before


def test_fok_exactly_the_quantity_within_its_limit_fills(ladder, fills):
    r = ladder.submit(10, 8, BUY, 101, 5, tif=FOK)
    assert fills(r) == [(1, 10, 100, 2), (2, 10, 101, 3)]
    assert r.status is OrderStatus.FILLED
    assert ladder.best_ask() == 102


def test_fok_that_does_not_cross_expires_with_fok_reason(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 99, 1, tif=FOK)
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 1,
                                   Reason.FOK_NOT_FILLABLE, ())
    assert ladder.state() == before


def test_market_fok_fills_completely_or_not_at_all(ladder, fills):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, qty=10, order_type=MARKET, tif=FOK)
    assert (r.status, list(r.fills), r.reason) == \
        (OrderStatus.EXPIRED, [], Reason.FOK_NOT_FILLABLE)
    assert ladder.state() == before
    r = ladder.submit(11, 8, BUY, qty=9, order_type=MARKET, tif=FOK)
    assert fills(r) == [(1, 11, 100, 2), (2, 11, 101, 3), (3, 11, 102, 4)]
    assert r.status is OrderStatus.FILLED


def test_market_fok_with_protection_limit_excludes_levels_beyond_it(ladder):
    before = ladder.state()
    r = ladder.submit(10, 8, SELL, 98, 6, order_type=MARKET, tif=FOK)  # 5 at or above 98
    assert (r.status, list(r.fills), r.reason) == \
        (OrderStatus.EXPIRED, [], Reason.FOK_NOT_FILLABLE)
    assert ladder.state() == before


def test_market_fok_into_empty_book_expires_with_fok_reason(book):
    r = book.submit(10, 8, BUY, qty=1, order_type=MARKET, tif=FOK)
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 1,
                                   Reason.FOK_NOT_FILLABLE, ())


# ------------------------------------------------------------------- FOK with STP
@pytest.fixture
def mixed(book):
    """Asks at 100: #1 acct 7 qty 2, #2 acct 8 (own) qty 3, #3 acct 7 qty 1; at 101: #4 acct 7
    qty 4.  The taker below is account 8."""
    book.submit(1, 7, SELL, 100, 2)
    book.submit(2, 8, SELL, 100, 3)
    book.submit(3, 7, SELL, 100, 1)
    book.submit(4, 7, SELL, 101, 4)
    return book


@pytest.mark.parametrize("stp", [EXPIRE_TAKER, EXPIRE_BOTH])
def test_fok_counts_nothing_at_or_after_its_own_maker_when_stp_would_stop_it(mixed, stp):
    before = mixed.state()
    r = mixed.submit(10, 8, BUY, 101, 3, tif=FOK, stp=stp)  # only 2 ahead of own order
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 3,
                                   Reason.FOK_NOT_FILLABLE, ())
    assert mixed.state() == before  # the own maker was not cancelled either


@pytest.mark.parametrize("stp", [EXPIRE_TAKER, EXPIRE_BOTH])
def test_fok_filled_before_reaching_its_own_maker_fills(mixed, fills, stp):
    r = mixed.submit(10, 8, BUY, 101, 2, tif=FOK, stp=stp)
    assert fills(r) == [(1, 10, 100, 2)]
    assert (r.status, r.stp_cancelled) == (OrderStatus.FILLED, ())
    assert mixed.order(2).qty == 3


def test_fok_with_expire_maker_does_not_count_its_own_makers(mixed):
    before = mixed.state()
    r = mixed.submit(10, 8, BUY, 101, 8, tif=FOK, stp=EXPIRE_MAKER)  # 7 not its own
    assert norm(r) == SubmitResult(10, OrderStatus.EXPIRED, [], 0, 0, 8,
                                   Reason.FOK_NOT_FILLABLE, ())
    assert mixed.state() == before  # no maker cancelled by a FOK that did not fill


def test_fok_with_expire_maker_fills_past_its_own_makers_and_cancels_them(mixed, fills):
    r = mixed.submit(10, 8, BUY, 101, 7, tif=FOK, stp=EXPIRE_MAKER)
    assert fills(r) == [(1, 10, 100, 2), (3, 10, 100, 1), (4, 10, 101, 4)]
    assert r.status is OrderStatus.FILLED
    assert r.stp_cancelled == (OrderInfo(2, 8, -1, 100, 3, False),)
    assert len(mixed) == 0


def test_fok_without_stp_counts_and_takes_its_own_liquidity(mixed, fills):
    r = mixed.submit(10, 8, BUY, 101, 10, tif=FOK, stp=NONE)
    assert fills(r) == [(1, 10, 100, 2), (2, 10, 100, 3), (3, 10, 100, 1), (4, 10, 101, 4)]
    assert r.status is OrderStatus.FILLED


# ------------------------------------------------------------------------ post-only
@pytest.mark.parametrize("price", [100, 101, 150])
def test_post_only_buy_is_rejected_when_it_would_take(ladder, price):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, price, 1, post_only=True)
    assert not r
    assert norm(r) == SubmitResult(10, OrderStatus.REJECTED, [], 0, 0, 0,
                             Reason.POST_ONLY_WOULD_TAKE, ())
    assert ladder.state() == before


@pytest.mark.parametrize("price", [99, 98, 50])
def test_post_only_sell_is_rejected_when_it_would_take(ladder, price):
    before = ladder.state()
    r = ladder.submit(10, 8, SELL, price, 1, post_only=True)
    assert (r.status, r.reason) == (OrderStatus.REJECTED, Reason.POST_ONLY_WOULD_TAKE)
    assert ladder.state() == before


@pytest.mark.parametrize("side,price", [(SELL, 99), (BUY, 100)])
def test_post_only_is_rejected_even_when_it_would_only_meet_own_orders(ladder, side, price):
    # Post-only is checked before STP: it never takes, whatever the STP mode.
    before = ladder.state()
    r = ladder.submit(10, 7, side, price, 1, post_only=True, stp=EXPIRE_MAKER)
    assert (r.status, r.reason) == (OrderStatus.REJECTED, Reason.POST_ONLY_WOULD_TAKE)
    assert ladder.state() == before


@pytest.mark.parametrize("side,price", [(BUY, 99), (BUY, 10), (SELL, 100), (SELL, 500)])
def test_post_only_rests_when_it_would_not_take(ladder, queue, side, price):
    r = ladder.submit(10, 8, side, price, 1, post_only=True)
    assert norm(r) == SubmitResult(10, OrderStatus.NEW, [], 0, 1, 0, Reason.NONE, ())
    assert queue(ladder, side, price)[-1] == (10, 1)
    assert (ladder.best_bid(), ladder.best_ask()) == (99, 100)


def test_post_only_rests_in_an_empty_book(book):
    r = book.submit(10, 8, SELL, 100, 2, post_only=True)
    assert norm(r) == SubmitResult(10, OrderStatus.NEW, [], 0, 2, 0, Reason.NONE, ())
    assert book.best_ask() == 100


def test_post_only_one_tick_below_the_best_ask_rests_and_becomes_best_bid(ladder):
    ladder.cancel(1)  # best ask now 101, best bid 99
    r = ladder.submit(10, 8, BUY, 100, 1, post_only=True)
    assert r.status is OrderStatus.NEW
    assert (ladder.best_bid(), ladder.best_ask()) == (100, 101)
    before = ladder.state()
    r = ladder.submit(11, 8, SELL, 100, 1, post_only=True)  # now it would take #10
    assert (r.status, r.reason) == (OrderStatus.REJECTED, Reason.POST_ONLY_WOULD_TAKE)
    assert ladder.state() == before


@pytest.mark.parametrize("tif", [IOC, FOK])
def test_post_only_must_be_gtc(ladder, tif):
    before = ladder.state()
    r = ladder.submit(10, 8, BUY, 90, 1, post_only=True, tif=tif)
    assert (r.status, r.reason) == (OrderStatus.REJECTED, Reason.INVALID_TIME_IN_FORCE)
    assert ladder.state() == before
