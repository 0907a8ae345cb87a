"""Recorded market data: one reader per format, all normalised into one stream.

Readers (each streams its file: memory does not grow with the file's length):
  ``binance_ws``      Binance USD-M websocket captures (depth diffs with the sync rule,
                      bookTicker, trades, forceOrder, markPriceUpdate)
  ``tardis``          Tardis.dev normalized CSV (incremental_book_L2, book_snapshot_N,
                      trades, liquidations, derivative_ticker)
  ``binance_public``  Binance public data files (trades, aggTrades, mark/index klines,
                      bookDepth, metrics, liquidationSnapshot)
  ``hyperliquid``     Hyperliquid node fills (trades, liquidation fills, ADL fills)
``records`` holds the record dtype and kinds (the project's integer units; exchange and
local clocks kept apart), the exact edge conversions and ``DataError``; ``stream`` picks a
reader, merges files into one time-sorted stream (``read``) and summarises them
(``inspect``); ``book`` rebuilds an L2 book and cross-checks it with the top of book.

This room imports ``engine.venue`` (the instruments' tick and lot) and ``engine.config``
(``ConfigError``) only; ``engine.market.recorded`` turns its stream into participants.
"""
from .records import RECORD_DTYPE, DataError, Flag, Kind
from .stream import inspect, open_reader, read

__all__ = ["RECORD_DTYPE", "DataError", "Flag", "Kind", "inspect", "open_reader", "read"]
