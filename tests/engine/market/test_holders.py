"""Participants who close positions they already hold (``closes`` on ``[[flows]]`` and
``[[dip_buyers]]``) and the spread margin floor (``traders.margin_floor_max``): open interest
falls when holders de-risk, instead of rising with a new short; the raised accounts'
liquidation prices are spread, not stacked."""
from __future__ import annotations

import pathlib
from fractions import Fraction

import numpy as np
import pytest
from orderbook.enums import IOC, MARKET

from engine.config import ConfigError
from engine.market.traders import draw_traders
from engine.phases import SECOND, Phase
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import BASIS_ACCOUNT, DIP_ACCOUNT, FLOW_ACCOUNT, FIRST_TRADER
from engine.venue.events import EventKind
from engine.venue.rounding import floor_f

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")
SMALL = Fraction(1, 50)
QUIET = ["index.noise_bps=0"]
#: gap-drop's sell program (60-120 s, 300k/s at full scale) as a holder's.
CLOSING = QUIET + ["flows.0.closes=true"]


def _position(sim, account: int) -> int:
    pos = sim.exchange.accounts[account].positions.get(0)
    return pos.size if pos is not None else 0


def _oi(sim) -> int:
    return sim.exchange.open_interest[0]


def test_a_closing_sell_program_starts_long_its_whole_window_at_the_start_price():
    sim = Simulation(load(GAP_DROP, CLOSING, SMALL), seed=1)
    ins, start = sim.instrument, sim.index_ticks
    per_s = sim.units.flow_notionals[0]
    lo, hi = sim.scenario.flows[0].window
    assert _position(sim, FLOW_ACCOUNT) == \
        floor_f(per_s * Fraction(hi - lo)) // (start * ins.tick_lot_quanta) > 0


def test_a_closing_sell_program_lowers_open_interest_more_than_a_plain_one():
    def oi_change(over):
        sim = Simulation(load(GAP_DROP, over, SMALL), seed=1)
        before = {}
        sim.schedule(60 * SECOND, Phase.INPUT, lambda ts: before.setdefault("oi", _oi(sim)))
        sim.end_ns = 130 * SECOND
        sim.run()
        return _oi(sim) - before["oi"], sim

    plain, _ = oi_change(QUIET)
    closing, sim = oi_change(CLOSING)
    assert closing < plain
    sold = sum(r[10] for r in sim.log.rows(EventKind.TRADE)
               if FLOW_ACCOUNT in (r[5], r[6]))
    assert sold > 0 and _position(sim, FLOW_ACCOUNT) >= 0      # it never turned short


def test_a_closing_program_stops_when_its_holding_is_gone():
    # Five lots left of the holding: the first second's order sells them; every later order
    # is refused as reduce-only instead of opening a short.
    sim = Simulation(load(GAP_DROP, CLOSING, SMALL), seed=1)
    ex = sim.exchange
    held = _position(sim, FLOW_ACCOUNT)
    ex.transfer_position(0, BASIS_ACCOUNT, FLOW_ACCOUNT, 0, held - 5, sim.index_ticks)
    sim.run()
    assert _position(sim, FLOW_ACCOUNT) == 0
    refused = [r for r in sim.log.rows(EventKind.ORDER_REJECTED) if r[5] == FLOW_ACCOUNT]
    assert len(refused) >= 50       # the rest of the 60 s window
    ex.check_conservation()


def test_take_profit_dip_bids_start_short_and_buying_closes_the_short():
    sim = Simulation(load(GAP_DROP, QUIET + [
        "makers.count=0", 'dip_buyers=[{offset_pct=-5, notional="1000000", closes=true}]'],
        SMALL), seed=1)
    ex, ins = sim.exchange, sim.instrument
    price = floor_f(sim.index_ticks * Fraction(95, 100))
    lots = 20_000 * ins.quanta_per_unit // (price * ins.tick_lot_quanta)
    assert _position(sim, DIP_ACCOUNT) == -lots
    assert ex.accounts[DIP_ACCOUNT].wallet == 20_000 * ins.quanta_per_unit
    oi = _oi(sim)
    ex.submit(SECOND, FLOW_ACCOUNT, 0, -1, lots + 7, price=price - 100, tif=IOC, order_type=MARKET)
    assert _position(sim, DIP_ACCOUNT) == 0
    assert _oi(sim) == oi       # the program opened a short as the dip buyer closed one
    ex.check_conservation()


def test_holders_hand_their_other_side_to_the_makers_with_the_population():
    base = Simulation(load(GAP_DROP, QUIET + ["makers.opposite_share=0.5"], SMALL), seed=1)
    sim = Simulation(load(GAP_DROP, CLOSING + ["makers.opposite_share=0.5"], SMALL), seed=1)
    held = _position(sim, FLOW_ACCOUNT)
    makers = [m.account_id for m in sim.makers]
    short = sum(_position(sim, a) for a in makers)
    assert short < sum(_position(base, a) for a in makers) < 0
    # half of the larger opposite side, up to each maker's rounding
    assert abs((short - sum(_position(base, a) for a in makers)) - (-held // 2)) <= len(makers)


def test_conservation_holds_after_every_step_with_holders_closing():
    sim = Simulation(load(GAP_DROP, CLOSING + [
        'dip_buyers=[{offset_pct=-4, notional="2000000", closes=true}]'], SMALL), seed=2)
    steps = []

    def check(ts):
        sim.exchange.check_conservation()
        steps.append(ts)

    for ts in range(0, sim.end_ns + 1, sim.step_ns):
        sim.schedule(ts, Phase.SAMPLE, check)
    sim.run()
    assert len(steps) >= 2400


def test_holders_are_off_by_default():
    sim = Simulation(load(GAP_DROP, QUIET, SMALL), seed=1)
    assert _position(sim, FLOW_ACCOUNT) == 0
    assert not any(r[5] == FLOW_ACCOUNT for r in sim.log.rows(EventKind.POSITION_TRANSFERRED))


def _floors(over, n=4000):
    sc = load(GAP_DROP, QUIET + [f"traders.count={n}", "traders.spare_margin=0"] + over)
    sim = Simulation(sc, seed=1)
    pop = draw_traders(sc.traders, sim.instrument, sim.index_ticks,
                       np.random.default_rng(7), FIRST_TRADER)
    return pop, sim


def test_a_spread_margin_floor_spreads_the_raised_accounts_margin():
    over = ["traders.leverage_median=80", "traders.margin_floor=1.2"]
    stacked, _ = _floors(over)
    spread, _ = _floors(over + ["traders.margin_floor_max=2"])
    assert (stacked["size"] == spread["size"]).all()        # the positions do not move
    raised = np.array(spread["deposit"].tolist()) > np.array(stacked["deposit"].tolist())
    assert raised.sum() > 100
    # each raised deposit different: liquidation prices spread, not one price for all
    ratios = {Fraction(int(d), int(s)) for d, s, r in
              zip(spread["deposit"], stacked["deposit"], raised) if r}
    assert len(ratios) > raised.sum() // 2


def test_margin_floor_max_below_the_floor_is_refused_naming_the_field():
    with pytest.raises(ConfigError, match="traders.margin_floor.*margin_floor_max"):
        load(GAP_DROP, ["traders.margin_floor=1.5", "traders.margin_floor_max=1.2"])


def test_closing_flows_of_both_kinds_are_refused_naming_the_field():
    # one account holds the closing flows' net: a closing sell and buy of one size netted to
    # nothing and neither program traded at all
    both = ['flows=[{kind="sell", window=[10, 20], notional_per_s="100000", closes=true}, '
            '{kind="buy", window=[30, 40], notional_per_s="100000", closes=true}]']
    with pytest.raises(ConfigError, match=r"flows\[1\]\.closes: expected closing flows of one"):
        load(GAP_DROP, both)
    one = ['flows=[{kind="sell", window=[10, 20], notional_per_s="100000", closes=true}, '
           '{kind="buy", window=[30, 40], notional_per_s="100000"}]']
    assert [f.closes for f in load(GAP_DROP, one).flows] == [True, False]
