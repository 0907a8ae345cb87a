"""One account's story, from the saved event log: ``liqsim account DIR ID``, ``r.account(id)``.

Every row of the log about the account (``account`` column) or naming it as the counterparty
(``other``: the maker of a trade, an ADL counterparty, the seller of a transfer), in log
order, as one line each: time, what happened, in real units (quote currency, base units,
seconds), and the position after it -- the signed size, followed from the rows that change
it: trades and transfers (a takeover or an ADL close is logged as a transfer, after its own
row).  Order acceptances and cancellations are counted,
not listed (a maker's quotes are most of a log); liquidation orders, fill failures, margin
calls, funding, deposits and everything else are listed.  At most ``MAX_LINES`` lines, then
how many more.  O(rows of the log) to select, O(rows of the account) to tell.
"""
from __future__ import annotations

from decimal import Decimal

import attrs
import numpy as np

from ..venue.accounts import BACKSTOP_ID, INSURANCE_ID
from ..venue.events import EventKind
from .metrics import timeseries_meta

MAX_LINES = 400
TOP = 5             # accounts the report names per list
_K = EventKind
_QUIET = (int(_K.ORDER_ACCEPTED), int(_K.ORDER_CANCELLED))
_LIQUIDATED = (int(_K.LIQUIDATION_FILLED), int(_K.INSURANCE_TAKEOVER),
               int(_K.BACKSTOP_TAKEOVER), int(_K.AUTO_DELEVERAGED))
#: The venue's own accounts, by name (a story read "from account 4294967280").
_VENUE = {INSURANCE_ID: "the insurance fund", BACKSTOP_ID: "the backstop vault"}


def _party(account: int) -> str:
    """``account N``, or the venue account's name (``_VENUE``)."""
    return _VENUE.get(account, f"account {account}")


def _counterparty(account: int) -> str:
    """``N``, or the venue account's name: what follows "counterparty"."""
    return _VENUE.get(account, str(account))


@attrs.frozen
class AccountStory:
    """``text``: the story (module docstring); ``events``: the account's rows of the log
    (``EVENT_DTYPE``).  Prints as its text."""

    account: int
    text: str
    events: np.ndarray = attrs.field(repr=False, eq=False)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def _side(s: int) -> str:
    return "buy" if s > 0 else "sell" if s < 0 else "-"


def _rows(result, account: int) -> np.ndarray:
    ev = result.events_array
    return ev[(ev["account"] == account) | (ev["other"] == account)]


def story(result, account: int) -> AccountStory:
    """The story of ``account`` in ``result`` (a ``RunResult``, in memory or loaded)."""
    meta = timeseries_meta(result.timeseries)
    tick = Decimal(meta["tick_size"])
    lot = Decimal(meta["lot_size"])
    quantum = Decimal(meta["quote_quantum"])
    q = meta.get("quote_currency", "quote")
    rows = _rows(result, account)

    def px(t):
        return f"{Decimal(int(t)) * tick:,f}"

    def qty(n):
        return f"{Decimal(int(n)) * lot:f}"

    def money(v):
        # To the cent, but a non-zero amount under a cent in full: a funding payment of
        # 0.00000604 USDT is not "0.00".
        d = Decimal(int(v)) * quantum
        if d and abs(d) < Decimal("0.01"):
            return f"{d.normalize():f} {q}"
        return f"{d.quantize(Decimal('0.01')):,f} {q}"

    size = 0
    lines, quiet = [], {k: 0 for k in _QUIET}
    for r in rows.tolist():
        ts, _, kind, side, _, acct, other, order_id, _, price, n, value, _ = r
        mine = acct == account
        delta = 0
        if kind in _QUIET and mine:
            quiet[kind] += 1
            continue
        if kind == _K.TRADE:
            delta = side * n if mine else -side * n
            what = (f"traded {_side(side if mine else -side)} {qty(n)} @ {px(price)} "
                    f"({'taker' if mine else 'maker'}, counterparty "
                    f"{_counterparty(other if mine else acct)})")
        elif kind == _K.POSITION_TRANSFERRED:
            # side +1: account bought from other; -1 (a seeded short): account sold to other
            delta = side * n if mine else -side * n
            what = (f"position transferred: {'bought' if delta > 0 else 'sold'} {qty(n)} @ "
                    f"{px(price)} ({'from' if delta > 0 else 'to'} "
                    f"{_party(other if mine else acct)})")
        elif kind in (_K.INSURANCE_TAKEOVER, _K.BACKSTOP_TAKEOVER) and mine:
            who = "insurance fund" if kind == _K.INSURANCE_TAKEOVER else "backstop vault"
            what = f"{who} took over {qty(n)} @ {px(price)} ({money(value)})"
        elif kind == _K.AUTO_DELEVERAGED:
            what = (f"ADL'd: {qty(n)} closed at the bankruptcy price {px(price)} "
                    f"({money(value)}) against counterparty {_counterparty(other)}" if mine else
                    f"ADL counterparty: {qty(n)} of its position closed at {px(price)} "
                    f"({money(value)}) against bankrupt account {acct}")
        elif kind == _K.MARGIN_CALL:
            what = (f"MARGIN CALL: {qty(n)} {'long' if side > 0 else 'short'} at mark "
                    f"{px(price)}, margin balance - MM = {money(value)}")
        elif kind == _K.LIQUIDATION_ORDER:
            what = (f"liquidation order {order_id}: {_side(side)} {qty(n)}, limit "
                    f"{px(price) if price else 'market'}")
        elif kind == _K.LIQUIDATION_FILLED:
            what = (f"liquidation order {order_id} filled {qty(n)}, last @ {px(price)} "
                    f"({money(value)})")
        elif kind == _K.LIQUIDATION_UNFILLED:
            what = (f"FILL FAILURE: liquidation order {order_id} left {qty(n)} unfilled "
                    f"({money(value)})")
        elif kind == _K.FUNDING_PAID:
            what = f"funding {'paid' if value >= 0 else 'received'} {money(abs(value))}"
        elif kind == _K.BAD_DEBT:
            what = f"bad debt written off: {money(value)}"
        elif kind in (_K.INSURANCE_PAID, _K.INSURANCE_RECEIVED):
            what = (f"insurance fund {'covered' if kind == _K.INSURANCE_PAID else 'received'} "
                    f"{money(value)}" + (f" (liquidation order {order_id})" if order_id else ""))
        elif kind in (_K.DEPOSITED, _K.WITHDREW):
            what = f"{'deposited' if kind == _K.DEPOSITED else 'withdrew'} {money(value)}"
        elif kind == _K.STOP_TRIGGERED:
            what = f"stop triggered at {px(price)}: {_side(side)} {qty(n)}"
        else:
            name = _K(kind).name.lower().replace("_", " ")
            what = (f"{name}: side {_side(side)}, price {px(price) if price else '-'}, "
                    f"qty {qty(n)}, value {value:,}")
        size += delta
        pos = f"  -> position {qty(size)}" if delta else ""
        lines.append(f"{ts / 1e9:9.3f} s  {what}{pos}")
    name = f"{_VENUE[account]} (account {account})" if account in _VENUE else \
        f"account {account}"
    head = [f"{name}: {len(rows):,} rows of the event log "
            f"({quiet[_QUIET[0]]:,} orders accepted, {quiet[_QUIET[1]]:,} cancelled, "
            f"not listed); position at the end: {qty(size)}"]
    if not len(rows):
        head = [f"{name}: no row of the event log names it"]
    more = len(lines) - MAX_LINES
    body = lines[:MAX_LINES] + ([f"... {more:,} more lines"] if more > 0 else [])
    return AccountStory(account, "\n".join(head + body), rows)


def account_story(result, account: int) -> str:
    return story(result, account).text


def notable_accounts(result) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The ``TOP`` accounts by liquidated notional (filled, taken over or ADL'd) and by
    notional closed against them as ADL counterparties: ``[(account, text)]`` each, the
    largest first, ties by account id."""
    meta = timeseries_meta(result.timeseries)
    quantum = float(Decimal(meta["quote_quantum"]))
    q = meta.get("quote_currency", "quote")
    ev = result.events_array
    out = []
    for mask, col, what in ((np.isin(ev["kind"], _LIQUIDATED), "account", "liquidated"),
                            (ev["kind"] == int(_K.AUTO_DELEVERAGED), "other",
                             "closed against it by ADL")):
        rows = ev[mask]
        who, inv = np.unique(rows[col].astype(np.int64), return_inverse=True)
        total = np.bincount(inv, weights=rows["value"].astype(np.float64)) if len(rows) \
            else np.zeros(0)
        order = np.lexsort((who, -total))[:TOP]
        out.append([(int(who[i]), f"{total[i] * quantum:,.0f} {q} {what}") for i in order])
    return out[0], out[1]
