"""``engine.venue.rounding``: exact integer rounding, checked against ``Fraction`` arithmetic."""
from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

from hypothesis import given
from hypothesis import strategies as st

from engine.venue.rounding import protection_limit

BANDS = st.fractions(min_value=Fraction(-3), max_value=Fraction(3), max_denominator=10**6)


@given(mark=st.integers(1, 10**15), side=st.sampled_from((1, -1)), band=BANDS)
def test_a_protection_limit_is_the_exact_band_edge_rounded_toward_the_mark(mark, side, band):
    """A buy's ``mark x (1 + band)`` rounded down, a sell's ``mark x (1 - band)`` rounded up,
    at least 1 tick -- for negative bands too (an arbitrageur quoting inside the index)."""
    edge = mark * (1 + side * band)
    assert protection_limit(mark, side, band) == max(1, floor(edge) if side > 0 else ceil(edge))


def test_a_protection_limit_takes_a_band_that_is_not_a_fraction():
    assert protection_limit(10_001, 1, "0.01") == 10_101          # 10,101.01 rounded down
    assert protection_limit(10_001, -1, 0) == 10_001
