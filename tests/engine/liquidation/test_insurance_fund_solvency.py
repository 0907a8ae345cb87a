"""The insurance fund's own solvency, one test per rule.

Sources: docs/reference/liquidation-mechanics.md section 1.6 item 9 (the fund takes positions
up to a net notional of "100% the size of the insurance fund", beyond that counterparty
liquidation), 1.7 (ADL is the final step, when the fund cannot accept a position) and 6
(dYdX: fills that would make the fund negative are invalid).  A fund never holds a negative
balance: what its own losses take beyond its assets is bad debt, written off through the
Exchange's ledger door like a trader's (``settlement.clear_fund_shortfall``).

Numbers: the test instrument of ``conftest.py`` (tick 1, lot 0.001, quantum 0.001: one tick x
one lot is one quantum, ``Q`` = 1000 quantums is one quote unit).
"""
from __future__ import annotations

from fractions import Fraction

import pytest

from engine.liquidation.offload import offload
from engine.liquidation.settlement import clear_fund_shortfall
from engine.liquidation.waterfalls import run_liquidations
from engine.scenarios.scenario import load
from engine.venue.accounts import INSURANCE_ID
from engine.venue.collateral import CollateralAsset
from engine.venue.events import EventKind as K

Q = 1000
SEC = 10**9
MAKER = 900
BIDDER = 901


def _exchange(eng, fund_quote, **kw):
    ex = eng.exchange("binance", fund=fund_quote * Q, **kw)
    ex.open_account(0, MAKER, deposit=10**9 * Q)
    ex.open_account(0, BIDDER, deposit=10**9 * Q)
    return ex


def _bankrupt_long(eng, ex, acct=1):
    """An isolated long of 10 lots @ 100,000 with 50 quote of margin, marked to 95,900 with
    an empty book: its bankruptcy price is 95,000 (100,000 - 50,000 / 10), its liquidation
    order finds nothing, and the fund (or ADL) closes it there.  Returns the log index."""
    ex.open_account(0, acct, deposit=50 * Q)
    ex.transfer_position(0, acct, MAKER, 0, 10, 100_000, isolated_margin=(50 * Q, 0))
    ex.set_mark(SEC, 0, 95_900)
    start = len(ex.log)
    run_liquidations(ex, SEC, 0)
    eng.check_all(ex)
    return start


def test_the_fund_never_holds_a_negative_wallet_after_offloading_at_a_loss(eng):
    """A fund of 300 quote allowed 5x its size (as a 25%-of-OI limit on a 5%-of-OI fund)
    takes 10 lots at 95,000 (950 quote) and sells them to the only bid, at 50,000: it
    realises 10 x 45,000 = 450 quote of loss and pays the taker fee on 500 quote.  What
    that takes beyond its wallet is bad debt, one ``BadDebt`` row on the fund, and the
    wallet ends at exactly 0 with money conserved (==)."""
    ex = _exchange(eng, 300, fund_limit_ppm=5_000_000)
    start = _bankrupt_long(eng, ex)
    assert [(r.qty, r.price) for r in eng.rows(ex, K.INSURANCE_TAKEOVER, start)] == \
        [(10, 95_000)]
    wallet = ex.fund.wallet                         # 300 quote + what the account left it
    ex.submit(SEC, BIDDER, 0, 1, 10, price=50_000)
    ex.set_mark(2 * SEC, 0, 50_000)
    start = len(ex.log)
    assert offload(ex, 2 * SEC, 0, fraction_ppm=1_000_000, band_ppm=500_000) == 10
    fee = -((-500_000 * ex.instruments[0].taker_fee_ppm) // 1_000_000)
    shortfall = 450_000 + fee - wallet
    assert shortfall > 0                            # the loss is beyond the fund's cash
    (row,) = eng.rows(ex, K.BAD_DEBT, start)
    assert (row.account, row.value) == (INSURANCE_ID, shortfall)
    assert ex.bad_debt == shortfall
    assert ex.fund.wallet == 0
    eng.check_all(ex)


def test_a_fund_loss_within_its_wallet_is_not_bad_debt(eng):
    """The same takeover sold at 94,000 loses 10 quote and the fee: the fund pays it from
    its cash, and nothing is written off."""
    ex = _exchange(eng, 300, fund_limit_ppm=5_000_000)
    _bankrupt_long(eng, ex)
    wallet = ex.fund.wallet
    ex.submit(SEC, BIDDER, 0, 1, 10, price=94_000)
    assert offload(ex, 2 * SEC, 0, fraction_ppm=1_000_000, band_ppm=500_000) == 10
    fee = -((-940_000 * ex.instruments[0].taker_fee_ppm) // 1_000_000)
    assert ex.fund.wallet == wallet - 10_000 - fee > 0
    assert ex.bad_debt == 0 and not eng.rows(ex, K.BAD_DEBT)
    eng.check_all(ex)


def test_a_fund_debt_its_collateral_backs_is_kept_and_only_the_rest_written_off(eng):
    """The fund holding 2,000 USDE (haircut value 2,000 quote) may owe cash up to that
    value -- as when it seizes collateral and pays its value (``settle``) -- and nothing is
    written off; once the debt passes it, only the excess is bad debt."""
    usde = CollateralAsset("USDE", source="fixed", fixed_price="1", unit="1")
    ex = eng.exchange("binance", fund=0, collateral=[usde])
    ex.refresh_asset_prices()
    ex.open_account(0, 1, deposit=0, collateral={"USDE": 2_000})
    ex.move_collateral(ex.accounts[1], ex.fund, "USDE")
    ex.move(0, ex.fund, ex.accounts[1], 1_500 * Q)            # the fund paid its value
    assert clear_fund_shortfall(ex, 0) == 0 and ex.fund.wallet == -1_500 * Q
    ex.move(1, ex.fund, ex.accounts[1], 700 * Q)
    assert clear_fund_shortfall(ex, 1) == 200 * Q
    assert ex.fund.wallet == -2_000 * Q and ex.bad_debt == 200 * Q
    ex.check_conservation()


def test_the_fund_based_cap_applies_with_an_open_interest_limit_and_hands_the_unit_to_adl(eng):
    """An open-interest limit of 1,000,000 quote would admit the 950-quote unit, but the
    fund has 500 quote and may hold 100% of it (reference 1.6 item 9): the unit goes to
    ADL at the bankruptcy price (the MAKER holds the short) and the fund takes nothing."""
    ex = _exchange(eng, 500)
    ex.fund_limit_notional = 10**6 * Q
    ex.fund_limit_notional_alone = False
    start = _bankrupt_long(eng, ex)
    assert not eng.rows(ex, K.INSURANCE_TAKEOVER, start)
    assert [(r.qty, r.price, r.other) for r in eng.rows(ex, K.AUTO_DELEVERAGED, start)] == \
        [(10, 95_000, MAKER)]
    assert not ex.fund.positions.get(0) or ex.fund.positions[0].size == 0


def test_the_funds_cap_values_the_position_at_the_mark_not_the_bankruptcy_price(eng):
    """A fund of 955 quote; the unit is 950 quote at its bankruptcy price (95,000) but 959
    at the mark (95,900): over 100% of the fund, so it goes to ADL.  Valued at the
    bankruptcy price it was taken over (and an inverse unit no price bankrupts, at
    ``BANKRUPT_NEVER``, was worth ~0 and passed any cap)."""
    ex = _exchange(eng, 955)
    start = _bankrupt_long(eng, ex)
    assert not eng.rows(ex, K.INSURANCE_TAKEOVER, start)
    assert [(r.qty, r.price, r.other) for r in eng.rows(ex, K.AUTO_DELEVERAGED, start)] == \
        [(10, 95_000, MAKER)]
    ex2 = _exchange(eng, 960)                       # 959 at the mark fits in 960
    start = _bankrupt_long(eng, ex2)
    assert [(r.qty, r.price) for r in eng.rows(ex2, K.INSURANCE_TAKEOVER, start)] == \
        [(10, 95_000)]


def test_an_open_interest_limit_that_replaces_the_fund_cap_lets_the_fund_take_the_unit(eng):
    """``fund_limit_oi_mode = "replace"`` (the rule before, kept for the tiered venues): the
    same unit within the open-interest limit is taken over although it is 1.9x the fund."""
    ex = _exchange(eng, 500)
    ex.fund_limit_notional = 10**6 * Q
    ex.fund_limit_notional_alone = True
    start = _bankrupt_long(eng, ex)
    assert [(r.qty, r.price) for r in eng.rows(ex, K.INSURANCE_TAKEOVER, start)] == \
        [(10, 95_000)]
    assert not eng.rows(ex, K.AUTO_DELEVERAGED, start)


@pytest.mark.parametrize("overrides, alone", [
    ([], False),                                         # binance waterfall: min
    (["venue.fund_limit_oi_mode=replace"], True),
    (["venue.waterfall=tiered"], True),                  # tiered: no published cap
    (["venue.waterfall=tiered", "venue.fund_limit_oi_mode=min"], False),
])
def test_the_fund_limit_mode_defaults_to_min_under_the_binance_waterfall_only(
        eng, overrides, alone):
    sim = eng.CheckedSimulation(load("oct-2025-alt", overrides, Fraction(1, 100)), seed=0)
    assert sim.exchange.fund_limit_notional > 0
    assert sim.exchange.fund_limit_notional_alone is alone


def test_a_run_that_drives_the_fund_to_a_loss_never_leaves_its_wallet_negative(eng):
    """oct-2025-alt (1/20) with the open-interest limit alone: the fund takes 5x its size,
    holds it through the fall and sells it back at a loss beyond its cash (before the
    write-off its wallet ended negative and ``bad_debt`` read 0).  After every step --
    margin check, second (offload), funding -- the fund's wallet is >= 0 and money is
    conserved (==); the fund's ``BadDebt`` rows are what its wallet was written up by, and
    ``bad_debt`` is the sum of all ``BadDebt`` rows."""
    lows = []

    class Watched(eng.CheckedSimulation):
        def _risk_step(self, ts):
            super()._risk_step(ts)
            lows.append(self.exchange.fund.wallet)

        def _second_step(self, ts):
            super()._second_step(ts)
            lows.append(self.exchange.fund.wallet)

        def _funding_step(self, ts):
            super()._funding_step(ts)
            self.exchange.check_conservation()
            lows.append(self.exchange.fund.wallet)

    sc = load("oct-2025-alt", ["venue.fund_limit_oi_mode=replace"], Fraction(1, 20))
    sim = Watched(sc, seed=0).run()
    ex = sim.exchange
    assert min(lows) >= 0
    fund_rows = eng.rows(ex, K.BAD_DEBT, account=INSURANCE_ID)
    assert fund_rows and sum(r.value for r in fund_rows) > 0
    assert ex.bad_debt == eng.total(ex, K.BAD_DEBT)
    ex.check_conservation()
