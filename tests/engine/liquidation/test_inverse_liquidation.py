"""The waterfall on inverse positions: fund takeover at the bankruptcy price, ADL by the
BitMEX ranking, the tiered FillOrKill above the base risk limit -- conserved exactly.

XBTUSD units (``bitmex_xbtusd``): a lot is one 1-USD contract, a tick 0.5 USD, money in
satoshis.  The risk limits start at 200 XBT with steps of 100 XBT (tier_tables).
"""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from engine.calculator import inverse_bankruptcy_price
from engine.liquidation.settlement import bankruptcy_tick
from engine.liquidation.waterfalls import run_liquidations
from engine.venue.events import EventKind
from engine.venue.exchange import Exchange
from engine.venue.instruments import bitmex_xbtusd
from orderbook.enums import IOC

XBT = 10**8
P8000 = 16_000
INS = bitmex_xbtusd()


def _exchange(fund: int) -> Exchange:
    ex = Exchange([INS], insurance_fund=fund, adl_ranking="bitmex")
    ex.set_mark(0, 0, P8000)
    ex.open_account(0, 1, 1_000 * XBT)          # the deep counterparty (a maker)
    return ex


def _open(ex: Exchange, account: int, deposit: int, size: int, price: int = P8000) -> None:
    """``account`` opens ``size`` contracts (signed) against account 1 through the book."""
    ex.open_account(0, account, deposit)
    ex.submit(0, 1, 0, -1 if size > 0 else 1, abs(size), price)
    assert ex.submit(0, account, 0, 1 if size > 0 else -1, abs(size), price,
                     tif=IOC).filled_qty == abs(size)


def _rows(ex, kind):
    return [r for r in ex.log.rows() if r[2] == int(kind)]


def test_an_inverse_long_is_taken_over_by_the_fund_at_its_bankruptcy_price():
    ex = _exchange(fund=100 * XBT)
    _open(ex, 2, 2_000_000, 10_000)             # 0.02 XBT behind 1.25 XBT: ~64x
    ex.set_mark(1, 0, 15_829)                   # 7,914.5: below the liquidation price
    acct = ex.accounts[2]
    bp = bankruptcy_tick(ex, acct, 0)
    # The calculator's price of the same equity (the margin balance at the mark as the
    # wallet of a position entered at the mark) rounded up to the tick.
    equity = ex.margin_balance(acct, 0)
    exact = inverse_bankruptcy_price(Fraction(equity, XBT), "long", 10_000, Decimal("7914.5"))
    assert bp == math.ceil(exact * 2)
    assert run_liquidations(ex, 1, 0) == 1
    (takeover,) = _rows(ex, EventKind.INSURANCE_TAKEOVER)
    assert takeover[9] == bp and takeover[10] == 10_000
    assert ex.fund.positions[0].size == 10_000 and acct.positions[0].size == 0
    assert acct.wallet == 0                     # what was left above zero went to the fund
    assert ex.bad_debt == 0
    ex.check_conservation()


def test_an_inverse_bankrupt_long_is_auto_deleveraged_against_the_highest_ranked_short():
    ex = _exchange(fund=0)                      # the fund cannot take anything
    _open(ex, 2, 2_000_000, 10_000)
    # Two shorts, same size: 3 at 10x, 4 at 2x; in profit when the price falls, the
    # more leveraged one ranks first (PnL % x effective leverage, reference section 4).
    _open(ex, 3, 12_500_000, -4_000)
    _open(ex, 4, 62_500_000, -4_000)
    ex.set_mark(1, 0, 15_829)
    assert run_liquidations(ex, 1, 0) == 1
    adl = _rows(ex, EventKind.AUTO_DELEVERAGED)
    assert [r[6] for r in adl][:2] == [3, 4]    # ``other``: the counterparties, in order
    assert sum(r[10] for r in adl) == 10_000
    assert ex.accounts[2].positions[0].size == 0
    assert ex.accounts[3].positions[0].size == 0 and ex.accounts[4].positions[0].size == 0
    ex.check_conservation()


def test_a_bankrupt_inverse_long_ends_at_exactly_zero_with_the_fund_absorbing_the_loss():
    # Past its bankruptcy price the account's margin balance is negative; the fund takes
    # the position at the bankruptcy price (above the mark), so the account ends at zero
    # and nothing is written off (reference section 4: losing traders never owe more
    # than their margin).
    ex = _exchange(fund=100 * XBT)
    _open(ex, 2, 2_000_000, 10_000)
    ex.set_mark(1, 0, 15_700)                   # 7,850: below the bankruptcy price 7,880
    acct = ex.accounts[2]
    assert ex.margin_balance(acct, 0) < 0
    bp = bankruptcy_tick(ex, acct, 0)
    assert bp > 15_700
    run_liquidations(ex, 1, 0)
    assert acct.wallet == 0 and acct.positions[0].size == 0
    assert ex.fund.positions[0].size == 10_000
    assert ex.fund.positions[0].cost == -(10_000 * INS.inverse_k // bp)
    assert ex.bad_debt == 0
    ex.check_conservation()


def test_the_tiered_waterfall_cuts_an_inverse_position_below_the_base_risk_limit_by_fill_or_kill():
    ex = _exchange(fund=1_000 * XBT)
    # 2,000,000 contracts at 8,000: 250 XBT, one step above the 200 XBT base risk limit.
    _open(ex, 2, 750_000_000, 2_000_000)         # 7.5 XBT: ~33x
    ex.set_mark(1, 0, 15_600)                   # 7,800
    for k in range(20):                         # bids to fill the FillOrKill
        ex.submit(1, 1, 0, 1, 200_000, 15_600 - 10 * k)
    notional = INS.notional(15_600, 2_000_000)
    assert notional > 200 * XBT
    assert ex.deficit(ex.accounts[2], 0) > 0
    run_liquidations(ex, 1, 0)
    first = _rows(ex, EventKind.LIQUIDATION_ORDER)[0]
    # Keep r lots with ceil(r k / mark) < 200 XBT: r = (200 XBT - 1) x mark // k.
    keep = (200 * XBT - 1) * 15_600 // INS.inverse_k
    assert first[10] == 2_000_000 - keep
    assert INS.notional(15_600, keep) < 200 * XBT <= INS.notional(15_600, keep + 1)
    filled = _rows(ex, EventKind.LIQUIDATION_FILLED)[0]
    assert filled[10] == first[10]              # the FillOrKill filled in full
    assert INS.notional(15_600, ex.accounts[2].positions[0].size) < 200 * XBT
    ex.check_conservation()


def test_the_adl_shortfall_is_in_the_coin_on_an_inverse_instrument():
    from engine.liquidation.adl import shortfall
    from engine.venue.instruments import BUNDLED_INSTRUMENTS
    xbt = BUNDLED_INSTRUMENTS["bitmex:XBTUSD"]()
    k = xbt.inverse_k
    # a bankrupt long (side +1) at 20,000 ticks with the mark at 16,000: the coin value
    # between the two prices, rounded down term by term
    assert shortfall(xbt, 1, 1_000, 20_000, 16_000) == 1_000 * k // 16_000 - 1_000 * k // 20_000
    assert shortfall(xbt, -1, 1_000, 16_000, 20_000) == 1_000 * k // 16_000 - 1_000 * k // 20_000
    assert shortfall(xbt, 1, 1_000, 16_000, 20_000) == 0       # no loss past the mark
    usdt = BUNDLED_INSTRUMENTS["binance:BTCUSDT"]()
    assert shortfall(usdt, 1, 3, 1_000, 990) == 10 * 3 * usdt.tick_lot_quanta
