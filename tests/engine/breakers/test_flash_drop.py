"""Each policy's mechanics on the ``flash-drop`` toy scenario (1/100 scale), next to ``none``.

The index falls 8% in 60 s; the makers withdraw and the book gaps to a stub bid 12% below
the start, so the move exceeds every default band.  These tests assert that each policy's
machinery *happened* -- halts, limit states, trips, deferrals, caps, with the durations its
rules give -- never that a policy made the outcome "better".  The whole file runs in a few
seconds (each run ~1 s).
"""
from __future__ import annotations

import pathlib

from fractions import Fraction

import pytest

from engine import run
from engine.breakers.base import REASON_LIQ_PAUSED, REASON_LIQ_THROTTLED, REASON_VELOCITY
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import EventKind as K
from orderbook.enums import Reason

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


SCALE = Fraction(1, 100)
SEED = 1
SEC = 10**9
START = 1_000_000          # 100,000 at tick 0.1


@pytest.fixture(scope="module")
def sims():
    cache = {}

    def get(spec, *overrides):
        key = (spec, overrides)
        if key not in cache:
            sc = load(GAP_DROP, overrides=list(overrides), scale=SCALE)
            cache[key] = Simulation(sc, breaker=spec, seed=SEED).run()
        return cache[key]
    return get


def _windows(sim, col=0):
    """(halted, resumed or None) for every halt: timestamps (``col=0``) or row numbers
    (``col=1``, to tell what was logged after the halt within its timestamp)."""
    halts = [r[col] for r in sim.log.rows(K.TRADING_HALTED)]
    resumes = [r[col] for r in sim.log.rows(K.TRADING_RESUMED)]
    return [(h, resumes[i] if i < len(resumes) else None) for i, h in enumerate(halts)]


def _halted_rows(sim, kind):
    """The rows of ``kind`` logged while the venue was halted (after a ``TradingHalted``
    row, before the next ``TradingResumed``)."""
    windows = _windows(sim, col=1)
    return [row for row in sim.log.rows(kind)
            if any(h < row[1] and (r is None or row[1] < r) for h, r in windows)]


def _prices(sim):
    return [r[9] for r in sim.log.rows(K.TRADE)]


def test_the_baseline_moves_beyond_every_default_band(sims):
    none = sims("none")
    assert not none.log.rows(K.TRADING_HALTED) and none.exchange.halts == 0
    assert min(_prices(none)) <= START * 88 // 100       # the stub 12% down is hit
    assert none.log.rows(K.LIQUIDATION_UNFILLED)          # fill failures without breakers


def test_price_band_caps_market_orders_at_the_take_bound(sims):
    sim = sims("price-band")
    c = sim.breaker.counters()
    assert c["price_band_market_capped"] > 0
    assert not sim.log.rows(K.TRADING_HALTED)


def test_liq_throttle_defers_liquidations_beyond_the_per_second_cap(sims):
    # A cap of 20k a second (200 at this scale): flash-drop's liquidations arrive spread
    # over the fall since the mark follows the index, and the default cap is never reached.
    sim = sims("liq-throttle", "breaker.liq-throttle.max_notional_per_s=20000")
    deferred = sim.log.rows(K.LIQUIDATION_DEFERRED)
    assert deferred and {r[12] for r in deferred} == {REASON_LIQ_THROTTLED}
    # The counter counts every deferral decision; the log one event per episode per account.
    assert sim.breaker.counters()["liq_throttle_deferred_checks"] >= len(deferred)


def test_luld_enters_a_limit_state_then_a_five_minute_pause(sims):
    none, sim = sims("none"), sims("luld")
    c = sim.breaker.counters()
    assert c["luld_limit_states"] > 0 and c["luld_pauses"] > 0
    assert c["luld_repriced"] > 0 and c["luld_market_capped"] > 0
    limit_states = [r for r in sim.log.rows(K.BREAKER_TRIPPED) if r[11] == 1]
    (halt, *_) = sim.log.rows(K.TRADING_HALTED)
    assert halt[0] - limit_states[-1][0] >= 15 * SEC          # 15 s in the limit state
    assert halt[12] == sim.breaker.CODE
    # The pause is 5 minutes: longer than what is left of this 240 s run.
    assert sim.exchange.halted and not sim.log.rows(K.TRADING_RESUMED)
    assert min(_prices(sim)) > min(_prices(none))              # no print at the stub


def test_cme_dcb_trips_into_a_two_minute_preopen(sims):
    sim = sims("cme-dcb")
    c = sim.breaker.counters()
    assert c["dcb_trips"] > 0 and c["dcb_preopens"] > 0
    closed = [(h, r) for h, r in _windows(sim) if r is not None]
    assert closed and all(r - h == 120 * SEC for h, r in closed)


def test_halted_book_refuses_liquidation_orders_as_fill_failures(sims):
    sim = sims("cme-dcb")
    refused = [r for r in _halted_rows(sim, K.ORDER_REJECTED)
               if r[12] == Reason.MATCHING_HALTED]
    unfilled = _halted_rows(sim, K.LIQUIDATION_UNFILLED)
    assert refused and unfilled


def test_liq_pause_defers_liquidations_while_a_halting_policy_halts(sims):
    for spec in ("cme-dcb+liq-pause", "cde-hourly+liq-pause", "xetra-vi+liq-pause"):
        sim = sims(spec)
        deferred = sim.log.rows(K.LIQUIDATION_DEFERRED)
        assert deferred and sim.breaker.counters()["liq_pause_deferred_checks"] >= len(deferred)
        halts = [h for h, _ in _windows(sim, col=1)]
        episodes = [(sum(h < r[1] for h in halts), r[5], r[4]) for r in deferred]
        assert len(episodes) == len(set(episodes)), "a deferral logged twice within one halt"
        assert {r[12] for r in deferred} == {REASON_LIQ_PAUSED}
        assert len(_halted_rows(sim, K.LIQUIDATION_DEFERRED)) == len(deferred)
        assert not _halted_rows(sim, K.LIQUIDATION_ORDER)


def test_liq_pause_defers_the_liquidation_whose_own_order_halts_the_venue(sims):
    """A corridor policy may halt under a liquidation's order (or leave a halt pending for
    the next one): the halted book refuses it, and with liq-pause that is a deferral, not a
    fill failure -- no takeover, ADL or unfilled remainder while halted."""
    for spec in ("cme-dcb+liq-pause", "cde-hourly+liq-pause", "xetra-vi+liq-pause"):
        sim = sims(spec)
        for kind in (K.LIQUIDATION_UNFILLED, K.INSURANCE_TAKEOVER, K.AUTO_DELEVERAGED,
                     K.LIQUIDATION_FILLED):
            assert not _halted_rows(sim, kind), (spec, kind)
        liquidation_ids = {r[7] for r in sim.log.rows(K.LIQUIDATION_ORDER)}
        refused = [r for r in sim.log.rows(K.ORDER_REJECTED) if r[7] in liquidation_ids]
        deferred = {r[5] for r in _halted_rows(sim, K.LIQUIDATION_DEFERRED)}
        assert all(r[5] in deferred for r in refused), spec


def test_stop_orders_wait_out_a_halt_instead_of_being_refused_and_lost(sims):
    """No stop fires while halted; one whose order the venue halted under is armed again
    (it fires again after the reopening, unless the position is gone by then)."""
    for spec in ("luld", "cme-dcb", "xetra-vi"):
        sim = sims(spec)
        assert sim.log.rows(K.TRADING_HALTED), spec
        assert not _halted_rows(sim, K.STOP_TRIGGERED), spec
        fired = sim.log.rows(K.STOP_TRIGGERED)
        liquidation_ids = {r[7] for r in sim.log.rows(K.LIQUIDATION_ORDER)}
        armed = {a for _, a in sim.stops}
        for r in sim.log.rows(K.ORDER_REJECTED):
            if r[12] != Reason.MATCHING_HALTED or r[7] in liquidation_ids \
                    or r[5] not in {f[5] for f in fired}:
                continue
            again = [f for f in fired if f[5] == r[5] and f[1] > r[1]]
            flat = not sim.exchange.accounts[r[5]].positions[0].size
            assert again or r[5] in armed or flat, (spec, r)


def _velocity_pausing(*overrides):
    sc = load(GAP_DROP, overrides=['breaker.cme-velocity.on_immediate="cancel-and-pause"',
                                       *overrides], scale=Fraction(1, 50))
    return sc


def test_liq_pause_defers_a_liquidation_whose_own_order_starts_a_velocity_pause():
    """The velocity gate refuses the order (reason 114) and pauses: that refusal is the
    same deferral as the halted book's, not a fill failure."""
    # A 30-USDT velocity threshold: the cascade's own orders trigger it (with the default
    # 1% the only trigger is the makers' return, long after the liquidations).
    sim = Simulation(_velocity_pausing("traders.stop_loss_share=0",
                                       "breaker.cme-velocity.ticks=300"),
                     breaker="cme-velocity+liq-pause", seed=1).run()
    assert sim.log.rows(K.TRADING_HALTED)
    for kind in (K.LIQUIDATION_UNFILLED, K.INSURANCE_TAKEOVER, K.AUTO_DELEVERAGED):
        assert not _halted_rows(sim, kind), kind
    assert _halted_rows(sim, K.LIQUIDATION_DEFERRED)


def test_stops_refused_in_a_pause_by_the_breaker_gate_are_armed_again():
    """With 300 ms of order latency, stop orders arrive inside a velocity pause and are
    refused by its gate (reason 114): the stops stay armed and fire after it."""
    sim = Simulation(_velocity_pausing("frictions.order_latency_ms=300"),
                     breaker="cme-velocity", seed=1).run()
    fired = sim.log.rows(K.STOP_TRIGGERED)
    stop_accounts = {r[5] for r in fired}
    armed = {a for _, a in sim.stops}
    refused = [r for r in _halted_rows(sim, K.ORDER_REJECTED)
               if r[5] in stop_accounts and r[12] == REASON_VELOCITY]
    assert refused
    for r in refused:
        again = [f for f in fired if f[5] == r[5] and f[1] > r[1]]
        flat = not sim.exchange.accounts[r[5]].positions[0].size
        assert again or r[5] in armed or flat, r


def test_a_reopening_due_while_the_venue_is_down_waits_until_it_is_back():
    """cme-dcb's 2-minute pre-open would end inside the outage: a down venue runs no
    auction -- it reopens after the outage, and nothing trades while down."""
    sc = load(GAP_DROP, overrides=["frictions.outage=[200, 230]"], scale=Fraction(1, 50))
    sim = Simulation(sc, breaker="cme-dcb", seed=1).run()
    rows = sim.log.rows()
    (down,) = [r for r in rows if r[2] == K.VENUE_WENT_DOWN]
    (up,) = [r for r in rows if r[2] == K.VENUE_CAME_BACK]
    halted = [r[0] for r in rows if r[2] == K.TRADING_HALTED]
    assert halted and halted[0] < down[0]
    during = [r for r in rows if down[1] < r[1] < up[1]]
    assert not [r for r in during if r[2] in (K.TRADE, K.TRADING_RESUMED, K.TRADING_HALTED)]
    assert [r for r in rows if r[2] == K.TRADING_RESUMED and r[1] > up[1]]


def test_liq_pause_alone_never_defers_since_nothing_halts(sims):
    sim = sims("liq-pause")
    assert not sim.log.rows(K.LIQUIDATION_DEFERRED) and not sim.log.rows(K.TRADING_HALTED)


def test_cme_velocity_cancels_triggering_orders_and_pauses_ten_seconds_when_asked(sims):
    sim = sims("cme-velocity")
    c = sim.breaker.counters()
    assert c["velocity_triggers"] > 0 and c["velocity_cancelled"] > 0
    assert [r for r in sim.log.rows(K.ORDER_REJECTED) if r[12] == REASON_VELOCITY]
    assert not sim.log.rows(K.TRADING_HALTED)            # "the market will remain open"
    paused = sims("cme-velocity", "breaker.cme-velocity.on_immediate=cancel-and-pause")
    assert paused.breaker.counters()["velocity_pauses"] > 0
    closed = [(h, r) for h, r in _windows(paused) if r is not None]
    assert closed and all(r - h == 10 * SEC for h, r in closed)


def test_cde_hourly_halts_two_minutes_and_moves_its_reference_to_the_limit(sims):
    sim = sims("cde-hourly")
    assert sim.breaker.counters()["cde_halts"] > 0
    closed = [(h, r) for h, r in _windows(sim) if r is not None]
    assert closed and all(r - h == 120 * SEC for h, r in closed)
    assert sim.breaker.ref == START * 90 // 100          # the breached lower limit


def test_xetra_vi_auctions_last_two_minutes_plus_a_random_end(sims):
    sim = sims("xetra-vi")
    assert sim.breaker.counters()["xetra_vis"] > 0
    closed = [(h, r) for h, r in _windows(sim) if r is not None]
    assert closed and all(120 * SEC <= r - h <= 150 * SEC for h, r in closed)


def test_policy_counters_reach_the_run_summary():
    result = run(GAP_DROP, breaker="cme-dcb+liq-pause", seed=SEED, scale=SCALE)
    s = result.summary
    assert s["breaker"] == "cme-dcb+liq-pause"
    assert s["dcb_preopens"] == s["halts_count"] > 0
    assert s["liq_pause_deferred_checks"] >= s["liquidations_deferred"] > 0
    assert s["halted_seconds"] > 0

