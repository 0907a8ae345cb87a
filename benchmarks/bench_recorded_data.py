"""Recorded market data (group ``recorded``): reading and normalising the vendored real
capture, and its counterfactual replay, measured in the same run.

Data: ``replays/data/binance-usdm-btcusdt-20240808.gz`` (150 s of Binance BTCUSDT depth
diffs, bookTicker and trades; 34,371 messages).  The full sample runs with ``-m slow``; the
default run reads its first 40 s (sliced into a temporary file, same mix).

* read: ``engine.data.read`` to the end -- decompress, parse, the depth sync rule, exact
  conversion to ticks and lots, numpy batches; messages/s = capture lines / that time.
* floor: decompress and ``json.loads`` every line and nothing else -- what any Python reader
  of this format pays; ratio = read / floor.
* replay: ``engine.runner.run_recorded`` (plan pass, the run, time series, summary);
  events/s = rows of its event log / that time; ratio = replay / read.
* peak memory of the read: ``tracemalloc``'s peak of Python allocations during a separate,
  untimed read (it slows what it traces); peak RSS of the process after the replay.
The test asserts regression guards on the two ratios (figures in ``extra_info``); absolute
speed is never asserted (a property of the machine).
"""
from __future__ import annotations

import gzip
import json
import pathlib
import resource
import time
import tracemalloc

import pytest

from engine.data import read
from engine.runner import run_recorded

REAL = pathlib.Path(__file__).resolve().parents[1] / "replays/data/binance-usdm-btcusdt-20240808.gz"
READ_GUARD = 8.0        # read / floor: measured 2.9 (full), 3.6 (first 40 s)
REPLAY_GUARD = 15.0     # replay / read: measured 4.0 (full), 7.7 (first 40 s: the run's
                        # fixed costs -- plan pass, time series, facts -- weigh more)


def _slice(tmp_path, seconds):
    if seconds is None:
        return str(REAL)
    out = tmp_path / "slice.gz"
    with gzip.open(REAL, "rt") as src, gzip.open(out, "wt") as dst:
        t0 = None
        for line in src:
            ts = int(line.split(" ", 1)[0])
            t0 = ts if t0 is None else t0
            if ts - t0 >= seconds * 10**9:
                break
            dst.write(line)
    return str(out)


def _floor(path) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = 0
    with gzip.open(path, "rt") as f:
        for line in f:
            json.loads(line.split(" ", 1)[1])
            n += 1
    return time.perf_counter() - t0, n


def _read(path) -> tuple[float, int]:
    t0 = time.perf_counter()
    rows = sum(len(b) for b in read([path]))
    return time.perf_counter() - t0, rows


def _bench(benchmark, tmp_path, seconds, repeats):
    path = _slice(tmp_path, seconds)
    floor_s, messages = min(_floor(path) for _ in range(repeats))
    read_s, rows = min(_read(path) for _ in range(repeats))
    tracemalloc.start()
    sum(len(b) for b in read([path]))
    read_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    replay_s, events = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = run_recorded([path])
        replay_s = min(replay_s, time.perf_counter() - t0)
        events = r.summary["events_processed"]
        del r
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = {"messages": messages, "rows": rows, "read_s": round(read_s, 3),
            "messages_per_s": round(messages / read_s), "rows_per_s": round(rows / read_s),
            "floor_s": round(floor_s, 3), "ratio_read_over_floor": round(read_s / floor_s, 2),
            "read_peak_traced_mb": round(read_peak / 2**20, 1), "events": events,
            "replay_s": round(replay_s, 3), "events_per_s": round(events / replay_s),
            "ratio_replay_over_read": round(replay_s / read_s, 2),
            "peak_rss_mb": round(rss)}
    benchmark.extra_info.update(info)
    print(f"\nrecorded ({'full' if seconds is None else f'first {seconds} s'}): {messages:,} "
          f"messages read in {read_s:.2f} s = {messages / read_s:,.0f} messages/s "
          f"({rows / read_s:,.0f} rows/s), {read_s / floor_s:.2f}x gzip+json alone, traced "
          f"peak {read_peak / 2**20:.1f} MB; replay {events:,} events in {replay_s:.2f} s = "
          f"{events / replay_s:,.0f} events/s ({replay_s / read_s:.2f}x the read); "
          f"peak RSS {rss:,.0f} MB")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert read_s / floor_s <= READ_GUARD
    assert replay_s / read_s <= REPLAY_GUARD


@pytest.mark.benchmark(group="recorded")
def test_reading_and_replaying_the_first_40_s_of_the_capture_stay_within_the_guards(
        benchmark, tmp_path):
    _bench(benchmark, tmp_path, 40, repeats=1)


@pytest.mark.slow
@pytest.mark.benchmark(group="recorded")
def test_reading_and_replaying_the_whole_capture(benchmark, tmp_path):
    _bench(benchmark, tmp_path, None, repeats=3)
