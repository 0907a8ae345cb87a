"""Charts draw the run's own time series: every line is a column of it, in quote units."""
from __future__ import annotations

import pathlib
from fractions import Fraction

import numpy as np
import pytest

import engine
from engine.outputs.charts import (STALE_S, _money_axis, comparison_chart, comparison_figure,
                                   money, money_labels, run_chart, run_figure)

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")

SMALL = Fraction(1, 50)


@pytest.fixture(scope="module")
def runs():
    return [(b, engine.run(GAP_DROP, breaker=b, seed=1, scale=SMALL).timeseries)
            for b in ("none", "luld")]


def _lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_a_run_chart_draws_prices_in_quote_units_from_the_time_series(runs):
    table = runs[0][1]
    fig = run_figure(table, "t")
    price, depth, liq, back = fig.axes[:4]
    seconds = table.column("ts").to_numpy() / 1e9
    mark = table.column("mark").to_numpy()
    line = _lines(price)["mark"]
    assert np.array_equal(line.get_xdata(), seconds)
    drawn = np.asarray(line.get_ydata())
    assert np.allclose(drawn[mark >= 0], mark[mark >= 0] * 0.1)  # ticks of 0.1 USDT
    assert {"index", "last trade", "best bid", "best ask"} <= set(_lines(price))
    assert "vacuum threshold" in _lines(depth)
    assert price.get_ylabel() == "price (USDT)"


def test_the_last_trade_line_breaks_where_nothing_traded_for_ten_seconds(runs):
    table = runs[1][1]                                  # luld: a frozen market
    drawn = np.asarray(_lines(run_figure(table, "t").axes[0])["last trade"].get_ydata())
    trades = table.column("trades").to_numpy()
    last = table.column("last").to_numpy()
    for k in range(len(trades)):
        recent = trades[max(0, k - STALE_S):k + 1].any()
        assert np.isnan(drawn[k]) == (not recent or last[k] < 0), k
    assert np.isnan(drawn).sum() > STALE_S                # there is a gap to see


def test_the_liquidation_panel_is_logarithmic_with_the_filled_share_beside_it(runs):
    fig = run_figure(runs[0][1], "t")
    liq, share = fig.axes[2], fig.axes[4]
    assert liq.get_yscale() == "log" and share.get_ylim() == (0, 1.05)
    assert _lines(share)["filled share"]
    funds = _lines(fig.axes[3])
    assert {"insurance fund: cash", "insurance fund: equity"} <= set(funds)


@pytest.mark.parametrize("value,label", [(950, "950"), (1_234, "1.23k"), (3_400_000, "3.4M"),
                                         (5e9, "5B"), (0.5, "0.5")])
def test_money_axes_read_in_k_m_and_b_without_offsets(value, label):
    assert money(value) == label

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
    assert {"none: last trade", "luld: last trade", "none: mark", "luld: mark",
            "luld: halted"} <= set(_lines(price))
    assert {"none", "luld"} <= set(_lines(depth)) and {"none", "luld"} <= set(_lines(liq))
    for name, table in runs:
        off_book = _lines(liq)[name].get_ydata()
        expect = np.cumsum(table.column("liquidations_off_book_notional").to_numpy()) * 1e-8
        assert np.allclose(off_book, expect)
    # Identical curves stay distinguishable: each policy has its own line style.
    assert _lines(depth)["none"].get_linestyle() != _lines(depth)["luld"].get_linestyle()


def test_equal_time_series_give_byte_identical_pngs(runs, tmp_path):
    a = run_chart(runs[0][1], "t", tmp_path / "a.png").read_bytes()
    b = run_chart(runs[0][1], "t", tmp_path / "b.png").read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    c = comparison_chart(runs, "t", tmp_path / "c.png").read_bytes()
    assert c != a


def test_a_run_whose_pre_event_depth_mean_is_not_a_decimal_is_charted(tmp_path):
    """63 pre-event samples: the depth baseline is a mean like a/63, written as a fraction."""
    r = engine.run(GAP_DROP, seed=1, scale=SMALL, overrides=["scenario.event_start_s=63"])
    assert "/" in r.timeseries.schema.metadata[b"liqsim.timeseries"].decode()
    path = run_chart(r.timeseries, "t", tmp_path / "x.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("ticks", [[61700, 61725, 61750, 61775, 61800, 61825],
                                   [61780.0, 61780.5, 61781.0], [999_999.98, 1e6, 1_000_000.02],
                                   [1_230_000, 1_232_000, 1_234_000], [0, 5e5, 1e6, 1.5e6]])
def test_adjacent_money_ticks_never_read_the_same_on_a_narrow_range(ticks):
    labels = money_labels(ticks)
    assert len(set(labels)) == len(ticks)
    assert len(set(money(x) for x in ticks)) < len(ticks) or ticks[0] == 0  # money alone fails


def test_the_price_axis_of_a_narrow_move_labels_every_tick_distinctly():
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    ax.plot([0, 1], [61832.4, 61715.7])          # the bundled capture's 0.19% move
    _money_axis(ax, "price", "USDT")
    ticks = [t for t in ax.get_yticks() if 61715.7 <= t <= 61832.4]
    labels = ax.yaxis.get_major_formatter().format_ticks(ticks)
    assert len(ticks) >= 3 and len(set(labels)) == len(labels)


def test_an_empty_liquidation_panel_says_none_instead_of_an_axis(tmp_path):
    table = engine.run(GAP_DROP, seed=1, scale=SMALL, overrides=["traders.count=0"]).timeseries
    assert not table.column("liquidations_notional").to_numpy().any()
    liq = run_figure(table, "t").axes[2]
    assert list(liq.get_yticks()) == [] and [t.get_text() for t in liq.texts] == \
        ["none: no liquidation in this run"]
    busy = run_figure(engine.run(GAP_DROP, seed=1, scale=SMALL).timeseries, "t").axes[2]
    assert len(busy.get_yticks()) > 0 and not busy.texts


def test_a_depth_panel_beyond_a_recorded_snapshot_says_it_is_not_measured():
    # A recorded run's depth beyond its snapshot grows as diffs reveal levels: drawn bare it
    # reads as liquidity arriving.  The summary leaves it out; the panel must say so too.
    from matplotlib.figure import Figure

    from engine.outputs.charts import incomplete_depth_note
    ax = Figure().subplots()
    incomplete_depth_note(ax, {"feed": {"bands_incomplete_ppm": [10_000, 50_000],
                                        "book_range": "the capture's snapshot covers x"}})
    (text,) = [t.get_text() for t in ax.texts]
    assert text.startswith("NOT MEASURED: depth within 1%, 5% reaches beyond")
    assert "the capture's snapshot covers x" in text
    ax = Figure().subplots()
    incomplete_depth_note(ax, {"feed": {"bands_incomplete_ppm": []}})
    incomplete_depth_note(ax, {})                  # not a recorded run
    assert len(ax.texts) == 0
