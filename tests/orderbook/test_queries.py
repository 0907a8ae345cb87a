"""Read-only queries (best prices, depth, levels, orders) and exact unit conversion.
``book`` checks every invariant after each call (see conftest)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from orderbook import OrderInfo, Side, from_units, to_units

BUY, SELL = Side.BUY, Side.SELL


@pytest.fixture
def ladder(book):
    """Bids 100:2+1 (#1, #2), 99:3 (#3), 98:4 (#4); asks 101:1 (#5), 102:2+5 (#6, #7),
    103:3 (#8)."""
    for oid, side, price, qty in ((1, BUY, 100, 2), (2, BUY, 100, 1), (3, BUY, 99, 3),
                                  (4, BUY, 98, 4), (5, SELL, 101, 1), (6, SELL, 102, 2),
                                  (7, SELL, 102, 5), (8, SELL, 103, 3)):
        book.submit(oid, 10 + oid, side, price, qty)
    return book


# ------------------------------------------------------------------ best, len, order
def test_empty_book_has_no_best_prices_and_no_depth(book):
    assert (book.best_bid(), book.best_ask(), len(book)) == (None, None, 0)
    for side in (BUY, SELL):
        assert book.volume(side) == 0 and book.level_count(side) == 0
        assert book.top(side) == [] and list(book.levels(side)) == []
        assert book.depth(side, None) == 0 and book.depth_notional(side, None) == 0
        assert book.depth_within_ticks(side, 5) == 0
        assert book.depth_within_fraction(side, 10_000) == 0
        assert book.band_limit(side, 10_000) is None


def test_best_bid_is_the_highest_bid_and_best_ask_the_lowest_ask(ladder):
    assert (ladder.best_bid(), ladder.best_ask()) == (100, 101)


def test_best_price_moves_when_its_level_empties_and_back_when_refilled(ladder):
    ladder.cancel(5)
    assert ladder.best_ask() == 102
    ladder.submit(9, 9, SELL, 101, 1)
    assert ladder.best_ask() == 101
    ladder.submit(10, 9, BUY, 102, 8)  # takes 101 and all of 102
    assert (ladder.best_bid(), ladder.best_ask()) == (100, 103)


def test_a_better_new_level_becomes_best_at_once(ladder):
    ladder.submit(9, 9, BUY, 100, 1)  # joins the best level: best unchanged
    assert ladder.best_bid() == 100
    ladder.cancel(5)
    ladder.submit(10, 9, BUY, 101, 1)
    assert (ladder.best_bid(), ladder.best_ask()) == (101, 102)
    ladder.cancel(6)
    ladder.cancel(7)
    ladder.submit(11, 9, SELL, 102, 1)
    assert ladder.best_ask() == 102 and ladder.level_count(SELL) == 2


def test_len_counts_resting_orders_and_in_tests_membership(ladder):
    assert len(ladder) == 8
    assert 3 in ladder and 99 not in ladder
    ladder.submit(9, 9, SELL, 99, 4)  # fills #1, #2 and 1 of #3
    assert len(ladder) == 6 and 1 not in ladder and 3 in ladder


def test_order_returns_order_info_or_none(ladder):
    assert ladder.order(7) == OrderInfo(7, 17, -1, 102, 5, False)
    assert ladder.order(404) is None
    ladder.cancel(7)
    assert ladder.order(7) is None


# ------------------------------------------------------------------ top and levels
def test_top_lists_levels_best_first_with_their_quantities(ladder):
    assert ladder.top(BUY) == [(100, 3), (99, 3), (98, 4)]
    assert ladder.top(SELL) == [(101, 1), (102, 7), (103, 3)]


@pytest.mark.parametrize("n,bids,asks", [
    (0, [], []),
    (1, [(100, 3)], [(101, 1)]),
    (2, [(100, 3), (99, 3)], [(101, 1), (102, 7)]),
    (3, [(100, 3), (99, 3), (98, 4)], [(101, 1), (102, 7), (103, 3)]),
    (50, [(100, 3), (99, 3), (98, 4)], [(101, 1), (102, 7), (103, 3)]),
])
def test_top_n_returns_at_most_n_best_levels(ladder, n, bids, asks):
    assert ladder.top(BUY, n) == bids
    assert ladder.top(SELL, n) == asks


def test_top_defaults_to_ten_levels(book):
    for i in range(12):
        book.submit(i + 1, 1, BUY, 100 - i, 1)
        book.submit(i + 101, 1, SELL, 200 + i, 1)
    assert [p for p, _ in book.top(BUY)] == list(range(100, 90, -1))
    assert [p for p, _ in book.top(SELL)] == list(range(200, 210))


def test_levels_yields_price_quantity_and_order_count_best_first(ladder):
    assert list(ladder.levels(BUY)) == [(100, 3, 2), (99, 3, 1), (98, 4, 1)]
    assert list(ladder.levels(SELL)) == [(101, 1, 1), (102, 7, 2), (103, 3, 1)]


def test_level_count_counts_price_levels_not_orders(ladder):
    assert (ladder.level_count(BUY), ladder.level_count(SELL)) == (3, 3)
    ladder.cancel(1)
    assert ladder.level_count(BUY) == 3
    ladder.cancel(2)
    assert ladder.level_count(BUY) == 2


def test_level_qty_is_the_resting_quantity_at_one_price(ladder):
    assert ladder.level_qty(BUY, 100) == 3 and ladder.level_qty(SELL, 102) == 7
    assert ladder.level_qty(BUY, 101) == 0 and ladder.level_qty(SELL, 100) == 0


def test_orders_at_lists_resting_orders_in_time_priority(ladder):
    assert ladder.orders_at(SELL, 102) == [OrderInfo(6, 16, -1, 102, 2, False),
                                           OrderInfo(7, 17, -1, 102, 5, False)]
    ladder.submit(9, 9, BUY, 102, 2)  # takes #5 and 1 of #6
    assert [(o.order_id, o.qty) for o in ladder.orders_at(SELL, 102)] == [(6, 1), (7, 5)]


def test_orders_at_an_empty_price_or_the_wrong_side_is_empty(ladder):
    assert ladder.orders_at(BUY, 97) == []
    assert ladder.orders_at(SELL, 100) == []
    assert ladder.orders_at(BUY, 102) == []


# --------------------------------------------------------------------------- volume
def test_volume_is_total_resting_quantity_per_side(ladder):
    assert (ladder.volume(BUY), ladder.volume(SELL)) == (10, 11)


def test_volume_follows_fills_reductions_and_cancels(ladder):
    ladder.submit(9, 9, SELL, 100, 2)
    assert ladder.volume(BUY) == 8
    ladder.reduce(3, 1)
    assert ladder.volume(BUY) == 6
    ladder.cancel(4)
    assert ladder.volume(BUY) == 2
    ladder.submit(10, 9, BUY, 50, 7)
    assert ladder.volume(BUY) == 9 and ladder.volume(SELL) == 11


# ---------------------------------------------------------------------------- depth
@pytest.mark.parametrize("side,limit,qty", [
    (BUY, None, 10), (BUY, 101, 0), (BUY, 100, 3), (BUY, 99, 6), (BUY, 98, 10), (BUY, 1, 10),
    (SELL, None, 11), (SELL, 100, 0), (SELL, 101, 1), (SELL, 102, 8), (SELL, 103, 11),
    (SELL, 10**9, 11),
])
def test_depth_includes_levels_exactly_at_the_limit(ladder, side, limit, qty):
    assert ladder.depth(side, limit) == qty


@pytest.mark.parametrize("side,limit,notional", [
    (BUY, 100, 300), (BUY, 99, 300 + 297), (BUY, None, 300 + 297 + 392),
    (SELL, 101, 101), (SELL, 102, 101 + 714), (SELL, None, 101 + 714 + 309), (SELL, 100, 0),
])
def test_depth_notional_sums_price_times_quantity(ladder, side, limit, notional):
    assert ladder.depth_notional(side, limit) == notional


@pytest.mark.parametrize("side,ticks,qty", [
    (BUY, 0, 3), (BUY, 1, 6), (BUY, 2, 10), (BUY, 100, 10),
    (SELL, 0, 1), (SELL, 1, 8), (SELL, 2, 11),
])
def test_depth_within_ticks_of_the_best_includes_the_band_edge(ladder, side, ticks, qty):
    assert ladder.depth_within_ticks(side, ticks) == qty


@pytest.mark.parametrize("side,ticks,price,qty", [
    (BUY, 1, 99, 10),    # bids >= 98
    (BUY, 1, 100, 6),    # bids >= 99
    (BUY, 0, 99, 6),     # bids >= 99
    (BUY, 2, 101, 6),    # bids >= 99
    (SELL, 1, 101, 8),   # asks <= 102
    (SELL, 0, 102, 8),   # asks <= 102
    (SELL, 0, 100, 0),
])
def test_depth_within_ticks_of_an_explicit_price(ladder, side, ticks, price, qty):
    assert ladder.depth_within_ticks(side, ticks, price) == qty


def test_depth_within_ticks_of_an_empty_side_is_zero(book):
    book.submit(1, 1, BUY, 100, 5)
    assert book.depth_within_ticks(SELL, 10) == 0
    assert book.depth_within_ticks(BUY, 0) == 5


@pytest.fixture
def banded(book):
    """Bid 99 / ask 101 (mid exactly 100), with levels on the 1% and 2% band edges."""
    for oid, side, price, qty in ((1, BUY, 99, 1), (2, BUY, 98, 2), (3, BUY, 97, 4),
                                  (4, SELL, 101, 10), (5, SELL, 102, 20), (6, SELL, 103, 40)):
        book.submit(oid, 1, side, price, qty)
    return book


@pytest.mark.parametrize("side,ppm,limit,qty", [
    (BUY, 0, 100, 0),
    (BUY, 9_999, 100, 0),       # 99.0001 -> 100: the level at 99 is just outside
    (BUY, 10_000, 99, 1),       # exactly 99: included
    (BUY, 19_999, 99, 1),
    (BUY, 20_000, 98, 3),       # exactly 98: included
    (BUY, 30_000, 97, 7),
    (SELL, 0, 100, 0),
    (SELL, 9_999, 100, 0),      # 100.9999 -> 100: the level at 101 is just outside
    (SELL, 10_000, 101, 10),    # exactly 101: included
    (SELL, 20_000, 102, 30),
    (SELL, 29_999, 102, 30),
    (SELL, 30_000, 103, 70),
])
def test_depth_within_fraction_includes_levels_exactly_on_the_band_edge(banded, side, ppm,
                                                                        limit, qty):
    assert banded.band_limit(side, ppm) == limit
    assert banded.depth_within_fraction(side, ppm) == qty


def test_band_limits_round_inward_with_a_half_tick_mid(book):
    book.submit(1, 1, BUY, 100, 1)
    book.submit(2, 1, BUY, 99, 2)
    book.submit(3, 1, SELL, 101, 4)
    book.submit(4, 1, SELL, 102, 8)
    # mid 100.5: 1% band = [99.495, 101.505] -> bids >= 100, asks <= 101
    assert (book.band_limit(BUY, 10_000), book.band_limit(SELL, 10_000)) == (100, 101)
    assert book.depth_within_fraction(BUY, 10_000) == 1
    assert book.depth_within_fraction(SELL, 10_000) == 4


def test_band_edge_is_exact_where_float_arithmetic_would_miss_it(book):
    # mid 1000, 0.5%: the ask edge is exactly 1005; 1000 * (1 + 5000 / 1e6) is 1004.999...
    book.submit(1, 1, BUY, 999, 1)
    book.submit(2, 1, BUY, 995, 2)
    book.submit(3, 1, BUY, 994, 4)
    book.submit(4, 1, SELL, 1001, 8)
    book.submit(5, 1, SELL, 1005, 16)
    book.submit(6, 1, SELL, 1006, 32)
    assert (book.band_limit(BUY, 5_000), book.band_limit(SELL, 5_000)) == (995, 1005)
    assert book.depth_within_fraction(BUY, 5_000) == 3
    assert book.depth_within_fraction(SELL, 5_000) == 24


def test_band_edge_is_exact_for_large_tick_prices(book):
    mid = 10**17
    book.submit(1, 1, BUY, mid - 1, 1)
    book.submit(2, 1, BUY, 99 * 10**15, 2)
    book.submit(3, 1, BUY, 99 * 10**15 - 1, 4)
    book.submit(4, 1, SELL, mid + 1, 8)
    book.submit(5, 1, SELL, 101 * 10**15, 16)
    book.submit(6, 1, SELL, 101 * 10**15 + 1, 32)
    assert book.depth_within_fraction(BUY, 10_000) == 3
    assert book.depth_within_fraction(SELL, 10_000) == 24


def test_depth_within_fraction_needs_both_sides(book):
    book.submit(1, 1, BUY, 100, 5)
    assert book.band_limit(BUY, 10_000) is None
    assert book.depth_within_fraction(BUY, 10_000) == 0


# ---------------------------------------------------------------------------- units
@pytest.mark.parametrize("value,step,units", [
    ("61234.5", "0.1", 612345),
    ("0.29", "0.01", 29),                 # int(0.29 * 100) == 28 with floats
    ("1.1", "0.1", 11),
    ("0.3", "0.1", 3),
    (Decimal("0.003"), Decimal("0.001"), 3),
    ("100", "1", 100),
    (100, 1, 100),
    (100, "0.5", 200),
    ("0", "0.1", 0),
    ("-2.5", "0.5", -5),
    ("1E+2", "10", 10),
    ("123456789.123456789", "0.000000001", 123456789123456789),
])
def test_to_units_converts_exactly(value, step, units):
    got = to_units(value, step)
    assert got == units and type(got) is int


@pytest.mark.parametrize("units,step,value", [
    (612345, "0.1", "61234.5"),
    (29, "0.01", "0.29"),
    (3, "0.1", "0.3"),
    (0, "0.1", "0"),
    (-5, "0.5", "-2.5"),
    (123456789123456789, "0.000000001", "123456789.123456789"),
])
def test_from_units_returns_the_exact_decimal(units, step, value):
    got = from_units(units, step)
    assert isinstance(got, Decimal) and got == Decimal(value)


@pytest.mark.parametrize("value,step", [("0.29", "0.01"), ("61234.5", "0.1"), ("7", "0.25")])
def test_to_units_and_from_units_round_trip(value, step):
    assert from_units(to_units(value, step), step) == Decimal(value)


@pytest.mark.parametrize("value,step", [(0.29, "0.01"), ("0.29", 0.01), (1.0, 1), (True, 1),
                                        ("1", True)])
def test_to_units_rejects_floats_and_bools(value, step):
    with pytest.raises(TypeError):
        to_units(value, step)


def test_from_units_rejects_a_float_step():
    with pytest.raises(TypeError):
        from_units(3, 0.1)


@pytest.mark.parametrize("value,step", [("0.15", "0.1"), ("61234.55", "0.1"), ("1", "0.3"),
                                        ("0.001", "0.01")])
def test_to_units_rejects_a_value_that_is_not_a_multiple_of_the_step(value, step):
    with pytest.raises(ValueError, match="not a multiple"):
        to_units(value, step)


@pytest.mark.parametrize("value,step", [("abc", "0.1"), ("", "0.1"), ("NaN", "0.1"),
                                        ("Infinity", "0.1"), ("1", "x"), ("1", "0"),
                                        ("1", "-0.1"), (None, "0.1"), ([1], "0.1")])
def test_to_units_rejects_malformed_or_non_positive_input(value, step):
    with pytest.raises(ValueError):
        to_units(value, step)


def test_to_units_names_the_quantity_in_its_error():
    with pytest.raises(ValueError, match="price"):
        to_units("1.05", "0.1", what="price")


def test_resting_records_hold_no_containers_so_the_cyclic_gc_stops_tracking_them():
    """Resting orders are tuples of ints: after a collection the GC never traverses them
    again -- also after a partial fill or a reduction replaced the record."""
    import gc

    from orderbook import OrderBook, TimeInForce

    book = OrderBook()
    for oid in range(1, 201):
        book.submit(order_id=oid, account=oid % 7, side=BUY if oid % 2 else SELL,
                    price=100 - oid % 5 if oid % 2 else 101 + oid % 5, qty=3)
    book.submit(order_id=500, account=9, side=SELL, price=100, qty=2, tif=TimeInForce.IOC)
    book.reduce(2, 1)
    gc.collect()
    records = list(book._index.values())
    assert records and all(type(r) is tuple for r in records)
    assert not any(gc.is_tracked(r) for r in records)
    assert book.order(2).qty == 1 and book.order(5).qty == 1   # reduced; partly filled
    book._check()
