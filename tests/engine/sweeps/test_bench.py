"""``liqsim bench``: what it measures is the same work on both sides of each ratio, and
its JSON names every figure issue 17 asks for."""
from __future__ import annotations

import json
from fractions import Fraction

from engine.cli import main
from engine.sweeps import bench
from engine.venue.events import ORDER_ROW


def test_the_floor_logs_one_row_per_order_and_per_cancel_of_a_resting_order():
    from orderbook.enums import GTC, IOC, LIMIT
    flow = [(0, 1, 7, 1, 100, 5, GTC, LIMIT, False, False, 0),     # a bid rests
            (0, 2, 8, -1, 101, 5, GTC, LIMIT, False, False, 0),    # an ask rests
            (0, 3, 9, 1, 101, 2, IOC, LIMIT, False, False, 0),     # an IOC takes part of it
            (0, 1), (0, 99)]                                  # cancel the bid; unknown id
    assert bench.floor_loop(flow) == 4 * ORDER_ROW.size
    assert bench.book_loop(flow) == len(flow)


def test_the_engine_and_the_book_replay_time_the_same_run(tmp_path):
    cfg = dict(scale=Fraction(1, 50), overrides=bench.REDUCED["overrides"][:2]
               + ['index.path=[[0, "100000"], [40, "100000"], [100, "94000"], [120, "95000"]]',
                  "flows.0.window=[40, 100]"])
    m = bench.engine_vs_book(cfg, 1)
    assert m["engine_events"] > 100_000 and m["book_calls"] > 10_000
    assert m["engine_vs_book"] > m["engine_vs_floor"] > 0 and m["peak_rss_mb"] > 50
    assert len(m["engine_vs_floor_runs"]) == 1


def test_the_bench_json_names_every_figure_and_judges_each_bar_on_workload_a_as_published(monkeypatch, capsys):
    monkeypatch.setattr(bench, "book_vs_reference", lambda n, r: {
        "book_vs_reference": 1.25, "workload_ops": n})
    monkeypatch.setattr(bench, "engine_vs_book", lambda cfg, r: {
        "engine_events_per_second": 700_000, "engine_vs_book": 2.9, "engine_vs_floor": 1.7,
        "peak_rss_mb": 300})
    monkeypatch.setattr(bench, "sweep_speedup", lambda *a, **k: {
        "sweep_speedup_2_workers": 1.85})
    monkeypatch.setattr(bench, "machine_speedup", lambda: {"machine_speedup_2_workers": 1.9})
    assert main(["bench", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("book_vs_reference", "engine_events_per_second", "engine_vs_book",
                "engine_vs_floor", "peak_rss_mb", "sweep_speedup_2_workers"):
        assert key in out
    assert out["workload_ops"] == 200_000       # workload A as published, even when quick
    assert {k: v["met"] for k, v in out["bars"].items()} == {
        "book_vs_reference": True, "engine_vs_floor": False, "sweep_speedup_2_workers": True}
