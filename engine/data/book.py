"""A recorded L2 book rebuilt from BOOK rows, and the top-of-book cross-check.

``L2Book`` holds price -> qty per side in ``SortedDict``s: a level update is O(log n), the
best bid and ask O(1).  It is read only at message boundaries (``Flag.LAST``).

``TopCheck`` compares the rebuilt book with the venue's own top-of-book stream: at every
top-of-book message whose update id equals a diff message's final update id, the rebuilt
best bid and ask must equal it (Binance publishes ``bookTicker`` and ``depth`` from one
sequence of update ids; docs/reference/data-formats.md section 2.10).  The two streams
arrive in either order, so each side waits in a bounded map (``WINDOW`` ids, oldest
evicted): memory does not grow with the file.
"""
from __future__ import annotations

from sortedcontainers import SortedDict

WINDOW = 65_536


class L2Book:
    __slots__ = ("bids", "asks")

    def __init__(self):
        self.bids = SortedDict()
        self.asks = SortedDict()

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def set(self, side: int, price: int, qty: int) -> None:
        levels = self.bids if side > 0 else self.asks
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)

    def top(self):
        """(best bid, its qty, best ask, its qty); None for an empty side."""
        b, a = self.bids, self.asks
        bb = b.peekitem(-1) if b else (None, None)
        ba = a.peekitem(0) if a else (None, None)
        return bb[0], bb[1], ba[0], ba[1]


class TopCheck:
    """Counts ``checked`` pairs (a top-of-book message and a book message with the same
    update id), ``agree`` (best bid and ask prices equal) and ``size_agree`` (their sizes
    too); ``first_disagreement`` keeps the first line that did not agree."""

    __slots__ = ("books", "tops", "checked", "agree", "size_agree", "first_disagreement")

    def __init__(self):
        self.books: dict[int, tuple] = {}
        self.tops: dict[int, tuple] = {}
        self.checked = self.agree = self.size_agree = 0
        self.first_disagreement = None

    def book(self, uid: int, top: tuple) -> None:
        seen = self.tops.pop(uid, None)
        if seen is not None:
            self._compare(top, *seen)
        else:
            _put(self.books, uid, top)

    def top(self, uid: int, quote: tuple, line: int) -> None:
        seen = self.books.pop(uid, None)
        if seen is not None:
            self._compare(seen, quote, line)
        else:
            _put(self.tops, uid, (quote, line))

    def _compare(self, book: tuple, quote: tuple, line: int) -> None:
        self.checked += 1
        if (book[0], book[2]) == (quote[0], quote[2]):
            self.agree += 1
            if book == quote:
                self.size_agree += 1
        elif self.first_disagreement is None:
            self.first_disagreement = dict(line=line, book=list(book), top=list(quote))


def _put(d: dict, key, value) -> None:
    d[key] = value
    if len(d) > WINDOW:
        del d[next(iter(d))]
