"""Enumerations of the book's vocabulary, plus plain-int aliases for hot code.

Every enum is an ``IntEnum`` whose values fit an ``i1``/``u1`` column of the engine's
event log.  Hot loops compare against the module-level int aliases below (``BUY``,
``GTC`` ...) rather than enum attributes: on CPython 3.11 ``x == Side.BUY`` costs about
5x ``x == BUY`` (docs/performance.md).
"""
from __future__ import annotations

from enum import IntEnum


class Side(IntEnum):
    """Signed side: ``position += side * qty`` needs no branch."""

    BUY = 1
    SELL = -1


class OrderType(IntEnum):
    LIMIT = 1
    MARKET = 2


class TimeInForce(IntEnum):
    """GTC rests its remainder; IOC expires it; FOK fills completely or not at all."""

    GTC = 1
    IOC = 2
    FOK = 3


class SelfTradePrevention(IntEnum):
    """Binance USD-M ``selfTradePreventionMode`` semantics, keyed by account.

    The taker's mode decides.  NONE lets the two orders trade; EXPIRE_TAKER expires the
    taker's remainder; EXPIRE_MAKER cancels the resting order and the taker goes on
    matching; EXPIRE_BOTH does both.
    """

    NONE = 0
    EXPIRE_TAKER = 1
    EXPIRE_MAKER = 2
    EXPIRE_BOTH = 3


class OrderStatus(IntEnum):
    """Outcome of one ``submit``."""

    NEW = 1               # rests in full, nothing traded
    PARTIALLY_FILLED = 2  # traded some, the remainder rests
    FILLED = 3            # traded in full
    EXPIRED = 4           # accepted; traded some or nothing; the remainder expired
    REJECTED = 5          # refused at entry; the book did not change


class Reason(IntEnum):
    """Why an order was rejected, why its remainder expired, or why a request failed."""

    NONE = 0
    INVALID_SIDE = 1
    INVALID_QUANTITY = 2
    INVALID_PRICE = 3
    INVALID_ORDER_TYPE = 4
    INVALID_TIME_IN_FORCE = 5
    INVALID_STP_MODE = 6
    DUPLICATE_ORDER_ID = 7
    ORDER_NOT_RESTING = 8        # unknown id, or already filled, expired or cancelled
    POST_ONLY_WOULD_TAKE = 9
    FOK_NOT_FILLABLE = 10
    IOC_REMAINDER = 11           # IOC / market remainder found no liquidity within its limit
    SELF_TRADE_PREVENTED = 12
    MATCHING_HALTED = 13         # immediate orders refused while the book is in auction mode
    NOT_A_REDUCTION = 14         # reduce() asked for a quantity that is not smaller
    NOTHING_TO_CHANGE = 15       # replace() with the same price and quantity


# Plain-int aliases for hot paths (see module docstring).
BUY = 1
SELL = -1
LIMIT = 1
MARKET = 2
GTC = 1
IOC = 2
FOK = 3
STP_NONE = 0
STP_EXPIRE_TAKER = 1
STP_EXPIRE_MAKER = 2
STP_EXPIRE_BOTH = 3
