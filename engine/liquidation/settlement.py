"""Settlement: what happens to a unit once the book could not close it -- the takeover by the
insurance fund at the bankruptcy price (else ADL), Hyperliquid's backstop vault, and clearing
what the closed-out account has left.

Sections cited are those of docs/reference/liquidation-mechanics.md (the project's notes on
the venues' rules, with their sources).  Every balance change goes through the Exchange's
ledger door (``Exchange.move``, ``move_collateral``, ``write_off``), so
``check_conservation`` guards one place.

After a takeover or ADL closes the position, ``settle`` clears what the account has left:
a positive remainder goes to the fund (Binance: "the remaining collateral ... will go to the
Insurance Fund"), collateral is seized to cover a negative wallet, the fund covers what
remains negative, and what the fund cannot cover is written off as bad debt.

The fund itself never holds a debt nothing backs (``clear_fund_shortfall``): when its own
realised losses (offloading at a loss, funding, an ADL close) take its wallet below what
the collateral it holds covers, the rest is written off as bad debt, as for a trader.
"""
from __future__ import annotations

from ..venue.events import EventKind
from . import adl, state


def bankruptcy_tick(ex, acct, inst: int) -> int:
    """Bankruptcy price of ``acct``'s position in ``inst`` in ticks: the mark at which the
    equity backing it reaches zero, other prices fixed.

    Isolated: the position's margin backs it (reference 1.5 [D]: long BP = EP - margin /
    size).  Cross: the account's equity is shared in proportion to maintenance margin --
    the position gets TNC x MM_i / TMMR (dYdX's partial-close rule, reference 6), so a
    solvent account's position is closed no further than its own maintenance per lot from
    the mark, and never on the gain side of it; with one position this is the whole equity.
    Rounded away from the loss (a long's up, a short's down); at least 1 tick.
    Inverse (value ``size x k / P`` in coin): ``1/BP = 1/mark + equity x share / (size x
    k)`` -- Bybit's ``EP x lev / (lev + 1)`` for an isolated long at entry (reference
    section 2, section 7 example 11); a price that no tick reaches (a short with 1x
    margin or more, a long whose debt exceeds its position's value) is ``BANKRUPT_NEVER``.
    O(positions).
    """
    pos = acct.positions[inst]
    ins = ex.instruments[inst]
    t = ins.tick_lot_quanta
    mark = ex.marks[inst]
    share_num = share_den = 1          # the position's share of the equity
    if pos.isolated:
        equity = pos.margin + ex.unrealised(pos, inst)
    else:
        equity = ex.cross_equity(acct)
        total_mm = ex.cross_maintenance(acct)
        own_mm = ex.maintenance_of(acct, inst)
        if total_mm and own_mm != total_mm:
            share_num, share_den = own_mm, total_mm
    # BP = mark - equity x share / (size x t), in integers: with D = share_den x |size| x t
    # > 0, a long's ceil(mark - N/D) is mark - floor(N/D) and a short's floor(mark + N/D)
    # is mark + floor(N/D), N = equity x share_num (a test checks it against Fractions).
    if t is None:
        # BP = size k mark sd / (size k sd + E sn mark); up for a long, down for a short.
        num = pos.size * ins.inverse_k * mark * share_den
        den = pos.size * ins.inverse_k * share_den + equity * share_num * mark
        if den == 0 or (num > 0) != (den > 0):
            return BANKRUPT_NEVER
        tick = -((-num) // den) if pos.size > 0 else num // den
        return min(max(tick, 1), BANKRUPT_NEVER)
    den = share_den * abs(pos.size) * t
    num = equity * share_num
    tick = mark - num // den if pos.size > 0 else mark + num // den
    return max(tick, 1)


#: The bankruptcy tick of an inverse position no price bankrupts (``bankruptcy_tick``):
#: far beyond any book, inside the log's int64 columns.
BANKRUPT_NEVER = 1 << 62


def fund_can_take(ex, inst: int, qty: int) -> bool:
    """The fund takes a position only while its balance is positive and its net notional
    at the mark stays within ``fund_limit_ppm`` of its margin balance (reference 1.6 item 9: "by
    default ... 100% the size of the insurance fund", beyond that counterparty
    liquidation).  When the venue sets ``fund_limit_notional`` (quantums, a share of the
    open interest) the notional stays within that too, or within that alone with
    ``fund_limit_notional_alone`` (the rule before the fund-based cap applied with it).
    A limit by open interest is assumed (no source gives one for any venue).
    A unit the fund cannot take goes to ADL (``take_over``).  O(1)."""
    fund = ex.fund
    pos = fund.positions.get(inst)
    size = pos.size if pos else 0
    equity = ex.cross_equity(fund)      # wallet + collateral it holds + uPnL of its positions
    if equity <= 0:
        return False
    after = abs(size) + qty   # conservative: assume the same direction
    # At the mark, not the takeover's bankruptcy price: that understates a long's notional
    # and an inverse unit's BANKRUPT_NEVER tick would value any size at ~0 (cold review).
    value = ex.instruments[inst].value_q(ex.marks[inst], after, up=True)
    if ex.fund_limit_notional:
        if value > ex.fund_limit_notional:
            return False
        if ex.fund_limit_notional_alone:
            return True
    return value * 1_000_000 <= equity * ex.fund_limit_ppm


def clear_fund_shortfall(ex, ts: int, inst: int = 0) -> int:
    """Write off what the insurance fund owes beyond its assets; return the quantums.

    A fund cannot hold a negative balance (reference 1.6 item 9 caps what it takes, 1.7
    makes ADL the last step; dYdX: "fills that would make the fund negative are invalid",
    section 6), yet its own realised losses -- an offload sold below the takeover price,
    its fees, funding on what it holds, an ADL close -- debit its wallet with no floor.
    The part of a negative wallet that the collateral the fund holds does not back (its
    haircut value, as ``settle`` counts it when the fund covers) is written off as bad
    debt through ``Exchange.write_off`` (a ``BadDebt`` row whose account is the fund):
    the wallet ends at minus that collateral value (0 without collateral) and
    ``bad_debt`` grows by as much, so money stays conserved with ``==``.  Its open
    positions' unrealised PnL is not counted (not cash; the same rule as ``settle``'s
    cover).
    Assumed: the fund's collateral backs its cash debt (no venue says how it stands).
    O(assets the fund holds)."""
    fund = ex.fund
    if fund.wallet >= 0:
        return 0
    short = -fund.wallet - (ex.collateral_value(fund) if fund.collateral else 0)
    if short <= 0:
        return 0
    ex.write_off(ts, fund, inst, short)
    return short


def take_over(ex, ts, acct, inst: int) -> None:
    """Close the whole remaining position at the bankruptcy price: fund first, else ADL."""
    pos = acct.positions[inst]
    if not pos.size:
        return
    qty = abs(pos.size)
    bp = bankruptcy_tick(ex, acct, inst)
    isolated = pos.isolated
    side = 1 if pos.size > 0 else -1
    wallet_before = acct.wallet
    if fund_can_take(ex, inst, qty):
        if pos.size > 0:
            ex.transfer_position(ts, ex.fund.id, acct.id, inst, qty, bp)
        else:
            ex.transfer_position(ts, acct.id, ex.fund.id, inst, qty, bp)
        ex.log.append(ts, EventKind.INSURANCE_TAKEOVER, side=side, inst=inst, account=acct.id,
                      other=ex.fund.id, price=bp, qty=qty,
                      value=ex.instruments[inst].notional(bp, qty))
    else:
        adl.deleverage(ex, ts, acct.id, inst, qty, bp, settle_if_negative)
        clear_fund_shortfall(ex, ts, inst)      # the fund may be a counterparty at a loss
    settle(ex, ts, acct, inst, isolated, wallet_before)


def settle(ex, ts, acct, inst: int, isolated: bool, wallet_before: int,
           note: bool = True) -> None:
    """Clear what a closed-out unit has left (see the module docstring), through the
    Exchange's ledger door: a positive remainder moves to the fund; a negative one is first
    met by the account's collateral (cross only), then covered by the fund from its cash and
    the collateral it holds (not its open uPnL), and what the fund cannot cover is written
    off as bad debt.  Isolated: the remainder is what the closing returned to the wallet
    (``wallet - wallet_before``); cross: the whole wallet, once no cross position is left.
    Payouts round against the payer of last resort: the fund covers at most its cash.
    ``note``: record a negative remainder in ``state.negative_equity`` (a liquidation's
    settlement; not an account its own order closed below zero)."""
    if isolated:
        left = acct.wallet - wallet_before     # the isolated margin returned on closing
    else:
        if any(p.size and not p.isolated for p in acct.positions.values()):
            return   # other cross positions still open: settled when the last one closes
        if acct.wallet < 0 and any(acct.collateral.values()):
            # Only a cross shortfall reaches the account's collateral: an isolated position
            # risks its own margin, and the fund covers what it lost beyond (section 1.4).
            seize_collateral(ex, ts, acct)
        left = acct.wallet
    if note:
        state.note_equity(ex, acct, inst, left)
    fund = ex.fund
    if left > 0:
        ex.move(ts, acct, fund, left, inst=inst, kind=EventKind.INSURANCE_RECEIVED,
                about=acct.id)
    elif left < 0:
        cover = min(-left, max(fund.wallet + (ex.collateral_value(fund) if fund.collateral
                                              else 0), 0))
        if cover:
            ex.move(ts, fund, acct, cover, inst=inst, kind=EventKind.INSURANCE_PAID,
                    about=acct.id)
        uncovered = -left - cover
        if uncovered:
            ex.write_off(ts, acct, inst, uncovered)


def seize_collateral(ex, ts, acct) -> int:
    """Move all of an account's collateral to the fund, which pays its haircut value (rounded
    down) into the account's wallet; return that value.  One ``CollateralSeized`` row per
    asset (``value`` = the value of all of it)."""
    value = ex.collateral_value(acct)
    fund = ex.fund
    for asset in sorted(acct.collateral):
        amount = ex.move_collateral(acct, fund, asset)
        if amount:
            ex.log.append(ts, EventKind.COLLATERAL_SEIZED, account=acct.id, other=fund.id,
                          qty=amount, value=value)
    ex.move(ts, fund, acct, value)
    return value


def settle_if_negative(ex, ts, acct, inst: int, isolated: bool, wallet_before: int) -> None:
    """After the book closed a position in full: a negative result is paid back to zero by
    the fund (reference 1.6 item 3: "If an account becomes bankrupt (negative wallet
    balance), the Insurance Fund will payout"); a positive one stays with the trader."""
    if not isolated and acct.wallet < 0 and any(acct.collateral.values()) and \
            not any(p.size and not p.isolated for p in acct.positions.values()):
        # Closed out with a negative quote balance: collateral is auto-exchanged to cover it
        # (Binance multi-assets mode, reference 1.9); the trader keeps any excess.
        seize_collateral(ex, ts, acct)
    negative = acct.wallet < wallet_before if isolated else ex.margin_balance(acct, inst) < 0
    if negative:
        settle(ex, ts, acct, inst, isolated, wallet_before)


def take_over_adl(ex, ts, acct, inst: int) -> None:
    """Hyperliquid: negative account value goes straight to ADL at the bankruptcy price."""
    pos = acct.positions[inst]
    isolated, wallet_before = pos.isolated, acct.wallet
    adl.deleverage(ex, ts, acct.id, inst, abs(pos.size), bankruptcy_tick(ex, acct, inst),
                   settle_if_negative)
    clear_fund_shortfall(ex, ts, inst)          # the fund may be a counterparty at a loss
    settle(ex, ts, acct, inst, isolated, wallet_before)


def backstop_can_take(ex) -> bool:
    """Whether the backstop vault takes an account over: always, unless its capital is
    limited (``state.backstop_limited``), then only while the vault itself is above its
    own maintenance margin (equity = wallet + uPnL of the positions it holds; the same
    margin rule as any account's, section 5) -- assumed: the docs give the vault no rule;
    "some HLP sub-vaults were temporarily undercollateralized by design"
    (liquidation-mechanics.md section 9).  An account the vault cannot take stays with
    the book step and, once its value is negative, goes to ADL.  O(positions of the
    vault)."""
    vault = ex.backstop
    return not state.of(ex).backstop_limited or \
        ex.cross_equity(vault) > ex.cross_maintenance(vault)


def backstop_take_over(ex, ts, acct, inst: int) -> None:
    """The liquidator vault takes the position(s) at mark and the margin behind them
    (cross: every cross position and the cross wallet; isolated: that position)."""
    pos = acct.positions[inst]
    isolated = pos.isolated          # read now: closing the position resets the flag
    units = [inst] if isolated else sorted(i for i, p in acct.positions.items()
                                           if p.size and not p.isolated)
    wallet_before = acct.wallet
    state.note_equity(ex, acct, inst)
    for i in units:
        p = acct.positions[i]
        qty, mark, side = abs(p.size), ex.marks[i], 1 if p.size > 0 else -1
        if side > 0:
            ex.transfer_position(ts, ex.backstop.id, acct.id, i, qty, mark)
        else:
            ex.transfer_position(ts, acct.id, ex.backstop.id, i, qty, mark)
        ex.log.append(ts, EventKind.BACKSTOP_TAKEOVER, side=side, inst=i, account=acct.id,
                      other=ex.backstop.id, price=mark, qty=qty,
                      value=ex.instruments[i].notional(mark, qty))
    moved = acct.wallet - wallet_before if isolated else acct.wallet
    if not isolated:
        for asset in sorted(acct.collateral):
            ex.move_collateral(acct, ex.backstop, asset)
    ex.move(ts, acct, ex.backstop, moved)
