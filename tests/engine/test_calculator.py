"""Tests of engine.calculator: the reference's worked examples
(docs/reference/liquidation-mechanics.md §7), the rules of liquidation and bankruptcy prices, input handling, and hypothesis properties checked
exactly with Fractions.

Tolerances: where the reference prints a rounded figure (e.g. 91,139.24) we accept half a unit
of its last printed digit, i.e. exactly the reference's own rounding, which is finer than any of
these venues' tick sizes; where it rounds to a venue tick we apply that tick rule instead.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calculator import (
    Tier,
    TierTable,
    bankruptcy_price,
    bankruptcy_price_exact,
    bybit_isolated_liquidation_price,
    inverse_bankruptcy_price,
    liquidation_price,
    liquidation_price_exact,
    maintenance_amounts,
    maintenance_margin,
    maintenance_margin_q,
    margin_balance,
    parse_side,
)
from engine.venue.tier_tables import BINANCE_BTCUSDT_2025_08_19, HYPERLIQUID_BTC_2026
from engine.venue.tiers import maintenance_margin_exact

BTC = BINANCE_BTCUSDT_2025_08_19


def one_tier(mmr: str, max_leverage: int = 1) -> TierTable:
    """A single open-ended tier (cum 0), as the flat-rate examples assume."""
    return TierTable((Tier(0, None, mmr, max_leverage),))


def near(value: Decimal | None, figure: str) -> bool:
    """``value`` equals the printed ``figure`` within half a unit of its last digit."""
    printed = Decimal(figure)
    half_unit = Decimal(1).scaleb(printed.as_tuple().exponent) / 2
    return value is not None and abs(value - printed) <= half_unit


def ceil_to(value: Decimal, tick: str) -> Decimal:
    t = Decimal(tick)
    return math.ceil(value / t) * t


# -- reference §7 worked examples ------------------------------------------------------------


def test_coin_m_level_1_maintenance_margin_is_0_0016_btc():
    # §7.5: 100 contracts × 100 USD at mark 25,000 → 0.4 BTC notional; level 1 MMR 0.4 %, cum 0
    # → MM = 0.0016 BTC (exact). The COIN-M table is not in the reference: only its level-1 rate
    # is used, the 5 BTC cap is assumed; the "300 BTC → 12.5 %, 11.605 BTC" half needs the full
    # table and is not reproduced.
    coin_m = TierTable.from_rows([(0, 5, "0.004", 125), (5, None, "0.005", 100)])
    notional = Fraction(100 * 100, 25_000)
    assert notional == Fraction("0.4")
    assert maintenance_margin(Decimal("0.4"), coin_m) == Decimal("0.0016")
    assert str(maintenance_margin("0.4", coin_m)) == "0.0016"


def test_bybit_isolated_long_liquidates_at_19700():
    # §7.9: long 1 BTC @ 20,000, 50x, MMR 0.5 % → IM 400, MM 100, LP = 20,000 − 300 = 19,700.
    tiers = one_tier("0.005", 100)
    assert Decimal(20_000) / 50 == 400
    assert maintenance_margin(20_000, tiers) == 100
    assert bybit_isolated_liquidation_price("long", 1, 20_000, 50, tiers) == Decimal(19_700)


def test_binance_formula_liquidates_the_bybit_example_later_because_its_mm_moves_with_price():
    # Same position under Binance's formula: (400 − 20,000) / (0.005 − 1) = 19,698.49...
    # Not a reference figure: documents the venue difference (§1.5 vs §2).
    lp = liquidation_price(400, "long", 1, 20_000, one_tier("0.005", 100))
    assert near(lp, "19698.49")
    assert lp < 19_700


def test_bybit_inverse_long_bankruptcy_price_is_7735_50():
    # §7.11: long 5,000 BTCUSD @ 7,890.08, 50x → 7,890.08 × 50 / 51 = 7,735.372549, which Bybit
    # rounds to 0.5, long up → 7,735.50.
    margin_btc = Fraction(5_000) / Fraction("7890.08") / 50
    bp = inverse_bankruptcy_price(margin_btc, "long", 5_000, "7890.08")
    assert near(bp, "7735.372549")
    assert ceil_to(bp, "0.5") == Decimal("7735.50")


def test_bitmex_100x_long_bankrupts_at_5940_and_liquidates_at_5970():
    # §7.14 [U]: long @ 6,000 with 1 % margin → bankruptcy 5,940; 0.5 % MM → liquidation 5,970.
    # The figure 5,970 takes the MM at entry (exact with the MM-at-entry formula); Binance's
    # formula gives 5,969.85, which is 5,970 after rounding up to a 0.5 USD tick (XBTUSD's tick,
    # assumed; not in the reference).
    tiers = one_tier("0.005", 100)
    assert bankruptcy_price(60, "long", 1, 6_000) == 5_940
    assert bybit_isolated_liquidation_price("long", 1, 6_000, 100, tiers) == 5_970
    assert ceil_to(liquidation_price(60, "long", 1, 6_000, tiers), "0.5") == 5_970


def test_bitmex_insurance_example_prices_follow_from_1_percent_margin():
    # §7.12: long 1 contract @ 100.00, liquidation 99.50, bankruptcy 99.00. The margin is not
    # stated: 1 % initial and 0.5 % maintenance are assumed (the 100x pattern of §7.14). The fund
    # flows (+0.25, fund = 0) belong to the insurance-fund module, not here.
    tiers = one_tier("0.005", 100)
    assert bankruptcy_price(1, "long", 1, 100) == Decimal("99.00")
    assert bybit_isolated_liquidation_price("long", 1, 100, 100, tiers) == Decimal("99.50")
    assert ceil_to(liquidation_price(1, "long", 1, 100, tiers), "0.01") == Decimal("99.50")


def test_binance_insurance_example_bankruptcy_price_is_7600():
    # §7.15 [U]: long @ 8,000, bankruptcy 7,600 → 400 USDT margin per BTC (20x, assumed). The
    # liquidation price 7,700 cannot be reproduced: the example states no maintenance rate.
    assert bankruptcy_price(400, "long", 1, 8_000) == 7_600


def test_dydx_isolated_short_liquidates_at_3174_60():
    # §7.16: e = 1,000, short 3 ETH @ 3,000, MMF 5 % → p' = 10,000 / 3.15 ≈ 3,174.60; equity at
    # p' ≈ 476.2 (= MM). dYdX's equation is Binance's with one 5 % tier.
    tiers = one_tier("0.05", 10)
    lp = liquidation_price(1_000, "short", 3, 3_000, tiers)
    assert near(lp, "3174.60")
    exact = liquidation_price_exact(1_000, -1, 3, 3_000, tiers)
    assert exact == Fraction(10_000) / Fraction("3.15")
    assert near(margin_balance(1_000, "short", 3, 3_000, lp), "476.2")
    assert 1_000 - 3 * (exact - 3_000) == maintenance_margin_exact(3 * exact, tiers)


def test_dydx_deleveraging_short_bankrupts_at_1_2():
    # §7.18: B short 500 ABC @ $1 with $100; price $2 → B equity −400; B bankruptcy $1.2;
    # A (long 500 @ $1, $100) closed at 1.2 gains $100.
    assert margin_balance(100, "short", 500, 1, 2) == -400
    assert bankruptcy_price(100, "short", 500, 1) == Decimal("1.2")
    assert margin_balance(100, "long", 500, 1, "1.2") - 100 == 100


def test_hyperliquid_isolated_long_liquidates_at_91139_24():
    # §7.21: isolated long 1 BTC @ 100,000, 10x (margin 10,000), maintenance leverage 80
    # → liquidation 91,139.24, where equity = MM = 1,139.24. Tier 1 of the bundled HL table.
    lp = liquidation_price(10_000, "long", 1, 100_000, HYPERLIQUID_BTC_2026)
    assert near(lp, "91139.24")
    assert near(margin_balance(10_000, "long", 1, 100_000, lp), "1139.24")
    assert near(maintenance_margin(lp, HYPERLIQUID_BTC_2026), "1139.24")


def test_hyperliquid_formula_gives_the_binance_price():
    # §5: liq = price − side × margin_available / size / (1 − side / maintenance_leverage), with
    # margin_available = margin − MM at the current price; the same equation as §1.5.
    # The three positions (200M notional) keep their liquidation notional in tier 2.
    table = HYPERLIQUID_BTC_2026
    size, price = Fraction(2_000), Fraction(100_000)
    for side, margin in ((1, 10_000), (-1, 10_000), (1, 50_000_000)):
        available = margin - maintenance_margin_exact(size * price, table)
        rate = table[table.index_of(size * price)].mmr  # 1 / maintenance leverage
        hl = price - side * available / size / (1 - rate * side)
        lp = liquidation_price_exact(margin, side, size, price, table)
        assert table.index_of(size * lp) == 1
        assert lp == hl


# -- rules -----------------------------------------------------------------------------------


def test_long_liquidation_price_lies_below_entry():
    lp = liquidation_price(500_000, "long", 10, 100_000, BTC)  # 2x
    assert 0 < lp < 100_000


def test_short_liquidation_price_lies_above_entry():
    lp = liquidation_price(50_000, "short", 10, 100_000, BTC)  # 20x
    assert lp > 100_000


def test_overcollateralised_long_has_no_liquidation_or_bankruptcy_price():
    assert liquidation_price(100_000, "long", 1, 100_000, BTC) is None  # 1x
    assert bankruptcy_price(100_000, "long", 1, 100_000) is None
    assert bankruptcy_price(99_999, "long", 1, 100_000) == 1


def test_cross_short_liquidatable_at_every_price_has_no_liquidation_price():
    # Other positions' MM exceeds everything this short could ever be worth.
    assert liquidation_price(1_000, "short", 1, 100, BTC, other_maintenance_margin=10_000) is None


def test_liquidation_price_moves_to_the_tier_of_its_own_notional_short():
    # Short 100 BTC @ 100,000 (10M notional, tier 4 at 1 %). Tier 4's candidate is
    # 13,012,000 / 101 ≈ 128,832 → 12.88M notional, past tier 4's 12M cap, so tier 5 (2 %, cum
    # 132,000) is used: 13,132,000 / 102 ≈ 128,745 → 12.87M, inside tier 5.
    exact = liquidation_price_exact(3_000_000, -1, 100, 100_000, BTC)
    assert BTC.index_of(100 * 100_000) == 3
    assert BTC.index_of(100 * exact) == 4
    assert exact == Fraction(13_132_000, 102)
    assert 3_000_000 - 100 * (exact - 100_000) == maintenance_margin_exact(100 * exact, BTC)


def test_liquidation_price_moves_to_the_tier_of_its_own_notional_long():
    # Long 40 BTC @ 100,000 (4M, tier 4): the tier-4 candidate's notional (2.51M) is below
    # 3M, so tier 3 (0.65 %, cum 1,500) is used.
    exact = liquidation_price_exact(1_500_000, 1, 40, 100_000, BTC)
    assert BTC.index_of(40 * exact) == 2
    assert exact == Fraction(1_500_000 + 1_500 - 4_000_000) / (40 * Fraction("0.0065") - 40)


def test_liquidation_price_on_a_tier_boundary_is_found():
    # Long 1 BTC @ 400,000 with WB chosen so that equity = MM exactly at 300,000, the border of
    # tiers 1 and 2: WB − 100,000 = 300,000 × 0.4 % = 1,200.
    assert liquidation_price(101_200, "long", 1, 400_000, BTC) == 300_000


def test_isolated_is_cross_with_no_other_positions():
    assert liquidation_price(5_000, "long", 1, 100_000, BTC) == liquidation_price(
        5_000, "long", 1, 100_000, BTC, other_maintenance_margin=0, other_unrealized_pnl=0
    )


def test_other_positions_move_a_cross_liquidation_price():
    base = liquidation_price(20_000, "long", 1, 100_000, BTC)
    assert liquidation_price(20_000, "long", 1, 100_000, BTC, other_maintenance_margin=1_000) > base
    assert liquidation_price(20_000, "long", 1, 100_000, BTC, other_unrealized_pnl=1_000) < base
    # Other MM 1,000 offset by other uPnL 1,000: unchanged.
    assert liquidation_price(20_000, "long", 1, 100_000, BTC, 1_000, 1_000) == base


def test_bankruptcy_price_is_where_margin_balance_is_zero():
    assert bankruptcy_price(10_000, "long", 2, 100_000) == 95_000
    assert bankruptcy_price(10_000, "short", 2, 100_000) == 105_000
    assert bankruptcy_price(10_000, "short", 2, 100_000, other_unrealized_pnl=-4_000) == 103_000
    assert margin_balance(10_000, "short", 2, 100_000, 103_000, -4_000) == 0


def test_inverse_short_with_full_margin_cannot_go_bankrupt():
    # 1x short: WB = V / EP coin; the coin value of the position never exceeds the margin.
    assert inverse_bankruptcy_price(Fraction(1, 100), "short", 1_000, 100_000) is None
    # 50x short: EP × 50 / 49.
    bp = inverse_bankruptcy_price(Fraction(1_000, 100_000 * 50), "short", 1_000, 100_000)
    assert bp == math.floor(Fraction(100_000 * 50, 49) * 10**18) / Decimal(10**18)


# -- inputs and outputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argument",
    ["wallet_balance", "size", "entry_price", "other_maintenance_margin", "other_unrealized_pnl"],
)
def test_float_arguments_are_rejected_naming_the_argument(argument):
    kwargs = dict(wallet_balance=1_000, side="long", size=1, entry_price=10_000, tiers=BTC)
    kwargs[argument] = 0.5
    with pytest.raises(TypeError, match=rf"{argument}: float"):
        liquidation_price(**kwargs)


def test_float_notional_is_rejected():
    with pytest.raises(TypeError, match="notional: float"):
        maintenance_margin(1e6, BTC)


@pytest.mark.parametrize("side", [1, "long", "LONG", " Long "])
def test_long_side_spellings(side):
    assert parse_side(side) == 1


@pytest.mark.parametrize("side", [-1, "short", "SHORT", "Short"])
def test_short_side_spellings(side):
    assert parse_side(side) == -1


@pytest.mark.parametrize("side", [0, 2, "buy", "", True, None, 1.0])
def test_unknown_side_is_rejected(side):
    with pytest.raises(ValueError, match="side"):
        parse_side(side)


@pytest.mark.parametrize(("argument", "value"), [("size", 0), ("size", -1), ("entry_price", 0)])
def test_non_positive_size_or_price_is_rejected(argument, value):
    kwargs = dict(wallet_balance=1_000, side="long", size=1, entry_price=10_000, tiers=BTC)
    kwargs[argument] = value
    with pytest.raises(ValueError, match=argument):
        liquidation_price(**kwargs)


def test_negative_other_maintenance_margin_and_notional_are_rejected():
    with pytest.raises(ValueError, match="other_maintenance_margin"):
        liquidation_price(1_000, "long", 1, 10_000, BTC, other_maintenance_margin=-1)
    with pytest.raises(ValueError, match="notional"):
        maintenance_margin(-1, BTC)


def test_nan_is_rejected_naming_the_argument():
    with pytest.raises(ValueError, match="wallet_balance"):
        bankruptcy_price(Decimal("NaN"), "long", 1, 10_000)


def test_a_plain_list_of_tiers_is_accepted_and_validated():
    tiers = list(BTC.tiers)
    assert maintenance_margin("1000000", tiers) == maintenance_margin("1000000", BTC) == 5_000
    with pytest.raises(ValueError, match=r"tiers\[1\]\.floor"):
        maintenance_margin(1, [tiers[0], tiers[2]])


def test_results_are_decimal_and_exact_when_they_terminate():
    mm = maintenance_margin("1234567.89", BTC)
    assert isinstance(mm, Decimal)
    assert mm == Decimal("1234567.89") * Decimal("0.0065") - 1_500
    assert isinstance(liquidation_price("1000", "long", "0.5", "30000.5", BTC), Decimal)


def test_non_terminating_results_round_against_the_trader():
    sixth = TierTable.from_rows([(0, None, Fraction(1, 6), 3)])
    assert maintenance_margin(1, sixth) == Decimal("0.166666666666666667")
    long_lp = liquidation_price(1, "long", 3, 1, one_tier("0.004", 125))
    short_lp = liquidation_price(1, "short", 3, 1, one_tier("0.004", 125))
    assert long_lp == Decimal("0.669344042838018742")  # 2/2.988 = 0.66934404283801874163.., up
    assert short_lp == Decimal("1.328021248339973439")  # 4/3.012 = 1.32802124833997343957.., down


def test_re_exports():
    assert maintenance_amounts(BTC)[2] == 1_500
    assert maintenance_margin_q(300_000 * 10**8, BTC) == 1_200 * 10**8


# -- properties (exact, with Fractions) ------------------------------------------------------


@st.composite
def rates(draw, max_tiers: int = 4) -> list[Fraction]:
    return sorted(
        Fraction(draw(st.integers(0, 4 * den // 10)), den)
        for den in draw(
            st.lists(st.sampled_from([10**4, 10**6, 6, 80]), min_size=1, max_size=max_tiers)
        )
    )


def table_of(floors: list[Fraction], mmrs: list[Fraction]) -> TierTable:
    rows = []
    for i, (floor, mmr) in enumerate(zip(floors, mmrs)):
        cap = floors[i + 1] if i + 1 < len(floors) else None
        rows.append((floor, cap, mmr, 125 if mmr == 0 else min(125, int(1 / mmr))))
    return TierTable.from_rows(rows)


@st.composite
def cases(draw):
    """(table, (wallet, side, size, entry, other MM, other uPnL)).

    Amounts are drawn relative to the entry notional so liquidation prices often cross tier
    boundaries; other MM / uPnL (a cross account) are non-zero about half the time.
    """
    side = draw(st.sampled_from([1, -1]))
    size = Fraction(draw(st.integers(1, 10**6)), 1_000)
    entry = Fraction(draw(st.integers(1, 10**7)), 10)
    notional = size * entry
    mmrs = draw(rates())
    steps = draw(st.lists(st.integers(1, 150), min_size=len(mmrs), max_size=len(mmrs)))
    floors = [notional * sum(steps[:i]) / 100 for i in range(len(mmrs))]
    wallet = notional * Fraction(draw(st.integers(0, 3_000)), 1_000)
    cross = draw(st.booleans())
    other_mm = notional * Fraction(draw(st.integers(0, 3_000)), 1_000) if cross else Fraction(0)
    other_upnl = Fraction(0)
    if cross:
        other_upnl = notional * Fraction(draw(st.integers(-1_000, 1_000)), 1_000)
    return table_of(floors, mmrs), (wallet, side, size, entry, other_mm, other_upnl)


def equity_minus_mm(price, wallet, side, size, entry, other_mm, other_upnl, table):
    equity = wallet + other_upnl + side * size * (price - entry)
    return equity - other_mm - maintenance_margin_exact(size * price, table)


@settings(deadline=None, max_examples=300)
@given(cases())
def test_at_the_liquidation_price_margin_balance_equals_maintenance_margin(case):
    table, position = case
    wallet, side, size, entry, other_mm, other_upnl = position
    lp = liquidation_price_exact(wallet, side, size, entry, table, other_mm, other_upnl)
    if lp is not None:
        assert lp > 0
        assert equity_minus_mm(lp, *position, table) == 0
    else:
        # No positive root: at price 0 a long is already safe, a short already liquidatable.
        f0 = wallet + other_upnl - side * size * entry - other_mm
        assert f0 >= 0 if side == 1 else f0 <= 0


@settings(deadline=None, max_examples=300)
@given(st.data(), cases())
def test_higher_mmr_never_gives_a_long_a_lower_or_a_short_a_higher_liquidation_price(data, case):
    low, position = case
    # Raise every tier's rate by a non-decreasing amount: same floors, valid table, MM pointwise
    # higher (MM is the bracket sum of the rates).
    n = len(low)
    bumps = sorted(data.draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n)))
    raised = [t.mmr + Fraction(b, 10**6) for t, b in zip(low, bumps)]
    high = table_of([t.floor for t in low], raised)
    wallet, side, size, entry, other_mm, other_upnl = position
    lp_low = liquidation_price_exact(wallet, side, size, entry, low, other_mm, other_upnl)
    lp_high = liquidation_price_exact(wallet, side, size, entry, high, other_mm, other_upnl)
    # None = no positive liquidation price; it ranks below every price for both sides.
    high_rank, low_rank = (0 if p is None else p for p in (lp_high, lp_low))
    assert high_rank >= low_rank if side == 1 else high_rank <= low_rank


@settings(deadline=None, max_examples=300)
@given(cases())
def test_bankruptcy_price_lies_beyond_the_liquidation_price_in_the_loss_direction(case):
    table, position = case
    wallet, side, size, entry, other_mm, other_upnl = position
    lp = liquidation_price_exact(wallet, side, size, entry, table, other_mm, other_upnl)
    bp = bankruptcy_price_exact(wallet, side, size, entry, other_upnl)
    strict = table[0].mmr > 0 or other_mm > 0
    if side == 1:
        if lp is None:
            assert bp is None
        elif bp is not None:
            assert bp < lp if strict else bp <= lp
    elif lp is not None:
        assert bp is not None
        assert bp > lp if strict else bp >= lp


@settings(deadline=None, max_examples=200)
@given(cases())
def test_decimal_results_round_against_the_trader_by_less_than_one_unit_in_the_18th_place(case):
    table, position = case
    wallet, side, size, entry, other_mm, other_upnl = position
    ulp = Fraction(1, 10**18)
    lp_exact = liquidation_price_exact(wallet, side, size, entry, table, other_mm, other_upnl)
    lp = liquidation_price(wallet, side, size, entry, table, other_mm, other_upnl)
    if lp_exact is None:
        assert lp is None
    else:
        err = Fraction(lp) - lp_exact
        assert (0 <= err < ulp) if side == 1 else (-ulp < err <= 0)
        mm = maintenance_margin(size * lp_exact, table)
        assert 0 <= Fraction(mm) - maintenance_margin_exact(size * lp_exact, table) < ulp
    bp = bankruptcy_price(wallet, side, size, entry, other_upnl)
    if bp is not None:
        assert wallet + other_upnl + side * size * (Fraction(bp) - entry) >= 0
