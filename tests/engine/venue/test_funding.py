"""Funding: the formula (reference section 1.2, section 5, section 7 examples 7 and 8), the premium
from the book's impact prices, the interval's average, and the payments through the ledger
(``Exchange.settle_funding``)."""
from __future__ import annotations

from fractions import Fraction

import attrs
import pytest

from engine.venue.accounts import INSURANCE_ID
from engine.venue.events import EventKind as K
from engine.venue.funding import (Funding, FundingRule, impact_price, impact_price_inverse,
                                  interval_rate, premium_for_rate, premium_ppb, rate_8h)

BP = Fraction(1, 10_000)
INTEREST, CLAMP = BP, 5 * BP          # 0.01 % and 0.05 % per 8 h


# ----------------------------------------------------------------------------- the formula
def test_funding_clamp_worked_example_premium_1pct_gives_0_95pct_per_8h():
    # Reference section 7 example 8: premium 1 %, interest 0.01 % -> clamp(-0.99 %) = -0.05 %.
    assert rate_8h(Fraction(1, 100), INTEREST, CLAMP) == Fraction(95, 10_000)


def test_hyperliquid_pays_one_eighth_of_the_8h_rate_each_hour():
    f8 = rate_8h(Fraction(1, 100), INTEREST, CLAMP)
    assert interval_rate(f8, 3600, Fraction(32, 100)) == Fraction(95, 10_000) / 8


def test_binance_4h_symbol_divides_the_formula_by_two():
    # Reference section 7 example 7 (PUMPUSDT, 4 h): F = [P + clamp(I - P)] / (8/4).
    f8 = rate_8h(Fraction(3, 1000), INTEREST, CLAMP)
    assert interval_rate(f8, 4 * 3600, Fraction(3, 1000)) == f8 / 2


def test_a_premium_within_the_clamp_of_the_interest_gives_the_interest_rate():
    for p in (Fraction(0), -4 * BP, 6 * BP, INTEREST):
        assert rate_8h(p, INTEREST, CLAMP) == INTEREST
    assert rate_8h(-10 * BP, INTEREST, CLAMP) == -5 * BP      # -0.1 % + 0.05 %


def test_hyperliquid_cap_is_4pct_per_hour_either_way():
    cap8 = Fraction(32, 100)
    assert interval_rate(rate_8h(Fraction(1, 2), INTEREST, CLAMP), 3600, cap8) == Fraction(4, 100)
    assert interval_rate(rate_8h(Fraction(-1, 2), INTEREST, CLAMP), 3600, cap8) == -Fraction(4, 100)
    # Below the cap the rate is untouched: 20 % per 8 h is 2.5 % an hour.
    assert interval_rate(Fraction(20, 100), 3600, cap8) == Fraction(25, 1000)


def test_binance_cap_binds_the_8h_rate_of_the_worked_example():
    # 0.95 % per 8 h on BTCUSDT, capped at 0.75 x the first tier's 0.40 % MMR = 0.30 %.
    f8 = rate_8h(Fraction(1, 100), INTEREST, CLAMP)
    assert interval_rate(f8, 8 * 3600, Fraction(3, 1000)) == Fraction(3, 1000)


def test_premium_for_rate_inverts_the_formula():
    for r in (Fraction(365, 1_000_000), INTEREST, Fraction(-3, 1000), Fraction(2, 10_000)):
        assert rate_8h(premium_for_rate(r, INTEREST, CLAMP), INTEREST, CLAMP) == r


# ----------------------------------------------------------------------------- the premium
class Book:
    """A stand-in order book: ``levels(side)`` from the touch, as ``OrderBook.levels``."""

    def __init__(self, bids=(), asks=()):
        self.sides = {1: sorted(bids, reverse=True), -1: sorted(asks)}

    def levels(self, side):
        return [(p, q, 1) for p, q in self.sides[side]]


def test_impact_price_is_the_average_fill_of_the_impact_notional_walking_the_book():
    # tlq 1: one lot at 100,000 ticks is 100,000 quantums.  250,000 quantums take the first
    # level whole and 150,000 of the second (150,000/100,100 lots).
    book = Book(asks=[(100_000, 1), (100_100, 2), (200_000, 5)])
    lots = 1 + Fraction(150_000, 100_100)
    assert impact_price(book, -1, 250_000, 1) == Fraction(250_000) / lots
    book = Book(bids=[(99_900, 3), (99_000, 1)])
    assert impact_price(book, 1, 99_900, 1) == 99_900          # the touch alone


def test_impact_price_of_a_thin_side_is_its_whole_average_and_of_an_empty_side_none():
    book = Book(bids=[(99_000, 1), (98_000, 1)])
    assert impact_price(book, 1, 10**9, 1) == Fraction(99_000 + 98_000, 2)
    assert impact_price(book, -1, 10**9, 1) is None


def test_inverse_impact_price_is_the_harmonic_average_of_the_impact_lots_walked():
    # 300 contracts: 100 at 10,000 ticks and 200 of the 300 at 12,500.  Their coin value is
    # 100/10,000 + 200/12,500 = 0.026 (per tick unit), so the average fill is 300 / 0.026.
    book = Book(asks=[(10_000, 100), (12_500, 300)], bids=[(9_000, 50)])
    assert impact_price_inverse(book, -1, 300) == Fraction(300) / Fraction(26, 1000)
    assert impact_price_inverse(book, -1, 300) < Fraction(10_000 * 100 + 12_500 * 200, 300)
    assert impact_price_inverse(book, 1, 300) == 9_000          # thin: its whole average
    assert impact_price_inverse(Book(), 1, 300) is None


def test_an_inverse_funding_rule_samples_its_premium_over_whole_lots():
    rule = FundingRule(rule="binance", interval_s=60, first_s=60, sample_s=5,
                       interest_8h=INTEREST, clamp_8h=CLAMP, cap_8h=Fraction(3, 1000),
                       start_rate_8h=INTEREST, impact_lots=10)
    f = Funding(rule, None)                     # an inverse instrument has no tlq
    # Bids of 10 lots at 101,000 (+1 %), asks at 101,100: the impact bid is +1 % over the
    # index, the impact ask above it gives no term.
    assert f.sample(PREMIUM_UP, 100_000) == 10**7
    with pytest.raises(ValueError, match="exactly one"):
        attrs.evolve(rule, impact_notional_q=5)
    with pytest.raises(ValueError, match="exactly one"):
        attrs.evolve(rule, impact_lots=None)


def test_premium_is_positive_above_negative_below_and_zero_inside_the_index():
    assert premium_ppb(100_000, Fraction(100_100), Fraction(100_200)) == 1_000_000   # +0.1 %
    assert premium_ppb(100_000, Fraction(99_700), Fraction(99_800)) == -2_000_000    # -0.2 %
    assert premium_ppb(100_000, Fraction(99_990), Fraction(100_010)) == 0
    assert premium_ppb(100_000, None, Fraction(99_000)) == -10_000_000
    assert premium_ppb(100_000, None, None) == 0
    # Rounded half to even in ppb: 1/(2 x 10^9) of the index rounds to 0, 3/2 ppb to 2.
    assert premium_ppb(2 * 10**9, Fraction(2 * 10**9 + 1), None) == 0
    assert premium_ppb(2 * 10**9, Fraction(2 * 10**9 + 3), None) == 2


def _rule(rule="binance", interval_s=60, first_s=60, sample_s=5, start=INTEREST,
          cap=Fraction(3, 1000), notional=50_000):
    return FundingRule(rule=rule, interval_s=interval_s, first_s=first_s, sample_s=sample_s,
                       interest_8h=INTEREST, clamp_8h=CLAMP, cap_8h=cap, start_rate_8h=start,
                       impact_notional_q=notional)


PREMIUM_UP = Book(bids=[(101_000, 10)], asks=[(101_100, 10)])      # +1 %
FLAT = Book(bids=[(99_990, 10)], asks=[(100_010, 10)])              # 0


def test_binance_average_premium_is_time_weighted_hyperliquid_a_plain_mean():
    for rule, expect in (("binance", Fraction(1 * 0 + 2 * 10**7, 3)),
                         ("hyperliquid", Fraction(0 + 10**7, 2))):
        f = Funding(_rule(rule), 1)
        f.sample(FLAT, 100_000)
        assert f.sample(PREMIUM_UP, 100_000) == 10**7
        assert f.average_premium() == expect / 10**9
        assert f.rate() == interval_rate(rate_8h(expect / 10**9, INTEREST, CLAMP), 60,
                                         Fraction(3, 1000))


def test_the_start_rate_holds_until_the_first_sample_and_fills_the_elapsed_part():
    start = Fraction(365, 1_000_000)            # ~40 % a year (fact 9's claim)
    f = Funding(_rule(first_s=30, start=start), 1)
    assert f.rate() == start * 60 / 28_800      # 6 unobserved samples at the start premium
    f.sample(FLAT, 100_000)                     # the 7th, weighing 7
    p0 = premium_for_rate(start, INTEREST, CLAMP)
    avg = 21 * p0 / 28
    assert f.average_premium() == avg
    assert f.rate() == interval_rate(rate_8h(avg, INTEREST, CLAMP), 60, Fraction(3, 1000))
    # Without an elapsed part the start rate is only the last settled rate.
    g = Funding(_rule(start=start), 1)
    assert g.rate() == start * 60 / 28_800 and g.average_premium() is None


def test_settle_closes_the_interval_and_an_empty_interval_repeats_the_last_rate():
    f = Funding(_rule(), 1)
    f.sample(PREMIUM_UP, 100_000)
    rate = f.rate()
    assert f.settle() == rate and f.last_rate == rate and f.next_ns == 120 * 10**9
    assert f.average_premium() is None and f.rate() == rate
    assert f.settle() == rate


def test_the_schedule_is_the_sample_grid_and_the_funding_instants():
    f = Funding(_rule(interval_s=12, first_s=7, sample_s=5), 1)
    assert f.times(30 * 10**9) == [t * 10**9 for t in (0, 5, 7, 10, 15, 19, 20, 25, 30)]


# ------------------------------------------------------------------------- the payments
def _positions(eng, sizes, isolated=()):
    """Accounts 1.. with the signed ``sizes`` bought from / sold to maker 900 at the mark;
    the ones in ``isolated`` with 5,000 quote of isolated margin."""
    ex = eng.exchange()
    ex.open_account(0, 900, deposit=10**8 * eng.Q)
    for k, size in enumerate(sizes, 1):
        ex.open_account(0, k, deposit=20_000 * eng.Q)
        margin = 5_000 * eng.Q if k in isolated else 0
        buyer, seller = (k, 900) if size > 0 else (900, k)
        ex.transfer_position(0, buyer, seller, 0, abs(size), eng.MARK,
                             isolated_margin=(margin, 0) if size > 0 else (0, margin))
    return ex


def test_funding_payments_sum_to_zero_across_accounts(eng):
    ex = _positions(eng, [7, -3, 11, -13, 1])
    fund = ex.fund.wallet
    ex.settle_funding(10, 0, Fraction(1, 7_000_003), eng.MARK + 17)
    paid = eng.rows(ex, K.FUNDING_PAID)
    assert sum(r.value for r in paid) == 0
    residue = ex.fund.wallet - fund
    assert residue > 0 and [r.value for r in paid if r.account == INSURANCE_ID] == [-residue]
    assert residue < len(paid)                  # less than a quantum per position
    eng.check_all(ex)


def test_longs_pay_shorts_when_the_rate_is_positive_and_receive_when_negative(eng):
    for rate, long_pays in ((Fraction(1, 10_000), True), (Fraction(-1, 10_000), False)):
        ex = _positions(eng, [5, -5])
        before = {a: ex.accounts[a].wallet for a in (1, 2)}
        longs = ex.settle_funding(10, 0, rate, eng.MARK)
        # 5 lots x 100,000 ticks x 1 quantum x 0.01 % = 50 quantums.
        assert longs == (50 if long_pays else -50)
        assert ex.accounts[1].wallet - before[1] == -longs
        assert ex.accounts[2].wallet - before[2] == longs
        eng.check_all(ex)


def test_payers_round_up_and_receivers_round_down(eng):
    ex = _positions(eng, [1, -1])
    # 1 lot x 100,000 x 1/300,000 = 1/3 quantum: the long pays 1, the short receives 0.
    ex.settle_funding(10, 0, Fraction(1, 300_000), eng.MARK)
    paid = {r.account: r.value for r in eng.rows(ex, K.FUNDING_PAID)}
    assert paid[1] == 1 and 2 not in paid       # (maker 900 is flat: it pays nothing)
    assert paid[INSURANCE_ID] == -1
    eng.check_all(ex)


def test_an_isolated_position_pays_from_its_isolated_margin(eng):
    ex = _positions(eng, [10, -10], isolated=(1,))
    acct = ex.accounts[1]
    wallet, margin = acct.wallet, acct.positions[0].margin
    ex.settle_funding(10, 0, Fraction(1, 1000), eng.MARK)      # 10 x 100,000 x 0.1 % = 1,000
    assert acct.wallet == wallet and acct.positions[0].margin == margin - 1_000
    eng.check_all(ex)


def test_a_funding_payment_can_make_an_account_liquidatable(eng):
    ex = eng.exchange()
    ex.open_account(0, 900, deposit=10**8 * eng.Q)
    # 10 lots at 100,000 = 1,000 quote notional, MM 1 % = 10 quote; 10.5 quote of margin.
    ex.open_account(0, 1, deposit=10_500)
    ex.transfer_position(0, 1, 900, 0, 10, eng.MARK)
    assert (1, 0) not in ex.liquidatable(0)
    ex.settle_funding(10, 0, Fraction(1, 1000), eng.MARK)      # pays 1 quote
    assert (1, 0) in ex.liquidatable(0)
    eng.check_all(ex)


def test_the_settlement_row_records_the_rate_price_and_open_interest(eng):
    ex = _positions(eng, [4, -6])
    ex.settle_funding(10, 0, Fraction(-1, 30_000), eng.MARK)
    (row,) = eng.rows(ex, K.FUNDING_SETTLED)
    # Maker 900 holds the other side: short 4, long 6, so the open interest is 4 + 2 lots.
    assert (row.side, row.price, row.qty, row.value) == (-1, eng.MARK, 6, -33_333)
    assert ex.settle_funding(20, 0, Fraction(0), eng.MARK) == 0
    assert eng.rows(ex, K.FUNDING_SETTLED)[-1].side == 0
    # Three positions pay -13, +20, -6 (10/3 a lot, rounded up) and the fund takes the 1 left.
    assert [r.value for r in eng.rows(ex, K.FUNDING_PAID)] == [-13, 20, -6, -1]
    with pytest.raises(ValueError, match="price"):
        ex.settle_funding(30, 0, Fraction(1), 0)
