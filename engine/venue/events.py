"""The event log: everything that happens, as rows of one fixed integer dtype.

Rows are packed into one ``bytearray`` as they happen (``ROW``, the dtype's exact byte
layout) and viewed as a numpy structured array on ``to_array()``.  ``seq`` is the row
number, so the log is totally ordered; with the same seed and inputs the array is
byte-identical (``digest()`` hashes it).

Columns (all integers; units in the names of the engine's quantities):
  ts        event time, ns
  seq       row number
  kind      ``EventKind``
  side      +1 buy / -1 sell / 0
  inst      instrument index in the exchange
  account   the account the event is about (0 = none / the venue)
  other     the counterparty account (maker of a trade, ADL counterparty, 0 = none)
  order_id  the order the event is about
  other_id  the counterparty order (the maker of a trade)
  price     ticks
  qty       lots
  value     quote quantums (money moved, shortfall, notional: see each kind)
  reason    ``orderbook.Reason`` or an engine reason code
"""
from __future__ import annotations

import hashlib
import struct
from enum import IntEnum

import numpy as np

EVENT_DTYPE = np.dtype([
    ("ts", "i8"), ("seq", "u8"), ("kind", "u1"), ("side", "i1"), ("inst", "u2"),
    ("account", "u4"), ("other", "u4"), ("order_id", "u8"), ("other_id", "u8"),
    ("price", "i8"), ("qty", "i8"), ("value", "i8"), ("reason", "u2"),
])


class EventKind(IntEnum):
    """Past-tense kinds.  Values are stable: they are written into saved logs."""

    ORDER_ACCEPTED = 1
    ORDER_REJECTED = 2
    ORDER_EXPIRED = 3          # IOC/market remainder, FOK not fillable (qty = expired lots)
    ORDER_CANCELLED = 4
    TRADE = 5                  # account = taker, other = maker, value = notional in quantums
    MARGIN_CALL = 6            # account fell below maintenance; value = margin balance - MM
    LIQUIDATION_ORDER = 7      # a liquidation order sent to the book (price = its limit)
    LIQUIDATION_UNFILLED = 8   # fill failure: qty = unfilled lots, value = unfilled notional
    INSURANCE_TAKEOVER = 9     # the fund took a remainder at the bankruptcy price
    BACKSTOP_TAKEOVER = 10     # the backstop vault took the account over
    AUTO_DELEVERAGED = 11      # account = bankrupt side, other = ADL counterparty
    BAD_DEBT = 12              # value = loss nobody could absorb
    INSURANCE_PAID = 13        # value = quantums the fund paid out (shortfall cover)
    INSURANCE_RECEIVED = 14    # value = quantums paid in (clearance fee, surplus)
    POSITION_TRANSFERRED = 15  # off-book transfer (seeding): side +1 account bought, -1 sold
    DEPOSITED = 16
    WITHDREW = 17
    MARK_UPDATED = 18
    LIQUIDATION_FILLED = 19    # a liquidation order's filled part: qty lots, value notional
    FUND_OFFLOAD_ORDER = 20    # the fund re-offering a taken-over position
    COLLATERAL_SEIZED = 21     # collateral moved to the fund to cover a negative wallet
    BREAKER_TRIPPED = 22
    TRADING_HALTED = 23
    TRADING_RESUMED = 24
    LIQUIDATION_DEFERRED = 25
    MAKER_WITHDREW = 26
    STOP_TRIGGERED = 27
    VENUE_WENT_DOWN = 28       # an outage began: no orders, cancels, matching or liquidations
    VENUE_CAME_BACK = 29       # the outage ended
    FUNDING_SETTLED = 30       # a funding instant: price = settlement price, value = rate (ppb)
    FUNDING_PAID = 31          # one funding payment: value = quantums paid (< 0: received)
    MATCHING_QUEUE_FORMED = 32   # a participant's message had to wait (engine.venue.capacity)
    MATCHING_QUEUE_CLEARED = 33  # the last waiting message was served: qty most waiting, value ns

    # Past-tense aliases of seven noun kinds (same values; the names above are the ones
    # saved logs store, so they stay the canonical ones).
    MARGIN_CALLED = 6
    LIQUIDATION_ORDER_SENT = 7
    LIQUIDATION_FILL_FAILED = 8
    FUND_TOOK_OVER = 9
    BACKSTOP_TOOK_OVER = 10
    BAD_DEBT_WRITTEN_OFF = 12
    FUND_OFFLOAD_SENT = 20


#: One log row packed exactly as ``EVENT_DTYPE`` laid out little-endian with no padding
#: (``seq`` is written as 0 and filled in from the row number by ``to_array``).
ROW = struct.Struct("<qQBbHIIQQqqqH")
#: An order accepted/cancelled row: ``ROW`` with the columns such a row leaves 0 (seq,
#: other, other_id, value, reason) written as pad bytes, so 8 arguments instead of 13 on
#: the hottest logging path (makers' quotes): ``(ts, kind, side, inst, account, order_id,
#: price, qty)``.  Same bytes as ``ROW`` with those zeros (tests/engine/venue/test_event_log.py).
ORDER_ROW = struct.Struct("<q8xBbHI4xQ8xqq10x")
#: The part of an ``ORDER_ROW`` that the rows of one message share (``ts``, ``kind``, ``side``,
#: ``inst``, ``account`` and the zero columns between): packed once per message and copied
#: into each row as 28 bytes (``headed_rows``), so a row converts 3 ints instead of 8.
ORDER_HEAD = struct.Struct("<q8xBbHI4x")
_HEADED_FORMAT = "28sQ8xqq10x"      # head, order_id, price, qty: an ORDER_ROW
_BATCH = 64                    # rows per struct call in ``headed_rows`` (bounds its cache)
_batch_structs: dict[int, struct.Struct] = {}
_LE_DTYPE = EVENT_DTYPE.newbyteorder("<")
_KIND_OFFSET = EVENT_DTYPE.fields["kind"][1]
assert ROW.size == EVENT_DTYPE.itemsize, "ROW must mirror EVENT_DTYPE field by field"
assert ORDER_ROW.size == ROW.size
assert ORDER_HEAD.size + struct.calcsize("<Q8xqq10x") == ROW.size


class EventLog:
    """Append-only log of packed rows; ``to_array()`` gives the numpy structured array.

    Each row is 70 bytes in one ``bytearray`` (``ROW.pack``): no Python object per event,
    and ``to_array`` is one ``frombuffer`` + copy (figures: docs/performance.md).
    Out-of-range values (a negative id,
    an amount beyond int64) raise ``struct.error`` when appended, not later.

    ``append`` takes keywords and suits rare events.  Hot paths (order accepted/cancelled,
    trades) do ``buffer += ROW.pack(ts, 0, kind, ...)`` themselves, which skips a Python
    call with keyword parsing per event.
    Complexity: O(1) amortised per event; O(n) for ``to_array`` and ``rows``.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def buffer(self) -> bytearray:
        """The packed rows, for hot paths (see the class docstring)."""
        return self._buf

    def append(self, ts: int, kind: int, side: int = 0, inst: int = 0, account: int = 0,
               other: int = 0, order_id: int = 0, other_id: int = 0, price: int = 0,
               qty: int = 0, value: int = 0, reason: int = 0) -> None:
        self._buf += _pack(ts, 0, kind, side, inst, account, other, order_id, other_id,
                           price, qty, value, reason)

    def __len__(self) -> int:
        return len(self._buf) // _SIZE

    def kinds(self, start: int = 0) -> list[int]:
        """The kind of each row from row ``start`` on (cheap: one strided byte slice)."""
        return list(self._buf[start * _SIZE + _KIND_OFFSET::_SIZE])

    def rows(self, kind: int | None = None, start: int = 0) -> list[tuple]:
        """Rows from ``start`` on as 13-tuples in ``EVENT_DTYPE`` order, optionally of one
        kind."""
        out = [(r[0], i, *r[2:]) for i, r in
               enumerate(ROW.iter_unpack(memoryview(self._buf)[start * _SIZE:]), start)]
        return out if kind is None else [r for r in out if r[2] == kind]

    def trades_since(self, cursor: int) -> tuple[list, int]:
        """(ts, price, qty) of the trades logged at rows >= ``cursor``, and the new cursor.
        A reader keeps its own cursor, so each trade is read once.  O(new rows)."""
        end = len(self)
        if end == cursor:
            return [], end
        new = self.to_array(cursor)
        new = new[new["kind"] == EventKind.TRADE]
        return list(zip(new["ts"].tolist(), new["price"].tolist(), new["qty"].tolist())), end

    def to_array(self, start: int = 0, copy: bool = True) -> np.ndarray:
        """Rows from ``start`` on as an ``EVENT_DTYPE`` array, ``seq`` filled in.

        ``copy=False`` (whole log only) returns a view of the log's own bytes, for a run
        that has ended: no copy (a 7M-row copy costs ~1 s, mostly page faults), but while
        the view lives the log cannot grow -- ``append`` raises ``BufferError``.
        """
        if not copy:
            if start:
                raise ValueError("to_array: copy=False views the whole log (start=0)")
            arr = np.frombuffer(self._buf, dtype=_LE_DTYPE)
            arr["seq"] = np.arange(len(arr), dtype=np.uint64)
            arr.flags.writeable = False
            return arr
        with memoryview(self._buf) as mv:
            raw = np.frombuffer(mv[start * _SIZE:], dtype=np.uint8).copy()
        arr = raw.view(_LE_DTYPE)
        arr["seq"] = np.arange(start, start + len(arr), dtype=np.uint64)
        return arr

    def digest(self) -> str:
        """SHA-256 of the log's bytes: equal logs give equal digests."""
        return hashlib.sha256(self.to_array().tobytes()).hexdigest()


def headed_rows(flat: list) -> bytes:
    """``ORDER_ROW`` rows from ``flat`` = ``[head, order_id, price, qty] x n`` (``head``
    from ``ORDER_HEAD.pack(ts, kind, side, inst, account)``), in one ``struct`` call per 64
    rows: the same bytes as ``ORDER_ROW.pack`` row by row (tests/engine/venue/
    test_event_log.py), at ~60% of ``order_rows``' former cost per row
    (docs/performance.md).  O(rows)."""
    n = len(flat) >> 2
    if n > _BATCH:
        step = 4 * _BATCH
        return b"".join(headed_rows(flat[k:k + step]) for k in range(0, len(flat), step))
    packer = _batch_structs.get(n)
    if packer is None:
        packer = _batch_structs[n] = struct.Struct("<" + _HEADED_FORMAT * n)
    return packer.pack(*flat)


def order_rows(ts: int, kind: int, side: int, inst: int, account: int, order_ids, prices,
               qtys) -> bytes:
    """``ORDER_ROW`` rows for several orders of one account, side and instant
    (``headed_rows`` with one head): the same bytes as packing them one at a time (a market
    maker's mass quote logs ~40 at once).  ``order_ids``, ``prices`` and ``qtys`` are
    equal-length sequences.  O(rows)."""
    flat = [ORDER_HEAD.pack(ts, kind, side, inst, account), 0, 0, 0] * len(prices)
    flat[1::4] = order_ids
    flat[2::4] = prices
    flat[3::4] = qtys
    return headed_rows(flat)


_pack = ROW.pack
_SIZE = ROW.size
