"""Background two-sided flow (``[background]``) and dip buyers (``[[dip_buyers]]``): Poisson
takers on both sides at the stated rate, momentum flow, bids resting where stated; money
conserved after every step and the run deterministic with all the takers on."""
from __future__ import annotations

import pathlib

from fractions import Fraction

import pytest

from orderbook.enums import IOC, MARKET

from engine.config import ConfigError
from engine.phases import SECOND, Phase
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import BACKGROUND_ACCOUNT, DIP_ACCOUNT, FLOW_ACCOUNT
from engine.venue.events import EventKind
from engine.venue.rounding import floor_f


#: The controlled gap (tests/data/gap-drop.toml): the toy these tests were written on,
#: with none of the population's participants on.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")

SMALL = Fraction(1, 50)
ALL_ON = ["arbitrage.count=3", "arbitrage.resting=true", "background.rate_per_s=3",
          "background.momentum_share=0.3",
          'dip_buyers=[{offset_pct=-5, notional="2000000"}, '
          '{offset_pct=-3, notional="1000000", anchor="high"}]']


def _orders(sim, account):
    """(order id, side) of every order of ``account`` that traded, in log order."""
    seen = {}
    for r in sim.log.rows(EventKind.TRADE):
        if r[5] == account:
            seen.setdefault(r[7], r[3])
    return list(seen.items())


def test_background_flow_trades_both_sides_at_about_the_stated_rate():
    # 10 orders/s for the 60 s before the event: Poisson, mean 600, sd 24.5; buys and sells
    # binomial around 300, sd 12.2.  Bounds at 4 sd: a correct rate stays inside them for
    # all but ~1e-4 of seeds, a rate off by a sixth (100) or sides off by a tenth do not.
    # Median 2,000 quote units at this scale = 20 lots: under 0.2% of orders round to 0 lots.
    sim = Simulation(load(GAP_DROP, ["background.rate_per_s=10", "background.window=[0, 60]",
                                         'background.notional_median="100000"'], SMALL),
                     seed=11).run()
    orders = _orders(sim, BACKGROUND_ACCOUNT)
    buys = sum(1 for _, side in orders if side == 1)
    assert abs(len(orders) - 600) <= 98
    assert abs(buys - len(orders) / 2) <= 49
    assert all(r[0] < 60 * SECOND for r in sim.log.rows(EventKind.TRADE)
               if r[5] == BACKGROUND_ACCOUNT)
    sim.exchange.check_conservation()


def test_momentum_flow_follows_the_sign_of_the_venues_last_price_change():
    sim = Simulation(load(GAP_DROP, ["background.rate_per_s=1", "background.momentum_share=1",
                                         "background.momentum_window_s=3"], SMALL), seed=2)
    flow = sim.background
    flow.prices.extend([1_000_000, 999_000, 998_000, 997_000])       # falling
    sim.makers[0].wake(0)                                             # something to hit
    flow.arrive(0)
    flow.prices.extend([997_000, 998_000, 999_000, 1_000_500])       # rising
    flow.arrive(1)
    assert [side for _, side in _orders(sim, BACKGROUND_ACCOUNT)] == [-1, 1]


def test_dip_buyers_bids_rest_where_stated_and_fill_when_price_reaches_them():
    sim = Simulation(load(GAP_DROP, ["index.noise_bps=0", "makers.count=0",
                                         'dip_buyers=[{offset_pct=-5, notional="1000000"}]'],
                          SMALL), seed=1)
    ex, ins = sim.exchange, sim.instrument
    start = sim.index_ticks
    price = floor_f(start * Fraction(95, 100))
    lots = 20_000 * ins.quanta_per_unit // (price * ins.tick_lot_quanta)    # 1M x SMALL
    assert ex.books[0].best_bid() == price and ex.books[0].depth(1, price) == lots
    assert ex.accounts[DIP_ACCOUNT].wallet == 20_000 * ins.quanta_per_unit
    ex.submit(SECOND, FLOW_ACCOUNT, 0, -1, lots + 7, price=price - 100, tif=IOC,
              order_type=MARKET)
    assert ex.accounts[DIP_ACCOUNT].positions[0].size == lots
    ex.check_conservation()


def test_a_bid_anchored_to_the_high_follows_the_index_up_with_what_it_has_not_bought():
    sim = Simulation(load(GAP_DROP, ["index.noise_bps=0", "makers.count=0",
                                         "index.path=[[0, 100000], [10, 110000]]",
                                         'dip_buyers=[{offset_pct=-5, notional="1000000", '
                                         'anchor="high"}]'], SMALL), seed=1)
    sim.end_ns = 10 * SECOND
    sim.run()
    high = sim.index.at(10 * SECOND)
    price = floor_f(high * Fraction(95, 100))
    book, ins = sim.exchange.books[0], sim.instrument
    assert book.best_bid() == price
    assert book.depth(1, price) == 20_000 * ins.quanta_per_unit // (price * ins.tick_lot_quanta)
    assert len(sim.exchange.accounts[DIP_ACCOUNT].open_orders) == 1


def test_conservation_holds_after_every_step_with_all_the_takers_on():
    sim = Simulation(load(GAP_DROP, ALL_ON, SMALL), seed=3)
    checks = []

    def check(ts):      # SAMPLE phase: after the step's inputs, breakers, mark and risk
        sim.exchange.check_conservation()
        sim.exchange.books[0]._check()
        checks.append(ts)

    for ts in range(0, sim.end_ns + 1, sim.step_ns):
        sim.schedule(ts, Phase.SAMPLE, check)
    sim.run()
    assert len(checks) >= 2400                  # every 100 ms step of 240 s
    takers = {r[5] for r in sim.log.rows(EventKind.TRADE)} | \
        {r[6] for r in sim.log.rows(EventKind.TRADE)}
    assert {BACKGROUND_ACCOUNT, DIP_ACCOUNT, 40} <= takers


def test_the_same_seed_gives_the_same_log_with_all_the_takers_on_and_the_runs_draws_stay():
    a = Simulation(load(GAP_DROP, ALL_ON, SMALL), seed=5)
    plain = Simulation(load(GAP_DROP, [], SMALL), seed=5)
    assert a.rng.bit_generator.state == plain.rng.bit_generator.state
    b = Simulation(load(GAP_DROP, ALL_ON, SMALL), seed=5)
    assert a.run().log.to_array().tobytes() == b.run().log.to_array().tobytes()


def test_background_and_dip_buyers_are_off_by_default():
    sim = Simulation(load(GAP_DROP, [], SMALL), seed=1)
    assert sim.background is None and sim.dip_buyers is None
    assert BACKGROUND_ACCOUNT not in sim.exchange.accounts
    assert DIP_ACCOUNT not in sim.exchange.accounts


def test_scale_shrinks_background_orders_and_dip_bids():
    items = ['dip_buyers=[{offset_pct=-5, notional="1000000"}]', "background.rate_per_s=1"]
    full, tenth = load(GAP_DROP, items), load(GAP_DROP, items, Fraction(1, 10))
    assert tenth.background.notional_median * 10 == full.background.notional_median
    assert tenth.dip_buyers[0].notional * 10 == full.dip_buyers[0].notional
    assert tenth.background.rate_per_s == full.background.rate_per_s


@pytest.mark.parametrize("item,match", [
    ("background.rate_per_s=-1", r"background.rate_per_s: expected a number >= 0"),
    ("background.buy_share=1.5", r"background.buy_share: expected a number in"),
    ('background.notional_median="0"', r"background.notional_median: expected a number > 0"),
    ("background.window=[10, 5]", r"background.window: expected end_s >= start_s"),
    ("background.momentum_window_s=0", r"background.momentum_window_s: expected an integer"),
    ('dip_buyers=[{offset_pct=5, notional="1"}]', r"dip_buyers\[0\].offset_pct: expected a "
                                                  "percentage < 0"),
    ('dip_buyers=[{offset_pct=-5}]', r"dip_buyers\[0\].notional: missing"),
    ('dip_buyers=[{offset_pct=-5, notional="1", anchor="low"}]',
     r"dip_buyers\[0\].anchor: expected one of start, high"),
    ('dip_buyers={offset_pct=-5}', r"dip_buyers: expected an array of tables"),
])
def test_bad_taker_input_is_rejected_naming_the_field(item, match):
    with pytest.raises(ConfigError, match=match):
        load(GAP_DROP, [item])
