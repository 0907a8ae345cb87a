"""The report's panels: one run drawn from what it saved, one matplotlib axes per panel.

``panel_data(result)`` converts a ``RunResult`` (in memory or ``results.load_run``) to display
units once; each ``PANELS`` entry draws one panel into a given axes.  ``figure(result)``
stacks them into one ``Figure`` (``RunResult.plot()``, notebooks); ``report`` renders each
into its own SVG.  Panels (``PANELS``: id, title, caption, whether the run has what it needs):

  price      index, mark, last trade (broken where nothing traded for ``charts.STALE_S``),
             best bid and ask; halted (orange) and vacuum (grey) seconds shaded; liquidation
             fills (per interval at their volume-weighted price) and fill failures (at the
             mark) marked
  depth      depth within each band (0.5/1/2/5%) per side over its own pre-event baseline
  heatmap    resting notional by price and time from the banded depths: each band's ring
             (e.g. 1-2% below mid) is one cell, its notional spread over its price width
             (the time series records depth per band, not per price level: a coarse map)
  liquidations  liquidated notional per interval, filled in the book and not (closed off it),
             with fill failures, ADL fills and fund takeovers counted on a second axis
  fund       the insurance fund's cash and equity, the backstop's cash, bad debt
  oi_funding open interest (base units) and the predicted funding rate (bps per interval)
  queue      the venue's queues where capacity is modelled: messages waiting, the longest
             wait (ms), liquidation units waiting
  liqmap     the liquidation map (``engine.outputs.liqmap``): open liquidatable notional by
             price and time, the realised last price and the liquidation fills on top;
             marked "simulated"

Long series are decimated to at most ``MAX_POINTS`` points per line: sums (liquidations,
counts) are summed over the merged intervals, levels keep every k-th row.  Drawing is
O(rows + events of the liquidation kinds).
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..venue.events import EventKind
from .charts import (STALE_S, _money_axis, _series, _shade, empty_panel,
                     incomplete_depth_note, money_ticks)
from .columns import band_name
from .liqmap import liquidation_map
from .metrics import timeseries_meta

MAX_POINTS = 1200           # per line, after decimation
MAP_BUCKETS = 120           # price buckets of the liquidation map
_K = EventKind


def _stride(n: int) -> int:
    return max(1, -(-n // MAX_POINTS))


def _every(a: np.ndarray, k: int) -> np.ndarray:
    return a[::k] if k > 1 else a


def _sum(a: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return a
    pad = (-len(a)) % k
    return np.concatenate([a, np.zeros(pad, dtype=a.dtype)]).reshape(-1, k).sum(axis=1)


def _events(result) -> np.ndarray:
    return result.events_array


def panel_data(result) -> dict:
    """The run's series in display units, decimated, plus the event markers (see module)."""
    table = result.timeseries
    meta = timeseries_meta(table)
    s = _series(table)
    tick = float(Decimal(meta["tick_size"]))
    lot = float(Decimal(meta["lot_size"]))
    quantum = float(Decimal(meta["quote_quantum"]))
    col = {name: table.column(name).to_numpy() for name in table.column_names}
    k = _stride(len(s["t"]))
    d = {"k": k, "meta": meta, "currency": s["currency"], "interval": s["interval"] * k,
         "title": _title(result.summary), "tick": tick, "lot": lot, "quantum": quantum,
         "t_ns": _every(col["ts"], k)}
    for name in ("t", "index", "mark", "last", "bid", "ask", "depth_ratio", "fund",
                 "fund_equity", "halted", "vacuum"):
        d[name] = _every(s[name], k)
    d["vacuum_fraction"] = s["vacuum_fraction"]
    for name in ("liquidated", "filled", "off_book"):
        d[name] = _sum(s[name], k)
    for name in ("fill_failures", "adl_fills", "insurance_takeovers", "backstop_takeovers"):
        d[name] = _sum(col[name], k)
    d["backstop"] = _every(col["backstop"], k) * quantum
    d["bad_debt"] = _every(col["bad_debt"], k) * quantum
    d["oi"] = _every(col["open_interest_lots"], k) * lot
    d["funding_bps"] = _every(col["funding_rate_ppb"], k) / 1e5
    d["funding"] = bool(meta.get("funding")) or bool(col["funding_rate_ppb"].any())
    for name in ("queue_len", "queue_wait_ms", "liq_queue_len"):
        d[name] = _every(col[name], k)
    cap = (result.scenario_resolved or {}).get("capacity") or {}
    d["capacity"] = any(float(cap.get(key, 0) or 0) > 0 for key in
                        ("messages_per_s", "liquidations_per_s")) or \
        any(col[n].any() for n in ("queue_len", "liq_queue_len"))
    # Depth per band and side, over its own pre-event baseline, and the rings' notional.
    pre = col["ts"] < meta["baseline_end_ns"]
    d["bands"] = []
    for ppm in meta["bands_ppm"]:
        name = band_name(ppm)
        for side in ("bid", "ask"):
            v = col[f"{side}_depth_{name}"].astype(np.float64)
            base = v[pre].mean() if pre.any() else np.nan
            ratio = v / base if base and base > 0 else np.full(len(v), np.nan)
            d["bands"].append((ppm, side, _every(ratio, k), _every(v * quantum, k)))
    # Event markers: liquidation fills (per interval, volume-weighted price) and failures.
    ev = _events(result)
    interval_ns = meta["interval_ns"] * k
    start = int(col["ts"][0]) if len(col["ts"]) else 0
    fills = ev[ev["kind"] == int(_K.LIQUIDATION_FILLED)]
    fills = fills[fills["qty"] > 0]
    if len(fills):
        b = (fills["ts"] - start) // interval_ns
        uniq, inv = np.unique(b, return_inverse=True)
        value = np.bincount(inv, weights=fills["value"].astype(np.float64)) * quantum
        qty = np.bincount(inv, weights=fills["qty"].astype(np.float64)) * lot
        d["fill_t"] = (start + uniq * interval_ns) / 1e9 + d["interval"] / 2
        d["fill_px"] = value / qty
        d["fill_value"] = value
    else:
        d["fill_t"] = d["fill_px"] = d["fill_value"] = np.zeros(0)
    failed = d["fill_failures"] > 0
    d["fail_t"] = d["t"][failed] + d["interval"] / 2
    d["fail_px"] = d["mark"][failed]
    d["fail_n"] = d["fill_failures"][failed]
    d["levels"] = getattr(result, "levels", None)
    d["events"] = ev
    return d


def _title(summary: dict) -> str:
    toy = " (TOY)" if summary.get("toy") else ""
    return (f"{summary.get('scenario', '?')}{toy}  breaker {summary.get('breaker', '?')}  "
            f"seed {summary.get('seed', '?')}  scale {summary.get('scale', 1)}")


# ------------------------------------------------------------------------------ panels
def draw_price(fig, ax, d) -> None:
    t = d["t"]
    ax.plot(t, d["index"], "--", color="grey", lw=1, label="index")
    ax.plot(t, d["mark"], color="tab:blue", lw=1.2, label="mark")
    ax.plot(t, d["last"], color="black", lw=1, label=f"last trade (gap: none for {STALE_S} s)")
    ax.plot(t, d["bid"], color="tab:green", lw=0.6, alpha=0.8, label="best bid")
    ax.plot(t, d["ask"], color="tab:red", lw=0.6, alpha=0.8, label="best ask")
    _shade(ax, t, d["vacuum"], d["interval"], "grey", "liquidity vacuum")
    _shade(ax, t, d["halted"], d["interval"], "tab:orange", "halted")
    if len(d["fill_t"]):
        size = 8 + 60 * d["fill_value"] / d["fill_value"].max()
        ax.scatter(d["fill_t"], d["fill_px"], s=size, marker="v", color="tab:purple",
                   alpha=0.6, lw=0, label="liquidation fills (VWAP, size ~ notional)")
    if len(d["fail_t"]):
        ax.scatter(d["fail_t"], d["fail_px"], s=30, marker="x", color="red", lw=1.2,
                   label="fill failures (at the mark)")
    _money_axis(ax, "price", d["currency"])
    ax.legend(loc="lower left", fontsize=7, ncol=3)


def draw_depth(fig, ax, d) -> None:
    incomplete_depth_note(ax, d["meta"])
    colors = ("tab:red", "tab:orange", "tab:green", "tab:blue")
    for k, ppm in enumerate(sorted({b[0] for b in d["bands"]})):
        for band, side, ratio, _ in d["bands"]:
            if band == ppm:
                pct = band_name(ppm).replace("_", ".").replace("pct", "%")
                ax.plot(d["t"], ratio, color=colors[k % 4], lw=1.1 if side == "bid" else 0.9,
                        ls="-" if side == "bid" else "--", label=f"{side} within {pct}")
    ax.axhline(d["vacuum_fraction"], color="grey", ls=":", lw=1, label="vacuum threshold")
    ax.set_ylabel("depth / its pre-event\nbaseline")
    ax.legend(loc="upper right", fontsize=7, ncol=4)


def draw_heatmap(fig, ax, d) -> None:
    """Rings between consecutive bands, below (bids) and above (asks) mid."""
    incomplete_depth_note(ax, d["meta"])
    mid = np.where(np.isnan(d["bid"]) | np.isnan(d["ask"]), d["mark"], (d["bid"] + d["ask"]) / 2)
    ppms = sorted({b[0] for b in d["bands"]})
    by = {(b[0], b[1]): b[3] for b in d["bands"]}
    edges = [0] + ppms
    rows_y, rows_v = [], []
    for side, sign in (("bid", -1), ("ask", 1)):
        prev = np.zeros(len(d["t"]))
        for lo, hi in zip(edges[:-1], edges[1:]):
            cum = by[(hi, side)]
            ring = np.maximum(cum - prev, 0)
            prev = cum
            width_pct = (hi - lo) / 10_000
            rows_y.append((mid * (1 + sign * lo / 1e6), mid * (1 + sign * hi / 1e6)))
            rows_v.append(ring / width_pct)
    t = d["t"]
    tx = np.append(t, t[-1] + d["interval"]) if len(t) else t
    vmax = max((v.max() for v in rows_v if len(v)), default=0) or 1
    from matplotlib.colors import Normalize
    norm = Normalize(0, vmax)
    mesh = None
    for (y0, y1), v in zip(rows_y, rows_v):
        # One row of quads per ring: x edges are the intervals, y edges move with mid.
        y0e, y1e = np.append(y0, y0[-1:]), np.append(y1, y1[-1:])
        X = np.vstack([tx, tx])
        Y = np.vstack([np.minimum(y0e, y1e), np.maximum(y0e, y1e)])
        mesh = ax.pcolormesh(X, Y, np.nan_to_num(v)[None, :], cmap="viridis", norm=norm,
                             shading="flat", rasterized=True)
    ax.plot(t, d["last"], color="white", lw=0.8, label="last trade")
    if mesh is not None:
        fig.colorbar(mesh, ax=ax, pad=0.01, format=_fmt()).set_label(
            f"resting notional per 1% of price ({d['currency']})", fontsize=8)
    _money_axis(ax, "price", d["currency"])
    ax.legend(loc="lower left", fontsize=7)


def _fmt():
    return money_ticks()


def draw_liquidations(fig, ax, d) -> None:
    t, w = d["t"], d["interval"]
    ax.bar(t, d["filled"], width=w, align="edge", color="tab:green", label="filled in the book")
    ax.bar(t, d["off_book"], width=w, align="edge", bottom=d["filled"], color="tab:red",
           label="not filled: closed off the book (fund, backstop, ADL)")
    if (d["liquidated"] > 0).any():
        ax.set_yscale("symlog", linthresh=max(1.0, float(d["liquidated"][d["liquidated"] > 0]
                                                            .min())))
    _money_axis(ax, f"liquidated per {w:g} s", d["currency"])
    twin = ax.twinx()
    for counts, marker, color, label in (
            (d["fill_failures"], "x", "black", "fill failures"),
            (d["adl_fills"], "^", "tab:red", "ADL fills"),
            (d["insurance_takeovers"] + d["backstop_takeovers"], "s", "tab:blue",
             "fund/backstop takeovers")):
        twin.plot(t + w / 2, np.where(counts > 0, counts, np.nan), marker, color=color,
                  ms=4, label=label)     # zero counts are not drawn
    twin.set_ylabel("count per interval")
    if not (d["liquidated"] > 0).any():
        empty_panel(ax, "none: no liquidation in this run")
        twin.set_yticks([])
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="upper right", fontsize=7)


def draw_fund(fig, ax, d) -> None:
    t = d["t"]
    ax.plot(t, d["fund"], color="tab:blue", lw=1.2, label="insurance fund: cash")
    ax.plot(t, d["fund_equity"], color="tab:blue", ls="--", lw=1.2,
            label="insurance fund: equity")
    ax.plot(t, d["backstop"], color="tab:green", lw=1.1, label="backstop vault: cash")
    ax.plot(t, d["bad_debt"], color="tab:red", lw=1.3, label="bad debt, cumulative")
    _money_axis(ax, "fund, backstop,\nbad debt", d["currency"])
    ax.legend(loc="upper left", fontsize=7, ncol=2)


def draw_oi_funding(fig, ax, d) -> None:
    t = d["t"]
    ax.plot(t, d["oi"], color="black", lw=1.2, label="open interest")
    ax.set_ylabel(f"open interest\n(base units)")
    twin = ax.twinx()
    twin.plot(t, d["funding_bps"], color="tab:orange", lw=1, label="funding rate (predicted)")
    twin.set_ylabel("funding rate\n(bps / interval)")
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="upper right", fontsize=7)
    if not d["funding"]:
        ax.text(0.5, 0.9, "funding off in this scenario", transform=ax.transAxes,
                ha="center", fontsize=8)


def draw_queue(fig, ax, d) -> None:
    t = d["t"]
    ax.plot(t, d["queue_len"], color="tab:blue", lw=1.1, label="messages waiting")
    ax.plot(t, d["liq_queue_len"], color="tab:red", lw=1.1, label="liquidation units waiting")
    ax.set_ylabel("queue length")
    twin = ax.twinx()
    twin.plot(t, d["queue_wait_ms"], color="grey", lw=0.8, ls="--", label="longest wait (ms)")
    twin.set_ylabel("longest wait (ms)")
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="upper right", fontsize=7)


def map_grid(d) -> tuple[np.ndarray, np.ndarray] | None:
    """The liquidation map's grid (quote currency) and its price edges (quote), or None."""
    levels = d["levels"]
    if levels is None or not levels.num_rows:
        return None
    prices = np.concatenate([d["index"], d["mark"], d["bid"], d["ask"]])
    prices = prices[np.isfinite(prices)]
    lo, hi = prices.min(), prices.max()
    pad = (hi - lo) * 0.5 + hi * 0.005
    edges = np.linspace(lo - pad, hi + pad, MAP_BUCKETS + 1)
    edges_ticks = edges / d["tick"]
    grid = liquidation_map(levels, d["events"], d["t_ns"], edges_ticks, d["tick"] * d["lot"])
    return grid, edges


def draw_liqmap(fig, ax, d) -> None:
    made = map_grid(d)
    t = d["t"]
    if made is None:
        ax.text(0.5, 0.5, "no liquidation levels saved with this run", ha="center",
                transform=ax.transAxes)
        return
    grid, edges = made
    tx = np.append(t, t[-1] + d["interval"])
    from matplotlib.colors import PowerNorm
    # A square-root colour scale: one crowded bucket would otherwise black out the rest.
    norm = PowerNorm(0.5, vmin=0, vmax=grid.max() or 1)
    img = ax.imshow(grid, origin="lower", aspect="auto", cmap="magma", norm=norm,
                    extent=(tx[0], tx[-1], edges[0], edges[-1]), interpolation="nearest")
    ax.plot(t, d["last"], color="cyan", lw=1, label="last trade")
    if len(d["fill_t"]):
        ax.scatter(d["fill_t"], d["fill_px"], s=10, marker="v", color="white", lw=0,
                   label="liquidation fills")
    fig.colorbar(img, ax=ax, pad=0.01, format=_fmt()).set_label(
        f"open liquidatable notional per bucket ({d['currency']})", fontsize=8)
    ax.text(0.99, 0.97, "SIMULATED: the model's seeded population at t = 0", ha="right",
            va="top", transform=ax.transAxes, color="white", fontsize=8, weight="bold")
    _money_axis(ax, "liquidation price", d["currency"])
    ax.legend(loc="lower left", fontsize=7)


#: (id, title, caption, draw, wanted(d)) in report order.
PANELS = (
    ("price", "Prices", "Index, mark, last trade (broken where nothing traded), best bid and "
     "ask; halted seconds orange, liquidity-vacuum seconds grey; triangles: liquidation fills "
     "at their volume-weighted price per interval; crosses: fill failures at the mark.",
     draw_price, lambda d: True),
    ("depth", "Depth against baseline", "Resting notional within 0.5/1/2/5% of mid per side "
     "(bid solid, ask dashed) over its own pre-event mean; the dotted line is the vacuum "
     "threshold.", draw_depth, lambda d: True),
    ("heatmap", "Depth heatmap", "Resting notional by price and time, one cell per band ring "
     "(0-0.5%, 0.5-1%, 1-2%, 2-5% from mid, per side; the run records depth per band, not per "
     "level), per 1% of price: the wick and the vacuum show as dark cells near mid.",
     draw_heatmap, lambda d: True),
    ("liquidations", "Liquidations", "Liquidated notional per interval (symmetric log scale): "
     "filled in the book (green) and closed off it (red); counts of fill failures, ADL fills "
     "and fund/backstop takeovers on the right axis.", draw_liquidations, lambda d: True),
    ("fund", "Insurance fund, backstop, bad debt", "The fund's cash and equity (cash + "
     "taken-over positions' unrealised PnL at the mark), the backstop vault's cash, "
     "cumulative bad debt.",
     draw_fund, lambda d: True),
    ("oi_funding", "Open interest and funding", "Open interest (the simulated accounts' long "
     "positions; a recorded world's own accounts are left out) and the "
     "predicted funding rate per funding interval (> 0: longs pay).", draw_oi_funding,
     lambda d: True),
    ("queue", "Venue queue", "Participant messages waiting for the matching engine, the "
     "longest wait of a message served per interval, liquidation units waiting for the "
     "engine's budget ([capacity]).", draw_queue, lambda d: d["capacity"]),
    ("liqmap", "Liquidation map (simulated)", "Open liquidatable notional by liquidation price "
     "and time, from the seeded population's liquidation prices at t = 0: a level leaves the "
     "map when its account is margin-called, stopped out or ADL'd (later arrivals, top-ups "
     "and funding are not in it). The realised last price and liquidation fills on top.",
     draw_liqmap, lambda d: True),
)


def wanted(d) -> list[tuple]:
    """The panels this run has data for, in report order."""
    return [p for p in PANELS if p[4](d)]


def figure(result, panels: list[str] | None = None):
    """One matplotlib ``Figure`` with the run's panels stacked (all it has data for, or the
    ids in ``panels``), sharing the time axis.  A bare Figure: no pyplot state; in Jupyter it
    displays inline as the cell's value."""
    from matplotlib.figure import Figure
    d = panel_data(result)
    chosen = [p for p in wanted(d) if panels is None or p[0] in panels]
    fig = Figure(figsize=(11, 3.2 * len(chosen)), layout="constrained")
    axes = fig.subplots(len(chosen), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(d["title"])
    for ax, (pid, title, _, draw, _) in zip(axes, chosen):
        draw(fig, ax, d)
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time (s)")
    return fig


def panel_figure(d, panel):
    """One panel alone in its own ``Figure`` (the report's SVGs)."""
    from matplotlib.figure import Figure
    pid, title, _, draw, _ = panel
    fig = Figure(figsize=(10, 3.6 if pid not in ("price", "liqmap", "heatmap") else 4.4))
    # Fixed margins (room for a second axis or a colour bar on the right): a layout engine
    # would cost ~0.1 s per panel for the same picture.
    fig.subplots_adjust(left=0.085, right=0.89, top=0.96, bottom=0.12)
    ax = fig.subplots()
    draw(fig, ax, d)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("time (s)")
    return fig
