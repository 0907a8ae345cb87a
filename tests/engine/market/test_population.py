"""The market as a population: maker archetypes (staggered, gradual withdrawal, toxic flow,
skew, the off-venue hedge and its ADL), the fund sized by open interest with a widening
offload band, and traders arriving during the run."""
from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import ConfigError
from engine.liquidation.offload import OffloadBand
from engine.market.makers import REASON_ADL, REASON_TOXIC, REASON_VOLATILITY, Hedge
from engine.scenarios.scenario import from_dict
from engine.simulation import Simulation
from engine.venue.accounts import BASIS_ACCOUNT, FIRST_ARRIVAL, FIRST_MAKER, RESERVED_FROM
from engine.venue.events import EventKind

SEC = 10**9

BASE = {
    "scenario": {"name": "pop", "duration_s": 40, "event_start_s": 10},
    "venue": {"insurance_fund": "100000"},
    "index": {"start": "100000", "path": [[0, "100000"], [10, "100000"], [30, "96000"],
                                          [40, "96000"]]},
    "makers": {"depth_1pct": "2000000", "levels": 10, "spacing_bps": 10, "capital": "5000000",
               "inventory_limit": "1000000", "loss_threshold": "1000000", "calm_s": 5,
               "recovery_s": 5,
               "archetypes": [
                   {"name": "twitchy", "count": 1, "vol_threshold_bps": 50},
                   {"name": "steady", "count": 1, "vol_threshold_bps": 150}]},
    "traders": {"count": 200, "notional_min": "1000", "notional_max": "20000"},
}


def scenario(**changes):
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value
    return from_dict(data, "test.toml")


def withdrawals(sim):
    return [(r[0], r[5], r[12]) for r in sim.log.rows(EventKind.MAKER_WITHDREW)]


def test_a_maker_withdraws_before_another_with_a_higher_threshold():
    sim = Simulation(scenario(), seed=1).run()
    first = {acct: ts for ts, acct, _ in reversed(withdrawals(sim))}
    twitchy, steady = FIRST_MAKER, FIRST_MAKER + 1
    assert twitchy in first and steady in first
    assert first[twitchy] < first[steady]


def test_archetype_keys_default_to_the_makers_table_and_counts_add_up():
    sc = scenario()
    assert sc.makers.count == 2
    assert [g.name for g in sc.makers.archetypes] == ["twitchy", "steady"]
    assert all(g.levels == 10 and g.calm_s == 5 for g in sc.makers.archetypes)


def test_per_maker_thresholds_are_drawn_within_the_range_and_differ():
    sc = scenario(makers__archetypes=[{"name": "crowd", "count": 12, "vol_threshold_bps": 50,
                                       "vol_threshold_max_bps": 400}])
    sim = Simulation(sc, seed=2)
    got = [m.draws.vol_threshold_bps for m in sim.makers]
    assert all(50 <= x <= 400 for x in got)
    assert len(set(got)) > 3


def test_withdrawals_are_staggered_across_a_population_with_drawn_thresholds():
    sc = scenario(makers__archetypes=[{"name": "crowd", "count": 8, "vol_threshold_bps": 40,
                                       "vol_threshold_max_bps": 300,
                                       "refresh_max_ms": 900}])
    sim = Simulation(sc, seed=4).run()
    times = sorted({ts for ts, _, reason in withdrawals(sim) if reason == REASON_VOLATILITY})
    assert len(times) >= 3
    assert times[-1] - times[0] >= 2 * SEC


def test_stress_stages_widen_the_spread_and_thin_the_near_levels_before_the_pull():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 1000,
                                       "stress_stages": 2, "widen_from": 0.5,
                                       "widen_bps": 20, "thin_within_bps": 30}])
    sim = Simulation(sc, seed=0)
    maker = sim.makers[0]
    calm_f, calm_n, _ = maker._shapes[0]
    hot_f, hot_n, _ = maker._shapes[2]
    assert hot_f[1][0] < calm_f[1][0]                 # the first bid sits further from fair
    assert hot_f[1][0] == calm_f[1][0] - 20
    near = [k for k in range(10) if 1 + 20 + 10 * k <= 30]
    assert near and all(hot_n[k] < calm_n[k] for k in near)
    assert hot_n[-1] == calm_n[-1]                    # far levels keep their size
    assert maker._stage(400_000) == 0
    assert maker._stage(500_000) == 1
    assert maker._stage(999_999) == 2


def test_a_stressed_maker_quotes_wider_in_the_book_than_a_calm_one():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 200,
                                       "stress_stages": 3, "widen_from": 0.2,
                                       "widen_bps": 30, "thin_within_bps": 50}])
    sim = Simulation(sc, seed=0)
    sim.end_ns = 22 * SEC                      # the index has fallen ~1.5% by then
    sim.run()
    maker = sim.makers[0]
    assert maker.stage > 0
    best_bid = max(maker.bids)
    assert best_bid < sim.index_ticks * (10_000 - 1 - 30 * maker.stage // 3 + 1) // 10_000


def _toxic_maker_run():
    """One calm maker that withdraws after absorbing 1,000 quote of liquidation flow."""
    return Simulation(scenario(makers__archetypes=[{"name": "g", "count": 1,
                                                    "vol_threshold_bps": 10_000,
                                                    "toxic_notional": "1000"}]), seed=0)


def test_toxic_flow_withdraws_a_maker_that_absorbed_too_much_liquidation_flow():
    sim = _toxic_maker_run()
    maker = sim.makers[0]
    ex = sim.exchange
    sim.end_ns = SEC
    sim.run()
    assert not withdrawals(sim)
    ex.liquidation_absorbed[maker.account_id] = 10**12       # absorbed far beyond 1,000
    maker.wake(sim.now)
    assert withdrawals(sim)[-1][1:] == (maker.account_id, REASON_TOXIC)


def test_liquidation_fills_are_counted_as_absorbed_by_the_maker(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, deposit=10**9)
    ex.open_account(0, 2, deposit=10**9)
    ex.submit(0, 1, 0, 1, 10, price=eng.MARK)
    ex.submit(1, 2, 0, -1, 4, price=eng.MARK, liquidation=True)
    assert ex.liquidation_absorbed == {1: 4 * eng.MARK * ex.instruments[0].tick_lot_quanta}


def test_skew_moves_a_long_makers_quotes_down():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "skew_bps": 10}])
    sim = Simulation(sc, seed=0)
    maker = sim.makers[0]
    ex = sim.exchange
    ex.transfer_position(0, maker.account_id, BASIS_ACCOUNT, 0, 5000, sim.index_ticks)
    size, long_full, short_full, skew = maker._inventory()
    assert size > 0 and skew > 0 and not short_full
    ex.transfer_position(0, BASIS_ACCOUNT, maker.account_id, 0, 10_000, sim.index_ticks)
    assert maker._inventory()[3] < 0


def test_a_hedge_moves_toward_the_position_within_its_capacity():
    h = Hedge(Fraction(1), per_s=100 * 1000, cost_bps=10)     # 100 quote units a second
    h.start(0, 1000)
    h.adjust(1 * SEC, 50, 1000, 1)      # want -50 lots; 1 s at 100,000 quantums = 100 lots
    assert h.lots == -50
    h.adjust(2 * SEC, 500, 1000, 1)     # want -450 more; capacity 100 lots
    assert h.lots == -150
    assert h.paid == -(-(50 + 100) * 1000 * 10 // 10_000)
    assert h.pnl(1000, 1) == -h.paid


def test_an_adl_hit_on_the_hedged_leg_makes_its_maker_withdraw_with_a_naked_hedge():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "hedge_share": 1, "opposite_share": 1,
                                       "hedge_notional_per_s": "10000"}])
    sim = Simulation(sc, seed=0)
    maker = sim.makers[0]
    ex = sim.exchange
    pos = ex.accounts[maker.account_id].positions[0]
    assert pos.size < 0 and maker.hedge.lots == -pos.size      # short perp, long spot
    assert not ex.accounts[BASIS_ACCOUNT].positions[0].size
    sim.end_ns = 2 * SEC
    sim.run()
    assert not withdrawals(sim)
    # ADL closes the profitable short at once (engine.liquidation.adl records the hit).
    ex.transfer_position(sim.now, maker.account_id, BASIS_ACCOUNT, 0, -pos.size,
                         sim.index_ticks)
    ex.adl_hits[maker.account_id] = sim.now
    before = maker.hedge.lots
    maker.wake(sim.now + SEC)
    assert withdrawals(sim)[-1][1:] == (maker.account_id, REASON_ADL)
    assert 0 < maker.hedge.lots < before      # the naked hedge unwinds, within capacity


def test_the_fund_is_sized_by_the_opening_open_interest():
    sc = scenario(venue={"insurance_fund_oi_pct": 5, "fund_limit_oi_pct": 10})
    sim = Simulation(sc, seed=0)
    ex = sim.exchange
    oi = ex.open_interest[0] * sim.index_ticks * sim.instrument.tick_lot_quanta
    assert ex.fund.wallet == oi * 5 // 100 == sim.insurance_fund_start
    assert ex.fund_limit_notional == oi * 10 // 100


def test_the_backstop_vault_is_sized_by_the_opening_open_interest_and_limited():
    sc = scenario(venue={"instrument": "hyperliquid:BTC", "backstop_capital_oi_pct": 4})
    sim = Simulation(sc, seed=0)
    ex = sim.exchange
    oi = ex.open_interest[0] * sim.index_ticks * sim.instrument.tick_lot_quanta
    assert ex.backstop.wallet == oi * 4 // 100 > 0
    assert ex.liquidation_state.backstop_limited
    plain = Simulation(scenario(), seed=0).exchange
    assert plain.backstop.wallet == 0 and plain.liquidation_state is None


def test_the_offload_band_widens_with_time_held_and_resets_when_flat():
    band = OffloadBand(10_000, 80_000, 60)
    assert band.at(0, False) == 10_000
    assert band.at(5 * SEC, True) == 10_000
    assert band.at(35 * SEC, True) == 45_000
    assert band.at(500 * SEC, True) == 80_000
    assert band.at(501 * SEC, False) == 10_000
    assert band.at(502 * SEC, True) == 10_000
    assert OffloadBand(10_000, 80_000, 0).at(100 * SEC, True) == 10_000


def test_arrivals_open_positions_through_the_book_at_traded_prices(eng):
    sc = scenario(arrivals={"window": [0, 40], "rate_per_s": 2, "notional_median": "2000"})
    sim = eng.CheckedSimulation(sc, seed=5).run()
    ex = sim.exchange
    arrived = [a for a in ex.accounts.values() if FIRST_ARRIVAL <= a.id < RESERVED_FROM]
    assert len(arrived) > 40
    trades = {(r[5], r[9]) for r in sim.log.rows(EventKind.TRADE)}
    traded = [a for a in arrived if a.positions.get(0) and a.positions[0].size]
    assert traded
    for a in traded[:20]:
        assert any(acct == a.id for acct, _ in trades)
    sides = {a.positions[0].size > 0 for a in traded}
    assert sides == {True, False}


def test_momentum_arrivals_short_into_a_fall():
    sc = scenario(arrivals={"window": [15, 30], "rate_per_s": 5, "long_share": 1,
                            "momentum": 1, "notional_median": "2000"})
    sim = Simulation(sc, seed=5).run()
    ex = sim.exchange
    sizes = [a.positions[0].size for a in ex.accounts.values()
             if FIRST_ARRIVAL <= a.id < RESERVED_FROM and a.positions.get(0)
             and a.positions[0].size]
    assert sizes and all(s < 0 for s in sizes)


def test_a_population_with_hedged_makers_and_arrivals_conserves_money_every_step(eng):
    sc = scenario(makers__archetypes=[{"name": "a", "count": 2, "vol_threshold_bps": 60,
                                       "vol_threshold_max_bps": 200, "stress_stages": 2,
                                       "widen_bps": 10, "thin_within_bps": 20,
                                       "toxic_notional": "50000", "skew_bps": 5,
                                       "hedge_share": 1, "opposite_share": 0.5,
                                       "hedge_notional_per_s": "20000"}],
                  arrivals={"window": [0, 40], "rate_per_s": 3, "momentum": 0.5},
                  venue={"insurance_fund_oi_pct": 2, "fund_limit_oi_pct": 5,
                         "offload_band_max": 0.05, "offload_widen_s": 10})
    eng.CheckedSimulation(sc, seed=9).run()


def test_same_seed_same_population_gives_the_same_log():
    sc = scenario(makers__archetypes=[{"name": "a", "count": 3, "vol_threshold_bps": 60,
                                       "vol_threshold_max_bps": 200}],
                  arrivals={"window": [0, 40], "rate_per_s": 2})
    a = Simulation(sc, seed=3).run().log.to_array()
    b = Simulation(sc, seed=3).run().log.to_array()
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("makers, message", [
    ({"archetypes": [{"name": "a"}, {"name": "a"}]}, "unique name"),
    ({"archetypes": [{"name": "a", "vol_threshold_bps": 100, "vol_threshold_max_bps": 50}]},
     "vol_threshold_max_bps: expected >= vol_threshold_bps"),
    ({"archetypes": [{"name": "a", "bogus": 1}]}, "makers.archetypes[0].bogus: unknown key"),
    ({"archetypes": {"name": "a"}}, "makers.archetypes: expected an array of tables"),
    ({"archetypes": [{"name": "a", "opposite_share": 0.7},
                     {"name": "b", "opposite_share": 0.7}]}, "opposite_share"),
    ({"archetypes": [{"name": "a", "widen_from": 1}]}, "widen_from"),
])
def test_bad_archetypes_are_one_line_errors_naming_the_field(makers, message):
    data = copy.deepcopy(BASE)
    data["makers"] = makers
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_dict(data, "test.toml")


def test_bad_arrivals_are_one_line_errors_naming_the_field():
    data = copy.deepcopy(BASE)
    data["arrivals"] = {"window": [0, 10], "momentum": 2}
    with pytest.raises(ConfigError, match="arrivals.momentum"):
        from_dict(data, "test.toml")
    data["arrivals"] = {"window": [50, 60]}
    with pytest.raises(ConfigError, match="arrivals.window"):
        from_dict(data, "test.toml")


def test_a_maker_leaning_on_the_last_trade_moves_its_fair_value_toward_it():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "last_weight": 0.5}])
    sim = Simulation(sc, seed=0)
    maker = sim.makers[0]
    assert maker._fair() == sim.index_ticks              # no trade yet: the index
    book = sim.exchange.books[0]
    book.last_price = sim.index_ticks - 1001             # a print 1,001 ticks below
    assert maker._fair() == sim.index_ticks - 500        # halfway, rounded toward the index
    plain = Simulation(scenario(), seed=0).makers[0]
    plain.port.exchange.books[0].last_price = sim.index_ticks - 1001
    assert plain._fair() == plain.port.index_ticks


def test_profit_taking_exits_close_positions_in_profit_and_leave_losers(eng):
    sc = scenario(arrivals={"window": [10, 40], "rate_per_s": 0, "close_rate_per_s": 40})
    sim = eng.CheckedSimulation(sc, seed=2).run()
    ex = sim.exchange
    assert sim.arrivals.closed > 0
    population = [ex.accounts[i] for i in range(1000, 1200)]
    closed = [a for a in population if a.positions.get(0) is not None
              and not a.positions[0].size]
    assert closed
    # After a fall only shorts are in profit: every trader who is now flat and was not
    # liquidated or stopped was short.
    reduced = {r[5] for r in sim.log.rows(EventKind.TRADE) if r[3] == 1 and 1000 <= r[5] < 1200}
    assert reduced and all(ex.accounts[a].positions[0].size >= 0 for a in reduced)


@pytest.mark.parametrize("population", [1, 7, 200, 100_000, 2**33 + 5])
def test_a_second_of_exits_draws_the_traders_single_draws_would(population):
    """``Arrivals._exits`` draws a second's traders in one numpy call; the event log stays
    the one single draws gave only while numpy hands out the same stream either way (with a
    draw of another kind between two seconds, as a run has)."""
    one, batch = np.random.default_rng(11), np.random.default_rng(11)
    for n in (0, 1, 3, 40, 5):
        single = [int(one.integers(0, population)) for _ in range(n)]
        assert batch.integers(0, population, size=n).tolist() == single
        assert one.poisson(40.0) == batch.poisson(40.0)


def test_no_exit_is_drawn_without_a_close_rate():
    sim = Simulation(scenario(arrivals={"window": [0, 40], "rate_per_s": 1}), seed=2).run()
    assert sim.arrivals.closed == 0


def test_the_margin_floor_keeps_every_trader_that_far_from_maintenance_at_the_start():
    sim = Simulation(scenario(traders={"count": 300, "notional_min": "1000",
                                       "notional_max": "20000", "margin_floor": 2}), seed=1)
    ex = sim.exchange
    for acct_id in range(1000, 1300):
        acct = ex.accounts[acct_id]
        pos = acct.positions[0]
        equity = ex.margin_balance(acct, 0)
        assert equity >= 2 * ex.maintenance_of(acct, 0) or not pos.size


def test_an_adl_hit_on_a_maker_already_out_is_logged_and_restarts_its_calm_clock():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "hedge_share": 1, "opposite_share": 1}])
    sim = Simulation(sc, seed=0)
    maker = sim.makers[0]
    ex = sim.exchange
    sim.end_ns = SEC
    sim.run()
    ex.go_down(sim.now)                         # out for the outage first
    maker.wake(sim.now)
    ex.come_back(sim.now)
    assert withdrawals(sim)[-1][2] != REASON_ADL
    ex.adl_hits[maker.account_id] = sim.now
    maker.wake(sim.now + SEC)
    assert withdrawals(sim)[-1][1:] == (maker.account_id, REASON_ADL)
    assert maker.calm_since is None


def test_a_hedge_called_more_often_than_a_lot_of_capacity_still_hedges_at_its_rate():
    h = Hedge(Fraction(1), per_s=300 * 10**8, cost_bps=0)     # 300 quote units a second
    h.start(0, 1_000_000)
    for k in range(1, 51):                                     # every 200 ms for 10 s
        h.adjust(k * SEC // 5, 100, 1_000_000, 10_000)
    # one lot at 100,000 is 100 quote units: 3 lots a second, 0.6 a call -- 30 lots in
    # 10 s (not 0, as when each call's fraction of a lot was dropped)
    assert h.lots == -30


def test_toxic_flow_absorbed_before_a_gap_in_decisions_does_not_count_later():
    sim = _toxic_maker_run()
    maker = sim.makers[0]
    ex = sim.exchange
    maker._absorbed_in_window(0)
    ex.liquidation_absorbed[maker.account_id] = 10**12
    assert maker._absorbed_in_window(SEC) == 10**12
    assert maker._absorbed_in_window(60 * SEC) == 0          # long past the 10 s window


def test_an_arrival_deposits_the_initial_margin_at_its_worst_fill_plus_the_open_loss():
    sc = scenario(arrivals={"window": [0, 40], "rate_per_s": 0, "limit_pct": 1})
    sim = Simulation(sc, seed=0)
    arr, ins = sim.arrivals, sim.instrument
    mark, t = 1_000_000, ins.tick_lot_quanta
    limit = mark * 101 // 100
    qty = 10
    got = arr._margin(qty, mark, limit, 1, 20.0)
    assert got == -(-qty * limit * t // 20) + qty * t * (limit - mark)
    # a huge leverage is capped by the tier of the notional (BTCUSDT tier 1: 150x)
    assert arr._margin(qty, mark, limit, 1, 10_000.0) == \
        -(-qty * limit * t // 150) + qty * t * (limit - mark)


def test_arrivals_at_high_leverage_are_not_liquidated_at_the_instant_they_open():
    sc = scenario(arrivals={"window": [0, 40], "rate_per_s": 5, "leverage_median": 80,
                            "leverage_sigma": 0.3, "limit_pct": 1})
    sim = Simulation(sc, seed=3).run()
    opened = {}
    for r in sim.log.rows(EventKind.TRADE):
        if r[5] >= FIRST_ARRIVAL and r[5] < RESERVED_FROM:
            opened.setdefault(r[5], r[0])
    calls = {(r[5], r[0]) for r in sim.log.rows(EventKind.MARGIN_CALL)}
    assert opened
    assert not [a for a, ts in opened.items() if (a, ts) in calls]


@pytest.mark.parametrize("venue, message", [
    ({"offload_band": 0.05, "offload_band_max": 0.01}, "offload_band_max: expected >= "),
    ({"fund_limit_oi_pct": 0}, "fund_limit_oi_pct: expected a percentage > 0"),
    ({"insurance_fund_oi_pct": 101}, "insurance_fund_oi_pct"),
])
def test_bad_fund_settings_are_one_line_errors_naming_the_field(venue, message):
    data = copy.deepcopy(BASE)
    data["venue"] = venue
    with pytest.raises(ConfigError, match=message):
        from_dict(data, "test.toml")


def test_a_background_window_after_the_run_is_refused():
    data = copy.deepcopy(BASE)
    data["background"] = {"rate_per_s": 1, "window": [300, 400]}
    with pytest.raises(ConfigError, match="background.window: expected to start before"):
        from_dict(data, "test.toml")


def test_a_slow_makers_hedge_uses_the_capacity_of_the_whole_gap_since_its_last_decision():
    h = Hedge(Fraction(1), per_s=300 * 10**8, cost_bps=0)     # 3 lots a second at 100,000
    h.start(0, 1_000_000)
    h.adjust(30 * SEC, 200, 1_000_000, 10_000)                 # 30 s later: 90 lots
    assert h.lots == -90


@settings(max_examples=300, deadline=None)
@given(share=st.fractions(0, 1), per_s=st.integers(0, 10**12), cost_bps=st.integers(0, 100),
       steps=st.lists(st.tuples(st.integers(0, 5 * SEC), st.integers(-10**6, 10**6),
                                st.integers(1, 10**7)), min_size=1, max_size=30))
def test_a_hedge_moves_toward_its_target_within_capacity_and_accounts_for_every_trade(
        share, per_s, cost_bps, steps):
    """Hedging machine: whatever the positions, prices and timing, each adjustment moves
    the hedge toward its target and never past it, trades no more than the capacity
    accrued (one second's worth or the gap since the last call), and its value is the lots
    at the index less their cost and the costs paid, with costs never negative."""
    tlq = 7
    h = Hedge(share, per_s=per_s, cost_bps=cost_bps)
    h.start(0, 1000)
    ts = 0
    for gap, position, index in steps:
        ts += gap
        before, budget = h.lots, h.budget
        h.adjust(ts, position, index, tlq)
        moved = h.lots - before
        want = h.target(position) - before
        assert moved == 0 or (moved > 0) == (want > 0) and abs(moved) <= abs(want)
        if per_s:
            accrued = min(budget + per_s * gap, per_s * max(gap, SEC))
            assert abs(moved) * SEC * index * tlq <= accrued
        else:
            assert moved == want
        assert h.paid >= 0
        assert h.pnl(index, tlq) == (h.lots * index - h.cost) * tlq - h.paid


def _basis_scenario(**basis):
    data = copy.deepcopy(BASE)
    data["basis"] = {"count": 3, "share": 0.6, "leverage": 10, **basis}
    return from_dict(data, "test.toml")


def test_basis_traders_take_their_share_of_the_opposite_side_on_margin():
    plain = Simulation(scenario(), seed=0)
    net = plain.exchange.accounts[BASIS_ACCOUNT].positions[0].size
    sim = Simulation(_basis_scenario(), seed=0)
    ex, t = sim.exchange, sim.instrument.tick_lot_quanta
    each = abs(net) * 6 // 10 // 3
    for acct_id in sim.basis_traders.ids:
        acct = ex.accounts[acct_id]
        assert acct.positions[0].size == (-each if net < 0 else each)     # its side
        assert acct.wallet == -(-each * sim.index_ticks * t // 10)       # 10x, rounded up
    side = -1 if net < 0 else 1
    assert ex.accounts[BASIS_ACCOUNT].positions[0].size == net - side * 3 * each
    ex.check_conservation()


def test_basis_traders_buy_back_only_when_the_perp_trades_below_the_index_by_their_band():
    sim = Simulation(_basis_scenario(unwind_bps=50, unwind_fraction=0.5), seed=0)
    sim.end_ns = 5 * SEC
    sim.run()
    assert sim.basis_traders.bought == 0              # a calm, two-sided book at the index
    ex = sim.exchange
    for maker in sim.makers:                           # empty the asks near the index ...
        maker._pull(sim.now)
    ex.open_account(sim.now, 7, deposit=10**15)
    ask = sim.index_ticks * 9_900 // 10_000            # ... and offer 1% below it
    ex.submit(sim.now, 7, 0, -1, 1000, price=ask)
    before = [ex.accounts[a].positions[0].size for a in sim.basis_traders.ids]
    sim.basis_traders.second(sim.now)
    after = [ex.accounts[a].positions[0].size for a in sim.basis_traders.ids]
    assert sim.basis_traders.bought > 0
    assert all(abs(b) < abs(a) for a, b in zip(before, after))


def test_basis_and_makers_cannot_hold_more_than_the_whole_opposite_side():
    data = copy.deepcopy(BASE)
    data["makers"]["archetypes"][0]["opposite_share"] = 0.7
    data["basis"] = {"count": 2, "share": 0.5}
    with pytest.raises(ConfigError, match=r"basis.share: expected <= 3/10"):
        from_dict(data, "test.toml")
    data["basis"] = {"count": 31, "share": 0.1}
    with pytest.raises(ConfigError, match="basis.count"):
        from_dict(data, "test.toml")


def test_a_run_with_basis_traders_conserves_money_and_replays_from_its_resolved_scenario(eng):
    sc = _basis_scenario()
    sim = eng.CheckedSimulation(sc, seed=4).run()
    again = from_dict(sc.resolved(), "resolved.toml")
    assert Simulation(again, seed=4).run().log.to_array().tobytes() == \
        sim.log.to_array().tobytes()


def test_a_hedge_with_latency_trades_only_when_its_order_lands():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "hedge_share": 1, "hedge_latency_ms": 700}])
    sim = Simulation(sc, seed=0)
    maker, ex = sim.makers[0], sim.exchange
    sim.end_ns = SEC
    sim.run()
    ex.transfer_position(sim.now, maker.account_id, BASIS_ACCOUNT, 0, 50, sim.index_ticks)
    maker.wake(sim.now)                        # decides to sell 50 lots of spot
    assert maker.hedge.lots == 0
    sim.end_ns = sim.now + 600_000_000
    sim.run()
    assert maker.hedge.lots == 0               # 600 ms: still in flight
    sim.end_ns = sim.now + 200_000_000
    sim.run()
    assert maker.hedge.lots == -50             # landed at 700 ms


def test_a_maker_past_its_limit_unwinds_part_of_the_excess_through_the_book_within_its_band():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 1, "vol_threshold_bps": 10_000,
                                       "unwind_share": 0.5, "unwind_band_bps": 50,
                                       "inventory_limit": "100000"}])
    sim = Simulation(sc, seed=0)
    maker, ex = sim.makers[0], sim.exchange
    sim.end_ns = SEC
    sim.run()
    lot_q = ex.marks[0] * sim.instrument.tick_lot_quanta
    ex.transfer_position(sim.now, maker.account_id, BASIS_ACCOUNT, 0, 3000, ex.marks[0])
    ex.open_account(sim.now, 7, deposit=10**15)           # someone else's bids below
    for k in range(1, 11):
        ex.submit(sim.now, 7, 0, 1, 300, price=sim.index_ticks * (10_000 - 10 * k) // 10_000)
    rows = len(sim.log)
    maker.wake(sim.now)
    new = sim.log.to_array()[rows:]
    sold = [r for r in new if r["kind"] == EventKind.TRADE and r["account"] == maker.account_id
            and r["side"] == -1]                 # the maker as the taker: its IOC sell
    left = [r for r in new if r["kind"] == EventKind.ORDER_EXPIRED
            and r["account"] == maker.account_id]
    excess = 3000 * lot_q - maker.inventory_limit_q
    assert sold
    assert sum(int(r["qty"]) for r in sold) + sum(int(r["qty"]) for r in left) == \
        excess // 2 // lot_q
    assert min(int(r["price"]) for r in sold) >= sim.index_ticks * 9_950 // 10_000


def test_each_maker_quotes_after_its_own_drawn_latency():
    sc = scenario(makers__archetypes=[{"name": "slow", "count": 3, "vol_threshold_bps": 10_000,
                                       "latency_ms": 50, "latency_max_ms": 400}])
    sim = Simulation(sc, seed=3)
    lats = [m.draws.latency_ns for m in sim.makers]
    assert all(50_000_000 <= x <= 400_000_000 for x in lats) and len(set(lats)) > 1
    sim.end_ns = SEC
    sim.run()
    first = {}
    for r in sim.log.rows(EventKind.ORDER_ACCEPTED):
        first.setdefault(r[5], r[0])
    assert [first[m.account_id] for m in sim.makers] == lats     # opening ladders land late


def test_capital_split_log_normally_keeps_the_groups_total():
    sc = scenario(makers__archetypes=[{"name": "g", "count": 5, "vol_threshold_bps": 10_000,
                                       "capital": "5000000", "capital_sigma": 1}])
    sim = Simulation(sc, seed=1)
    wallets = [sim.exchange.accounts[m.account_id].wallet for m in sim.makers]
    total = 5_000_000 * sim.instrument.quanta_per_unit
    assert len(set(wallets)) == 5
    assert total - 5 * total // 1_000_000 <= sum(wallets) <= total     # floor of ppm shares


def test_a_latency_range_needs_its_low_end():
    data = copy.deepcopy(BASE)
    data["makers"]["archetypes"][0]["latency_max_ms"] = 100
    with pytest.raises(ConfigError, match="latency_max_ms: needs latency_ms"):
        from_dict(data, "test.toml")
