"""Self-trade prevention (Binance USD-M modes, keyed by account, the taker's mode decides).
``book`` checks every invariant after each call (see conftest)."""
from __future__ import annotations

import pytest

from orderbook import (Fill, OrderInfo, OrderStatus, OrderType, Reason, SelfTradePrevention, Side,
                       TimeInForce)

BUY, SELL = Side.BUY, Side.SELL
MARKET = OrderType.MARKET
IOC = TimeInForce.IOC
NONE = SelfTradePrevention.NONE
EXPIRE_TAKER = SelfTradePrevention.EXPIRE_TAKER
EXPIRE_MAKER = SelfTradePrevention.EXPIRE_MAKER
EXPIRE_BOTH = SelfTradePrevention.EXPIRE_BOTH
ALL_MODES = [NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH]

ME, OTHER = 8, 7


@pytest.fixture(params=[BUY, SELL], ids=["buy-taker", "sell-taker"])
def s(request):
    """Taker side.  Makers rest on the other side; ``px(k)`` is the k-th best maker price."""
    return request.param


def px(side, k):
    """k-th price level (0 = best) of the makers facing a taker on ``side``."""
    return 100 + k if side == BUY else 100 - k


def worst(side, k):
    """A taker limit reaching exactly level k."""
    return px(side, k)


# ---------------------------------------------------------------------------- NONE
def test_stp_none_lets_an_account_trade_with_itself(book, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    r = book.submit(9, ME, s, px(s, 0), 3, stp=NONE)
    assert list(r.fills) == [Fill(1, 9, px(s, 0), 3, ME, ME, s)]
    assert (r.status, r.stp_cancelled) == (OrderStatus.FILLED, ())
    assert len(book) == 0


def test_stp_none_is_the_default(book, fills, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    r = book.submit(9, ME, s, px(s, 0), 3)
    assert fills(r) == [(1, 9, px(s, 0), 3)]


def test_makers_stp_mode_does_not_matter_only_the_takers(book, fills, s):
    book.submit(1, ME, -s, px(s, 0), 3, stp=EXPIRE_BOTH)
    r = book.submit(9, ME, s, px(s, 0), 3, stp=NONE)
    assert fills(r) == [(1, 9, px(s, 0), 3)]
    assert r.status is OrderStatus.FILLED


# ------------------------------------------------------------------- EXPIRE_TAKER
@pytest.fixture
def queue3(book, s):
    """At the best maker level: #1 other 2 lots, #2 mine 3 lots, #3 other 4 lots."""
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, ME, -s, px(s, 0), 3)
    book.submit(3, OTHER, -s, px(s, 0), 4)
    return book


def test_expire_taker_stops_at_first_own_maker_and_earlier_fills_stand(queue3, fills, queue, s):
    r = queue3.submit(9, ME, s, px(s, 0), 10, stp=EXPIRE_TAKER)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason, r.stp_cancelled) == \
        (OrderStatus.EXPIRED, 2, 0, 8, Reason.SELF_TRADE_PREVENTED, ())
    assert queue(queue3, -s, px(s, 0)) == [(2, 3), (3, 4)]  # own maker kept, in place
    assert 9 not in queue3  # the GTC taker's remainder does not rest
    assert queue3.last_price == px(s, 0)


def test_expire_taker_with_own_maker_first_trades_nothing(book, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    book.submit(2, OTHER, -s, px(s, 0), 3)
    before = book.state()
    r = book.submit(9, ME, s, px(s, 0), 2, stp=EXPIRE_TAKER)
    assert (r.status, list(r.fills), r.filled_qty, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, [], 0, 2, Reason.SELF_TRADE_PREVENTED)
    assert r  # expired, not rejected
    assert book.state() == before


def test_expire_taker_keeps_fills_at_better_levels_before_own_level(book, fills, s):
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, ME, -s, px(s, 1), 2)
    book.submit(3, OTHER, -s, px(s, 1), 2)
    book.submit(4, OTHER, -s, px(s, 2), 2)
    r = book.submit(9, ME, s, worst(s, 2), 6, stp=EXPIRE_TAKER)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert (r.status, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 4, Reason.SELF_TRADE_PREVENTED)
    best = book.best_ask() if s == BUY else book.best_bid()
    assert best == px(s, 1) and [o.order_id for o in book.orders_at(-s, px(s, 1))] == [2, 3]


def test_expire_taker_is_not_triggered_when_filled_before_own_maker(queue3, fills, s):
    r = queue3.submit(9, ME, s, px(s, 0), 2, stp=EXPIRE_TAKER)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert (r.status, r.reason) == (OrderStatus.FILLED, Reason.NONE)


def test_expire_taker_is_not_triggered_by_own_orders_beyond_the_limit(book, s):
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, ME, -s, px(s, 1), 2)
    r = book.submit(9, ME, s, worst(s, 0), 5, stp=EXPIRE_TAKER)
    assert (r.status, r.filled_qty, r.resting_qty, r.reason) == \
        (OrderStatus.PARTIALLY_FILLED, 2, 3, Reason.NONE)
    assert book.order(9).qty == 3 and book.order(2).qty == 2


def test_expire_taker_market_order_expires_with_stp_reason(queue3, fills, s):
    r = queue3.submit(9, ME, s, qty=10, order_type=MARKET, stp=EXPIRE_TAKER)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert (r.status, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 8, Reason.SELF_TRADE_PREVENTED)


# ------------------------------------------------------------------- EXPIRE_MAKER
def test_expire_maker_cancels_own_makers_and_goes_on_matching(book, fills, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    book.submit(2, OTHER, -s, px(s, 0), 2)
    book.submit(3, ME, -s, px(s, 1), 1, reduce_only=True)
    book.submit(4, OTHER, -s, px(s, 1), 4)
    r = book.submit(9, ME, s, worst(s, 1), 5, stp=EXPIRE_MAKER)
    assert fills(r) == [(2, 9, px(s, 0), 2), (4, 9, px(s, 1), 3)]
    assert all(f.maker_account == OTHER for f in r.fills)
    assert r.stp_cancelled == (OrderInfo(1, ME, -s, px(s, 0), 3, False),
                               OrderInfo(3, ME, -s, px(s, 1), 1, True))
    assert (r.status, r.filled_qty, r.reason) == (OrderStatus.FILLED, 5, Reason.NONE)
    assert 1 not in book and 3 not in book
    assert book.order(4).qty == 1 and len(book) == 1
    assert book.volume(-s) == 1 and book.level_count(-s) == 1
    assert not book.cancel(1) and not book.cancel(3)


def test_expire_maker_rests_gtc_remainder_when_only_own_liquidity_crossed(book, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    r = book.submit(9, ME, s, px(s, 0), 5, stp=EXPIRE_MAKER)
    assert (r.status, list(r.fills), r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.NEW, [], 0, 5, 0, Reason.NONE)
    assert r.stp_cancelled == (OrderInfo(1, ME, -s, px(s, 0), 3, False),)
    assert book.order(9) == OrderInfo(9, ME, s, px(s, 0), 5, False)
    assert book.level_count(-s) == 0


def test_expire_maker_ioc_remainder_expires_with_ioc_reason(book, fills, s):
    book.submit(1, OTHER, -s, px(s, 0), 1)
    book.submit(2, ME, -s, px(s, 0), 3)
    r = book.submit(9, ME, s, px(s, 0), 5, tif=IOC, stp=EXPIRE_MAKER)
    assert fills(r) == [(1, 9, px(s, 0), 1)]
    assert [o.order_id for o in r.stp_cancelled] == [2]
    assert (r.status, r.expired_qty, r.reason) == (OrderStatus.EXPIRED, 4, Reason.IOC_REMAINDER)
    assert len(book) == 0


def test_expire_maker_only_cancels_own_makers_it_reaches(book, fills, s):
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, ME, -s, px(s, 0), 1)  # reached after the taker is filled
    book.submit(3, ME, -s, px(s, 1), 1)  # beyond the taker's limit
    r = book.submit(9, ME, s, worst(s, 0), 2, stp=EXPIRE_MAKER)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert r.stp_cancelled == ()
    assert 2 in book and 3 in book


def test_expire_maker_partially_filled_taker_rests_behind_no_own_maker(book, fills, s):
    book.submit(1, ME, -s, px(s, 0), 1)
    book.submit(2, OTHER, -s, px(s, 0), 1)
    book.submit(3, OTHER, -s, px(s, 1), 1)
    r = book.submit(9, ME, s, worst(s, 0), 4, stp=EXPIRE_MAKER)
    assert fills(r) == [(2, 9, px(s, 0), 1)]
    assert [o.order_id for o in r.stp_cancelled] == [1]
    assert (r.status, r.resting_qty) == (OrderStatus.PARTIALLY_FILLED, 3)
    best_own = book.best_bid() if s == BUY else book.best_ask()
    best_opp = book.best_ask() if s == BUY else book.best_bid()
    assert (best_own, best_opp) == (px(s, 0), px(s, 1))


# -------------------------------------------------------------------- EXPIRE_BOTH
def test_expire_both_cancels_own_maker_and_expires_taker(queue3, fills, queue, s):
    r = queue3.submit(9, ME, s, px(s, 0), 10, stp=EXPIRE_BOTH)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert r.stp_cancelled == (OrderInfo(2, ME, -s, px(s, 0), 3, False),)
    assert (r.status, r.filled_qty, r.resting_qty, r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, 2, 0, 8, Reason.SELF_TRADE_PREVENTED)
    assert queue(queue3, -s, px(s, 0)) == [(3, 4)]
    assert 9 not in queue3 and len(queue3) == 1


def test_expire_both_emptying_a_level_does_not_continue_to_the_next(book, fills, s):
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, ME, -s, px(s, 0), 3)
    book.submit(3, OTHER, -s, px(s, 1), 4)
    r = book.submit(9, ME, s, worst(s, 1), 10, stp=EXPIRE_BOTH)
    assert fills(r) == [(1, 9, px(s, 0), 2)]
    assert [o.order_id for o in r.stp_cancelled] == [2]
    assert (r.status, r.reason) == (OrderStatus.EXPIRED, Reason.SELF_TRADE_PREVENTED)
    best_opp = book.best_ask() if s == BUY else book.best_bid()
    assert best_opp == px(s, 1) and book.order(3).qty == 4
    assert book.volume(-s) == 4


def test_expire_both_with_own_maker_first_cancels_it_and_trades_nothing(book, s):
    book.submit(1, ME, -s, px(s, 0), 3)
    book.submit(2, OTHER, -s, px(s, 0), 3)
    r = book.submit(9, ME, s, px(s, 0), 2, stp=EXPIRE_BOTH)
    assert (r.status, list(r.fills), r.expired_qty, r.reason) == \
        (OrderStatus.EXPIRED, [], 2, Reason.SELF_TRADE_PREVENTED)
    assert [o.order_id for o in r.stp_cancelled] == [1]
    assert 1 not in book and book.order(2).qty == 3


# ---------------------------------------------------------------- keyed by account
@pytest.mark.parametrize("stp", ALL_MODES)
def test_stp_never_stops_trades_between_different_accounts(book, fills, s, stp):
    book.submit(1, OTHER, -s, px(s, 0), 2)
    book.submit(2, 6, -s, px(s, 1), 2)
    r = book.submit(9, ME, s, worst(s, 1), 4, stp=stp)
    assert fills(r) == [(1, 9, px(s, 0), 2), (2, 9, px(s, 1), 2)]
    assert (r.status, r.stp_cancelled, r.reason) == (OrderStatus.FILLED, (), Reason.NONE)


@pytest.mark.parametrize("stp", [EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH])
def test_stp_matches_account_not_order_id(book, s, stp):
    # Own maker with a different order id (and a different STP mode) is still "self".
    book.submit(1, ME, -s, px(s, 0), 2, stp=NONE)
    r = book.submit(9, ME, s, px(s, 0), 2, stp=stp)
    assert list(r.fills) == []
    assert r.filled_qty == 0
