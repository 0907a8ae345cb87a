"""Invalid configuration and requests are refused with an error that names the field.

docs/design.md: "validators that reject NaN, inf, negatives and unknown keys with a message
naming the file and field"; money is ``int`` quantums, rates exact (never ``float``).
Covered: instruments (``engine.venue.instruments.Instrument``), tier tables
(``engine.venue.tiers.TierTable.from_rows``), collateral assets, the ``Exchange`` itself, accounts
(ids, deposits, collateral) and prices.  Each case asserts the exception type and that the
message names the offending field (``match=`` is a regex searched in ``str(exc)``).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.breakers import Policy
from engine.venue.accounts import BACKSTOP_ID, INSURANCE_ID, RESERVED_FROM
from engine.venue.collateral import CollateralAsset
from engine.venue.events import EventKind
from engine.venue.exchange import Exchange
from engine.venue.instruments import binance_btcusdt
from engine.venue.tier_tables import BINANCE_BTCUSDT_2025_08_19
from engine.venue.tiers import TierTable

NAN, INF = float("nan"), float("inf")


def _refused(cases, errors=(ValueError, TypeError)):
    """Run each ``(label, call, field)``; return the labels of the calls that did not raise
    one of ``errors`` with ``field`` (a regex) in the message -- all of them, so a failing
    test lists every case at once."""
    import re
    bad = []
    for label, call, field in cases:
        try:
            call()
        except errors as exc:
            if not re.search(field, str(exc)):
                bad.append(f"{label}: {type(exc).__name__} without {field!r}: {exc}")
        except Exception as exc:    # noqa: BLE001 - any other error is a finding too
            bad.append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            bad.append(f"{label}: accepted")
    return bad


def _good_rows():
    return [("0", "5000", "0.01", 50), ("5000", "20000", "0.02", 25), ("20000", None, "0.05", 10)]


# ==================================================================== instruments
@pytest.mark.parametrize("field", ["tick_size", "lot_size", "quote_quantum"])
@pytest.mark.parametrize("value, error", [
    ("-0.1", ValueError), ("0", ValueError), ("NaN", ValueError), ("sNaN", ValueError),
    ("Infinity", ValueError), ("-Infinity", ValueError), (Decimal("NaN"), ValueError),
    (Decimal("-1"), ValueError), (-1, ValueError),
    (0.1, TypeError), (NAN, TypeError), (INF, TypeError), (True, TypeError),
])
def test_instrument_sizes_must_be_finite_positive_decimals(field, value, error):
    with pytest.raises(error, match=field):
        binance_btcusdt(**{field: value})


def test_instrument_size_that_is_not_a_number_names_the_field():
    cases = [(f"{f}='abc'", lambda f=f: binance_btcusdt(**{f: "abc"}), f)
             for f in ("tick_size", "lot_size", "quote_quantum")]
    assert _refused(cases) == []


@pytest.mark.parametrize("field, value", [
    ("maker_fee_ppm", -10_001), ("maker_fee_ppm", 100_001), ("maker_fee_ppm", 2.0),
    ("maker_fee_ppm", NAN), ("taker_fee_ppm", -1), ("taker_fee_ppm", INF),
    ("taker_fee_ppm", "500"), ("clearance_fee_ppm", -1), ("clearance_fee_ppm", 1_000_000),
    ("clearance_fee_ppm", True), ("clearance_fee_ppm", 12_500.0),
])
def test_instrument_rates_must_be_integer_ppm_in_range(field, value):
    with pytest.raises(ValueError, match=field):
        binance_btcusdt(**{field: value})


def test_instrument_tick_times_lot_must_be_a_whole_number_of_quote_quantums():
    with pytest.raises(ValueError, match=r"tick_size x lot_size .* quote_quantum"):
        binance_btcusdt(tick_size="0.1", lot_size="0.001", quote_quantum="0.001")
    # 0.1 x 0.001 = 0.0001 = 10,000 quantums of 1e-8: accepted, exactly.
    assert binance_btcusdt().tick_lot_quanta == 10_000


def test_instrument_quote_quantum_must_divide_one_quote_unit():
    with pytest.raises(ValueError, match="quote_quantum"):
        binance_btcusdt(tick_size="0.3", lot_size="1", quote_quantum="0.3")


def test_instrument_unknown_waterfall_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"waterfall.*binance.*tiered.*hyperliquid.*dydx"):
        binance_btcusdt(waterfall="okx")


def test_instrument_tiers_must_be_a_validated_tier_table():
    with pytest.raises(TypeError, match="tiers"):
        binance_btcusdt(tiers=list(BINANCE_BTCUSDT_2025_08_19))


def test_instrument_unknown_key_is_refused_naming_it():
    with pytest.raises(TypeError, match="liquidation_fee"):
        binance_btcusdt(liquidation_fee=12_500)


def test_instrument_symbol_must_not_be_empty():
    with pytest.raises(ValueError, match="symbol"):
        binance_btcusdt(symbol="")


# ========================================================================= tiers
@pytest.mark.parametrize("col, field", [(0, "floor"), (1, "cap"), (2, "mmr"),
                                        (3, "max_leverage")])
@pytest.mark.parametrize("value, error", [
    ("nan", ValueError), ("inf", ValueError), ("-inf", ValueError),
    (Decimal("NaN"), ValueError), (Decimal("Infinity"), ValueError), ("1e", ValueError),
    (0.01, TypeError), (NAN, TypeError), (INF, TypeError), (True, TypeError),
])
def test_tier_values_must_be_exact_and_finite(col, field, value, error):
    rows = _good_rows()
    row = list(rows[1])
    row[col] = value
    rows[1] = tuple(row)
    with pytest.raises(error, match=rf"tiers\[1\]\.{field}"):
        TierTable.from_rows(rows, name="t")


@pytest.mark.parametrize("col, field, value", [
    (0, "floor", "-1"), (2, "mmr", "-0.01"), (2, "mmr", "1"), (3, "max_leverage", "-5"),
])
def test_tier_values_must_not_be_negative_or_out_of_range(col, field, value):
    rows = [list(r) for r in _good_rows()]
    rows[0][col] = value
    with pytest.raises(ValueError, match=rf"tiers\[0\]\.{field}"):
        TierTable.from_rows(rows)


def test_tier_leverage_zero_is_refused():
    with pytest.raises(ValueError, match=r"tiers\[0\]\.max_leverage: 0 is below 1"):
        TierTable.from_rows([("0", None, "0.01", 0)])


def test_tiers_must_increase():
    with pytest.raises(ValueError, match=r"tiers\[1\]\.cap"):          # cap below its floor
        TierTable.from_rows([("0", "10", "0.01", 10), ("10", "5", "0.02", 5)])
    with pytest.raises(ValueError, match=r"tiers\[1\]\.floor .* contiguous"):   # overlap
        TierTable.from_rows([("0", "10", "0.01", 10), ("5", "30", "0.02", 5)])
    with pytest.raises(ValueError, match=r"tiers\[1\]\.floor .* contiguous"):   # gap
        TierTable.from_rows([("0", "10", "0.01", 10), ("20", "30", "0.02", 5)])
    with pytest.raises(ValueError, match=r"tiers\[0\]\.floor"):
        TierTable.from_rows([("1", "10", "0.01", 10)])
    with pytest.raises(ValueError, match=r"tiers\[0\]\.cap is None"):
        TierTable.from_rows([("0", None, "0.01", 10), ("10", None, "0.02", 5)])


def test_tier_mmr_must_not_decrease():
    with pytest.raises(ValueError, match=r"tiers\[1\]\.mmr .* non-decreasing"):
        TierTable.from_rows([("0", "10", "0.02", 10), ("10", "30", "0.01", 5)])


def test_tier_max_leverage_must_not_increase():
    with pytest.raises(ValueError, match=r"tiers\[1\]\.max_leverage .* non-increasing"):
        TierTable.from_rows([("0", "10", "0.01", 10), ("10", "30", "0.02", 20)])


def test_tier_mmr_must_not_exceed_the_initial_margin_rate():
    with pytest.raises(ValueError, match=r"tiers\[0\]\.mmr"):
        TierTable.from_rows([("0", None, "0.2", 10)])


def test_tier_table_must_not_be_empty_and_rows_have_four_fields():
    with pytest.raises(ValueError, match="tiers is empty"):
        TierTable.from_rows([], name="empty")
    with pytest.raises(ValueError, match=r"tiers\[0\] has 3 fields"):
        TierTable.from_rows([("0", None, "0.01")])


def test_tier_table_errors_name_the_table():
    with pytest.raises(ValueError, match="binance:TEST.*tiers\\[1\\]\\.mmr"):
        TierTable.from_rows([("0", "10", "0.02", 10), ("10", "30", "0.01", 5)],
                            name="binance:TEST")


# ============================================================ collateral assets
@pytest.mark.parametrize("kw, field, error", [
    (dict(source="oracle"), "source", ValueError),
    (dict(source="index", haircut_ppm=-1), "haircut_ppm", ValueError),
    (dict(source="index", haircut_ppm=1_000_001), "haircut_ppm", ValueError),
    (dict(source="index", haircut_ppm=0.1), "haircut_ppm", ValueError),
    (dict(source="index", unit="nan"), "unit", ValueError),
    (dict(source="index", unit="-1"), "unit", ValueError),
    (dict(source="index", unit=0.1), "unit", TypeError),
    (dict(source="book-mid"), "book_inst", ValueError),
    (dict(source="book-last"), "book_inst", ValueError),
    (dict(source="fixed"), "fixed_price", ValueError),
])
def test_collateral_asset_fields_are_validated(kw, field, error):
    with pytest.raises(error, match=field):
        CollateralAsset("USDE", **kw)


def test_collateral_fixed_price_must_be_an_exact_positive_number():
    cases = [(repr(v), lambda v=v: CollateralAsset("USDE", source="fixed", fixed_price=v),
              "fixed_price") for v in ("-1", "0", "nan", 0.97)]
    assert _refused(cases) == []


# ===================================================================== exchange
def _ex(**kw):
    return Exchange([binance_btcusdt()], **kw)


def test_exchange_unknown_adl_ranking_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"adl_ranking: expected one of .*bitmex.*'okx'"):
        _ex(adl_ranking="okx")


def test_exchange_needs_instruments_sharing_one_quote_quantum():
    with pytest.raises(ValueError, match="instruments"):
        Exchange([])
    with pytest.raises(ValueError, match="quote quantum"):
        Exchange([binance_btcusdt(), binance_btcusdt(quote_quantum="0.0001")])


@pytest.mark.parametrize("field", ["insurance_fund", "backstop"])
def test_exchange_negative_fund_or_backstop_is_refused(field):
    with pytest.raises(ValueError, match=field):
        _ex(**{field: -1})


def test_exchange_fund_and_backstop_must_be_int_quantums():
    """Money is int quantums (docs/design.md): a float, NaN, inf or Decimal balance would make
    the ``==`` conservation check meaningless."""
    cases = [(f"{f}={v!r}", lambda f=f, v=v: _ex(**{f: v}), f)
             for f in ("insurance_fund", "backstop") for v in (1.5, NAN, INF, Decimal("10"))]
    assert _refused(cases) == []


def test_exchange_fund_limit_must_be_a_non_negative_int_ppm():
    cases = [(f"fund_limit_ppm={v!r}", lambda v=v: _ex(fund_limit_ppm=v), "fund_limit_ppm")
             for v in (-1, 0.5, NAN)]
    assert _refused(cases) == []


def test_exchange_collateral_book_must_name_an_instrument():
    with pytest.raises(ValueError, match="book_inst"):
        _ex(collateral=[CollateralAsset("USDE", source="book-mid", book_inst=3)])


def test_exchange_collateral_asset_names_must_be_unique():
    with pytest.raises(ValueError, match="USDE"):
        _ex(collateral=[CollateralAsset("USDE", source="fixed", fixed_price="1"),
                        CollateralAsset("USDE", source="fixed", fixed_price="0.5")])


# ====================================================================== accounts
@pytest.mark.parametrize("account_id", [0, -3, RESERVED_FROM, INSURANCE_ID, BACKSTOP_ID,
                                        2**40, True, 7.0, "7", None])
def test_account_id_must_be_a_non_reserved_positive_int(account_id):
    ex = _ex()
    with pytest.raises(ValueError, match="account_id"):
        ex.open_account(0, account_id)


def test_duplicate_account_id_is_refused():
    ex = _ex()
    ex.open_account(0, 7, deposit=5)
    with pytest.raises(ValueError, match="account_id: 7 already exists"):
        ex.open_account(0, 7)
    assert ex.accounts[7].wallet == 5


@pytest.mark.parametrize("amount", [-5, 1.5, NAN, INF, Decimal("3"), "10", 1 << 63])
def test_negative_non_int_or_beyond_int64_deposit_is_refused(amount):
    ex = _ex()
    ex.open_account(0, 7)
    with pytest.raises(ValueError, match="amount"):
        ex.deposit(0, 7, amount)
    assert ex.accounts[7].wallet == 0 and ex.net_deposits == 0


def test_open_account_with_a_bad_deposit_names_the_deposit_and_creates_nothing():
    """The error names the argument the caller passed (``deposit``), and a refused
    ``open_account`` leaves no account behind (the id stays free)."""
    bad = []
    for v in (-5, 1.5, NAN):
        ex = _ex()
        bad += _refused([(f"deposit={v!r}", lambda: ex.open_account(0, 8, deposit=v),
                          "deposit")])
        if 8 in ex.accounts:
            bad.append(f"deposit={v!r}: account 8 left behind")
    assert bad == []


def test_unknown_collateral_asset_is_refused_and_creates_nothing():
    """The error names the asset and the known ones; the refused call must not have opened
    the account nor credited its deposit (it did both before raising)."""
    ex = _ex(collateral=[CollateralAsset("USDE", source="index")])
    with pytest.raises(ValueError, match=r"collateral: unknown asset 'BNSOL'.*USDE"):
        ex.open_account(0, 9, deposit=100, collateral={"BNSOL": 1})
    assert 9 not in ex.accounts
    assert ex.net_deposits == 0
    ex.open_account(0, 9, deposit=100, collateral={"USDE": 1})
    ex.check_conservation()


@pytest.mark.parametrize("amount", [-1, 1.0, NAN])
def test_collateral_amount_must_be_a_non_negative_int(amount):
    ex = _ex(collateral=[CollateralAsset("USDE", source="index")])
    with pytest.raises(ValueError, match=r"collateral\[USDE\]"):
        ex.open_account(0, 9, collateral={"USDE": amount})


def test_deposit_to_an_unknown_account_names_the_account():
    ex = _ex()
    with pytest.raises((ValueError, KeyError), match="12345"):
        ex.deposit(0, 12345, 1)


@pytest.mark.parametrize("amount", [-1, 1.5, NAN, 10**30])
def test_invalid_withdrawal_is_refused_and_changes_nothing(amount):
    ex = _ex()
    ex.open_account(0, 7, deposit=100)
    assert ex.withdraw(0, 7, amount) is False
    assert ex.accounts[7].wallet == 100 and ex.net_deposits == 100


# ======================================================================== prices
@pytest.mark.parametrize("mark", [0, -5, 1.5, NAN, "100", None, True])
def test_mark_must_be_a_positive_int_tick(mark):
    ex = _ex()
    with pytest.raises(ValueError, match="mark"):
        ex.set_mark(0, 0, mark)


def test_asset_index_of_an_unknown_asset_is_refused():
    ex = _ex(collateral=[CollateralAsset("USDE", source="index")])
    with pytest.raises(ValueError, match=r"asset: unknown 'BTC'.*USDE"):
        ex.set_asset_index("BTC", "1")


def test_asset_index_must_be_an_exact_non_negative_price():
    ex = _ex(collateral=[CollateralAsset("USDE", source="index")])
    cases = [(repr(v), lambda v=v: ex.set_asset_index("USDE", v), "price")
             for v in ("-0.5", "nan", "inf", 0.97)]
    assert (_refused(cases), ex.asset_prices) == ([], {})


def test_position_transfer_needs_positive_int_quantity_and_price():
    ex = _ex()
    ex.open_account(0, 1, deposit=10**12)
    ex.open_account(0, 2, deposit=10**12)
    cases = [(f"qty={q!r} price={p!r}", lambda q=q, p=p: ex.transfer_position(0, 1, 2, 0, q, p),
              "qty" if q in (0, -1, 1.5) else "price")
             for q, p in ((0, 100), (-1, 100), (1, 0), (1, -100), (1.5, 100), (1, 100.0))]
    assert _refused(cases) == []


JUNK_ORDERS = [dict(qty=5, price=1.5), dict(qty=2.5, price=100), dict(qty=5, price="100"),
               dict(qty=-3, price=100), dict(qty=5, price=10**30), dict(qty=10**30, price=5),
               dict(qty=5, price=100, side="x"), dict(qty="5", price=100, reduce_only=True),
               dict(qty=5, price=float("nan"))]


@pytest.mark.parametrize("with_gate", [False, True])
def test_a_malformed_order_is_logged_as_rejected_and_never_raises(with_gate):
    ex = _ex()
    ex.open_account(0, 7, deposit=10**12)
    ex.set_mark(0, 0, 1_000_000)
    if with_gate:
        class Arithmetic(Policy):         # a gate that does arithmetic on the price
            def gate_order(self, ts, a, i, side, qty, price, *rest):
                return price + 0 * side * qty, 0
        ex.breaker = Arithmetic()
    for order in JUNK_ORDERS:
        order = dict(order)
        side = order.pop("side", 1)
        n = len(ex.log)
        r = ex.submit(0, 7, 0, side, order.pop("qty"), **order)
        assert not r, order
        assert ex.log.kinds(n) == [EventKind.ORDER_REJECTED], order
    assert ex.mass_quote(0, 7, 0, 1, [], [(10**30, 1), (1.5, 2), (100, "x")]) == {}
    assert len(ex.log.to_array()) == len(ex.log) and len(ex.books[0]) == 0
