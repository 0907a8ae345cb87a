"""Metrics: the sampler, the interval time series and the run summary.

Units of the test instrument (``eng.instrument``): tick 1 quote unit, lot 0.001, quantum
0.001 quote, ``tick_lot_quanta == 1``, ``Q == 1000`` quantums per quote unit.
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from engine.venue.accounts import INSURANCE_ID
from engine.venue.events import EVENT_DTYPE, EventKind as K
from engine.outputs.metrics import (ADDED_BY_RUN, KINDS_READ, SUMMARY_KEYS, Sampler, band_name,
                                    build_timeseries, display, in_log_order, rows_of_kinds,
                                    summarize, timeseries_meta)

S = 1_000_000_000          # one second in ns
Q = 1000


def make_events(*rows) -> np.ndarray:
    """EVENT_DTYPE array from dicts (missing fields 0, seq = row number)."""
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, r in enumerate(rows):
        out[i]["seq"] = i
        for k, v in r.items():
            out[i][k] = int(v)
    return out


def ev(ts, kind, **kw):
    return dict(ts=ts, kind=int(kind), **kw)


def state(sampler, ts, *, bid=99, ask=101, depth1=1000, index=-1, last=-1, fund=0, halted=0,
          spread=None, **extra):
    """One hand-built sample: ``depth1`` quantums on each side within every band."""
    row = {n: 0 for n in sampler.column_names}
    row.update(ts=ts, best_bid=bid, best_ask=ask, last=last, mark=-1, index=index,
               insurance_fund=fund, halted=halted,
               spread_bps=spread if spread is not None else -1)
    for b in sampler.bands_ppm:
        row[f"bid_depth_{band_name(b)}"] = depth1
        row[f"ask_depth_{band_name(b)}"] = depth1
    row.update(extra)
    sampler.append(row)


@pytest.fixture
def ins(eng):
    return eng.instrument()


def series(ins, samples, events=(), *, interval=S, baseline_end=0, **kw):
    sampler = Sampler(ins, inst=0)
    for s in samples:
        state(sampler, **s) if isinstance(s, dict) else state(sampler, s)
    arr = events if isinstance(events, np.ndarray) else make_events(*events)
    return build_timeseries(sampler, arr, interval, baseline_end_ns=baseline_end, **kw), arr


def summary_of(ins, table, arr, **kw):
    args = dict(scenario="t", breaker="none", seed=1, instrument=ins, index_start_ticks=None,
                baseline_end_ns=0, insurance_fund_start=0, wall_seconds=2.0)
    args.update(kw)
    return summarize(table, arr, **args)


# ------------------------------------------------------------------------ sampler
def test_band_column_names_carry_the_percentage(ins):
    names = Sampler(ins, bands_ppm=(2_500, 5_000, 10_000, 50_000)).column_names
    for n in ("bid_depth_0_25pct", "ask_depth_0_5pct", "bid_depth_1pct", "ask_depth_5pct"):
        assert n in names


def test_sampler_depth_matches_book_depth_notional_within_each_band(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, 10**9 * Q)
    ex.open_account(0, 2, 10**9 * Q)
    eng.ladder(ex, 0, 1, 0, 1, 99_990, 250, 30, 3)     # bids 99,990 down to ~92,700
    eng.ladder(ex, 0, 2, 0, -1, 100_010, 250, 30, 2)   # asks 100,010 up
    book = ex.books[0]
    sampler = Sampler(ex.instruments[0])
    sampler.sample(5 * S, book, ex, 100_000, False)
    row = {n: sampler.columns[n][0] for n in sampler.column_names}
    tlq = ex.instruments[0].tick_lot_quanta
    for ppm in sampler.bands_ppm:
        for side, name in ((1, "bid"), (-1, "ask")):
            want = book.depth_notional(side, book.band_limit(side, ppm)) * tlq
            assert row[f"{name}_depth_{band_name(ppm)}"] == want > 0
    assert (row["best_bid"], row["best_ask"], row["index"]) == (99_990, 100_010, 100_000)
    assert row["mark"] == eng.MARK and row["halted"] == 0
    assert row["insurance_fund"] == ex.fund.wallet and row["backstop"] == ex.backstop.wallet


def test_spread_is_in_hundredths_of_a_basis_point(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, 10**9 * Q)
    eng.post(ex, 0, 1, 0, 1, 99_950, 1)
    eng.post(ex, 0, 1, 0, -1, 100_050, 1)
    sampler = Sampler(ex.instruments[0])
    sampler.sample(0, ex.books[0], ex, None, False)
    # 100 / 100_000 = 10 bp = 1000 hundredths of a bp.
    assert sampler.columns["spread_bps"] == [1000]
    assert sampler.columns["index"] == [-1]


def test_sampler_reports_minus_one_for_empty_sides_and_zero_depth(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, 10**9 * Q)
    eng.post(ex, 0, 1, 0, 1, 99_950, 1)                 # bids only: no mid
    sampler = Sampler(ex.instruments[0])
    sampler.sample(0, ex.books[0], ex, None, True)
    c = sampler.columns
    assert c["best_bid"] == [99_950] and c["best_ask"] == [-1] and c["spread_bps"] == [-1]
    assert c["bid_depth_1pct"] == [0] and c["ask_depth_5pct"] == [0]
    assert c["last"] == [-1] and c["halted"] == [1]


def test_open_interest_defaults_to_sum_of_long_sizes_and_takes_callers_value(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, 10**9 * Q)
    ex.seed_positions(0, 0, 1, [(10, 10**6 * Q, 7, eng.MARK, 0), (11, 10**6 * Q, 5, eng.MARK, 0),
                                (12, 10**6 * Q, -4, eng.MARK, 0)])
    sampler = Sampler(ex.instruments[0])
    sampler.sample(0, ex.books[0], ex, None, False)
    sampler.sample(S, ex.books[0], ex, None, False, open_interest=99)
    # Longs 7 + 5, and account 1 is short 8: long OI = 12.
    assert sampler.columns["open_interest_lots"] == [12, 99]


# -------------------------------------------------------------------- time series
def test_interval_aggregates_bucket_events_by_ts_floor_interval(ins):
    events = [
        ev(0, K.MARGIN_CALL, side=1), ev(0, K.LIQUIDATION_ORDER, side=-1),
        ev(0, K.LIQUIDATION_FILLED, side=-1, value=700),
        ev(0, K.LIQUIDATION_UNFILLED, side=-1, value=300),
        ev(S - 1, K.TRADE, value=50), ev(S, K.TRADE, value=60), ev(S, K.TRADE, value=70),
        ev(2 * S + 5, K.AUTO_DELEVERAGED, value=40), ev(2 * S + 6, K.INSURANCE_TAKEOVER, value=8),
        ev(2 * S + 7, K.BACKSTOP_TAKEOVER, value=2), ev(S + 1, K.LIQUIDATION_DEFERRED, reason=121),
        ev(S + 2, K.LIQUIDATION_DEFERRED, reason=121),
    ]
    table, _ = series(ins, [0, S, 2 * S], events)
    c = table.to_pydict()
    assert c["ts"] == [0, S, 2 * S]
    assert c["liquidations"] == [1, 0, 0] and c["liquidation_orders"] == [1, 0, 0]
    assert c["liquidations_notional"] == [700, 0, 50]         # each lot once: filled + off book
    assert c["liquidations_filled_notional"] == [700, 0, 0]
    assert c["liquidations_off_book_notional"] == [0, 0, 50]
    assert c["fill_failures"] == [1, 0, 0]
    assert c["liquidations_deferred"] == [0, 2, 0]
    assert c["trades"] == [1, 2, 0] and c["volume_notional"] == [50, 130, 0]
    assert c["adl_fills"] == [0, 0, 1] and c["adl_notional"] == [0, 0, 40]
    assert c["insurance_takeovers"] == [0, 0, 1] and c["backstop_takeovers"] == [0, 0, 1]
    assert all(v == 0 or v == 1 for v in c["vacuum"])


def test_events_of_other_instruments_are_ignored(ins):
    events = [ev(0, K.TRADE, inst=1, value=50), ev(0, K.TRADE, inst=0, value=9)]
    table, _ = series(ins, [0], events)
    assert table.column("volume_notional").to_pylist() == [9]


def test_sampled_state_is_last_sample_in_bucket_and_carried_forward(ins):
    samples = [dict(ts=0, bid=90), dict(ts=S // 2, bid=91), dict(ts=3 * S, bid=92)]
    table, _ = series(ins, samples, interval=S)
    assert table.column("ts").to_pylist() == [0, S, 2 * S, 3 * S]
    assert table.column("best_bid").to_pylist() == [91, 91, 91, 92]


def test_vacuum_flag_set_when_depth_below_fraction_of_baseline(ins):
    # Baseline: mean of (bid + ask) 1% depth over ts < 2 s = mean(2000, 6000) = 4000.
    samples = [dict(ts=0, depth1=1000), dict(ts=S, depth1=3000),
               dict(ts=2 * S, depth1=500),       # 1000 < 4000/4: vacuum
               dict(ts=3 * S, depth1=499),       # 998 < 1000: vacuum
               dict(ts=4 * S, depth1=501)]       # 1002: not
    table, _ = series(ins, samples, baseline_end=2 * S)
    assert table.column("vacuum").to_pylist() == [0, 0, 0, 1, 0]
    assert timeseries_meta(table)["depth_baseline_1pct"] == "4000"
    half, _ = series(ins, samples, baseline_end=2 * S, vacuum_fraction=Fraction(1, 2))
    assert half.column("vacuum").to_pylist() == [0, 0, 1, 1, 1]


def test_vacuum_flag_is_exact_at_the_threshold(ins):
    # Baseline 1000 x 2 sides: threshold 1/4 x 2000 = 500 exactly; 500 is not below it.
    samples = [dict(ts=0, depth1=1000), dict(ts=S, depth1=250), dict(ts=2 * S, depth1=249)]
    table, _ = series(ins, samples, baseline_end=S)
    assert table.column("vacuum").to_pylist() == [0, 0, 1]


def test_no_baseline_sample_means_no_vacuum_and_null_baseline(ins):
    table, arr = series(ins, [dict(ts=5 * S, depth1=0)], baseline_end=0)
    assert table.column("vacuum").to_pylist() == [0]
    s = summary_of(ins, table, arr)
    assert s["depth_baseline_1pct"] is None and s["min_depth_1pct_ratio"] is None


def test_float_vacuum_fraction_is_rejected(ins):
    with pytest.raises(TypeError, match="vacuum_fraction"):
        series(ins, [0], vacuum_fraction=0.25)


def test_timeseries_is_integer(ins):
    import pyarrow as pa
    table, _ = series(ins, [0, S])
    assert all(pa.types.is_integer(f.type) for f in table.schema)


def test_display_converts_money_and_prices_to_quote_floats(ins):
    table, _ = series(ins, [dict(ts=0, bid=99, ask=-1, depth1=1500, fund=2500 * Q,
                                 spread=1234, open_interest_lots=1500)])
    d = display(table, ins).to_pydict()
    assert d["best_bid"] == [99.0] and d["best_ask"] == [None]
    assert d["bid_depth_1pct"] == [1.5] and d["insurance_fund"] == [2500.0]
    assert d["spread_bps"] == [12.34] and d["open_interest"] == [1.5]
    assert d["time_s"] == [0.0]


# ------------------------------------------------------------------------ summary
def test_amplification_is_book_drawdown_over_index_drawdown(ins):
    samples = [dict(ts=0, index=1000), dict(ts=S, index=950), dict(ts=2 * S, index=980)]
    events = [ev(0, K.TRADE, price=1000, qty=1, value=1000),
              ev(S, K.TRADE, price=850, qty=1, value=850),
              ev(2 * S, K.TRADE, price=900, qty=1, value=900)]
    table, arr = series(ins, samples, events, baseline_end=S)
    s = summary_of(ins, table, arr, index_start_ticks=1000, baseline_end_ns=S)
    assert s["start_price"] == 1000.0 and s["min_price"] == 850.0
    assert s["book_drawdown_pct"] == 15.0 and s["index_drawdown_pct"] == 5.0
    assert s["amplification"] == 3.0


def test_amplification_is_null_when_index_did_not_fall(ins):
    samples = [dict(ts=0, index=1000), dict(ts=S, index=1000), dict(ts=2 * S, index=1010)]
    events = [ev(0, K.TRADE, price=1000), ev(S, K.TRADE, price=900)]
    table, arr = series(ins, samples, events, baseline_end=S)
    s = summary_of(ins, table, arr, index_start_ticks=1000, baseline_end_ns=S)
    assert s["book_drawdown_pct"] == 10.0 and s["index_drawdown_pct"] == 0.0
    assert s["amplification"] is None


def test_min_price_falls_back_to_best_bid_and_start_to_mid_without_trades(ins):
    samples = [dict(ts=0, bid=998, ask=1002), dict(ts=S, bid=900), dict(ts=2 * S, bid=950)]
    table, arr = series(ins, samples, baseline_end=S)
    s = summary_of(ins, table, arr, baseline_end_ns=S)
    assert s["start_price"] == 1000.0 and s["min_price"] == 900.0
    assert s["book_drawdown_pct"] == 10.0


def test_a_unit_and_each_of_its_lots_count_once_however_many_orders_it_took(ins):
    """One margin call, three orders: 600 filled in the book, two orders that found nothing
    (their remainders are not liquidated notional), then 1,400 taken over by the fund."""
    events = [ev(0, K.MARGIN_CALL, side=1),
              ev(0, K.LIQUIDATION_ORDER, side=-1),
              ev(0, K.LIQUIDATION_FILLED, side=-1, value=600 * Q),
              ev(0, K.LIQUIDATION_UNFILLED, side=-1, value=1400 * Q),
              ev(S, K.LIQUIDATION_ORDER, side=-1),
              ev(S, K.LIQUIDATION_UNFILLED, side=-1, value=1400 * Q),
              ev(2 * S, K.LIQUIDATION_ORDER, side=-1),
              ev(2 * S, K.LIQUIDATION_UNFILLED, side=-1, value=1400 * Q),
              ev(2 * S, K.INSURANCE_TAKEOVER, side=1, value=1400 * Q)]
    table, arr = series(ins, [0, S, 2 * S], events)
    s = summary_of(ins, table, arr)
    assert s["liquidations_count"] == 1 and s["liquidation_orders"] == 3
    assert s["fill_failures_count"] == 3                      # orders, by definition
    assert s["liquidations_notional"] == 2000.0               # not 600 + 3 x 1,400
    assert s["liquidations_filled_notional"] == 600.0
    assert s["liquidations_off_book_notional"] == 1400.0
    assert s["liquidation_fill_ratio"] == 0.3


def test_the_funds_offload_counts_as_liquidated_notional_that_reached_the_book(ins):
    """600 filled at once, 1,400 taken over by the fund, which sells 1,000 of it back
    through the book as a taker; another account's trade does not count."""
    events = [ev(0, K.LIQUIDATION_FILLED, side=-1, value=600 * Q),
              ev(0, K.INSURANCE_TAKEOVER, side=1, value=1400 * Q),
              ev(S, K.TRADE, side=-1, account=INSURANCE_ID, other=7, value=1000 * Q),
              ev(S, K.TRADE, side=-1, account=8, other=7, value=500 * Q)]
    table, arr = series(ins, [0, S], events)
    s = summary_of(ins, table, arr)
    assert s["fund_offload_notional"] == 1000.0
    assert s["liquidations_through_book_share"] == 0.8        # (600 + 1,000) / 2,000
    assert s["liquidation_fill_ratio"] == 0.3


def test_an_inverse_contracts_money_keeps_its_satoshis_and_a_linear_ones_its_cents(ins):
    """A coin-margined summary rounds to the coin's quantum, not to 0.01 of the coin (~$50
    of XBT in March 2020): 123,456,789 satoshis are 1.23456789 XBT, not 1.23."""
    from engine.venue.instruments import bitmex_xbtusd
    xbt = bitmex_xbtusd()
    events = [ev(0, K.LIQUIDATION_FILLED, side=-1, value=123_456_789)]
    table, arr = series(xbt, [0], events)
    assert summary_of(xbt, table, arr)["liquidations_notional"] == 1.23456789
    table, arr = series(ins, [0], [ev(0, K.LIQUIDATION_FILLED, side=-1, value=123_456_789)])
    assert summary_of(ins, table, arr)["liquidations_notional"] == 123456.79   # cents


def test_the_peak_minute_is_one_event_minute_on_a_compressed_clock(ins):
    """Two liquidations 20 run seconds apart share a 60-s window, but at 4x a run second is
    four event seconds: the peak event minute (15 run seconds) holds one of them."""
    events = [ev(0, K.LIQUIDATION_FILLED, side=-1, value=100),
              ev(20 * S, K.LIQUIDATION_FILLED, side=-1, value=100)]
    table, arr = series(ins, [0, 20 * S], events)
    assert summary_of(ins, table, arr)["peak_minute_liquidation_share"] == 1.0
    assert summary_of(ins, table, arr, time_compression=4)["peak_minute_liquidation_share"] == 0.5


def test_long_share_counts_long_positions_whether_sold_or_taken_over(ins):
    events = [ev(0, K.LIQUIDATION_FILLED, side=-1, value=300),      # a long sold off
              ev(0, K.INSURANCE_TAKEOVER, side=1, value=400),       # a long taken over
              ev(0, K.AUTO_DELEVERAGED, side=-1, value=100),        # a long ADL'd (sells)
              ev(0, K.BACKSTOP_TAKEOVER, side=-1, value=100),       # a short to the backstop
              ev(0, K.LIQUIDATION_FILLED, side=1, value=100)]       # a short bought back
    table, arr = series(ins, [0], events)
    assert summary_of(ins, table, arr)["long_liquidation_share"] == 0.8


def test_adl_units_count_bankrupt_units_and_adl_fills_their_counterparties(ins):
    events = [ev(S, K.AUTO_DELEVERAGED, account=5, other=9, value=10),
              ev(S, K.AUTO_DELEVERAGED, account=5, other=10, value=10),
              ev(S, K.AUTO_DELEVERAGED, account=6, other=9, value=10)]
    table, arr = series(ins, [0, S], events)
    s = summary_of(ins, table, arr)
    assert s["adl_units"] == 2 and s["adl_fills"] == 3


def test_fund_equity_is_reported_beside_its_cash(ins):
    samples = [dict(ts=0, fund=1000 * Q, insurance_fund_equity=1000 * Q),
               dict(ts=S, fund=900 * Q, insurance_fund_equity=600 * Q),
               dict(ts=2 * S, fund=900 * Q, insurance_fund_equity=700 * Q)]
    table, arr = series(ins, samples)
    s = summary_of(ins, table, arr, insurance_fund_start=1000 * Q)
    assert (s["insurance_fund_min"], s["insurance_fund_end"]) == (900.0, 900.0)
    assert (s["insurance_fund_equity_min"], s["insurance_fund_equity_end"]) == (600.0, 700.0)


def test_the_sampled_fund_equity_marks_its_taken_over_position(eng):
    ex = eng.exchange()
    ex.open_account(0, 1, 10**9 * Q)
    ex.transfer_position(0, ex.fund.id, 1, 0, 10, eng.MARK)     # the fund is long 10 lots
    ex.set_mark(0, 0, eng.MARK - 1_000)                         # ... 1,000 below its entry
    sampler = Sampler(ex.instruments[0])
    sampler.sample(0, ex.books[0], ex, None, False)
    assert sampler.columns["insurance_fund_equity"] == [ex.fund.wallet - 10 * 1_000]


def test_max_mark_index_gap_is_the_widest_relative_gap(ins):
    samples = [dict(ts=0, index=1000, mark=1000), dict(ts=S, index=1000, mark=1038),
               dict(ts=2 * S, index=1000, mark=-1)]
    table, arr = series(ins, samples)
    assert summary_of(ins, table, arr)["max_mark_index_gap_pct"] == 3.8


@pytest.mark.parametrize("flags,open_at_end", [((0, 1, 1), True), ((1, 1, 0), False)])
def test_a_vacuum_or_halt_still_open_at_the_end_is_flagged_as_censored(ins, flags,
                                                                       open_at_end):
    samples = [dict(ts=0, depth1=1000)] + [dict(ts=(k + 1) * S, depth1=10 if f else 1000,
                                                 halted=f) for k, f in enumerate(flags)]
    table, arr = series(ins, samples, baseline_end=S)
    s = summary_of(ins, table, arr, baseline_end_ns=S)
    assert s["vacuum_open_at_end"] is open_at_end and s["halted_at_end"] is open_at_end
    assert s["vacuum_seconds"] == 2.0 and s["halted_seconds"] == 2.0


def test_peak_minute_share(ins):
    # 100 at 0 s, 300 at 50 s, 200 at 100 s, 400 at 200 s: total 1000.  Sliding windows
    # [t, t + 60 s): from 0 s 400, from 50 s 500 (the peak), from 100 s 200, from 200 s 400.
    events = [ev(0, K.LIQUIDATION_FILLED, value=100),
              ev(50 * S, K.INSURANCE_TAKEOVER, value=300),
              ev(100 * S, K.LIQUIDATION_FILLED, value=200),
              ev(200 * S, K.LIQUIDATION_FILLED, value=400)]
    table, arr = series(ins, [0, 200 * S], events)
    assert summary_of(ins, table, arr)["peak_minute_liquidation_share"] == 0.5
    # A window is half-open: an event exactly 60 s later is not in it.
    events2 = [ev(0, K.LIQUIDATION_FILLED, value=100), ev(60 * S, K.LIQUIDATION_FILLED, value=100)]
    table2, arr2 = series(ins, [0], events2)
    assert summary_of(ins, table2, arr2)["peak_minute_liquidation_share"] == 0.5


def test_shares_are_null_without_liquidations(ins):
    table, arr = series(ins, [0])
    s = summary_of(ins, table, arr)
    assert s["long_liquidation_share"] is None and s["peak_minute_liquidation_share"] is None
    assert s["liquidation_fill_ratio"] is None and s["liquidations_notional"] == 0.0


def test_vacuum_seconds_and_min_depth_ratio(ins):
    samples = [dict(ts=0, depth1=1000), dict(ts=S, depth1=200), dict(ts=2 * S, depth1=100),
               dict(ts=3 * S, depth1=800)]
    table, arr = series(ins, samples, baseline_end=S)
    s = summary_of(ins, table, arr, baseline_end_ns=S)
    assert s["vacuum_seconds"] == 2.0
    assert s["min_depth_1pct_ratio"] == 0.1
    assert s["depth_baseline_1pct"] == 2.0                    # 2000 quantums = 2 quote


def test_liquidations_deferred_counts_deferral_episodes_of_the_instrument(ins):
    events = [ev(S, K.LIQUIDATION_DEFERRED, account=5, reason=121),
              ev(S, K.LIQUIDATION_DEFERRED, account=6, reason=120),
              ev(S, K.LIQUIDATION_DEFERRED, inst=1, account=7, reason=121),
              ev(2 * S, K.LIQUIDATION_ORDER, account=5)]
    table, arr = series(ins, [0, S, 2 * S], events)
    assert summary_of(ins, table, arr)["liquidations_deferred"] == 2


def test_halts_count_and_halted_seconds(ins):
    samples = [dict(ts=0), dict(ts=S, halted=1), dict(ts=2 * S, halted=1), dict(ts=3 * S)]
    events = [ev(S, K.TRADING_HALTED), ev(3 * S, K.TRADING_RESUMED)]
    table, arr = series(ins, samples, events)
    s = summary_of(ins, table, arr)
    assert s["halts_count"] == 1 and s["halted_seconds"] == 2.0


def test_insurance_fund_start_min_end_and_bad_debt_from_the_log(ins):
    samples = [dict(ts=0, fund=1000 * Q), dict(ts=S, fund=200 * Q), dict(ts=2 * S, fund=500 * Q)]
    events = [ev(S, K.BAD_DEBT, value=1234), ev(S, K.BAD_DEBT, inst=1, value=1000),
              ev(S, K.AUTO_DELEVERAGED, value=5 * Q)]
    table, arr = series(ins, samples, events)
    s = summary_of(ins, table, arr, insurance_fund_start=1000 * Q)
    assert (s["insurance_fund_start"], s["insurance_fund_min"], s["insurance_fund_end"]) == \
        (1000.0, 200.0, 500.0)
    assert s["bad_debt"] == 2.23                              # 2234 quantums, half-even cents
    assert s["adl_fills"] == 1 and s["adl_notional"] == 5.0


def test_max_spread_is_in_basis_points(ins):
    table, arr = series(ins, [dict(ts=0, spread=1234), dict(ts=S, spread=-1)])
    assert summary_of(ins, table, arr)["max_spread_bps"] == 12.34


def test_a_book_with_an_empty_side_counts_as_one_sided_and_has_no_spread(ins):
    samples = [dict(ts=0, spread=200), dict(ts=S, ask=-1), dict(ts=2 * S, bid=-1, ask=-1),
               dict(ts=3 * S, bid=-1), dict(ts=4 * S, spread=300)]
    s = summary_of(ins, *series(ins, samples))
    assert s["one_sided_seconds"] == 3.0
    assert s["max_spread_bps"] == 3.0


def test_summary_has_every_documented_key(ins):
    table, arr = series(ins, [0, S], [ev(0, K.TRADE, price=100)])
    s = summary_of(ins, table, arr)
    assert set(s) == set(SUMMARY_KEYS) - set(ADDED_BY_RUN)
    assert all(SUMMARY_KEYS[k].strip() for k in SUMMARY_KEYS)
    assert s["events_processed"] == 1 and s["events_per_second"] == 0.5


def test_summary_is_deterministic_and_json_serialisable(ins):
    samples = [dict(ts=0, index=1000), dict(ts=S, index=900)]
    events = [ev(0, K.TRADE, price=1000, value=1000), ev(S, K.TRADE, price=700, value=700),
              ev(S, K.LIQUIDATION_FILLED, side=-1, value=77)]
    a = summary_of(ins, *series(ins, samples, events, baseline_end=S), baseline_end_ns=S)
    b = summary_of(ins, *series(ins, samples, events, baseline_end=S), baseline_end_ns=S)
    assert json.dumps(a, sort_keys=True, allow_nan=False) == json.dumps(b, sort_keys=True)


def test_the_outputs_read_the_same_from_the_rows_of_their_kinds_as_from_the_whole_log(ins):
    """``engine.run`` hands the time series and the summary only the rows of ``KINDS_READ``
    (``rows_of_kinds``) and the log's length: same table, same summary (bad debt is
    venue-wide, ``events_processed`` counts every row)."""
    events = [ev(0, K.ORDER_ACCEPTED, side=1), ev(0, K.TRADE, side=1, price=100, qty=1,
                                                   value=5 * Q),
              ev(0, K.MARGIN_CALL, side=1), ev(S, K.ORDER_CANCELLED, side=-1),
              ev(S, K.LIQUIDATION_FILLED, side=-1, value=600 * Q),
              ev(S, K.BAD_DEBT, inst=1, value=7 * Q), ev(S, K.ORDER_ACCEPTED, side=-1),
              ev(2 * S, K.INSURANCE_TAKEOVER, side=1, value=1400 * Q),
              ev(2 * S, K.TRADE, side=-1, price=90, qty=2, value=9 * Q)]
    table, arr = series(ins, [0, S, 2 * S], events)
    read = rows_of_kinds(arr, KINDS_READ)
    assert len(read) == len(arr) - 3 and np.all(np.diff(read["seq"].astype(np.int64)) > 0)
    sub_table, _ = series(ins, [0, S, 2 * S], read)
    assert sub_table.equals(table)
    whole = summary_of(ins, table, arr)
    assert whole["bad_debt"] == 7.0 and whole["events_processed"] == 9
    assert summary_of(ins, sub_table, read, events_processed=len(arr)) == whole


def test_rows_already_in_log_order_are_kept_and_others_sorted_by_time_then_seq():
    """``in_log_order``: rows in (ts, seq) order come back as they are (no sort); rows out of
    it -- a later time first, or equal times with seq descending -- are sorted."""
    rows = make_events(ev(0, K.TRADE), ev(S, K.TRADE), ev(S, K.TRADE), ev(2 * S, K.TRADE))
    assert in_log_order(rows) is rows
    shuffled = rows[[2, 0, 3, 1]]
    assert in_log_order(shuffled).tobytes() == rows.tobytes()
    swapped = rows[[0, 2, 1, 3]]               # equal times, seq 2 before seq 1
    assert in_log_order(swapped).tobytes() == rows.tobytes()


def test_the_baseline_window_is_never_scored_as_a_vacuum(ins):
    # Baseline (ts < 3 s): mean(2000, 200, 2000) = 1400, threshold 350.  The thin row at 1 s
    # is part of the baseline, not a vacuum; the one at 4 s is.
    samples = [dict(ts=0, depth1=1000), dict(ts=S, depth1=100), dict(ts=2 * S, depth1=1000),
               dict(ts=3 * S, depth1=1000), dict(ts=4 * S, depth1=100)]
    table, arr = series(ins, samples, baseline_end=3 * S)
    assert table.column("vacuum").to_pylist() == [0, 0, 0, 0, 1]
    s = summary_of(ins, table, arr, baseline_end_ns=3 * S)
    assert s["vacuum_seconds"] == 1.0 and s["min_depth_1pct_ratio"] == round(200 / 1400, 6)
    # one rule: without a vacuum row after the event start, the worst ratio is above the
    # threshold and no second is a vacuum
    table, arr = series(ins, samples[:4], baseline_end=3 * S)
    s = summary_of(ins, table, arr, baseline_end_ns=3 * S)
    assert s["vacuum_seconds"] == 0.0 and s["min_depth_1pct_ratio"] > 0.25
