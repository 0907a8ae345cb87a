"""Binance USD-M websocket captures: one message per line, as collectors write them.

Line formats: ``<local receive time, ns> <json>`` (hftbacktest's collector; the vendored
``replays/data`` capture) and cryptofeed's ``<local time, decimal s>: <json>``.  The json is
the combined-stream wrapper ``{"stream": .., "data": {..}}`` or the bare event; a REST depth
snapshot is ``{"lastUpdateId": .., "bids": .., "asks": ..}`` (no ``e``).

Events (docs/reference/data-formats.md section 2.9-2.11; Binance "Diff. Book Depth Streams",
"How to manage a local order book correctly"):
  depthUpdate      -> BOOK rows, after Binance's sync rule (below)
  bookTicker       -> TOP rows (bid ``b``/``B``, ask ``a``/``A``, update id ``u``)
  trade, aggTrade  -> TRADE; ``m`` = the buyer is the maker, so the taker sold: side -1
  forceOrder       -> LIQUIDATION (``o.S`` is the liquidation order's side: SELL = a long was
                      liquidated; price ``o.p``, filled ``o.z`` -- ``l``, the last fill, may be
                      below it --, average ``o.ap``, original ``o.q``), flagged THROTTLED:
                      Binance pushes at most one per symbol per 1000 ms
  markPriceUpdate  -> MARK (``p``), INDEX (``i``), FUNDING (``r``, ppb)
Exchange time is ``E`` (``o.T`` for a forceOrder, ``T`` for trades), in ms.

The sync rule, per file (streaming; state O(1) but the pre-snapshot buffer):
  diffs that arrive before a snapshot are buffered (at most ``BUFFER`` messages; older ones
  are dropped and counted); at a snapshot with ``lastUpdateId`` L the book is cleared and
  set, buffered diffs with ``u < L`` are dropped (counted as ``stale``), the first applied
  diff must have ``U <= L <= u``, and every later diff's ``pu`` must equal the previous
  ``u``.  A break is a gap: a GAP row, the diff is dropped and so is every diff after it
  until the next snapshot (a resync), which is counted; without one the book stops there.
  A buffered diff applied at a snapshot gets the snapshot's local time (it could not be
  applied earlier), so the stream stays sorted.
"""
from __future__ import annotations

import json
from collections import deque
from decimal import Decimal, InvalidOperation

from .records import (Builder, DataError, Flag, Kind, Reader, check_epoch, fail,
                      instrument_for, lines, ppb)

BUFFER = 10_000
MS = 1_000_000

_LAST, _SNAP, _CLEAR, _EMPTY, _THROTTLED = (int(Flag.LAST), int(Flag.SNAPSHOT), int(Flag.CLEAR),
                                            int(Flag.EMPTY), int(Flag.THROTTLED))
_BOOK, _TOP, _TRADE, _LIQ, _GAP = (int(Kind.BOOK), int(Kind.TOP), int(Kind.TRADE),
                                   int(Kind.LIQUIDATION), int(Kind.GAP))


def _ns(ms) -> int:
    """An exchange time in ms (``E``, ``T``) -> ns; anything but an integer is bad data."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise ValueError("an exchange time in ms (an integer)")
    return ms * MS


def sniff(first_line: str) -> bool:
    """Whether a file's first line looks like a websocket capture line."""
    head, sep, rest = first_line.partition(" ")
    return bool(sep) and rest.lstrip().startswith("{") and \
        head.rstrip(":").replace(".", "", 1).isdigit()


class BinanceWsReader(Reader):
    """Reads one capture file (``batches()``); counts what it saw (``messages`` by the
    feed's own event names, ``snapshot`` for REST snapshots; ``gaps``, ``resyncs``,
    ``repairs``)."""

    format = "binance-ws"

    def __init__(self, path, source: int = 0, units=None):
        super().__init__(path, source, units)
        # the sync state
        self._snapshot_id = None        # L of the snapshot being synced to, else None
        self._last_u = None             # u of the last applied diff when synced
        self._buffer: deque = deque()
        self._snapshots = 0
        self._held = None               # a snapshot read before any symbol was named

    # --------------------------------------------------------------- parsing
    def _split(self, n: int, line: str):
        head, sep, rest = line.partition(" ")
        if not sep:
            raise fail(self.path, n, "'<local time> <json>'", line.strip())
        try:
            if head.endswith(":"):          # cryptofeed: decimal seconds
                ts = int(Decimal(head[:-1]) * 1_000_000_000)
            else:
                ts = int(head)
            check_epoch(ts, "ns (or cryptofeed's seconds)")
        except (ValueError, InvalidOperation) as exc:
            raise fail(self.path, n, f"a local receive time first ({exc})" if "units" in
                       str(exc) else "a local receive time first (ns since the epoch)",
                       head) from None
        try:
            msg = json.loads(rest)
        except ValueError:
            raise fail(self.path, n, "a JSON message after the time", rest.strip()) from None
        data = msg.get("data", msg) if isinstance(msg, dict) else None
        if not isinstance(data, dict):
            raise fail(self.path, n, "a JSON object (or a stream wrapper whose 'data' is one)",
                       rest.strip())
        return ts, data

    def _units(self, symbol, n):
        if self.units is None:
            self.units = instrument_for("binance", symbol, self.path, n)
            self.symbol = self.units.symbol
        elif symbol and symbol.upper() != self.symbol:
            raise fail(self.path, n, f"one symbol per file ({self.symbol})", symbol)
        return self.units

    def batches(self):
        out = Builder(self.source, self.path)
        for n, line in lines(self.path):
            if not line.strip():
                continue
            ts, msg = self._split(n, line)
            out.time(ts, n)
            self.seen(ts)
            try:
                self._message(out, n, ts, msg)
            except DataError:
                raise
            except (KeyError, TypeError, IndexError, AttributeError) as exc:
                raise fail(self.path, n, f"the fields of a Binance "
                                         f"{msg.get('e', 'depth snapshot')} message "
                                         f"(missing or bad {exc})", line.strip()) from None
            except ValueError as exc:
                raise fail(self.path, n, str(exc), line.strip()) from None
            batch = out.due()
            if batch is not None:
                yield batch
        if self._buffer:
            self.repairs["diffs_without_snapshot"] += len(self._buffer)
            self.notes.append(f"{len(self._buffer)} diffs after line "
                              f"{self._buffer[0][1] - 1} never met a snapshot: the book "
                              f"stops there")
        batch = out.flush()
        if batch is not None:
            yield batch

    def _message(self, out, n, ts, d):
        e = d.get("e")
        if e is None and "lastUpdateId" in d:
            self.messages["snapshot"] += 1
            if self.units is None:          # no symbol named yet: held until one is
                self._held = (n, ts, d)
            else:
                self._snapshot(out, n, ts, d)
            return
        if not isinstance(e, str):
            raise ValueError("a Binance event ('e', a name) or a depth snapshot "
                             "('lastUpdateId')")
        if self._held is not None:
            symbol = d.get("s") or d.get("o", {}).get("s")
            if symbol:
                self._units(symbol, n)
                hn, hts, hd = self._held
                self._held = None
                self._snapshot(out, hn, hts, hd)
        self.messages[e] += 1
        if e == "depthUpdate":
            u = self._units(d["s"], n)
            if self._snapshot_id is None:
                self._buffer.append((ts, n, d))
                if len(self._buffer) > BUFFER:
                    self._buffer.popleft()
                    self.repairs["buffer_overflow"] += 1
                return
            self._diff(out, n, ts, d, u)
        elif e == "bookTicker":
            u = self._units(d["s"], n)
            # Its transaction time (the last update it shows), comparable with a trade's T;
            # the event time E when a capture lacks it.
            te = _ns(d.get("T", d.get("E", 0)))
            uid = int(d["u"])
            out.add(ts, te, _TOP, 1, 0, n, u.ticks(d["b"]), u.lots(d["B"]), 0, uid)
            out.add(ts, te, _TOP, -1, 0, n, u.ticks(d["a"]), u.lots(d["A"]), 0, uid)
        elif e in ("trade", "aggTrade"):
            u = self._units(d["s"], n)
            if d.get("X", "MARKET") not in ("MARKET", "LIQUIDATION"):
                # INSURANCE_FUND / ADL / NA prints are off-book (data-formats.md 1.2)
                self.repairs[f"trade_{d['X']}_skipped"] += 1
                return
            out.add(ts, _ns(d["T"]), _TRADE, -1 if d["m"] else 1, 0, n, u.ticks(d["p"]),
                    u.lots(d["q"]), 0, int(d.get("t", d.get("a", 0))))
        elif e == "forceOrder":
            o = d["o"]
            u = self._units(o["s"], n)
            out.add(ts, _ns(o["T"]), _LIQ, 1 if o["S"] == "BUY" else -1, _THROTTLED, n,
                    u.ticks(o["p"]), u.lots(o["z"]), u.ticks_rounded(o.get("ap") or "0"),
                    u.lots(o["q"]))
        elif e == "markPriceUpdate":
            u = self._units(d["s"], n)
            te = _ns(d["E"])
            out.add(ts, te, int(Kind.MARK), 0, 0, n, u.price_ticks(d["p"]))
            if d.get("i"):
                out.add(ts, te, int(Kind.INDEX), 0, 0, n, u.price_ticks(d["i"]))
            if d.get("r"):
                out.add(ts, te, int(Kind.FUNDING), 0, 0, n, 0, 0, ppb(d["r"]))
        else:
            self.repairs[f"{e}_ignored"] += 1

    def _snapshot(self, out, n, ts, d):
        if self._snapshots or self.gaps:
            self.resyncs += 1
        self._snapshots += 1
        u = self.units
        L = int(d["lastUpdateId"])
        te = _ns(d.get("E", 0))
        bids = [(u.ticks(p), u.lots(q)) for p, q in d["bids"]]
        asks = [(u.ticks(p), u.lots(q)) for p, q in d["asks"]]
        bb = max((p for p, q in bids if q), default=None)
        ba = min((p for p, q in asks if q), default=None)
        if bb is not None and ba is not None and bb >= ba:
            raise fail(self.path, n, "an uncrossed snapshot (best bid < best ask)",
                       f"best bid {bb * u.tick} >= best ask {ba * u.tick}")
        flags = _SNAP | _CLEAR
        for side, levels in ((1, bids), (-1, asks)):
            for p, q in levels:
                out.add(ts, te, _BOOK, side, flags, n, p, q, 0, L, L)
                flags = _SNAP
        if flags & _CLEAR:
            out.add(ts, te, _BOOK, 0, _SNAP | _CLEAR | _EMPTY, n, 0, 0, 0, L, L)
        out.end()
        self._snapshot_id, self._last_u = L, None
        buffered, self._buffer = self._buffer, deque()
        for _, bn, bd in buffered:
            if self._snapshot_id is None:           # a gap among the buffered diffs
                self._buffer.append((ts, bn, bd))
                continue
            self._diff(out, bn, ts, bd, u)
            out.end()

    def _diff(self, out, n, ts, d, u):
        U, last, pu = int(d["U"]), int(d["u"]), int(d.get("pu", -1))
        L = self._snapshot_id
        if self._last_u is None:                    # the first diff after the snapshot
            if last < L:
                self.repairs["stale_diffs_dropped"] += 1
                return
            if not U <= L:
                self._gap(out, n, ts, d, L, pu, "the first diff after the snapshot starts "
                                                "after its lastUpdateId")
                return
        elif pu != self._last_u:
            self._gap(out, n, ts, d, self._last_u, pu, "pu != the previous u")
            return
        self._last_u = last
        te = _ns(d["E"])
        # hot loop: the caches read inline, tuples appended directly (Builder.add's layout)
        ticks, lots, tc, lc = u.ticks, u.lots, u.tick_cache, u.lot_cache
        append, src = out.rows.append, out.source
        rows = 0
        for side, key in ((1, "b"), (-1, "a")):
            for p, q in d[key]:
                pt = tc.get(p)
                if pt is None:
                    pt = ticks(p)
                ql = lc.get(q)
                if ql is None:
                    ql = lots(q)
                append((ts, te, _BOOK, side, 0, src, n, pt, ql, 0, last, U))
                rows += 1
        if not rows:
            out.add(ts, te, _BOOK, 0, _EMPTY, n, 0, 0, 0, last, U)

    def _gap(self, out, n, ts, d, expected, got, why):
        self.gaps += 1
        self.notes.append(f"gap at line {n}: {why} (expected {expected}, got pu {got})")
        out.add(ts, _ns(d["E"]), _GAP, 0, 0, n, 0, 0, 0, expected, got)
        self._snapshot_id, self._last_u = None, None
