"""Inverse (coin-margined) instruments: exact coin accounting, margin and the trigger index.

XBTUSD units (``bitmex_xbtusd``): a lot is one 1-USD contract, a tick 0.5 USD, money in
satoshis; a fill of q lots at p ticks is worth floor(q x 2e8 / p) satoshis
(``inverse_k`` = 2e8).  A price of 8,000 USD is 16,000 ticks.
"""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import ConfigError
from engine.scenarios.scenario import load
from engine.venue.accounts import INSURANCE_ID
from engine.venue.events import EventKind
from engine.venue.exchange import Exchange
from engine.venue.instruments import Instrument, binance_btcusd_perp, bitmex_xbtusd
from engine.venue.tiers import maintenance_margin_q
from orderbook.enums import IOC

XBT = 10**8                     # satoshis per XBT
P8000 = 16_000                  # 8,000 USD in XBTUSD ticks


def _exchange(fund: int = 10 * XBT, ranking: str = "bitmex", mark: int = P8000) -> Exchange:
    ex = Exchange([bitmex_xbtusd()], insurance_fund=fund, adl_ranking=ranking)
    ex.set_mark(0, 0, mark)
    return ex


def _trade(ex: Exchange, buyer: int, seller: int, qty: int, price: int, ts: int = 0) -> None:
    """``seller`` rests an ask, ``buyer`` takes it (IOC)."""
    ex.submit(ts, seller, 0, -1, qty, price)
    r = ex.submit(ts, buyer, 0, 1, qty, price, tif=IOC)
    assert r.filled_qty == qty


def test_an_inverse_fill_moves_floor_of_contracts_over_price_in_coin_between_its_two_legs():
    ex = _exchange()
    ex.open_account(0, 1, 10 * XBT)
    ex.open_account(0, 2, XBT)
    # 10,000 contracts at 7,999.5 USD: 10,000 / 7,999.5 XBT = 125,007,812.98... satoshis.
    _trade(ex, 2, 1, 10_000, 15_999)
    value = 10_000 * 2 * 10**8 // 15_999
    assert value == 125_007_812
    long, short = ex.accounts[2].positions[0], ex.accounts[1].positions[0]
    assert (long.size, long.cost) == (10_000, -value)
    assert (short.size, short.cost) == (-10_000, value)
    # Fees on the fill's coin value: the taker pays 0.075% rounded up, the maker earns the
    # 0.025% rebate rounded down.
    assert ex.accounts[2].wallet == XBT - -(-value * 750 // 10**6)
    assert ex.accounts[1].wallet == 10 * XBT + value * 250 // 10**6
    trade = [r for r in ex.log.rows() if r[2] == 5][-1]     # TRADE row: value = V
    assert trade[11] == value
    ex.check_conservation()


def test_a_short_inverse_position_gains_more_from_a_fall_than_it_loses_from_an_equal_rise():
    # Short PnL in coin = contracts x (1/exit - 1/entry) x 1 USD: convex in the price.
    results = {}
    for exit_usd in (6_000, 10_000):
        ex = _exchange()
        ex.open_account(0, 1, 10 * XBT)
        ex.open_account(0, 2, 10 * XBT)
        ex.open_account(0, 3, 10 * XBT)
        _trade(ex, 1, 2, 10_000, P8000)              # 2 goes short 10,000 at 8,000
        before = ex.accounts[2].wallet
        _trade(ex, 2, 3, 10_000, 2 * exit_usd, ts=1)  # 2 buys back from 3 at the exit
        fee = -(-(10_000 * 2 * 10**8 // (2 * exit_usd)) * 750 // 10**6)
        results[exit_usd] = ex.accounts[2].wallet - before + fee
        assert ex.accounts[2].positions[0].size == 0
        ex.check_conservation()
    gain, loss = results[6_000], results[10_000]
    # floor-rounded fill values: 10,000/6,000 - 10,000/8,000 = 0.41666666 XBT gained,
    # 10,000/10,000 - 10,000/8,000 = -0.25 XBT lost.
    assert gain == 166_666_666 - 125_000_000
    assert loss == 100_000_000 - 125_000_000
    assert gain > -loss


def test_inverse_unrealised_pnl_is_contracts_times_the_difference_of_inverse_prices():
    ex = _exchange()
    ex.open_account(0, 1, 10 * XBT)
    ex.open_account(0, 2, XBT)
    _trade(ex, 2, 1, 8_000, P8000)                  # long 8,000 USD at 8,000: 1 XBT
    ex.set_mark(1, 0, 2 * 10_000)                   # mark 10,000
    # long: 8,000 x (1/8,000 - 1/10,000) = 0.2 XBT; the short loses exactly as much.
    assert ex.unrealised(ex.accounts[2].positions[0], 0) == 20_000_000
    assert ex.unrealised(ex.accounts[1].positions[0], 0) == -20_000_000


def test_binance_coin_m_maintenance_margin_of_100_contracts_at_25000_is_0_0016_btc():
    # Reference section 7 example 5: 100 x 100 USD at 25,000 -> 0.4 BTC, level 1, 0.4 %.
    ins = binance_btcusd_perp()
    notional = ins.notional(ins.ticks("25000"), 100)
    assert notional == 40_000_000
    assert maintenance_margin_q(notional, ins.table_q) == 160_000


def test_an_inverse_instrument_refuses_a_waterfall_that_assumes_a_linear_notional():
    with pytest.raises(ValueError, match="not supported for an inverse"):
        bitmex_xbtusd(waterfall="hyperliquid")
    with pytest.raises(ValueError, match="contract_size"):
        Instrument(symbol="X", tick_size="1", lot_size="1", tiers=bitmex_xbtusd().tiers,
                   kind="inverse")


# ------------------------------------------------------------------------------ funding
def _funded(sizes, mark: int = P8000, ins=None) -> Exchange:
    """Accounts 1.. holding the signed ``sizes`` (lots) against maker 900, off the book at
    ``mark`` (no fees), 1 XBT each; ``ins`` defaults to XBTUSD."""
    ex = Exchange([ins or bitmex_xbtusd()], insurance_fund=10 * XBT, adl_ranking="bitmex")
    ex.set_mark(0, 0, mark)
    ex.open_account(0, 900, 10**4 * XBT)
    for a, size in enumerate(sizes, 1):
        ex.open_account(0, a, XBT)
        ex.transfer_position(0, a if size > 0 else 900, 900 if size > 0 else a, 0,
                             abs(size), mark)
    return ex


def _paid(ex: Exchange) -> dict[int, int]:
    """account -> quantums paid at the last settlement (FUNDING_PAID rows; < 0 received)."""
    return {r[5]: r[11] for r in ex.log.rows(EventKind.FUNDING_PAID)}


def test_inverse_funding_payment_is_contracts_over_mark_times_rate_in_satoshis():
    # 10,000 XBTUSD contracts at a mark of 8,000 USD are 1.25 XBT; 0.01 % of it is
    # 12,500 satoshis, exactly: the long pays it, the short receives it, no residue.
    ex = _funded([10_000, -10_000])
    assert ex.settle_funding(1, 0, Fraction(1, 10_000), P8000) == 12_500
    assert _paid(ex) == {1: 12_500, 2: -12_500}
    assert ex.accounts[1].wallet == XBT - 12_500 and ex.accounts[2].wallet == XBT + 12_500
    ex.check_conservation()
    # At 7,999.5 USD and 0.0375 %: 10,000 / 7,999.5 x 3/8,000 XBT = 46,877.93 satoshis;
    # the long pays 46,878 (up), the short receives 46,877 (down), the fund the 1 left.
    ex = _funded([10_000, -10_000], mark=15_999)
    ex.settle_funding(1, 0, Fraction(3, 8_000), 15_999)
    assert _paid(ex) == {1: 46_878, 2: -46_877, INSURANCE_ID: -1}
    ex.check_conservation()


def test_binance_coin_m_funding_is_paid_on_the_coin_value_of_100_usd_contracts():
    # Reference section 7 example 5: 100 BTCUSD_PERP contracts at 25,000 are 0.4 BTC; a
    # -0.01 % rate makes the short pay 4,000 satoshis to the long.
    ins = binance_btcusd_perp()
    mark = ins.ticks("25000")
    ex = _funded([100, -100], mark=mark, ins=ins)
    assert ex.settle_funding(1, 0, Fraction(-1, 10_000), mark) == -4_000
    assert _paid(ex) == {1: -4_000, 2: 4_000}
    ex.check_conservation()


def test_a_long_pays_inverse_funding_when_the_rate_is_positive_and_receives_when_negative():
    for rate, sign in ((Fraction(7, 100_000), 1), (Fraction(-7, 100_000), -1)):
        ex = _funded([3_000, -3_000])
        ex.settle_funding(1, 0, rate, P8000)
        assert sign * _paid(ex)[1] > 0 and sign * _paid(ex)[2] < 0
        assert sign * (XBT - ex.accounts[1].wallet) > 0
        ex.check_conservation()


@settings(max_examples=80, deadline=None)
@given(sizes=st.lists(st.integers(-2_000_000, 2_000_000).filter(bool), min_size=1,
                      max_size=12),
       mark=st.integers(1_000, 200_000),
       rate=st.fractions(Fraction(-3, 1_000), Fraction(3, 1_000)).map(
           lambda r: r.limit_denominator(10**9)))
def test_inverse_funding_payments_sum_to_zero_across_accounts_exactly(sizes, mark, rate):
    ex = _funded(sizes, mark=mark)
    fund = ex.fund.wallet
    ex.settle_funding(1, 0, rate, mark)
    paid = _paid(ex)
    assert sum(paid.values()) == 0              # payments, the fund's residue included
    k = ex.instruments[0].inverse_k
    for a, size in enumerate(sizes, 1):         # each: the ceiling of its exact amount
        exact = Fraction(size * k, mark) * rate
        assert paid.get(a, 0) == -((-exact.numerator) // exact.denominator)
    positions = len([a for a in ex.accounts.values() if a.positions.get(0)
                     and a.positions[0].size])
    assert 0 <= ex.fund.wallet - fund < positions
    ex.check_conservation()


@pytest.mark.parametrize("override, field", [
    (["funding.enabled=true", "funding.rule=hyperliquid"], "funding.rule"),
    (["venue.waterfall=hyperliquid"], "venue.waterfall"),
    (["venue.adl_ranking=hyperliquid"], "venue.adl_ranking"),
])
def test_a_scenario_refuses_an_unsupported_setting_with_an_inverse_instrument(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load("tests/data/gap-drop.toml", ["venue.instrument=bitmex:XBTUSD", *override])


def test_an_inverse_scenario_with_funding_walks_whole_contracts_for_its_impact_prices():
    # The binance rule on XBTUSD: 200 x the first tier's 100x = 20,000 USD = 20,000 lots.
    sc = load("tests/data/gap-drop.toml", ["venue.instrument=bitmex:XBTUSD",
                                           "funding.enabled=true"])
    rule = sc.funding.rule_for(bitmex_xbtusd())
    assert (rule.rule, rule.interval_s, rule.interest_8h, rule.clamp_8h) == \
        ("binance", 28_800, Fraction(1, 10_000), Fraction(5, 10_000))
    assert (rule.impact_lots, rule.impact_notional_q) == (20_000, None)
    perp = sc.funding.rule_for(binance_btcusd_perp())       # 100 USD a contract
    assert perp.impact_lots == 200


def test_a_one_x_inverse_short_is_never_indexed_for_liquidation():
    ex = _exchange()
    ex.open_account(0, 1, 100 * XBT)
    ex.open_account(0, 2, 2 * XBT)                  # 2 XBT behind a 1.25 XBT short
    _trade(ex, 1, 2, 10_000, P8000)
    ex.refresh_index()
    assert (2, 0) not in ex.index.keys
    ex.set_mark(1, 0, 2 * 10**9)                    # 1e9 USD: still not deficient
    assert ex.deficit(ex.accounts[2], 0) <= 0
    assert (2, 0) not in ex.liquidatable(0)


@settings(max_examples=60, deadline=None)
@given(side=st.sampled_from([1, -1]), contracts=st.integers(1, 5_000_000),
       entry=st.integers(2_000, 40_000), margin=st.integers(1, 5 * XBT))
def test_the_inverse_trigger_tick_is_the_boundary_of_the_deficiency_test(side, contracts,
                                                                         entry, margin):
    ex = _exchange(mark=entry)
    ex.open_account(0, 1, 10**6 * XBT)
    ex.open_account(0, 2, margin)
    ex.transfer_position(0, 2 if side > 0 else 1, 1 if side > 0 else 2, 0, contracts, entry)
    ex.refresh_index()
    entry_key = ex.index.keys.get((2, 0))
    acct = ex.accounts[2]
    if entry_key is None:       # never deficient at a positive tick: spot-check far out
        for m in (1, 2, entry, 10 * entry, 10**12):
            ex.set_mark(1, 0, m)
            assert ex.deficit(acct, 0) <= 0
        return
    trig = -entry_key[1][0] if side > 0 else entry_key[1][0]
    inside, outside = (trig, trig + 1) if side > 0 else (trig, trig - 1)
    ex.set_mark(1, 0, inside)
    assert ex.deficit(acct, 0) > 0
    assert (2, 0) in ex.liquidatable(0)
    if outside >= 1:
        ex.set_mark(1, 0, outside)
        assert ex.deficit(acct, 0) <= 0
        assert (2, 0) not in ex.liquidatable(0)


_fill = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3_000_000),
                  st.integers(1_000, 60_000), st.booleans())


@settings(max_examples=80, deadline=None)
@given(fills=st.lists(_fill, min_size=1, max_size=25), mark=st.integers(1_000, 60_000))
def test_random_inverse_fills_conserve_coin_and_positions_exactly(fills, mark):
    ex = _exchange(mark=mark)
    for a in range(1, 7):
        ex.open_account(0, a, 10**4 * XBT)
    for ts, (buyer, seller, qty, price, in_book) in enumerate(fills, 1):
        if buyer == seller:
            continue
        if in_book:             # through the book: fees, partial closes, flips
            ex.submit(ts, seller, 0, -1, qty, price)
            ex.submit(ts, buyer, 0, 1, qty, price, tif=IOC)
            ex.cancel_all(ts, seller)
        else:                   # off the book (takeovers, ADL, seeding)
            ex.transfer_position(ts, buyer, seller, 0, qty, price)
        ex.check_conservation()
    # The price-free identity the check relies on: the exact uPnL of all positions sums to
    # -sum(cost) at any mark, and each rounded one is below its exact value by < 1 satoshi.
    positions = [p for a in ex.accounts.values() for p in a.positions.values() if p.size]
    k = ex.instruments[0].inverse_k
    assert sum(Fraction(-p.size * k, mark) - p.cost for p in positions) == \
        -sum(p.cost for p in positions)
    assert all(0 <= Fraction(-p.size * k, mark) - p.cost - ex.unrealised(p, 0) < 1
               for p in positions)
