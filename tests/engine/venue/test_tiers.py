"""Tests of engine.venue.tiers and the bundled tables: cum recursion, table validation, tier
lookup and the integer-quantum maintenance margin. Figures marked §7.n are the reference's worked
examples (docs/reference/liquidation-mechanics.md); maintenance amounts are whole
USDT, so they are compared exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.venue.tier_tables import (
    BINANCE_BTCUSDT_2021,
    BINANCE_BTCUSDT_2025_08_19,
    BINANCE_ETHUSDT_2025_08_19,
    BUNDLED,
    HYPERLIQUID_BTC_2026,
)
from engine.venue.tiers import (
    Tier,
    TierTable,
    maintenance_amounts,
    maintenance_margin_exact,
    maintenance_margin_q,
)

PCT = Fraction(1, 100)


# -- strategies and a slow reference model ---------------------------------------------------


@st.composite
def tier_tables(draw, max_tiers: int = 5) -> TierTable:
    """Valid random tables: floors in cents, rates over mixed denominators (ppm, 1/6, 1/7...)."""
    n = draw(st.integers(1, max_tiers))
    widths = draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n))
    rates = sorted(
        Fraction(draw(st.integers(0, 4 * den // 10)), den)
        for den in draw(st.lists(st.sampled_from([10**4, 10**6, 6, 7, 80]), min_size=n, max_size=n))
    )
    open_ended = draw(st.booleans())
    rows, floor = [], Fraction(0)
    for i, (width, rate) in enumerate(zip(widths, rates)):
        cap = floor + Fraction(width, 100)
        leverage = 125 if rate == 0 else min(125, int(1 / rate))
        rows.append((floor, None if open_ended and i == n - 1 else cap, rate, leverage))
        floor = cap
    quantums = draw(st.sampled_from([1, 100, 10**6, 10**8]))
    return TierTable.from_rows(rows, quantums_per_unit=quantums)


def bracket_sum(table: TierTable, notional: Fraction) -> Fraction:
    """Reference model: each slice of notional pays its own bracket's rate ("tax brackets")."""
    total = Fraction(0)
    last = len(table) - 1
    for i, tier in enumerate(table):
        top = notional if i == last or tier.cap is None else min(notional, tier.cap)
        if top > tier.floor:
            total += (top - tier.floor) * tier.mmr
    return total


# -- maintenance amounts (cum) ---------------------------------------------------------------


def test_maintenance_amount_is_derived_by_recursion_not_typed_in():
    # §7.2: current BTCUSDT cum column, derived by the recursion from the 2025-08-19 tiers.
    assert "cum" not in attrs.fields_dict(Tier)
    assert BINANCE_BTCUSDT_2025_08_19.cums == (
        0, 300, 1_500, 12_000, 132_000, 482_000, 2_982_000, 14_482_000,
        26_482_000, 41_482_000, 121_482_000, 421_482_000,
    )  # fmt: skip
    assert maintenance_amounts(BINANCE_BTCUSDT_2025_08_19.tiers) == BINANCE_BTCUSDT_2025_08_19.cums


def test_recursion_reproduces_the_cum_column_of_the_2021_api_capture():
    # §1.3 [S]: the capture lists cum next to each bracket; none of it is typed into the table.
    assert BINANCE_BTCUSDT_2021.cums == (
        0, 50, 1_300, 46_300, 546_300, 2_546_300, 5_046_300, 8_046_300, 28_046_300, 103_046_300,
    )  # fmt: skip


def test_faq_level_3_maintenance_amount_is_1300():
    # §7.1: 250,000 × (1% − 0.5%) + 50 = 1,300 USDT (old BTCUSDT table, level 3).
    table = BINANCE_BTCUSDT_2021
    assert table[2].floor * (table[2].mmr - table[1].mmr) + table.cums[1] == 1_300
    assert table.cums[2] == 1_300


def test_faq_500000_usdt_position_has_maintenance_amount_1300():
    # §7.1: "500,000 USDT → maintenance amount 1,300 USDT".
    table = BINANCE_BTCUSDT_2021
    assert table.cums[table.index_of(500_000)] == 1_300


def test_faq_264000_usdt_position_has_mmr_one_percent():
    # §7.1: "264,000 USDT → MMR 1%".
    table = BINANCE_BTCUSDT_2021
    assert table[table.index_of(264_000)].mmr == 1 * PCT


def test_faq_level_5_recursion_step_gives_141300():
    # §7.1 (old FAQ copy, "yet another table"; recursion test only):
    # 5,000,000 × (5% − 2.5%) + 16,300 = 141,300. That table is not in the reference; tiers 1–3
    # are the 2021 table's and the 1,000,000 floor of the 2.5% tier is **assumed** (it is the
    # floor for which the recursion gives the quoted 16,300).
    table = TierTable.from_rows(
        [
            (0, 50_000, "0.004", 125),
            (50_000, 250_000, "0.005", 100),
            (250_000, 1_000_000, "0.01", 50),
            (1_000_000, 5_000_000, "0.025", 20),
            (5_000_000, 20_000_000, "0.05", 10),
        ]
    )
    assert table.cums[3] == 16_300
    assert table.cums[4] == 141_300


def test_hyperliquid_btc_deduction_is_1875000():
    # §7.20: mmr = IM rate at max leverage / 2 → 1.25 % and 2.5 %;
    # deduction = 150,000,000 × (2.5 % − 1.25 %) = 1,875,000.
    table = HYPERLIQUID_BTC_2026
    assert [t.mmr for t in table] == [Fraction(125, 10_000), Fraction(25, 1_000)]
    assert table.cums == (0, 1_875_000)
    assert table[-1].cap is None


def test_ethusdt_shares_the_first_four_btcusdt_tiers():
    assert BINANCE_ETHUSDT_2025_08_19.tiers[:4] == BINANCE_BTCUSDT_2025_08_19.tiers[:4]
    assert len(BINANCE_ETHUSDT_2025_08_19) == 12
    assert BINANCE_ETHUSDT_2025_08_19[-1].cap == 1_200_000_000


def test_bundled_tables_are_registered_by_name():
    assert BUNDLED[BINANCE_BTCUSDT_2025_08_19.name] is BINANCE_BTCUSDT_2025_08_19
    assert len(BUNDLED) == 7       # + BitMEX XBTUSD, Binance COIN-M BTCUSD_PERP, an altcoin


# -- validation ------------------------------------------------------------------------------

GOOD = [(0, 100, "0.01", 50), (100, 200, "0.02", 25), (200, 300, "0.05", 10)]


def _with(index: int, **changes) -> list[tuple]:
    rows = [list(r) for r in GOOD]
    for field, value in changes.items():
        rows[index][("floor", "cap", "mmr", "max_leverage").index(field)] = value
    return [tuple(r) for r in rows]


def test_tiers_with_decreasing_mmr_are_rejected_naming_the_field():
    with pytest.raises(ValueError, match=r"tiers\[2\]\.mmr .*non-decreasing"):
        TierTable.from_rows(_with(2, mmr="0.015"), name="t")


def test_tiers_with_increasing_max_leverage_are_rejected_naming_the_field():
    with pytest.raises(ValueError, match=r"tiers\[1\]\.max_leverage 25 .*non-increasing"):
        TierTable.from_rows(_with(0, max_leverage=20))


def test_tiers_with_a_gap_are_rejected_naming_the_floor():
    with pytest.raises(ValueError, match=r"tiers\[1\]\.floor 101 != tiers\[0\]\.cap 100"):
        TierTable.from_rows(_with(1, floor=101))


def test_overlapping_tiers_are_rejected():
    with pytest.raises(ValueError, match=r"tiers\[2\]\.floor .*contiguous"):
        TierTable.from_rows(_with(2, floor=150))


def test_first_tier_must_start_at_zero():
    with pytest.raises(ValueError, match=r"tiers\[0\]\.floor"):
        TierTable.from_rows(_with(0, floor=1))


def test_only_the_last_tier_may_be_open_ended():
    with pytest.raises(ValueError, match=r"tiers\[0\]\.cap is None"):
        TierTable.from_rows(_with(0, cap=None))
    assert TierTable.from_rows(_with(2, cap=None))[-1].cap is None


def test_empty_table_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        TierTable(())


def test_table_error_names_the_table():
    with pytest.raises(ValueError, match=r"tier table 'binance:X': tiers\[1\]\.floor: -5"):
        TierTable.from_rows(_with(1, floor=-5), name="binance:X")


@pytest.mark.parametrize("field", ["floor", "cap", "mmr", "max_leverage"])
@pytest.mark.parametrize("bad", ["NaN", "inf", "-Infinity", Decimal("NaN"), Decimal("-Infinity")])
def test_nan_and_infinite_values_are_rejected_naming_the_field(field, bad):
    with pytest.raises(ValueError, match=rf"tiers\[1\]\.{field}: "):
        TierTable.from_rows(_with(1, **{field: bad}))


@pytest.mark.parametrize("field", ["floor", "cap", "mmr", "max_leverage"])
def test_float_values_are_rejected_with_type_error_naming_the_field(field):
    with pytest.raises(TypeError, match=rf"tiers\[1\]\.{field}: float"):
        TierTable.from_rows(_with(1, **{field: 0.5}))


def test_bool_values_are_rejected():
    with pytest.raises(TypeError, match=r"max_leverage: expected"):
        Tier(0, 100, "0.01", True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("floor", -1, "negative"),
        ("cap", 100, "must exceed floor"),
        ("mmr", "-0.01", "0 <= mmr < 1"),
        ("mmr", 1, "0 <= mmr < 1"),
        ("mmr", "0.5", "exceeds the initial margin rate"),
        ("max_leverage", "0.5", "below 1"),
    ],
)
def test_out_of_range_tier_values_are_rejected_naming_index_and_field(field, value, message):
    with pytest.raises(ValueError, match=rf"tiers\[1\]\.{field}: .*{message}"):
        TierTable.from_rows(_with(1, **{field: value}))


def test_row_with_wrong_field_count_is_rejected():
    with pytest.raises(ValueError, match=r"tiers\[0\] has 3 fields"):
        TierTable.from_rows([(0, 100, "0.01")])


def test_non_tier_element_is_rejected_naming_its_index():
    with pytest.raises(TypeError, match=r"tiers\[1\] is a tuple"):
        TierTable((Tier(0, 100, "0.01", 50), (100, 200, "0.02", 25)))


@pytest.mark.parametrize("bad", [0, -1, True, 1.0, "100"])
def test_quantums_per_unit_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="quantums_per_unit"):
        TierTable.from_rows(GOOD, quantums_per_unit=bad)


# -- lookup ----------------------------------------------------------------------------------


def test_boundary_notional_belongs_to_the_tier_it_opens():
    # Assumed half-open [floor, cap); MM is the same either way (continuity, tested below).
    table = BINANCE_BTCUSDT_2025_08_19
    assert table.index_of(299_999) == 0
    assert table.index_of(300_000) == 1
    assert table.index_of_q(300_000 * table.quantums_per_unit - 1) == 0
    assert table.index_of_q(300_000 * table.quantums_per_unit) == 1


def test_notional_beyond_the_last_cap_stays_in_the_last_tier():
    # Assumed: a price move can carry a position past the last cap; the last rate keeps applying.
    table = BINANCE_BTCUSDT_2025_08_19
    assert table.index_of(5_000_000_000) == len(table) - 1


def test_negative_notional_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        BINANCE_BTCUSDT_2025_08_19.index_of(-1)
    with pytest.raises(ValueError, match="negative"):
        maintenance_margin_q(-1, BINANCE_BTCUSDT_2025_08_19)


@pytest.mark.parametrize("table", list(BUNDLED.values()), ids=list(BUNDLED))
def test_maintenance_margin_is_continuous_across_tier_boundaries(table):
    for k in range(1, len(table)):
        floor = table[k].floor
        below = floor * table[k - 1].mmr - table.cums[k - 1]
        assert maintenance_margin_exact(floor, table) == below


@settings(deadline=None)
@given(tier_tables(), st.integers(0, 10**12))
def test_maintenance_margin_equals_bracket_by_bracket_sum(table, cents):
    notional = Fraction(cents, 100)
    assert maintenance_margin_exact(notional, table) == bracket_sum(table, notional)


@settings(deadline=None)
@given(tier_tables(), st.integers(0, 10**14))
def test_integer_lookup_agrees_with_exact_lookup(table, notional_q):
    notional = Fraction(notional_q, table.quantums_per_unit)
    assert table.index_of_q(notional_q) == table.index_of(notional)


# -- integer-quantum maintenance margin ------------------------------------------------------


@settings(deadline=None)
@given(tier_tables(), st.integers(0, 10**14))
def test_maintenance_margin_q_is_the_exact_value_rounded_up(table, notional_q):
    q = table.quantums_per_unit
    exact = maintenance_margin_exact(Fraction(notional_q, q), table) * q
    got = maintenance_margin_q(notional_q, table)
    assert isinstance(got, int)
    assert exact <= got < exact + 1
    mmr_num, cum_num, den = table.coefficients_q(table.index_of_q(notional_q))
    assert Fraction(notional_q * mmr_num - cum_num, den) == exact


def test_maintenance_margin_q_rounds_a_fraction_of_a_quantum_up():
    table = TierTable.from_rows([(0, None, Fraction(1, 6), 3)], quantums_per_unit=1)
    assert maintenance_margin_q(0, table) == 0
    assert maintenance_margin_q(1, table) == 1  # 1/6 of a quantum, charged as one
    assert maintenance_margin_q(6, table) == 1
    assert maintenance_margin_q(7, table) == 2


def test_maintenance_margin_q_uses_the_tables_quantum():
    # 264,000 USDT on the 2021 table: 264,000 × 1% − 1,300 = 1,340 USDT.
    table = BINANCE_BTCUSDT_2021
    assert maintenance_margin_q(264_000 * 10**8, table) == 1_340 * 10**8
    cents = table.with_quantum(100)
    assert cents.tiers == table.tiers
    assert maintenance_margin_q(264_000 * 100, cents) == 1_340 * 100
