"""``RunResult.to_pandas``: real units by default (quote currency, base units, seconds, NaN
where there is none), the stored integers with ``units="raw"``; and the one column table
behind docs/columns.md, ``liqsim columns`` and the parquet metadata."""
from __future__ import annotations

import json
import pathlib
import sys
from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import pytest

import engine
from engine.cli import main
from engine.outputs.columns import EVENT_COLUMNS, markdown, timeseries_columns

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


pd = pytest.importorskip("pandas")
ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run():
    return engine.run(GAP_DROP, breaker="luld", seed=1, scale=Fraction(1, 50))


def test_the_time_series_frame_is_in_quote_currency_and_base_units_with_nan_for_none(run):
    raw = run.timeseries
    df = run.to_pandas("timeseries")
    assert np.allclose(df["time_s"], raw.column("ts").to_numpy() / 1e9)
    ask = raw.column("best_ask").to_numpy()
    assert df["best_ask"].isna().sum() == (ask < 0).sum() > 0       # an empty side: NaN
    assert np.allclose(df["best_ask"][ask >= 0], ask[ask >= 0] * 0.1)   # ticks of 0.1 USDT
    assert np.allclose(df["open_interest"], raw.column("open_interest_lots").to_numpy() * 0.001)
    assert np.allclose(df["insurance_fund"], raw.column("insurance_fund").to_numpy() * 1e-8)
    assert (df["spread_bps"].dropna() >= 0).all()
    assert run.to_pandas("timeseries", units="raw")["best_ask"].min() == -1


def test_the_event_frame_leaves_nan_where_a_kind_fills_no_column(run):
    df = run.to_pandas("events")
    trades = df[df["kind_name"] == "TRADE"]
    assert trades["price"].notna().all() and (trades["value"] > 0).all()
    marks = df[df["kind_name"] == "MARK_UPDATED"]
    assert marks["qty"].isna().all() and marks["value"].isna().all()
    halts = df[df["kind_name"] == "TRADING_HALTED"]
    assert list(halts["reason_name"]) == ["LULD"] * len(halts) and len(halts) > 0
    assert "time_s" in df and "ts" not in df
    raw = run.to_pandas("events", units="raw")
    assert raw["price"].dtype == np.int64 and len(raw) == len(df)


def test_to_pandas_without_which_gives_both_and_a_bad_argument_is_refused(run):
    both = run.to_pandas()
    assert set(both) == {"timeseries", "events"}
    with pytest.raises(ValueError, match="which"):
        run.to_pandas("trades")
    with pytest.raises(ValueError, match="units"):
        run.to_pandas("events", units="cents")


def test_without_pandas_the_error_says_how_to_install_it(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"liqsim\[notebook\]"):
        run.to_pandas("timeseries")


def test_docs_columns_md_is_the_generated_table():
    assert (ROOT / "docs" / "columns.md").read_text() == markdown()


def test_liqsim_columns_prints_the_table(capsys):
    assert main(["columns"]) == 0
    assert capsys.readouterr().out == markdown() + "\n"


def test_every_saved_column_has_its_unit_in_the_parquet_metadata(run, tmp_path):
    run.save(tmp_path / "r", chart=False)
    ts = pq.read_table(tmp_path / "r" / "timeseries.parquet")
    meta = json.loads(ts.schema.metadata[b"liqsim.timeseries"])
    assert set(meta["columns"]) == set(ts.column_names)
    assert [n for n, _, _ in timeseries_columns(meta["bands_ppm"])] == ts.column_names
    ev = pq.read_table(tmp_path / "r" / "events.parquet")
    assert set(json.loads(ev.schema.metadata[b"columns"])) == set(ev.column_names)
    assert [n for n, _, _ in EVENT_COLUMNS] == ev.column_names
