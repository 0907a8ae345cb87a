"""The exchange around the books: accounts, exact fill accounting, margin and liquidation.

``Exchange`` owns one ``OrderBook`` per instrument, the accounts, the insurance fund and the
backstop vault (both are accounts, so their positions and balances go through the same
ledger), fee income and bad debt.  Every order -- a trader's, a market maker's, a
liquidation or a fund offload -- goes through ``submit`` and the same matching.

Conservation (checked with ``==`` by ``check_conservation``)
    sum over all accounts of (wallet + isolated margins - cost x tick_lot_quanta)
      + fee income - bad debt written off  ==  net external deposits,
    and the signed positions of every instrument sum to 0.
    ``- cost x tlq`` is the unrealised PnL summed at any common price: because positions net
    to zero, ``sum(size x P)`` vanishes, so the check needs no price and no tolerance.
    Inverse instruments keep ``cost`` in margin quantums (``engine.venue.accounts``): their
    term is ``- cost`` (``sum(size x k / P)`` vanishes the same way).

Margin (docs/reference/liquidation-mechanics.md section 1.4)
    An account (cross) or an isolated position is liquidatable when its margin balance is
    below its maintenance margin at the mark price: balance + unrealised PnL < MM, where MM is
    the tiered ``notional x mmr - cum`` rounded up (``engine.venue.tiers.maintenance_margin_q``).

Liquidation index (``engine.venue.risk.LiquidationIndex``)
    A mark update must not cost O(accounts): units with an exact trigger tick sit in sorted
    lists per instrument, found in O(log n + k); the rest are checked in full.

Liquidation styles are in ``engine.liquidation.waterfalls``; ADL rankings in
``engine.liquidation.adl``.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Protocol

from orderbook import OrderBook, OrderStatus, Reason
from orderbook.auction import EVERY_TICK
from orderbook.enums import GTC, LIMIT, STP_EXPIRE_MAKER, STP_NONE

from .accounts import BACKSTOP_ID, INSURANCE_ID, RESERVED_FROM, Account, Position
from .codes import EngineReason
from .collateral import CollateralAsset, exact_price
from .events import ORDER_ROW, ROW, EventKind, EventLog, order_rows
from .instruments import ADL_RANKINGS, INVERSE_ADL_RANKINGS, Instrument
from .risk import LiquidationIndex
from .rounding import ceil_div, ceil_f
from .tiers import maintenance_margin_q

# The venue's refusal codes (``engine.venue.codes``), bound once for the order path.
REASON_REDUCE_ONLY = EngineReason.REDUCE_ONLY
REASON_UNKNOWN_ACCOUNT = EngineReason.UNKNOWN_ACCOUNT
REASON_VENUE_DOWN = EngineReason.VENUE_DOWN

_INT64_MAX = (1 << 63) - 1


def _loggable(x) -> int:
    """``x`` if it is an int that fits the log's int64 columns, else 0: what a rejection
    row records of a junk argument (the argument itself is the reason's subject)."""
    return x if type(x) is int and -_INT64_MAX <= x <= _INT64_MAX else 0


def _side(side) -> int:
    """A side for a log row: +1/-1 as given, 0 for anything else."""
    return 1 if side == 1 else -1 if side == -1 else 0


def _whole(name: str, value, lo: int = 0) -> int:
    """An exact int in [``lo``, 2**63) (no bool, float or Decimal: money is integer
    quantums; every amount must fit the event log's int64 columns)."""
    if type(value) is not int or not lo <= value <= _INT64_MAX:
        raise ValueError(f"{name}: expected an int in [{lo}, 2**63) (integer "
                         f"quantums/lots/ticks), got {value!r}")
    return value


_REJECTED = int(OrderStatus.REJECTED)
_ACCEPTED = int(EventKind.ORDER_ACCEPTED)
_CANCELLED = int(EventKind.ORDER_CANCELLED)
_TRADE = int(EventKind.TRADE)
_DEPOSITED = int(EventKind.DEPOSITED)
_TRANSFERRED = int(EventKind.POSITION_TRANSFERRED)
_FUNDING_SETTLED = int(EventKind.FUNDING_SETTLED)
_FUNDING_PAID = int(EventKind.FUNDING_PAID)
_NEW_STATUS = OrderStatus.NEW
_R_IOC_REMAINDER = Reason.IOC_REMAINDER
_R_FOK = Reason.FOK_NOT_FILLABLE
_pack = ROW.pack
_pack_order = ORDER_ROW.pack


class BreakerHook(Protocol):
    """What the Exchange asks its circuit breaker (``engine.breakers.Policy`` is one).

    ``gate_order`` may reprice an order (its limit, or a market order's protection price)
    -- saying why in ``moved``, a reason code, reset to 0 before each call -- or reject it
    with a reason code before it reaches the book; ``gate_liquidation`` may
    defer one liquidation (a reason code, 0 to go ahead); ``pauses_liquidations`` may defer
    a whole round of ``units`` liquidations of ``inst`` at once; ``limit_edge`` is the
    farthest limit of a side it lets through now (None: any)."""

    moved: int

    def gate_order(self, ts: int, account: int, inst: int, side: int, qty: int, price,
                   order_type: int, tif: int, liquidation: bool) -> tuple[int | None, int]: ...

    def gate_liquidation(self, ts: int, account: int, inst: int, notional: int) -> int: ...

    def pauses_liquidations(self, ts: int, inst: int, units: int) -> int: ...

    def limit_edge(self, inst: int, side: int) -> int | None: ...


class Exchange:
    """Books, accounts and the risk engine of one venue.

    ``adl_ranking`` is one of ``ADL_RANKINGS`` (``engine.venue.instruments``; ranked by
    ``engine.liquidation.adl``); ``fund_limit_ppm`` caps the net
    notional the insurance fund may hold as a fraction of its balance (Binance's 2019-20
    rule of 100%, reference section 1.6 item 9: assumed still in force).
    """

    def __init__(self, instruments: list[Instrument], insurance_fund: int = 0, backstop: int = 0,
                 adl_ranking: str = "binance", fund_limit_ppm: int = 1_000_000, rng=None,
                 log: EventLog | None = None, collateral: list[CollateralAsset] = ()):
        if not instruments:
            raise ValueError("instruments: expected at least one instrument")
        quanta = {i.quote_quantum for i in instruments}
        if len(quanta) != 1:
            raise ValueError(f"instruments: all must share one quote quantum, got {sorted(quanta)}")
        if adl_ranking not in ADL_RANKINGS:
            raise ValueError(f"adl_ranking: expected one of {sorted(ADL_RANKINGS)}, got {adl_ranking!r}")
        if any(i.inverse for i in instruments):
            if len({i.margin_currency for i in instruments}) != 1:
                raise ValueError("instruments: an inverse instrument's margin currency must be "
                                 "every instrument's (one wallet per account)")
            if adl_ranking not in INVERSE_ADL_RANKINGS:
                raise ValueError(f"adl_ranking: {adl_ranking!r} is not supported with an inverse "
                                 f"instrument; expected one of {list(INVERSE_ADL_RANKINGS)}")
        _whole("insurance_fund", insurance_fund)
        _whole("backstop", backstop)
        _whole("fund_limit_ppm", fund_limit_ppm)
        names = [a.name for a in collateral]
        for asset in collateral:
            if names.count(asset.name) > 1:
                raise ValueError(f"collateral: asset {asset.name!r} is listed twice")
            if asset.book_inst is not None and not 0 <= asset.book_inst < len(instruments):
                raise ValueError(f"collateral[{asset.name}].book_inst: expected an instrument "
                                 f"index in [0, {len(instruments) - 1}], got {asset.book_inst}")
        self.instruments = list(instruments)
        self.books = [OrderBook() for _ in instruments]
        self.log = log if log is not None else EventLog()
        self._buf = self.log.buffer
        self.rng = rng
        self.adl_ranking = adl_ranking
        self.fund_limit_ppm = fund_limit_ppm
        # The fund's position limit in quantums of notional too (0 = the ppm rule alone);
        # ``fund_limit_notional_alone``: that limit instead of the ppm rule
        # (``engine.liquidation.settlement.fund_can_take``).
        self.fund_limit_notional = 0
        self.fund_limit_notional_alone = True
        self.fund = Account(INSURANCE_ID, wallet=insurance_fund, kind="insurance")
        self.backstop = Account(BACKSTOP_ID, wallet=backstop, kind="backstop")
        self.accounts: dict[int, Account] = {INSURANCE_ID: self.fund, BACKSTOP_ID: self.backstop}
        self.fee_income = 0
        self.bad_debt = 0
        # Accounts whose fill closed a position leaving a negative balance: account -> inst
        # (the margin check settles them, ``engine.liquidation.waterfalls``); and the ids of
        # accounts standing for flows from outside the venue (the Simulation's programs,
        # stubs, recorded data: ``exogenous``), which are never settled.
        self.closed_negative: dict[int, int] = {}
        self.exogenous: tuple[range, ...] = ()
        self.net_deposits = insurance_fund + backstop
        self.marks: list[int | None] = [None] * len(instruments)
        self.open_interest: list[int] = [0] * len(instruments)   # lots held long, per inst
        # Accounts holding each side of each instrument: holders[inst][1] longs, [-1] shorts.
        self.holders: list[list] = [[None, set(), set()] for _ in instruments]
        self.assets: dict[str, CollateralAsset] = {a.name: a for a in collateral}
        self.asset_prices: dict[str, Fraction] = {}
        self._asset_index: dict[str, Fraction] = {}
        # Per asset: the accounts that ever held it (re-keyed when its price changes) and
        # its value per unit as (price, numerator, denominator) of quantums, haircut applied.
        self.asset_holders: dict[str, set[int]] = {a.name: set() for a in collateral}
        self._unit_value: dict[str, tuple] = {}
        self._qpu = instruments[0].quanta_per_unit
        self._orders: dict[int, tuple] = {}   # resting order id -> (account, inst, side, price)
        self._next_oid = 1
        # The liquidation index; ``_dirty`` is its set of accounts to re-key, which every
        # balance or position change adds to (bound here: the ledger's hottest line).
        self.index = LiquidationIndex(self)
        self._dirty = self.index.dirty      # the same set object: never rebind index.dirty
        # The liquidation engine's own state (deferred units, cooldowns, per-block caps, the
        # ADL queue): an ``engine.liquidation.state.LiquidationState``, made on first use.
        self.liquidation_state = None
        # Accounts deleveraged by ADL as counterparties -> last time (market makers react).
        self.adl_hits: dict[int, int] = {}
        # Accounts margin-called (the liquidation engine's MARGIN_CALL) -> the last time.
        self.margin_called: dict[int, int] = {}
        # account -> cumulative notional (quantums) it traded as the maker against
        # liquidation orders: the venue's public liquidation prints tell a maker how much
        # of its flow was forced (the makers' toxic-flow signal).
        self.liquidation_absorbed: dict[int, int] = {}
        # The circuit breaker consulted before orders reach the book and before each
        # liquidation (a ``BreakerHook``: ``engine.breakers``); None = no breaker.
        self.breaker: BreakerHook | None = None
        # Benchmarks: when a list, every call that reaches a book is appended to it, so the
        # same order flow can be replayed through a bare OrderBook (see benchmarks/).
        self.flow_recorder: list | None = None
        # The venue's status.  Down (an outage, ``go_down``/``come_back``): orders are
        # refused (``REASON_VENUE_DOWN``) and cancels do nothing; the loop runs no risk step
        # meanwhile.  Halted (``halt``/``reopen``): the books' own matching mode, read
        # through ``halted`` -- every book halts and reopens together.
        self.down = False
        self.halts = 0          # halts started
        # Liquidation orders queued in a halted book's auction (a market order, where the
        # halting policy queues them): order id -> its fee rate (None = the clearance fee),
        # so that the uncross fills them as liquidations (``uncross``).
        self.queued_liquidations: dict[int, int | None] = {}
        # Whether any instrument is inverse: their deficits compare exact values (below).
        self.has_inverse = any(i.inverse for i in instruments)

    # ------------------------------------------------------------ accounts
    def open_account(self, ts: int, account_id: int, deposit: int = 0,
                     collateral: dict[str, int] | None = None) -> Account:
        """Create an account with an optional deposit (quantums) and collateral (asset units)."""
        if type(account_id) is not int or not 0 < account_id < RESERVED_FROM:
            raise ValueError(f"account_id: expected an int in [1, {RESERVED_FROM}), got {account_id!r}")
        if account_id in self.accounts:
            raise ValueError(f"account_id: {account_id} already exists")
        _whole("deposit", deposit)
        for asset, amount in (collateral or {}).items():     # validate all before creating
            if asset not in self.assets:
                raise ValueError(f"collateral: unknown asset {asset!r}; known: {sorted(self.assets)}")
            _whole(f"collateral[{asset}]", amount)
        acct = self.accounts[account_id] = Account(account_id)
        if deposit:
            self._credit(ts, acct, deposit)
        for asset, amount in (collateral or {}).items():
            acct.collateral[asset] = acct.collateral.get(asset, 0) + amount
            self.asset_holders[asset].add(account_id)
        self._dirty.add(account_id)
        return acct

    def deposit(self, ts: int, account_id: int, amount: int, inst: int | None = None) -> None:
        """An external deposit of ``amount`` quantums into the wallet; with ``inst``, into
        the balance that backs that position (its isolated margin if it is isolated)."""
        _whole("amount", amount)
        acct = self.accounts[account_id]
        self._credit(ts, acct, amount)
        pos = acct.positions.get(inst) if inst is not None else None
        if pos is not None and pos.isolated:
            acct.wallet -= amount
            pos.margin += amount

    def deposit_collateral(self, ts: int, account_id: int, asset: str, amount: int) -> None:
        """An external deposit of ``amount`` units of a collateral asset (as ``open_account``'s
        ``collateral``: asset units are not quote money, so neither ``net_deposits`` nor the
        log changes; the account is re-keyed).  O(1)."""
        if asset not in self.assets:
            raise ValueError(f"collateral: unknown asset {asset!r}; known: {sorted(self.assets)}")
        _whole(f"collateral[{asset}]", amount)
        acct = self.accounts[account_id]
        acct.collateral[asset] = acct.collateral.get(asset, 0) + amount
        self.asset_holders[asset].add(account_id)
        self._dirty.add(account_id)

    def _credit(self, ts: int, acct: Account, amount: int) -> None:
        """A validated external deposit: wallet, net deposits, index, log row."""
        acct.wallet += amount
        self.net_deposits += amount
        self._dirty.add(acct.id)
        self._buf += _pack(ts, 0, _DEPOSITED, 0, 0, acct.id, 0, 0, 0, 0, 0, amount, 0)

    def withdraw(self, ts: int, account_id: int, amount: int) -> bool:
        """Withdraw if the wallet covers it and the account stays above maintenance."""
        acct = self.accounts[account_id]
        if type(amount) is not int or amount < 0 or amount > acct.wallet:
            return False
        acct.wallet -= amount
        if self.cross_deficit(acct) > 0:
            acct.wallet += amount
            return False
        self.net_deposits -= amount
        self._dirty.add(account_id)
        self.log.append(ts, EventKind.WITHDREW, account=account_id, value=amount)
        return True

    def transfer_position(self, ts: int, buyer: int, seller: int, inst: int, qty: int,
                          price: int, isolated_margin: tuple[int, int] = (0, 0)) -> None:
        """Off-book transfer of ``qty`` lots at ``price`` from ``seller`` to ``buyer``.

        Used to seed positions (a liquidation map) and by takeovers and ADL.  No fees.
        ``isolated_margin`` = (buyer's, seller's) quantums to move from wallet into the
        isolated margin of a position that is opened isolated (0 = cross).
        """
        _whole("qty", qty, 1)
        _whole("price", price, 1)
        for acct_id, dq, margin in ((buyer, qty, isolated_margin[0]),
                                    (seller, -qty, isolated_margin[1])):
            acct = self.accounts[acct_id]
            pos = acct.position(inst)
            if margin:
                if pos.size and not pos.isolated:
                    raise ValueError(f"account {acct_id}: position is cross; cannot add isolated margin")
                pos.isolated = True
                acct.wallet -= margin
                pos.margin += margin
            self._fill_leg(acct, inst, dq, price, 0)
        self.log.append(ts, EventKind.POSITION_TRANSFERRED, side=1, inst=inst, account=buyer,
                        other=seller, price=price, qty=qty)

    def seed_positions(self, ts: int, inst: int, counterparty: int, rows) -> None:
        """Open many accounts with positions at once (a liquidation map).

        ``rows`` yields ``(account_id, deposit, size, price, isolated_margin)``: a new account
        gets ``deposit`` quantums and a position of signed ``size`` lots entered at ``price``
        ticks, isolated with that margin if ``isolated_margin`` > 0 (taken from the deposit),
        else cross.  ``counterparty`` (an existing account) takes the opposite side of each,
        so positions still net to zero.  Logs one ``Deposited`` (if any deposit) and one
        ``PositionTransferred`` per row; the accounts are indexed lazily at the next margin
        check.  O(rows).

        Each row does what ``open_account`` (with its checks and ``_credit``), a position
        set directly and ``_fill_leg`` of the counterparty do, in that order, written out
        in one loop (100k rows: ~0.1 s less than through the calls, docs/performance.md).
        The counterparty's leg is a fill in sequence (``Position.apply``: its realised PnL
        depends on the order of the rows)."""
        cp = self.accounts[counterparty]
        cp_pos = cp.position(inst)
        if cp_pos.isolated:
            raise ValueError(f"counterparty {counterparty}: position must be cross")
        accounts, dirty, buf = self.accounts, self._dirty, self._buf
        holders = self.holders[inst]
        open_interest = self.open_interest
        ins = self.instruments[inst]
        inverse_k, tlq = ins.inverse_k, ins.tick_lot_quanta
        for account_id, deposit, size, price, iso in rows:
            if type(account_id) is not int or not 0 < account_id < RESERVED_FROM:
                raise ValueError(f"account_id: expected an int in [1, {RESERVED_FROM}), "
                                 f"got {account_id!r}")
            if account_id in accounts:
                raise ValueError(f"account_id: {account_id} already exists")
            if type(deposit) is not int or not 0 <= deposit <= _INT64_MAX:
                _whole("deposit", deposit)          # raises its one-line message
            acct = accounts[account_id] = Account(account_id)
            dirty.add(account_id)
            if deposit:
                acct.wallet = deposit
                self.net_deposits += deposit
                buf += _pack(ts, 0, _DEPOSITED, 0, 0, account_id, 0, 0, 0, 0, 0, deposit, 0)
            if not size:
                continue
            if iso:
                if iso > deposit:
                    raise ValueError(f"account {account_id}: isolated_margin exceeds deposit")
                acct.wallet -= iso
            if inverse_k:       # a buy of V quantums costs -V (engine.venue.accounts)
                value = abs(size) * inverse_k // price
                cost = -value if size > 0 else value
            else:
                cost = size * price
            acct.positions[inst] = Position(size, cost, bool(iso), iso if iso else 0)
            if size > 0:
                open_interest[inst] += size
                holders[1].add(account_id)
            else:
                holders[-1].add(account_id)
            # The counterparty's leg (``_fill_leg`` with no fee; it is cross).
            before = cp_pos.size
            if tlq is not None:
                realised = cp_pos.apply(-size, price) * tlq
            else:
                realised = cp_pos.apply_value(-size, abs(size) * inverse_k // price)
            after = cp_pos.size
            open_interest[inst] += max(after, 0) - max(before, 0)
            if (before > 0) != (after > 0) or (before < 0) != (after < 0):
                self._track_holder(counterparty, inst, before, after)
            cp.wallet += realised
            dirty.add(counterparty)
            buf += _pack(ts, 0, _TRANSFERRED, 1 if size > 0 else -1, inst, account_id,
                         counterparty, 0, 0, price, abs(size), 0, 0)

    # -------------------------------------------------------------- orders
    def submit(self, ts: int, account_id: int, inst: int, side: int, qty: int,
               price: int | None = None, tif: int = GTC, order_type: int = LIMIT,
               post_only: bool = False, reduce_only: bool = False, stp: int = STP_NONE,
               liquidation: bool = False, fee_ppm: int | None = None):
        """Send an order to ``inst``'s book for ``account_id``; apply its fills.

        ``reduce_only`` is enforced here: the quantity is capped at what reduces the
        position (and the order is rejected if nothing would).  ``liquidation`` orders pay
        the instrument's clearance fee to the insurance fund instead of the taker fee.
        Returns the book's ``SubmitResult`` (with the exchange's order id).
        """
        acct = self.accounts.get(account_id)
        self._next_oid = (oid := self._next_oid) + 1
        if acct is None:
            self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                            account=_loggable(account_id), order_id=oid,
                            reason=REASON_UNKNOWN_ACCOUNT)
            return None
        if self.down:
            self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                            account=account_id, order_id=oid, price=_loggable(price),
                            qty=_loggable(qty), reason=REASON_VENUE_DOWN)
            return None
        # Ints beyond int64 would rest in the book and break the log: refuse them here.
        # (Other bad values -- wrong types, <= 0 -- are the book's to reject, with its reason.)
        if type(qty) is int and qty > _INT64_MAX or type(price) is int and price > _INT64_MAX:
            self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                            account=account_id, order_id=oid,
                            reason=Reason.INVALID_QUANTITY if _loggable(qty) != qty
                            else Reason.INVALID_PRICE)
            return None
        if reduce_only:
            pos = acct.positions.get(inst)
            size = pos.size if pos else 0
            if size == 0 or (size > 0) == (side > 0):
                self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                                account=account_id, order_id=oid, qty=_loggable(qty),
                                reason=REASON_REDUCE_ONLY)
                return None
            if type(qty) is int:
                qty = min(qty, abs(size))
        # The breakers watch instrument 0, the perpetual (engine.breakers: one instrument).
        # Other books are not gated (assumed: futures breakers are not spot rules).
        # A halt still stops every book.
        breaker = self.breaker if inst == 0 else None
        moved = 0
        # Malformed orders skip the gate: the book rejects them with the reason.
        if breaker is not None and type(qty) is int and (price is None or type(price) is int) \
                and (side == 1 or side == -1) \
                and not (post_only and self._would_take(inst, side, price)):
            # A post-only order that would take is the book's to reject: it never trades,
            # so a breaker must not read it as a trade about to happen (and halt on it).
            breaker.moved = 0
            asked = price
            price, reason = breaker.gate_order(ts, account_id, inst, side, qty, price,
                                               order_type, tif, liquidation)
            moved = breaker.moved if price != asked else 0
            if reason:
                self.log.append(ts, EventKind.ORDER_REJECTED, side=side, inst=inst,
                                account=account_id, order_id=oid, price=_loggable(price),
                                qty=qty, reason=reason)
                return None
        if self.flow_recorder is not None:
            self.flow_recorder.append((inst, oid, account_id, side, price, qty, tif, order_type,
                                       post_only, reduce_only, stp))
        r = self.books[inst].submit(oid, account_id, side, price, qty, tif, order_type,
                                    post_only, reduce_only, stp)
        if moved and r[5]:
            if self._gate_stopped(inst, side, qty, asked, price, r[6]):
                breaker.stopped(moved, order_type)
            else:       # the book or the order's own price stopped it: the book's reason
                moved = 0
        self._apply_outcome(ts, acct, inst, oid, side, price, qty, r, liquidation, fee_ppm,
                            moved)
        if liquidation and r[4]:        # resting: a market order queued in an auction
            self.queued_liquidations[oid] = fee_ppm
        return r

    def _gate_stopped(self, inst: int, side: int, qty: int, asked, price: int,
                      reason) -> bool:
        """Whether the price a breaker's gate moved the order to (``price``, from its own
        ``asked``, None for a market order without protection) is what left its remainder
        unfilled, rather than the book or the order's own price.  An IOC or market order:
        the book still holds liquidity beyond ``price`` that ``asked`` would have reached.
        A killed FOK (the book untouched): at ``asked`` it would have filled in full
        (self-trade prevention ignored).  O(1), a FOK O(log L + levels within ``asked``)."""
        book = self.books[inst]
        if reason == _R_FOK:
            return book.depth(-side, asked) >= qty
        opp = book.best_ask() if side > 0 else book.best_bid()
        return opp is not None and side * (opp - price) > 0 and \
            (asked is None or side * (asked - opp) >= 0)

    def _would_take(self, inst: int, side: int, price) -> bool:
        """Whether a limit order at ``price`` would cross ``inst``'s book now (never while
        matching is halted).  O(1)."""
        book = self.books[inst]
        if book.halted or type(price) is not int:
            return False
        opp = book.best_ask() if side > 0 else book.best_bid()
        return opp is not None and side * (price - opp) >= 0

    def _apply_outcome(self, ts: int, acct: Account, inst: int, oid: int, side: int, price,
                       qty: int, r, liquidation: bool, fee_ppm, moved: int = 0) -> None:
        """Apply what the book did with an order: fills to the ledger, self-trade
        cancellations, the resting part on record, and their log rows (packed straight
        into ``EventLog.buffer`` on the hot path).  ``moved``: the breaker reason of a gate
        that moved the order's price (``Policy.moved``); a remainder that then expires
        unfilled (IOC, market, FOK) is logged with it, not the book's reason -- the band or
        limit stopped it."""
        _, status, fills, _, resting, expired, reason, stp_cancelled = r
        account_id = acct.id
        if status == _REJECTED:
            self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                            account=account_id, order_id=oid, price=_loggable(price),
                            qty=_loggable(qty), reason=reason)
            return
        if fills:
            self._apply_fills(ts, inst, fills.rows(), liquidation, fee_ppm)
        for info in stp_cancelled:
            self._forget_order(info.order_id)
            self.log.append(ts, EventKind.ORDER_CANCELLED, side=info.side, inst=inst,
                            account=info.account, order_id=info.order_id, price=info.price,
                            qty=info.qty, reason=reason)
        if resting:
            price = price or 0          # a market order queued unpriced in an auction: 0
            self._orders[oid] = (account_id, inst, side, price)
            acct.open_orders.add(oid)
            self._buf += _pack_order(ts, _ACCEPTED, side, inst, account_id, oid, price, resting)
        if expired:
            if moved and (reason == _R_IOC_REMAINDER or reason == _R_FOK):
                reason = moved
            self.log.append(ts, EventKind.ORDER_EXPIRED, side=side, inst=inst, account=account_id,
                            order_id=oid, price=_loggable(price), qty=expired, reason=reason)

    def mass_quote(self, ts: int, account_id: int, inst: int, side: int, cancel_ids,
                   quotes, stp: int = STP_EXPIRE_MAKER, validated: bool = False) -> dict[int, int]:
        """A market maker's re-quote of one side in one message (Deribit's
        ``private/mass_quote``, CME's Mass Quote): cancel the account's own orders
        ``cancel_ids``, then place each ``(price, qty)`` of ``quotes`` as a post-only GTC
        limit order, in that order.

        Every order is still an order: each passes the breaker gate and the book and is
        logged exactly as if sent alone, so the log equals that of ``cancel``/``submit``
        called one by one (tests/engine/venue/test_mass_quote.py checks byte equality).  The
        saving is the per-call overhead and handling the usual outcome -- the quote rests
        untouched -- inline.  Quotes of anything but ints in (0, 2**63) take the one-by-one
        path, which rejects them; ``validated=True`` is the caller's promise that they are
        such ints (the makers build them so) and skips that scan.  An id that is not
        resting, or is another account's, is skipped.  Returns ``{price: order id}`` for
        the quotes now resting.  O(cancels + quotes) book calls.
        """
        acct = self.accounts.get(account_id)
        if type(quotes) is not list:
            quotes = list(quotes)
        if acct is None or self.breaker is not None or self.down or not (validated or all(
                type(p) is int and type(q) is int and 0 < p <= _INT64_MAX and 0 < q <= _INT64_MAX
                for p, q in quotes)):
            # Rare: let ``cancel``/``submit`` log the rejections and consult the gate.
            for oid in cancel_ids:
                owner = self._orders.get(oid)
                if owner is not None and owner[0] == account_id:    # (account, inst, side, price)
                    self.cancel(ts, oid)
            placed = {}
            for price, qty in quotes:
                r = self.submit(ts, account_id, inst, side, qty, price, GTC, LIMIT, True,
                                False, stp)
                if r is not None and r.resting_qty:
                    placed[price] = r.order_id
            return placed
        orders = self._orders
        book = self.books[inst]
        rec = self.flow_recorder
        buf = self._buf
        open_orders = acct.open_orders
        if cancel_ids:
            get = orders.get
            bcancel = book.cancel
            for oid in cancel_ids:
                owner = get(oid)
                if owner is None:
                    continue
                owner_id, _, owner_side, owner_price = owner
                if owner_id != account_id:
                    continue
                if rec is not None:
                    rec.append((inst, oid))
                qty = bcancel(oid)
                if qty:
                    del orders[oid]
                    buf += _pack_order(ts, _CANCELLED, owner_side, inst, account_id, oid,
                                       owner_price, qty)
            # One C-level pass: every id of this account in ``_orders`` rested and is now
            # cancelled; the others were never in its set.
            open_orders.difference_update(cancel_ids)
        bsubmit = book.submit
        placed = {}
        oid = first = self._next_oid
        if rec is not None:
            rec += [(inst, oid + k, account_id, side, price, qty, GTC, LIMIT, True, False, stp)
                    for k, (price, qty) in enumerate(quotes)]
        run = first        # the quotes from id ``run`` to ``oid`` rested whole: rows owed
        for price, qty in quotes:
            r = bsubmit(oid, account_id, side, price, qty, GTC, LIMIT, True, False, stp)
            # A post-only order that comes back NEW rested whole without crossing, so no
            # self-trade prevention cancelled anything: the whole outcome is one accepted
            # row, packed with the rest of its run (``order_rows``).
            if r[1] is _NEW_STATUS:     # status by index: the hottest line (docs/performance.md)
                orders[oid] = (account_id, inst, side, price)
                placed[price] = oid
            else:
                if run < oid:
                    buf += self._accepted_rows(ts, side, inst, account_id, run, oid,
                                               quotes[run - first:oid - first])
                run = oid + 1
                self._next_oid = oid + 1
                self._apply_outcome(ts, acct, inst, oid, side, price, qty, r, False, None)
                if r.resting_qty:
                    placed[price] = oid
            oid += 1
        if run < oid:
            buf += self._accepted_rows(ts, side, inst, account_id, run, oid,
                                       quotes[run - first:] if run > first else quotes)
        if run == first:    # every quote rested whole (usual): all its ids (docs/performance.md)
            open_orders.update(range(first, oid))
        else:   # the ids of this call still resting (C-level; a price may repeat in quotes)
            open_orders |= orders.keys() & range(first, oid)
        self._next_oid = oid
        return placed

    @staticmethod
    def _accepted_rows(ts: int, side: int, inst: int, account_id: int, first: int, end: int,
                       quotes) -> bytes:
        """``OrderAccepted`` rows of orders ``first``..``end - 1`` resting whole at
        ``quotes`` (``(price, qty)`` pairs, in id order)."""
        prices, qtys = zip(*quotes)
        return order_rows(ts, _ACCEPTED, side, inst, account_id, range(first, end), prices, qtys)

    def uncross(self, ts: int, inst: int, reference: int | None, resume: bool) -> object:
        """Run the call auction of ``inst``'s book (and restart continuous matching if
        ``resume``); apply its fills like any other: the later-arriving order of each pair
        pays the taker fee.  Returns the book's ``AuctionResult``."""
        book = self.books[inst]
        result = book.resume(reference) if resume else book.uncross(reference)
        queued = self.queued_liquidations
        if result.fills:
            # The book reports aggressor 0 in an auction; the ledger takes the taker's side
            # (both orders were entered through ``submit``, so their sides are on record).
            orders = self._orders
            rows = [(maker_id, taker_id, price, qty, maker, taker, orders[taker_id][2])
                    for maker_id, taker_id, price, qty, maker, taker, _ in result.fills.rows()]
            if not queued:
                self._apply_fills(ts, inst, rows, False, None)
            else:
                self._apply_auction_liquidations(ts, inst, rows)
            for _, taker_id, *_ in rows:
                if taker_id not in book:
                    self._forget_order(taker_id)
        for info in result.expired:
            # A queued market order's remainder expires at the uncross (``OrderBook``).
            self._forget_order(info.order_id)
            self.log.append(ts, EventKind.ORDER_EXPIRED, side=info.side, inst=inst,
                            account=info.account, order_id=info.order_id,
                            price=info.price or 0, qty=info.qty, reason=Reason.IOC_REMAINDER)
            if info.order_id in queued:
                # A liquidation order's remainder: a fill failure, as in continuous trading.
                self.log.append(ts, EventKind.LIQUIDATION_UNFILLED, side=info.side, inst=inst,
                                account=info.account, order_id=info.order_id,
                                price=info.price or 0, qty=info.qty,
                                value=self.instruments[inst].notional(self.marks[inst],
                                                                      info.qty))
        for oid in [oid for oid in queued if oid not in book]:
            del queued[oid]
        return result

    def _apply_auction_liquidations(self, ts: int, inst: int, rows: list) -> None:
        """Apply an uncross's fills when liquidation orders were queued in it: a fill whose
        taker (the later arrival) is one pays as a liquidation (its clearance fee, or its
        own rate); a queued liquidation order that is the maker pays the maker fee (assumed).
        Each queued
        liquidation order that traded gets a ``LiquidationFilled`` row (lots, traded value,
        the auction price), as the waterfall logs an immediate fill.  O(fills)."""
        queued = self.queued_liquidations
        value_q = self.instruments[inst].value_q
        done: dict[int, list] = {}          # order id -> [account, side, lots, value, price]
        for row in rows:
            maker_id, taker_id, price, qty, maker, taker, side = row
            liq = taker_id in queued
            self._apply_fills(ts, inst, [row], liq, queued.get(taker_id))
            for oid, acct, s in ((maker_id, maker, -side), (taker_id, taker, side)):
                if oid in queued:
                    d = done.setdefault(oid, [acct, s, 0, 0, price])
                    d[2] += qty
                    d[3] += value_q(price, qty)
        for oid, (acct, side, qty, value, price) in done.items():
            self.log.append(ts, EventKind.LIQUIDATION_FILLED, side=side, inst=inst,
                            account=acct, order_id=oid, price=price, qty=qty, value=value)

    def cancel(self, ts: int, order_id: int):
        """Cancel a resting order; returns the lots cancelled (falsy if not resting, or
        while the venue is down)."""
        owner = self._orders.get(order_id)
        if owner is None or self.down:
            return None
        account_id, inst, side, price = owner
        if self.flow_recorder is not None:
            self.flow_recorder.append((inst, order_id))
        qty = self.books[inst].cancel(order_id)
        if qty:
            del self._orders[order_id]
            self.accounts[account_id].open_orders.discard(order_id)
            self._buf += _pack_order(ts, _CANCELLED, side, inst, account_id, order_id, price,
                                     qty)
        return qty

    def cancel_all(self, ts: int, account_id: int, inst: int | None = None) -> int:
        """Cancel an account's resting orders (in one instrument or all); return how many."""
        acct = self.accounts[account_id]
        if not acct.open_orders:
            return 0            # the usual case for a trader being liquidated or ADL'd
        ids = sorted(oid for oid in acct.open_orders
                     if inst is None or self._orders[oid][1] == inst)
        for oid in ids:
            self.cancel(ts, oid)
        return len(ids)

    def _forget_order(self, oid: int) -> None:
        owner = self._orders.pop(oid, None)
        if owner is not None:
            self.accounts[owner[0]].open_orders.discard(oid)

    # ------------------------------------------------------------- ledger
    def _apply_fills(self, ts: int, inst: int, fills, liquidation: bool, fee_ppm) -> None:
        """Apply a taker's fills to both sides' positions, wallets and fees.

        Fees: ``ceil(notional x ppm / 1e6)`` (against the trader); a negative maker fee is a
        rebate rounded down.  An inverse fill's notional is its value ``V`` in the base coin
        (``engine.venue.accounts``), the amount its legs move.  A liquidation pays the clearance fee, capped at what the
        account has left above zero, to the insurance fund (reference section 1.6 item 8).
        """
        instrument = self.instruments[inst]
        tlq = instrument.tick_lot_quanta
        inverse_k = instrument.inverse_k
        accounts = self.accounts
        book = self.books[inst]
        maker_ppm = instrument.maker_fee_ppm
        taker_ppm = instrument.taker_fee_ppm if fee_ppm is None else fee_ppm
        buf = self._buf
        for f in fills:
            maker_id, taker_id, price, qty, maker_acct, taker_acct, side = f
            notional = price * qty * tlq if not inverse_k else qty * inverse_k // price
            maker_fee = (ceil_div(notional * maker_ppm, 1_000_000) if maker_ppm >= 0
                         else -((notional * -maker_ppm) // 1_000_000))
            self._fill_leg(accounts[maker_acct], inst, -side * qty, price, maker_fee)
            taker = accounts[taker_acct]
            if liquidation:
                absorbed = self.liquidation_absorbed
                absorbed[maker_acct] = absorbed.get(maker_acct, 0) + notional
                pos = taker.positions.get(inst)
                isolated = pos is not None and pos.isolated
                wallet_before = taker.wallet
                self._fill_leg(taker, inst, side * qty, price, 0)
                rate = instrument.clearance_fee_ppm if fee_ppm is None else fee_ppm
                if isolated and not pos.isolated:
                    # The fill closed an isolated position, whose margin went back to the
                    # wallet: the fee is capped by that margin, never the cross funds.
                    left = taker.wallet - wallet_before
                else:
                    left = self.margin_balance(taker, inst)
                fee = min(ceil_div(notional * rate, 1_000_000), max(0, left))
                if fee:
                    self.move(ts, taker, self.fund, fee, inst=inst, from_position=True,
                              kind=EventKind.INSURANCE_RECEIVED, about=taker_acct,
                              order_id=taker_id)
            else:
                self._fill_leg(taker, inst, side * qty, price,
                               ceil_div(notional * taker_ppm, 1_000_000))
            if maker_id not in book:
                self._forget_order(maker_id)
            buf += _pack(ts, 0, _TRADE, side, inst, taker_acct, maker_acct, taker_id, maker_id,
                         price, qty, notional, 0)

    def _fill_leg(self, acct: Account, inst: int, dq: int, price: int, fee: int) -> None:
        """One side of a fill: signed ``dq`` lots at ``price``; realise PnL, pay ``fee``."""
        pos = acct.position(inst)
        tlq = self.instruments[inst].tick_lot_quanta
        before = pos.size
        if tlq is not None:
            realised = pos.apply(dq, price) * tlq
        else:               # inverse: both legs of a fill compute the same V
            realised = pos.apply_value(dq, abs(dq) * self.instruments[inst].inverse_k // price)
        after = pos.size
        self.open_interest[inst] += max(after, 0) - max(before, 0)
        if (before > 0) != (after > 0) or (before < 0) != (after < 0):
            self._track_holder(acct.id, inst, before, after)
        if pos.isolated:
            pos.margin += realised - fee
            if pos.size == 0:
                acct.wallet += pos.margin
                pos.margin = 0
                pos.isolated = False
        else:
            acct.wallet += realised - fee
        self.fee_income += fee
        self._dirty.add(acct.id)
        if after == 0 and acct.wallet < 0 and acct.id < RESERVED_FROM and \
                not any(acct.id in r for r in self.exogenous):
            # Closed at a loss beyond the balance (a stop's market order through a thin
            # book, a close by the trader itself): a bankrupt account the fund must pay
            # back to zero at the next margin check.  O(1) unless it happens.
            self.closed_negative[acct.id] = inst

    def _track_holder(self, account_id: int, inst: int, before: int, after: int) -> None:
        sides = self.holders[inst]
        if before:
            sides[1 if before > 0 else -1].discard(account_id)
        if after:
            sides[1 if after > 0 else -1].add(account_id)

    def next_order_id(self) -> int:
        """The id the next order sent to ``submit`` will get (nothing is consumed)."""
        return self._next_oid

    def move(self, ts: int, src: Account, dst: Account, amount: int, *, inst: int = 0,
             from_position: bool = False, kind: int | None = None, about: int = 0,
             order_id: int = 0) -> None:
        """The one door for money between accounts outside a fill: ``amount`` quantums (a
        negative amount moves the other way) from ``src``'s wallet -- or, with
        ``from_position``, from the balance that backs its position in ``inst`` (the
        isolated margin of an isolated one) -- into ``dst``'s wallet.  Both accounts are
        re-keyed at the next margin check.  With ``kind``, the move is logged as that event
        (``account`` = ``about``, ``value`` = the amount); without, it is part of an event
        the caller logs.  Conserves money by construction.  O(1)."""
        if from_position:
            self._pay(src, inst, -amount)
        else:
            src.wallet -= amount
            self._dirty.add(src.id)
        dst.wallet += amount
        self._dirty.add(dst.id)
        if kind is not None:
            self.log.append(ts, kind, inst=inst, account=about, order_id=order_id, value=amount)

    def settle_funding(self, ts: int, inst: int, rate: Fraction, price: int) -> int:
        """Pay one funding instant of ``inst`` (``engine.venue.funding``): every position pays
        its value at ``price`` times ``rate`` -- ``size x price x tlq x rate`` (linear),
        ``size x inverse_k / price x rate`` in the coin (inverse: "position value at mark",
        BitMEX and Binance COIN-M) -- longs pay shorts when ``rate`` > 0, from the balance
        that backs it (the isolated margin of an isolated position, else the wallet), at
        ``price`` ticks (the mark on Binance, the oracle on Hyperliquid).  Returns the
        quantums the longs paid (signed).

        Rounding, against the payer: each position pays the ceiling of its exact amount in
        quantums, so a payer pays up and a receiver receives its share rounded down.  The
        exact amounts sum to zero (positions net to zero), so the rounded ones sum to a
        residue >= 0 of less than one quantum per position, which goes to the insurance
        fund: the payments of one settlement, residue included, sum to exactly 0.  A payment
        may leave a balance below maintenance or negative: the next margin check handles it.

        Log: one ``FundingSettled`` row (side = the rate's sign, price, qty = open interest in
        lots, value = the rate in ppb rounded half to even), then one ``FundingPaid`` row per
        nonzero payment in ascending account order (side = the position's side, price, qty =
        its lots, value = paid, < 0 received), then the fund's residue as a ``FundingPaid``
        row (side 0, qty 0, value = -residue) if nonzero.  O(positions log positions)."""
        if type(price) is not int or price <= 0:
            raise ValueError(f"price: expected an int tick > 0, got {price!r}")
        rate = Fraction(rate)
        num, den = rate.numerator, rate.denominator
        inverse_k = self.instruments[inst].inverse_k
        if inverse_k:       # a lot's coin value k / price: the price joins the divisor
            per_lot, den = inverse_k * num, price * den
        else:
            per_lot = price * self.instruments[inst].tick_lot_quanta * num
        sides = self.holders[inst]
        accounts, pay, pack = self.accounts, self._pay, _pack
        rows = []
        residue = longs = 0
        for acct_id in sorted(sides[1] | sides[-1]):
            acct = accounts[acct_id]
            size = acct.positions[inst].size
            paid = -((-size * per_lot) // den)          # ceil: against the payer
            if not paid:
                continue
            pay(acct, inst, -paid)
            residue += paid
            if size > 0:
                longs += paid
            rows.append(pack(ts, 0, _FUNDING_PAID, 1 if size > 0 else -1, inst, acct_id, 0,
                             0, 0, price, abs(size), paid, 0))
        self._buf += _pack(ts, 0, _FUNDING_SETTLED, (rate > 0) - (rate < 0), inst, 0, 0, 0, 0,
                           price, self.open_interest[inst], round(rate * 1_000_000_000), 0)
        self._buf += b"".join(rows)
        if residue:
            self.fund.wallet += residue
            self._dirty.add(self.fund.id)
            self._buf += _pack(ts, 0, _FUNDING_PAID, 0, inst, self.fund.id, 0, 0, 0, price, 0,
                               -residue, 0)
        return longs

    def move_collateral(self, src: Account, dst: Account, asset: str) -> int:
        """Move all of ``src``'s ``asset`` to ``dst``; return the units moved.  O(1)."""
        amount = src.collateral.get(asset, 0)
        if amount:
            dst.collateral[asset] = dst.collateral.get(asset, 0) + amount
            src.collateral[asset] = 0
            self.asset_holders[asset].add(dst.id)
            self._dirty.add(src.id)
            self._dirty.add(dst.id)
        return amount

    def write_off(self, ts: int, acct: Account, inst: int, amount: int) -> None:
        """Bad debt: ``amount`` quantums of ``acct``'s negative balance that nobody absorbs
        are written off -- the wallet is made whole and ``bad_debt`` grows by as much
        (``BadDebt`` event).  O(1)."""
        acct.wallet += amount
        self.bad_debt += amount
        self._dirty.add(acct.id)
        self.log.append(ts, EventKind.BAD_DEBT, inst=inst, account=acct.id, value=amount)

    def _pay(self, acct: Account, inst: int, amount: int) -> None:
        """Credit (or debit, if negative) the balance that backs ``inst`` for ``acct``."""
        pos = acct.positions.get(inst)
        if pos is not None and pos.isolated:
            pos.margin += amount
        else:
            acct.wallet += amount
        self._dirty.add(acct.id)

    def margin_balance(self, acct: Account, inst: int) -> int:
        """Margin balance backing ``inst``: isolated margin + uPnL, or the cross equity."""
        pos = acct.positions.get(inst)
        if pos is not None and pos.isolated:
            mark = self.marks[inst]
            return pos.margin + (self.unrealised(pos, inst) if mark is not None else 0)
        return self.cross_equity(acct)

    def unrealised(self, pos, inst: int) -> int:
        """Unrealised PnL of ``pos`` (a position in ``inst``) at the mark, in quantums:
        exact for a linear instrument, rounded down (against the holder) for an inverse one
        (``engine.venue.accounts``).  O(1)."""
        ins = self.instruments[inst]
        if ins.inverse_k:
            return pos.unrealised_inverse(self.marks[inst], ins.inverse_k)
        return pos.unrealised(self.marks[inst], ins.tick_lot_quanta)

    # -------------------------------------------------------------- margin
    def collateral_value(self, acct: Account) -> int:
        """Haircut value of the account's collateral, in quantums, rounded down per asset:
        ``CollateralAsset.value_q`` exactly, as ``amount x num // den`` with the asset's
        value per unit ``num/den`` cached per price (a hot path: every re-key and margin
        read of a holder).  O(assets held)."""
        total = 0
        cache = self._unit_value
        for asset, amount in acct.collateral.items():
            if amount:
                price = self.asset_prices.get(asset)
                if price is not None:
                    c = cache.get(asset)
                    if c is None or c[0] != price:
                        a = self.assets[asset]
                        v = Fraction(a.unit) * price * (1_000_000 - a.haircut_ppm) \
                            * self._qpu / 1_000_000
                        c = cache[asset] = (price, v.numerator, v.denominator)
                    total += amount * c[1] // c[2]
        return total

    def cross_equity(self, acct: Account) -> int:
        """Cross margin balance: wallet + collateral value + uPnL of cross positions at mark."""
        eq = acct.wallet + self.collateral_value(acct) if acct.collateral else acct.wallet
        for i, pos in acct.positions.items():
            if pos.size and not pos.isolated:
                t = self.instruments[i].tick_lot_quanta
                eq += (pos.unrealised(self.marks[i], t) if t is not None
                       else self.unrealised(pos, i))
        return eq

    def cross_maintenance(self, acct: Account) -> int:
        mm = 0
        for i, pos in acct.positions.items():
            if pos.size and not pos.isolated:
                instrument = self.instruments[i]
                notional = instrument.notional(self.marks[i], pos.size)
                mm += maintenance_margin_q(notional, instrument.table_q)
        return mm

    def cross_deficit(self, acct: Account) -> int:
        """MM - margin balance of the cross part (> 0: liquidatable).  With an inverse
        position among them, the exact MM minus the exact margin balance rounded up
        (``inverse_terms``)."""
        if not any(p.size and not p.isolated for p in acct.positions.values()):
            return 0
        if self.has_inverse:
            total = -acct.wallet - (self.collateral_value(acct) if acct.collateral else 0)
            for i, pos in acct.positions.items():
                if pos.size and not pos.isolated:
                    total += self.inverse_terms(pos, i)
            return ceil_f(Fraction(total))
        return self.cross_maintenance(acct) - self.cross_equity(acct)

    def inverse_terms(self, pos, inst: int):
        """MM - uPnL of one position at the mark.  Linear: the usual integers (MM rounded
        up, uPnL exact).  Inverse: the exact rational ``MM(N) + size x k / m + cost``, N =
        ``|size| x k / m`` the exact value, tier by ``ceil(N)`` (tier floors are whole
        quantums, so ``N >= floor`` iff ``ceil(N) >= floor``).  An inverse unit is
        deficient when its exact MM exceeds its exact margin balance: separately rounded
        terms would make deficiency non-monotone in the mark by a quantum, and the trigger
        index (``engine.venue.risk``) needs it monotone (assumed: no venue publishes its
        rounding here).  O(log tiers)."""
        ins = self.instruments[inst]
        m = self.marks[inst]
        if not ins.inverse_k:
            return (maintenance_margin_q(abs(pos.size) * m * ins.tick_lot_quanta, ins.table_q)
                    - pos.unrealised(m, ins.tick_lot_quanta))
        k, table = ins.inverse_k, ins.table_q
        n = abs(pos.size)
        mmr_num, cum_num, den = table.coefficients_q(table.index_of_q(-((-n * k) // m)))
        return Fraction(n * k * mmr_num - cum_num * m + den * (pos.size * k + pos.cost * m),
                        den * m)

    def maintenance_of(self, acct: Account, inst: int) -> int:
        """Maintenance margin of one position at the mark, quantums rounded up."""
        instrument = self.instruments[inst]
        return maintenance_margin_q(instrument.notional(self.marks[inst],
                                                        acct.positions[inst].size),
                                    instrument.table_q)

    def isolated_deficit(self, acct: Account, inst: int) -> int:
        pos = acct.positions[inst]
        if self.instruments[inst].inverse_k:
            return ceil_f(self.inverse_terms(pos, inst) - pos.margin)
        return self.maintenance_of(acct, inst) - pos.margin - self.unrealised(pos, inst)

    def deficit(self, acct: Account, inst: int) -> int:
        """MM minus margin balance for the unit that holds ``inst`` (> 0: liquidatable)."""
        pos = acct.positions.get(inst)
        if pos is None or pos.size == 0:
            return self.cross_deficit(acct)
        return self.isolated_deficit(acct, inst) if pos.isolated else self.cross_deficit(acct)

    # ------------------------------------------------------------ risk reads
    def refresh_index(self) -> None:
        """Re-key every account changed since the last check (``LiquidationIndex.refresh``;
        every check does this itself: call it to pay for a large batch up front)."""
        self.index.refresh()

    def liquidatable(self, inst: int) -> list[tuple[int, int]]:
        """(account, inst) units deficient at the current mark of ``inst``, deepest first
        (``LiquidationIndex.liquidatable``)."""
        return self.index.liquidatable(inst)

    # --------------------------------------------------------------- prices
    def set_mark(self, ts: int, inst: int, mark: int) -> None:
        """Set the mark price (ticks) of one instrument.  Does not liquidate by itself."""
        if type(mark) is not int or mark <= 0:
            raise ValueError(f"mark: expected an int tick > 0, got {mark!r}")
        self.marks[inst] = mark
        self.log.append(ts, EventKind.MARK_UPDATED, inst=inst, price=mark)

    def set_asset_index(self, asset: str, price) -> None:
        """The external index price (quote units, str/Decimal/Fraction) of an asset."""
        if asset not in self.assets:
            raise ValueError(f"asset: unknown {asset!r}; known: {sorted(self.assets)}")
        self._asset_index[asset] = exact_price("price", price)
        self.refresh_asset_prices()

    def refresh_asset_prices(self) -> list[str]:
        """Re-price every collateral asset from its source (see ``engine.venue.collateral``);
        return the names whose price changed.  O(assets)."""
        changed = []
        for name, asset in self.assets.items():
            if asset.source == "fixed":
                price = asset.fixed_price
            elif asset.source == "index":
                price = self._asset_index.get(name)
            else:
                book = self.books[asset.book_inst]
                tick = Fraction(self.instruments[asset.book_inst].tick_size)
                if asset.source == "book-last":
                    last = book.last_price
                    price = None if last is None else last * tick
                else:
                    bb, ba = book.best_bid(), book.best_ask()
                    price = None if bb is None or ba is None else Fraction(bb + ba, 2) * tick
            if price is not None and price != self.asset_prices.get(name):
                self.asset_prices[name] = price
                changed.append(name)
                # A holder's trigger includes its collateral's value at this price: re-key.
                self._dirty.update(self.asset_holders[name])
        return changed

    # -------------------------------------------------------------- status
    @property
    def halted(self) -> bool:
        """Whether continuous matching is halted venue-wide (a pause, pre-open or auction
        call phase).  One status: the books' own mode, which ``halt``/``reopen`` set for
        every book at once.  O(1)."""
        return self.books[0].halted

    def halt(self, ts: int, code: int, queue_market: bool = False,
             price_rule: int = EVERY_TICK) -> None:
        """Stop continuous matching venue-wide: limit orders rest even if they cross;
        IOC/FOK orders are refused by the books, and market orders too unless
        ``queue_market`` (then they queue into the reopening auction and expire after it:
        ``OrderBook.halt``).  ``price_rule`` is the auction's (``orderbook.auction``).
        ``code`` is the halting policy's id (``TradingHalted`` row, ``price`` = the last
        trade).  No effect if already halted: the policy that halted sets the rules."""
        if self.halted:
            return
        self.halts += 1
        for inst, book in enumerate(self.books):
            book.halt(queue_market, price_rule)
            self.log.append(ts, EventKind.TRADING_HALTED, inst=inst, price=book.last_price or 0,
                            reason=code)

    def reopen(self, ts: int, reference: int | None, code: int):
        """Uncross every book at its volume-maximising price (ties: nearest ``reference``,
        a price of instrument 0; other instruments' ties go to their own last price) and
        resume continuous matching; the auctions' fills go through the ledger.  Returns
        instrument 0's ``AuctionResult``.  The loop recomputes the mark afterwards."""
        first = None
        for inst, book in enumerate(self.books):
            ref = reference if inst == 0 else book.last_price
            result = self.uncross(ts, inst, ref, resume=True)
            self.log.append(ts, EventKind.TRADING_RESUMED, inst=inst, price=result.price or 0,
                            qty=result.volume, value=result.imbalance, reason=code)
            first = result if first is None else first
        return first

    def indicative(self, reference: int | None = None, inst: int = 0):
        """The auction price and volume an uncross of ``inst`` would give now (changes
        nothing)."""
        return self.books[inst].indicative_uncross(reference)

    def go_down(self, ts: int) -> None:
        """An outage begins (``frictions.outage``; BitMEX was dark for ~25 minutes on 13 Mar
        2020): the venue takes no order or cancel, matches nothing and runs no margin check,
        liquidation, stop or fund offload until it is back; resting orders stay."""
        self.down = True
        self.log.append(ts, EventKind.VENUE_WENT_DOWN)

    def come_back(self, ts: int) -> None:
        """The outage ends."""
        self.down = False
        self.log.append(ts, EventKind.VENUE_CAME_BACK)

    # -------------------------------------------------------------- checks
    def check_conservation(self) -> None:
        """Assert money and positions are conserved exactly (see module docstring)."""
        total = self.fee_income - self.bad_debt
        sizes = [0] * len(self.instruments)
        for acct in self.accounts.values():
            total += acct.wallet
            for i, pos in acct.positions.items():
                total += pos.margin - pos.cost * (self.instruments[i].tick_lot_quanta or 1)
                sizes[i] += pos.size
                assert pos.size or (pos.cost == 0 and pos.margin == 0), \
                    f"account {acct.id} inst {i}: flat position keeps cost/margin"
        assert sizes == [0] * len(sizes), f"positions do not net to zero: {sizes}"
        longs = [0] * len(self.instruments)
        for acct in self.accounts.values():
            for i, pos in acct.positions.items():
                longs[i] += max(pos.size, 0)
        assert longs == self.open_interest, f"open interest cache {self.open_interest} != {longs}"
        for i in range(len(self.instruments)):
            for sign in (1, -1):
                expect = {a.id for a in self.accounts.values()
                          if i in a.positions and a.positions[i].size * sign > 0}
                assert self.holders[i][sign] == expect, f"holders cache inst {i} side {sign}"
        assert total == self.net_deposits, \
            f"money not conserved: {total} != {self.net_deposits} (diff {total - self.net_deposits})"
