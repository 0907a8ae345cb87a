"""Rules of liquidation, one test per rule, named so that the test list reads as the rulebook.

Sources: docs/reference/liquidation-mechanics.md -- section 1.4 (trigger), 1.5 (bankruptcy price),
1.6 (Binance process, clearance fee, fund position limit), 1.7 and 4 (ADL rankings), 2-4
(tiered FOK reduction), 5 (Hyperliquid), 6 (dYdX v4), 7 example 12 (BitMEX fund flow), 8 item 1
and 1.9 (collateral priced off the venue's own thin book).

Numbers: the test instrument of ``conftest.py`` (tick 1, lot 0.001, quantum 0.001, so one
tick x one lot is one quantum and ``Q`` = 1000 quantums is one quote unit; tiers of
``SMALL_TIERS``: [0, 5k) 1%, [5k, 20k) 2%, [20k, 100k) 5%, [100k, ...) 10%, maintenance
amounts 0, 50, 650, 5,650 quote).  Expected figures are worked out by hand in the comments.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.liquidation import adl, state
from engine.liquidation.offload import offload
from engine.liquidation.settlement import bankruptcy_tick, settle_if_negative
from engine.liquidation.waterfalls import DYDX, HL_COOLDOWN_NS, run_liquidations
from engine.venue.accounts import BACKSTOP_ID, INSURANCE_ID
from engine.venue.collateral import CollateralAsset
from engine.venue.events import EventKind as K
from engine.venue.exchange import Exchange
from engine.venue.instruments import Instrument, binance_btcusdt, hyperliquid_btc
from engine.venue.risk import LiquidationIndex
from engine.venue.tiers import TierTable, maintenance_margin_q
from orderbook import Reason
from orderbook.enums import FOK, IOC, MARKET

Q = 1000
MARK = 100_000
SEC = 10**9
# No "explain" phase: it re-runs a failing example many times (slow with an exchange).
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
MAKER = 900          # deep-pocketed counterparty of every seeded position
BIDDER = 901         # owner of extra resting bids


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _exchange(eng, style="binance", fund=10**6, **kw):
    ex = eng.exchange(style, fund=fund * Q, **kw)
    ex.open_account(0, MAKER, deposit=10**9 * Q)
    ex.open_account(0, BIDDER, deposit=10**9 * Q)
    return ex


def _long(ex, acct, qty, deposit, price=MARK, inst=0, isolated=False):
    """Open ``acct`` with ``deposit`` quote and a long of ``qty`` lots bought from MAKER."""
    ex.open_account(0, acct, deposit=deposit)
    ex.transfer_position(0, acct, MAKER, inst, qty, price,
                         isolated_margin=(deposit if isolated else 0, 0))


def _short(ex, acct, qty, deposit, price=MARK, inst=0, isolated=False):
    ex.open_account(0, acct, deposit=deposit)
    ex.transfer_position(0, MAKER, acct, inst, qty, price,
                         isolated_margin=(0, deposit if isolated else 0))


def _liquidate(eng, ex, ts, mark, inst=0):
    ex.set_mark(ts, inst, mark)
    start = len(ex.log)
    run_liquidations(ex, ts, inst)
    eng.check_all(ex)
    return start


# ====================================================================== properties
MMR_PPM = st.integers(1_000, 150_000)


def _table(ppms, name):
    floors = ["0", "5000", "20000", "100000"]
    caps = floors[1:] + [None]
    rows = [(f, c, f"{p}/1000000", max(1, 1_000_000 // p)) for f, c, p in zip(floors, caps, ppms)]
    return TierTable.from_rows(rows, name=name)


@settings(max_examples=300, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(lo=st.lists(MMR_PPM, min_size=4, max_size=4).map(sorted),
       bumps=st.lists(st.integers(0, 100_000), min_size=4, max_size=4),
       deposit=st.integers(0, 50_000), size=st.integers(-3_000, 3_000).filter(bool),
       entry=st.integers(800_000, 1_200_000), isolated=st.booleans(),
       marks=st.lists(st.integers(500_000, 1_500_000), min_size=1, max_size=12))
def test_higher_mmr_never_liquidates_later(eng, lo, bumps, deposit, size, entry, isolated,
                                           marks):
    """Every tier's MMR at least as high => maintenance at least as high at every notional
    (MM = sum of mmr_j x the notional inside tier j, reference 1.3), so the account is
    liquidatable at every mark where the lower-MMR one is: by the deficit and by the index."""
    hi, prev = [], 0
    for p, b in zip(lo, bumps):
        prev = max(prev, min(p + b, 400_000))
        hi.append(prev)
    exs = []
    for ppms, name in ((lo, "lo"), (hi, "hi")):
        ins = binance_btcusdt(tiers=_table(ppms, name))
        ex = Exchange([ins], insurance_fund=0)
        ex.open_account(0, MAKER, deposit=10**9 * ins.quanta_per_unit)
        ex.open_account(0, 1, deposit=deposit * ins.quanta_per_unit)
        buyer, seller = (1, MAKER) if size > 0 else (MAKER, 1)
        margin = deposit * ins.quanta_per_unit if isolated else 0
        ex.transfer_position(0, buyer, seller, 0, abs(size), entry,
                             isolated_margin=(margin, 0) if size > 0 else (0, margin))
        exs.append(ex)
    ex_lo, ex_hi = exs
    tlq = ex_lo.instruments[0].tick_lot_quanta
    for ts, mark in enumerate(marks, 1):
        for ex in exs:
            ex.set_mark(ts, 0, mark)
        notional = abs(size) * mark * tlq
        assert (maintenance_margin_q(notional, ex_hi.instruments[0].table_q)
                >= maintenance_margin_q(notional, ex_lo.instruments[0].table_q))
        d_lo = ex_lo.deficit(ex_lo.accounts[1], 0)
        d_hi = ex_hi.deficit(ex_hi.accounts[1], 0)
        assert d_hi >= d_lo, (mark, d_lo, d_hi)
        for ex, d in ((ex_lo, d_lo), (ex_hi, d_hi)):
            assert ((1, 0) in ex.liquidatable(0)) == (d > 0), (mark, d)
        if d_lo > 0:
            assert d_hi > 0 and (1, 0) in ex_hi.liquidatable(0), f"hi not liquidatable at {mark}"


def test_higher_mmr_liquidates_strictly_earlier_in_a_known_case(eng):
    """The property is not vacuous: long 1 BTC @ 100,000 with 1,000 USDT (binance_btcusdt,
    one tier).  Equity m - 99,000 < MMR x m: below 99,000/0.996 = 99,397.6 at MMR 0.4%,
    below 99,000/0.99 = 100,000 at MMR 1%.  At 99,500 only the 1% account is liquidatable."""
    results = []
    for mmr in ("0.004", "0.01"):
        ins = binance_btcusdt(tiers=TierTable.from_rows([("0", None, mmr, 100)]))
        ex = Exchange([ins])
        ex.open_account(0, MAKER, deposit=10**9 * ins.quanta_per_unit)
        ex.open_account(0, 1, deposit=1000 * ins.quanta_per_unit)
        ex.transfer_position(0, 1, MAKER, 0, 1000, ins.ticks("100000"))
        ex.set_mark(0, 0, ins.ticks("99500"))
        results.append(((1, 0) in ex.liquidatable(0), ex.deficit(ex.accounts[1], 0) > 0))
    assert results == [(False, False), (True, True)]


def _deeper_world(eng, accounts, bids, extra, mark, fund):
    ex = _exchange(eng, "binance", fund=fund)
    for i, (deposit, size, isolated) in enumerate(accounts, 1):
        _long(ex, i, size, deposit * Q, isolated=isolated)
    for off, qty in bids:
        ex.submit(0, MAKER, 0, 1, qty, price=MARK - off)
    for off, qty in extra:
        ex.submit(0, BIDDER, 0, 1, qty, price=MARK - off)
    _liquidate(eng, ex, SEC, mark)
    return ex


@settings(max_examples=400, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(accounts=st.lists(st.tuples(st.integers(50, 5_000), st.integers(1, 800), st.booleans()),
                         min_size=1, max_size=5),
       bids=st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 300)), max_size=8),
       extra=st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 300)), min_size=1,
                      max_size=8),
       mark=st.integers(80_000, 100_000), fund=st.sampled_from([0, 100, 10**6]))
def test_deeper_book_never_produces_more_unfilled_notional(eng, accounts, bids, extra, mark,
                                                           fund):
    """Binance style, one liquidation round: the same accounts and mark move, book B = book
    A plus extra resting bids (of a deep-pocketed bidder).  Every liquidation IOC in B finds
    at least the depth it found in A within its limit, so the fill failures
    (LiquidationUnfilled notional) in B are at most those in A -- account by account."""
    a = _deeper_world(eng, accounts, bids, [], mark, fund)
    b = _deeper_world(eng, accounts, bids, extra, mark, fund)
    assert eng.total(b, K.LIQUIDATION_UNFILLED) <= eng.total(a, K.LIQUIDATION_UNFILLED)
    for i in range(1, len(accounts) + 1):
        assert (eng.total(b, K.LIQUIDATION_UNFILLED, account=i)
                <= eng.total(a, K.LIQUIDATION_UNFILLED, account=i))
    assert len(eng.rows(b, K.LIQUIDATION_ORDER)) == len(eng.rows(a, K.LIQUIDATION_ORDER))


def test_deeper_book_can_fail_more_over_a_path_when_a_partial_fill_restores_compliance(eng):
    """Why the property above is stated per round.  Long 297 lots @ 100,000 with 754 quote;
    marks 98,073 then 80,000; book A empty, book B one stale bid of 133 lots at 100,000.
    A: the IOC fills nothing, 297 lots unfilled at 98,073 (29,127,681 quantums), the
    position is taken over: nothing is left to fail at 80,000.
    B: 133 lots fill at 100,000 (fee 166.25), the rest (164 lots: equity 272.3 >= MM 271.7)
    is margin-compliant, so the liquidation ends (reference 1.6 item 2) with 164 lots
    unfilled (16,083,972) -- and at 80,000 those 164 lots fail again (13,120,000).  Fill
    failures are counted per order, so B's total (29,203,972) exceeds A's."""
    totals = []
    for extra in ([], [(0, 133)]):
        ex = _exchange(eng, "binance", fund=0)
        _long(ex, 1, 297, 754 * Q)
        for off, qty in extra:
            ex.submit(0, BIDDER, 0, 1, qty, price=MARK - off)
        _liquidate(eng, ex, SEC, 98_073)
        _liquidate(eng, ex, 2 * SEC, 80_000)
        totals.append(eng.total(ex, K.LIQUIDATION_UNFILLED))
    assert totals == [29_127_681, 16_083_972 + 13_120_000]


@settings(max_examples=200, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(longs=st.lists(st.tuples(st.integers(10, 3_000), st.integers(1, 50), st.booleans()),
                      min_size=1, max_size=4),
       shorts=st.lists(st.tuples(st.integers(1, 2_000), st.integers(10, 100)),
                       min_size=1, max_size=4),
       thin=st.lists(st.tuples(st.integers(1, 5_000), st.integers(1, 50)), max_size=3),
       below_ppm=st.integers(1, 300_000))
def test_empty_insurance_fund_binance_style_always_reaches_adl_never_negative_balance(
        eng, longs, shorts, thin, below_ppm):
    """insurance_fund = 0, a thin or empty book (bids only below the mark), the mark below
    every long's bankruptcy price: each bankrupt long ends in AutoDeleveraged events for its
    whole size, at its bankruptcy price; no wallet is negative and no bad debt is written.

    MAKER sells to the longs and buys from the short traders; the short traders hold 10% to
    100% margin, so they are never liquidated themselves and are ADL counterparties (with
    MAKER when it is net short)."""
    ex = _exchange(eng, "binance", fund=0)
    for i, (qty, deposit_pct, isolated) in enumerate(longs, 1):
        deposit = qty * MARK * deposit_pct // 100          # 1% to 50% margin
        _long(ex, i, qty, deposit, isolated=isolated)
    for j, (qty, deposit_pct) in enumerate(shorts, 100):
        _short(ex, j, qty, qty * MARK * deposit_pct // 100)
    # The lowest bankruptcy price among the longs (ceil(EP - margin/size)).
    bps = [bankruptcy_tick(ex, ex.accounts[i], 0) for i in range(1, len(longs) + 1)]
    mark = max(1, min(bps) * (1_000_000 - below_ppm) // 1_000_000)
    for off, qty in thin:
        ex.submit(0, BIDDER, 0, 1, qty, price=max(1, mark - off))
    start = _liquidate(eng, ex, SEC, mark)
    for i, (qty, _, _) in enumerate(longs, 1):
        adl_rows = eng.rows(ex, K.AUTO_DELEVERAGED, start, account=i)
        assert sum(r.qty for r in adl_rows) == qty, f"long {i}: ADL'd {adl_rows}"
        assert {r.price for r in adl_rows} == {bps[i - 1]}
        assert not eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=i)
        assert ex.accounts[i].positions[0].size == 0
    for acct in ex.accounts.values():
        assert acct.wallet >= 0, f"account {acct.id}: wallet {acct.wallet}"
    assert ex.bad_debt == 0
    assert not eng.rows(ex, K.BAD_DEBT)


# ============================================================ liquidation, all styles
@pytest.mark.parametrize("style", ["binance", "tiered", "hyperliquid", "dydx"])
def test_liquidation_first_cancels_open_orders_cross_all_isolated_only_its_instrument(eng,
                                                                                       style):
    """Reference 1.6 item 1 and section 8 item 3: open orders are cancelled first -- all of
    a cross account's, only the instrument's for an isolated position."""
    ex = _exchange(eng, style, n_inst=2, marks=(MARK, MARK))
    _long(ex, 1, 10, 50 * Q)                                   # cross, inst 0
    _long(ex, 2, 10, 50 * Q, isolated=True)                    # isolated, inst 0
    ex.deposit(0, 2, 10 * Q)
    for acct in (1, 2):
        for inst in (0, 1):
            eng.post(ex, 0, acct, inst, 1, 50_000, 1)
    _liquidate(eng, ex, SEC, 95_000)
    assert not ex.accounts[1].open_orders
    left = ex.accounts[2].open_orders
    assert [i for i in (0, 1) for o in left if ex.books[i].order(o) is not None] == [1]
    assert eng.rows(ex, K.MARGIN_CALL, account=1) and eng.rows(ex, K.MARGIN_CALL, account=2)


def _bankruptcy_tick_by_fractions(ex, acct, inst):
    """The bankruptcy price as the reference states it, in exact fractions."""
    pos = acct.positions[inst]
    t = ex.instruments[inst].tick_lot_quanta
    mark = ex.marks[inst]
    if pos.isolated:
        equity = Fraction(pos.margin + pos.unrealised(mark, t))
    else:
        equity = Fraction(ex.cross_equity(acct))
        total_mm, own_mm = ex.cross_maintenance(acct), ex.maintenance_of(acct, inst)
        if total_mm and own_mm != total_mm:
            equity = equity * own_mm / total_mm
    bp = mark - equity / (pos.size * t)
    return max(math.ceil(bp) if pos.size > 0 else math.floor(bp), 1)


@settings(max_examples=300, deadline=None, phases=PHASES)
@given(deposit=st.integers(0, 200_000), sizes=st.lists(st.integers(-3_000, 3_000), min_size=2,
                                                      max_size=2),
       entries=st.lists(st.integers(80_000, 120_000), min_size=2, max_size=2),
       marks=st.lists(st.integers(1, 200_000), min_size=2, max_size=2),
       isolated=st.booleans())
def test_bankruptcy_tick_in_integers_equals_the_exact_fraction_formula(eng, deposit, sizes,
                                                                       entries, marks,
                                                                       isolated):
    ex = _exchange(eng, "binance", n_inst=2)
    ex.open_account(0, 1, deposit=deposit * Q)
    for inst, (size, entry) in enumerate(zip(sizes, entries)):
        if size:
            buyer, seller = (1, MAKER) if size > 0 else (MAKER, 1)
            iso = deposit * Q // 2 if isolated and inst == 0 else 0
            ex.transfer_position(0, buyer, seller, inst, abs(size), entry,
                                 isolated_margin=(iso, 0) if size > 0 else (0, iso))
    for inst, mark in enumerate(marks):
        ex.set_mark(SEC, inst, mark)
    acct = ex.accounts[1]
    for inst, size in enumerate(sizes):
        if size:
            assert bankruptcy_tick(ex, acct, inst) == _bankruptcy_tick_by_fractions(ex, acct, inst)


def test_the_liquidation_listing_follows_account_changes_at_an_unchanged_mark(eng):
    """The listing is reused while nothing changes; a deposit, a new position or a caller
    editing the returned list must not leave a stale queue behind."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 10, 50 * Q, isolated=False)
    _long(ex, 2, 10, 50 * Q, isolated=False)
    ex.set_mark(SEC, 0, 95_000)
    for _ in range(3):                              # a fresh listing, then reused ones
        got = ex.liquidatable(0)
        assert got == [(1, 0), (2, 0)]
        got.clear()                                 # the caller's copy, not the cache
    ex.deposit(SEC, 1, 10**6 * Q)                   # account 1 is safe now
    assert ex.liquidatable(0) == [(2, 0)]
    _long(ex, 3, 10, 1 * Q)                         # thinner margin: the deepest now
    assert ex.liquidatable(0) == [(3, 0), (2, 0)]


def test_a_bulk_index_refresh_ends_exactly_as_one_account_at_a_time(eng):
    """Seeding >= _BULK_REINDEX accounts goes into the index as one batch per sorted list;
    the index (lists, keys, complex sets) and the listing equal per-account re-keying."""
    rng = np.random.default_rng(11)
    n = 1_500
    sizes = rng.integers(-40, 41, n)
    rows = [(10_000 + k, int(d) * Q, int(s), int(e), int(d) * Q // 2 if iso else 0)
            for k, (d, s, e, iso) in enumerate(zip(rng.integers(1, 500, n), sizes,
                                                   rng.integers(90_000, 110_000, n),
                                                   rng.random(n) < 0.3))]
    bulk, single = _exchange(eng), _exchange(eng)
    for ex in (bulk, single):
        ex.seed_positions(0, 0, MAKER, rows)
    bulk.refresh_index()                           # one batch
    for account_id in sorted(single.index.dirty):  # one at a time
        single.index.reindex(account_id)
    single.index.dirty.clear()
    bulk_ix, single_ix = bulk.index, single.index
    assert list(bulk_ix.longs[0]) == list(single_ix.longs[0]) and len(bulk_ix.longs[0]) > 100
    assert list(bulk_ix.shorts[0]) == list(single_ix.shorts[0]) and len(bulk_ix.shorts[0]) > 100
    assert bulk_ix.keys == single_ix.keys and bulk_ix.complex == single_ix.complex
    for mark in (80_000, 95_000, 100_000, 105_000, 120_000):
        bulk.set_mark(SEC, 0, mark)
        single.set_mark(SEC, 0, mark)
        assert bulk.liquidatable(0) == single.liquidatable(0)


def test_a_bulk_refresh_of_indexed_accounts_replaces_their_entries(eng):
    """The first batch skips dropping entries (there are none yet); a later batch of
    accounts already indexed drops their old entries first: the index ends as re-keying
    them one at a time does, with no stale or doubled key."""
    rng = np.random.default_rng(12)
    n = 1_500
    rows = [(10_000 + k, int(d) * Q, int(s), int(e), int(d) * Q // 2 if iso else 0)
            for k, (d, s, e, iso) in enumerate(zip(rng.integers(1, 500, n),
                                                   rng.integers(-40, 41, n),
                                                   rng.integers(90_000, 110_000, n),
                                                   rng.random(n) < 0.3))]
    bulk, single = _exchange(eng), _exchange(eng)
    for ex in (bulk, single):
        ex.seed_positions(0, 0, MAKER, rows)
        ex.refresh_index()
        for account_id, *_ in rows[:1_200]:        # >= _BULK_REINDEX dirty at once
            ex.deposit(SEC, account_id, 7 * Q)
    bulk.refresh_index()                           # a second batch
    for account_id in sorted(single.index.dirty):
        single.index.reindex(account_id)
    single.index.dirty.clear()
    bulk_ix, single_ix = bulk.index, single.index
    assert list(bulk_ix.longs[0]) == list(single_ix.longs[0])
    assert list(bulk_ix.shorts[0]) == list(single_ix.shorts[0])
    assert len(bulk_ix.longs[0]) + len(bulk_ix.shorts[0]) == len(bulk_ix.keys) > 1_000
    assert bulk_ix.keys == single_ix.keys


@pytest.mark.parametrize("mark", [1, 97_000, 250_000, 1_000_000])
def test_the_triggers_of_many_units_at_once_are_each_units_trigger(mark, monkeypatch):
    """``LiquidationIndex.triggers`` (numpy lanes where int64 provably holds, the rest one at
    a time) gives exactly ``trigger``'s tick for every unit: longs and shorts, no balance
    and deep ones, a tiered venue (BTCUSDT's table), outliers far beyond int64 in the same
    call, and marks from 1 tick up."""
    ex = Exchange([binance_btcusdt()], insurance_fund=0)
    ex.set_mark(0, 0, mark)
    rng = np.random.default_rng(3)
    n = 4_000
    size = rng.integers(1, 10**rng.integers(1, 6, n)) * rng.choice([-1, 1], n)
    cost = size * rng.integers(30_000, 300_000, n)
    balance = rng.integers(-10**6, 10**9, n) * 10**rng.integers(0, 5, n)
    balance[::5] = 0
    units = list(zip(balance.tolist(), size.tolist(), cost.tolist()))
    units[7] = (10**30, 3 * 10**15, 10**20)                  # beyond int64: alone
    units[8] = (0, -(10**16), -(10**21))
    index = ex.index
    expected = [index.trigger(b, s, c, 0) for b, s, c in units]
    alone = []
    one = LiquidationIndex.trigger
    monkeypatch.setattr(LiquidationIndex, "trigger",
                        lambda self, *a: alone.append(a) or one(self, *a))
    assert index.triggers(0, units) == expected
    assert len(set(expected)) > 1_000 and min(expected) < 0 < max(expected)
    assert 2 <= len(alone) < n // 20             # the outliers alone, the rest together


# ======================================================================= binance
def test_binance_liquidation_order_is_one_ioc_for_the_whole_position_at_the_bankruptcy_price(eng):
    """Isolated long 10 lots @ 100,000 with 50 quote: BP = 100,000 - 50,000/10 = 95,000
    (reference 1.5).  Equity 50,000 + 10(m - 100,000) < MM 0.1 m below m = 95,959.6."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 10, 50 * Q, isolated=True)
    ex.set_mark(SEC, 0, 95_960)
    assert ex.liquidatable(0) == []
    assert bankruptcy_tick(ex, ex.accounts[1], 0) == 95_000
    start = _liquidate(eng, ex, SEC, 95_959)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert (order.price, order.qty, order.side, order.reason) == (95_000, 10, -1, IOC)


def test_binance_unfilled_remainder_is_taken_over_by_the_fund_at_the_bankruptcy_price(eng):
    """As above with a bid of 4 lots at 95,500.  The IOC fills 4 (realised -18,000, fee
    ceil(382,000 x 1.25%) = 4,775), margin left 27,225; 6 lots at mark 95,900 are still
    deficient (equity 2,625 < MM 5,754), so the fund takes them at the bankruptcy price of
    what is left: ceil((600,000 - 27,225) / 6) = 95,463.  The 3 quantums of rounding left
    over go to the fund (reference 1.6 item 3)."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 10, 50 * Q, isolated=True)
    eng.post(ex, 0, BIDDER, 0, 1, 95_500, 4)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, 95_900)
    (fill,) = eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)
    (unfilled,) = eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)
    (takeover,) = eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1)
    assert (fill.qty, fill.price, unfilled.qty) == (4, 95_500, 6)
    assert unfilled.value == 6 * 95_900
    assert (takeover.price, takeover.qty, takeover.other) == (95_463, 6, INSURANCE_ID)
    fund_pos = ex.fund.positions[0]
    assert (fund_pos.size, fund_pos.cost) == (6, 6 * 95_463)
    assert ex.fund.wallet == fund_before + 4_775 + 3
    assert ex.accounts[1].positions[0].size == 0 and ex.accounts[1].wallet == 0
    assert not eng.rows(ex, K.AUTO_DELEVERAGED)


def test_binance_clearance_fee_is_paid_to_the_fund_on_the_liquidated_amount(eng):
    """Reference 1.6 item 8: fee = quantity x trade price x clearance rate (1.25% here),
    rounded up, paid to the insurance fund.  Cross long 20 lots @ 100,000 with 100 quote;
    mark 95,900: equity 18,000 < MM 19,180; bids 12 @ 97,000 and 8 @ 96,990 (both above
    the bankruptcy price 95,000) take the whole IOC."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 20, 100 * Q)
    eng.post(ex, 0, BIDDER, 0, 1, 97_000, 12)
    eng.post(ex, 0, BIDDER, 0, 1, 96_990, 8)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, 95_900)
    fees = eng.rows(ex, K.INSURANCE_RECEIVED, start, account=1)
    expected = [_ceil_div(12 * 97_000 * 12_500, 10**6), _ceil_div(8 * 96_990 * 12_500, 10**6)]
    assert [f.value for f in fees] == expected == [14_550, 9_699]
    assert ex.fund.wallet == fund_before + sum(expected)
    # realised: 12 x -3,000 + 8 x -3,010 = -60,080; wallet 100,000 - 60,080 - 24,249
    assert ex.accounts[1].wallet == 100_000 - 60_080 - 24_249
    assert not eng.rows(ex, K.INSURANCE_TAKEOVER)


def test_binance_clearance_fee_never_exceeds_what_the_account_has_left(eng):
    """The fee is capped at the margin balance left after the fill (never creates a deficit
    to be covered).  Isolated long 10 @ 100,000 with 50 quote, fill 10 @ 95,100: margin left
    50,000 - 49,000 = 1,000 < 1.25% x 951,000 = 11,888 -> fee 1,000, wallet back to 0."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 10, 50 * Q, isolated=True)
    eng.post(ex, 0, BIDDER, 0, 1, 95_100, 10)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, 95_900)
    assert [r.value for r in eng.rows(ex, K.INSURANCE_RECEIVED, start, account=1)] == [1_000]
    assert ex.fund.wallet == fund_before + 1_000
    assert ex.accounts[1].wallet == 0 and ex.accounts[1].positions[0].size == 0


def test_binance_margin_compliant_after_the_ioc_ends_the_liquidation(eng):
    """Reference 1.6 item 2.  Cross long 100 lots @ 100,000, wallet 1,000 quote, one stale
    bid of 50 @ 99,000; mark 90,300: equity 30 < MM 130.6 quote.  The IOC (limit 90,000)
    sells 50 (realised -50, fee 61.875), leaving 50 lots with equity 403.125 >= MM 45.15:
    the liquidation is over -- no takeover, no ADL, the rest of the position stays."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 100, 1_000 * Q)
    eng.post(ex, 0, BIDDER, 0, 1, 99_000, 50)
    start = _liquidate(eng, ex, SEC, 90_300)
    assert eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)[0].qty == 50
    assert ex.accounts[1].positions[0].size == 50
    assert ex.deficit(ex.accounts[1], 0) <= 0
    assert not eng.rows(ex, K.INSURANCE_TAKEOVER) and not eng.rows(ex, K.AUTO_DELEVERAGED)


def test_binance_liquidation_never_leaves_a_negative_wallet(eng):
    """Reference 1.6 item 3: a bankrupt account (negative wallet) is paid back to 0 by the
    fund; the clearance fee is taken only from what is left.  Cross long 20 lots @ 100,000
    with 100 quote (BP 95,000); mark 95,900 (equity 18,000 < MM 19,180).  Bids: 10 @ 96,000
    (above the mark) and 10 @ 95,000 (the bankruptcy price).
    Fill 1: realised -40,000; the fee (12,000) is capped by the margin balance at the MARK
    (19,000), so all of it is taken.  Fill 2 at 95,000 realises -50,000: wallet 100,000 -
    40,000 - 12,000 - 50,000 = -2,000, and the account is flat -- nobody settles it."""
    ex = _exchange(eng, "binance")
    _long(ex, 1, 20, 100 * Q)
    eng.post(ex, 0, BIDDER, 0, 1, 96_000, 10)
    eng.post(ex, 0, BIDDER, 0, 1, 95_000, 10)
    start = _liquidate(eng, ex, SEC, 95_900)
    assert eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)[0].qty == 20
    acct = ex.accounts[1]
    assert acct.positions[0].size == 0
    assert acct.wallet >= 0, f"wallet {acct.wallet} after the liquidation"


@pytest.mark.parametrize("wallet", [4_500, 4_400, 3_000, 100])
def test_bankruptcy_price_of_one_cross_position_stays_within_its_maintenance_of_the_mark(
        eng, wallet):
    """Cross account, two instruments: long 1 lot of inst 0 and 1,015 lots of inst 1, both
    @ 100,000 = the mark, ``wallet`` quote and nothing else.  MM = 1 + (10,150 - 5,650) =
    4,501 quote > wallet: deficient, but solvent (equity = wallet > 0).  Empty books, empty
    fund: inst 0's lot is closed by ADL at its bankruptcy price.

    A solvent account's position is closed between the mark and the mark less that
    position's own maintenance per lot (here 100,000 - 1,000 = 99,000): the account gives up
    at most the maintenance it owed, and gains nothing at the expense of the counterparty.
    dYdX's partial-close rule (reference 6) does exactly this -- the slice gets TNC x
    MM_slice / TMMR of the equity.  Two other allocations fail:
    - the whole equity to this position (the engine before 677ed30): BP = 100,000 - 4,500,000
      -> 1 tick, the counterparty buys at 0.001% of the mark;
    - the equity minus the other positions' maintenance (Binance's TMM1 of the *liquidation*
      price formula, reference 1.5; the engine since 677ed30): with wallet 4,400 the lot's
      balance is 4,400 - 4,500 = -100 quote, BP = 200,000 -- twice the mark -- and with 100
      quote, 4,500,000: the counterparty pays 4,400 quote to a solvent account."""
    ex = _exchange(eng, "binance", fund=0, n_inst=2, marks=(MARK, MARK))
    ex.open_account(0, 1, deposit=wallet * Q)
    ex.transfer_position(0, 1, MAKER, 0, 1, MARK)
    ex.transfer_position(0, 1, MAKER, 1, 1_015, MARK)
    acct = ex.accounts[1]
    assert ex.deficit(acct, 0) == 4_501_000 - wallet * Q > 0 and ex.cross_equity(acct) > 0
    start = _liquidate(eng, ex, SEC, MARK, inst=0)
    closes = (eng.rows(ex, K.AUTO_DELEVERAGED, start, account=1, inst=0)
              + eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1, inst=0))
    assert closes, "inst 0 was not closed"
    assert all(99_000 <= r.price <= MARK for r in closes), [r.price for r in closes]


@settings(max_examples=200, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.tuples(st.integers(-1_500, 1_500).filter(bool),
                       st.integers(-1_500, 1_500).filter(bool)),
       wallet_pct=st.integers(0, 99), style=st.sampled_from(["binance", "tiered"]),
       fund=st.sampled_from([0, 10**6]))
def test_a_solvent_cross_account_is_closed_between_its_maintenance_bound_and_the_mark(
        eng, sizes, wallet_pct, style, fund):
    """Property behind the test above: two cross positions opened at the mark, a wallet of
    0-99% of the total maintenance (deficient, solvent), empty books.  Every takeover or
    ADL of position i happens within MM_i / |size_i| of the mark on the loss side, and never
    beyond the mark on the gain side."""
    ex = _exchange(eng, style, fund=fund, n_inst=2, marks=(MARK, MARK))
    tables = [ins.table_q for ins in ex.instruments]
    mms = [maintenance_margin_q(abs(n) * MARK, tables[i]) for i, n in enumerate(sizes)]
    ex.open_account(0, 1, deposit=sum(mms) * wallet_pct // 100)
    for i, n in enumerate(sizes):
        buyer, seller = (1, MAKER) if n > 0 else (MAKER, 1)
        ex.transfer_position(0, buyer, seller, i, abs(n), MARK)
    start = len(ex.log)
    for i in (0, 1):
        run_liquidations(ex, SEC, i)
        ex.check_conservation()
    closes = (eng.rows(ex, K.AUTO_DELEVERAGED, start, account=1)
              + eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1))
    assert closes
    for r in closes:
        n = sizes[r.inst]
        per_lot = _ceil_div(mms[r.inst], abs(n))
        if n > 0:
            assert MARK - per_lot <= r.price <= MARK, (r, per_lot)
        else:
            assert MARK <= r.price <= MARK + per_lot, (r, per_lot)


@pytest.mark.parametrize("fund_quote, limit_ppm, expect", [
    (10_000, 1_000_000, "takeover"),    # 10 x 95,000 = 950 quote <= 100% of 10,000
    (500, 1_000_000, "adl"),            # 950 > 100% of 500
    (10_000, 90_000, "adl"),            # 950 > 9% of 10,000 = 900
    (10_000, 100_000, "takeover"),      # 950 <= 10% of 10,000
])
def test_binance_fund_position_limit_forces_adl(eng, fund_quote, limit_ppm, expect):
    """Reference 1.6 item 9: the fund takes positions up to a net notional of
    ``fund_limit_ppm`` of its size; beyond that, counterparty liquidation (ADL)."""
    ex = _exchange(eng, "binance", fund=fund_quote, fund_limit_ppm=limit_ppm)
    _long(ex, 1, 10, 50 * Q, isolated=True)
    start = _liquidate(eng, ex, SEC, 95_900)       # empty book: nothing fills
    takeovers = eng.rows(ex, K.INSURANCE_TAKEOVER, start)
    adls = eng.rows(ex, K.AUTO_DELEVERAGED, start)
    if expect == "takeover":
        assert [(r.qty, r.price) for r in takeovers] == [(10, 95_000)] and not adls
    else:
        assert [(r.qty, r.price, r.other) for r in adls] == [(10, 95_000, MAKER)]
        assert not takeovers
        assert ex.accounts[MAKER].positions[0].size == 0


# ======================================================================== tiered
def _tiered_spy(ex, acct_id):
    """Record (lots ordered, tif, position after, notional after at mark) per liquidation
    order sent through ``Exchange.submit``."""
    seen = []
    submit = ex.submit

    def spy(ts, account_id, inst, side, qty, *args, **kw):
        r = submit(ts, account_id, inst, side, qty, *args, **kw)
        if kw.get("liquidation") and account_id == acct_id:
            size = ex.accounts[acct_id].positions[inst].size
            seen.append((qty, kw.get("tif"), size, abs(size) * ex.marks[inst]))
        return r

    ex.submit = spy
    return seen


def test_tiered_each_fok_brings_the_notional_into_the_next_lower_tier(eng):
    """Reference 2-4: while above the lowest tier, a FillOrKill sized to bring the notional
    down to the next lower tier's cap, then a re-check.  Long 1,200 lots @ 100,000 with
    2,000 quote; mark 99,000 (notional 118,800: tier 3; equity 800 < MM 6,230).
    FOK 1: excess over 100,000 = 18,800 -> 190 lots, 1,010 left = 99,990 (tier 2), still
    deficient.  FOK 2: excess over 20,000 = 79,990 -> 808 lots, 202 left = 19,998 (tier 1),
    still deficient; FOK 3 (152 lots, to 5,000) finds no bid at its bankruptcy-price limit
    (99,028, above the mark): the fund takes the 202 lots over."""
    ex = _exchange(eng, "tiered")
    _long(ex, 1, 1_200, 2_000 * Q)
    for k in range(200):
        eng.post(ex, 0, BIDDER, 0, 1, 99_000 - k, 50)
    seen = _tiered_spy(ex, 1)
    start = _liquidate(eng, ex, SEC, 99_000)
    table = ex.instruments[0].table_q
    assert [(q, tif) for q, tif, _, _ in seen] == [(190, FOK), (808, FOK), (152, FOK)]
    assert [size for _, _, size, _ in seen] == [1_010, 202, 202]
    tiers_after = [table.index_of_q(n) for _, _, _, n in seen[:2]]
    assert tiers_after == [2, 1]
    (takeover,) = eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1)
    assert (takeover.qty, takeover.price) == (202, 99_028)
    assert ex.accounts[1].positions[0].size == 0


def test_tiered_fok_sized_to_a_tier_cap_leaves_the_position_in_the_lower_tier(eng):
    """Long 1,200 lots @ 100,000 with 4,600 quote at mark 100,000 (notional 120,000, tier 3,
    MM 6,350 > 4,600).  The excess over the 100,000 cap is exactly 200 lots, but a notional
    of exactly 100,000 belongs to tier 3 (tiers are half-open [floor, cap), engine.venue.tiers),
    so reducing to 1,000 lots does not leave tier 3.  Expected: one FOK that leaves the
    position in tier 2 (201 lots), not a 200-lot FOK followed by a 1-lot FOK."""
    ex = _exchange(eng, "tiered")
    _long(ex, 1, 1_200, 4_600 * Q)
    for k in range(40):
        eng.post(ex, 0, BIDDER, 0, 1, MARK - k, 50)
    seen = _tiered_spy(ex, 1)
    _liquidate(eng, ex, SEC, MARK)
    table = ex.instruments[0].table_q
    assert seen, "no liquidation order"
    first_qty, _, _, first_notional = seen[0]
    assert table.index_of_q(first_notional) == 2, (
        f"after the first FOK ({first_qty} lots) the notional {first_notional} is still in "
        f"tier {table.index_of_q(first_notional)}; orders: {seen}")
    assert len(seen) == 1


def test_tiered_lowest_tier_goes_straight_to_takeover(eng):
    """At the lowest tier no order is sent: cancel orders, then the whole position is taken
    over at the bankruptcy price (reference 2, 4).  Long 10 lots (1,000 quote: tier 0)."""
    ex = _exchange(eng, "tiered")
    _long(ex, 1, 10, 50 * Q, isolated=True)
    eng.post(ex, 0, BIDDER, 0, 1, 95_800, 100)        # liquidity that must not be used
    start = _liquidate(eng, ex, SEC, 95_900)
    assert not eng.rows(ex, K.LIQUIDATION_ORDER, start)
    (takeover,) = eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1)
    assert (takeover.qty, takeover.price) == (10, 95_000)


def test_tiered_unfillable_fok_sends_the_whole_position_to_takeover(eng):
    """A FOK that cannot fill in full trades nothing; the whole position goes to the fund."""
    ex = _exchange(eng, "tiered")
    _long(ex, 1, 1_200, 2_000 * Q)
    eng.post(ex, 0, BIDDER, 0, 1, 99_000, 100)         # less than the 190 lots asked
    start = _liquidate(eng, ex, SEC, 99_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert (order.qty, order.reason) == (190, FOK)
    assert not eng.rows(ex, K.TRADE, start)
    (takeover,) = eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=1)
    assert takeover.qty == 1_200
    assert ex.books[0].level_qty(1, 99_000) == 100


# =================================================================== hyperliquid
HL_BTC = "100000"


def _hl(eng, fund=10**6, **inst_kw):
    ins = hyperliquid_btc(**inst_kw)
    ex = Exchange([ins], insurance_fund=fund * ins.quanta_per_unit,
                  backstop=10**6 * ins.quanta_per_unit)
    ex.set_mark(0, 0, ins.ticks(HL_BTC))
    ex.open_account(0, MAKER, deposit=10**9 * ins.quanta_per_unit)
    ex.open_account(0, BIDDER, deposit=10**9 * ins.quanta_per_unit)
    return ex, ins


def _hl_long(ex, ins, acct, btc: str, usdc: int, price=HL_BTC):
    ex.open_account(0, acct, deposit=usdc * ins.quanta_per_unit)
    ex.transfer_position(0, acct, MAKER, 0, ins.lots(btc), ins.ticks(price))


def test_hyperliquid_position_over_100k_is_liquidated_20_percent_per_order(eng):
    """Reference 5: positions over 100k USDC send 20% per market order.  Long 2 BTC @
    100,000 with 4,000 USDC; mark 99,000: equity 2,000 < MM 2,475 (1.25%) but >= 2/3 MM.
    One order of 0.4 BTC (40,000 lots), a market order limited at the bankruptcy price
    99,000 - 2,000 / 2 = 98,000 (inside the 10% protection, 89,100)."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "2", 4_000)
    for k in range(50):
        ex.submit(0, BIDDER, 0, 1, ins.lots("0.1"), price=99_000 - k)
    start = _liquidate(eng, ex, SEC, 99_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert order.qty == ins.lots("0.4") == 40_000
    assert order.price == 98_000
    assert ex.accounts[1].positions[0].size == ins.lots("1.6")


def test_hyperliquid_position_of_exactly_100k_goes_whole(eng):
    """"Larger than 100k": exactly 100,000 USDC of notional is liquidated in one order."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000, price="101000")   # 1 BTC: notional at mark = 100,000
    for k in range(50):
        ex.submit(0, BIDDER, 0, 1, ins.lots("0.1"), price=100_000 - k)
    start = _liquidate(eng, ex, SEC, 100_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert order.qty == ins.lots("1")


def _hl_partial_then(eng, dt):
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "2", 4_000)
    for k in range(100):
        ex.submit(0, BIDDER, 0, 1, ins.lots("0.1"), price=99_000 - k)
    _liquidate(eng, ex, SEC, 99_000)                     # 20% slice, cooldown starts
    assert ex.accounts[1].positions[0].size == ins.lots("1.6")
    # After the slice: equity ~ 2,000, MM 1,980 (compliant).  Mark 98,900: equity ~1,840
    # < MM ~1,978, >= 2/3 MM: a market liquidation again.
    start = _liquidate(eng, ex, SEC + dt, 98_900)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    return order.qty, ins


def test_hyperliquid_cooldown_after_a_partial_sends_the_whole_position(eng):
    """Reference 5: for 30 s after a partial liquidation, market liquidation orders are for
    the entire position."""
    qty, ins = _hl_partial_then(eng, 10 * SEC)
    assert qty == ins.lots("1.6")


def test_hyperliquid_after_the_cooldown_slices_again(eng):
    qty, ins = _hl_partial_then(eng, HL_COOLDOWN_NS + 1)
    assert qty == ins.lots("1.6") // 5                   # 20% of 1.6 BTC


def test_a_unit_whose_order_found_no_book_is_not_resent_at_the_same_instant(eng):
    """An empty book: the market liquidation order finds nothing.  Checked again at the same
    instant (cascade rounds), the unit is in the same state, so no order is resent; at the
    next instant it is tried again.  Before, every round resent it (276,837 orders for
    ~1,800 positions on flash-drop at scale 0.05)."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)                  # under 100k at the mark: one order
    ex.set_mark(SEC, 0, 99_000)
    for _ in range(5):
        run_liquidations(ex, SEC, 0)
    assert len(eng.rows(ex, K.LIQUIDATION_ORDER, 0, account=1)) == 1
    assert len(eng.rows(ex, K.LIQUIDATION_UNFILLED, 0, account=1)) == 1
    run_liquidations(ex, SEC + 100_000_000, 0)
    assert len(eng.rows(ex, K.LIQUIDATION_ORDER, 0, account=1)) == 2
    ex.check_conservation()


def test_a_hyperliquid_liquidation_order_waits_in_a_queuing_halt_and_fills_at_the_uncross(eng):
    """A halt that queues market orders (LULD's, Xetra's): the market liquidation order
    rests in the auction -- no fill failure, no ADL, not resent while it waits -- and the
    reopening uncross fills it as a liquidation at the auction price (98,000: the order's
    limit is the bankruptcy price, 98,000); the next check settles the unit."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)                  # under 100k at the mark: one order
    ex.halt(SEC, 99, queue_market=True)
    start = _liquidate(eng, ex, SEC, 99_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert order.price == 98_000 and ex.books[0].resting_qty(order.order_id) == order.qty
    for ts in (SEC + 100_000_000, 2 * SEC):
        run_liquidations(ex, ts, 0)
    assert len(eng.rows(ex, K.LIQUIDATION_ORDER, 0, account=1)) == 1
    for kind in (K.LIQUIDATION_UNFILLED, K.AUTO_DELEVERAGED, K.INSURANCE_TAKEOVER):
        assert not eng.rows(ex, kind, start)
    assert ex.accounts[1].positions[0].size == ins.lots("1")
    ex.submit(2 * SEC, BIDDER, 0, 1, ins.lots("1"), price=98_000)
    result = ex.reopen(3 * SEC, 99_000, 99)
    assert (result.price, result.volume) == (98_000, ins.lots("1"))
    (filled,) = eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)
    assert (filled.order_id, filled.price, filled.qty) == (order.order_id, 98_000, order.qty)
    assert ex.accounts[1].positions[0].size == 0
    ex.check_conservation()
    run_liquidations(ex, 3 * SEC, 0)                  # forgets the unit, settles it
    assert not state.of(ex).queued and ex.accounts[1].wallet >= 0
    ex.check_conservation()


def test_a_hyperliquid_liquidation_order_expires_unfilled_after_an_empty_auction(eng):
    """Nothing to trade against in the auction: the queued liquidation order's remainder
    expires at the uncross as a fill failure (``LiquidationUnfilled``), and the unit is
    liquidated again afterwards in continuous trading."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.halt(SEC, 99, queue_market=True)
    start = _liquidate(eng, ex, SEC, 99_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    result = ex.reopen(2 * SEC, 99_000, 99)
    assert result.volume == 0 and [i.order_id for i in result.expired] == [order.order_id]
    (unfilled,) = eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)
    assert (unfilled.order_id, unfilled.qty) == (order.order_id, order.qty)
    assert order.order_id not in ex.books[0] and not ex.queued_liquidations
    run_liquidations(ex, 2 * SEC, 0)
    assert len(eng.rows(ex, K.LIQUIDATION_ORDER, 0, account=1)) == 2
    ex.check_conservation()


def test_a_binance_liquidation_order_is_refused_even_in_a_queuing_halt(eng):
    """Binance's liquidation order is an IOC limit at the bankruptcy price: a halted book
    refuses it whether or not the halt queues market orders -- a fill failure, then the
    fund takes the position over (no liq-pause here)."""
    ins = binance_btcusdt()
    ex = Exchange([ins], insurance_fund=10**6 * ins.quanta_per_unit)
    ex.set_mark(0, 0, ins.ticks("100000"))
    ex.open_account(0, MAKER, deposit=10**9 * ins.quanta_per_unit)
    ex.open_account(0, 1, deposit=1_000 * ins.quanta_per_unit)
    ex.transfer_position(0, 1, MAKER, 0, ins.lots("1"), ins.ticks("100000"))
    ex.halt(SEC, 99, queue_market=True)
    start = _liquidate(eng, ex, SEC, ins.ticks("99200"))
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    (rejected,) = eng.rows(ex, K.ORDER_REJECTED, start, account=1)
    assert rejected.reason == Reason.MATCHING_HALTED
    assert eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)
    assert not state.of(ex).queued and len(ex.books[0]) == 0
    ex.check_conservation()


def test_a_unit_whose_state_changed_is_tried_again_at_the_same_instant(eng):
    """Same instant, but the mark moved (a trade in between): the unit's limit moves with it,
    so it is tried again."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.set_mark(SEC, 0, 99_000)
    run_liquidations(ex, SEC, 0)
    ex.set_mark(SEC, 0, 98_990)
    run_liquidations(ex, SEC, 0)
    assert len(eng.rows(ex, K.LIQUIDATION_ORDER, 0, account=1)) == 2


def test_hyperliquid_backstop_takes_over_below_two_thirds_of_maintenance(eng):
    """Reference 5: equity below 2/3 MM -> the liquidator vault takes the positions and the
    cross margin at the mark; the trader ends with 0 (the MM is not returned).  Long 1 BTC
    @ 100,000 with 2,000 USDC; mark 98,200: equity 200 < 2/3 x 1,227.5."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.submit(0, BIDDER, 0, 1, ins.lots("5"), price=98_100)   # liquidity: must not be used
    backstop_before = ex.backstop.wallet
    start = _liquidate(eng, ex, SEC, 98_200)
    (take,) = eng.rows(ex, K.BACKSTOP_TAKEOVER, start, account=1)
    assert (take.qty, take.price, take.other) == (ins.lots("1"), 98_200, BACKSTOP_ID)
    assert not eng.rows(ex, K.LIQUIDATION_ORDER, start)
    assert ex.accounts[1].wallet == 0 and ex.accounts[1].positions[0].size == 0
    assert ex.backstop.positions[0].size == ins.lots("1")
    assert ex.backstop.wallet == backstop_before + 200 * ins.quanta_per_unit


def test_hyperliquid_backstop_of_an_isolated_position_leaves_the_cross_wallet_and_collateral(eng):
    """Reference 5: "isolated -> that position and its margin".  Account: 5,000 USDC and
    1,000 USDE (fixed at 1) in cross, plus an isolated long 1 BTC @ 100,000 with 2,000 USDC
    of margin; mark 98,200: the isolated equity 200 < 2/3 x 1,227.5, so the backstop takes
    the position and its 200.  The cross wallet (5,000) and the collateral stay."""
    ins = hyperliquid_btc()
    usde = CollateralAsset("USDE", source="fixed", fixed_price="1", unit="1")
    qpu = ins.quanta_per_unit
    ex = Exchange([ins], insurance_fund=10**6 * qpu, backstop=10**6 * qpu, collateral=[usde])
    ex.refresh_asset_prices()
    ex.set_mark(0, 0, 100_000)
    ex.open_account(0, MAKER, deposit=10**9 * qpu)
    ex.open_account(0, 1, deposit=7_000 * qpu, collateral={"USDE": 1_000})
    ex.transfer_position(0, 1, MAKER, 0, ins.lots("1"), 100_000,
                         isolated_margin=(2_000 * qpu, 0))
    backstop_before = ex.backstop.wallet
    start = _liquidate(eng, ex, SEC, 98_200)
    (take,) = eng.rows(ex, K.BACKSTOP_TAKEOVER, start, account=1)
    assert take.qty == ins.lots("1")
    acct = ex.accounts[1]
    assert ex.backstop.wallet == backstop_before + 200 * qpu
    assert (acct.wallet, acct.collateral) == (5_000 * qpu, {"USDE": 1_000})


def test_hyperliquid_backstop_not_used_at_two_thirds_of_maintenance_or_above(eng):
    """Equity 900 >= 2/3 x 1,225 = 816.7: a market order, no backstop (mark 98,000 ->
    equity 0 ... choose: long 1 BTC @ 100,000 with 2,900 USDC at 98,000: equity 900)."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_900)
    ex.submit(0, BIDDER, 0, 1, ins.lots("5"), price=97_990)
    start = _liquidate(eng, ex, SEC, 98_000)
    assert not eng.rows(ex, K.BACKSTOP_TAKEOVER, start)
    assert eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)


def test_hyperliquid_liquidation_order_fills_no_further_than_the_bankruptcy_price(eng):
    """Reference 5: the book step leaves the trader what remains, so its market order stops
    at the bankruptcy price (within the 10% protection).  Long 1 BTC @ 100,000 with 2,000
    USDC; mark 99,000: equity 1,000 < MM 1,237.5, >= 2/3 MM; bankruptcy 98,000.  Bids: 0.5
    BTC at 98,500 and 5 at 97,000 (within 10%, past bankruptcy).  Only the first fills:
    equity 750, nothing paid by the fund, 0.5 BTC left open (before: both filled, the
    account closed at -250 and the fund paid it)."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.submit(0, BIDDER, 0, 1, ins.lots("0.5"), price=98_500)
    ex.submit(0, BIDDER, 0, 1, ins.lots("5"), price=97_000)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, 99_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert order.price == 98_000
    (filled,) = eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)
    assert (filled.price, filled.qty) == (98_500, ins.lots("0.5"))
    acct = ex.accounts[1]
    assert acct.positions[0].size == ins.lots("0.5")
    assert ex.margin_balance(acct, 0) == 750 * ins.quanta_per_unit
    assert ex.fund.wallet == fund_before and not eng.rows(ex, K.INSURANCE_PAID, start)
    assert 1 not in state.of(ex).negative_equity


def test_hyperliquid_what_the_book_left_open_goes_to_the_backstop_under_two_thirds(eng):
    """Reference 5: "below 2/3 of the maintenance margin without successful liquidation
    through the book" -> the vault.  The case above (0.5 BTC left, equity 750); the mark
    falls to 98,000: equity 250 < 2/3 x 612.5, so the vault takes the 0.5 BTC at the mark
    and the 250; the account ends at 0, never negative (before: the 97,000 bid closed it
    at -250 and the vault never saw it)."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.submit(0, BIDDER, 0, 1, ins.lots("0.5"), price=98_500)
    ex.submit(0, BIDDER, 0, 1, ins.lots("5"), price=97_000)
    _liquidate(eng, ex, SEC, 99_000)
    start = _liquidate(eng, ex, 2 * SEC, 98_000)
    (take,) = eng.rows(ex, K.BACKSTOP_TAKEOVER, start, account=1)
    assert (take.qty, take.price) == (ins.lots("0.5"), 98_000)
    assert ex.accounts[1].wallet == 0 and ex.accounts[1].positions[0].size == 0
    assert 1 not in state.of(ex).negative_equity


def test_hyperliquid_negative_account_value_goes_to_adl_not_the_backstop(eng):
    """Reference 5: "If a user's account value ... becomes negative", ADL.  Long 1 BTC @
    100,000 with 2,000 USDC; the mark gaps to 97,000: account value -1,000.  The position
    is closed against the short (MAKER) at the bankruptcy price 98,000 -- no backstop
    takeover although the value is also under 2/3 of maintenance -- and the account is
    counted as having had negative equity."""
    ex, ins = _hl(eng)
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.submit(0, BIDDER, 0, 1, ins.lots("5"), price=96_900)    # not used
    start = _liquidate(eng, ex, SEC, 97_000)
    assert not eng.rows(ex, K.BACKSTOP_TAKEOVER, start)
    assert not eng.rows(ex, K.LIQUIDATION_ORDER, start)
    (adl_row,) = eng.rows(ex, K.AUTO_DELEVERAGED, start, account=1)
    assert (adl_row.other, adl_row.price, adl_row.qty) == (MAKER, 98_000, ins.lots("1"))
    assert ex.accounts[1].positions[0].size == 0 and ex.accounts[1].wallet == 0
    assert state.of(ex).negative_equity == {1}


@pytest.mark.parametrize("fee_field", [{}, {"clearance_fee_ppm": 12_500}],
                         ids=["bundled-instrument", "fee-field-set"])
def test_hyperliquid_style_charges_no_clearance_fee_whatever_the_instrument_field_says(
        eng, fee_field):
    """Reference 5: "no clearance fee".  The ``hyperliquid`` waterfall promises it
    (engine.liquidation.waterfalls) for the bundled instrument and also for one with
    ``waterfall="hyperliquid"`` and the default ``clearance_fee_ppm`` (12,500); the
    ``dydx`` style already passes ``fee_ppm=0``."""
    ex, ins = _hl(eng, **fee_field)
    _hl_long(ex, ins, 1, "2", 4_000)
    for k in range(50):
        ex.submit(0, BIDDER, 0, 1, ins.lots("0.1"), price=99_000 - k)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, 99_000)
    assert eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)
    assert eng.rows(ex, K.INSURANCE_RECEIVED, start) == []
    assert ex.fund.wallet == fund_before


# ========================================================================= dYdX
def _dydx(eng, seed=0, fund=10**6):
    return _exchange(eng, "dydx", fund=fund, seed=seed)


def test_dydx_liquidation_order_is_an_ioc_at_the_fillable_price(eng):
    """Reference 6: FillablePrice = (PNNV - ABR x SMMR x PMMR) / PS, ABR = clamp(BA x (1 -
    TNC/TMMR), 0, 1), rounded up for a sell.  Long 2,000 lots @ 105,000 with 20,000 quote at
    oracle 100,000: TNC = 20,000 - 10,000 = 10,000, TMMR = PMMR = 20,000 - 5,650 = 14,350;
    ABR = 4,350/14,350; spread = ABR x 1.5 x 14,350 = 6,525 quote over 2 BTC ->
    (200,000 - 6,525)/2 = 96,737.5 -> 96,738."""
    ex = _dydx(eng)
    _long(ex, 1, 2_000, 20_000 * Q, price=105_000)
    acct = ex.accounts[1]
    ex.set_mark(SEC, 0, MARK)
    tnc, tmmr = ex.cross_equity(acct), ex.cross_maintenance(acct)
    assert (tnc, tmmr) == (10_000 * Q, 14_350 * Q)
    abr = min(max(1 - Fraction(tnc, tmmr), 0), 1)
    exact = (Fraction(2_000 * MARK) - abr * Fraction(3, 2) * tmmr) / 2_000
    assert exact == Fraction(193_475, 2)
    start = _liquidate(eng, ex, SEC, MARK)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert (order.price, order.reason) == (96_738, IOC) == (-((-exact.numerator)
                                                              // exact.denominator), IOC)


def test_dydx_takes_at_most_10_percent_of_a_position_per_block(eng):
    """max_position_portion_liquidated 10%: long 2,000 lots @ 101,000 with 12,000 quote;
    oracle 100,000: TNC 10,000 < TMMR 14,350; notional 200,000 quote -> 200 lots (20,000
    quote, under the 100,000 per-block cap)."""
    ex = _dydx(eng)
    _long(ex, 1, 2_000, 12_000 * Q, price=101_000)
    for k in range(100):
        eng.post(ex, 0, BIDDER, 0, 1, MARK - k, 100)
    start = _liquidate(eng, ex, SEC, MARK)
    assert [r.qty for r in eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)] == [200]
    assert ex.accounts[1].positions[0].size == 1_800


def test_dydx_liquidates_at_most_100k_quote_per_account_per_block(eng):
    """max_notional_liquidated $100,000 per subaccount per block: long 20,000 lots (2M
    quote) @ 110,000 with 300,000 quote; oracle 100,000: TNC 100,000 < TMMR 194,350 and
    solvent (so no deleveraging).  10% would be 2,000 lots (200k), capped at 1,000 lots
    (100k).  A second check in the same block sends nothing (margin call only); the next
    block sends 1,000 more (TNC ~100,000 < TMMR 184,350: still deficient)."""
    ex = _dydx(eng)
    _long(ex, 1, 20_000, 300_000 * Q, price=110_000)
    for k in range(100):
        eng.post(ex, 0, BIDDER, 0, 1, MARK - k, 1_000)
    s1 = _liquidate(eng, ex, SEC, MARK)
    s2 = _liquidate(eng, ex, SEC + 5, MARK)
    s3 = _liquidate(eng, ex, 2 * SEC, MARK)
    orders = [[r.qty for r in eng.rows(ex, K.LIQUIDATION_ORDER, a, b, account=1)]
              for a, b in ((s1, s2), (s2, s3), (s3, None))]
    assert orders == [[1_000], [], [1_000]]
    assert len(eng.rows(ex, K.MARGIN_CALL, s2, s3, account=1)) == 1    # checked, not sized
    assert ex.accounts[1].positions[0].size == 18_000


@pytest.mark.parametrize("lots, sent", [(10, 10), (11, 1)])
def test_dydx_positions_of_at_most_1000_quote_go_whole(eng, lots, sent):
    """min_position_notional_liquidated $1,000: a position of exactly 1,000 quote (10 lots
    at 100,000) is closed in one order; 1,100 quote is over it and gets the 10% portion
    (1 lot).  Isolated, 9 quote of margin: deficient at 100,000 (MM 10 or 11 quote)."""
    ex = _dydx(eng)
    _long(ex, 1, lots, 9 * Q, isolated=True)
    eng.post(ex, 0, BIDDER, 0, 1, MARK, 100)
    start = _liquidate(eng, ex, SEC, MARK)
    assert [r.qty for r in eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)] == [sent]


def _solvent_deficient_crowd(eng, n):
    """``n`` isolated longs of 5 lots @ 100,000 with 10 quote: at 98,500 each has equity
    2,500 >= 0 but MM 4,925: deficient, solvent; with no bids nothing fills and nobody is
    deleveraged, so they stay deficient block after block."""
    ex = _dydx(eng, seed=1)
    for i in range(1, n + 1):
        _long(ex, i, 5, 10 * Q, isolated=True)
    return ex


def test_dydx_at_most_50_liquidation_attempts_per_block(eng):
    ex = _solvent_deficient_crowd(eng, 60)
    s1 = _liquidate(eng, ex, SEC, 98_500)
    s2 = _liquidate(eng, ex, SEC + 5, 98_500)
    assert len(eng.rows(ex, K.MARGIN_CALL, s1)) == DYDX["max_attempts"] == 50
    assert eng.rows(ex, K.MARGIN_CALL, s2) == []
    s3 = _liquidate(eng, ex, 2 * SEC, 98_500)
    assert len(eng.rows(ex, K.MARGIN_CALL, s3)) == 50
    assert not eng.rows(ex, K.AUTO_DELEVERAGED)


def test_dydx_attempt_cap_does_not_starve_the_same_accounts_block_after_block(eng):
    """Reference 6: each block the liquidation list is processed from a pseudo-random
    offset, so with 60 deficient accounts and a cap of 50, every account is attempted
    within a few blocks.  Here: 6 blocks, seeded Generator; every account must have had a
    margin call."""
    ex = _solvent_deficient_crowd(eng, 60)
    for block in range(1, 7):
        _liquidate(eng, ex, block * SEC, 98_500)
    attempted = {r.account for r in eng.rows(ex, K.MARGIN_CALL)}
    never = sorted(set(range(1, 61)) - attempted)
    assert never == [], f"never attempted in 6 blocks: {never}"


def test_dydx_zero_fill_with_negative_equity_deleverages_the_whole_position(eng):
    """Reference 6: an order that fills nothing on a subaccount with TNC < 0 sends the
    entire position to deleveraging at its bankruptcy price (not the insurance fund).
    Isolated long 5 lots @ 100,000 with 10 quote; oracle 97,000: TNC = -5,000.
    BP = 100,000 - 10,000/5 = 98,000."""
    ex = _dydx(eng)
    _long(ex, 1, 5, 10 * Q, isolated=True)
    _short(ex, 2, 5, 1_000 * Q)
    start = _liquidate(eng, ex, SEC, 97_000)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)[0].qty == 5
    adls = eng.rows(ex, K.AUTO_DELEVERAGED, start, account=1)
    assert sum(r.qty for r in adls) == 5 and {r.price for r in adls} == {98_000}
    assert not eng.rows(ex, K.INSURANCE_TAKEOVER)
    assert ex.accounts[1].positions[0].size == 0


def test_dydx_zero_fill_with_non_negative_equity_waits_for_the_next_block(eng):
    ex = _dydx(eng)
    _long(ex, 1, 5, 10 * Q, isolated=True)
    start = _liquidate(eng, ex, SEC, 98_500)
    assert eng.rows(ex, K.LIQUIDATION_UNFILLED, start, account=1)[0].qty == 5
    assert not eng.rows(ex, K.AUTO_DELEVERAGED) and not eng.rows(ex, K.INSURANCE_TAKEOVER)
    assert ex.accounts[1].positions[0].size == 5


@pytest.mark.parametrize("margin, oracle, bid, fee", [
    # Isolated long 10 @ 100,000 with 100 quote: BP 90,000; oracle 90,900: equity 9,000 <
    # MM 9,090.  Fill 10 @ 95,000 (a stale bid): delta = 950,000 - 900,000 = 50,000 >
    # 1.5% x 950,000 = 14,250 -> the fee is the cap; the trader keeps 35,750.
    (100, 90_900, 95_000, 14_250),
    # With 60 quote: BP 94,000; oracle 94,900: equity 9,000 < MM 9,490.  Fill @ 94,950:
    # delta = 949,500 - 940,000 = 9,500 < cap 14,243 -> the whole surplus; trader left 0.
    (60, 94_900, 94_950, 9_500),
])
def test_dydx_insurance_fee_is_the_surplus_over_bankruptcy_capped_at_1_5_percent(
        eng, margin, oracle, bid, fee):
    """Reference 6: per fill, delta = quote received - bankruptcy value; if > 0 the user
    pays min(delta, 1.5% x quote) to the insurance fund."""
    ex = _dydx(eng)
    _long(ex, 1, 10, margin * Q, isolated=True)
    eng.post(ex, 0, BIDDER, 0, 1, bid, 10)
    fund_before = ex.fund.wallet
    start = _liquidate(eng, ex, SEC, oracle)
    assert eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)[0].qty == 10
    assert [r.value for r in eng.rows(ex, K.INSURANCE_RECEIVED, start, account=1)] == [fee]
    assert ex.fund.wallet == fund_before + fee
    assert ex.accounts[1].wallet == margin * Q + 10 * (bid - 100_000) - fee


# =========================================================================== ADL
def _adl_world(eng, ranking, seed=None):
    """Bankrupt long L = 1; shorts (hand-computed scores in the test below):
    S1 = 11: 10 lots @ 110,000, wallet 100 quote  (profit 100, MM 10, equity 200)
    S2 = 12: 50 lots @ 101,000, wallet 60 quote   (profit 50, notional 5,000: tier 1,
                                                   MM 100 - 50 = 50, equity 110)
    S3 = 13: 5 lots @ 90,000, wallet 100 quote    (loss 50, MM 5, equity 50)
    L bought all 65 lots from them.  Mark 100,000."""
    ex = eng.exchange("binance", fund=0, ranking=ranking, seed=seed)
    ex.open_account(0, 1, deposit=10 * Q)
    for acct, qty, price, wallet in ((11, 10, 110_000, 100), (12, 50, 101_000, 60),
                                    (13, 5, 90_000, 100)):
        ex.open_account(0, acct, deposit=wallet * Q)
        ex.transfer_position(0, 1, acct, 0, qty, price)
    return ex


def _queue(ex, ts=0, inst=0, bankrupt_side=1):
    """The deleveraging order against a bankrupt long (holders of the short side)."""
    q = adl.queue(ex, ts, inst, bankrupt_side)
    return q.ranked[q.cursor:]


@pytest.mark.parametrize("ranking, expected", [
    # Binance LeveragePnl = max(0,uPnL)/max(1,wallet) x MM/(wallet+uPnL):
    #   S1 1 x 10/200 = 0.05;  S2 (50/60) x (50/110) = 0.379;  S3 0.
    ("binance", [12, 11, 13]),
    # BitMEX PnL% x eff. leverage (PnL% / eff. leverage when < 0):
    #   S1 (100/1,100) x (1,000/200) = 5/11 = 0.4545;  S2 (50/5,050) x (5,000/110) = 0.4500;
    #   S3 (-50/450) / (500/50) = -0.0111.
    ("bitmex", [11, 12, 13]),
    # Hyperliquid (notional/account value) x max(uPnL, 0)/entry notional, floors 1e-8:
    #   S1 5 x (100/1,100) = 0.4545;  S2 45.45 x (50/5,050) = 0.4500;  S3 10 x 1e-8.
    #   (The docs' side-blind (mark/entry) x leverage put the losing S3 before S1.)
    ("hyperliquid", [11, 12, 13]),
])
def test_adl_queue_order_follows_the_ranking(eng, ranking, expected):
    ex = _adl_world(eng, ranking)
    assert _queue(ex) == expected


def test_adl_queue_dydx_is_account_order_from_a_pseudo_random_start(eng):
    """Reference 6: no ranking; counterparties from a pseudo-random start of the seeded
    Generator, in account-id order from there."""
    for seed in range(6):
        start = int(np.random.default_rng(seed).integers(3))
        expected = ([11, 12, 13] * 2)[start:start + 3]
        ex = _adl_world(eng, "dydx", seed=seed)
        assert _queue(ex) == expected, seed


def test_adl_queue_puts_venue_accounts_after_every_trader(eng):
    ex = _adl_world(eng, "binance")
    ex.transfer_position(0, 1, INSURANCE_ID, 0, 3, MARK)     # the fund is short 3 too
    assert _queue(ex) == [12, 11, 13, INSURANCE_ID]


def test_adl_walks_the_queue_at_the_bankruptcy_price_and_cancels_counterparty_orders(eng):
    """Reference 1.7: closed at the bankruptcy price, no fee, the deleveraged trader's open
    orders cancelled.  Deleverage 55 of L's lots at 99,000: 50 from S2, then 5 from S1."""
    ex = _adl_world(eng, "binance")
    eng.post(ex, 0, 12, 0, -1, 105_000, 7)
    fees = ex.fee_income
    start = len(ex.log)
    assert adl.deleverage(ex, SEC, 1, 0, 55, 99_000) == 55
    rows = eng.rows(ex, K.AUTO_DELEVERAGED, start)
    assert [(r.other, r.qty, r.price, r.account) for r in rows] == [(12, 50, 99_000, 1),
                                                                    (11, 5, 99_000, 1)]
    assert ex.accounts[12].positions[0].size == 0 and not ex.accounts[12].open_orders
    assert ex.accounts[11].positions[0].size == -5
    assert ex.fee_income == fees
    ex.check_conservation()


# ==================================================================== collateral
def _collateral_world(eng, source):
    """Perp inst 0 (mark 100,000, never moves); inst 1 = a thin USDE/USDT book (tick 0.001,
    lot 1 USDE).  Account 1: no quote, 2,000 USDE (10% haircut), long 400 lots @ 100,000:
    notional 40,000 (tier 2), MM = 2,000 - 650 = 1,350 quote; collateral 1,800: compliant."""
    perp = eng.instrument("binance", symbol="PERP")
    usde_book = Instrument(symbol="USDEUSDT", tick_size="0.001", lot_size="1",
                           quote_quantum="0.001", tiers=eng.ONE_TIER)
    kw = dict(book_inst=1) if source.startswith("book") else dict(fixed_price="1")
    usde = CollateralAsset("USDE", source=source, unit="1", haircut_ppm=100_000, **kw)
    ex = Exchange([perp, usde_book], insurance_fund=10**6 * Q, collateral=[usde])
    ex.set_mark(0, 0, MARK)
    ex.set_mark(0, 1, 1_000)
    ex.open_account(0, MAKER, deposit=10**9 * Q)
    ex.open_account(0, BIDDER, deposit=10**9 * Q)
    ex.open_account(0, 2, deposit=10**6 * Q)
    eng.post(ex, 0, BIDDER, 1, 1, 999, 100)       # USDE bid 0.999
    eng.post(ex, 0, BIDDER, 1, 1, 300, 10_000)    # a stale bid at 0.300
    eng.post(ex, 0, BIDDER, 1, -1, 1_001, 100)    # USDE ask 1.001
    ex.refresh_asset_prices()
    ex.open_account(0, 1, collateral={"USDE": 2_000})
    ex.transfer_position(0, 1, MAKER, 0, 400, MARK)
    for k in range(10):
        eng.post(ex, 0, BIDDER, 0, 1, MARK - 10 - k, 100)
    assert ex.deficit(ex.accounts[1], 0) == 1_350_000 - 1_800_000
    return ex


@pytest.mark.parametrize("source, liquidated", [("book-mid", True), ("fixed", False)])
def test_collateral_priced_off_a_thin_book_liquidates_a_flat_pnl_position(eng, source,
                                                                          liquidated):
    """Reference 1.9 and section 9 (10 Oct 2025, USDe / wBETH / BNSOL): someone dumps 100
    USDE into the thin book; the bid falls to 0.300 and the mid to 0.6505.  Priced off the
    book mid, the collateral is worth 2,000 x 0.6505 x 0.9 = 1,170.9 < MM 1,350: the perp
    position -- flat PnL, its mark never moved -- is liquidated.  Priced at redemption value
    ("fixed" = 1), the same account is untouched."""
    ex = _collateral_world(eng, source)
    ex.submit(SEC, 2, 1, -1, 100, price=500, tif=IOC)      # the dump
    changed = ex.refresh_asset_prices()
    acct = ex.accounts[1]
    assert acct.positions[0].unrealised(ex.marks[0], 1) == 0
    if liquidated:
        assert changed == ["USDE"] and ex.asset_prices["USDE"] == Fraction(6505, 10_000)
        assert ex.collateral_value(acct) == 1_170_900
    else:
        assert changed == [] and ex.collateral_value(acct) == 1_800_000
    assert ((1, 0) in ex.liquidatable(0)) is liquidated
    start = len(ex.log)
    run_liquidations(ex, 2 * SEC, 0)
    ex.check_conservation()
    assert bool(eng.rows(ex, K.MARGIN_CALL, start, account=1)) is liquidated
    assert bool(eng.rows(ex, K.LIQUIDATION_FILLED, start, account=1)) is liquidated
    assert acct.positions[0].size == (0 if liquidated else 400)


# ==================================================================== BitMEX fund
def test_bitmex_insurance_fund_flow_reference_example_12(eng):
    """Reference 7 example 12: long 1 contract @ 100.00, liquidation 99.50, bankruptcy
    99.00; the engine's sell at 99.00 fills at 99.25 -> +0.25 to the fund.  The next,
    identical trader's order at 98.75 fills at 98.75 -> the fund pays 0.25, no ADL.

    Parameters making it exact: tick 0.01, lot 1 contract (linear, 1 unit), quantum 0.01
    (one tick x one lot = one quantum = 0.01); isolated margin 1.00; one tier with
    MMR 1/199, so MM(99.50) = 0.50 = equity(99.50): deficient strictly below 99.50; no fees.
    BitMEX (reference 4): at the lowest tier the engine takes the position over and sells it
    with a limit order at the bankruptcy price.  Here: ``tiered`` style takeover by the fund
    at 99.00, then ``offload`` of the whole position with a band that puts its
    limit at 99.00 (the first trader) or 98.75 (the second): from the mark 99.49, a sell's
    limit is rounded up, toward the mark.

    Not reproducible: the example's fund ending at exactly 0.  The engine's fund takes over
    only while its balance is positive (reference 1.6 item 9 limit), so it must start with
    some balance F; the example is reproduced as F -> F + 0.25 -> F."""
    ins = Instrument(symbol="XBT-LIN", tick_size="0.01", lot_size="1", quote_quantum="0.01",
                     tiers=TierTable.from_rows([("0", None, "1/199", 199)]), maker_fee_ppm=0,
                     taker_fee_ppm=0, clearance_fee_ppm=0, waterfall="tiered")
    fund0 = 1_000_00
    ex = Exchange([ins], insurance_fund=fund0)
    ex.set_mark(0, 0, 10_000)
    ex.open_account(0, MAKER, deposit=10**9)
    ex.open_account(0, BIDDER, deposit=10**9)
    ts = 0
    for trader, limit, fill_at, band_ppm, delta in ((1, 9_900, 9_925, 4_926, +25),
                                                    (2, 9_875, 9_875, 7_438, -25)):
        ts += SEC
        ex.set_mark(ts, 0, 10_000)
        ex.open_account(ts, trader, deposit=100)                   # 1.00
        ex.transfer_position(ts, trader, MAKER, 0, 1, 10_000, isolated_margin=(100, 0))
        acct = ex.accounts[trader]
        ex.set_mark(ts, 0, 9_950)
        assert ex.deficit(acct, 0) == 0 and ex.liquidatable(0) == []    # 99.50: not yet
        assert bankruptcy_tick(ex, acct, 0) == 9_900
        fund_before = ex.fund.wallet
        start = _liquidate(eng, ex, ts, 9_949)                      # 99.49
        (take,) = eng.rows(ex, K.INSURANCE_TAKEOVER, start, account=trader)
        assert (take.price, take.qty) == (9_900, 1)
        assert ex.fund.wallet == fund_before          # closed at 99.00: nothing left over
        assert acct.wallet == 0 and acct.positions[0].size == 0
        eng.post(ex, ts, BIDDER, 0, 1, fill_at, 1)
        assert offload(ex, ts, 0, fraction_ppm=1_000_000, band_ppm=band_ppm) == 1
        (offer,) = eng.rows(ex, K.FUND_OFFLOAD_ORDER, start)
        assert offer.price == limit
        trades = eng.rows(ex, K.TRADE, start, account=INSURANCE_ID)
        assert [(t.price, t.qty) for t in trades] == [(fill_at, 1)]
        assert ex.fund.positions[0].size == 0
        assert ex.fund.wallet == fund_before + delta
        assert not eng.rows(ex, K.AUTO_DELEVERAGED) and ex.bad_debt == 0
        eng.check_all(ex)


@pytest.mark.parametrize("mark", [10_001, 9_949, 100_003, 1])
@pytest.mark.parametrize("band_ppm", [10_000, 100_000, 4_926, 999_999])
def test_a_protection_limit_never_lets_an_order_trade_beyond_its_band(mark, band_ppm):
    from fractions import Fraction
    from engine.venue.rounding import protection_limit
    band = Fraction(band_ppm, 1_000_000)
    buy = protection_limit(mark, 1, Fraction(band_ppm, 1_000_000))
    sell = protection_limit(mark, -1, Fraction(band_ppm, 1_000_000))
    assert buy <= mark * (1 + band) < buy + 1                  # the last tick within the band
    assert sell >= 1 and (sell >= mark * (1 - band) > sell - 1 or sell == 1)


def _venue_account_long_10(eng, style, holder):
    """An exchange at mark 100.01 where the venue account ``holder`` (the fund or the
    backstop vault) is long 10 lots at the mark, with a maker and a bidder funded."""
    ex = eng.exchange(style, fund=10**6 * eng.Q, marks=(10_001,))
    ex.open_account(0, MAKER, deposit=10**9 * eng.Q)
    ex.open_account(0, BIDDER, deposit=10**9 * eng.Q)
    ex.transfer_position(0, holder, MAKER, 0, 10, 10_001)
    return ex


def test_the_fund_offload_never_sells_beyond_its_band_from_the_mark(eng):
    """mark 100.01, band 1%: the edge is 99.0099; a bid at 99.00 is beyond it."""
    ex = _venue_account_long_10(eng, "binance", INSURANCE_ID)
    ex.submit(0, BIDDER, 0, 1, 10, price=9_900)
    start = len(ex.log)
    assert offload(ex, 1, 0, fraction_ppm=1_000_000, band_ppm=10_000) == 0
    (offer,) = eng.rows(ex, K.FUND_OFFLOAD_ORDER, start)
    assert offer.price == 9_901
    ex.submit(1, BIDDER, 0, 1, 10, price=9_901)
    assert offload(ex, 2, 0, fraction_ppm=1_000_000, band_ppm=10_000) == 10
    eng.check_all(ex)


@pytest.mark.parametrize("spec", ["price-band", "liq-pause+price-band"])
def test_the_fund_offload_prices_inside_the_venues_price_band_instead_of_being_refused(
        eng, spec):
    """price-band (band 5%, mode reject) at mark 100.01: a sell limit under 95.0095 is
    refused, so the edge is 95.01.  The fund's 10% offload band would put its limit at
    90.01 (refused: the fund kept what it took over); it sells at the edge instead, to a
    bid at 96.00, and a bid at 95.00 (beyond the edge) is left alone."""
    from types import SimpleNamespace
    from engine.breakers import make_breaker
    ex = _venue_account_long_10(eng, "binance", INSURANCE_ID)
    breaker = make_breaker(spec, SimpleNamespace(breaker={}, source_path="test"))
    breaker.bind(SimpleNamespace(exchange=ex))
    ex.breaker = breaker
    assert breaker.limit_edge(0, -1) == 9_501 and breaker.limit_edge(0, 1) == 10_501
    ex.submit(0, BIDDER, 0, 1, 4, price=9_600)
    ex.submit(0, BIDDER, 0, 1, 10, price=9_500)
    start = len(ex.log)
    assert offload(ex, 1, 0, fraction_ppm=1_000_000, band_ppm=100_000) == 4
    (offer,) = eng.rows(ex, K.FUND_OFFLOAD_ORDER, start)
    assert offer.price == 9_501
    assert not eng.rows(ex, K.ORDER_REJECTED, start)
    assert ex.fund.positions[0].size == 6
    eng.check_all(ex)


def test_the_backstop_vault_offloads_its_own_position_when_asked(eng):
    """``[venue] backstop_offload``: the vault re-offers what it took over by the fund's
    rule; the order is the vault's (account = its id) and the fund's position is not
    touched.  The vault is long 10 at 100.01; a bid at 99.01 (within 1%) takes them."""
    ex = _venue_account_long_10(eng, "hyperliquid", BACKSTOP_ID)
    ex.submit(0, BIDDER, 0, 1, 10, price=9_901)
    start = len(ex.log)
    assert offload(ex, 1, 0, fraction_ppm=1_000_000, band_ppm=10_000, holder=ex.backstop) == 10
    (offer,) = eng.rows(ex, K.FUND_OFFLOAD_ORDER, start)
    assert offer.account == BACKSTOP_ID and offer.price == 9_901
    assert ex.backstop.positions[0].size == 0 and not ex.fund.positions.get(0)
    eng.check_all(ex)


def _hl_vault_holding(eng, vault_usdc: int):
    """A limited vault (``backstop_limited``) holding 10 BTC long at 100,000 with
    ``vault_usdc``: its maintenance is 12,500 at that mark.  Account 1: long 1 BTC @
    100,000 with 2,000 USDC; a 0.5 BTC bid at 98,500."""
    ex, ins = _hl(eng)
    qpu = ins.quanta_per_unit
    ex.move(0, ex.backstop, ex.accounts[BIDDER], ex.backstop.wallet)    # empty the vault
    ex.deposit(0, BACKSTOP_ID, vault_usdc * qpu)
    ex.transfer_position(0, BACKSTOP_ID, MAKER, 0, ins.lots("10"), ins.ticks(HL_BTC))
    state.of(ex).backstop_limited = True
    _hl_long(ex, ins, 1, "1", 2_000)
    ex.submit(0, BIDDER, 0, 1, ins.lots("0.5"), price=98_500)
    return ex, ins


def test_a_limited_vault_under_its_own_maintenance_takes_no_account_and_the_book_goes_on(eng):
    """The vault below its own maintenance (equity 10,000 - 18,000 = -8,000 at mark 98,200,
    maintenance 12,275) does not take account 1 (equity 200 < 2/3 x 1,227.5): the book step goes
    on instead -- a market order to the bankruptcy price, 98,000, filling the 0.5 bid."""
    ex, ins = _hl_vault_holding(eng, 10_000)
    start = _liquidate(eng, ex, SEC, 98_200)
    assert not eng.rows(ex, K.BACKSTOP_TAKEOVER, start)
    (order,) = eng.rows(ex, K.LIQUIDATION_ORDER, start, account=1)
    assert order.price == 98_000
    assert ex.accounts[1].positions[0].size == ins.lots("0.5")


def test_a_limited_vault_above_its_own_maintenance_takes_the_account(eng):
    """Same, with 100,000 USDC in the vault (equity 82,000 > 12,275): it takes account 1."""
    ex, ins = _hl_vault_holding(eng, 100_000)
    start = _liquidate(eng, ex, SEC, 98_200)
    (take,) = eng.rows(ex, K.BACKSTOP_TAKEOVER, start, account=1)
    assert take.qty == ins.lots("1")
    assert not eng.rows(ex, K.LIQUIDATION_ORDER, start)


def _isolated_long_with_cross_collateral(ins, fund_q: int, margin_q: int, usde: int):
    """Account 1: an isolated long of 1 unit at 100,000 with ``margin_q`` of isolated
    margin, and ``usde`` units of cross collateral (fixed at 1) it does not use."""
    asset = CollateralAsset("USDE", source="fixed", fixed_price="1", unit="1")
    ex = Exchange([ins], insurance_fund=fund_q, backstop=fund_q, collateral=[asset])
    ex.refresh_asset_prices()
    entry = ins.ticks("100000")
    ex.set_mark(0, 0, entry)
    qpu = ins.quanta_per_unit
    ex.open_account(0, MAKER, deposit=10**9 * qpu)
    ex.open_account(0, BIDDER, deposit=10**9 * qpu)
    ex.open_account(0, 1, deposit=margin_q, collateral={"USDE": usde})
    ex.transfer_position(0, 1, MAKER, 0, ins.lots("1"), entry, isolated_margin=(margin_q, 0))
    return ex


@pytest.mark.parametrize("style", ["binance", "hyperliquid"])
def test_an_isolated_liquidation_never_touches_the_accounts_cross_collateral(eng, style):
    """An isolated position risks its own margin only (reference 1.4, 5): whether its
    liquidation fills at the bankruptcy price below the liquidation price (binance, the
    clearance fee included) or 1,000 below the mark (hyperliquid: its market order is
    limited at the bankruptcy price), the cross collateral stays and no fund pays."""
    ins = binance_btcusdt() if style == "binance" else hyperliquid_btc()
    qpu = ins.quanta_per_unit
    margin = 2_000 * qpu
    ex = _isolated_long_with_cross_collateral(ins, 10**6 * qpu, margin, 10_000)
    acct = ex.accounts[1]
    bp = bankruptcy_tick(ex, acct, 0)                         # 98,000: 2,000 of margin
    ex.submit(0, BIDDER, 0, 1, ins.lots("1"), price=bp)
    fund0 = ex.fund.wallet
    # Deficient at this mark (HL: still above 2/3 of MM, so no backstop takeover).
    ex.set_mark(1, 0, ins.ticks("99000" if style == "hyperliquid" else "98300"))
    start = len(ex.log)
    run_liquidations(ex, 1, 0)
    ex.check_conservation()
    assert acct.positions[0].size == 0
    assert acct.collateral == {"USDE": 10_000} and not ex.fund.collateral
    assert not eng.rows(ex, K.COLLATERAL_SEIZED, start)
    assert acct.wallet == 0                                   # all it lost: the margin
    assert ex.fund.wallet >= fund0                            # nothing paid out


def test_binance_adl_ranks_a_hedged_cross_account_by_its_account_pnl(eng):
    """Reference 1.7: Binance's ranking is account-level (wallet + uPnL + MM).  Account 21
    is short instrument 0 in profit (+100) and long instrument 1 at a loss (-100): its
    account uPnL is 0, so it ranks after account 22, whose only short is +5 in profit."""
    ex = eng.exchange("binance", n_inst=2, fund=0, marks=(eng.MARK, eng.MARK),
                      ranking="binance")
    for acct, deposit in ((MAKER, 10**9), (1, 10), (21, 1_000), (22, 1_000)):
        ex.open_account(0, acct, deposit=deposit * eng.Q)
    ex.transfer_position(0, 1, 21, 0, 10, 110_000)       # 21 short inst 0 at 110,000
    ex.transfer_position(0, 21, MAKER, 1, 10, 110_000)   # 21 long inst 1 at 110,000
    ex.transfer_position(0, 1, 22, 0, 10, 100_500)       # 22 short inst 0 at 100,500
    assert adl._score(ex, ex.accounts[21], 0, "binance") == 0.0
    assert adl._score(ex, ex.accounts[22], 0, "binance") > 0.0
    q = adl.queue(ex, 0, 0, 1)
    assert q.ranked[q.cursor:] == [22, 21]


def test_the_fund_covers_a_shortfall_with_the_collateral_it_just_seized_counted_in(eng):
    """A cross long with 2,000 USDE of collateral and no cash is closed 4,000 below its
    entry (its own sell into the only bid; a liquidation order would stop at the
    bankruptcy price), then settled: the fund seizes the 2,000 USDE (paying its value into
    the account), then covers what is still negative from its 1,000 -- cash plus the
    collateral it now holds -- and only the remaining 1,000 is bad debt (it wrote off
    2,000, as if it had nothing)."""
    ins = hyperliquid_btc()
    qpu = ins.quanta_per_unit
    usde = CollateralAsset("USDE", source="fixed", fixed_price="1", unit="1")
    ex = Exchange([ins], insurance_fund=1_000 * qpu, backstop=10**6 * qpu, collateral=[usde])
    ex.refresh_asset_prices()
    entry = ins.ticks("100000")
    ex.set_mark(0, 0, entry)
    ex.open_account(0, MAKER, deposit=10**9 * qpu)
    ex.open_account(0, BIDDER, deposit=10**9 * qpu)
    ex.open_account(0, 1, deposit=0, collateral={"USDE": 2_000})
    ex.transfer_position(0, 1, MAKER, 0, ins.lots("1"), entry)
    ex.submit(0, BIDDER, 0, 1, ins.lots("1"), price=ins.ticks("96000"))
    ex.set_mark(1, 0, ins.ticks("99000"))
    start = len(ex.log)
    acct = ex.accounts[1]
    ex.submit(1, 1, 0, -1, ins.lots("1"), price=ins.ticks("96000"), tif=IOC, fee_ppm=0)
    assert acct.positions[0].size == 0 and acct.wallet == -4_000 * qpu
    settle_if_negative(ex, 1, acct, 0, False, 0)
    ex.check_conservation()
    assert eng.total(ex, K.COLLATERAL_SEIZED, start) == 2_000 * qpu
    assert eng.total(ex, K.INSURANCE_PAID, start) == 1_000 * qpu
    assert ex.bad_debt == 1_000 * qpu
    assert ex.fund.collateral == {"USDE": 2_000}


def test_adl_close_records_the_winners_gain_and_the_shortfall_it_covered(eng):
    """What the ADL overshoot is measured from (engine.outputs.adl): each close records the
    winner's uPnL at the mark on the lots closed and side x (bankruptcy price - mark) x lots
    of the bankrupt unit's deficit.  The dYdX case above: long 5 @ 100,000 with 10 quote,
    mark 97,000, BP 98,000, closed against a short 5 @ 100,000: gain (100,000 - 97,000) x 5
    = 15,000 quantums, shortfall (98,000 - 97,000) x 5 = 5,000 = the long's negative equity;
    the long is recorded with negative equity, the short is not."""
    ex = _dydx(eng)
    _long(ex, 1, 5, 10 * Q, isolated=True)
    _short(ex, 2, 5, 1_000 * Q)
    _liquidate(eng, ex, SEC, 97_000)
    st_ = state.of(ex)
    assert st_.adl_closes == [state.AdlClose(SEC, 0, 1, 2, 5, 1, 98_000, 97_000, 15_000,
                                             5_000)]
    assert st_.negative_equity == {1}


def _adl_two_winners(eng, counterfactual):
    """The dYdX case above with two winners: short A 5 @ 100,000 (in profit 3,000 a lot at
    97,000) on 1,000 quote, short B 5 @ 97,500 (500 a lot) on 50 quote -- B's notional /
    account value is the higher, A's profit the higher."""
    ex = _dydx(eng)
    if counterfactual:
        state.of(ex).counterfactual = state.AdlCounterfactual(np.random.default_rng(7))
    _long(ex, 1, 5, 10 * Q, isolated=True)
    _short(ex, 2, 5, 1_000 * Q)
    _short(ex, 3, 5, 50 * Q, price=97_500)
    _long(ex, 4, 5, 10**6 * Q, price=97_500)     # B's counterparty, never liquidated
    _liquidate(eng, ex, SEC, 97_000)
    return ex


def test_adl_counterfactual_measures_every_ranking_on_the_same_episode_without_changing_it(eng):
    """``[venue] adl_counterfactual``: before the ADL closes the long's 5 lots, each ranking's
    queue is walked in the same state: one that puts A first takes A's 15,000 quantums of
    gain, one that puts B first B's 2,500; the shortfall is 5,000 for all; the event log is
    the one the run writes without it."""
    plain, ex = _adl_two_winners(eng, False), _adl_two_winners(eng, True)
    assert ex.log.digest() == plain.log.digest()
    ((ts, inst, account, shortfall, taken),) = state.of(ex).counterfactual.episodes
    assert (ts, inst, account, shortfall) == (SEC, 0, 1, 5_000)
    assert set(taken) == set(adl.RANKINGS)
    assert all(h in (15_000, 2_500) for h in taken.values())
    # B first: (mark / entry) x notional / account value, 0.995 x 485 / 52.5 against
    # A's 0.97 x 485 / 1,015; PnL% x leverage 0.51% x 9.2 against 3% x 0.48; PnL% x margin
    # ratio 5% x 4.85 / 52.5 against 1.5% x 4.85 / 1,015.
    assert taken["hyperliquid"] == taken["bitmex"] == taken["binance"] == 2_500
    (close,) = state.of(ex).adl_closes          # the run's own ranking measured alike
    assert close.gain == taken[ex.adl_ranking]


def test_hyperliquid_adl_ranks_winning_shorts_before_losing_ones(eng):
    """Reference section 5 (the engine's form, [S]) and section 9 ("leverage x unrealized
    PnL"): against a bankrupt long the queue is the shorts, winners first by leverage x
    PnL%.  Account 21 is short at 110,000 (in profit at the 100,000 mark), account 22
    short at 95,000 (in loss), at about the same leverage: the docs' side-blind
    (mark / entry) x leverage would put 22 first (its mark / entry is above 1)."""
    ex = eng.exchange("hyperliquid", fund=0, ranking="hyperliquid")
    for acct, deposit in ((MAKER, 10**9), (1, 10), (21, 1_000), (22, 1_000)):
        ex.open_account(0, acct, deposit=deposit * eng.Q)
    ex.transfer_position(0, 1, 21, 0, 1, 110_000)        # 21 short at 110,000: +10,000
    ex.transfer_position(0, 1, 22, 0, 1, 95_000)         # 22 short at 95,000: -5,000
    assert adl._score(ex, ex.accounts[21], 0, "hyperliquid") > \
        adl._score(ex, ex.accounts[22], 0, "hyperliquid")
    q = adl.queue(ex, 0, 0, 1)
    assert q.ranked[q.cursor:q.cursor + 2] == [21, 22]


@pytest.mark.parametrize("fund", [10**6 * Q, 0])
def test_an_account_its_own_order_closed_below_zero_is_paid_back_by_the_fund_else_bad_debt(
        eng, fund):
    """A long of 10 lots on a 50-quote deposit sells at the market into the only bid, at half
    the mark: its own order, not the liquidation engine, takes the wallet below zero (a
    stop's market order through an emptied book).  The next margin check settles it as a
    closing liquidation is settled: the fund pays it back to zero, or, with no fund, the rest
    is bad debt -- never a negative balance left on a closed account (reference 1.6 item 3).
    Not counted among the liquidation engine's negative-equity accounts."""
    ex = eng.exchange(fund=fund)
    ex.open_account(0, MAKER, deposit=10**9 * Q)
    trader = ex.open_account(0, 1, deposit=50 * Q)
    ex.transfer_position(0, 1, MAKER, 0, 10, MARK)
    eng.post(ex, 1, MAKER, 0, 1, MARK // 2, 10)
    ex.submit(2, 1, 0, -1, 10, order_type=MARKET)
    shortfall = -trader.wallet
    assert shortfall > 0 and not trader.positions[0].size and ex.closed_negative == {1: 0}
    fund_before, bad_before = ex.fund.wallet, ex.bad_debt
    run_liquidations(ex, 3, 0)
    assert trader.wallet == 0 and ex.closed_negative == {}
    paid = eng.total(ex, K.INSURANCE_PAID, account=1)
    assert paid == fund_before - ex.fund.wallet == min(shortfall, fund_before)
    assert ex.bad_debt - bad_before == shortfall - paid
    assert 1 not in state.of(ex).negative_equity
    eng.check_all(ex)


def test_an_exogenous_account_is_never_settled(eng):
    """The Simulation's programs and recorded flows stand for money outside the venue."""
    ex = eng.exchange()
    ex.exogenous = (range(1, 2),)
    ex.open_account(0, MAKER, deposit=10**9 * Q)
    flow = ex.open_account(0, 1, deposit=50 * Q)
    ex.transfer_position(0, 1, MAKER, 0, 10, MARK)
    eng.post(ex, 1, MAKER, 0, 1, MARK // 2, 10)
    ex.submit(2, 1, 0, -1, 10, order_type=MARKET)
    run_liquidations(ex, 3, 0)
    assert flow.wallet < 0 and ex.closed_negative == {}
