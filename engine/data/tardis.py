"""Tardis.dev normalized CSV (plain or ``.gz``): ``incremental_book_L2``,
``book_snapshot_25``/``_5``, ``trades``, ``liquidations``, ``derivative_ticker``.

Schemas: docs/reference/data-formats.md section 1 (docs.tardis.dev "Downloadable CSV
files").  The data type is told by the header; ``trades`` and ``liquidations`` share one,
so a file whose name contains ``liquidations`` is read as liquidations.  Timestamps are
integer microseconds (``timestamp`` = exchange, ``local_timestamp`` = arrival; an empty
exchange time falls back to the local one); files are ordered by ``local_timestamp``.
Cells are never quoted, so a row is ``line.split(",")``.

Conventions (Tardis's, kept): trade ``side`` is the taker's; liquidation ``side`` is the
liquidation order's (``sell`` = a long was liquidated; tardis-node ``types.ts``); book
``side`` ``bid``/``ask``; ``amount`` an absolute level size (0 deletes).

incremental_book_L2: rows sharing ``local_timestamp`` are one message; a row with
``is_snapshot=true`` after one with ``false`` starts a snapshot (CLEAR: the whole book is
dropped); rows before the first snapshot are skipped and counted; a crossed snapshot is bad
data.  book_snapshot_N: each row is a snapshot of the top N (CLEAR + its levels).
derivative_ticker: Tardis repeats unchanged fields; only changed ones become rows (MARK,
INDEX, FUNDING in ppb, OPEN_INTEREST); ``last_price`` and the predicted rate are not kept.
"""
from __future__ import annotations


from .records import (Builder, DataError, Flag, Kind, Reader, check_epoch, fail,
                      instrument_for, lines, ppb)

COMMON = ["exchange", "symbol", "timestamp", "local_timestamp"]
HEADERS = {
    "incremental_book_L2": COMMON + ["is_snapshot", "side", "price", "amount"],
    "trades": COMMON + ["id", "side", "price", "amount"],
    "derivative_ticker": COMMON + ["funding_timestamp", "funding_rate",
                                   "predicted_funding_rate", "open_interest", "last_price",
                                   "index_price", "mark_price"],
}
_SIDES = {"buy": 1, "sell": -1, "unknown": 0, "bid": 1, "ask": -1}
_VENUES = {"binance-futures": "binance", "binance-delivery": "binance"}

_LAST, _SNAP, _CLEAR, _THROTTLED = (int(Flag.LAST), int(Flag.SNAPSHOT), int(Flag.CLEAR),
                                    int(Flag.THROTTLED))


def sniff(first_line: str) -> bool:
    return first_line.startswith("exchange,symbol,timestamp,local_timestamp")


def _top_n_header(cols):
    """N if ``cols`` is a ``book_snapshot_N`` header, else None."""
    rest = cols[4:]
    if cols[:4] != COMMON or not rest or len(rest) % 4:
        return None
    n = len(rest) // 4
    want = [f"{side}[{i}].{f}" for i in range(n) for side in ("asks", "bids")
            for f in ("price", "amount")]
    return n if rest == want else None


class TardisReader(Reader):
    format = "tardis-csv"

    def __init__(self, path, source: int = 0, units=None):
        super().__init__(path, source, units)
        self.data_type = None

    def _units(self, cells, n):
        if self.units is None:
            venue = _VENUES.get(cells[0], cells[0].split("-")[0])
            self.units = instrument_for(venue, cells[1], self.path, n)
            self.symbol = self.units.symbol
        elif cells[1].upper() != self.symbol:
            raise fail(self.path, n, f"one symbol per file ({self.symbol})", cells[1])
        return self.units

    def _times(self, cells, n, out):
        try:
            local = check_epoch(int(cells[3]) * 1000, "microseconds")
            ex = check_epoch(int(cells[2]) * 1000, "microseconds") if cells[2] else local
        except ValueError as exc:
            raise fail(self.path, n, str(exc) if "since" in str(exc) else
                       "integer microseconds in timestamp and local_timestamp",
                       f"{cells[2]},{cells[3]}") from None
        out.time(local, n)
        self.seen(local)
        return local, ex

    def batches(self):
        out = Builder(self.source, self.path)
        rows = lines(self.path)
        header = None
        for n, line in rows:
            if line.strip():
                header = line.rstrip("\r\n").split(",")
                break
        if header is None:
            return
        top_n = _top_n_header(header)
        if top_n is not None:
            kind = f"book_snapshot_{top_n}"
        else:
            kind = next((k for k, h in HEADERS.items() if h == header), None)
            if kind is None:
                raise fail(self.path, n, "a Tardis CSV header ("
                           + "; ".join(",".join(h) for h in HEADERS.values())
                           + "; or book_snapshot_N)", ",".join(header))
            if kind == "trades" and "liquidations" in self.path.rsplit("/", 1)[-1]:
                kind = "liquidations"
        self.data_type = kind
        width = len(header)
        handle = getattr(self, "_" + ("book_snapshot" if top_n else kind))
        state = {}
        for n, line in rows:
            text = line.rstrip("\r\n")
            if not text:
                continue
            cells = text.split(",")
            if len(cells) != width:
                raise fail(self.path, n, f"{width} columns ({kind})", text)
            try:
                handle(out, n, cells, state)
            except DataError:
                raise
            except ValueError as exc:
                raise fail(self.path, n, str(exc), text) from None
            if out.full():      # a message may span two batches
                yield out.flush()
        if kind == "incremental_book_L2":
            self._close_snapshot(state, n)
        out.end()
        batch = out.flush()
        if batch is not None:
            yield batch

    # -------------------------------------------------------------- types
    def _incremental_book_L2(self, out, n, cells, st):
        u = self._units(cells, n)
        local, ex = self._times(cells, n, out)
        snap = cells[4] == "true"
        if cells[4] not in ("true", "false"):
            raise ValueError("is_snapshot true or false")
        side = _SIDES.get(cells[5])
        if side is None or cells[5] not in ("bid", "ask"):
            raise ValueError("side bid or ask")
        if not snap and not st.get("seen_snapshot"):
            self.repairs["rows_before_first_snapshot_skipped"] += 1
            return
        was = st.get("snap", False)
        new_message = local != st.get("local") or snap != was
        if new_message:
            out.end()
            if was and not snap:
                self._close_snapshot(st, n)
            if snap and not was:
                if st.get("seen_snapshot"):
                    self.resyncs += 1
                self.messages["snapshot"] += 1
                st.update(seen_snapshot=True, bb=None, ba=None, first=True)
            elif not snap:
                self.messages["incremental_book_L2"] += 1
        st["local"], st["snap"] = local, snap
        price, qty = u.ticks(cells[6]), u.lots(cells[7])
        flags = 0
        if snap:
            flags = _SNAP
            if st.pop("first", False):
                flags |= _CLEAR
            if qty:
                if side > 0:
                    st["bb"] = price if st["bb"] is None else max(st["bb"], price)
                else:
                    st["ba"] = price if st["ba"] is None else min(st["ba"], price)
            st["snap_line"] = n
        out.add(local, ex, int(Kind.BOOK), side, flags, n, price, qty)

    def _close_snapshot(self, st, n):
        bb, ba = st.get("bb"), st.get("ba")
        if bb is not None and ba is not None and bb >= ba:
            raise fail(self.path, st.get("snap_line", n), "an uncrossed snapshot (best bid < "
                       "best ask)", f"best bid {bb * self.units.tick} >= best ask "
                       f"{ba * self.units.tick}")
        st["bb"] = st["ba"] = None

    def _book_snapshot(self, out, n, cells, st):
        u = self._units(cells, n)
        local, ex = self._times(cells, n, out)
        self.messages[self.data_type] += 1
        levels = []
        for k in range(4, len(cells), 4):
            for side, p, q in ((-1, cells[k], cells[k + 1]), (1, cells[k + 2], cells[k + 3])):
                if p:
                    levels.append((side, u.ticks(p), u.lots(q)))
        bb = max((p for s, p, q in levels if s > 0), default=None)
        ba = min((p for s, p, q in levels if s < 0), default=None)
        if bb is not None and ba is not None and bb >= ba:
            raise ValueError(f"an uncrossed snapshot (best bid {bb * u.tick} < best ask "
                             f"{ba * u.tick})")
        flags = _SNAP | _CLEAR
        for side, p, q in sorted(levels, key=lambda x: -x[0]):     # bids first
            out.add(local, ex, int(Kind.BOOK), side, flags, n, p, q)
            flags = _SNAP
        out.end()

    def _trades(self, out, n, cells, st):
        u = self._units(cells, n)
        local, ex = self._times(cells, n, out)
        self.messages["trade"] += 1
        side = _SIDES.get(cells[5])
        if side is None:
            raise ValueError("side buy, sell or unknown")
        out.add(local, ex, int(Kind.TRADE), side, 0, n, u.ticks(cells[6]), u.lots(cells[7]),
                0, int(cells[4]) if cells[4].isdigit() else 0)
        out.end()

    def _liquidations(self, out, n, cells, st):
        u = self._units(cells, n)
        local, ex = self._times(cells, n, out)
        self.messages["liquidation"] += 1
        side = _SIDES.get(cells[5])
        if side is None:
            raise ValueError("side buy, sell or unknown")
        flags = _THROTTLED if cells[0].startswith("binance") else 0
        out.add(local, ex, int(Kind.LIQUIDATION), side, flags, n, u.ticks(cells[6]),
                u.lots(cells[7]))
        out.end()

    def _derivative_ticker(self, out, n, cells, st):
        u = self._units(cells, n)
        local, ex = self._times(cells, n, out)
        self.messages["derivative_ticker"] += 1
        for key, col, kind in (("funding", 5, Kind.FUNDING), ("oi", 7, Kind.OPEN_INTEREST),
                               ("index", 9, Kind.INDEX), ("mark", 10, Kind.MARK)):
            text = cells[col]
            if not text or st.get(key) == text:
                continue
            st[key] = text
            if kind == Kind.FUNDING:
                out.add(local, ex, int(kind), 0, 0, n, 0, 0, ppb(text))
            elif kind == Kind.OPEN_INTEREST:
                out.add(local, ex, int(kind), 0, 0, n, 0, u.lots_rounded(text))
            else:
                out.add(local, ex, int(kind), 0, 0, n, u.price_ticks(text))
        out.end()
