"""Auto-deleveraging: who is closed against a bankrupt position, and at what price.

Rankings (docs/reference/liquidation-mechanics.md; highest score is deleveraged first):
  ``binance``      LeveragePnl = PnL% x margin ratio, PnL% = max(0, uPnL) / max(1, wallet),
                   margin ratio = MM / (wallet + uPnL), 0 if that is <= 0   (section 1.7;
                   account level; wallet in quote units for the max(1, .) floor)
  ``bitmex``       PnL% x effective leverage if PnL% > 0, else PnL% / effective leverage;
                   effective leverage = |mark value| / (mark value - bankrupt value)
                   (section 4; Bybit uses the same in its older text, section 2)
  ``hyperliquid``  (notional / account value) x (max(uPnL, 0) / entry notional), each
                   factor floored at 1e-8 (section 5: the engine's form as a third-party
                   decompilation reports it [S]; "a simple leverage x unrealized-PnL
                   ranking", the founder, section 9).  The docs' ``(mark / entry) x
                   (notional / account value)`` ranks longs by a like measure but puts
                   *losing* shorts first (mark / entry > 1 for them): on a crash's bankrupt
                   longs it closed the shorts in loss and took no profit from the winners.
  ``dydx``         no ranking: counterparties from a pseudo-random start (the exchange's
                   seeded numpy Generator), in account-id order from there    (section 6)
Execution: at the bankrupt position's bankruptcy price (sections 1.7, 2, 4, 6), walking the
queue until the quantity is filled; the deleveraged traders' open orders in the instrument
are cancelled and no fee is charged.  Hyperliquid documents the previous mark price; using
the bankruptcy price for every style is **assumed** (it keeps the bankrupt account at zero
instead of writing its deficit off).  The insurance fund and the backstop are deleveraged
only after every trader (assumed).
The queue is ranked once per (instrument, side, second) and reused for every bankrupt
position in that second, skipping holders that are flat or flipped by then (the venues
publish rankings as periodically refreshed indicator lights, reference 1.7 and 4; a
one-second refresh is **assumed**); if it runs out, holders that appeared since are ranked
at once.  Each counterparty close is also recorded (``state.AdlClose``: the mark, the
winner's uPnL at it on the lots closed, the shortfall they carried) for the ADL overshoot
measure, ``engine.outputs.adl``; the event log is unchanged by it.  Complexity: O(h log h)
for h holders on the other side, once per second; O(k) per deleverage for the k
counterparties it walks.
"""
from __future__ import annotations

from ..venue.accounts import RESERVED_FROM
from ..venue.events import EventKind
from ..venue.instruments import ADL_RANKINGS as RANKINGS
from . import state
from .state import AdlClose, AdlQueue


_HL_FLOOR = 10**8      # 1 / 1e-8, the floor of each factor of Hyperliquid's score


def _score(ex, acct, inst: int, ranking: str) -> float:
    """The ranking score as the correctly rounded float of its exact rational value (one
    integer division), so the order is exact except between scores equal to 53 bits."""
    pos = acct.positions[inst]
    instrument = ex.instruments[inst]
    t = instrument.tick_lot_quanta or 1     # inverse: cost is already in quantums
    mark = ex.marks[inst]
    upnl = ex.unrealised(pos, inst)
    if pos.isolated:
        wallet, equity = pos.margin, pos.margin + upnl
        mm = ex.maintenance_of(acct, inst)
        account_upnl = upnl
    else:
        wallet, equity = acct.wallet, ex.cross_equity(acct)
        mm = ex.cross_maintenance(acct)
        # The uPnL of every cross position: equity less wallet and collateral.
        account_upnl = equity - wallet - (ex.collateral_value(acct) if acct.collateral else 0)
    if ranking == "binance":
        # PnL% x margin ratio = max(0, uPnL) / max(1, wallet) x MM / equity, all of the
        # account (a hedged cross account is not in profit).
        if equity <= 0 or account_upnl <= 0:
            return 0.0
        return (account_upnl * mm) / (max(instrument.quanta_per_unit, wallet) * equity)
    notional = instrument.notional(mark, pos.size)
    if ranking == "bitmex":
        # PnL% x effective leverage (PnL% > 0), else PnL% / effective leverage, with
        # PnL% = uPnL / |entry value| and effective leverage = notional / margin balance.
        entry_value = abs(pos.cost) * t
        if not entry_value or not notional:
            return 0.0
        if equity <= 0:
            return float("inf") if upnl > 0 else float(-1 << 60)
        if upnl > 0:
            return (upnl * notional) / (entry_value * equity)
        return (upnl * equity) / (entry_value * notional)
    if ranking == "hyperliquid":
        # leverage x PnL%, each floored at 1e-8 (module docstring): a loser (uPnL <= 0)
        # ranks by its leverage x 1e-8, after every winner of at least that leverage.
        entry_value = abs(pos.cost) * t
        if equity <= 0 or not entry_value:
            return 0.0
        lev_num, lev_den = ((notional, equity) if notional * _HL_FLOOR >= equity
                            else (1, _HL_FLOOR))
        pnl_num, pnl_den = ((upnl, entry_value) if upnl * _HL_FLOOR >= entry_value
                            else (1, _HL_FLOOR))
        return (lev_num * pnl_num) / (lev_den * pnl_den)
    raise ValueError(f"ranking: {ranking!r} has no score")


def queue(ex, ts: int, inst: int, bankrupt_side: int) -> AdlQueue:
    """The ``AdlQueue``: holders of the opposite side of ``inst`` in deleveraging order
    (``ranked``), ranked once per second of simulated time (assumed refresh); entries
    before ``cursor`` are used up."""
    key = (inst, bankrupt_side, ts // 1_000_000_000)
    q = state.of(ex).adl
    if q.key != key:
        q.key, q.ranked, q.cursor = key, _rank(ex, inst, bankrupt_side), 0
    return q


def _rank(ex, inst: int, bankrupt_side: int, ranking: str | None = None,
          rng=None) -> list[int]:
    """The opposite side's holders in deleveraging order under ``ranking`` (default: the
    venue's), dYdX's start drawn from ``rng`` (default: the exchange's Generator)."""
    ranking = ranking or ex.adl_ranking
    rng = ex.rng if rng is None else rng
    holders = sorted(ex.holders[inst][-bankrupt_side])
    traders = [h for h in holders if h < RESERVED_FROM]
    venue = [h for h in holders if h >= RESERVED_FROM]
    if ranking == "dydx":
        if traders:
            start = int(rng.integers(len(traders))) if rng is not None else 0
            traders = traders[start:] + traders[:start]
    else:
        scores = {h: _score(ex, ex.accounts[h], inst, ranking) for h in traders}
        traders.sort(key=lambda h: (-scores[h], h))
    return traders + venue


def shortfall(ins, side: int, qty: int, price: int, mark: int) -> int:
    """What ``qty`` lots of a bankrupt ``side`` position lose between its bankruptcy
    ``price`` and the ``mark`` (ticks), quantums, at least 0: ``side x (price - mark) x qty``
    at the instrument's tick value, or for an inverse one the coin value between the two
    prices, ``side x (qty k / mark - qty k / price)``, each term rounded down.  O(1)."""
    if ins.inverse_k:
        kq = ins.inverse_k
        return max(0, side * (qty * kq // mark - qty * kq // price))
    return max(0, side * (price - mark)) * qty * ins.tick_lot_quanta


def counterfactual(ex, ts: int, account_id: int, inst: int, qty: int, price: int) -> None:
    """Off by default (``[venue] adl_counterfactual``): before an ADL closes ``qty`` lots of
    ``account_id``, what each ranking of ``RANKINGS`` would take from the winners for the
    same lots in the same state -- the positive uPnL at the mark on the lots its queue
    would close, walked as ``_walk`` does but ranked afresh and without closing anything --
    appended to ``state.counterfactual.episodes`` as (ts, inst, account, shortfall,
    {ranking: haircut}), quantums.  Reads only; dYdX's start comes from the counterfactual's
    own Generator, so the run's draws do not move.  O(RANKINGS x h log h) per call."""
    cf = state.of(ex).counterfactual
    side = 1 if ex.accounts[account_id].positions[inst].size > 0 else -1
    ins, mark = ex.instruments[inst], ex.marks[inst]
    taken = {}
    for ranking in RANKINGS:
        left, h = qty, 0
        for other in _rank(ex, inst, side, ranking, cf.rng):
            if not left:
                break
            theirs = ex.accounts[other].positions[inst]
            if other == account_id or theirs.size * side >= 0:
                continue
            take = min(left, abs(theirs.size))
            h += max(0, ex.unrealised(theirs, inst) * take // abs(theirs.size))
            left -= take
        taken[ranking] = h
    cf.episodes.append((ts, inst, account_id, shortfall(ins, side, qty, price, mark), taken))


def deleverage(ex, ts: int, account_id: int, inst: int, qty: int, price: int,
               settle=None) -> int:
    """Close ``qty`` lots of ``account_id``'s position in ``inst`` against the ADL queue at
    ``price``; return the lots closed (all of them unless the queue is empty).

    ``settle(ex, ts, acct, inst, isolated, wallet_before)`` is called for each counterparty
    the closing leaves flat in ``inst`` with a negative result (an underwater holder far down
    the queue), so that the fund clears it like any bankrupt account."""
    pos = ex.accounts[account_id].positions[inst]
    side = 1 if pos.size > 0 else -1
    left = qty
    if state.of(ex).counterfactual is not None:
        counterfactual(ex, ts, account_id, inst, qty, price)
    for fresh in (False, True):
        if fresh:     # the snapshot ran out: holders that appeared since are ranked now
            state.of(ex).adl.clear()
        left = _walk(ex, ts, account_id, inst, side, left, price, settle)
        if not left:
            break
    return qty - left


def _walk(ex, ts: int, account_id: int, inst: int, side: int, left: int, price: int,
          settle) -> int:
    """Deleverage against the cached queue; return the lots still to close."""
    q = queue(ex, ts, inst, side)
    ranked = q.ranked
    closes = state.of(ex).adl_closes
    k = q.cursor
    while left and k < len(ranked):
        other = ranked[k]
        theirs = ex.accounts[other].positions[inst]
        if theirs.size * side >= 0:          # used up (flat) or flipped since the ranking
            if k == q.cursor:
                q.cursor = k + 1
            k += 1
            continue
        if other == account_id:
            k += 1
            continue
        take = min(left, abs(theirs.size))
        # What the close takes from the winner and what the shortfall needed, read before
        # the transfer (engine.outputs.adl): the winner's uPnL at the mark on the lots
        # closed (floor), and side x (price - mark) x lots of the bankrupt unit's deficit.
        # (An inverse instrument's values are in the coin: lots x k / price, rounded down.)
        mark = ex.marks[inst]
        gain = ex.unrealised(theirs, inst) * take // abs(theirs.size)
        closes.append(AdlClose(ts, inst, account_id, other, take, side, price, mark, gain,
                               shortfall(ex.instruments[inst], side, take, price, mark)))
        ex.cancel_all(ts, other, inst)
        ex.adl_hits[other] = ts
        isolated, wallet_before = theirs.isolated, ex.accounts[other].wallet
        if side > 0:   # bankrupt long sells to a short
            ex.transfer_position(ts, other, account_id, inst, take, price)
        else:
            ex.transfer_position(ts, account_id, other, inst, take, price)
        ex.log.append(ts, EventKind.AUTO_DELEVERAGED, side=-side, inst=inst, account=account_id,
                      other=other, price=price, qty=take,
                      value=ex.instruments[inst].notional(price, take))
        left -= take
        if settle is not None and not theirs.size and other < RESERVED_FROM:
            settle(ex, ts, ex.accounts[other], inst, isolated, wallet_before)
    return left


__all__ = ["RANKINGS", "counterfactual", "deleverage", "queue"]
