"""Which reader reads a file, one time-sorted stream over several files, and ``inspect``.

``open_reader(path, source)`` picks the format from the file's name and first line:
  a Binance public-data file (``SYMBOL-dataType-...`` in its name, ``.zip`` or ``.csv``),
  a Tardis normalized CSV (``exchange,symbol,timestamp,local_timestamp,..`` header),
  Hyperliquid node fills (a JSON block with ``events``), or a Binance websocket capture
  (``<time> <json>``); anything else is a ``DataError`` naming the file.

``read(paths)`` merges the readers' batches into one stream of ``RECORD_DTYPE`` batches
sorted by ``ts_local``; ties keep the files' order, then each file's own order (a stable
k-way merge).  Each step takes, from the source with the earliest head, every row up to the
next source's head (a ``searchsorted``), so the merge is vectorised and memory is one batch
per file.

``inspect(paths)`` summarises files (the keys of ``liqsim data inspect``, see
``engine.cli``): it rebuilds each file's book, counts crossed books at message boundaries
and runs the top-of-book cross-check (``engine.data.book``).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timezone

import numpy as np

from .binance_public import BinancePublicReader
from .binance_public import sniff as sniff_public
from .binance_ws import BinanceWsReader
from .binance_ws import sniff as sniff_ws
from .book import L2Book, TopCheck
from .hyperliquid import HyperliquidFillsReader
from .hyperliquid import sniff as sniff_hl
from .records import DataError, Flag, Kind, lines
from .tardis import TardisReader
from .tardis import sniff as sniff_tardis


def open_reader(path, source: int = 0):
    """The reader of ``path`` (see the module docstring)."""
    name = str(path)
    if sniff_public(name):
        return BinancePublicReader(name, source)
    first = ""
    for _, line in lines(name):
        if line.strip():
            first = line
            break
    if not first:
        raise DataError(f"{name}: line 1: expected recorded market data, got an empty file")
    if sniff_tardis(first):
        return TardisReader(name, source)
    if sniff_hl(first):
        return HyperliquidFillsReader(name, source)
    if sniff_ws(first):
        return BinanceWsReader(name, source)
    raise DataError(f"{name}: line 1: expected a known format (a Binance websocket capture "
                    f"'<time> <json>', a Tardis CSV header, a Binance public-data file name, "
                    f"Hyperliquid node fills), got {first.strip()[:60]!r}")


def read(paths, readers: list | None = None):
    """Yield the merged ``RECORD_DTYPE`` batches of ``paths`` (module docstring).  The
    readers are appended to ``readers`` if given (their counters fill as the stream is
    consumed).  A file given twice (by any spelling: a symlink, ``./``) is refused: its
    rows would be replayed twice, every recorded trade and liquidation doubled."""
    _once(paths)
    opened = [open_reader(p, k) for k, p in enumerate(paths)]
    if readers is not None:
        readers.extend(opened)
    if len(opened) == 1:
        yield from opened[0].batches()
        return
    its = [r.batches() for r in opened]
    heads: list = [None] * len(its)       # (batch, position) per source
    for k, it in enumerate(its):
        heads[k] = _next(it)
    while True:
        live = [k for k, h in enumerate(heads) if h is not None]
        if not live:
            return
        keyed = sorted((int(heads[j][0]["ts_local"][heads[j][1]]), j) for j in live)
        k = keyed[0][1]                   # the earliest head (ties: the lower source)
        batch, pos = heads[k]
        if len(keyed) > 1:
            # take rows before the next source's head; at an equal time only if k < it
            bound, j = keyed[1]
            side = "right" if k < j else "left"
            end = pos + int(np.searchsorted(batch["ts_local"][pos:], bound, side))
        else:
            end = len(batch)
        if end > pos:
            yield batch[pos:end]
        heads[k] = (batch, end) if end < len(batch) else _next(its[k])


def _once(paths) -> None:
    """Refuse two ``paths`` naming one file (same device and inode).  O(files)."""
    seen: dict = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue                    # open_reader names a path it cannot read
        if (st.st_dev, st.st_ino) in seen:
            raise DataError(f"{p}: expected each --data file once, got the same file as "
                            f"{seen[st.st_dev, st.st_ino]}")
        seen[st.st_dev, st.st_ino] = p


def _next(it):
    for batch in it:
        if len(batch):
            return (batch, 0)
    return None


def _iso(ns):
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 10**9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{ns % 10**9:09d}Z"


_BOOK, _TOP, _GAP = int(Kind.BOOK), int(Kind.TOP), int(Kind.GAP)
_LAST, _CLEAR, _EMPTY = int(Flag.LAST), int(Flag.CLEAR), int(Flag.EMPTY)


def inspect_file(reader) -> dict:
    """One file's summary: streams it once; O(book levels + ``book.WINDOW``) memory."""
    book = L2Book()
    check = TopCheck()
    crossed = 0
    first_crossed = None
    has_book = has_top = False
    ts_ex = [None, None]
    skew = [None, None]         # ts_local - ts_exchange: min, max (the recorder's clock)
    bid = None
    rows = 0
    for batch in reader.batches():
        rows += len(batch)
        known = batch["ts_exchange"] > 0
        te = batch["ts_exchange"][known]
        if len(te):
            lo, hi = int(te.min()), int(te.max())
            ts_ex = [lo if ts_ex[0] is None else min(ts_ex[0], lo),
                     hi if ts_ex[1] is None else max(ts_ex[1], hi)]
            d = batch["ts_local"][known] - te
            lo, hi = int(d.min()), int(d.max())
            skew = [lo if skew[0] is None else min(skew[0], lo),
                    hi if skew[1] is None else max(skew[1], hi)]
        for r in batch.tolist():
            kind, flags = r[2], r[4]
            if kind == _BOOK:
                has_book = True
                if flags & _CLEAR:
                    book.clear()
                if not flags & _EMPTY:
                    book.set(r[3], r[7], r[8])
                if flags & _LAST:
                    top = book.top()
                    if top[0] is not None and top[2] is not None and top[0] >= top[2]:
                        crossed += 1
                        if first_crossed is None:
                            first_crossed = r[6]
                    if r[10]:
                        check.book(r[10], top)
            elif kind == _TOP:
                has_top = True
                if r[3] > 0:
                    bid = (r[7], r[8])
                elif bid is not None:
                    check.top(r[10], (bid[0], bid[1], r[7], r[8]), r[6])
                    bid = None
            elif kind == _GAP:
                book.clear()
    both = has_book and has_top
    out = dict(file=reader.path, format=reader.format, symbol=reader.symbol,
               time_range=dict(local_ns=[reader.first_ts, reader.last_ts],
                               local=[_iso(reader.first_ts), _iso(reader.last_ts)],
                               exchange_ns=ts_ex, exchange=[_iso(t) for t in ts_ex],
                               local_minus_exchange_ns=skew),
               messages=dict(sorted(reader.messages.items())), rows=rows,
               gaps=reader.gaps, resyncs=reader.resyncs, crossed_books=crossed,
               top_of_book_checked=check.checked if both else None,
               top_of_book_agreement=(check.agree / check.checked if check.checked else None)
               if both else None,
               top_of_book_size_agreement=(check.size_agree / check.checked
                                           if check.checked else None) if both else None,
               repairs=dict(sorted(reader.repairs.items())), notes=list(reader.notes))
    if first_crossed is not None:
        out["first_crossed_line"] = first_crossed
    if check.first_disagreement is not None:
        out["first_top_of_book_disagreement"] = check.first_disagreement
    return out


def inspect(paths) -> dict:
    """All files' summaries and their totals (``messages`` summed by key; ``gaps``,
    ``resyncs``, ``crossed_books``, ``top_of_book_checked`` summed; the agreement over all
    checks; the time range spanning the files)."""
    files = [inspect_file(open_reader(p, k)) for k, p in enumerate(paths)]
    if len(files) == 1:
        return files[0]
    total = Counter()
    for f in files:
        total.update(f["messages"])
    checked = [f for f in files if f["top_of_book_checked"]]
    n = sum(f["top_of_book_checked"] for f in checked)
    agree = sum(round(f["top_of_book_agreement"] * f["top_of_book_checked"]) for f in checked)
    los = [f["time_range"]["local_ns"][0] for f in files if f["time_range"]["local_ns"][0]]
    his = [f["time_range"]["local_ns"][1] for f in files if f["time_range"]["local_ns"][1]]
    span = [min(los, default=None), max(his, default=None)]
    return dict(format=sorted({f["format"] for f in files}),
                symbol=sorted({f["symbol"] for f in files if f["symbol"]}),
                time_range=dict(local_ns=span, local=[_iso(t) for t in span]),
                messages=dict(sorted(total.items())),
                gaps=sum(f["gaps"] for f in files), resyncs=sum(f["resyncs"] for f in files),
                crossed_books=sum(f["crossed_books"] for f in files),
                top_of_book_checked=n if checked else None,
                top_of_book_agreement=agree / n if n else None, files=files)


def as_json(summary: dict) -> str:
    return json.dumps(summary, indent=1)
