"""The stylized-facts scorer: each fact PASSes on a run that shows it, FAILs on one that does
not, and is NOT MEASURABLE (with its reason) when the run cannot show it.

Synthetic runs are real ones as far as the scorer can tell: a ``Sampler`` filled row by row,
an ``EVENT_DTYPE`` log (``eng.events``), ``build_timeseries``.  Test instrument
(``eng.instrument``): tick 1 quote unit, lot 0.001, quantum 0.001 quote (``Q`` = 1000 quantums per quote unit).  One row
per second, the event starting at 60 s.
"""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from engine.cli import main
from engine.outputs.facts import (DEFAULT_TARGETS, FAIL, NOT_MEASURABLE, PASS, RunView,
                                  facts_summary, facts_table, merge_targets, score)
from engine.outputs.metrics import Sampler, band_name, build_timeseries
from engine.outputs.seeds import over_seeds
from engine.venue.codes import WithdrawalReason
from engine.venue.events import EventKind as K

S = 1_000_000_000
START = 60 * S
N = 180
P0 = 100_000                 # ticks


def ev(t_s, kind, **kw):
    return dict(ts=int(t_s * S), kind=int(kind), **kw)


def _series(value, n):
    if callable(value):
        return [int(value(t)) for t in range(n)]
    return [int(value)] * n if not isinstance(value, list) else value


@pytest.fixture
def make_view(eng):
    ins = eng.instrument()

    def build(*, n=N, price=P0, last=None, depth1=1_000_000, depth5=None, index=P0, oi=1000,
              fund=10**6, spread=100, events=(), breaker="none", extra=None, scenario=None,
              start=START):
        sampler = Sampler(ins, inst=0)
        price, depth1, index, oi, fund, spread = (_series(v, n) for v in
                                                  (price, depth1, index, oi, fund, spread))
        last = price if last is None else _series(last, n)
        depth5 = [4 * d for d in depth1] if depth5 is None else _series(depth5, n)
        for t in range(n):
            row = {name: 0 for name in sampler.column_names}
            row.update(ts=t * S, best_bid=price[t] - 1, best_ask=price[t] + 1,
                       spread_bps=spread[t], last=last[t], mark=price[t], index=index[t],
                       open_interest_lots=oi[t], insurance_fund=fund[t],
                       insurance_fund_equity=fund[t])
            for b in sampler.bands_ppm:
                d = depth5[t] if b > 10_000 else depth1[t]
                row[f"bid_depth_{band_name(b)}"] = d // 2
                row[f"ask_depth_{band_name(b)}"] = d - d // 2
            sampler.append(row)
        arr = eng.events(*events)
        sampler.funding = "funding_rate_ppb" in (extra or {})    # a run with funding on
        table = build_timeseries(sampler, arr, S, baseline_end_ns=start)
        for name, values in (extra or {}).items():
            column = pa.array(_series(values, n), type=pa.int64())
            at = table.schema.get_field_index(name)
            table = table.set_column(at, name, column) if at >= 0 else \
                table.append_column(name, column)
        summary = {"breaker": breaker, "book_drawdown_pct": 10.0, "vacuum_seconds": 5.0}
        return RunView(summary, table, arr, scenario or {})
    return build


def fact(view, fid, targets=None, against=None):
    return score(view, targets, against)[fid - 1]


def drop(t0, t1, p0=P0, p1=90_000):
    """A price path: p0 until t0, linear to p1 at t1, then flat."""
    return lambda t: p0 if t <= t0 else p1 if t >= t1 else p0 + (p1 - p0) * (t - t0) // (t1 - t0)


def liq(t_s, value, side=-1, kind=K.LIQUIDATION_FILLED, **kw):
    """A liquidated row: by default a sell closing a long, filled in the book."""
    return ev(t_s, kind, side=side, value=value, **kw)


# ------------------------------------------------------------------------- fact 1
def test_fact1_passes_when_near_depth_vanishes_before_the_move_and_deep_depth_survives(
        make_view):
    s = fact(make_view(price=drop(80, 100), depth1=lambda t: 1_000_000 if t < 70 else 50_000,
                       depth5=lambda t: 4_000_000 if t < 70 else 2_000_000), 1)
    assert s.verdict == PASS, s.figure
    assert s.values["near_fall"] == 0.95 and s.values["lead_s"] == 20
    assert s.values["deep_kept"] == 0.5 and "20 s before" in s.figure


def test_fact1_fails_when_depth_thins_only_after_the_move(make_view):
    s = fact(make_view(price=drop(80, 100), depth1=lambda t: 1_000_000 if t < 120 else 0), 1)
    assert s.verdict == FAIL and s.values["lead_s"] is None


def test_fact1_fails_when_the_deeper_bids_vanish_too(make_view):
    s = fact(make_view(price=drop(80, 100), depth1=lambda t: 1_000_000 if t < 70 else 0,
                       depth5=lambda t: 4_000_000 if t < 70 else 0), 1)
    assert s.verdict == FAIL and s.values["lead_s"] == 20 and s.values["deep_kept"] == 0


def test_fact1_is_not_measurable_without_a_pre_event_baseline_or_a_move(make_view):
    assert fact(make_view(start=0), 1).verdict == NOT_MEASURABLE
    s = fact(make_view(), 1)
    assert s.verdict == NOT_MEASURABLE and "never fell" in s.figure


def test_fact1_scores_the_plunge_not_a_larger_rebound_off_the_low(make_view):
    # A 10% plunge at 80-100 s, then a 20% rebound at 130-140 s.  Near depth goes at 70 s,
    # before the plunge; on the old reading (the largest absolute move) the rebound at 135 s
    # was scored, 65 s "before" it.
    price = lambda t: drop(80, 100)(t) if t < 130 else \
        min(108_000, 90_000 + (t - 130) * 1_800)
    s = fact(make_view(price=price, depth1=lambda t: 1_000_000 if t < 70 else 50_000,
                       depth5=lambda t: 4_000_000 if t < 70 else 2_000_000), 1)
    assert s.verdict == PASS, s.figure
    assert s.values["move_return"] < 0 and s.values["move_at_s"] < 100
    assert s.values["lead_s"] == 20 and "fall" in s.figure


def test_fact1_is_not_measurable_when_the_price_only_rises(make_view):
    s = fact(make_view(price=lambda t: P0 + 100 * t), 1)
    assert s.verdict == NOT_MEASURABLE and "never fell" in s.figure


# ------------------------------------------------------------------------- fact 2
def test_fact2_passes_when_the_peak_minute_dominates_and_the_rate_jumps(make_view):
    events = [liq(10, 1_000)] + [liq(100 + k, 100_000) for k in range(10)]
    s = fact(make_view(events=events), 2)
    assert s.verdict == PASS, s.figure
    # event: 1e6 over 120 s; baseline: 1e3 over 60 s -> 500x
    assert s.values["peak_share"] == 1.0 and s.values["rate_ratio"] == 500


def test_fact2_fails_when_liquidations_are_spread_over_the_event(make_view):
    events = [liq(10, 1_000)] + [liq(60 + k, 1_000) for k in range(540)]
    s = fact(make_view(n=600, events=events), 2)
    assert s.verdict == FAIL and s.values["peak_share"] == pytest.approx(60 / 540, abs=1e-6)


def test_fact2_is_not_measurable_when_the_baseline_liquidated_no_long(make_view):
    s = fact(make_view(events=[liq(100, 100_000), liq(10, 500, side=1)]), 2)
    assert s.verdict == NOT_MEASURABLE and "baseline liquidated no long" in s.figure
    assert fact(make_view(), 2).figure == "no liquidation during the event"


# ------------------------------------------------------------------------- fact 3
REBOUND_INDEX = lambda t: 90_000 if t == 100 else (P0 if t < 100 else 95_000)  # noqa: E731


def test_fact3_passes_with_mostly_longs_and_shorts_liquidated_on_the_rebound(make_view):
    events = [liq(80, 85_000), liq(120, 15_000, side=1)]
    s = fact(make_view(index=REBOUND_INDEX, events=events), 3)
    assert s.verdict == PASS, s.figure
    assert s.values["long_share"] == 0.85 and s.values["shorts_after_low"] == 1


def test_fact3_fails_when_only_longs_are_liquidated(make_view):
    s = fact(make_view(index=REBOUND_INDEX, events=[liq(80, 85_000)]), 3)
    assert s.verdict == FAIL and s.values["long_share"] == 1.0
    assert s.values["shorts_after_low"] == 0


def test_fact3_counts_a_takeover_by_the_position_side(make_view):
    # a fund takeover row carries the position's side: +1 = a long
    events = [liq(80, 85_000, side=1, kind=K.INSURANCE_TAKEOVER), liq(120, 15_000, side=1)]
    assert fact(make_view(index=REBOUND_INDEX, events=events), 3).values["long_share"] == 0.85


def test_fact3_is_not_measurable_when_the_run_ends_at_the_low(make_view):
    events = [liq(80, 85_000), liq(90, 15_000, side=1)]
    s = fact(make_view(index=lambda t: P0 - t, events=events), 3)
    assert s.verdict == NOT_MEASURABLE and "no rebound" in s.figure


# ------------------------------------------------------------------------- fact 4
def test_fact4_passes_when_the_venue_trades_several_percent_under_the_index_low(make_view):
    s = fact(make_view(index=lambda t: 95_000 if t >= 90 else P0,
                       events=[ev(95, K.TRADE, price=90_000, qty=1, value=90_000)]), 4)
    assert s.verdict == PASS and s.values["gap_pct"] == pytest.approx(5.2632, abs=1e-4)


def test_fact4_fails_when_the_venue_low_is_close_to_the_index_low(make_view):
    s = fact(make_view(index=lambda t: 95_000 if t >= 90 else P0,
                       events=[ev(95, K.TRADE, price=94_900, qty=1, value=94_900)]), 4)
    assert s.verdict == FAIL and s.values["venue_low"] == 94_900


def test_fact4_target_can_be_overridden(make_view):
    view = make_view(index=lambda t: 95_000 if t >= 90 else P0,
                     events=[ev(95, K.TRADE, price=90_000, qty=1, value=90_000)])
    s = fact(view, 4, targets={4: {"gap_pct_min": 10}})
    assert s.verdict == FAIL and s.target == {"gap_pct_min": 10}


def test_fact4_is_not_measurable_without_an_index(make_view):
    assert fact(make_view(index=-1), 4).verdict == NOT_MEASURABLE


# ------------------------------------------------------------------------- fact 5
def test_fact5_is_not_measurable_without_collateral_and_says_so(make_view):
    s = fact(make_view(), 5)
    assert s.verdict == NOT_MEASURABLE and "no collateral" in s.figure


def test_fact5_with_collateral_still_needs_a_collateral_price_series(make_view):
    s = fact(make_view(events=[ev(90, K.COLLATERAL_SEIZED, account=1000, qty=5, value=10)]), 5)
    assert s.verdict == NOT_MEASURABLE and "seized 1 times" in s.figure


# ------------------------------------------------------------------------- fact 6
def _fills_then_peak(adl_at=None, adl_value=0):
    events = [liq(61 + k, 1_000) for k in range(5)]                  # before: all filled
    events += [liq(140 + k, 100) for k in range(10)]                  # peak: a little filled
    events += [liq(140 + k, 10_000, side=-1, kind=K.INSURANCE_TAKEOVER) for k in range(10)]
    if adl_at is not None:
        events.append(liq(adl_at, adl_value, kind=K.AUTO_DELEVERAGED, other=1001))
    return events


def test_fact6_passes_when_fills_collapse_in_the_peak_and_adl_is_a_late_tail(make_view):
    fund = lambda t: 10**6 if t < 140 else 400_000   # noqa: E731
    s = fact(make_view(fund=fund, events=_fills_then_peak(145, 1_000)), 6)
    assert s.verdict == PASS, s.figure
    assert s.values["fill_ratio_before"] == 1.0
    assert s.values["fill_ratio_peak"] == pytest.approx(1_000 / 102_000, abs=1e-6)
    assert s.values["fund_left_at_first_adl"] == 0.4


def test_fact6_fails_when_adl_starts_with_the_fund_intact(make_view):
    s = fact(make_view(events=_fills_then_peak(145, 1_000)), 6)
    assert s.verdict == FAIL and s.values["fund_left_at_first_adl"] == 1.0


def test_fact6_does_not_ask_a_hyperliquid_run_for_a_drawn_fund_before_adl(make_view):
    """Hyperliquid's waterfall has no fund before ADL (a negative account goes to ADL, the
    vault backstops): the same run that fails on a Binance-style venue passes on (a), (b)."""
    events = _fills_then_peak(145, 1_000)
    hl = fact(make_view(events=events, scenario={"venue": {"instrument": "hyperliquid:BTC"}}),
              6)
    assert hl.verdict == PASS, hl.figure
    assert "no fund before ADL" in hl.figure and hl.values["fund_left_at_first_adl"] is None
    binance = fact(make_view(events=events, scenario={"venue": {
        "instrument": "hyperliquid:BTC", "waterfall": "binance"}}), 6)
    assert binance.verdict == FAIL


def test_fact6_fails_when_adl_is_most_of_the_liquidated_notional(make_view):
    fund = lambda t: 10**6 if t < 140 else 400_000   # noqa: E731
    s = fact(make_view(fund=fund, events=_fills_then_peak(145, 10**6)), 6)
    assert s.verdict == FAIL and s.values["adl_share"] > 0.9


def test_fact6_is_not_measurable_when_nothing_was_liquidated_before_the_peak(make_view):
    events = [liq(100 + k, 100) for k in range(10)]
    s = fact(make_view(events=events), 6)
    assert s.verdict == NOT_MEASURABLE and "none liquidated before it" in s.figure


def test_fact6_is_not_measurable_when_nothing_filled_in_the_book_before_the_peak(make_view):
    # every liquidation taken over off the book, before and in the peak: a fill ratio of 0
    # before cannot fall, so "fills fail" is not shown (it passed with 0.00 vs 0.00)
    events = [liq(61 + k, 1_000, side=-1, kind=K.INSURANCE_TAKEOVER) for k in range(5)]
    events += [liq(140 + k, 10_000, side=-1, kind=K.INSURANCE_TAKEOVER) for k in range(10)]
    s = fact(make_view(events=events), 6)
    assert s.values["fill_ratio_before"] == 0.0 == s.values["fill_ratio_peak"]
    assert s.verdict == NOT_MEASURABLE and "cannot fall" in s.figure


# ------------------------------------------------------------------------- fact 7
ADL_ON_MAKER = ev(100, K.AUTO_DELEVERAGED, side=1, account=1000, other=100, value=5)


def test_fact7_passes_when_a_maker_withdraws_after_its_adl(make_view):
    withdrew = ev(101, K.MAKER_WITHDREW, account=100, reason=int(WithdrawalReason.ADL))
    s = fact(make_view(events=[ADL_ON_MAKER, withdrew]), 7)
    assert s.verdict == PASS and s.values["adl_withdrawals"] == 1


def test_fact7_fails_when_adl_hits_a_maker_that_keeps_quoting(make_view):
    withdrew = ev(101, K.MAKER_WITHDREW, account=100, reason=int(WithdrawalReason.VOLATILITY))
    s = fact(make_view(events=[ADL_ON_MAKER, withdrew]), 7)
    assert s.verdict == FAIL and s.values["makers_hit_by_adl"] == 1


def test_fact7_is_not_measurable_without_adl_on_a_maker(make_view):
    assert fact(make_view(), 7).figure == "no ADL in this run"
    on_trader = ev(100, K.AUTO_DELEVERAGED, side=1, account=1000, other=1001, value=5)
    s = fact(make_view(events=[on_trader]), 7)
    assert s.verdict == NOT_MEASURABLE and "none against a market maker" in s.figure


# ------------------------------------------------------------------------- fact 8
V_PRICE = lambda t: P0 if t <= 80 else 90_000 if t <= 100 else 97_000   # noqa: E731


def test_fact8_passes_when_oi_falls_and_depth_lags_a_v_shaped_price(make_view):
    s = fact(make_view(price=V_PRICE, oi=lambda t: 1000 if t < 90 else 700,
                       depth1=lambda t: 1_000_000 if t < 80 else 200_000), 8)
    assert s.verdict == PASS, s.figure
    assert s.values == {"oi_fall_pct": 30.0, "depth_end_ratio": 0.2,
                        "price_recovered_share": 0.7}


def test_fact8_fails_when_open_interest_stays(make_view):
    s = fact(make_view(price=V_PRICE, depth1=lambda t: 1_000_000 if t < 80 else 200_000), 8)
    assert s.verdict == FAIL and s.values["oi_fall_pct"] == 0


def test_fact8_fails_when_depth_comes_back_faster_than_the_price(make_view):
    s = fact(make_view(price=V_PRICE, oi=lambda t: 1000 if t < 90 else 700), 8)
    assert s.verdict == FAIL and s.values["depth_end_ratio"] == 1.0


def test_fact8_is_not_measurable_without_open_interest(make_view):
    assert fact(make_view(oi=0), 8).verdict == NOT_MEASURABLE


# ------------------------------------------------------------------------- fact 9
def test_fact9_is_not_measurable_without_a_funding_column(make_view):
    s = fact(make_view(), 9)
    assert s.verdict == NOT_MEASURABLE and s.figure == "no funding in this run"


def test_fact9_passes_when_funding_turns_negative_after_the_low(make_view):
    view = make_view(index=REBOUND_INDEX,
                     extra={"funding_rate_ppb": lambda t: 100_000 if t < 100 else -50_000})
    s = fact(view, 9)
    assert s.verdict == PASS and s.values["rate_after_low_ppb"] == -50_000


def test_fact9_fails_when_funding_stays_where_it_was(make_view):
    s = fact(make_view(index=REBOUND_INDEX, extra={"funding_rate_ppb": 100_000}), 9)
    assert s.verdict == FAIL


# ------------------------------------------------------------------------ fact 10
CASCADE = [liq(80, 85_000)]


def test_fact10_passes_on_a_partial_rebound(make_view):
    s = fact(make_view(price=lambda t: P0 if t < 80 else 90_000 if t < 100 else 95_000,
                       events=CASCADE), 10)
    assert s.verdict == PASS and s.values["rebound_share"] == 0.5


@pytest.mark.parametrize("end", [90_000, P0])
def test_fact10_fails_with_no_rebound_or_a_full_one(make_view, end):
    s = fact(make_view(price=lambda t: P0 if t < 80 else 90_000 if t < 100 else end,
                       events=CASCADE), 10)
    assert s.verdict == FAIL


def test_fact10_is_not_measurable_when_the_price_did_not_fall(make_view):
    assert fact(make_view(events=CASCADE), 10).figure == "the price did not fall"


def test_fact10_is_not_measurable_without_a_cascade_to_recover_from(make_view):
    # A quiet market's drift (a recorded capture's 0.2%) is no crash: no rebound to score.
    s = fact(make_view(price=lambda t: P0 if t < 80 else 90_000 if t < 100 else 95_000), 10)
    assert s.verdict == NOT_MEASURABLE and "no liquidation during the event" in s.figure


# ------------------------------------------------------------------------ fact 11
def _volume_events():
    base = [ev(t, K.TRADE, price=P0, qty=1, value=1_000) for t in range(0, 60, 10)]
    peak = [ev(100 + k, K.TRADE, price=P0, qty=1, value=10_000) for k in range(10)]
    return base + peak + [liq(100, 50_000)]


def test_fact11_passes_when_volume_surges_while_depth_is_gone(make_view):
    s = fact(make_view(events=_volume_events(),
                       depth1=lambda t: 1_000_000 if t < 95 else 100_000), 11)
    assert s.verdict == PASS, s.figure
    # peak: 100k in 60 s; baseline: 6k in 60 s
    assert s.values["volume_ratio"] == pytest.approx(100_000 / 6_000, abs=1e-4)
    assert s.values["depth_ratio"] == 0.1


def test_fact11_volume_per_minute_is_per_event_minute_on_a_compressed_clock(make_view):
    """At 4x the peak window is 15 run seconds, one event minute: the 100k traded in it is
    100k an event minute, not 400k (it was scaled to 60 run seconds, four event minutes)."""
    events = _volume_events()
    plain = fact(make_view(events=events), 11)
    fast = fact(make_view(events=events, scenario={"scenario": {"time_compression": 4}}), 11)
    assert fast.values["peak_volume_per_min"] == plain.values["peak_volume_per_min"] == 100.0


def test_fact11_fails_when_depth_holds(make_view):
    s = fact(make_view(events=_volume_events()), 11)
    assert s.verdict == FAIL and s.values["depth_ratio"] == 1.0


def test_fact11_is_not_measurable_without_pre_event_volume(make_view):
    s = fact(make_view(events=_volume_events()[6:], depth1=lambda t: 10**6 if t < 95 else 0), 11)
    assert s.verdict == NOT_MEASURABLE and "no volume before the event" in s.figure


# ------------------------------------------------------------------------ fact 12
def test_fact12_is_not_measurable_without_outage_or_queue(make_view):
    s = fact(make_view(), 12)
    assert s.verdict == NOT_MEASURABLE and "no outage" in s.figure


def test_fact12_passes_on_an_outage_during_the_event(make_view):
    events = [ev(70, K.VENUE_WENT_DOWN), ev(90, K.VENUE_CAME_BACK)]
    s = fact(make_view(events=events), 12)
    assert s.verdict == PASS and s.values["down_s"] == 20


def test_fact12_reads_a_queue_column(make_view):
    flat = fact(make_view(extra={"queue_len": 3}), 12)
    assert flat.verdict == FAIL and flat.values["queue_max"] == 3
    rising = fact(make_view(extra={"queue_len": lambda t: 0 if t < 90 else 50}), 12)
    assert rising.verdict == PASS and rising.values["queue_max_before"] == 0


# ------------------------------------------------------------------------ fact 13
HALT = [ev(100, K.TRADING_HALTED, price=95_000, reason=2),
        ev(110, K.TRADING_RESUMED, price=95_000, reason=2)]
# slow, then fast into the trigger at 100 s
MAGNET = lambda t: P0 - 50 * max(0, t - 60) - 400 * max(0, t - 90)   # noqa: E731


def test_fact13_is_not_measurable_without_a_breaker(make_view):
    assert fact(make_view(), 13).figure == "no breaker"


def test_fact13_is_not_measurable_when_the_breaker_never_halted(make_view):
    s = fact(make_view(breaker="liq-throttle"), 13)
    assert s.verdict == NOT_MEASURABLE and "never halted trading (no trip)" in s.figure


def test_fact13_says_what_a_band_that_never_halted_did_to_orders(make_view):
    """LULD on oct-2025-btc never halts but caps thousands of market orders at its band:
    "never halted" alone would read as a policy that did nothing."""
    view = make_view(breaker="luld")
    view.summary.update(luld_market_capped=8705, luld_repriced=199, luld_rejected=0,
                        luld_pauses=0)
    s = fact(view, 13)
    assert s.verdict == NOT_MEASURABLE
    assert "luld_market_capped 8,705, luld_repriced 199" in s.figure
    assert s.values["order_actions"] == {"luld_market_capped": 8705, "luld_repriced": 199}


def test_fact13_passes_with_wider_spreads_after_reopening_and_a_magnet(make_view):
    s = fact(make_view(breaker="luld", price=MAGNET, events=HALT,
                       spread=lambda t: 500 if t >= 110 else 100), 13)
    assert s.verdict == PASS, s.figure
    assert s.values["spread_ratio"] == 5.0 and s.values["acceleration"] > 1


def test_fact13_fails_when_spreads_are_tighter_after_reopening(make_view):
    s = fact(make_view(breaker="luld", price=MAGNET, events=HALT,
                       spread=lambda t: 50 if t >= 110 else 100), 13)
    assert s.verdict == FAIL and s.values["spread_ratio"] == 0.5


def test_fact13_is_not_measurable_when_trading_never_reopened(make_view):
    s = fact(make_view(breaker="luld", price=MAGNET, events=HALT[:1]), 13)
    assert s.verdict == NOT_MEASURABLE and "never reopened" in s.figure


def test_fact13_compares_with_a_run_without_breaker(make_view):
    on = make_view(breaker="luld", price=MAGNET, events=HALT)
    on.summary.update(book_drawdown_pct=4.0, vacuum_seconds=1.0)
    s = fact(on, 13, against=make_view())
    assert s.values["against_none"] == {"book_drawdown_pct": [4.0, 10.0],
                                        "vacuum_seconds": [1.0, 5.0]}
    assert "vs none: drawdown 10% -> 4%, vacuum 5 s -> 1 s" in s.figure


# ------------------------------------------------------------------------ fact 14
def _orders(times):
    out = []
    for k, t in enumerate(times, 1):
        out += [ev(t, K.MARGIN_CALL, side=1, account=1000 + k, qty=1, value=-1),
                ev(t, K.LIQUIDATION_ORDER, side=-1, account=1000 + k, order_id=k, qty=1),
                liq(t, 100, account=1000 + k, order_id=k)]
    return out


def test_fact14_passes_when_the_one_per_second_stream_misses_most_orders(make_view):
    s = fact(make_view(events=_orders([100 + k / 20 for k in range(10)])), 14)
    assert s.verdict == PASS
    assert s.values["reported_orders"] == 1 and s.values["notional_share"] == 0.1
    assert s.values["count_share"] == 0.1


def test_fact14_fails_when_at_most_one_liquidation_happens_per_second(make_view):
    s = fact(make_view(events=_orders([100 + k for k in range(10)])), 14)
    assert s.verdict == FAIL and s.values["notional_share"] == 1.0


def test_fact14_is_not_measurable_without_liquidation_orders(make_view):
    assert fact(make_view(), 14).verdict == NOT_MEASURABLE


# ---------------------------------------------------------------- scoring, summary
def test_targets_reject_unknown_facts_names_and_non_numbers():
    with pytest.raises(ValueError, match="unknown fact"):
        merge_targets({15: {}})
    with pytest.raises(ValueError, match="targets.4.gap: unknown threshold"):
        merge_targets({4: {"gap": 1}})
    with pytest.raises(ValueError, match="finite number"):
        merge_targets({4: {"gap_pct_min": float("nan")}})
    assert merge_targets({"4": {"gap_pct_min": 5}})[4] == {"gap_pct_min": 5}
    assert DEFAULT_TARGETS[4] == {"gap_pct_min": 2.0}


def test_summary_counts_passes_and_measurable_facts(make_view):
    out = facts_summary(score(make_view()))
    verdicts = [f["verdict"] for f in out["facts"].values()]
    assert list(out["facts"]) == [str(i) for i in range(1, 15)]
    assert out["facts_reproduced"] == verdicts.count(PASS)
    assert out["facts_measurable"] == 14 - verdicts.count(NOT_MEASURABLE)
    json.dumps(out, allow_nan=False)


def test_the_table_has_one_row_per_fact_and_one_column_per_run(make_view):
    a = {"breaker": "none", **facts_summary(score(make_view()))}
    b = {"breaker": "luld", **facts_summary(score(make_view(breaker="luld")))}
    lines = facts_table([a, b])
    assert len(lines) == 16 and "none" in lines[0] and "luld" in lines[0]
    assert lines[13].startswith("13 breaker behaviour") and "no breaker" in lines[13]
    assert "never halted" in lines[13]


def test_facts_over_seeds_tally_the_verdicts(make_view):
    runs = [{"seed": k, "breaker": "none", **facts_summary(score(view))}
            for k, view in enumerate([make_view(events=CASCADE),
                                      make_view(price=drop(80, 100), events=CASCADE)])]
    merged = over_seeds(runs)["facts"]
    assert merged["10"]["verdict"] == "MIXED" and "NOT MEASURABLE 1/2" in merged["10"]["figure"]


# ----------------------------------------------------------------- saved runs, CLI
@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    import engine
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for breaker in ("none", "luld"):
        result = engine.run("flash-drop", breaker=breaker, seed=0, scale=0.02)
        out[breaker] = (result, result.save(root / breaker, chart=False))
    return out


def test_a_saved_run_scores_as_the_run_did_in_memory(saved_runs):
    result, directory = saved_runs["none"]
    again = facts_summary(score(RunView.load(directory)))
    assert again["facts"] == result.summary["facts"]
    assert again["facts"] == facts_summary(score(RunView.from_result(result)))["facts"]
    assert json.loads((directory / "summary.json").read_text())["facts"] == again["facts"]


def test_engine_run_writes_every_documented_summary_key(saved_runs):
    from engine.outputs.metrics import SUMMARY_KEYS
    result, _ = saved_runs["none"]
    assert set(SUMMARY_KEYS) <= set(result.summary)
    assert result.summary["facts_measurable"] >= result.summary["facts_reproduced"]


def test_replay_prints_one_row_per_fact_under_its_table(tmp_path, capsys):
    assert main(["replay", "flash-drop", "--scale", "0.02", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.splitlines()
    start = next(k for k, line in enumerate(out) if line.startswith("stylized facts"))
    assert [line[:2].strip() for line in out[start + 1:start + 15]] == \
        [str(i) for i in range(1, 15)]


def test_cli_facts_prints_the_table_and_against_prints_both(saved_runs, capsys):
    _, none_dir = saved_runs["none"]
    _, luld_dir = saved_runs["luld"]
    assert main(["facts", str(none_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith(" 1 quotes thin before price") for line in out)
    assert sum(line[:2].strip().isdigit() for line in out) == 14
    assert main(["facts", str(luld_dir), "--against", str(none_dir)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("stylized facts"))
    assert header.split()[-2:] == ["luld", "none"]
    assert "vs none:" in out


def test_cli_facts_against_a_run_of_another_seed_or_scale_warns_on_stderr(saved_runs, capsys,
                                                                        tmp_path):
    """Fact 13 reads the difference between the two runs as the breaker's: a seed's or a
    scale's difference read as a policy effect, silently."""
    import shutil
    _, none_dir = saved_runs["none"]
    _, luld_dir = saved_runs["luld"]
    assert main(["facts", str(luld_dir), "--against", str(none_dir)]) == 0
    assert capsys.readouterr().err == ""                  # same scenario, seed and scale
    other = tmp_path / "other"
    shutil.copytree(none_dir, other)
    summary = json.loads((other / "summary.json").read_text())
    (other / "summary.json").write_text(json.dumps(dict(summary, seed=3, scale=0.05)))
    assert main(["facts", str(luld_dir), "--against", str(other)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("liqsim: warning: ")
    assert "seed 0 vs 3" in err[0] and "scale 0.02 vs 0.05" in err[0] and "scenario" not in \
        err[0].split("differ in")[1], err


def test_cli_facts_against_a_run_with_other_scenario_settings_warns_naming_the_tables(
        saved_runs, capsys, tmp_path):
    """Runs of one scenario, seed and scale, one with a ``--set traders....``: fact 13 read
    the traders' difference as the breaker's, silently (only name, seed and scale were
    compared).  Another breaker's parameters are not a difference."""
    import shutil
    _, none_dir = saved_runs["none"]
    _, luld_dir = saved_runs["luld"]
    other = tmp_path / "other"
    shutil.copytree(none_dir, other)
    text = (other / "scenario.toml").read_text()
    key = next(line for line in text.splitlines() if line.startswith("leverage_median = "))
    (other / "scenario.toml").write_text(text.replace(key, 'leverage_median = "3"', 1))
    assert main(["facts", str(luld_dir), "--against", str(other)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].endswith("differ in the scenario's [traders]: their "
                                             "difference is not the breaker's alone"), err


def test_facts_or_account_of_a_comparison_directory_names_its_runs(saved_runs, capsys,
                                                                    tmp_path):
    """"runs/cmp/summary.json: expected a file of the saved run" did not say that the
    directory is a comparison, nor what to give instead."""
    import shutil
    cmp = tmp_path / "cmp"
    for name in ("none", "luld"):
        shutil.copytree(saved_runs[name][1], cmp / name)
    (cmp / "comparison.json").write_text("{}")
    for args in (["facts", str(cmp)], ["account", str(cmp), "5"]):
        assert main(args) == 2
        err = capsys.readouterr().err.splitlines()
        assert err == [f"liqsim: error: {cmp} is a comparison; give one of its runs: "
                       f"{cmp / 'luld'}, {cmp / 'none'}"], err


@pytest.mark.parametrize("damage,needle", [
    ("nodir", "expected a run directory"),
    ("events.parquet", "events.parquet: expected a file of the saved run"),
    ("summary.json=garbage", "summary.json: expected the run's summary as JSON"),
    ("timeseries.parquet=garbage", "timeseries.parquet: expected a liqsim time series"),
    ("events.parquet=garbage", "events.parquet: expected a liqsim event log"),
    ("scenario.toml= = =", "scenario.toml: expected the run's resolved scenario as TOML"),
])
def test_cli_facts_bad_input_is_one_line_and_exit_2(saved_runs, tmp_path, capsys, damage,
                                                    needle):
    import shutil
    _, source = saved_runs["none"]
    target = tmp_path / "run"
    if damage != "nodir":
        shutil.copytree(source, target)
        name, eq, text = damage.partition("=")
        if eq:
            (target / name).write_text(text)
        else:
            (target / name).unlink()
    assert main(["facts", str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err


def _damage_timeseries(path, how):
    import pyarrow.parquet as pq
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"liqsim.timeseries"])
    if how == "drop best_bid":
        table = table.drop_columns(["best_bid"])
    elif how == "index as text":
        k = table.column_names.index("index")
        table = table.set_column(k, "index", pa.array(["x"] * table.num_rows))
    elif how == "interval_ns null":
        meta["interval_ns"] = None
    elif how == "tick_size garbage":
        meta["tick_size"] = "abc"
    elif how == "feed void garbage":       # a recorded run's feed (metrics.feed_meta)
        meta["feed"] = {"book_range_ppm": None, "book_range": None, "void_ns": [[0]],
                        "index_is_mid": True}
    elif how == "feed bands garbage":
        meta["feed"] = {"book_range_ppm": [2400, 2800], "void_ns": [],
                        "bands_incomplete_ppm": ["1%"]}
    table = table.replace_schema_metadata({b"liqsim.timeseries": json.dumps(meta).encode()})
    pq.write_table(table, path)


# Found by the second fuzzing pass: each was an internal error (exit 1) in a fact or in the
# account's story.
@pytest.mark.parametrize("how,needle", [
    ("drop best_bid", "column 'best_bid': missing"),
    ("index as text", "column 'index': expected integers, got string"),
    ("interval_ns null", "metadata interval_ns: expected an integer >= 1, got None"),
    ("feed void garbage", "metadata feed: void_ns: expected a list of [start, end or null]"),
    ("feed bands garbage", "metadata feed: bands_incomplete_ppm: expected a list of integers"),
    ("tick_size garbage", "metadata tick_size: expected a decimal > 0, got 'abc'"),
    ("scenario.toml", "scenario.toml: expected the run's resolved scenario as TOML"),
])
def test_a_damaged_saved_time_series_is_one_line_and_exit_2_for_facts_and_account(
        saved_runs, tmp_path, capsys, how, needle):
    import shutil
    _, source = saved_runs["none"]
    target = tmp_path / "run"
    shutil.copytree(source, target)
    if how == "scenario.toml":      # an integer beyond int()'s 4300-digit limit
        (target / how).write_text("[run]\nseed = " + "9" * 5000 + "\n")
    else:
        _damage_timeseries(target / "timeseries.parquet", how)
    for args in (["facts", str(target)], ["account", str(target), "1000"]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize("key,value,needle", [
    ("scenario", None, "scenario: expected the scenario's name, got null"),
    ("time", "x", 'time: expected an object, got "x"'),
    ("facts", 5, "facts: expected an object of facts, got 5"),
    ("facts", {"1": "x"}, "facts: expected an object of facts"),
])
def test_a_damaged_saved_summary_is_one_line_and_exit_2_for_report_and_facts(
        saved_runs, tmp_path, capsys, key, value, needle):
    # Each was an internal error (exit 1) in ``liqsim report`` (found by the fuzzing pass).
    import shutil
    _, source = saved_runs["none"]
    target = tmp_path / "run"
    shutil.copytree(source, target)
    summary = json.loads((target / "summary.json").read_text())
    if value is None:
        del summary[key]
    else:
        summary[key] = value
    (target / "summary.json").write_text(json.dumps(summary))
    for args in (["report", str(target)], ["facts", str(target)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_fact9_compares_eight_hour_rates_and_a_fall_to_zero_is_no_flip(make_view):
    """100 ppb per 60 s is 48,000 ppb per 8 h: falling to 0 is neither a strict flip nor
    a fall of 100,000 (0.01%) per 8 h."""
    view = make_view(index=REBOUND_INDEX, scenario={"funding": {"interval_s": 60}},
                     extra={"funding_rate_ppb": lambda t: 100 if t < 100 else 0})
    s = fact(view, 9)
    assert s.verdict == FAIL and s.values["rate_before_ppb"] == 48_000


def test_fact1_does_not_count_thinning_inside_the_baseline_window(make_view):
    # depth within 1% thins at 10-20 s, inside the baseline window (START 60 s), and never
    # after the event start: the baseline is not scored against itself, as the vacuum
    s = fact(make_view(price=drop(80, 100),
                       depth1=lambda t: 50_000 if 10 <= t < 20 else 1_000_000), 1)
    assert s.verdict == FAIL and s.values["lead_s"] is None, s.figure
    assert s.values["near_fall"] < 0        # above its (thin-dragged) mean from the start on


def test_fact2_and_fact11_figures_name_the_money_currency(make_view):
    """"1.01k liquidated" and "5.55/min traded" read as counts without their currency."""
    q = make_view(events=_volume_events()).meta["quote_currency"]
    s2 = fact(make_view(events=[liq(10, 1_000)] + [liq(100 + k, 100_000) for k in range(10)]),
              2)
    assert f"1.00k {q} liquidated" in s2.figure, s2.figure
    s11 = fact(make_view(events=_volume_events()), 11)
    assert s11.figure.startswith(f"100.00 {q}/min traded"), s11.figure
