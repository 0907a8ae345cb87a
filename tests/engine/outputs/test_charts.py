"""Charts draw the run's own time series: every line is a column of it, in quote units."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import engine
from engine.outputs.charts import comparison_chart, comparison_figure, run_chart, run_figure

SMALL = Fraction(1, 50)


@pytest.fixture(scope="module")
def runs():
    return [(b, engine.run("flash-drop", breaker=b, seed=1, scale=SMALL).timeseries)
            for b in ("none", "luld")]


def _lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_a_run_chart_draws_prices_in_quote_units_from_the_time_series(runs):
    table = runs[0][1]
    fig = run_figure(table, "t")
    price, depth, liq, back = fig.axes
    seconds = table.column("ts").to_numpy() / 1e9
    last = table.column("last").to_numpy()
    line = _lines(price)["last trade"]
    assert np.array_equal(line.get_xdata(), seconds)
    drawn = np.asarray(line.get_ydata())
    assert np.array_equal(np.isnan(drawn), last < 0)           # no trade yet: no point
    assert np.allclose(drawn[last >= 0], last[last >= 0] * 0.1)  # ticks of 0.1 USDT
    assert {"index", "mark", "best bid", "best ask"} <= set(_lines(price))
    assert "vacuum threshold" in _lines(depth)


def test_the_depth_panel_is_depth_within_1pct_over_its_pre_event_baseline(runs):
    table = runs[0][1]
    depth = _lines(run_figure(table, "t").axes[1])
    ratio = np.asarray(depth["bid + ask"].get_ydata())
    before = table.column("ts").to_numpy() < 60 * 10**9          # flash-drop's quiet minute
    assert ratio[before].mean() == pytest.approx(1.0)
    assert ratio.min() < 0.25                                   # the vacuum


def test_a_comparison_draws_one_line_per_policy_in_every_panel(runs):
    fig = comparison_figure(runs, "t")
    price, depth, liq, back = fig.axes
    assert {"none: last trade", "luld: last trade"} <= set(_lines(price))
    assert {"none", "luld"} <= set(_lines(depth)) and {"none", "luld"} <= set(_lines(liq))
    for name, table in runs:
        unfilled = _lines(liq)[name].get_ydata()
        expect = np.cumsum(table.column("liquidations_unfilled_notional").to_numpy()) * 1e-8
        assert np.allclose(unfilled, expect)


def test_equal_time_series_give_byte_identical_pngs(runs, tmp_path):
    a = run_chart(runs[0][1], "t", tmp_path / "a.png").read_bytes()
    b = run_chart(runs[0][1], "t", tmp_path / "b.png").read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    c = comparison_chart(runs, "t", tmp_path / "c.png").read_bytes()
    assert c != a


def test_a_run_whose_pre_event_depth_mean_is_not_a_decimal_is_charted(tmp_path):
    """63 pre-event samples: the depth baseline is a mean like a/63, written as a fraction."""
    r = engine.run("flash-drop", seed=1, scale=SMALL, overrides=["scenario.event_start_s=63"])
    assert "/" in r.timeseries.schema.metadata[b"liqsim.timeseries"].decode()
    path = run_chart(r.timeseries, "t", tmp_path / "x.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
