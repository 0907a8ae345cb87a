"""Liquidation waterfalls: what happens to a deficient position, per venue style.

Every style starts the same way (docs/reference/liquidation-mechanics.md section 8 item 3): a
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
    Market orders; a position over 100k quote gets 20% per order, and after a partial
    liquidation the account is in a 30 s cooldown during which orders are for the whole
    position.  No clearance fee.  An order's price protection is ``HL_SLIPPAGE_PPM`` from
    the mark (**assumed**: the docs give no figure), and never past the unit's bankruptcy
    price (**assumed**): the book step leaves the trader what remains ("any remaining
    collateral stays with the trader"), and what the book cannot close above bankruptcy
    stays open until the equity is under 2/3 of MM, when the backstop vault takes the
    positions and the remaining margin ("without successful liquidation through the book").
    A vault with limited capital (``[venue] backstop_capital_oi_pct``) takes accounts only
    while it is above its own maintenance margin; otherwise the book step goes on.
    A negative account value goes to ADL (the ADL trigger), before the backstop is
    considered (**assumed**: the docs give both triggers and no order); before both rules,
    a 10% protection on a 40x account (MM 1.25%) closed 47,686 of 100,000 accounts on
    oct-2025-hyperliquid below zero, the fund paying, where public replays count under 1%.
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
book refuses it.  With a breaker that pauses liquidations (``liq-pause``) that refusal is not a fill
failure: the unit is deferred (``LiquidationDeferred``) and re-checked at the reopening
price, like the units listed after it; without one the waterfall goes on (takeover, ADL).

Where the halting policy queues market orders into the reopening auction
(``queue_market_orders``: ``luld``, ``xetra-vi``), a Hyperliquid liquidation order -- a market
order -- that meets a halt is not refused: it rests in the auction and the unit waits for it
(no fill failure, no takeover or ADL meanwhile, and the unit is not listed again while the
order rests; a ``liq-pause`` in the composition does not take back an order already in the
auction).  The uncross fills it as a liquidation and logs its ``LiquidationFilled`` and, for
the remainder that expires, ``LiquidationUnfilled`` (``Exchange.uncross``); at the next
margin check a unit the uncross closed is settled as after a fill in continuous trading
(``settle_if_negative``), and one still open is checked again at the reopened mark.  The other styles send IOC/FOK limit orders, which a
halted book refuses whatever the policy: deferred under ``liq-pause``, a fill failure
otherwise, as before.

After a takeover or ADL closes the position, ``engine.liquidation.settlement`` clears what
the account has left (the fund, collateral, bad debt).
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.enums import FOK, IOC, LIMIT, MARKET

from ..venue.events import EventKind
from ..venue.rounding import ceil_div, ceil_f, floor_f, protection_limit
from . import state
from .settlement import (backstop_can_take, backstop_take_over, bankruptcy_tick,
                         clear_fund_shortfall, settle, settle_if_negative, take_over,
                         take_over_adl)

HL_SLIPPAGE_PPM = 100_000           # assumed 10% protection on Hyperliquid market liquidations
HL_PARTIAL_ABOVE_QUOTE = 100_000    # section 5: positions larger than 100k USDC ...
HL_PARTIAL_PPM = 200_000            # ... go 20% at a time
HL_COOLDOWN_NS = 30 * 10**9         # 30 s cooldown after a partial liquidation
DYDX = dict(block_ns=10**9, max_portion_ppm=100_000, max_notional_quote=100_000,
            min_notional_quote=1_000, max_attempts=50, smmr_ppm=1_500_000, ba_ppm=1_000_000,
            max_fee_ppm=15_000)    # mainnet genesis values, section 6; block time assumed 1 s



class _Paused(Exception):
    """A liquidation order was refused because trading halted under it, and the breaker
    pauses liquidations while halted: the unit waits for the reopening (``reason``)."""

    def __init__(self, reason: int):
        super().__init__(reason)
        self.reason = reason


class _Queued(Exception):
    """A liquidation order rests in a halted book's auction: the unit waits for the
    uncross (module docstring)."""


def _after_auction(ex, ts: int, st) -> None:
    """Forget the units whose queued liquidation order is gone (the uncross filled it or
    expired it); settle one it closed (module docstring).  O(queued units)."""
    for unit, (oid, isolated, wallet_before) in list(st.queued.items()):
        account_id, inst = unit
        if oid in ex.books[inst]:
            continue
        del st.queued[unit]
        acct = ex.accounts[account_id]
        if not acct.positions[inst].size:
            settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def settle_closed(ex, ts: int) -> None:
    """Settle the accounts a fill left with no cross position and a negative balance
    (``Exchange.closed_negative``: a stop's market order or the trader's own close through
    a thin book, beyond the bankruptcy price): like a closing liquidation, the fund pays the
    balance back to zero and what it cannot pay is bad debt (``settlement.settle``; reference
    1.6 item 3, "If an account becomes bankrupt (negative wallet balance), the Insurance Fund
    will payout").  An account whose balance is no longer negative (a waterfall settled
    it) is left as it is, and one still holding a cross position too (``settle`` waits for
    its last one).  Not counted in
    ``negative_equity_accounts`` (the liquidation engine's own negatives).  In account
    order.  O(such accounts)."""
    closed, ex.closed_negative = ex.closed_negative, {}
    for account_id, inst in sorted(closed.items()):
        acct = ex.accounts[account_id]
        if acct.wallet < 0:
            settle(ex, ts, acct, inst, False, acct.wallet, note=False)


def run_liquidations(ex, ts: int, inst: int) -> int:
    """Liquidate every unit deficient at the current mark of ``inst``; return how many
    waterfalls ran.  Units are taken in ``Exchange.liquidatable`` order; each is re-checked
    just before its turn, since earlier liquidations move the book and the fund.  A
    breaker's ``gate_liquidation`` may defer a unit; deferred units are found again at the
    next check, at the then-current mark.  ``LiquidationDeferred`` is logged once per
    episode (the first deferral of a unit until it is next allowed through).  A breaker's
    ``pauses_liquidations`` defers the whole round at once.  With a liquidation engine's
    rate (``state.capacity``) the units listed after its budget is spent wait for a later
    check (``engine.venue.capacity.LiquidationEngine``).  First, what closes left negative
    is settled (``settle_closed``) and what the fund owes beyond its assets is written off
    (``settlement.clear_fund_shortfall``)."""
    if ex.closed_negative:
        settle_closed(ex, ts)
    if ex.fund.wallet < 0:      # a loss outside the offload (funding, collateral prices)
        clear_fund_shortfall(ex, ts, inst)
    style = ex.instruments[inst].waterfall
    breaker = ex.breaker
    count = 0
    st = state.of(ex)
    if st.queued:
        _after_auction(ex, ts, st)
    capacity = st.capacity
    if capacity is not None:
        if capacity.exhausted(ts):
            return 0        # nothing starts before the next second: no listing either
        capacity.waiting = 0
    units = ex.liquidatable(inst)
    if st.queued:           # not listed while their order waits in the auction
        units = [u for u in units if u not in st.queued]
    if not units:
        return 0
    if st.tried_ts != ts:
        st.tried_ts = ts
        st.tried.clear()
    tried = st.tried
    if style == "dydx" and ex.rng is not None and len(units) > 1:
        # dYdX processes each block's list from a pseudo-random offset (section 6).
        start = int(ex.rng.integers(len(units)))
        units = units[start:] + units[:start]
    if breaker is not None:
        # A blanket pause (liq-pause while halted): nothing moves between the listing and
        # each unit's turn, so every listed unit is still deficient -- defer them all.
        reason = breaker.pauses_liquidations(ts, inst, len(units))
        if reason:
            deferred = state.of(ex).deferred
            for unit in units:
                if unit not in deferred:        # else already logged in this episode
                    _defer(ex, ts, unit[0], unit[1], reason)
            return 0
    for k, unit in enumerate(units):
        account_id, i = unit
        acct = ex.accounts[account_id]
        pos = acct.positions.get(i)
        if pos is None or pos.size == 0 or ex.deficit(acct, i) <= 0:
            continue
        if tried and tried.get(unit) == state.unit_state(ex, acct, i):
            # Tried at this instant and nothing it depends on changed since: the retry
            # could only repeat its order into a book that has not refilled (a Hyperliquid
            # market order into an empty book was resent every cascade round).
            continue
        if capacity is not None and capacity.exhausted(ts):
            capacity.waiting = len(units) - k       # this unit and those listed after it
            break
        if breaker is not None:
            reason = breaker.pauses_liquidations(ts, i, 1)   # a waterfall may halt trading
            if reason:                                       # mid-round (an auction)
                _defer(ex, ts, account_id, i, reason)
                continue
            notional = ex.instruments[i].notional(ex.marks[i], pos.size)
            reason = breaker.gate_liquidation(ts, account_id, i, notional)
            if reason:
                _defer(ex, ts, account_id, i, reason, notional)
                continue
            state.of(ex).deferred.discard((account_id, i))
        if style == "dydx" and not _dydx_attempt_allowed(ex, ts):
            break
        if capacity is not None:
            capacity.used += 1
        try:
            _STYLES[style](ex, ts, acct, i)
        except _Paused as paused:       # the venue halted under this unit's order
            _defer(ex, ts, account_id, i, paused.reason)
            continue
        except _Queued:                 # its order waits in the reopening auction
            count += 1
            continue
        if pos.size:
            tried[unit] = state.unit_state(ex, acct, i)
        count += 1
    return count


def _defer(ex, ts: int, account_id: int, inst: int, reason: int, notional=None) -> None:
    """Log ``LiquidationDeferred`` for a unit, once per episode (its first deferral until
    it is next allowed through)."""
    deferred = state.of(ex).deferred
    if (account_id, inst) in deferred:
        return
    deferred.add((account_id, inst))
    pos = ex.accounts[account_id].positions[inst]
    if notional is None:
        notional = ex.instruments[inst].notional(ex.marks[inst], pos.size)
    ex.log.append(ts, EventKind.LIQUIDATION_DEFERRED, side=1 if pos.size > 0 else -1,
                  inst=inst, account=account_id, price=ex.marks[inst], qty=abs(pos.size),
                  value=notional, reason=reason)


def _margin_call(ex, ts, acct, inst) -> bool:
    """Common first steps of every attempt: the margin call (a row recording the mark, the
    position and the deficit the attempt starts from), cancel orders, re-check.  True if
    still deficient."""
    deficit = ex.deficit(acct, inst)
    pos = acct.positions[inst]
    ex.log.append(ts, EventKind.MARGIN_CALL, side=1 if pos.size > 0 else -1, inst=inst,
                  account=acct.id, price=ex.marks[inst], qty=abs(pos.size), value=-deficit)
    ex.margin_called[acct.id] = ts
    state.note_equity(ex, acct, inst)
    ex.cancel_all(ts, acct.id, inst if pos.isolated else None)
    return ex.deficit(acct, inst) > 0


def _send_liquidation_order(ex, ts, acct, inst: int, qty: int, limit: int | None, tif: int,
                            order_type: int = LIMIT, fee_ppm=None) -> tuple[int, int]:
    """Send one liquidation order; log it, its fill and any fill failure.

    Returns (lots filled, their traded value in quantums)."""
    pos = acct.positions[inst]
    side = -1 if pos.size > 0 else 1
    instrument = ex.instruments[inst]
    oid = ex.next_order_id()
    ex.log.append(ts, EventKind.LIQUIDATION_ORDER, side=side, inst=inst, account=acct.id,
                  order_id=oid, price=limit or 0, qty=qty, reason=tif)
    capacity = state.of(ex).capacity
    if capacity is not None:
        capacity.order_sent(ts)
    r = ex.submit(ts, acct.id, inst, side, qty, price=limit, tif=tif, order_type=order_type,
                  liquidation=True, fee_ppm=fee_ppm)
    filled = r.filled_qty if r else 0
    if r and r.resting_qty:
        # A market order queued in a halt's auction (``queue_market_orders``): the unit
        # waits for the uncross, which fills it or fails it (``Exchange.uncross``).
        state.of(ex).queued[(acct.id, inst)] = (oid, pos.isolated, acct.wallet)
        raise _Queued()
    value = 0
    if filled:
        rows = list(r.fills.rows())     # (maker_id, taker_id, price, qty, ...)
        value = (sum(price * lots for _, _, price, lots, *_ in rows) * instrument.tick_lot_quanta
                 if not instrument.inverse_k else
                 sum(instrument.value_q(price, lots) for _, _, price, lots, *_ in rows))
        ex.log.append(ts, EventKind.LIQUIDATION_FILLED, side=side, inst=inst, account=acct.id,
                      order_id=oid, price=rows[-1][2], qty=filled, value=value)
    if filled < qty and ex.books[inst].halted and ex.breaker is not None:
        # The unit was let through open, so the halt began under this order (refused by
        # the halted book, or by the gate that halted): with liq-pause the rest waits.
        reason = ex.breaker.pauses_liquidations(ts, inst, 1)
        if reason:
            raise _Paused(reason)
    if filled < qty:
        unfilled = qty - filled
        ex.log.append(ts, EventKind.LIQUIDATION_UNFILLED, side=side, inst=inst, account=acct.id,
                      order_id=oid, price=limit or 0, qty=unfilled,
                      value=instrument.notional(ex.marks[inst], unfilled))
    return filled, value



# ------------------------------------------------------------------ styles

def liquidate_binance(ex, ts: int, acct, inst: int) -> None:
    if not _margin_call(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    isolated, wallet_before = pos.isolated, acct.wallet
    _send_liquidation_order(ex, ts, acct, inst, abs(pos.size), bankruptcy_tick(ex, acct, inst), IOC)
    if pos.size and ex.deficit(acct, inst) > 0:
        take_over(ex, ts, acct, inst)
    elif not pos.size:
        settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def liquidate_tiered(ex, ts: int, acct, inst: int) -> None:
    if not _margin_call(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    instrument = ex.instruments[inst]
    t = instrument.tick_lot_quanta
    table = instrument.table_q
    isolated, wallet_before = pos.isolated, acct.wallet
    while pos.size and ex.deficit(acct, inst) > 0:
        mark = ex.marks[inst]
        tier = table.index_of_q(instrument.notional(mark, pos.size))
        if tier == 0:
            break
        target_q = table.floor_q(tier)            # the lower tier's cap
        # Tiers are half-open [floor, cap): the notional must end strictly below the cap.
        if t is None:
            # Inverse: keep r lots with ceil(r k / mark) < target, r = (target-1) mark // k.
            qty = abs(pos.size) - (target_q - 1) * mark // instrument.inverse_k
        else:
            excess = abs(pos.size) * mark * t - target_q
            qty = min(abs(pos.size), excess // (mark * t) + 1)
        limit = bankruptcy_tick(ex, acct, inst)
        if _send_liquidation_order(ex, ts, acct, inst, qty, limit, FOK)[0] < qty:
            break
    if pos.size and ex.deficit(acct, inst) > 0:
        take_over(ex, ts, acct, inst)
    elif not pos.size:
        settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)


def liquidate_hyperliquid(ex, ts: int, acct, inst: int) -> None:
    if not _margin_call(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    instrument = ex.instruments[inst]
    mark = ex.marks[inst]
    mm = ex.maintenance_of(acct, inst) if pos.isolated else ex.cross_maintenance(acct)
    balance = mm - ex.deficit(acct, inst)
    if balance < 0:             # negative account value: ADL, not the vault (docstring)
        take_over_adl(ex, ts, acct, inst)
        return
    if 3 * balance < 2 * mm and backstop_can_take(ex):
        backstop_take_over(ex, ts, acct, inst)
        return
    cooldown = state.of(ex).hl_cooldown
    qty = abs(pos.size)
    in_cooldown = cooldown.get(acct.id, -1) > ts
    partial_above = HL_PARTIAL_ABOVE_QUOTE * instrument.quanta_per_unit
    if not in_cooldown and instrument.notional(mark, qty) > partial_above:
        qty = max(1, qty * HL_PARTIAL_PPM // 1_000_000)
        cooldown[acct.id] = ts + HL_COOLDOWN_NS
    side = -1 if pos.size > 0 else 1
    limit = protection_limit(mark, side, Fraction(HL_SLIPPAGE_PPM, 1_000_000))
    bp = bankruptcy_tick(ex, acct, inst)     # no fill past it: the equity stays >= 0
    limit = max(limit, bp) if side < 0 else min(limit, bp)
    isolated, wallet_before = pos.isolated, acct.wallet
    # No clearance fee on Hyperliquid (section 5).
    _send_liquidation_order(ex, ts, acct, inst, qty, limit, IOC, MARKET, fee_ppm=0)
    if pos.size:
        if ex.margin_balance(acct, inst) < 0:
            take_over_adl(ex, ts, acct, inst)
        return
    # Closed in the book: whatever is left stays with the trader (section 5).
    settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)



def _dydx_block(ex, ts: int) -> state.DydxBlock:
    """This block's counters: liquidation attempts and notional liquidated per account."""
    block = state.of(ex).dydx
    block.roll(ts // DYDX["block_ns"])
    return block


def _dydx_attempt_allowed(ex, ts: int) -> bool:
    block = _dydx_block(ex, ts)
    if block.attempts >= DYDX["max_attempts"]:
        return False
    block.attempts += 1
    return True


def liquidate_dydx(ex, ts: int, acct, inst: int) -> None:
    if not _margin_call(ex, ts, acct, inst):
        return
    pos = acct.positions[inst]
    instrument = ex.instruments[inst]
    t, qpu = instrument.tick_lot_quanta, instrument.quanta_per_unit
    mark = ex.marks[inst]
    block = _dydx_block(ex, ts)
    done = block.notional.get(acct.id, 0)
    notional = instrument.notional(mark, pos.size)
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
    filled, value = _send_liquidation_order(ex, ts, acct, inst, qty, limit, IOC, fee_ppm=0)
    block.notional[acct.id] = done + instrument.notional(mark, filled)
    if filled:
        # Per-fill insurance rule on the slice: delta = quote received - bankruptcy value.
        bk_value = bp * filled * t
        delta = (value - bk_value) if side < 0 else (bk_value - value)
        if delta > 0:
            fee = min(delta, ceil_div(value * DYDX["max_fee_ppm"], 10**6))
            fee = min(fee, max(0, ex.margin_balance(acct, inst)))
            if fee:
                ex.move(ts, acct, ex.fund, fee, inst=inst, from_position=True,
                        kind=EventKind.INSURANCE_RECEIVED, about=acct.id)
    if not pos.size:
        # A shortfall on the closing fills is the fund's to pay (section 6: "if <= 0 the
        # fund pays"); what it cannot pay is bad debt.
        settle_if_negative(ex, ts, acct, inst, isolated, wallet_before)
    elif not filled and ex.margin_balance(acct, inst) < 0:
        # An order that filled nothing makes the account a deleveraging candidate; with
        # negative equity the whole position is deleveraged at once, at the bankruptcy price.
        take_over_adl(ex, ts, acct, inst)


_STYLES = {
    "binance": liquidate_binance,
    "tiered": liquidate_tiered,
    "hyperliquid": liquidate_hyperliquid,
    "dydx": liquidate_dydx,
}
