"""The readers of recorded data: the real capture and the composed samples of each format,
normalised into one time-sorted stream in integer units."""
from __future__ import annotations

import gzip
import json
import pathlib
import tracemalloc

import numpy as np

from engine.data import Flag, Kind, inspect, open_reader, read, records

ROOT = pathlib.Path(__file__).resolve().parents[3]
REAL = str(ROOT / "replays/data/binance-usdm-btcusdt-20240808.gz")
SAMPLES = ROOT / "tests/data/recorded"


def rows(*paths):
    return np.concatenate(list(read([str(p) for p in paths])))


def ws_line(ts, msg):
    return f"{ts} {json.dumps(msg)}\n"


def diff(U, u, pu, bids=(), asks=(), E=1723161256000):
    return {"stream": "btcusdt@depth@0ms", "data": {
        "e": "depthUpdate", "E": E, "T": E, "s": "BTCUSDT", "U": U, "u": u, "pu": pu,
        "b": [list(x) for x in bids], "a": [list(x) for x in asks]}}


def snapshot(L, bid="61800.0", ask="61800.1"):
    return {"lastUpdateId": L, "E": 1723161256000, "T": 1723161256000,
            "bids": [[bid, "1.000"]], "asks": [[ask, "1.000"]]}


T = 1723161255000000000


def test_the_real_capture_syncs_to_its_snapshot_and_every_top_of_book_check_agrees():
    s = inspect([REAL])
    assert s["messages"] == {"bookTicker": 26300, "depthUpdate": 2857, "snapshot": 1,
                             "trade": 5213}
    assert (s["gaps"], s["resyncs"], s["crossed_books"]) == (0, 0, 0)
    # 6 diffs precede the snapshot: 4 older than it, 2 buffered and applied
    assert s["repairs"] == {"stale_diffs_dropped": 4}
    assert s["top_of_book_checked"] > 100 and s["top_of_book_agreement"] == 1.0


def test_a_break_of_the_pu_chain_is_a_gap_and_the_next_snapshot_resyncs(tmp_path):
    f = tmp_path / "cap.txt"
    f.write_text(ws_line(T, diff(90, 95, 89, bids=[("61799.0", "1.000")]))
                 + ws_line(T + 1, snapshot(100))
                 + ws_line(T + 2, diff(98, 105, 95, bids=[("61799.5", "2.000")]))
                 + ws_line(T + 3, diff(106, 110, 104, asks=[("61801.0", "1.000")]))  # gap
                 + ws_line(T + 4, diff(111, 115, 110))
                 + ws_line(T + 5, snapshot(112))
                 + ws_line(T + 6, diff(116, 120, 115, asks=[("61800.1", "0.000")])))
    s = inspect([str(f)])
    assert (s["gaps"], s["resyncs"]) == (1, 1)
    r = rows(f)
    gap = r[r["kind"] == Kind.GAP]
    assert gap[["update_id", "prev_id", "line"]].tolist() == [(105, 104, 4)]
    book = r[r["kind"] == Kind.BOOK]
    # the diff after the gap waited for the second snapshot and was applied at its time
    assert book[book["line"] == 5]["ts_local"].tolist() == [T + 5]
    # the first diff (stale) and the gapped one never became book rows
    assert not {1, 4} & set(book["line"].tolist())
    assert book[book["flags"] & Flag.CLEAR != 0]["line"].tolist() == [2, 6]


def test_a_diff_with_no_snapshot_after_the_gap_stops_the_book_and_says_so(tmp_path):
    f = tmp_path / "cap.txt"
    f.write_text(ws_line(T, snapshot(100)) + ws_line(T + 1, diff(99, 101, 98))
                 + ws_line(T + 2, diff(105, 106, 103)) + ws_line(T + 3, diff(107, 108, 106)))
    s = inspect([str(f)])
    assert s["gaps"] == 1 and s["repairs"]["diffs_without_snapshot"] == 1
    assert any("the book stops there" in n for n in s["notes"])


def test_the_stream_of_several_files_is_sorted_by_local_time_and_keeps_every_row():
    ws = SAMPLES / "binance-ws/btcusdt-forceorder-markprice-composed.txt"
    kl = SAMPLES / "binance/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2024-08-08.csv"
    merged = rows(REAL, ws, kl)
    assert np.all(np.diff(merged["ts_local"]) >= 0)
    assert len(merged) == len(rows(REAL)) + len(rows(ws)) + len(rows(kl))
    assert set(merged["source"].tolist()) == {0, 1, 2}


def test_trade_sides_are_the_takers_in_every_venue_convention(tmp_path):
    real = rows(REAL)
    t = real[real["kind"] == Kind.TRADE][:3]
    assert t["side"].tolist() == [1, 1, 1]          # "m": false -> the buyer took
    b = rows(SAMPLES / "binance/BTCUSDT-trades-2024-08-08.csv")
    assert b["side"][:2].tolist() == [1, -1]        # is_buyer_maker false, true
    assert np.all(b["flags"] & Flag.ONE_CLOCK) and np.all(b["ts_local"] == b["ts_exchange"])
    td = rows(SAMPLES / "tardis/binance-futures_trades_2024-08-08_BTCUSDT.csv.gz")
    assert td["side"][:2].tolist() == [-1, 1]       # sell, buy
    assert np.all(td["ts_local"] > td["ts_exchange"])   # two clocks kept apart
    assert td["price"][0] == 618000 and td["qty"][0] == 1


def test_liquidations_are_order_sides_and_binance_ones_are_flagged_throttled():
    for path in ("binance-ws/btcusdt-forceorder-markprice-composed.txt",
                 "tardis/binance-futures_liquidations_2024-08-08_BTCUSDT.csv",
                 "binance/BTCUSDT-liquidationSnapshot-2024-08-08.csv"):
        r = rows(SAMPLES / path)
        liq = r[r["kind"] == Kind.LIQUIDATION]
        assert liq["side"][0] == -1 and liq["price"][0] == 616500, path     # SELL at 61650
        assert np.all(liq["flags"] & Flag.THROTTLED), path
    r = rows(SAMPLES / "binance/BTCUSDT-liquidationSnapshot-2024-08-08.csv")
    assert len(r) == 3      # each row was there twice
    assert open_reader(SAMPLES / "binance/BTCUSDT-liquidationSnapshot-2024-08-08.csv") \
        is not None


def test_hyperliquid_counts_each_trade_once_and_the_liquidation_on_the_liquidated_leg():
    r = rows(SAMPLES / "hyperliquid/node_fills_by_block_20240808_23.jsonl")
    trades = r[r["kind"] == Kind.TRADE]
    assert len(trades) == len(set(trades["update_id"].tolist())) == 14
    liq = r[r["kind"] == Kind.LIQUIDATION]
    assert liq["side"].tolist() == [-1, -1]         # the liquidated long sold
    assert (liq["flags"] & Flag.BACKSTOP).astype(bool).tolist() == [False, True]
    assert liq["value"][0] == 61789                 # markPx 61788.7 rounded half-even, tick 1
    assert len(r[r["kind"] == Kind.ADL]) == 1


def test_mark_and_index_are_rounded_half_even_and_unchanged_ticker_fields_are_not_repeated():
    r = rows(SAMPLES / "tardis/binance-futures_derivative_ticker_2024-08-08_BTCUSDT.csv")
    mark = r[r["kind"] == Kind.MARK]
    assert mark["price"][0] == 618032              # 61803.2
    assert len(r[r["kind"] == Kind.OPEN_INTEREST]) == 1     # the same OI on every row
    k = rows(SAMPLES / "binance/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2024-08-08.csv")
    assert k["price"][:2].tolist() == [618032, 618007]     # open 61803.2, close 61800.7


def test_tardis_snapshot_runs_clear_the_book_and_rows_before_the_first_are_skipped():
    s = inspect([str(SAMPLES / "tardis/binance-futures_incremental_book_L2_2024-08-08_"
                                "BTCUSDT.csv.gz")])
    assert s["resyncs"] == 1 and s["crossed_books"] == 0
    assert s["repairs"] == {"rows_before_first_snapshot_skipped": 1}
    s = inspect([str(SAMPLES / "tardis/binance-futures_book_snapshot_25_2024-08-08_"
                                "BTCUSDT.csv")])
    assert s["messages"] == {"book_snapshot_25": 6}


def test_a_book_that_crosses_after_a_diff_is_counted(tmp_path):
    f = tmp_path / "cap.txt"
    f.write_text(ws_line(T, snapshot(100)) + ws_line(T + 1, diff(99, 101, 98,
                                                               bids=[("61800.5", "1.000")])))
    assert inspect([str(f)])["crossed_books"] == 1


def _trades_file(path, n):
    with gzip.open(path, "wt") as f:
        f.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        for k in range(n):
            t = 1723161260000000 + 1000 * k
            f.write(f"binance-futures,BTCUSDT,{t},{t + 5},{k},buy,61800.{k % 10},0.001\n")


def test_reading_memory_does_not_grow_with_the_files_length(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "BATCH_ROWS", 512)   # several batches in a small file
    peaks = []
    for n in (5_000, 20_000):
        path = tmp_path / f"binance-futures_trades_{n}_BTCUSDT.csv.gz"
        _trades_file(path, n)
        tracemalloc.start()
        count = sum(len(b) for b in read([str(path)]))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == n
    assert peaks[1] < 1.5 * peaks[0], peaks
