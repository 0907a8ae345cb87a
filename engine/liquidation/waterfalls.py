"""Liquidation waterfalls: what happens to a deficient position, per venue style.

Every style starts the same way (reference liquidation-mechanics.md section 8 item 3): a
``MarginCall`` event, then the account's open orders are cancelled (all of them for a cross
account, the instrument's for an isolated position) and the margin is checked again.  Every
liquidation order goes through ``Exchange.submit`` -- the same matching as everyone's.  A
liquidation order whose remainder finds no liquidity within its limit is a *fill failure*:
a ``LiquidationUnfilled`` event with the unfilled lots and their notional at the mark.

Styles (``Instrument.waterfall``):

``binance`` (section 1.6)
    One IOC order for the whole position, limit = bankruptcy price (the liquidation price is
    the stop, the bankruptcy price the limit).  The size of Binance's "single large IOC" is
    not published: the whole position is **assumed**.  If the account is margin-compliant
    afterwards the liquidation ends; otherwise the insurance fund takes the remainder over at
    the bankruptcy price, or, when the fund cannot (empty, or past its position limit), ADL.
``tiered`` (Bybit / BitMEX / OKX, sections 2-4)
    While the position is above the lowest risk tier: a FOK order at the bankruptcy price
    sized to bring the notional (at mark) down to the next lower tier's cap; re-check;
    repeat.  At the lowest tier, or when a FOK cannot fill: takeover of the whole position
    (fund, else ADL).
``hyperliquid`` (section 5)
    Market orders (protected at ``HL_SLIPPAGE_PPM`` from mark, **assumed**: the docs give no
    figure); a position over 100k quote gets 20% per order, and after a partial liquidation
    the account is in a 30 s cooldown during which orders are for the whole position.  No
    clearance fee.  When equity falls below 2/3 of MM the backstop vault takes the positions
    and the remaining margin.  A negative account value goes to ADL.
``dydx`` (section 6)
    IOC at the fillable price oracle x (1 -/+ ABR x SMMR x MMF); per block at most
    ``max_portion_ppm`` of the position and ``max_notional`` per account (positions under
    ``min_notional`` go whole); at most ``max_attempts`` liquidations per block, the list
    taken from a seeded pseudo-random offset.  The insurance fund takes min(surplus, 1.5% x
    quote) per fill and pays a closed position's shortfall.  An order that fills nothing on an
    account with negative equity sends the whole position to deleveraging at the bankruptcy
    price.

A breaker may halt trading under a liquidation's own order (a corridor policy whose
limit that order would breach, or a halt left pending by the unit before): the halted
book refuses it.  With a ``liquidation_pause`` (``liq-pause``) that refusal is not a fill
failure: the unit is deferred (``LiquidationDeferred``) and re-checked at the reopening
price, like the units listed after it; without one the waterfall goes on (takeover, ADL).

After a takeover or ADL closes the position, ``_settle`` clears what the account has left:
a positive remainder goes to the fund (Binance: "the remaining collateral ... will go to
the Insurance Fund"), collateral is seized to cover a negative wallet, the fund covers what
remains negative, and what the fund cannot cover is written off as bad debt.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import FOK, IOC, MARKET

from . import adl
from ..venue.events import EventKind
from ..venue.rounding import ceil_div, ceil_f, floor_f, protection_limit

HL_SLIPPAGE_PPM = 100_000           # assumed 10% protection on Hyperliquid market liquidations
HL_PARTIAL_ABOVE_QUOTE = 100_000    # section 5: positions larger than 100k USDC ...
HL_PARTIAL_PPM = 200_000            # ... go 20% at a time
HL_COOLDOWN_NS = 30 * 10**9         # 30 s cooldown after a partial liquidation
DYDX = dict(block_ns=10**9, max_portion_ppm=100_000, max_notional_quote=100_000,
            min_notional_quote=1_000, max_attempts=50, smmr_ppm=1_500_000, ba_ppm=1_000_000,
            max_fee_ppm=15_000)    # mainnet genesis values, section 6; block time assumed 1 s


def bankruptcy_tick(ex, acct, inst: int) -> int:
    """Bankruptcy price of ``acct``'s position in ``inst`` in ticks: the mark at which the
    equity backing it reaches zero, other prices fixed.

    Isolated: the position's margin backs it (reference 1.5 [D]: long BP = EP - margin /
    size).  Cross: the account's equity is shared in proportion to maintenance margin --
    the position gets TNC x MM_i / TMMR (dYdX's partial-close rule, reference 6), so a
    solvent account's position is closed no further than its own maintenance per lot from
    the mark, and never on the gain side of it; with one position this is the whole equity.
    Rounded away from the loss (a long's up, a short's down); at least 1 tick.
    O(positions).
    """
    pos = acct.positions[inst]
    t = ex.instruments[inst].tick_lot_quanta
    mark = ex.marks[inst]
    share_num = share_den = 1          # the position's share of the equity
    if pos.isolated:
        equity = pos.margin + pos.unrealised(mark, t)
    else:
        equity = ex.cross_equity(acct)
        total_mm = ex.cross_maintenance(acct)
        own_mm = ex.maintenance_of(acct, inst)
        if total_mm and own_mm != total_mm:
            share_num, share_den = own_mm, total_mm
    # BP = mark - equity x share / (size x t), in integers: with D = share_den x |size| x t
    # > 0, a long's ceil(mark - N/D) is mark - floor(N/D) and a short's floor(mark + N/D)
    # is mark + floor(N/D), N = equity x share_num (a test checks it against Fractions).
    den = share_den * abs(pos.size) * t
    num = equity * share_num
    tick = mark - num // den if pos.size > 0 else mark + num // den
    return max(tick, 1)


class _Paused(Exception):
    """A liquidation order was refused because trading halted under it, and the breaker
    pauses liquidations while halted: the unit waits for the reopening (``reason``)."""

    def __init__(self, reason: int):
        super().__init__(reason)
        self.reason = reason


def run_liquidations(ex, ts: int, inst: int) -> int:
    """Liquidate every unit deficient at the current mark of ``inst``; return how many
    waterfalls ran.  Units are taken in ``Exchange.liquidatable`` order; each is re-checked
    just before its turn, since earlier liquidations move the book and the fund.  A
    breaker's ``liquidation_gate`` may defer a unit; deferred units are found again at the
    next check, at the then-current mark.  ``LiquidationDeferred`` is logged once per
    episode (the first deferral of a unit until it is next allowed through).  A breaker's
    ``liquidation_pause`` defers the whole round at once (``Policy.pauses_liquidations``)."""
    style = ex.instruments[inst].waterfall
    gate = ex.liquidation_gate
    count = 0
    units = ex.liquidatable(inst)
    if not units:
        return 0
    if style == "dydx" and ex.rng is not None and len(units) > 1:
        # dYdX processes each block's list from a pseudo-random offset (section 6).
        start = int(ex.rng.integers(len(units)))
        units = units[start:] + units[:start]
    pause = ex.liquidation_pause
    if pause is not None:
        # A blanket pause (liq-pause while halted): nothing moves between the listing and
        # each unit's turn, so every listed unit is still deficient -- defer them all.
        reason = pause(ts, inst, len(units))
        if reason:
            deferred = ex.style_state.get("deferred", ())
            for unit in units:
                if unit not in deferred:        # else already logged in this episode
                    _defer(ex, ts, unit[0], unit[1], reason)
            return 0
    for account_id, i in units:
        acct = ex.accounts[account_id]
        pos = acct.positions.get(i)
        if pos is None or pos.size == 0 or ex.deficit(acct, i) <= 0:
            continue
        if pause is not None:       # a waterfall may halt trading mid-round (an auction)
            reason = pause(ts, i, 1)
            if reason:
                _defer(ex, ts, account_id, i, reason)
                continue
        if gate is not None:
            notional = ex.instruments[i].notional(ex.marks[i], pos.size)
            reason = gate(ts, account_id, i, notional)
            if reason:
                _defer(ex, ts, account_id, i, reason, notional)
                continue
            ex.style_state.setdefault("deferred", set()).discard((account_id, i))
        if style == "dydx" and not _dydx_attempt_allowed(ex, ts):
            break
        try:
            _STYLES[style](ex, ts, acct, i)
        except _Paused as paused:       # the venue halted under this unit's order
            _defer(ex, ts, account_id, i, paused.reason)
            continue
        count += 1
    return count


def _defer(ex, ts: int, account_id: int, inst: int, reason: int, notional=None) -> None:
    """Log ``LiquidationDeferred`` for a unit, once per episode (its first deferral until
    it is next allowed through)."""
    deferred = ex.style_state.setdefault("deferred", set())
    if (account_id, inst) in deferred:
        return
    deferred.add((account_id, inst))
    pos = ex.accounts[account_id].positions[inst]
    if notional is None:
        notional = ex.instruments[inst].notional(ex.marks[inst], pos.size)
    ex.log.append(ts, EventKind.LIQUIDATION_DEFERRED, side=1 if pos.size > 0 else -1,
                  inst=inst, account=account_id, price=ex.marks[inst], qty=abs(pos.size),
                  value=notional, reason=reason)


def _open(ex, ts, acct, inst) -> bool:
    """Common first steps: margin call, cancel orders, re-check.  True if still deficient."""
    deficit = ex.deficit(acct, inst)
    pos = acct.positions[inst]
    ex.log.append(ts, EventKind.MARGIN_CALL, side=1 if pos.size > 0 else -1, inst=inst,
                  account=acct.id, price=ex.marks[inst], qty=abs(pos.size), value=-deficit)
    ex.cancel_all(ts, acct.id, inst if pos.isolated else None)
    return ex.deficit(acct, inst) > 0


def _send(ex, ts, acct, inst: int, qty: int, limit: int | None, tif: int, order_type: int = 1,
          fee_ppm=None) -> tuple[int, int]:
    """Send one liquidation order; log it, its fill and any fill failure.

    Returns (lots filled, their traded value in quantums)."""
    pos = acct.positions[inst]
    side = -1 if pos.size > 0 else 1
    ins = ex.instruments[inst]
    oid = ex._next_oid
    ex.log.append(ts, EventKind.LIQUIDATION_ORDER, side=side, inst=inst, account=acct.id,
                  order_id=oid, price=limit or 0, qty=qty, reason=tif)
    r = ex.submit(ts, acct.id, inst, side, qty, price=limit, tif=tif, order_type=order_type,
                  liquidation=True, fee_ppm=fee_ppm)
    filled = r.filled_qty if r else 0
    value = 0
    if filled:
        rows = list(r.fills.rows())     # (maker_id, taker_id, price, qty, ...)
        value = sum(row[2] * row[3] for row in rows) * ins.tick_lot_quanta
        ex.log.append(ts, EventKind.LIQUIDATION_FILLED, side=side, inst=inst, account=acct.id,
                      order_id=oid, price=rows[-1][2], qty=filled, value=value)
    if filled < qty and ex.books[inst].halted and ex.liquidation_pause is not None:
        # The unit was let through open, so the halt began under this order (refused by
        # the halted book, or by the gate that halted): with liq-pause the rest waits.
        reason = ex.liquidation_pause(ts, inst, 1)
        if reason:
            raise _Paused(reason)
    if filled < qty:
        unfilled = qty - filled
        ex.log.append(ts, EventKind.LIQUIDATION_UNFILLED, side=side, inst=inst, account=acct.id,
                      order_id=oid, price=limit or 0, qty=unfilled,
                      value=ins.notional(ex.marks[inst], unfilled))
    return filled, value


def _fund_can_take(ex, inst: int, qty: int, price: int) -> bool:
    """The fund takes a position only while its balance is positive and its net notional
    stays within ``fund_limit_ppm`` of its margin balance (reference 1.6 item 9)."""
    fund = ex.fund
    pos = fund.positions.get(inst)
    size = pos.size if pos else 0
    t = ex.instruments[inst].tick_lot_quanta
    equity = ex.cross_equity(fund)      # wallet + collateral it holds + uPnL of its positions
    if equity <= 0:
        return False
    after = abs(size) + qty   # conservative: assume the same direction
    return after * price * t * 1_000_000 <= equity * ex.fund_limit_ppm


def _take_over(ex, ts, acct, inst: int) -> None:
    """Close the whole remaining position at the bankruptcy price: fund first, else ADL."""
    pos = acct.positions[inst]
    if not pos.size:
        return
    qty = abs(pos.size)
    bp = bankruptcy_tick(ex, acct, inst)
    isolated = pos.isolated
    side = 1 if pos.size > 0 else -1
    wallet_before = acct.wallet
    if _fund_can_take(ex, inst, qty, bp):
        if pos.size > 0:
            ex.transfer_position(ts, ex.fund.id, acct.id, inst, qty, bp)
        else:
            ex.transfer_position(ts, acct.id, ex.fund.id, inst, qty, bp)
        ex.log.append(ts, EventKind.INSURANCE_TAKEOVER, side=side, inst=inst, account=acct.id, other=ex.fund.id, price=bp, qty=qty,
                      value=ex.instruments[inst].notional(bp, qty))
    else:
        adl.deleverage(ex, ts, acct.id, inst, qty, bp, _settle_if_negative)
    _settle(ex, ts, acct, inst, isolated, wallet_before)


def _settle(ex, ts, acct, inst: int, isolated: bool, wallet_before: int) -> None:
    """Clear what a closed-out unit has left (see module docstring)."""
    if isolated:
        left = acct.wallet - wallet_before     # the isolated margin returned on closing
        acct.wallet = wallet_before
    else:
        if any(p.size and not p.isolated for p in acct.positions.values()):
            return   # other cross positions still open: settled when the last one closes
        left = acct.wallet
        acct.wallet = 0
    if left < 0 and not isolated and any(acct.collateral.values()):
        # Only a cross shortfall reaches the account's collateral: an isolated position
        # risks its own margin, and the fund covers what it lost beyond (section 1.4).
        left += _seize_collateral(ex, ts, acct)
    if left > 0:
        ex.fund.wallet += left
        ex.log.append(ts, EventKind.INSURANCE_RECEIVED, inst=inst, account=acct.id, value=left)
    elif left < 0:
        # The fund pays from its cash and the collateral it holds (a seizure just before
        # may have turned collateral into its cash's counterpart), not its open uPnL.
        fund = ex.fund
        cover = min(-left, max(fund.wallet + (ex.collateral_value(fund) if fund.collateral
                                              else 0), 0))
        if cover:
            ex.fund.wallet -= cover
            ex.log.append(ts, EventKind.INSURANCE_PAID, inst=inst, account=acct.id, value=cover)
        uncovered = -left - cover
        if uncovered:
            ex.bad_debt += uncovered
            ex.log.append(ts, EventKind.BAD_DEBT, inst=inst, account=acct.id, value=uncovered)
    ex._dirty.add(acct.id)
    ex._dirty.add(ex.fund.id)


def _seize_collateral(ex, ts, acct) -> int:
    """Move all of an account's collateral to the fund, which pays its haircut value."""
    value = ex.collateral_value(acct)
    for asset, amount in sorted(acct.collateral.items()):
        if amount:
            ex.fund.collateral[asset] = ex.fund.collateral.get(asset, 0) + amount
            acct.collateral[asset] = 0
            ex.log.append(ts, EventKind.COLLATERAL_SEIZED, account=acct.id, other=ex.fund.id,
                          qty=amount, value=value)
    ex.fund.wallet -= value
    return value


# ------------------------------------------------------------------ styles
def _settle_if_negative(ex, ts, acct, inst: int, isolated: bool, wallet_before: int) -> None:
    """After the book closed a position in full: a negative result is paid back to zero by
    the fund (reference 1.6 item 3: "If an account becomes bankrupt (negative wallet
    balance), the Insurance Fund will payout"); a positive one stays with the trader."""
    if not isolated and acct.wallet < 0 and any(acct.collateral.values()) and \
            not any(p.size and not p.isolated for p in acct.positions.values()):
        # Closed out with a negative quote balance: collateral is auto-exchanged to cover it
        # (Binance multi-assets mode, reference 1.9); the trader keeps any excess.
        acct.wallet += _seize_collateral(ex, ts, acct)
    negative = acct.wallet < wallet_before if isolated else ex.margin_balance(acct, inst) < 0
    if negative:
        _settle(ex, ts, acct, inst, isolated, wallet_before)


def liquidate_binance(ex, ts: int, acct, inst: int) -> None:
    if not _open(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    isolated, wallet_before = pos.isolated, acct.wallet
    _send(ex, ts, acct, inst, abs(pos.size), bankruptcy_tick(ex, acct, inst), IOC)
    if pos.size and ex.deficit(acct, inst) > 0:
        _take_over(ex, ts, acct, inst)
    elif not pos.size:
        _settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def liquidate_tiered(ex, ts: int, acct, inst: int) -> None:
    if not _open(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    ins = ex.instruments[inst]
    t = ins.tick_lot_quanta
    table = ins.table_q
    isolated, wallet_before = pos.isolated, acct.wallet
    while pos.size and ex.deficit(acct, inst) > 0:
        mark = ex.marks[inst]
        tier = table.index_of_q(abs(pos.size) * mark * t)
        if tier == 0:
            break
        target_q = table.floor_q(tier)            # the lower tier's cap
        excess = abs(pos.size) * mark * t - target_q
        # Tiers are half-open [floor, cap): the notional must end strictly below the cap.
        qty = min(abs(pos.size), excess // (mark * t) + 1)
        if _send(ex, ts, acct, inst, qty, bankruptcy_tick(ex, acct, inst), FOK)[0] < qty:
            break
    if pos.size and ex.deficit(acct, inst) > 0:
        _take_over(ex, ts, acct, inst)
    elif not pos.size:
        _settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def liquidate_hyperliquid(ex, ts: int, acct, inst: int) -> None:
    if not _open(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    ins = ex.instruments[inst]
    mark = ex.marks[inst]
    mm = ex.maintenance_of(acct, inst) if pos.isolated else ex.cross_maintenance(acct)
    balance = mm - ex.deficit(acct, inst)
    if 3 * balance < 2 * mm:
        _backstop_take_over(ex, ts, acct, inst)
        return
    cooldown = ex.style_state.setdefault("hl_cooldown", {})
    qty = abs(pos.size)
    in_cooldown = cooldown.get(acct.id, -1) > ts
    if not in_cooldown and ins.notional(mark, qty) > HL_PARTIAL_ABOVE_QUOTE * ins.quanta_per_unit:
        qty = max(1, qty * HL_PARTIAL_PPM // 1_000_000)
        cooldown[acct.id] = ts + HL_COOLDOWN_NS
    side = -1 if pos.size > 0 else 1
    limit = protection_limit(mark, side, Fraction(HL_SLIPPAGE_PPM, 1_000_000))
    isolated, wallet_before = pos.isolated, acct.wallet
    _send(ex, ts, acct, inst, qty, limit, IOC, MARKET, fee_ppm=0)   # no clearance fee (s. 5)
    if pos.size:
        if ex.margin_balance(acct, inst) < 0:
            _take_over_adl(ex, ts, acct, inst)
        return
    # Closed in the book: whatever is left stays with the trader (section 5).
    _settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def _take_over_adl(ex, ts, acct, inst: int) -> None:
    """Hyperliquid: negative account value goes straight to ADL at the bankruptcy price."""
    pos = acct.positions[inst]
    isolated, wallet_before = pos.isolated, acct.wallet
    adl.deleverage(ex, ts, acct.id, inst, abs(pos.size), bankruptcy_tick(ex, acct, inst),
                   _settle_if_negative)
    _settle(ex, ts, acct, inst, isolated, wallet_before)


def _backstop_take_over(ex, ts, acct, inst: int) -> None:
    """The liquidator vault takes the position(s) at mark and the margin behind them
    (cross: every cross position and the cross wallet; isolated: that position)."""
    pos = acct.positions[inst]
    isolated = pos.isolated          # read now: closing the position resets the flag
    units = [inst] if isolated else sorted(i for i, p in acct.positions.items()
                                           if p.size and not p.isolated)
    wallet_before = acct.wallet
    for i in units:
        p = acct.positions[i]
        qty, mark = abs(p.size), ex.marks[i]
        if p.size > 0:
            ex.transfer_position(ts, ex.backstop.id, acct.id, i, qty, mark)
        else:
            ex.transfer_position(ts, acct.id, ex.backstop.id, i, qty, mark)
        ex.log.append(ts, EventKind.BACKSTOP_TAKEOVER, inst=i, account=acct.id,
                      other=ex.backstop.id, price=mark, qty=qty,
                      value=ex.instruments[i].notional(mark, qty))
    moved = acct.wallet - wallet_before if isolated else acct.wallet
    if not isolated:
        for asset, amount in sorted(acct.collateral.items()):
            if amount:
                ex.backstop.collateral[asset] = ex.backstop.collateral.get(asset, 0) + amount
                acct.collateral[asset] = 0
    acct.wallet -= moved
    ex.backstop.wallet += moved
    ex._dirty.add(acct.id)
    ex._dirty.add(ex.backstop.id)


def _dydx_state(ex, ts: int) -> dict:
    """Per-block counters: liquidation attempts and notional liquidated per account."""
    state = ex.style_state.setdefault("dydx", {"block": None, "attempts": 0, "notional": {}})
    block = ts // DYDX["block_ns"]
    if state["block"] != block:
        state.update(block=block, attempts=0, notional={})
    return state


def _dydx_attempt_allowed(ex, ts: int) -> bool:
    state = _dydx_state(ex, ts)
    if state["attempts"] >= DYDX["max_attempts"]:
        return False
    state["attempts"] += 1
    return True


def liquidate_dydx(ex, ts: int, acct, inst: int) -> None:
    if not _open(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    ins = ex.instruments[inst]
    t, qpu = ins.tick_lot_quanta, ins.quanta_per_unit
    mark = ex.marks[inst]
    state = _dydx_state(ex, ts)
    done = state["notional"].get(acct.id, 0)
    notional = ins.notional(mark, pos.size)
    # Size: whole position under the minimum, else the per-block portion and notional caps.
    if notional <= DYDX["min_notional_quote"] * qpu:
        qty = abs(pos.size)
    else:
        by_portion = max(1, abs(pos.size) * DYDX["max_portion_ppm"] // 1_000_000)
        room = DYDX["max_notional_quote"] * qpu - done
        if room <= 0:
            return
        qty = min(by_portion, max(1, room // (mark * t)), abs(pos.size))
    # Fillable price: oracle x (1 -/+ ABR x SMMR x MMF), ABR = clamp(BA x (1 - TNC/TMMR), 0, 1).
    tmmr = ex.maintenance_of(acct, inst) if pos.isolated else ex.cross_maintenance(acct)
    tnc = tmmr - ex.deficit(acct, inst)
    abr = min(max(Fraction(DYDX["ba_ppm"], 10**6) * (1 - Fraction(tnc, tmmr)), 0), 1)
    mmf = Fraction(ex.maintenance_of(acct, inst), notional) if notional else Fraction(0)
    spread = abr * Fraction(DYDX["smmr_ppm"], 10**6) * mmf
    side = -1 if pos.size > 0 else 1
    exact = mark * (1 + side * spread)
    limit = max(1, ceil_f(exact) if side < 0 else floor_f(exact))
    bp = bankruptcy_tick(ex, acct, inst)
    isolated, wallet_before = pos.isolated, acct.wallet
    filled, value = _send(ex, ts, acct, inst, qty, limit, IOC, fee_ppm=0)
    state["notional"][acct.id] = done + ins.notional(mark, filled)
    if filled:
        # Per-fill insurance rule on the slice: delta = quote received - bankruptcy value.
        bk_value = bp * filled * t
        delta = (value - bk_value) if side < 0 else (bk_value - value)
        if delta > 0:
            fee = min(delta, ceil_div(value * DYDX["max_fee_ppm"], 10**6))
            fee = min(fee, max(0, ex.margin_balance(acct, inst)))
            if fee:
                ex._pay(acct, inst, -fee)
                ex.fund.wallet += fee
                ex.log.append(ts, EventKind.INSURANCE_RECEIVED, inst=inst, account=acct.id,
                              value=fee)
    if not pos.size:
        # A shortfall on the closing fills is the fund's to pay (section 6: "if <= 0 the
        # fund pays"); what it cannot pay is bad debt.
        _settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)
    elif not filled and ex.margin_balance(acct, inst) < 0:
        # An order that filled nothing makes the account a deleveraging candidate; with
        # negative equity the whole position is deleveraged at once, at the bankruptcy price.
        _take_over_adl(ex, ts, acct, inst)


_STYLES = {
    "binance": liquidate_binance,
    "tiered": liquidate_tiered,
    "hyperliquid": liquidate_hyperliquid,
    "dydx": liquidate_dydx,
}
