"""Calculator: inverse (coin-margined) liquidation and bankruptcy prices, against the
reference's worked examples (docs/reference/liquidation-mechanics.md section 7) and the
engine's own trigger."""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calculator import (TierTable, inverse_bankruptcy_price, inverse_liquidation_price,
                               inverse_liquidation_price_exact)
from engine.venue.instruments import bitmex_xbtusd
from engine.venue.risk import inverse_trigger
from engine.venue.tier_tables import BITMEX_XBTUSD_2020_03

BYBIT_BTC = TierTable.from_rows([("0", None, "0.005", 100)], name="test:bybit-btc-0.5%")


def test_bybit_inverse_long_liquidation_price_with_mm_at_entry_is_7773_50():
    # Section 7 example 11: long 5,000 BTCUSD @ 7,890.08, 50x, liquidation stated 7,773.50:
    # EP x lev / (lev + 1 - mmr x lev) = 7,773.4778..., rounded up to the 0.5 tick.
    margin = Fraction(5_000) / Fraction("7890.08") / 50
    lp = inverse_liquidation_price(margin, "long", 5_000, "7890.08", BYBIT_BTC,
                                   maintenance_at_entry=True)
    assert abs(lp - Decimal("7773.4778325")) < Decimal("0.0000001")
    assert Decimal(math.ceil(lp * 2)) / 2 == Decimal("7773.50")


@pytest.mark.parametrize("at_entry", [False, True])
def test_an_inverse_long_liquidates_above_its_bankruptcy_price_and_a_short_below(at_entry):
    margin = Fraction(5_000) / Fraction("7890.08") / 50
    long_lp = inverse_liquidation_price(margin, "long", 5_000, "7890.08", BYBIT_BTC,
                                        maintenance_at_entry=at_entry)
    long_bp = inverse_bankruptcy_price(margin, "long", 5_000, "7890.08")
    short_lp = inverse_liquidation_price(margin, "short", 5_000, "7890.08", BYBIT_BTC,
                                         maintenance_at_entry=at_entry)
    short_bp = inverse_bankruptcy_price(margin, "short", 5_000, "7890.08")
    assert long_bp < long_lp < Decimal("7890.08") < short_lp < short_bp


def test_a_closing_fee_moves_the_inverse_liquidation_price_toward_the_entry():
    margin = Fraction(5_000) / Fraction("7890.08") / 50
    plain = inverse_liquidation_price(margin, "long", 5_000, "7890.08", BYBIT_BTC)
    with_fee = inverse_liquidation_price(margin, "long", 5_000, "7890.08", BYBIT_BTC,
                                         closing_fee_rate="0.00075")
    assert plain < with_fee < Decimal("7890.08")


def test_an_inverse_short_with_1x_margin_has_no_liquidation_or_bankruptcy_price():
    # 10,000 USD short at 8,000 backed by 1.25 XBT: its loss in coin never exceeds 1.25.
    assert inverse_liquidation_price("1.25", "short", 10_000, 8_000, BITMEX_XBTUSD_2020_03) \
        is None
    assert inverse_bankruptcy_price("1.25", "short", 10_000, 8_000) is None


@settings(max_examples=60, deadline=None)
@given(side=st.sampled_from([1, -1]), contracts=st.integers(1, 5_000_000),
       entry=st.integers(4_000, 40_000), margin=st.integers(1, 10**9))
def test_the_calculator_and_the_engine_trigger_agree_on_the_inverse_liquidation_price(
        side, contracts, entry, margin):
    # An isolated position entered at ``entry`` ticks with ``margin`` satoshis: the exact
    # price lies in the trigger tick's cell (same MM at the mark, tiers in XBT).
    ins = bitmex_xbtusd()
    k, tick = ins.inverse_k, Fraction(ins.tick_size)
    value = contracts * k // entry
    cost = -value if side > 0 else value
    trig = inverse_trigger(margin, side * contracts, cost, k, ins.table_q)
    # The engine books the entry value rounded down to a satoshi: give the calculator the
    # same position, its entry price implied by that booked value.
    entry_exact = Fraction(contracts * k, value) * tick if value else None
    if entry_exact is None:
        return
    lp = inverse_liquidation_price_exact(Fraction(margin, 10**8), side, contracts,
                                         entry_exact, ins.tiers)
    if lp is None:
        assert trig == -1 or (side > 0 and trig < 1)
        return
    # Deficient strictly beyond the price (margin balance < MM): a long's trigger is the
    # last tick below it, a short's the first tick above it.
    ticks = lp / tick
    if side > 0:
        assert trig < ticks <= trig + 1 or (trig == -1 and ticks <= 1)
    else:
        assert trig - 1 <= ticks < trig
