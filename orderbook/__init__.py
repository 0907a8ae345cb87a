"""The venue's limit order book: price-time matching, order types, self-trade prevention,
call-auction uncross and depth queries.

Knows nothing of accounts, margin, time or numpy; ``OrderBook()`` alone is testable.
"""
from .book import OrderBook
from .enums import (OrderStatus, OrderType, Reason, SelfTradePrevention, Side, TimeInForce)
from .results import AuctionResult, Fill, OrderInfo, Rejection, SubmitResult
from .units import from_units, to_units

__all__ = [
    "AuctionResult", "Fill", "OrderBook", "OrderInfo", "OrderStatus", "OrderType", "Reason",
    "Rejection", "SelfTradePrevention", "Side", "SubmitResult", "TimeInForce", "from_units",
    "to_units",
]
