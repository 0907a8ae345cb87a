"""RunResult: conversion of the event log, atomic and byte-deterministic saving."""
from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine.outputs.results as results
from engine.outputs.metrics import Sampler, build_timeseries, summarize
from engine.outputs.results import RunResult, events_array, events_table, kind_names
from engine.venue.events import EVENT_DTYPE, EventKind, EventLog

S = 1_000_000_000
FILES = ["events.parquet", "scenario.toml", "summary.json", "timeline.png", "timeseries.parquet"]


def log_array() -> np.ndarray:
    log = EventLog()
    log.append(0, EventKind.TRADE, side=1, inst=0, account=3, other=4, order_id=9, other_id=8,
               price=100_000, qty=5, value=500_000)
    log.append(S, EventKind.LIQUIDATION_ORDER, side=-1, account=7, order_id=10, price=99_000,
               qty=2, reason=3)
    log.append(S, EventKind.LIQUIDATION_UNFILLED, side=-1, account=7, order_id=10, qty=2,
               value=-(2**62))
    log.append(2 * S, EventKind.BAD_DEBT, account=2**32 - 1, value=2**63 - 1)
    return log.to_array()


@pytest.fixture
def result(eng):
    ins = eng.instrument()
    sampler = Sampler(ins, inst=0)
    for ts in (0, S, 2 * S):
        row = {n: 0 for n in sampler.column_names}
        row.update(ts=ts, best_bid=99, best_ask=101, last=-1, mark=-1, index=-1)
        sampler.append(row)
    arr = log_array()[:2]
    table = build_timeseries(sampler, arr, S, baseline_end_ns=S)
    summary = summarize(table, arr, scenario="unit", breaker="none", seed=7, instrument=ins,
                        index_start_ticks=None, baseline_end_ns=S, insurance_fund_start=0,
                        wall_seconds=1.0)
    scenario = {"name": "unit", "seed": 7, "tick": Decimal("0.1"), "fraction": Fraction(1, 4),
                "missing": None, "breaker": {"kind": "none", "bands": (1, 2)}}
    return RunResult(summary, table, arr, scenario)


def test_run_result_events_are_the_logs_table_built_once_on_first_read(result):
    arr = result.events_array
    first = result.events
    assert first is result.events                       # cached, not rebuilt
    assert first.equals(events_table(arr))
    with pytest.raises(TypeError, match="events"):
        RunResult(result.summary, result.timeseries, arr["ts"].copy(), {})


def test_events_table_round_trips_every_column_and_dtype():
    arr = log_array()
    table = events_table(arr)
    assert table.column_names == list(EVENT_DTYPE.names)
    for name in EVENT_DTYPE.names:
        assert table.column(name).type == pa.from_numpy_dtype(EVENT_DTYPE[name])
    back = events_array(table)
    assert back.tobytes() == arr.tobytes()


def test_events_table_rejects_other_dtypes():
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        events_table(np.zeros(3, dtype=np.int64))


def test_events_parquet_carries_kind_names_in_schema_metadata(result, tmp_path):
    result.save(tmp_path / "run")
    table = pq.read_table(tmp_path / "run" / "events.parquet")
    names = kind_names(table)
    assert names[int(EventKind.LIQUIDATION_UNFILLED)] == "LIQUIDATION_UNFILLED"
    assert set(names) == {int(k) for k in EventKind}
    assert table.column("kind").type == pa.uint8()


def test_save_writes_the_four_data_files_and_a_timeline_chart(result, tmp_path):
    out = result.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == FILES
    text = (out / "summary.json").read_text()
    assert text == json.dumps(result.summary, indent=2, sort_keys=True) + "\n"
    ts = pq.read_table(out / "timeseries.parquet")
    assert ts.equals(result.timeseries)
    assert ts.schema.metadata == result.timeseries.schema.metadata
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_without_a_chart_writes_only_the_data_files(result, tmp_path):
    out = result.save(tmp_path / "run", chart=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(set(FILES) - {"timeline.png"})


def test_scenario_toml_drops_none_and_writes_exact_numbers_as_strings(result, tmp_path):
    out = result.save(tmp_path / "run")
    data = tomllib.loads((out / "scenario.toml").read_text())
    assert data == {"name": "unit", "seed": 7, "tick": "0.1", "fraction": "1/4",
                    "breaker": {"kind": "none", "bands": [1, 2]}}


def test_save_is_atomic_no_partial_files_on_failure(result, tmp_path, monkeypatch):
    real = results.write_parquet
    calls = []

    def failing(table, path):
        calls.append(path.name)
        if path.name == "events.parquet":       # after summary.json and timeseries.parquet
            raise OSError("disk full")
        real(table, path)

    monkeypatch.setattr(results, "write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        result.save(tmp_path / "run")
    assert calls == ["timeseries.parquet", "events.parquet"]
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []      # no staging directory left behind


def test_a_failed_save_creates_no_parent_directories_either(result, tmp_path, monkeypatch):
    def failing(table, path):
        raise OSError("disk full")

    monkeypatch.setattr(results, "write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        result.save(tmp_path / "a" / "b" / "run")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert (result.save(tmp_path / "a" / "b" / "run") / "summary.json").exists()


def test_failed_save_leaves_a_previous_result_untouched(result, tmp_path, monkeypatch):
    out = result.save(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def failing(data, path):
        raise OSError("boom")

    monkeypatch.setattr(results, "write_toml", failing)
    with pytest.raises(OSError):
        RunResult({**result.summary, "seed": 8}, result.timeseries, result.events,
                  result.scenario_resolved).save(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_summary_with_nan_is_rejected_before_any_file_is_written(result, tmp_path):
    bad = RunResult({**result.summary, "amplification": float("nan")}, result.timeseries,
                    result.events, result.scenario_resolved)
    with pytest.raises(ValueError):
        bad.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_parquet_output_is_byte_identical_for_equal_data(result, tmp_path):
    a = result.save(tmp_path / "a")
    twin = RunResult(dict(result.summary), pa.Table.from_pydict(
        result.timeseries.to_pydict(), schema=result.timeseries.schema),
        events_table(events_array(result.events)), dict(result.scenario_resolved))
    b = twin.save(tmp_path / "b")
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    md = pq.ParquetFile(a / "events.parquet").metadata
    assert set(md.metadata) == {b"ARROW:schema", b"kinds", b"columns"}


def test_to_pandas_needs_pandas(result):
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            result.to_pandas()
    else:
        frames = result.to_pandas()
        assert list(frames["events"]["kind_name"]) == ["TRADE", "LIQUIDATION_ORDER"]
