"""Charts of runs: how a cascade unfolded, second by second, and how policies compare.

``run_chart(timeseries, title, path)`` draws one run; ``comparison_chart(runs, title, path)``
draws several runs of one scenario (one line per breaker policy).  Both read only the
integer time series (``engine.outputs.metrics.build_timeseries``) and its metadata -- tick size,
quote quantum, depth baseline, vacuum fraction -- so a saved ``timeseries.parquet`` can be
charted again later.  Panels, sharing the time axis (seconds):

  price       index, mark, last trade, best bid and ask; halted seconds shaded orange and
              liquidity-vacuum seconds grey (one run), or the last trade per policy with
              its halted seconds drawn thick
  depth       depth within 1% of mid, both sides, over its pre-event baseline, with the
              vacuum threshold (``vacuum_fraction``); empty book = 0
  liquidation liquidation notional per second, filled and unfilled (fill failures), or the
              cumulative unfilled notional per policy
  backstops   insurance fund and the cumulative ADL notional

Rendered by matplotlib's Agg renderer into PNG (a bare ``Figure``: no pyplot state, no
backend switch, safe in a notebook); the files carry no timestamp, so equal time series
give equal images with the same matplotlib.  Drawing costs O(rows) per line, well under a
second for a few thousand rows.
"""
from __future__ import annotations

import pathlib
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa

from .metrics import band_name, timeseries_meta


def _series(table: pa.Table) -> dict:
    """The time series in display units (floats; NaN where a price is missing)."""
    meta = timeseries_meta(table)
    tick = float(Decimal(meta["tick_size"]))
    quantum = float(Decimal(meta["quote_quantum"]))
    col = {name: table.column(name).to_numpy() for name in table.column_names}
    t = col["ts"] / 1e9

    def price(name):
        a = col[name].astype(np.float64)
        return np.where(col[name] < 0, np.nan, a * tick)

    band = band_name(meta["vacuum_band_ppm"])
    depth = (col[f"bid_depth_{band}"].astype(np.float64) + col[f"ask_depth_{band}"]) * quantum
    baseline = meta["depth_baseline_1pct"]          # an exact Fraction's str: "a" or "a/b"
    base = float(Fraction(baseline)) * quantum if baseline is not None else 0.0
    return {
        "t": t,
        "index": price("index"), "mark": price("mark"), "last": price("last"),
        "bid": price("best_bid"), "ask": price("best_ask"),
        "depth_ratio": depth / base if base > 0 else np.full(len(t), np.nan),
        "vacuum_fraction": float(Fraction(meta["vacuum_fraction"])),
        "filled": col["liquidations_filled_notional"] * quantum,
        "unfilled": col["liquidations_unfilled_notional"] * quantum,
        "fund": col["insurance_fund"] * quantum,
        "adl": np.cumsum(col["adl_notional"]) * quantum,
        "halted": col["halted"].astype(bool),
        "vacuum": col["vacuum"].astype(bool),
        "interval": meta["interval_ns"] / 1e9,
    }


def _shade(ax, t, flags, interval, color, label) -> None:
    """Shade the spans of consecutive flagged rows (each row covers one interval)."""
    if not flags.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    for k, (a, b) in enumerate(zip(edges[::2], edges[1::2])):
        ax.axvspan(t[a], t[b - 1] + interval, color=color, alpha=0.18, lw=0,
                   label=label if k == 0 else None)


def _figure(title: str):
    # A bare Figure renders with Agg on savefig: no pyplot, no global figure registry, and
    # a notebook's own backend is left alone.
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 12))
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 2]})
    fig.suptitle(title)
    axes[0].set_ylabel("price (quote)")
    axes[1].set_ylabel("depth within 1%\n/ pre-event baseline")
    axes[3].set_xlabel("time (s)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _save(fig, path) -> pathlib.Path:
    path = pathlib.Path(path)
    fig.savefig(path, format="png", dpi=90, metadata={"Software": None})
    return path


def run_chart(table: pa.Table, title: str, path) -> pathlib.Path:
    """Draw one run's time series into the PNG ``path``; returns the path."""
    return _save(run_figure(table, title), path)


def comparison_chart(runs: list[tuple[str, pa.Table]], title: str, path) -> pathlib.Path:
    """Draw several runs of one scenario -- ``(policy name, time series)`` pairs -- into
    the PNG ``path``, one line per policy in every panel; returns the path."""
    return _save(comparison_figure(runs, title), path)


def run_figure(table: pa.Table, title: str):
    """The matplotlib ``Figure`` of ``run_chart``."""
    s = _series(table)
    t = s["t"]
    fig, (price, depth, liq, back) = _figure(title)
    price.plot(t, s["index"], "--", color="grey", lw=1, label="index")
    price.plot(t, s["mark"], color="tab:blue", lw=1.2, label="mark")
    price.plot(t, s["last"], color="black", lw=1, label="last trade")
    price.plot(t, s["bid"], color="tab:green", lw=0.6, alpha=0.8, label="best bid")
    price.plot(t, s["ask"], color="tab:red", lw=0.6, alpha=0.8, label="best ask")
    _shade(price, t, s["vacuum"], s["interval"], "grey", "liquidity vacuum")
    _shade(price, t, s["halted"], s["interval"], "tab:orange", "halted")
    price.legend(loc="lower left", fontsize=8, ncol=4)
    depth.plot(t, s["depth_ratio"], color="tab:purple", lw=1.2, label="bid + ask")
    depth.axhline(s["vacuum_fraction"], color="grey", ls=":", lw=1, label="vacuum threshold")
    depth.legend(loc="upper right", fontsize=8)
    width = s["interval"]
    liq.bar(t, s["filled"], width=width, align="edge", color="tab:green", label="filled")
    liq.bar(t, s["unfilled"], width=width, align="edge", bottom=s["filled"], color="tab:red",
            label="unfilled (fill failures)")
    liq.set_ylabel("liquidations per\ninterval (quote)")
    liq.legend(loc="upper right", fontsize=8)
    back.plot(t, s["fund"], color="tab:blue", lw=1.2, label="insurance fund")
    back.plot(t, s["adl"], color="tab:red", lw=1.2, label="ADL notional, cumulative")
    back.set_ylabel("quote")
    back.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def comparison_figure(runs: list[tuple[str, pa.Table]], title: str):
    """The matplotlib ``Figure`` of ``comparison_chart``."""
    fig, (price, depth, liq, back) = _figure(title)
    first = _series(runs[0][1])
    price.plot(first["t"], first["index"], "--", color="grey", lw=1, label="index")
    depth.axhline(first["vacuum_fraction"], color="grey", ls=":", lw=1,
                  label="vacuum threshold")
    for name, table in runs:
        s = _series(table)
        t = s["t"]
        line, = price.plot(t, s["last"], lw=1.1, label=f"{name}: last trade")
        color = line.get_color()
        if s["halted"].any():       # halted seconds as a thick stroke under the prices
            price.plot(t, np.where(s["halted"], s["last"], np.nan), color=color, lw=4,
                       alpha=0.35)
        depth.plot(t, s["depth_ratio"], color=color, lw=1.1, label=name)
        liq.plot(t, np.cumsum(s["unfilled"]), color=color, lw=1.1, label=name)
        back.plot(t, s["fund"], color=color, lw=1.1, label=f"{name}: fund")
        back.plot(t, s["adl"], color=color, lw=1.1, ls="--", label=f"{name}: ADL, cum.")
    price.legend(loc="lower left", fontsize=8, ncol=2)
    depth.legend(loc="upper right", fontsize=8)
    liq.set_ylabel("unfilled liquidation\nnotional, cumulative")
    liq.legend(loc="upper left", fontsize=8)
    back.set_ylabel("quote")
    back.legend(loc="upper left", fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
