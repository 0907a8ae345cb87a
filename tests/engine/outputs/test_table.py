"""The summary table's cells (``engine.outputs.table``): what the terminal table and the
report print for each summary key."""
from __future__ import annotations

from engine.cli import print_table
from engine.outputs.table import _cell, event_time, not_measured


def test_a_compressed_runs_seconds_also_read_in_event_time():
    """oct-2025-btc runs 4x compressed: 30 halted run seconds are two event minutes, which
    a reader of "halted s 30" beside an event-minute timeline would otherwise misread."""
    s = {"halted_seconds": 30.0, "vacuum_seconds": 505.0, "halted_at_end": False,
         "vacuum_open_at_end": True, "liquidations_count": 7, "time": {"compression": "4"}}
    assert _cell(s, "halted_seconds") == "30 (event 2.0 min)"
    assert _cell(s, "vacuum_seconds") == "505 (event 33.7 min), still open"
    assert _cell(s, "liquidations_count") == "7"          # not a time


def test_a_float_reads_without_trailing_zeros_whatever_its_size():
    """107.0 beside 93.0 in one row read "107" and "93" (it was "107.00" and "93"); a mean
    of counts over seeds reads "1,960.8 (1,754-2,148)", not "1,960.80"."""
    assert _cell({"vacuum_seconds": 107.0}, "vacuum_seconds") == "107"
    assert _cell({"vacuum_seconds": 93.0}, "vacuum_seconds") == "93"
    assert _cell({"fill_failures_count": 1960.8, "range": {"fill_failures_count": (1754, 2148)}},
                 "fill_failures_count") == "1,960.8 (1,754-2,148)"
    assert _cell({"vacuum_seconds": 0.125}, "vacuum_seconds") == "0.125"


def test_an_uncompressed_run_or_a_zero_shows_the_plain_figure():
    assert _cell({"halted_seconds": 30.0, "time": {"compression": "1"}}, "halted_seconds") == "30"
    assert _cell({"halted_seconds": 0.0, "time": {"compression": "4"}}, "halted_seconds") == "0"
    assert _cell({"halted_seconds": 30.0}, "halted_seconds") == "30"


def test_event_time_picks_the_unit_that_keeps_it_at_least_two():
    assert event_time(30, 1) == "30.0 s"
    assert event_time(30, 4) == "2.0 min"
    assert event_time(100, 1152) == "32.0 h" and event_time(200, 1152) == "2.7 days"
    assert event_time(7.5, 1152) == "2.4 h"


def test_a_row_the_run_could_not_measure_says_so_and_why(capsys):
    # A recorded run's 1% depth reaches beyond its snapshot: "-" would read as "none".
    why = "depth within 1% reaches beyond the recorded book"
    s = {"breaker": "none", "scenario": "recorded:x", "seed": 0, "vacuum_seconds": None,
         "amplification": None, "not_measured": {"vacuum_seconds": why}}
    assert _cell(s, "vacuum_seconds") == "not measured"
    assert _cell(s, "amplification") == "-"              # no reason given: plain none
    assert not_measured([s, {"not_measured": {"vacuum_seconds": "other"}}]) == [
        ("vacuum_seconds", why)]
    print_table([s])
    out = capsys.readouterr().out
    assert f"not measured:\n  liquidity-vacuum s: {why}" in out



def test_an_inverse_runs_prices_are_labelled_in_its_quote_currency_and_money_in_its_coin(
        capsys):
    """XBTUSD: money (notional, fund, bad debt) in XBT, the lowest trade in USD."""
    from engine.outputs.table import SUMMARY_ROWS, row_label
    s = {"breaker": "none", "scenario": "mar-2020-bitmex", "seed": 0, "instrument": "XBTUSD",
         "quote_currency": "XBT", "min_price": 3552.0}
    labels = {key: row_label(key, label, s) for key, label, _ in SUMMARY_ROWS}
    assert labels["min_price"] == "lowest trade (USD)"
    assert labels["bad_debt"] == "bad debt (XBT)"
    linear = dict(s, instrument="BTCUSDT", quote_currency="USDT")
    assert row_label("min_price", "lowest trade ({q})", linear) == "lowest trade (USDT)"
    print_table([s])
    out = capsys.readouterr().out
    assert "(money in XBT, prices in USD)" in out and "lowest trade (USD)" in out
