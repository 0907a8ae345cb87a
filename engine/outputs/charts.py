"""Charts of runs: how a cascade unfolded, second by second, and how policies compare.

``run_chart(timeseries, title, path)`` draws one run; ``comparison_chart(runs, title, path)``
draws several runs of one scenario (one line per breaker policy).  Both read only the
integer time series (``engine.outputs.metrics.build_timeseries``) and its metadata -- tick size,
quote quantum, depth baseline, vacuum fraction -- so a saved ``timeseries.parquet`` can be
charted again later.  Panels, sharing the time axis (seconds):

  price       index, mark, last trade, best bid and ask; halted seconds shaded orange,
              the venue's outage brown and liquidity-vacuum seconds grey (one run), or the last trade and the mark per
              policy with its halted seconds drawn thick.  The last-trade line breaks where
              nothing traded for ``STALE_S`` seconds: a frozen market draws no flat line.
  depth       depth within 1% of mid, both sides, over its pre-event baseline, with the
              vacuum threshold (``vacuum_fraction``); empty book = 0
  liquidation liquidated notional per interval on a log scale (so a spike does not hide the
              rest), all of it and the part filled in the book, with the filled share on a
              second axis; or the cumulative notional closed off the book per policy
  backstops   the insurance fund's cash and equity (cash + taken-over positions' unrealised
              PnL at the mark) and the cumulative ADL notional

Money axes are in the run's quote currency with k/M/B tick labels, as many decimals as
the ticks' spacing needs so adjacent ticks never read the same (``money_labels``); a panel
with nothing to draw says "none" instead of showing an empty axis (``empty_panel``).  Each
policy of a comparison has its own line style, so identical curves stay distinguishable.

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


STALE_S = 10          # the last-trade line breaks after this long without a trade
_STYLES = ("-", "--", "-.", ":")


def _series(table: pa.Table) -> dict:
    """The time series in display units (floats; NaN where a price is missing)."""
    meta = timeseries_meta(table)
    tick = float(Decimal(meta["tick_size"]))
    quantum = float(Decimal(meta["quote_quantum"]))
    col = {name: table.column(name).to_numpy() for name in table.column_names}
    t = col["ts"] / 1e9
    interval = meta["interval_ns"] / 1e9

    def price(name):
        a = col[name].astype(np.float64)
        return np.where(col[name] < 0, np.nan, a * tick)

    # Rows since the last trade: the last price is shown only while it is fresh.
    traded = np.flatnonzero(col["trades"] > 0)
    since = np.full(len(t), np.inf)
    if traded.size:
        last_row = np.maximum.accumulate(np.where(col["trades"] > 0, np.arange(len(t)), -1))
        since = np.where(last_row >= 0, (np.arange(len(t)) - last_row) * interval, np.inf)
    last = np.where(since <= STALE_S, price("last"), np.nan)
    band = band_name(meta["vacuum_band_ppm"])
    depth = (col[f"bid_depth_{band}"].astype(np.float64) + col[f"ask_depth_{band}"]) * quantum
    baseline = meta["depth_baseline_1pct"]          # an exact Fraction's str: "a" or "a/b"
    base = float(Fraction(baseline)) * quantum if baseline is not None else 0.0
    liquidated = col["liquidations_notional"] * quantum
    filled = col["liquidations_filled_notional"] * quantum
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(liquidated > 0, filled / liquidated, np.nan)
    return {
        "t": t, "currency": meta.get("quote_currency", "quote"),
        "index": price("index"), "mark": price("mark"), "last": last,
        "bid": price("best_bid"), "ask": price("best_ask"),
        "depth_ratio": depth / base if base > 0 else np.full(len(t), np.nan),
        "vacuum_fraction": float(Fraction(meta["vacuum_fraction"])),
        "liquidated": liquidated, "filled": filled, "filled_share": share,
        "off_book": col["liquidations_off_book_notional"] * quantum,
        "fund": col["insurance_fund"] * quantum,
        "fund_equity": col["insurance_fund_equity"] * quantum,
        "adl": np.cumsum(col["adl_notional"]) * quantum,
        "halted": col["halted"].astype(bool),
        # saved runs from before the column existed have no outage flag
        "down": (col["down"] if "down" in col else np.zeros(len(t), np.int8)).astype(bool),
        "vacuum": col["vacuum"].astype(bool),
        "interval": interval,
    }


def money(value: float, _pos=None) -> str:
    """A money tick label: 950, 1.2k, 3.4M, 5B (no scientific offsets)."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.4g}"


_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def _label(value: float, div: float, suffix: str, decimals: int) -> str:
    text = f"{value / div:,.{decimals}f}"
    return "0" if float(text.replace(",", "")) == 0 else text + suffix


def _value(label: str) -> float:
    div = dict((suffix, div) for div, suffix in _UNITS).get(label[-1:], 1.0)
    return float((label[:-1] if div != 1.0 else label).replace(",", "")) * div


def money_labels(values) -> list[str]:
    """Tick labels for the money ``values`` of one axis that tell adjacent ticks apart.
    ``money``'s own labels where each is within half the distance to its neighbours (950,
    1.2k, 3.4M); else one unit for the axis: the largest of B/M/k whose resolution with 0
    or 1 decimal is no coarser than the smallest step between ticks, else plain numbers with
    as many decimals as that step needs (61,725 and 61,750 for a 0.2% move around 61.8k,
    not 61.7k twice).  Every label set returned is distinct.  O(ticks x candidates)."""
    v = sorted({float(x) for x in values if np.isfinite(x)})
    if len(v) < 2:
        return [money(x) for x in v]
    gaps = np.diff(v)
    near = np.minimum(np.append(gaps, np.inf), np.insert(gaps, 0, np.inf))
    labels = [money(x) for x in v]
    if len(set(labels)) == len(v) and all(
            abs(_value(text) - x) <= g / 2 for text, x, g in zip(labels, v, near)):
        return labels
    step, top = float(gaps.min()), max(abs(v[0]), abs(v[-1]))
    options = [(div, suffix, d) for div, suffix in _UNITS if top >= div for d in (0, 1)]
    for div, suffix, d in options + [(1.0, "", d) for d in range(10)]:
        labels = [_label(x, div, suffix, d) for x in v]
        if div * 10.0 ** -d <= step * (1 + 1e-9) and len(set(labels)) == len(v):
            return labels
    return [repr(x) for x in v]


def money_ticks():
    """A matplotlib formatter of a money axis's tick labels (``money_labels`` over the
    axis's ticks); a value formatted alone (the cursor readout) reads as ``money``.
    (matplotlib is imported here, not when ``engine`` is.)"""
    from matplotlib.ticker import Formatter

    class MoneyTicks(Formatter):
        labels: dict = {}

        def set_locs(self, locs) -> None:
            ticks = sorted({float(x) for x in locs if np.isfinite(x)})
            self.labels = dict(zip(ticks, money_labels(ticks)))

        def __call__(self, x, pos=None) -> str:
            return self.labels.get(float(x)) or money(x)
    return MoneyTicks()


def _money_axis(ax, what: str, currency: str) -> None:
    ax.yaxis.set_major_formatter(money_ticks())
    ax.set_ylabel(f"{what} ({currency})")


def empty_panel(ax, text: str = "none") -> None:
    """An axis with nothing to show: no ticks (a meaningless range such as -0.04..0.04
    would read as data), ``text`` in its centre."""
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="grey", fontsize=11)


def incomplete_depth_note(ax, meta: dict) -> None:
    """On a depth panel of a recorded run whose snapshot did not reach a band (the time
    series' ``feed`` metadata, ``metrics.feed_meta``): say those bands are understated and
    not measured (the summary leaves them out), so the curve is not read as liquidity."""
    feed = meta.get("feed") or {}
    bands = feed.get("bands_incomplete_ppm") or []
    if bands:
        names = ", ".join(band_name(b).replace("_", ".").replace("pct", "%") for b in bands)
        ax.text(0.01, 0.97, f"NOT MEASURED: depth within {names} reaches beyond the "
                f"recorded book\n({feed.get('book_range') or 'its snapshot'}): drawn as "
                f"recorded, understated", ha="left", va="top", transform=ax.transAxes,
                fontsize=8,
                weight="bold", color="tab:red", bbox=dict(facecolor="white", alpha=0.8, lw=0))


def _shade(ax, t, flags, interval, color, label) -> None:
    """Shade the spans of consecutive flagged rows (each row covers one interval)."""
    if not flags.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    for k, (a, b) in enumerate(zip(edges[::2], edges[1::2])):
        ax.axvspan(t[a], t[b - 1] + interval, color=color, alpha=0.18, lw=0,
                   label=label if k == 0 else None)


def _figure(title: str, currency: str):
    # A bare Figure renders with Agg on savefig: no pyplot, no global figure registry, and
    # a notebook's own backend is left alone.
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 12))
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 2]})
    fig.suptitle(title)
    _money_axis(axes[0], "price", currency)
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
    t, q = s["t"], s["currency"]
    fig, (price, depth, liq, back) = _figure(title, q)
    price.plot(t, s["index"], "--", color="grey", lw=1, label="index")
    price.plot(t, s["mark"], color="tab:blue", lw=1.2, label="mark")
    price.plot(t, s["last"], color="black", lw=1, label="last trade")
    price.plot(t, s["bid"], color="tab:green", lw=0.6, alpha=0.8, label="best bid")
    price.plot(t, s["ask"], color="tab:red", lw=0.6, alpha=0.8, label="best ask")
    _shade(price, t, s["vacuum"], s["interval"], "grey", "liquidity vacuum")
    _shade(price, t, s["halted"], s["interval"], "tab:orange", "halted")
    _shade(price, t, s["down"], s["interval"], "tab:brown", "venue down")
    price.legend(loc="lower left", fontsize=8, ncol=4)
    depth.plot(t, s["depth_ratio"], color="tab:purple", lw=1.2, label="bid + ask")
    depth.axhline(s["vacuum_fraction"], color="grey", ls=":", lw=1, label="vacuum threshold")
    depth.legend(loc="upper right", fontsize=8)
    incomplete_depth_note(depth, timeseries_meta(table))
    width = s["interval"]
    liq.bar(t, s["liquidated"], width=width, align="edge", color="tab:red",
            label="liquidated (closed off the book where not filled)")
    liq.bar(t, s["filled"], width=width, align="edge", color="tab:green",
            label="filled in the book")
    _money_axis(liq, "liquidated\nper interval", q)
    share = liq.twinx()
    share.plot(t, s["filled_share"], ".", color="black", ms=3, label="filled share")
    share.set_ylim(0, 1.05)
    share.set_ylabel("filled share")
    if (s["liquidated"] > 0).any():
        liq.set_yscale("log")
    else:
        empty_panel(liq, "none: no liquidation in this run")
        share.set_yticks([])
    liq.legend(loc="upper left", fontsize=8)
    share.legend(loc="upper right", fontsize=8)
    back.plot(t, s["fund"], color="tab:blue", lw=1.2, label="insurance fund: cash")
    back.plot(t, s["fund_equity"], color="tab:blue", lw=1.2, ls="--",
              label="insurance fund: equity")
    back.plot(t, s["adl"], color="tab:red", lw=1.2, label="ADL notional, cumulative")
    _money_axis(back, "fund, ADL", q)
    back.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def comparison_figure(runs: list[tuple[str, pa.Table]], title: str):
    """The matplotlib ``Figure`` of ``comparison_chart``."""
    first = _series(runs[0][1])
    q = first["currency"]
    fig, (price, depth, liq, back) = _figure(title, q)
    price.plot(first["t"], first["index"], color="grey", lw=2.5, alpha=0.4, label="index")
    depth.axhline(first["vacuum_fraction"], color="grey", ls=":", lw=1,
                  label="vacuum threshold")
    closed = False
    for k, (name, table) in enumerate(runs):
        s = _series(table)
        t = s["t"]
        ls = _STYLES[k % len(_STYLES)]
        line, = price.plot(t, s["last"], lw=1.1, ls=ls, label=f"{name}: last trade")
        color = line.get_color()
        price.plot(t, s["mark"], color=color, lw=0.7, ls=ls, alpha=0.6, label=f"{name}: mark")
        if s["halted"].any():       # halted seconds as a thick stroke under the prices
            price.plot(t, np.where(s["halted"], s["mark"], np.nan), color=color, lw=5,
                       alpha=0.3, label=f"{name}: halted")
        depth.plot(t, s["depth_ratio"], color=color, lw=1.1, ls=ls, label=name)
        liq.plot(t, np.cumsum(s["off_book"]), color=color, lw=1.1, ls=ls, label=name)
        closed = closed or bool((s["off_book"] > 0).any())
        back.plot(t, s["fund_equity"], color=color, lw=1.1, ls=ls,
                  label=f"{name}: fund equity")
        back.plot(t, s["adl"], color=color, lw=2.2, ls=ls, alpha=0.5,
                  label=f"{name}: ADL, cum.")
    price.legend(loc="lower left", fontsize=7, ncol=3)
    depth.legend(loc="upper right", fontsize=8)
    _money_axis(liq, "closed off the book,\ncumulative", q)
    if not closed:
        empty_panel(liq, "none: nothing closed off the book in these runs")
    liq.legend(loc="upper left", fontsize=8)
    _money_axis(back, "fund, ADL", q)
    back.legend(loc="upper left", fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
