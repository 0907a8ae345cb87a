"""[collateral] in a run (engine.market.collateral): the asset's own thin book, its index and
redemption valuations, the holders, the venue's sale of seized units, and conservation.

Reference: docs/reference/liquidation-mechanics.md sections 1.1, 1.9 and 9 (USDe, wBETH,
BNSOL valued partly off Binance's own books on 10 Oct 2025; the fix, redemption-based
prices); breakers-and-events.md section 3 fact 5.
"""
from __future__ import annotations

import pathlib
from fractions import Fraction

import numpy as np
import pytest

from engine.liquidation.waterfalls import run_liquidations
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import BASIS_ACCOUNT, FIRST_ASSET_ACCOUNT
from engine.venue.events import EventKind as K
from orderbook.enums import IOC

SEC = 1_000_000_000

#: A small run (tests/data/collateral-small.toml): the perp flat, a USDE book crushed by a
#: sell program from t = 20 s while its maker is frozen (20-80 s), bought back from 85 s.
SMALL = pathlib.Path(__file__).parents[2] / "data" / "collateral-small.toml"


def scenario(*overrides):
    return load(str(SMALL), list(overrides))


def run(*overrides, sim_cls=Simulation):
    return sim_cls(scenario(*overrides), seed=0).run()


def column(sim, name):
    return np.array(sim.sampler.columns[name])


def test_own_book_valuation_follows_the_assets_last_trade():
    """Own-book (last): every sample's valuation is the book's last print, and the print
    fell to ~0.65 under the sell program (35% limit) while the index stayed at 1."""
    sim = run()
    price, book = column(sim, "coll_usde_price"), column(sim, "coll_usde_book")
    traded = book >= 0
    assert (price[traded] == book[traded]).all()
    assert price.min() <= 700_000_000 and column(sim, "coll_usde_index").min() == 10**9
    # bought back after the freeze: the valuation follows the book up again
    assert price[-1] >= 999_000_000


def test_own_book_mid_valuation_reads_the_books_mid():
    """``own_book_price = "mid"``: the venue's price is the book's mid (the source book-mid)."""
    sim = run('collateral.own_book_price="mid"')
    ex = sim.exchange
    bb, ba = ex.books[1].best_bid(), ex.books[1].best_ask()
    assert ex.assets["USDE"].source == "book-mid"
    assert ex.asset_prices["USDE"] == Fraction(bb + ba, 2) * Fraction("0.0001")


def test_redemption_valuation_stays_fixed_while_the_book_falls():
    sim = run('collateral.valuation="redemption"')
    price, book = column(sim, "coll_usde_price"), column(sim, "coll_usde_book")
    assert (price == 10**9).all()
    assert book[book >= 0].min() <= 700_000_000        # the same book still fell


def test_index_valuation_reads_the_assets_index_path():
    sim = run('collateral.valuation="index"',
              'collateral.assets.0.index_path=[[0, "1"], [40, "0.99"], [120, "1"]]')
    price, index = column(sim, "coll_usde_price"), column(sim, "coll_usde_index")
    assert (price == index).all() and price.min() == 990_000_000


def _world(source: str):
    """A Simulation's venue without running it: a holder opened by hand -- no quote, 1,000
    USDE (5% haircut), long 0.2 BTC at the mark (~20,000 notional, ~21x); only the USDE
    book and the valuation move afterwards."""
    sim = Simulation(scenario(f'collateral.valuation="{source}"'), seed=0)
    ex = sim.exchange
    acct_id = 9_999_999
    ex.open_account(0, acct_id)
    ex.deposit_collateral(0, acct_id, "USDE", 100_000)         # 1,000 USDE (lot 0.01)
    mark = ex.marks[0]
    ex.transfer_position(0, acct_id, BASIS_ACCOUNT, 0, 200, mark)     # 0.2 BTC
    ex.refresh_index()
    return sim, ex, acct_id


@pytest.mark.parametrize("source, liquidated", [("own-book", True), ("redemption", False)])
def test_a_depeg_on_the_own_book_liquidates_a_position_that_is_not_losing(source, liquidated):
    """The 10 Oct channel: a long margined in USDE, its mark never moving.  A dump on the
    USDE book to 0.05 values its margin at 1,000 x 0.05 x 0.95 = 47.5 quote, under its
    maintenance (0.4% of ~20,000 = ~80): liquidated under own-book valuation; the same
    account survives under redemption valuation (the post-event fix, 950 of margin).  The account is keyed in the trigger index
    (one cross position), so this also needs the re-key on the asset's price change."""
    sim, ex, acct_id = _world(source)
    acct = ex.accounts[acct_id]
    assert ex.cross_deficit(acct) < 0 and (acct_id, 0) not in ex.liquidatable(0)
    seller = 9_999_998
    ex.open_account(0, seller, deposit=10**6 * ex.instruments[0].quanta_per_unit)
    ex.submit(SEC, FIRST_ASSET_ACCOUNT, 1, 1, 100, price=500)     # a stale bid at 0.05
    ex.submit(SEC, seller, 1, -1, 100, price=500, tif=IOC)        # a dump into it
    sim.collateral.reprice(SEC)
    assert acct.positions[0].unrealised(ex.marks[0], 1) == 0
    assert ((acct_id, 0) in ex.liquidatable(0)) is liquidated
    start = len(ex.log)
    run_liquidations(ex, 2 * SEC, 0)
    ex.check_conservation()
    called = [r for r in ex.log.rows(K.MARGIN_CALL) if r[1] >= start and r[5] == acct_id]
    assert bool(called) is liquidated


def test_money_is_conserved_after_every_step_with_collateral_on(eng):
    """Conservation (==) after every risk step and second, with holders, seizures and the
    fund's sales of seized units into the asset's book; the books' invariants too."""

    class Checked(eng.CheckedSimulation):
        def _risk_step(self, ts):
            super()._risk_step(ts)
            for book in self.exchange.books:
                book._check()

    sim = run(sim_cls=Checked)
    seized = sim.log.rows(K.COLLATERAL_SEIZED)
    assert len(seized) > 0
    fund_pos = sim.exchange.fund.positions.get(1)
    assert fund_pos is not None and fund_pos.size < 0         # the fund sold seized USDE


def test_seized_collateral_is_sold_into_the_assets_book_unless_switched_off():
    """The venue's auto-exchange of seized units (assumed from reference 1.9): with
    ``sell_seized`` the fund trades on the USDE book as a taker; without, it does not."""
    for sell in (True, False):
        sim = run(f"collateral.assets.0.sell_seized={str(sell).lower()}")
        fund_trades = [r for r in sim.log.rows(K.TRADE)
                       if r[4] == 1 and r[5] == sim.exchange.fund.id]
        assert bool(fund_trades) is sell


def test_holders_margin_in_the_asset_and_keep_their_opening_margin_balance():
    """Holders are cross traders only; their margin moved into USDE at the start price
    after haircut (units rounded up) leaves each one's cross equity at least what it was."""
    sim = Simulation(scenario(), seed=0)
    ex, cm = sim.exchange, sim.collateral
    assert cm.holders
    for acct_id, (name, units) in cm.holders.items():
        acct = ex.accounts[acct_id]
        assert name == "USDE" and acct.collateral["USDE"] == units
        assert not acct.positions[0].isolated
        assert ex.collateral_value(acct) > 0


def test_the_collateral_calls_count_only_calls_the_index_price_would_not_make():
    """Own-book counts collateral-driven calls; redemption (priced at the index) none."""
    own = run()
    red = run('collateral.valuation="redemption"')
    assert own.collateral.calls > 0 and red.collateral.calls == 0
    own_calls = len({r[5] for r in own.log.rows(K.MARGIN_CALL)})
    red_calls = len({r[5] for r in red.log.rows(K.MARGIN_CALL)})
    assert own_calls > red_calls


def test_a_scenario_without_collateral_has_one_book_and_no_collateral_columns():
    sim = Simulation(load("flash-drop", scale=Fraction(1, 100)), seed=0)
    assert sim.collateral is None and len(sim.exchange.books) == 1
    assert not [c for c in sim.sampler.column_names if "coll" in c]


def test_the_collateral_event_loads_with_its_sources_and_expect_tables():
    sc = load("oct-2025-collateral")
    assert sc.collateral.valuation == "own-book"
    assert load("oct-2025-collateral", ["collateral.valuation=redemption"]) \
        .collateral.valuation == "redemption"


@pytest.mark.parametrize("breaker", ["luld", "price-band"])
def test_the_perpetuals_breakers_do_not_gate_the_collateral_assets_own_book(breaker):
    """The breakers watch the perpetual (instrument 0): USDE orders are not held to its
    bands, so the depeg still prints under them (though a halt stops every book: LULD's
    pauses here cut the sell program short of 0.65)."""
    sim = Simulation(scenario(), breaker=breaker, seed=0).run()
    assert column(sim, "coll_usde_price").min() <= 800_000_000
    assert not [r for r in sim.log.rows(K.ORDER_REJECTED) if r[4] == 1]
