"""The closed loop: determinism, conservation after every step, the cascade forming."""
from __future__ import annotations

import pathlib

import gc
import weakref
from fractions import Fraction

import pytest

import engine
from engine.market.makers import REASON_VOLATILITY
from engine.phases import SECOND, Phase, Port
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import FIRST_MAKER, FLOW_ACCOUNT
from engine.venue.events import EventKind

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[1] / "data" / "gap-drop.toml")


SMALL = Fraction(1, 50)      # 2,000 traders: the shape of flash-drop in about a second


class CheckedSimulation(Simulation):
    """Checks money and position conservation (==) and the book's invariants after every
    phase of every step."""

    checks = 0

    def _risk_step(self, ts):
        super()._risk_step(ts)
        self.exchange.check_conservation()
        self.exchange.books[0]._check()
        CheckedSimulation.checks += 1

    def _second_step(self, ts):
        super()._second_step(ts)
        self.exchange.check_conservation()


def _run(seed=3, breaker=None, scale=SMALL, overrides=()):
    return Simulation(load(GAP_DROP, list(overrides), scale), breaker=breaker, seed=seed).run()


def test_same_seed_and_inputs_give_a_byte_identical_event_log():
    a, b = _run(seed=5), _run(seed=5)
    assert len(a.log) > 10_000
    assert a.log.to_array().tobytes() == b.log.to_array().tobytes()
    assert a.log.digest() == b.log.digest()


def test_a_different_seed_gives_a_different_event_log():
    assert _run(seed=5).log.digest() != _run(seed=6).log.digest()


@pytest.mark.parametrize("name, kinds", [
    # The population: maker archetypes with hedges, arrivals, background flow, dip buyers,
    # funding; the fund takes what the book does not.
    ("flash-drop", (EventKind.LIQUIDATION_ORDER, EventKind.INSURANCE_TAKEOVER,
                    EventKind.FUNDING_PAID)),
    # The controlled gap: the fund's limit is reached and ADL runs.
    (GAP_DROP, (EventKind.LIQUIDATION_ORDER, EventKind.AUTO_DELEVERAGED)),
])
def test_conservation_holds_after_every_step_of_a_reduced_run(name, kinds):
    CheckedSimulation.checks = 0
    sim = CheckedSimulation(load(name, [], SMALL), seed=1).run()
    assert CheckedSimulation.checks >= 2400      # every 100 ms step of 240 s
    assert set(kinds) <= set(sim.log.kinds())


def test_flash_drop_without_breaker_shows_amplification_fill_failures_and_a_vacuum():
    s = engine.run("flash-drop", scale=SMALL, seed=2).summary
    assert s["amplification"] > 1
    assert s["fill_failures_count"] > 0 and s["liquidations_off_book_notional"] > 0
    assert s["vacuum_seconds"] > 0
    assert s["long_liquidation_share"] > 0.5


@pytest.mark.parametrize("kind", ["sell", "buy"])
def test_a_program_trades_through_the_book_and_never_beyond_its_limit_from_the_index(kind):
    """A sell program's worst price is below the index, a buy's above (a sell limited
    above the index would never trade)."""
    flows = f'flows=[{{kind="{kind}", window=[60, 120], notional_per_s="300000", limit_pct=3}}]'
    sim = _run(seed=2, overrides=[flows])
    side = -1 if kind == "sell" else 1
    mine = [r for r in sim.log.rows() if r[5] == FLOW_ACCOUNT]
    trades = [r for r in mine if r[2] == EventKind.TRADE]
    assert trades, "the program never traded"
    for r in trades:
        assert r[3] == side
        index = sim.index.scripted(r[0])
        if side < 0:
            assert r[9] >= -((-index * 97) // 100)        # ceil(index x 0.97)
        else:
            assert r[9] <= index * 103 // 100              # floor(index x 1.03)
    for r in mine:
        if r[2] == EventKind.ORDER_EXPIRED:              # the remainder, at the order's limit
            assert side * (r[9] - sim.index.scripted(r[0])) > 0


def test_makers_watching_the_venues_last_price_withdraw_on_a_crash_the_index_never_saw():
    """A sell burst crashes this venue while the index stays flat: makers that watch the
    index (the default) keep quoting; makers that watch the venue's last price withdraw
    for volatility in the seconds after it."""
    venue_only = ['index.path=[[0, "100000"], [240, "100000"]]', "flows=[]",
                  'shocks=[{at_s=100, kind="sell", notional="40000000", limit_pct=6}]']
    for source, withdraws in (("index", False), ("last", True)):
        sim = _run(seed=2, overrides=[*venue_only, f'makers.vol_source="{source}"'])
        lowest = min(r[9] for r in sim.log.rows(EventKind.TRADE))
        assert lowest < sim.index.start * 98 // 100          # the venue fell > 2%
        on_volatility = [r[0] for r in sim.log.rows(EventKind.MAKER_WITHDREW)
                         if r[12] == REASON_VOLATILITY]
        assert bool(on_volatility) == withdraws, source
        if withdraws:
            assert 100 * SECOND <= min(on_volatility) < 102 * SECOND


@pytest.mark.parametrize("path,start,low", [
    ('[[0, "50000"], [60, "50000"], [120, "46000"], [240, "46500"]]', 50_000, 46_000),
    ('[[0, "100000"], [60, "105000"], [120, "96600"], [240, "97000"]]', 105_000, 96_600)])
def test_the_index_drawdown_is_measured_from_the_index_at_the_event_start(path, start, low):
    """Like the book's drawdown: from the event start, whatever ``index.start`` says
    (a path elsewhere, a drift before the event)."""
    s = engine.run(GAP_DROP, scale=SMALL, seed=1, overrides=[f"index.path={path}"]).summary
    assert (s["index_start_price"], s["index_min_price"]) == (start, low)
    assert s["index_drawdown_pct"] == 8.0
    assert s["amplification"] == pytest.approx(s["book_drawdown_pct"] / 8.0, rel=1e-5)


@pytest.mark.parametrize("recovery_s", [0, 20])
def test_makers_quote_again_after_an_outage_even_where_the_index_did_not_move(recovery_s):
    flat = ['index.path=[[0, "100000"], [240, "100000"]]', "flows=[]", "stubs=[]",
            "frictions.outage=[20, 30]", "makers.calm_s=5", f"makers.recovery_s={recovery_s}"]
    sim = _run(seed=2, overrides=flat)
    withdrew = [r[0] for r in sim.log.rows(EventKind.MAKER_WITHDREW)]
    assert withdrew and max(withdrew) < 21 * SECOND
    requoted = [r for r in sim.log.rows(EventKind.ORDER_ACCEPTED)
                if r[0] >= 35 * SECOND and 100 <= r[5] < 1000]
    assert {r[5] for r in requoted} == {m.account_id for m in sim.makers}
    book = sim.exchange.books[0]
    assert book.best_bid() is not None and book.best_ask() is not None


def test_depth_comes_back_in_full_after_a_withdrawal_where_the_index_did_not_move():
    """Depth returns linearly over recovery_s and then stands at its configured level --
    it used to stall at ~60%: orders placed small early in the ramp were kept, never
    resized, once they held half their growing size."""
    flat = ['index.path=[[0, "100000"], [240, "100000"]]', "flows=[]", "stubs=[]",
            "frictions.outage=[20, 30]", "makers.calm_s=5", "makers.recovery_s=20"]
    r = engine.run(GAP_DROP, scale=SMALL, seed=2, overrides=flat)
    ts = r.timeseries
    t = ts.column("ts").to_numpy()
    depth = ts.column("bid_depth_1pct").to_numpy() + ts.column("ask_depth_1pct").to_numpy()
    before = depth[(t >= 10 * SECOND) & (t < 20 * SECOND)].min()
    during = depth[(t >= 40 * SECOND) & (t < 45 * SECOND)].max()
    after = depth[t >= 70 * SECOND]
    assert during < before * 3 // 4                        # still coming back
    assert after.min() >= before * 99 // 100               # and back in full


def test_spare_cash_backs_a_cross_position_and_stays_apart_from_an_isolated_one():
    """spare_margin = 0.5: each trader deposits its position's margin and half as much
    again; an isolated position holds the margin, the spare stays in the wallet."""
    over = ["traders.spare_margin=0.5", "traders.isolated_share=0.5"]
    sim = Simulation(load(GAP_DROP, over, SMALL), seed=3)
    deposits = {r[5]: r[11] for r in sim.log.rows(EventKind.DEPOSITED)}
    kinds = set()
    for acct_id in range(1000, 1100):
        acct = sim.exchange.accounts[acct_id]
        pos = acct.positions[0]
        kinds.add(pos.isolated)
        if pos.isolated:
            assert acct.wallet == pos.margin // 2 > 0
            assert deposits[acct_id] == pos.margin + acct.wallet
        else:
            assert pos.margin == 0 and acct.wallet == deposits[acct_id]
    assert kinds == {True, False}


@pytest.mark.parametrize("spare", ["0", "1"])
def test_isolated_traders_are_liquidated_more_than_cross_ones_only_with_spare_cash(spare):
    def liquidations(isolated_share):
        over = [f"traders.spare_margin={spare}", f"traders.isolated_share={isolated_share}"]
        return _run(seed=3, overrides=over).log
    cross, isolated = liquidations(0), liquidations(1)
    if spare == "0":         # one position, one margin: isolated and cross are the same
        assert cross.digest() == isolated.digest()
    else:
        n = [len(log.rows(EventKind.LIQUIDATION_ORDER)) for log in (cross, isolated)]
        assert n[1] > n[0] > 0


@pytest.mark.parametrize("makers_withdraw", [True, False])
def test_a_venue_outage_matches_nothing_and_liquidates_nobody_until_it_is_back(makers_withdraw):
    """frictions.outage = [62, 100], from early in the fall: orders that reach the venue
    are refused (reason 102), nothing trades, nobody is liquidated or stopped out; once back
    it liquidates at the new mark, and makers pull quotes it would not cancel while down."""
    from engine.venue.exchange import REASON_VENUE_DOWN
    over = ["frictions.outage=[62, 100]",
            f"makers.withdraw_on_outage={str(makers_withdraw).lower()}"]
    sim = _run(seed=2, overrides=over)
    rows = sim.log.rows()
    (down,) = [r for r in rows if r[2] == EventKind.VENUE_WENT_DOWN]
    (up,) = [r for r in rows if r[2] == EventKind.VENUE_CAME_BACK]
    assert (down[0], up[0]) == (62 * SECOND, 100 * SECOND)
    during = [r for r in rows if down[1] < r[1] < up[1]]
    kinds = {r[2] for r in during}
    for kind in (EventKind.TRADE, EventKind.LIQUIDATION_ORDER, EventKind.STOP_TRIGGERED,
                 EventKind.ORDER_ACCEPTED, EventKind.ORDER_CANCELLED, EventKind.MARGIN_CALL,
                 EventKind.FUND_OFFLOAD_ORDER):
        assert kind not in kinds, kind
    refused = [r for r in during if r[2] == EventKind.ORDER_REJECTED]
    assert refused and all(r[12] == REASON_VENUE_DOWN for r in refused)   # the sell program
    after = [r for r in rows if r[1] > up[1]]
    assert any(r[2] == EventKind.LIQUIDATION_ORDER and r[0] == 100 * SECOND for r in after)
    if makers_withdraw:
        pulled = {r[5] for r in after if r[2] == EventKind.ORDER_CANCELLED and r[0] == 100 * SECOND}
        assert pulled == {m.account_id for m in sim.makers}
    sim.exchange.check_conservation()


def test_nothing_is_liquidated_before_the_event_starts():
    sim = _run(seed=4)
    first = min(r[0] for r in sim.log.rows(EventKind.LIQUIDATION_ORDER))
    assert first >= sim.baseline_end_ns


def test_makers_withdraw_in_the_fall_and_return_after_calm():
    sim = _run(seed=2)
    withdrew = sim.log.rows(EventKind.MAKER_WITHDREW)
    assert withdrew, "makers never withdrew"
    last_withdrawal = max(r[0] for r in withdrew)
    later_quotes = [r for r in sim.log.rows(EventKind.ORDER_ACCEPTED)
                    if r[0] > last_withdrawal and 100 <= r[5] < 1000]
    calm_ns = sim.scenario.makers.calm_s * 1_000_000_000
    assert later_quotes and min(r[0] for r in later_quotes) >= last_withdrawal + calm_ns


def _trader_deposits_between(sim, lo_s, hi_s):
    return [r for r in sim.log.rows(EventKind.DEPOSITED)
            if r[0] > 0 and lo_s * 10**9 <= r[0] < hi_s * 10**9 and r[5] >= 1000]


def test_no_trader_tops_up_margin_while_top_ups_are_blocked():
    blocked = _run(seed=2)
    lo, hi = blocked.scenario.frictions.topup_blocked
    assert not _trader_deposits_between(blocked, lo, hi)
    open_ = _run(seed=2, overrides=["frictions.topup_blocked=[0, 0]"])
    assert _trader_deposits_between(open_, lo, hi), "nobody topped up even when allowed"


def test_phases_order_equal_timestamps_inputs_first_then_breakers_mark_risk_sample():
    assert [p.name for p in sorted(Phase)] == ["INPUT", "BREAKERS", "MARK", "RISK", "SAMPLE"]


def test_scheduling_in_the_past_is_an_error():
    sim = Simulation(load(GAP_DROP, [], SMALL), seed=0)
    sim.now = 10
    with pytest.raises(ValueError):
        sim.schedule(5, Phase.INPUT, lambda ts: None)


def test_participants_orders_reach_the_book_after_the_order_latency_and_liquidations_do_not_wait():
    sim = _run(seed=4, overrides=["frictions.order_latency_ms=250",
                                  "traders.stop_loss_share=0.3"])
    rows = sim.log.rows()
    ms = 1_000_000
    orders = {EventKind.ORDER_ACCEPTED, EventKind.ORDER_EXPIRED, EventKind.ORDER_REJECTED}
    flow = [r for r in rows if r[5] == FLOW_ACCOUNT and r[2] in orders]
    assert flow and all(r[0] % (1000 * ms) == 250 * ms for r in flow)   # decided on the second
    maker = [r for r in rows if FIRST_MAKER <= r[5] < FIRST_MAKER + 100
             and r[2] == EventKind.ORDER_ACCEPTED]
    refresh = sim.scenario.makers.refresh_ms * ms
    assert maker and all((r[0] - 250 * ms) % refresh == 0 for r in maker)
    stops = [r for r in rows if r[2] == EventKind.STOP_TRIGGERED]
    assert stops
    first = {}
    for r in rows:
        if r[2] in orders | {EventKind.TRADE} and r[5] in {s[5] for s in stops[:50]}:
            first.setdefault(r[5], r[0])
    assert first and all(first[s[5]] == s[0] + 250 * ms for s in stops[:50] if s[5] in first)
    liq = [r for r in rows if r[2] == EventKind.LIQUIDATION_ORDER]
    assert liq and any(r[0] % (100 * ms) == 0 for r in liq)           # on the risk step itself


def test_a_finished_simulation_is_freed_before_the_next_one_is_built_and_gc_is_restored():
    """A Simulation is a reference cycle; the set-up pauses the cyclic collector and the run
    freezes what it built, so the previous run's garbage must be collected first or
    consecutive runs (sweeps, benchmarks, notebooks) would pile up."""
    first = _run(scale=Fraction(1, 200))
    gone = weakref.ref(first)
    del first
    assert gc.isenabled()
    Simulation(load(GAP_DROP, [], Fraction(1, 200)), seed=3).run()
    assert gone() is None
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_set_up_freezes_its_population_and_one_never_run_is_freed_by_the_next_set_up():
    """The set-up ends frozen (``gc.freeze``: the collector does not traverse the fresh
    population); a Simulation built but never run is unfrozen and collected by the next
    set-up, not kept frozen for good."""
    first = Simulation(load(GAP_DROP, [], Fraction(1, 200)), seed=3)
    assert gc.get_freeze_count() > 0
    gone = weakref.ref(first)
    del first
    Simulation(load(GAP_DROP, [], Fraction(1, 200)), seed=3).run()
    assert gone() is None
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_engine_run_frees_its_simulation_when_it_returns_so_no_collection_is_needed():
    """``engine.run`` closes its Simulation (``Simulation.close``): the cycles are broken and
    reference counting frees it before ``run`` returns -- with the cyclic collector off, it
    is gone all the same -- and its log's array stays valid."""
    from engine import simulation
    gc.collect()
    before = len(simulation._ALIVE)
    gc.disable()
    try:
        r = engine.run(GAP_DROP, seed=3, scale=Fraction(1, 200))
        assert len(simulation._ALIVE) == before
    finally:
        gc.enable()
    assert r.summary["events_processed"] == len(r.events_array) > 1000


def _maker_with_latency(latency_ms=250):
    """A flash-drop simulation with nothing queued, and its first maker."""
    sim = Simulation(load(GAP_DROP, [f"frictions.order_latency_ms={latency_ms}"], SMALL),
                     seed=1)
    sim._heap.clear()
    return sim, sim.makers[0]


def _deliver(sim, ts):
    """Run what is queued at exactly ``ts`` (a message in flight), nothing else."""
    due = [e for e in sim._heap if e[0] == ts]
    sim._heap[:] = [e for e in sim._heap if e[0] != ts]
    for e in sorted(due):
        e[3](ts)


def _fill_past_limit(sim, maker, side):
    ex, ins = sim.exchange, sim.instrument
    lots = maker.inventory_limit_q // (sim.index_ticks * ins.tick_lot_quanta) + 10
    buyer, seller = (maker.account_id, FLOW_ACCOUNT) if side > 0 else \
        (FLOW_ACCOUNT, maker.account_id)
    ex.transfer_position(0, buyer, seller, 0, lots, sim.index_ticks)


@pytest.mark.parametrize("side", [1, -1])
def test_a_maker_past_its_inventory_limit_stops_quoting_the_side_that_adds(side):
    sim, maker = _maker_with_latency(0)
    _fill_past_limit(sim, maker, side)
    maker.wake(0)
    adding, reducing = (maker.bids, maker.asks) if side > 0 else (maker.asks, maker.bids)
    assert not adding and len(reducing) == sim.scenario.makers.levels


def test_a_maker_decides_inventory_blocks_when_it_decides_not_when_its_quote_arrives():
    ms = 1_000_000
    sim, maker = _maker_with_latency(250)
    maker.wake(0)                          # flat when it decides: both sides wanted
    _fill_past_limit(sim, maker, 1)        # filled long past its limit while in flight
    _deliver(sim, 250 * ms)
    levels = sim.scenario.makers.levels
    assert len(maker.bids) == levels and len(maker.asks) == levels
    maker.wake(300 * ms)                   # the next decision knows of the fill
    _deliver(sim, 550 * ms)
    assert not maker.bids and len(maker.asks) == levels
    sim.exchange.check_conservation()


def _port_members():
    return set(Port.__annotations__) | {n for n in vars(Port)
                                        if not n.startswith("_") and callable(vars(Port)[n])}


def test_the_simulation_offers_every_member_of_the_port_its_policies_and_makers_use():
    sim = _run(seed=1, breaker="luld")
    assert _port_members() == {"exchange", "instrument", "rng", "now", "index_ticks",
                               "schedule", "send", "reopen"}
    for name in _port_members():
        assert hasattr(sim, name), name
    assert sim.breaker.port is sim and all(m.port is sim for m in sim.makers)


def test_a_breaker_is_the_exchanges_one_hook_and_none_leaves_it_empty():
    scenario = load(GAP_DROP, [], Fraction(1, 50))
    assert Simulation(scenario, breaker="none").exchange.breaker is None
    sim = Simulation(scenario, breaker="luld+liq-pause")
    assert sim.exchange.breaker is sim.breaker and sim.breaker.port is sim


@pytest.mark.parametrize("mark_policy", ["binance", "hyperliquid"])
def test_a_halt_that_freezes_the_last_trade_does_not_pin_the_mark(mark_policy):
    """Under LULD flash-drop's venue stops trading while the index falls: the last trade sits
    >5% above the index, but the mark follows the index (Binance: Price 2 keeps its last
    basis samples; Hyperliquid: the other venues' perps, the index here, are its third
    input).  Before, the mark sat ~3.8% above the index and that halved the liquidations."""
    r = engine.run(GAP_DROP, breaker="luld", seed=1, scale=SMALL,
                   overrides=[f'venue.mark_policy="{mark_policy}"'])
    ts = r.timeseries
    halted = ts.column("halted").to_numpy().astype(bool)
    index = ts.column("index").to_numpy()

    def gap(column):
        return (abs(ts.column(column).to_numpy() - index) / index)[halted].max()

    assert halted.any() and r.summary["halts_count"] >= 1
    assert gap("last") > 0.05 and gap("mark") < 0.015
    assert r.summary["max_mark_index_gap_pct"] < 1.5


def test_an_outage_is_counted_in_down_seconds_and_flagged_in_the_time_series():
    r = engine.run(GAP_DROP, seed=1, scale=Fraction(1, 50),
                   overrides=["frictions.outage=[20, 30]"])
    down = r.timeseries.column("down").to_pylist()
    ts = r.timeseries.column("ts").to_pylist()
    assert [t // SECOND for t, d in zip(ts, down) if d] == list(range(20, 30))
    assert r.summary["down_seconds"] == 10.0
    plain = engine.run(GAP_DROP, seed=1, scale=Fraction(1, 50)).summary
    assert plain["down_seconds"] == 0.0
