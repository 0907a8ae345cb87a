"""Arbitrageurs (``[arbitrage]``): they trade this venue back toward the index within their
capital and inventory, wait for collateral transfers, and stand aside in a transfer freeze or
an outage."""
from __future__ import annotations

import pathlib

from fractions import Fraction

import pytest

from orderbook.enums import IOC, MARKET

from engine.config import ConfigError
from engine.phases import SECOND
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import FIRST_ARBITRAGEUR, STUB_ACCOUNT
from engine.venue.events import EventKind


#: The controlled gap (tests/data/gap-drop.toml): the toy these tests were written on,
#: with none of the population's participants on.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")

SMALL = Fraction(1, 50)
# One arbitrageur with fixed parameters in an otherwise empty book: no makers, a handful of
# traders, no flows; capital 1,000,000 quote units (scaled by SMALL: 20,000), leverage 5,
# half of it usable: a margin cap of 50,000 quote units of position.
BASE = ["index.noise_bps=0", "makers.count=0", "traders.count=10", "flows=[]",
        "arbitrage.count=1", "arbitrage.threshold_bps=[20, 20]", "arbitrage.exit_bps=5",
        "arbitrage.refresh_ms=[100, 100]", "arbitrage.capital_sigma=0",
        'arbitrage.capital="1000000"', 'arbitrage.inventory_limit="10000000"']


def _sim(*extra) -> Simulation:
    return Simulation(load(GAP_DROP, [*BASE, *extra], SMALL), seed=4)


def _ask(sim, pct_below: int, lots: int) -> int:
    """Rest an ask ``pct_below``/10,000 below the index for ``lots``; return its price."""
    price = sim.index_ticks * (10_000 - pct_below) // 10_000
    sim.exchange.submit(0, STUB_ACCOUNT, 0, -1, lots, price=price)
    return price


def _position(sim) -> int:
    pos = sim.exchange.accounts[FIRST_ARBITRAGEUR].positions.get(0)
    return pos.size if pos is not None else 0


def _cap_lots(sim) -> int:
    """The margin cap in lots: equity x leverage x max_margin_use at the mark."""
    arb = sim.arbitrageurs[0]
    ex = sim.exchange
    equity = ex.cross_equity(ex.accounts[FIRST_ARBITRAGEUR])
    return equity * arb.cap.numerator // arb.cap.denominator \
        // (ex.marks[0] * sim.instrument.tick_lot_quanta)


def test_an_arbitrageur_buys_an_ask_below_the_index_and_closes_the_gap():
    sim = _sim()
    price = _ask(sim, 100, 3)            # 1% below the index, well past its 20 bp cost
    sim.arbitrageurs[0].wake(0)
    assert _position(sim) == 3
    best = sim.exchange.books[0].best_ask()
    assert best is None or best * 10_000 >= sim.index_ticks * (10_000 - 20)
    trades = [r for r in sim.log.rows(EventKind.TRADE) if r[5] == FIRST_ARBITRAGEUR]
    assert [r[9] for r in trades] == [price]
    sim.exchange.check_conservation()


def test_an_arbitrageur_adds_no_more_than_its_capital_allows_and_then_asks_for_a_transfer():
    sim = _sim()
    cap = _cap_lots(sim)
    _ask(sim, 100, 10 * cap)                         # far more than it can carry
    arb = sim.arbitrageurs[0]
    arb.wake(0)
    assert _position(sim) == cap > 0
    assert arb.transfer_due == 300 * SECOND         # the reserve is on its way
    arb.wake(SECOND)                # waiting: adds only what its present equity carries
    assert cap <= _position(sim) <= _cap_lots(sim) and arb.transfer_due == 300 * SECOND
    reserve = arb.reserve_q
    arb.wake(300 * SECOND)                           # arrived: deposited, then it adds
    deposits = [r for r in sim.log.rows(EventKind.DEPOSITED) if r[5] == FIRST_ARBITRAGEUR]
    assert deposits[-1][0] == 300 * SECOND and deposits[-1][11] == reserve
    assert _position(sim) > cap
    sim.exchange.check_conservation()


def test_an_arbitrageur_does_not_trade_during_a_transfer_freeze():
    sim = _sim("frictions.transfer_freeze=[0, 10]")
    _ask(sim, 100, 3)
    arb = sim.arbitrageurs[0]
    for s in (0, 5, 9):
        arb.wake(s * SECOND)
    assert _position(sim) == 0
    arb.wake(10 * SECOND)                            # the freeze is over
    assert _position(sim) == 3


def test_an_arbitrageur_stops_at_its_inventory_limit():
    # Inventory limit 200,000 x SMALL = 4,000 quote units: 40 lots of 0.001 BTC at 100,000.
    sim = _sim('arbitrage.inventory_limit="200000"', 'arbitrage.capital="100000000"')
    limit = sim.arbitrageurs[0].inventory_limit_q // (sim.index_ticks
                                                     * sim.instrument.tick_lot_quanta)
    assert 0 < limit < _cap_lots(sim)
    _ask(sim, 100, 3 * limit)
    sim.arbitrageurs[0].wake(0)
    sim.arbitrageurs[0].wake(SECOND)
    assert _position(sim) == limit


def test_an_arbitrageur_is_disabled_while_the_venue_is_down():
    sim = _sim()
    _ask(sim, 100, 3)
    ex = sim.exchange
    ex.go_down(0)
    sim.arbitrageurs[0].wake(0)
    assert not [r for r in ex.log.rows() if r[5] == FIRST_ARBITRAGEUR
                and r[2] in (EventKind.ORDER_REJECTED, EventKind.TRADE)]
    ex.come_back(SECOND)
    sim.arbitrageurs[0].wake(SECOND)
    assert _position(sim) == 3


def test_an_arbitrageur_unwinds_when_the_gap_is_back_within_its_exit():
    sim = _sim()
    _ask(sim, 100, 3)
    arb = sim.arbitrageurs[0]
    arb.wake(0)
    ex = sim.exchange
    bid = sim.index_ticks * (10_000 - 10) // 10_000          # 10 bp below: not yet within 5
    ex.submit(SECOND, STUB_ACCOUNT, 0, 1, 5, price=bid)
    arb.wake(SECOND)
    assert _position(sim) == 3
    ex.cancel_all(2 * SECOND, STUB_ACCOUNT)
    ex.submit(2 * SECOND, STUB_ACCOUNT, 0, 1, 5, price=sim.index_ticks - 1)
    arb.wake(2 * SECOND)
    assert _position(sim) == 0
    ex.check_conservation()


def test_a_resting_arbitrageur_stops_a_sell_sweep_at_its_bid():
    sim = _sim("arbitrage.resting=true")
    arb = sim.arbitrageurs[0]
    arb.wake(0)
    bid = sim.index_ticks * (10_000 - 20) // 10_000
    book = sim.exchange.books[0]
    assert book.best_bid() == bid and book.depth(1, bid) == _cap_lots(sim)
    sim.exchange.submit(SECOND, STUB_ACCOUNT, 0, -1, 5, price=1, tif=IOC,
                        order_type=MARKET)
    assert _position(sim) == 5
    assert min(r[9] for r in sim.log.rows(EventKind.TRADE)) == bid


def test_arbitrageurs_draw_nothing_from_the_runs_generator_and_are_deterministic():
    plain = Simulation(load(GAP_DROP, [], SMALL), seed=7)
    with_arbs = Simulation(load(GAP_DROP, ["arbitrage.count=5"], SMALL), seed=7)
    assert plain.rng.bit_generator.state == with_arbs.rng.bit_generator.state
    again = Simulation(load(GAP_DROP, ["arbitrage.count=5"], SMALL), seed=7)
    assert [(a.threshold_bps, a.refresh_ns, a.inventory_limit_q) for a in with_arbs.arbitrageurs] \
        == [(a.threshold_bps, a.refresh_ns, a.inventory_limit_q) for a in again.arbitrageurs]
    assert with_arbs.run().log.digest() == again.run().log.digest()


def test_arbitrage_is_off_by_default_and_opens_no_account():
    sim = Simulation(load(GAP_DROP, [], SMALL), seed=1)
    assert sim.arbitrageurs == [] and FIRST_ARBITRAGEUR not in sim.exchange.accounts


def test_scale_shrinks_the_arbitrageurs_capital_and_inventory():
    full = load(GAP_DROP, ["arbitrage.count=2"])
    tenth = load(GAP_DROP, ["arbitrage.count=2"], Fraction(1, 10))
    assert tenth.arbitrage.capital * 10 == full.arbitrage.capital
    assert tenth.arbitrage.inventory_limit * 10 == full.arbitrage.inventory_limit


@pytest.mark.parametrize("item,match", [
    ("arbitrage.count=61", r"arbitrage.count: expected an integer in \[0, 60\]"),
    ("arbitrage.threshold_bps=[30, 10]", r"arbitrage.threshold_bps: expected low <= high"),
    ("arbitrage.threshold_bps=10", r"arbitrage.threshold_bps: expected \[low, high\]"),
    ("arbitrage.refresh_ms=[0, 10]", r"arbitrage.refresh_ms\[0\]: expected an integer in"),
    ('arbitrage.capital="-1"', r"arbitrage.capital: expected a number > 0"),
    ("arbitrage.leverage=0.5", r"arbitrage.leverage: expected a number in \[1, 125\]"),
    ("arbitrage.max_margin_use=2", r"arbitrage.max_margin_use: expected a number in"),
    ("arbitrage.speed=3", r"arbitrage.speed: unknown key"),
    ("frictions.transfer_freeze=[300, 400]", r"frictions.transfer_freeze: expected to start "
                                             "before duration_s"),
])
def test_bad_arbitrage_input_is_rejected_naming_the_field(item, match):
    with pytest.raises(ConfigError, match=match):
        load(GAP_DROP, [item])


def test_an_exit_at_or_beyond_the_entry_is_rejected():
    with pytest.raises(ConfigError, match=r"arbitrage.exit_bps: expected < threshold_bps\[0\]"):
        load(GAP_DROP, ["arbitrage.count=1", "arbitrage.threshold_bps=[5, 10]",
                            "arbitrage.exit_bps=5"])


def test_a_resting_arbitrageur_pulls_its_quotes_in_a_transfer_freeze():
    sim = _sim("arbitrage.resting=true", "frictions.transfer_freeze=[1, 10]")
    arb = sim.arbitrageurs[0]
    bid = sim.index_ticks * (10_000 - 20) // 10_000
    book = sim.exchange.books[0]
    arb.wake(0)
    assert book.best_bid() == bid
    arb.wake(SECOND)
    assert book.best_bid() < bid                # only the scenario's stub, 12% below
    assert not sim.exchange.accounts[FIRST_ARBITRAGEUR].open_orders


def test_a_gap_only_arbitrageur_rests_a_side_only_while_no_one_else_quotes_inside_it():
    # Its inventory limit (20,000 quote units after SMALL) under its margin cap (50,000): no
    # transfer is asked for, so its room does not wait on one.
    sim = _sim("arbitrage.resting=true", "arbitrage.gap_only=true",
               'arbitrage.inventory_limit="1000000"')
    arb = sim.arbitrageurs[0]
    ex, book = sim.exchange, sim.exchange.books[0]
    bid = sim.index_ticks * (10_000 - 20) // 10_000
    ask = -(-sim.index_ticks * (10_000 + 20) // 10_000)
    # Someone else bids 10 bp under the index (inside the arbitrageur's 20): no gap on the
    # bid side, so it rests only its ask.
    ex.submit(0, STUB_ACCOUNT, 0, 1, 5, price=sim.index_ticks * (10_000 - 10) // 10_000)
    arb.wake(0)
    mine = [book.order(oid) for oid in ex.accounts[FIRST_ARBITRAGEUR].open_orders]
    assert [(o.side, o.price) for o in mine] == [(-1, ask)]
    # The other bid goes (with the scenario's stub, 12% under): the gap opens and it bids at
    # its threshold; its own quotes do not count as someone else's, so both stay.
    ex.cancel_all(SECOND, STUB_ACCOUNT)
    arb.wake(SECOND)
    arb.wake(2 * SECOND)
    mine = sorted((o.side, o.price) for o in
                  (book.order(oid) for oid in ex.accounts[FIRST_ARBITRAGEUR].open_orders))
    assert mine == [(-1, ask), (1, bid)]
    ex.check_conservation()


def test_a_resting_arbitrageur_keeps_quoting_its_margin_while_its_reserve_is_on_the_way():
    # Its inventory limit (200,000 quote units after SMALL) is above its margin cap
    # (50,000): its first quote asks for the reserve.  Waiting, it still quotes what its
    # margin carries -- before, it quoted nothing for the 300 s of the transfer.
    sim = _sim("arbitrage.resting=true")
    arb = sim.arbitrageurs[0]
    book = sim.exchange.books[0]
    bid = sim.index_ticks * (10_000 - 20) // 10_000
    arb.wake(0)
    assert arb.transfer_due == 300 * SECOND and book.depth(1, bid) == _cap_lots(sim) > 0
    arb.wake(SECOND)
    assert book.best_bid() == bid and book.depth(1, bid) == _cap_lots(sim)
    sim.exchange.check_conservation()
