"""A maker's ladder is the documented per-level formula: prices, sizes and order."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.makers import level_factors, quote_ladder


def _by_level(fair, side, first_bps, spacing_bps, levels, per):
    """Level k at fair x (1e4 - side x (first + k x spacing)) / 1e8, bids rounded down and
    asks up, per // price lots; non-positive prices or sizes left out; first level wins."""
    want = {}
    for k in range(levels):
        exact = fair * (10_000 - side * (first_bps + k * spacing_bps))
        price = exact // 10**8 if side > 0 else -(-exact // 10**8)
        if price > 0 and per // price > 0 and price not in want:
            want[price] = per // price
    return want


@settings(max_examples=500, deadline=None)
@given(index=st.integers(1, 10**9), basis=st.integers(-10_000, 10_000),
       side=st.sampled_from([1, -1]), first=st.integers(0, 10_000),
       spacing=st.integers(1, 10_000), levels=st.integers(0, 60),
       per=st.integers(0, 10**15))
def test_quote_ladder_equals_the_per_level_formula_in_prices_sizes_and_order(
        index, basis, side, first, spacing, levels, per):
    fair = index * (10_000 + basis)
    got = quote_ladder(fair, side, level_factors(side, first, spacing, levels), per)
    want = _by_level(fair, side, first, spacing, levels, per)
    assert list(got.items()) == list(want.items())


def test_bids_round_down_and_asks_round_up_away_from_fair():
    fair = 100_003 * 10_000          # index 100,003 ticks, no basis
    bids = quote_ladder(fair, 1, level_factors(1, 1, 5, 3), 10**12)
    asks = quote_ladder(fair, -1, level_factors(-1, 1, 5, 3), 10**12)
    assert list(bids) == [99_992, 99_942, 99_892]      # 100,003 x 0.9999 = 99,992.9997
    assert list(asks) == [100_014, 100_064, 100_114]   # 100,003 x 1.0001 = 100,013.0003
