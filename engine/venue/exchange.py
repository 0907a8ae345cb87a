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

Margin (reference liquidation-mechanics.md section 1.4)
    An account (cross) or an isolated position is liquidatable when its margin balance is
    below its maintenance margin at the mark price: balance + unrealised PnL < MM, where MM is
    the tiered ``notional x mmr - cum`` rounded up (``engine.venue.tiers.maintenance_margin_q``).

Liquidation index
    A mark update must not cost O(accounts).  Isolated positions and cross accounts whose only
    exposure is one instrument (no collateral) have an exact *trigger tick*: the largest mark
    at which a long is deficient, the smallest at which a short is.  They sit in sorted
    lists per instrument, so a mark update finds the deficient ones in O(log n + k).  Other
    cross accounts ("complex") are re-evaluated only when a price they depend on changes.
    Accounts whose state changed since the last check are re-keyed lazily, at the next check.

Liquidation styles are in ``engine.liquidation.waterfalls``; ADL rankings in ``engine.liquidation.adl``.
"""
from __future__ import annotations

from fractions import Fraction

from sortedcontainers import SortedList

from orderbook import OrderBook, OrderStatus, Reason
from orderbook.enums import GTC, LIMIT, STP_EXPIRE_MAKER, STP_NONE

from .accounts import BACKSTOP_ID, INSURANCE_ID, RESERVED_FROM, Account
from .collateral import CollateralAsset, exact_price
from .events import ORDER_ROW, ROW, EventKind, EventLog, order_rows
from .instruments import ADL_RANKINGS, Instrument
from .rounding import ceil_div
from .tiers import maintenance_margin_q

# Engine reason codes (event ``reason`` column); book reasons are below 100, breaker
# reasons from 110 (``engine.breakers``).
REASON_REDUCE_ONLY = 100
REASON_UNKNOWN_ACCOUNT = 101
REASON_VENUE_DOWN = 102      # an order that reached the venue during an outage

_INF = 1 << 62
_BULK_REINDEX = 1024     # dirty accounts from which the index is refreshed as one batch
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
_NEW_STATUS = OrderStatus.NEW
_pack = ROW.pack
_pack_order = ORDER_ROW.pack


class Exchange:
    """Books, accounts and the risk engine of one venue.

    ``adl_ranking`` is one of ``ADL_RANKINGS`` (``engine.liquidation.adl``); ``fund_limit_ppm`` caps the net
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
        self.fund = Account(INSURANCE_ID, wallet=insurance_fund, kind="insurance")
        self.backstop = Account(BACKSTOP_ID, wallet=backstop, kind="backstop")
        self.accounts: dict[int, Account] = {INSURANCE_ID: self.fund, BACKSTOP_ID: self.backstop}
        self.fee_income = 0
        self.bad_debt = 0
        self.net_deposits = insurance_fund + backstop
        self.marks: list[int | None] = [None] * len(instruments)
        self.open_interest: list[int] = [0] * len(instruments)   # lots held long, per inst
        # Accounts holding each side of each instrument: holders[inst][1] longs, [-1] shorts.
        self.holders: list[list] = [[None, set(), set()] for _ in instruments]
        self.assets: dict[str, CollateralAsset] = {a.name: a for a in collateral}
        self.asset_prices: dict[str, Fraction] = {}
        self._asset_index: dict[str, Fraction] = {}
        self._qpu = instruments[0].quanta_per_unit
        self._orders: dict[int, tuple] = {}   # resting order id -> (account, inst, side, price)
        self._next_oid = 1
        # Liquidation index, per instrument.
        self._longs = [SortedList() for _ in instruments]
        self._shorts = [SortedList() for _ in instruments]
        self._keys: dict[tuple[int, int], tuple] = {}     # (account, inst) -> index entry
        self._complex: list[set[int]] = [set() for _ in instruments]
        self._listing: dict[int, tuple] = {}   # inst -> (mark, units): see liquidatable
        self._dirty: set[int] = set()
        # Per-style state (cooldowns, per-block caps), owned by engine.liquidation.waterfalls.
        self.style_state: dict = {}
        # Accounts deleveraged by ADL as counterparties -> last time (market makers react).
        self.adl_hits: dict[int, int] = {}
        # Circuit-breaker hooks (``engine.breakers``): ``order_gate(ts, account, inst, side,
        # qty, price, order_type, tif, liquidation) -> (price, reject_reason)`` may reprice
        # or reject an order before it reaches the book; ``liquidation_gate(ts, account,
        # inst, notional) -> bool`` may defer a liquidation.  None = no breaker.
        self.order_gate = None
        self.liquidation_gate = None
        # ``liquidation_pause(ts, inst, units) -> reason``: defers a whole round at once.
        self.liquidation_pause = None
        # Benchmarks: when a list, every call that reaches a book is appended to it, so the
        # same order flow can be replayed through a bare OrderBook (see benchmarks/).
        self.flow_recorder: list | None = None
        # An outage (``frictions.outage``): orders are refused (``REASON_VENUE_DOWN``) and
        # cancels do nothing; the Simulation runs no risk step meanwhile.
        self.down = False

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
        self._dirty.add(account_id)
        return acct

    def deposit(self, ts: int, account_id: int, amount: int) -> None:
        _whole("amount", amount)
        self._credit(ts, self.accounts[account_id], amount)

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
        so positions still net to zero.  Logs one ``PositionTransferred`` per row; the
        accounts are indexed lazily at the next margin check.  O(rows).
        """
        cp = self.accounts[counterparty]
        cp_pos = cp.position(inst)
        if cp_pos.isolated:
            raise ValueError(f"counterparty {counterparty}: position must be cross")
        dirty = self._dirty
        for account_id, deposit, size, price, iso in rows:
            acct = self.open_account(ts, account_id, deposit)
            if not size:
                continue
            pos = acct.position(inst)
            if iso:
                if iso > deposit:
                    raise ValueError(f"account {account_id}: isolated_margin exceeds deposit")
                pos.isolated = True
                pos.margin = iso
                acct.wallet -= iso
            pos.size = size
            pos.cost = size * price
            self.open_interest[inst] += max(size, 0)
            self._track_holder(account_id, inst, 0, size)
            self._fill_leg(cp, inst, -size, price, 0)
            dirty.add(account_id)
            self._buf += _pack(ts, 0, _TRANSFERRED, 1 if size > 0 else -1, inst, account_id,
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
        gate = self.order_gate
        # Malformed orders skip the gate: the book rejects them with the reason.
        if gate is not None and type(qty) is int and (price is None or type(price) is int) \
                and (side == 1 or side == -1) \
                and not (post_only and self._would_take(inst, side, price)):
            # A post-only order that would take is the book's to reject: it never trades,
            # so a breaker must not read it as a trade about to happen (and halt on it).
            price, reason = gate(ts, account_id, inst, side, qty, price, order_type, tif,
                                 liquidation)
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
        self._record(ts, acct, inst, oid, side, price, qty, r, liquidation, fee_ppm)
        return r

    def _would_take(self, inst: int, side: int, price) -> bool:
        """Whether a limit order at ``price`` would cross ``inst``'s book now (never while
        matching is halted).  O(1)."""
        book = self.books[inst]
        if book.halted or type(price) is not int:
            return False
        opp = book.best_ask() if side > 0 else book.best_bid()
        return opp is not None and side * (price - opp) >= 0

    def _record(self, ts: int, acct: Account, inst: int, oid: int, side: int, price, qty: int,
                r, liquidation: bool, fee_ppm) -> None:
        """Apply what the book did with an order: fills to the ledger, self-trade
        cancellations, the resting part on record, and their log rows."""
        # Hot path: SubmitResult fields by position (2 fills, 4 resting_qty, 5 expired_qty,
        # 7 stp_cancelled) and log rows packed straight into EventLog.buffer.
        account_id = acct.id
        if r[1] == _REJECTED:
            self.log.append(ts, EventKind.ORDER_REJECTED, side=_side(side), inst=inst,
                            account=account_id, order_id=oid, price=_loggable(price),
                            qty=_loggable(qty), reason=r.reason)
            return
        if r[2]:
            self._apply_fills(ts, inst, r[2].rows(), liquidation, fee_ppm)
        if r[7]:
            for info in r[7]:
                self._forget_order(info.order_id)
                self.log.append(ts, EventKind.ORDER_CANCELLED, side=info.side, inst=inst,
                                account=info.account, order_id=info.order_id, price=info.price,
                                qty=info.qty, reason=r.reason)
        resting = r[4]
        if resting:
            self._orders[oid] = (account_id, inst, side, price)
            acct.open_orders.add(oid)
            self._buf += _pack_order(ts, _ACCEPTED, side, inst, account_id, oid, price, resting)
        if r[5]:
            self.log.append(ts, EventKind.ORDER_EXPIRED, side=side, inst=inst, account=account_id,
                            order_id=oid, price=_loggable(price), qty=r.expired_qty,
                            reason=r.reason)

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
        if acct is None or self.order_gate is not None or self.down or not (validated or all(
                type(p) is int and type(q) is int and 0 < p <= _INT64_MAX and 0 < q <= _INT64_MAX
                for p, q in quotes)):
            # Rare: let ``cancel``/``submit`` log the rejections and consult the gate.
            for oid in cancel_ids:
                owner = self._orders.get(oid)
                if owner is not None and owner[0] == account_id:
                    self.cancel(ts, oid)
            placed = {}
            for price, qty in quotes:
                r = self.submit(ts, account_id, inst, side, qty, price, GTC, LIMIT, True,
                                False, stp)
                if r is not None and r[4]:
                    placed[price] = r[0]
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
                if owner is None or owner[0] != account_id:
                    continue
                if rec is not None:
                    rec.append((inst, oid))
                qty = bcancel(oid)
                if qty:
                    del orders[oid]
                    buf += _pack_order(ts, _CANCELLED, owner[2], inst, account_id, oid,
                                       owner[3], qty)
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
            if r[1] is _NEW_STATUS:
                orders[oid] = (account_id, inst, side, price)
                placed[price] = oid
            else:
                if run < oid:
                    buf += self._accepted_rows(ts, side, inst, account_id, run, oid,
                                               quotes[run - first:oid - first])
                run = oid + 1
                self._next_oid = oid + 1
                self._record(ts, acct, inst, oid, side, price, qty, r, False, None)
                if r[4]:
                    placed[price] = oid
            oid += 1
        if run < oid:
            buf += self._accepted_rows(ts, side, inst, account_id, run, oid,
                                       quotes[run - first:] if run > first else quotes)
        # The ids of this call still resting (C-level; a price may repeat in ``quotes``).
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
        if result.fills:
            # The book reports aggressor 0 in an auction; the ledger takes the taker's side
            # (both orders were entered through ``submit``, so their sides are on record).
            orders = self._orders
            rows = [row[:6] + (orders[row[1]][2],) for row in result.fills.rows()]
            self._apply_fills(ts, inst, rows, False, None)
            for row in rows:
                if row[1] not in book:
                    self._forget_order(row[1])
        return result

    def cancel(self, ts: int, order_id: int):
        """Cancel a resting order; returns the lots cancelled (falsy if not resting, or
        while the venue is down)."""
        owner = self._orders.get(order_id)
        if owner is None or self.down:
            return None
        if self.flow_recorder is not None:
            self.flow_recorder.append((owner[1], order_id))
        qty = self.books[owner[1]].cancel(order_id)
        if qty:
            del self._orders[order_id]
            self.accounts[owner[0]].open_orders.discard(order_id)
            self._buf += _pack_order(ts, _CANCELLED, owner[2], owner[1], owner[0], order_id,
                                     owner[3], qty)
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
        rebate rounded down.  A liquidation pays the clearance fee, capped at what the
        account has left above zero, to the insurance fund (reference section 1.6 item 8).
        """
        ins = self.instruments[inst]
        tlq = ins.tick_lot_quanta
        accounts = self.accounts
        book = self.books[inst]
        maker_ppm = ins.maker_fee_ppm
        taker_ppm = ins.taker_fee_ppm if fee_ppm is None else fee_ppm
        append = self.log.append
        buf = self._buf
        for f in fills:
            maker_id, taker_id, price, qty, maker_acct, taker_acct, side = f
            notional = price * qty * tlq
            maker_fee = (ceil_div(notional * maker_ppm, 1_000_000) if maker_ppm >= 0
                         else -((notional * -maker_ppm) // 1_000_000))
            self._fill_leg(accounts[maker_acct], inst, -side * qty, price, maker_fee)
            taker = accounts[taker_acct]
            if liquidation:
                pos = taker.positions.get(inst)
                isolated = pos is not None and pos.isolated
                wallet_before = taker.wallet
                self._fill_leg(taker, inst, side * qty, price, 0)
                rate = ins.clearance_fee_ppm if fee_ppm is None else fee_ppm
                if isolated and not pos.isolated:
                    # The fill closed an isolated position, whose margin went back to the
                    # wallet: the fee is capped by that margin, never the cross funds.
                    left = taker.wallet - wallet_before
                else:
                    left = self.margin_balance(taker, inst)
                fee = min(ceil_div(notional * rate, 1_000_000), max(0, left))
                if fee:
                    self._pay(taker, inst, -fee)
                    self.fund.wallet += fee
                    append(ts, EventKind.INSURANCE_RECEIVED, inst=inst, account=taker_acct,
                           order_id=taker_id, value=fee)
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
        realised = pos.apply(dq, price) * tlq
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

    def _track_holder(self, account_id: int, inst: int, before: int, after: int) -> None:
        sides = self.holders[inst]
        if before:
            sides[1 if before > 0 else -1].discard(account_id)
        if after:
            sides[1 if after > 0 else -1].add(account_id)

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
            return pos.margin + (pos.unrealised(mark, self.instruments[inst].tick_lot_quanta)
                                 if mark is not None else 0)
        return self.cross_equity(acct)

    # -------------------------------------------------------------- margin
    def collateral_value(self, acct: Account) -> int:
        """Haircut value of the account's collateral, in quantums, rounded down."""
        total = 0
        for asset, amount in acct.collateral.items():
            if amount:
                price = self.asset_prices.get(asset)
                if price is not None:
                    total += self.assets[asset].value_q(amount, price, self._qpu)
        return total

    def cross_equity(self, acct: Account) -> int:
        """Cross margin balance: wallet + collateral value + uPnL of cross positions at mark."""
        eq = acct.wallet + self.collateral_value(acct) if acct.collateral else acct.wallet
        for i, pos in acct.positions.items():
            if pos.size and not pos.isolated:
                eq += pos.unrealised(self.marks[i], self.instruments[i].tick_lot_quanta)
        return eq

    def cross_maintenance(self, acct: Account) -> int:
        mm = 0
        for i, pos in acct.positions.items():
            if pos.size and not pos.isolated:
                ins = self.instruments[i]
                mm += maintenance_margin_q(abs(pos.size) * self.marks[i] * ins.tick_lot_quanta,
                                           ins.table_q)
        return mm

    def cross_deficit(self, acct: Account) -> int:
        """MM - margin balance of the cross part (> 0: liquidatable)."""
        if not any(p.size and not p.isolated for p in acct.positions.values()):
            return 0
        return self.cross_maintenance(acct) - self.cross_equity(acct)

    def maintenance_of(self, acct: Account, inst: int) -> int:
        """Maintenance margin of one position at the mark, quantums rounded up."""
        ins = self.instruments[inst]
        return maintenance_margin_q(abs(acct.positions[inst].size) * self.marks[inst]
                                    * ins.tick_lot_quanta, ins.table_q)

    def isolated_deficit(self, acct: Account, inst: int) -> int:
        pos = acct.positions[inst]
        ins = self.instruments[inst]
        return (self.maintenance_of(acct, inst) - pos.margin
                - pos.unrealised(self.marks[inst], ins.tick_lot_quanta))

    def deficit(self, acct: Account, inst: int) -> int:
        """MM minus margin balance for the unit that holds ``inst`` (> 0: liquidatable)."""
        pos = acct.positions.get(inst)
        if pos is None or pos.size == 0:
            return self.cross_deficit(acct)
        return self.isolated_deficit(acct, inst) if pos.isolated else self.cross_deficit(acct)

    # ---------------------------------------------------- liquidation index
    def _trigger(self, balance: int, size: int, cost: int, inst: int) -> int:
        """Trigger tick of a single position backed by ``balance`` quantums.

        Long: the largest mark m >= 0 with balance + (size m - cost) t < MM(m) (-1 if none).
        Short: the smallest such m (always exists).  Binance's one-way formula, reference
        section 1.5, solved in integers per tier, iterated until the notional lies in the
        tier used, then fixed up against the exact check (MM rounding).  O(tiers).
        """
        ins = self.instruments[inst]
        t = ins.tick_lot_quanta
        table = ins.table_q
        n = abs(size)

        def deficient(m: int) -> bool:
            return balance + (size * m - cost) * t < maintenance_margin_q(n * m * t, table)

        tier = table.index_of_q(n * max(self.marks[inst] or 0, 0) * t)
        m = 0
        for _ in range(len(table) + 1):
            mmr_num, cum_num, den = table.coefficients_q(tier)
            num = den * (cost * t - balance) - cum_num
            dnm = den * size * t - n * t * mmr_num
            if size > 0:
                m = ceil_div(num, dnm) - 1 if dnm > 0 else (_INF if num > 0 else -1)
            else:
                m = num // dnm + 1
            m = max(m, -1)
            if m < 0 or m >= _INF:
                break
            new_tier = table.index_of_q(n * m * t)
            if new_tier == tier:
                break
            tier = new_tier
        if size > 0:
            if m >= _INF:
                return m
            while m >= 0 and not deficient(m):
                m -= 1
            while deficient(m + 1):
                m += 1
            return m
        m = max(m, 0)
        while m > 0 and deficient(m - 1):
            m -= 1
        while not deficient(m):
            m += 1
        return m

    def _reindex(self, account_id: int) -> None:
        """Re-key one account's entries in the liquidation index.  O(positions log n)."""
        self._listing.clear()
        self._unindex(account_id)
        for inst, entry in self._entries(account_id):
            (self._longs if entry[0] > 0 else self._shorts)[inst].add(entry[1])
            self._keys[(account_id, inst)] = entry

    def _unindex(self, account_id: int) -> None:
        """Drop every index entry of ``account_id`` (sorted lists, keys, complex sets)."""
        keys = self._keys
        for key in [k for k in keys if k[0] == account_id] if account_id not in self.accounts \
                else [(account_id, i) for i in range(len(self.instruments))]:
            entry = keys.pop(key, None)
            if entry is not None:
                (self._longs if entry[0] > 0 else self._shorts)[key[1]].remove(entry[1])
            self._complex[key[1]].discard(account_id)

    def _entries(self, account_id: int) -> list[tuple[int, tuple]]:
        """The index entries ``(inst, (sign, (trigger, account)))`` an account should have;
        puts complex cross accounts into ``_complex`` on the way."""
        acct = self.accounts.get(account_id)
        if acct is None or account_id >= RESERVED_FROM:
            return []
        out = []
        cross = [i for i, p in acct.positions.items() if p.size and not p.isolated]
        simple_cross = len(cross) == 1 and not any(acct.collateral.values())
        for i, pos in acct.positions.items():
            if not pos.size:
                continue
            if pos.isolated:
                balance = pos.margin
            elif simple_cross:
                balance = acct.wallet
            else:
                self._complex[i].add(account_id)
                continue
            trig = self._trigger(balance, pos.size, pos.cost, i)
            if trig >= 0:       # else a long that no positive mark can liquidate
                out.append((i, (1 if pos.size > 0 else -1, (trig, account_id))))
        return out

    def refresh_index(self) -> None:
        """Re-key every account changed since the last check (every check does this
        itself; call it to pay for a large batch up front).  Many at once (seeding a
        population) go in as one batch per sorted list: ``SortedList.update`` sorts a
        large batch once instead of inserting it one key at a time (100k seeded traders:
        ~0.3 s less).  The index ends the same either way."""
        if not self._dirty:
            return
        self._listing.clear()
        dirty = sorted(self._dirty)
        self._dirty.clear()
        if len(dirty) < _BULK_REINDEX:
            for account_id in dirty:
                self._reindex(account_id)
            return
        keys = self._keys
        batch: dict[tuple[int, int], list] = {}
        for account_id in dirty:
            self._unindex(account_id)
            for inst, entry in self._entries(account_id):
                batch.setdefault((entry[0], inst), []).append(entry[1])
                keys[(account_id, inst)] = entry
        for (sign, inst), items in batch.items():
            (self._longs if sign > 0 else self._shorts)[inst].update(items)

    def liquidatable(self, inst: int) -> list[tuple[int, int]]:
        """(account, inst) units that are deficient at the current mark of ``inst``.

        Order (assumed; the venues do not publish one): the deepest trigger first -- longs
        by highest trigger tick, shorts by lowest -- then complex accounts; ties by account
        id.  O(log n + k log k) plus the complex accounts holding ``inst``.  The listing is
        kept until the mark or an account changes (a risk step lists twice: top-ups, then
        liquidations; a halt with liq-pause lists the same queue every step), unless
        complex accounts hold ``inst`` (their deficits depend on other prices too).
        """
        self.refresh_index()
        mark = self.marks[inst]
        if mark is None:
            return []
        complex_ = self._complex[inst]
        cached = self._listing.get(inst)
        if cached is not None and cached[0] == mark and not complex_:
            return list(cached[1])
        # (-depth, account): a long is ``trig - mark`` deep, a short ``mark - trig``; one
        # tuple sort gives deepest first, then account id (an account is long or short).
        out = [(mark - trig, acct) for trig, acct in self._longs[inst].irange((mark, -1), None)]
        out += [(trig - mark, acct) for trig, acct in self._shorts[inst].irange(None, (mark, _INF))]
        out.sort()
        units = [(acct, inst) for _, acct in out]
        if not complex_:
            self._listing[inst] = (mark, units)
            return list(units)
        for acct_id in sorted(complex_):
            if self.cross_deficit(self.accounts[acct_id]) > 0:
                units.append((acct_id, inst))
        return units

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
        # Holders of collateral are never in the trigger index (they are "complex"), so
        # they are re-evaluated at every check of an instrument they hold: nothing to mark.
        return changed

    # -------------------------------------------------------------- checks
    def check_conservation(self) -> None:
        """Assert money and positions are conserved exactly (see module docstring)."""
        total = self.fee_income - self.bad_debt
        sizes = [0] * len(self.instruments)
        for acct in self.accounts.values():
            total += acct.wallet
            for i, pos in acct.positions.items():
                total += pos.margin - pos.cost * self.instruments[i].tick_lot_quanta
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
