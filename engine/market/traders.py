"""The leveraged-trader population: the liquidation map a cascade runs through.

``draw_traders`` turns a ``Traders`` configuration and the Simulation's Generator into one
row per account, vectorised with numpy (100k accounts in well under a second):

* side: long with probability ``long_share``;
* leverage: log-normal with median ``leverage_median`` and log-sd ``leverage_sigma``,
  clipped to [``leverage_min``, min(``leverage_max``, the tier's max leverage)];
* notional: Pareto (heavy tail) with minimum ``notional_min`` and index ``notional_alpha``,
  clipped at ``notional_max`` -- the "heavy-tailed size" of the issue;
* entry price: the start price x (1 + N(0, ``entry_spread_pct``%)), i.e. around recent
  prices, rounded to a tick;
* margin: notional / leverage, isolated with probability ``isolated_share`` (else cross);
* spare: ``spare_margin`` x the margin more in the wallet (rounded down) -- it backs a
  cross position (further from liquidation) and stays out of an isolated one's reach, so
  isolated and cross traders differ only when it is > 0;
* no account starts deficient: margin is raised, where needed, to 1.1 x the maintenance
  margin at the start price (stated so the pre-event window is quiet);
* stops: a ``stop_loss_share`` of accounts carry a stop ``stop_distance_pct`` beyond the
  start price on the losing side; ``topup_share`` add margin once when called.

Money is integer quantums; the only floats are the random draws themselves, which are
turned into integer lots and quantums once, here, deterministically for a given seed.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..venue.tiers import maintenance_margin_q


def _f(x) -> float:
    return float(x)


def draw_traders(cfg, instrument, start_ticks: int, rng: np.random.Generator,
                 first_id: int = 1000) -> dict[str, np.ndarray]:
    """Columns: id, size (signed lots), entry (ticks), deposit (the position's margin,
    quantums), spare (more in the wallet, quantums), isolated (bool), stop (trigger ticks,
    0 = none), topup (bool).  O(count)."""
    n = cfg.count
    t = instrument.tick_lot_quanta
    qpu = instrument.quanta_per_unit
    tick = Fraction(instrument.tick_size)
    longs = rng.random(n) < _f(cfg.long_share)
    max_lev = min(_f(cfg.leverage_max), float(instrument.tiers[0].max_leverage))
    lev = np.exp(np.log(_f(cfg.leverage_median)) + _f(cfg.leverage_sigma) * rng.standard_normal(n))
    lev = np.clip(lev, _f(cfg.leverage_min), max_lev)
    notional = _f(cfg.notional_min) * (1.0 - rng.random(n)) ** (-1.0 / _f(cfg.notional_alpha))
    notional = np.minimum(notional, _f(cfg.notional_max))
    entry = np.rint(start_ticks * (1.0 + _f(cfg.entry_spread_pct) / 100.0
                                   * rng.standard_normal(n))).astype(np.int64)
    entry = np.maximum(entry, 1)
    price_quote = entry.astype(np.float64) * float(tick)
    lots = np.maximum(1, np.floor(notional / price_quote / float(instrument.lot_size)))
    lots = lots.astype(np.int64)
    size = np.where(longs, lots, -lots)
    isolated = rng.random(n) < _f(cfg.isolated_share)
    stops = rng.random(n) < _f(cfg.stop_loss_share)
    topup = rng.random(n) < _f(cfg.topup_share)
    deposit = np.empty(n, dtype=object)
    stop = np.zeros(n, dtype=np.int64)
    dist = Fraction(cfg.stop_distance_pct) / 100
    table = instrument.table_q
    for k in range(n):
        s, e = int(size[k]), int(entry[k])
        margin = int(abs(s) * e * t / float(lev[k]))
        upnl = (s * start_ticks - s * e) * t
        mm = maintenance_margin_q(abs(s) * start_ticks * t, table)
        need = (11 * mm + 9) // 10 - upnl
        deposit[k] = max(margin, need, 1)
        if stops[k]:
            trig = start_ticks * (1 - dist) if s > 0 else start_ticks * (1 + dist)
            stop[k] = max(1, int(trig))
    spare = cfg.spare_margin
    return {
        "id": np.arange(first_id, first_id + n, dtype=np.int64),
        "size": size,
        "entry": entry,
        "deposit": deposit,
        "spare": [d * spare.numerator // spare.denominator for d in deposit],
        "isolated": isolated,
        "stop": stop,
        "topup": topup,
        "quanta_per_unit": np.int64(qpu),
    }
