"""Every code the event log's ``reason`` column carries, and what each kind of row fills.

The ``reason`` column has one code space per kind of row (``REASON_SPACE``):

``RejectReason``  why an order was refused, expired or cancelled: the book's own
                  ``orderbook.Reason`` (0-15), the venue's (100-109) and the breakers'
                  (110-129) -- three ranges of one space, so a code never means two things
``BreakerId``     which policy halted, reopened or tripped (``TradingHalted``,
                  ``TradingResumed``, ``BreakerTripped``)
``WithdrawalReason``  why a market maker pulled its quotes (``MakerWithdrew``)
``TimeInForce``   a liquidation order's time in force (``LiquidationOrder``)

``COLUMNS`` says, per kind, which columns a row fills and in which unit; every other column
of that row is 0 (tests/engine/venue/test_codes.py checks whole runs against it).  Units:
prices in ticks, quantities in lots, ``value`` in quote quantums unless the table says
otherwise, times in ns.
"""
from __future__ import annotations

from enum import IntEnum

from orderbook import Reason, TimeInForce

from .events import EventKind as K


class EngineReason(IntEnum):
    """The venue's own refusals (100-109)."""

    REDUCE_ONLY = 100           # a reduce-only order that would not reduce
    UNKNOWN_ACCOUNT = 101
    VENUE_DOWN = 102            # an order that reached the venue during an outage


class BreakerReason(IntEnum):
    """The breakers' refusals, expiries and deferrals (110-129).  An order whose price a
    policy moved (``Policy.moved``: to a band's edge, a corridor's limit) and whose
    remainder then expires unfilled is logged ``OrderExpired`` with the policy's code.
    An order a halted book refuses carries the book's own ``MATCHING_HALTED`` (13), so no
    code stands for "halted" here (112 is left free: it was defined and never logged)."""

    PRICE_BAND = 110            # limit price outside the band: rejected (or repriced, expired)
    MARKET_BOUND = 111          # market order capped at the max deviation from mark: expired
    LULD_BAND = 113             # LULD: an order may not trade outside the band
    VELOCITY = 114              # CME velocity logic: the triggering order is cancelled
    CDE_LIMIT = 115             # clipped at a Coinbase Derivatives limit: expired
    XETRA_VI = 116              # Xetra: an FOK leaving the corridor, or clipped: expired
    DCB = 117                   # clipped at a CME dynamic limit: expired
    LIQ_THROTTLED = 120         # liquidation deferred: per-second notional cap reached
    LIQ_PAUSED = 121            # liquidation deferred: trading is halted


class BreakerId(IntEnum):
    """Each policy's id (``Policy.CODE``) in halt, reopen and trip rows."""

    NONE = 0
    PRICE_BAND = 1
    LULD = 2
    CME_DCB = 3
    CME_VELOCITY = 4
    CDE_HOURLY = 5
    XETRA_VI = 6
    LIQ_THROTTLE = 7
    LIQ_PAUSE = 8


class WithdrawalReason(IntEnum):
    """Why a market maker withdrew (``MakerWithdrew.reason``)."""

    VOLATILITY = 1
    LOSS = 2
    ADL = 3
    OUTAGE = 4
    TOXIC_FLOW = 5      # absorbed more liquidation-order flow than it tolerates
    LIQUIDATED = 6      # its own account was margin-called: out for the rest of the run


#: One space of refusal codes: the book's, the venue's and the breakers' ranges.
REJECT_CODES = frozenset(int(c) for space in (Reason, EngineReason, BreakerReason)
                         for c in space)

#: The code space of each kind's ``reason`` column (kinds not listed leave it 0).
REASON_SPACE: dict[int, tuple] = {
    K.ORDER_REJECTED: (Reason, EngineReason, BreakerReason),
    K.ORDER_EXPIRED: (Reason, EngineReason, BreakerReason),
    K.ORDER_CANCELLED: (Reason,),
    K.LIQUIDATION_ORDER: (TimeInForce,),
    K.LIQUIDATION_DEFERRED: (BreakerReason,),
    K.BREAKER_TRIPPED: (BreakerId,),
    K.TRADING_HALTED: (BreakerId,),
    K.TRADING_RESUMED: (BreakerId,),
    K.MAKER_WITHDREW: (WithdrawalReason,),
}

_ORDER = {"side": "+1 buy / -1 sell", "inst": "instrument", "account": "the order's owner",
          "order_id": "the order"}

#: kind -> {column: meaning (unit)} for every column the row may fill besides ts and seq.
COLUMNS: dict[int, dict[str, str]] = {
    K.ORDER_ACCEPTED: {**_ORDER, "price": "limit (ticks)", "qty": "resting lots"},
    K.ORDER_REJECTED: {**_ORDER, "price": "limit as sent (ticks; 0 if none)",
                       "qty": "lots as sent", "reason": "RejectReason"},
    K.ORDER_EXPIRED: {**_ORDER, "price": "limit (ticks; 0 for a market order)",
                      "qty": "expired lots", "reason": "RejectReason"},
    K.ORDER_CANCELLED: {**_ORDER, "price": "limit (ticks)", "qty": "cancelled lots",
                        "reason": "orderbook.Reason of a self-trade cancel, else 0"},
    K.TRADE: {"side": "the taker's side", "inst": "instrument", "account": "taker",
              "other": "maker", "order_id": "taker's order", "other_id": "maker's order",
              "price": "ticks", "qty": "lots", "value": "notional (quantums)"},
    K.MARGIN_CALL: {"side": "the position's side", "inst": "instrument",
                    "account": "the account", "price": "mark (ticks)",
                    "qty": "position lots", "value": "margin balance - MM (quantums, < 0)"},
    K.LIQUIDATION_ORDER: {**_ORDER, "price": "limit (ticks; 0 = market)", "qty": "lots",
                          "reason": "TimeInForce"},
    K.LIQUIDATION_UNFILLED: {**_ORDER, "price": "limit (ticks; 0 = market)",
                             "qty": "unfilled lots",
                             "value": "unfilled notional at the mark (quantums)"},
    K.INSURANCE_TAKEOVER: {"side": "the position's side", "inst": "instrument",
                           "account": "the liquidated account", "other": "the fund",
                           "price": "bankruptcy price (ticks)", "qty": "lots",
                           "value": "notional (quantums)"},
    K.BACKSTOP_TAKEOVER: {"side": "the position's side", "inst": "instrument",
                          "account": "the liquidated account",
                          "other": "the backstop vault", "price": "mark (ticks)",
                          "qty": "lots", "value": "notional (quantums)"},
    K.AUTO_DELEVERAGED: {"side": "the counterparty's side in the close",
                         "inst": "instrument", "account": "the bankrupt account",
                         "other": "the ADL counterparty", "price": "bankruptcy price (ticks)",
                         "qty": "lots", "value": "notional (quantums)"},
    K.BAD_DEBT: {"inst": "instrument", "account": "the bankrupt account",
                 "value": "written off (quantums)"},
    K.INSURANCE_PAID: {"inst": "instrument", "account": "the account covered",
                       "value": "paid by the fund (quantums)"},
    K.INSURANCE_RECEIVED: {"inst": "instrument", "account": "the payer",
                           "order_id": "the liquidation order (a clearance fee), else 0",
                           "value": "paid to the fund (quantums)"},
    K.POSITION_TRANSFERRED: {"side": "+1: account bought from other; -1: account sold to "
                                     "other (a seeded short)", "inst": "instrument",
                             "account": "the account", "other": "its counterparty",
                             "price": "ticks", "qty": "lots"},
    K.DEPOSITED: {"account": "the account", "value": "quantums"},
    K.WITHDREW: {"account": "the account", "value": "quantums"},
    K.MARK_UPDATED: {"inst": "instrument", "price": "mark (ticks)"},
    K.LIQUIDATION_FILLED: {**_ORDER, "price": "last fill price (ticks)",
                           "qty": "filled lots", "value": "traded value (quantums)"},
    K.FUND_OFFLOAD_ORDER: {**_ORDER, "account": "the fund", "price": "limit (ticks)",
                           "qty": "lots"},
    K.COLLATERAL_SEIZED: {"account": "the account", "other": "the fund",
                          "qty": "asset units", "value": "haircut value of all seized "
                                                         "(quantums)"},
    K.BREAKER_TRIPPED: {"price": "the limit breached (ticks)",
                        "value": "the price beyond it (ticks) -- LULD: its transition "
                                 "(1 limit state, 2 pause, 3 extension)",
                        "reason": "BreakerId"},
    K.TRADING_HALTED: {"inst": "instrument", "price": "last trade (ticks; 0 if none)",
                       "reason": "BreakerId"},
    K.TRADING_RESUMED: {"inst": "instrument", "price": "uncross price (ticks; 0 if none)",
                        "qty": "uncross volume (lots)",
                        "value": "imbalance left (lots, not quantums)",
                        "reason": "BreakerId"},
    K.LIQUIDATION_DEFERRED: {"side": "the position's side", "inst": "instrument",
                             "account": "the account", "price": "mark (ticks)",
                             "qty": "position lots", "value": "notional (quantums)",
                             "reason": "BreakerReason"},
    K.MAKER_WITHDREW: {"account": "the maker", "reason": "WithdrawalReason"},
    K.STOP_TRIGGERED: {"side": "the stop order's side", "inst": "instrument",
                       "account": "the trader", "price": "trigger price (ticks)",
                       "qty": "lots"},
    K.VENUE_WENT_DOWN: {},
    K.VENUE_CAME_BACK: {},
    K.FUNDING_SETTLED: {"side": "the rate's sign (+1 longs pay)", "inst": "instrument",
                        "price": "settlement price: mark or oracle (ticks)",
                        "qty": "open interest (lots)",
                        "value": "the interval's rate (ppb, not quantums)"},
    K.FUNDING_PAID: {"side": "the position's side (0: the fund's rounding residue)",
                     "inst": "instrument", "account": "the payer or receiver",
                     "price": "settlement price (ticks)", "qty": "position lots",
                     "value": "paid (quantums; < 0 received)"},
    K.MATCHING_QUEUE_FORMED: {},
    K.MATCHING_QUEUE_CLEARED: {"qty": "the most messages waiting in the episode (a count)",
                               "value": "the longest wait in the episode (ns, not quantums)"},
}
