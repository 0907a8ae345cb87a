"""The one record type every reader of ``engine.data`` produces, and the edge conversions.

``RECORD_DTYPE`` rows, in the project's integer units (docs/design.md "Units"): prices in
ticks, quantities in lots, money in quote quantums of the symbol's instrument, times in ns
since the epoch (UTC).  Two clocks are kept apart: ``ts_exchange`` (the venue's event time)
and ``ts_local`` (when the recorder received it; equal to ``ts_exchange`` where the source
has only one clock, flagged ``ONE_CLOCK``).  The stream is sorted by ``ts_local``.

Columns: ts_local, ts_exchange (ns); kind (``Kind``); side (+1 buy/bid, -1 sell/ask, 0);
flags (``Flag`` bits); source (index of the file in the read); line (1-based line of the
file the row came from); price (ticks); qty (lots); value, update_id, prev_id (per kind).

Per kind (``side`` conventions per venue are normalised to these, each reader says how):
  BOOK         one L2 level set to ``qty`` lots at ``price`` (absolute; 0 deletes; deleting
               an unknown level is normal); side +1 bid / -1 ask; ``update_id`` = the
               message's final update id (Binance ``u``; 0 where the feed has none),
               ``prev_id`` its first (``U``).  ``CLEAR`` on the first row of a snapshot
               (drop the whole book first), ``SNAPSHOT`` on all its rows.  A message with no
               level (an empty diff) is one row with ``price`` 0 and ``EMPTY``.
  TOP          best bid (side +1) or ask (-1) as the venue's own top-of-book stream gives
               it, ``update_id`` its update id; a pair per message, the ask last.
  TRADE        side = the taker's side; ``update_id`` = the trade id (0 if none).
  LIQUIDATION  side = the *liquidation order's* side (-1: a long was liquidated); ``price``
               its limit price (Binance ``p``, bankruptcy-side) or, for a fill record
               (Hyperliquid), the fill price; ``qty`` the filled quantity; ``value`` the
               average fill price in ticks (Binance ``ap``; 0 unknown) or Hyperliquid's mark
               price; ``update_id`` the order's original quantity in lots (0 unknown).
  ADL          an auto-deleveraging fill (Hyperliquid): side = the deleveraged leg's side.
  MARK, INDEX  ``price`` the mark / index price in ticks (rounded half-even: venues publish
               them finer than the tick).
  FUNDING      ``value`` the funding rate in parts per billion (rounded half-even).
  OPEN_INTEREST ``qty`` lots; ``value`` its quote value in quantums (0 unknown).
  DEPTH_BAND   Binance ``bookDepth``: ``value`` the band in ppm of mid (signed: < 0 bids),
               ``qty`` the cumulative depth in lots, ``update_id`` its notional in quantums.
  STAT         Binance ``metrics`` ratios: ``update_id`` which (``STAT_NAMES``), ``value``
               the ratio in ppm.
  GAP          a break of the update-id chain: ``update_id`` the id the chain expected as
               ``pu``, ``prev_id`` the one it got; the book is void until resynchronised.

Every row of one exchange message shares ``ts_local``; ``LAST`` marks the last row of a
message, so a book is read only at message boundaries (docs/reference/data-formats.md
section 6 item 5).  ``DataError`` is the one error of bad recorded data: one line naming the
file, the line and what was expected.
"""
from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import IntEnum, IntFlag

import numpy as np

from ..config import ConfigError

RECORD_DTYPE = np.dtype([
    ("ts_local", "i8"), ("ts_exchange", "i8"), ("kind", "u1"), ("side", "i1"),
    ("flags", "u1"), ("source", "u2"), ("line", "u4"), ("price", "i8"), ("qty", "i8"),
    ("value", "i8"), ("update_id", "i8"), ("prev_id", "i8"),
])

#: Rows per batch a reader yields (a batch always ends at a message boundary).
BATCH_ROWS = 8192


class Kind(IntEnum):
    BOOK = 1
    TOP = 2
    TRADE = 3
    LIQUIDATION = 4
    ADL = 5
    MARK = 6
    INDEX = 7
    FUNDING = 8
    OPEN_INTEREST = 9
    DEPTH_BAND = 10
    STAT = 11
    GAP = 12


class Flag(IntFlag):
    LAST = 1          # last row of one exchange message
    SNAPSHOT = 2      # part of a full (or top-N) book snapshot
    CLEAR = 4         # drop the whole book before this row
    EMPTY = 8         # a message with no level (placeholder row)
    ONE_CLOCK = 16    # the source has one clock: ts_local is ts_exchange
    THROTTLED = 32    # a liquidation from a feed that publishes at most one per symbol a second
    BACKSTOP = 64     # a liquidation taken by a backstop vault, not filled in the book


STAT_NAMES = ("count_toptrader_long_short_ratio", "sum_toptrader_long_short_ratio",
              "count_long_short_ratio", "sum_taker_long_short_vol_ratio")

#: Timestamps outside [2010-01-01, 2100-01-01) in ns are taken for a wrong unit.
EPOCH_NS_MIN, EPOCH_NS_MAX = 1_262_304_000 * 10**9, 4_102_444_800 * 10**9


class DataError(ConfigError):
    """Bad recorded data: the message is one line, ``FILE: line N: expected ..., got ...``
    (a ``ConfigError``, so the CLI reports it the same way: exit 2)."""


def fail(path, line: int, expected: str, got) -> DataError:
    text = repr(got) if not isinstance(got, str) or len(got) <= 60 else repr(got[:60] + "...")
    return DataError(f"{path}: line {line}: expected {expected}, got {text}")


class Units:
    """Exact decimal text -> integer units for one instrument (tick, lot, quote quantum).

    ``ticks``/``lots``/``quanta`` refuse a value that is not a whole number of the step
    (wrong units: a price off the tick, a quantity off the lot); ``ticks_rounded`` rounds
    half-even (for mark and index prices, which venues publish finer than the tick).
    Steps that are powers of ten times an integer go through string arithmetic (no Decimal
    per value on the hot path), and the texts already seen are remembered (``tick_cache``,
    ``lot_cache``, at most ``CACHE`` each, then emptied: a book repeats its prices and
    sizes, so most lookups are one dict hit).  O(len(text))."""

    __slots__ = ("instrument", "symbol", "tick", "lot", "quantum", "key", "tick_cache",
                 "lot_cache", "_t", "_l", "_q")

    def __init__(self, instrument):
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.key = None             # "venue:SYMBOL" of engine.venue.instruments, if bundled
        self.tick, self.lot = instrument.tick_size, instrument.lot_size
        self.quantum = instrument.quote_quantum
        self._t, self._l, self._q = (_step(self.tick), _step(self.lot), _step(self.quantum))
        self.tick_cache: dict[str, int] = {}
        self.lot_cache: dict[str, int] = {}

    def ticks(self, text: str) -> int:
        v = self.tick_cache.get(text)
        if v is None:
            v = _scaled(text, *self._t, "tick", self.tick)
            _remember(self.tick_cache, text, v)
        return v

    def lots(self, text: str) -> int:
        v = self.lot_cache.get(text)
        if v is None:
            v = _scaled(text, *self._l, "lot", self.lot)
            _remember(self.lot_cache, text, v)
        return v

    def quanta(self, text: str) -> int:
        """Quote money -> quantums, rounded half-even (notional figures are published with
        more digits than the quantum keeps)."""
        return _not_negative(_rounded(text, self.quantum))

    def ticks_rounded(self, text: str) -> int:
        return _not_negative(_rounded(text, self.tick))

    def price_ticks(self, text: str) -> int:
        """A mark or index price: ``ticks_rounded``, at least one tick (the venue's mark
        and the replay's index are prices, never 0)."""
        v = _rounded(text, self.tick)
        if v < 1:
            raise ValueError(f"a price of at least one tick ({self.tick})")
        return v

    def lots_rounded(self, text: str) -> int:
        return _not_negative(_rounded(text, self.lot))


def _not_negative(value: int) -> int:
    """Prices, sizes and notionals are >= 0 (a negative one is corrupt data, which the
    replay would otherwise meet as a negative index or book price)."""
    if value < 0:
        raise ValueError("a number >= 0 (a price, size or notional)")
    return value


CACHE = 1 << 16


def _remember(cache: dict, text: str, value: int) -> None:
    if len(cache) >= CACHE:
        cache.clear()
    cache[text] = value


def _step(step: Decimal) -> tuple[int, int]:
    """``step`` = m x 10**-k: (k, m)."""
    sign, digits, exp = step.as_tuple()
    k = max(0, -exp)
    return k, int(step.scaleb(k))


def _scaled(text: str, k: int, m: int, what: str, step) -> int:
    """``text`` in steps of ``m`` x 10**-k, exactly; >= 0 (a price or a size)."""
    if not isinstance(text, str):       # a JSON number or array where text was expected
        raise ValueError("a decimal number as text")
    whole, _, frac = text.partition(".")
    if len(frac) > k:
        if frac[k:].strip("0"):
            raise ValueError(f"a multiple of the {what} {step} (wrong units?)")
        frac = frac[:k]
    try:
        n = int(whole + frac.ljust(k, "0"))
    except ValueError:
        raise ValueError("a decimal number") from None
    q, r = divmod(n, m)
    if r:
        raise ValueError(f"a multiple of the {what} {step} (wrong units?)")
    return _not_negative(q)


def _rounded(text: str, step: Decimal) -> int:
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError("a decimal number") from None
    if not d.is_finite():
        raise ValueError("a finite decimal number")
    return int((d / step).to_integral_value(ROUND_HALF_EVEN))


def ppb(text: str) -> int:
    """A rate (fraction of 1) in parts per billion, rounded half-even; '' is 0."""
    return _rounded(text, Decimal("1e-9")) if text else 0


def ppm(text: str) -> int:
    return _rounded(text, Decimal("1e-6")) if text else 0


def check_epoch(ns: int, unit: str) -> int:
    """``ns`` if it is a time in [2010, 2100), else ValueError naming the unit expected."""
    if not EPOCH_NS_MIN <= ns < EPOCH_NS_MAX:
        raise ValueError(f"a time in {unit} since the epoch (2010-2100; wrong units?)")
    return ns


def lines(path):
    """``(line number, text)`` of a recorded file, streamed: plain text, ``.gz``, ``.zip``
    (its one member; Binance's ``.CHECKSUM`` siblings are not read) or ``.lz4`` (needs the
    ``lz4`` package).  A truncated or corrupt archive is a ``DataError`` naming the line
    at which it broke.  Memory O(one line)."""
    name = str(path)
    if name.endswith(".zip"):
        try:
            archive = zipfile.ZipFile(name)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{name}: line 1: expected a zip archive, got a corrupt one "
                            f"({exc})") from None
        members = [m for m in archive.namelist() if not m.endswith(".CHECKSUM")]
        if len(members) != 1:
            raise DataError(f"{name}: line 1: expected a zip archive of one CSV, got "
                            f"{len(members)} members")
        raw = archive.open(members[0])
    elif name.endswith(".gz"):
        raw = gzip.open(name, "rb")
    elif name.endswith(".lz4"):
        try:
            import lz4.frame
        except ImportError:
            raise DataError(f"{name}: line 1: expected an .lz4 reader: pip install lz4, or "
                            f"decompress the file first (lz4 -d)") from None
        raw = lz4.frame.open(name, "rb")
    else:
        raw = open(name, "rb")
    n = 0
    with raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            for n, line in enumerate(text, 1):
                yield n, line
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise DataError(f"{name}: line {n + 1}: expected the rest of a complete "
                            f"compressed file, got a truncated or corrupt one ({exc})") from None
        except UnicodeDecodeError:
            raise DataError(f"{name}: line {n + 1}: expected UTF-8 text, got binary "
                            f"bytes") from None


class Reader:
    """What every reader counts while ``batches()`` streams its file: ``messages`` by the
    feed's own type names, ``gaps``, ``resyncs``, ``repairs`` (every row dropped or fixed,
    by cause), ``notes`` (one line each), the first and last local time; ``units`` and
    ``symbol`` once known (``instrument_for``)."""

    format = "?"

    def __init__(self, path, source: int = 0, units=None):
        self.path, self.source, self.units = str(path), source, units
        self.symbol = units.symbol if units is not None else None
        self.messages: Counter = Counter()
        self.gaps = self.resyncs = 0
        self.repairs: Counter = Counter()
        self.notes: list[str] = []
        self.first_ts = self.last_ts = None

    def seen(self, ts_local: int) -> None:
        if self.first_ts is None:
            self.first_ts = ts_local
        self.last_ts = ts_local


class Builder:
    """Rows appended as tuples, flushed as ``RECORD_DTYPE`` arrays at message boundaries
    (``end``) once ``BATCH_ROWS`` are held, so memory stays O(batch).  Tuples, not numpy
    scalars, on the hot path: one C-level ``np.array`` per batch.

    It also checks that ``ts_local`` never goes back (``last_ts``): an unsorted file is
    a ``DataError`` at its line."""

    __slots__ = ("rows", "source", "path", "last_ts")

    def __init__(self, source: int, path):
        self.rows: list[tuple] = []
        self.source = source
        self.path = path
        self.last_ts = -1

    def time(self, ts_local: int, line: int) -> None:
        if ts_local < self.last_ts:
            raise fail(self.path, line, f"times in order (local time >= {self.last_ts} ns, "
                                        f"the previous line's)", ts_local)
        self.last_ts = ts_local

    def add(self, ts_local, ts_exchange, kind, side, flags, line, price=0, qty=0, value=0,
            update_id=0, prev_id=0) -> None:
        self.rows.append((ts_local, ts_exchange, kind, side, flags, self.source, line, price,
                          qty, value, update_id, prev_id))

    def end(self) -> None:
        """Close a message: flag its last row ``LAST``."""
        rows = self.rows
        if rows:
            r = rows[-1]
            if not r[4] & 1:
                rows[-1] = r[:4] + (r[4] | 1,) + r[5:]

    def due(self):
        """Close the message and return a batch if ``BATCH_ROWS`` are held, else None."""
        self.end()
        return self.flush() if self.full() else None

    def full(self) -> bool:
        """Whether ``BATCH_ROWS`` rows are held (a reader then yields ``flush()``)."""
        return len(self.rows) >= BATCH_ROWS

    def flush(self):
        if not self.rows:
            return None
        try:
            out = np.array(self.rows, dtype=RECORD_DTYPE)
        except (OverflowError, TypeError, ValueError):
            raise self._unstorable() from None
        self.rows = []
        return out

    def _unstorable(self) -> DataError:
        """The ``DataError`` of the first held row with a value its ``RECORD_DTYPE`` column
        cannot hold (a price of 1e30 is beyond int64 ticks): the slow path of a failed
        flush only, O(rows held)."""
        for row in self.rows:
            for (name, (dt, _)), v in zip(RECORD_DTYPE.fields.items(), row):
                info = np.iinfo(dt)
                if not isinstance(v, int) or not info.min <= v <= info.max:
                    return fail(self.path, row[6], f"a {name} that fits the record's {dt.name} "
                                f"column ({info.min} to {info.max} in its units)", v)
        return fail(self.path, self.rows[0][6], "values the record can hold", self.rows[0])


def instrument_for(venue: str, symbol: str, path, line: int):
    """The bundled instrument of ``venue:symbol`` (``engine.venue.instruments``) as
    ``Units``; an unknown symbol is a ``DataError`` (its tick and lot are not known, so
    nothing could be converted exactly)."""
    from ..venue.instruments import BUNDLED_INSTRUMENTS
    key = f"{venue}:{symbol.upper()}"
    make = BUNDLED_INSTRUMENTS.get(key)
    if make is None:
        raise fail(path, line, f"a symbol with a known tick and lot "
                               f"({', '.join(sorted(BUNDLED_INSTRUMENTS))})", key)
    units = Units(make())
    units.key = key
    return units
