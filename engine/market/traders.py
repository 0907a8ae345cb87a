"""The leveraged-trader population: the liquidation map a cascade runs through, and what its
traders do during the run -- stop-loss orders (``Stops``) and margin top-ups (``TopUps``).

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
* no account starts deficient: margin is raised, where needed, to ``margin_floor`` (1.1 by
  default) x the maintenance margin at the start price (rounded up; stated so the pre-event
  window is quiet -- with index noise a higher floor keeps it quiet); with
  ``margin_floor_max`` each account's floor is drawn uniform in [margin_floor,
  margin_floor_max] (after every other draw, so the positions do not move), spreading the
  raised accounts' liquidation prices instead of stacking them at one distance from the
  start (*assumed*: the sources give no distribution of margin near maintenance);
* stops: a ``stop_loss_share`` of accounts carry a stop ``stop_distance_pct`` beyond the
  start price on the losing side; ``topup_share`` add margin once when called.

Money is integer quantums; the only floats are the random draws themselves, which are
turned into integer lots and quantums once, here, deterministically for a given seed.
"""
from __future__ import annotations

from bisect import bisect_right
from fractions import Fraction

import numpy as np
from sortedcontainers import SortedList

from orderbook.enums import IOC, MARKET

from ..phases import SECOND
from ..venue.events import EventKind
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
    if instrument.inverse:      # notional in quote: whole contracts of contract_size
        lots = np.maximum(1, np.floor(notional / float(instrument.contract_size
                                                        * instrument.lot_size)))
    else:
        lots = np.maximum(1, np.floor(notional / price_quote / float(instrument.lot_size)))
    lots = lots.astype(np.int64)
    size = np.where(longs, lots, -lots)
    isolated = rng.random(n) < _f(cfg.isolated_share)
    stops = rng.random(n) < _f(cfg.stop_loss_share)
    topup = rng.random(n) < _f(cfg.topup_share)
    dist = Fraction(cfg.stop_distance_pct) / 100
    table = instrument.table_q
    floor = cfg.margin_floor
    # Per-account floors in millionths (rounded down, never below the floor), or one floor.
    floors = (None if cfg.margin_floor_max is None else
              np.floor(rng.uniform(float(floor), float(cfg.margin_floor_max), n) * 1e6)
              .astype(np.int64).tolist())
    # A long's stop below the start, a short's above (truncated, at least a tick).
    long_stop = max(1, int(start_ticks * (1 - dist)))
    short_stop = max(1, int(start_ticks * (1 + dist)))
    stop = np.where(stops, np.where(size > 0, long_stop, short_stop), 0).astype(np.int64)
    deposit = None if t is None else _linear_deposits(size, entry, lev, start_ticks, t, table,
                                                      floor, floors)
    if deposit is None:     # inverse, or int64 could overflow: one account at a time
        deposit = np.empty(n, dtype=object)
        for k in range(n):
            s, e = int(size[k]), int(entry[k])
            if t is None:       # inverse: values in coin (engine.venue.accounts)
                margin = int(instrument.value_q(e, s) / float(lev[k]))
                cost = instrument.value_q(e, s) * (-1 if s > 0 else 1)
                upnl = (-s * instrument.inverse_k) // start_ticks - cost
                mm = maintenance_margin_q(instrument.notional(start_ticks, s), table)
            else:
                margin = int(abs(s) * e * t / float(lev[k]))
                upnl = (s * start_ticks - s * e) * t
                mm = maintenance_margin_q(abs(s) * start_ticks * t, table)
            f = floor if floors is None else max(floor, Fraction(floors[k], 1_000_000))
            need = -(-mm * f.numerator // f.denominator) - upnl
            deposit[k] = max(margin, need, 1)
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


_INT64_SAFE = 1 << 62      # int64 arithmetic below stays under this bound (checked first)


def _linear_deposits(size, entry, lev, start_ticks: int, t: int, table, floor, floors):
    """``draw_traders``' deposits of a linear instrument, vectorised: the same integers as
    its loop, in int64 (an object array of Python ints), or None if an intermediate could
    leave int64 (checked first, on exact Python-int bounds) -- the loop runs then.

    Per account, exactly as the loop: margin = int(float(|s| e t) / lev) (the int's
    nearest float, IEEE division, truncated: numpy's int64 -> float64 cast and division
    are the same operations); upnl = (s start - s e) t; mm = ``maintenance_margin_q``
    of |s| start t (the tier by ``searchsorted`` on the integer floors, then the ceiling
    by floor division); need = ceil(mm x f) - upnl with f the floor, or the account's
    floor in millionths where larger; deposit = max(margin, need, 1).  O(n)."""
    absz = np.abs(size)
    smax, emax = int(absz.max(initial=0)), int(entry.max(initial=0))
    notional_max = smax * start_ticks * t
    # Only the tiers a notional up to the largest can fall in (floors ascending).
    top = bisect_right(table._floors_q, notional_max)
    floors_q, coef, den = table._floors_q[:top], table._coef_q[:top], table._den_q
    mmr_max, cum_max = max(c[0] for c in coef), max(abs(c[1]) for c in coef)
    mm_max = (notional_max * mmr_max + cum_max) // den + 1
    fmax = floor.numerator if floors is None else max(floor.numerator, max(floors, default=0))
    bounds = (smax * emax * t, 2 * smax * max(start_ticks, emax) * t,
              notional_max * mmr_max + cum_max,
              mm_max * fmax + 2 * smax * max(start_ticks, emax) * t,
              max(floors_q), floor.numerator * 1_000_000, floor.denominator * (fmax + 1))
    if max(bounds) >= _INT64_SAFE:
        return None
    margin_f = (absz * entry * t).astype(np.float64) / lev
    if not margin_f.size or margin_f.max() >= _INT64_SAFE:
        return None if margin_f.size else np.empty(0, dtype=object)
    margin = np.trunc(margin_f).astype(np.int64)
    upnl = (size * start_ticks - size * entry) * t
    notional = absz * (start_ticks * t)
    tier = np.searchsorted(np.array(floors_q, dtype=np.int64), notional, side="right") - 1
    lines = np.array(coef, dtype=np.int64)
    mm = -((lines[tier, 1] - notional * lines[tier, 0]) // den)
    need = -((-mm * floor.numerator) // floor.denominator)
    if floors is not None:
        own = np.array(floors, dtype=np.int64)
        # max(floor, own / 10^6): the account's floor where it is the larger (exact test)
        larger = own * floor.denominator > floor.numerator * 1_000_000
        need = np.where(larger, -((-mm * own) // 1_000_000), need)
    need = need - upnl
    out = np.empty(len(size), dtype=object)
    out[:] = np.maximum(np.maximum(margin, need), 1).tolist()
    return out


class Stops:
    """The population's stop-loss orders: a long's stop sells when the trigger price falls
    to its level, a short's buys when it rises to its level, as a reduce-only market order
    for the whole position, sent through ``port`` (a participant's latency applies).

    The trigger price is the mark or the last trade (``traders.stop_trigger``).  Two sorted
    books of ``(trigger tick, account)``: a check pops the crossed ones, O(log n + k).  Not
    while trading is halted, whether or not the halt queues market orders: stops stay armed
    and fire, if still crossed, once matching resumes (assumed: CME stops trigger on trades,
    and none print in a halt).  A stop that fired before the halt and whose order
    arrives in it (a participant's latency): refused by a halt that does not queue market
    orders -- the stop is armed again; queued into the reopening auction by one that does
    (``queue_market_orders``) -- it is spent, like any fired stop: the uncross fills it or
    its remainder expires, and a stop is not re-armed after an expiry in continuous
    trading either."""

    __slots__ = ("port", "trigger", "longs", "shorts")

    def __init__(self, port, trigger: str):
        self.port = port
        self.trigger = trigger
        self.longs = SortedList()     # (trigger, account): sell when price <= trigger
        self.shorts = SortedList()    # (trigger, account): buy when price >= trigger

    def arm(self, account_id: int, size: int, stop: int) -> None:
        """A stop at ``stop`` ticks for ``account_id``'s position of signed ``size`` lots."""
        (self.longs if size > 0 else self.shorts).add((stop, account_id))

    def __iter__(self):
        """The armed stops, ``(trigger, account)``: longs' then shorts'."""
        yield from self.longs
        yield from self.shorts

    def fire(self, ts: int) -> int:
        """Fire the stops crossed by the trigger price now; return how many were crossed
        (what the risk step counts as a cascade round's activity)."""
        ex = self.port.exchange
        if ex.halted:
            return 0
        price = ex.marks[0] if self.trigger == "mark" else ex.books[0].last_price
        if price is None:
            return 0
        fired = []
        longs, shorts = self.longs, self.shorts
        while longs and longs[-1][0] >= price:
            fired.append((longs.pop(-1), -1))
        while shorts and shorts[0][0] <= price:
            fired.append((shorts.pop(0), 1))
        for k, (entry, side) in enumerate(fired):
            if ex.halted:       # an earlier stop's order halted the venue: re-arm the rest
                for stop, s in fired[k:]:
                    (longs if s < 0 else shorts).add(stop)
                return k
            acct_id = entry[1]
            pos = ex.accounts[acct_id].positions.get(0)
            if pos is None or not pos.size or (pos.size > 0) == (side > 0):
                continue
            ex.log.append(ts, EventKind.STOP_TRIGGERED, side=side, account=acct_id,
                          price=price, qty=abs(pos.size))
            self.port.send(ts, lambda t, e=entry, side=side, q=abs(pos.size):
                           self._order(t, e, side, q))
        return len(fired)

    def _order(self, ts: int, entry: tuple, side: int, qty: int) -> None:
        """A triggered stop's reduce-only market order.  Refused because the venue is
        halted (it halted under the order, or the order arrived in a halt: the book's or a
        breaker gate's refusal) or down, the stop is armed again; queued in a halt's
        auction (``r`` is truthy: it rests) it is not."""
        ex = self.port.exchange
        r = ex.submit(ts, entry[1], 0, side, qty, tif=IOC, order_type=MARKET, reduce_only=True)
        if not r and (ex.halted or ex.down):
            (self.longs if side < 0 else self.shorts).add(entry)


class TopUps:
    """Traders who add margin once when they are called (``traders.topup_share``): the
    deficit plus half the maintenance margin, deposited into the balance that backs the
    position (its isolated margin, or the wallet) -- unless top-ups are blocked at that
    time (``frictions.topup_blocked``, e.g. a venue's transfers frozen)."""

    __slots__ = ("exchange", "accounts", "blocked")

    def __init__(self, exchange, blocked=None):
        self.exchange = exchange
        self.accounts: set[int] = set()
        self.blocked = None if blocked is None else (blocked[0] * SECOND, blocked[1] * SECOND)

    def run(self, ts: int) -> None:
        """Top up every called trader who still has a top-up.  O(deficient units)."""
        accounts, blocked = self.accounts, self.blocked
        if not accounts or blocked is not None and blocked[0] <= ts < blocked[1]:
            return
        ex = self.exchange
        for acct_id, inst in ex.liquidatable(0):
            if acct_id in accounts:
                accounts.discard(acct_id)
                acct = ex.accounts[acct_id]
                need = ex.deficit(acct, inst) + ex.maintenance_of(acct, inst) // 2
                if need > 0:
                    ex.deposit(ts, acct_id, need, inst=inst)
