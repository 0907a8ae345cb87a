"""Hyperliquid node fills (``node_fills_by_block``: one JSON block a line, plain or ``.lz4``).

Layout (docs/reference/data-formats.md section 3.3; third-party parsers, composed samples):
``{"local_time": ISO, "block_time": ISO ns, "block_number": N, "events": [[user, fill], ..]}``
with fill fields ``coin, px, sz, side ("B" buy / "A" sell), time (ms), dir, crossed (the
taker), tid, ..`` and, on liquidation fills, ``liquidation {liquidatedUser, markPx,
method}``.  Every trade appears twice (one event per counterparty, same ``tid``, in the same
block), and the ``liquidation`` object rides both legs.

Normalised, once per ``tid`` within a block (both legs are in one line, so the dedup is
O(one block)):
  TRADE        from the taker's leg (``crossed``): side = its side (``B`` +1, ``A`` -1)
  LIQUIDATION  from the leg whose user is the ``liquidatedUser``: side = that leg's side
               (the liquidation order's: ``A`` = a long was liquidated), price = the fill
               price, qty = the fill size, value = ``markPx`` in ticks; method ``backstop``
               is flagged BACKSTOP (taken by the vault, not filled in the book)
  ADL          a fill whose ``dir`` is ``Auto-Deleveraging``: side = that leg's side
Clocks: ``ts_exchange`` = the fill's ``time`` (ms); ``ts_local`` = ``local_time`` (the
node's receipt; ISO, UTC, fractional seconds to ns).  Hyperliquid liquidations are complete
(not throttled).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from .records import (Builder, DataError, Flag, Kind, Reader, check_epoch, fail,
                      instrument_for, lines)

MS = 1_000_000


def sniff(first_line: str) -> bool:
    s = first_line.lstrip()
    return s.startswith("{") and '"events"' in s and ('"block_time"' in s or
                                                       '"local_time"' in s)


def iso_ns(text: str) -> int:
    """``2025-10-10T21:15:00.123456789`` (UTC, optional ``Z``) -> ns, exactly."""
    text = text.rstrip("Z")
    whole, _, frac = text.partition(".")
    dt = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    if frac and not frac.isdigit():
        raise ValueError("an ISO time")
    return int(dt.timestamp()) * 10**9 + int((frac or "0").ljust(9, "0")[:9])


class HyperliquidFillsReader(Reader):
    format = "hyperliquid-fills"

    def __init__(self, path, source: int = 0, units=None):
        super().__init__(path, source, units)

    def batches(self):
        out = Builder(self.source, self.path)
        for n, line in lines(self.path):
            if not line.strip():
                continue
            try:
                block = json.loads(line)
            except ValueError:
                raise fail(self.path, n, "a JSON block of fills", line.strip()) from None
            try:
                self._block(out, n, block)
            except DataError:
                raise
            except (KeyError, TypeError, IndexError, AttributeError) as exc:
                raise fail(self.path, n, f"a node_fills_by_block line (missing or bad {exc})",
                           line.strip()) from None
            except ValueError as exc:
                raise fail(self.path, n, str(exc), line.strip()) from None
            if out.full():
                yield out.flush()
        batch = out.flush()
        if batch is not None:
            yield batch

    def _block(self, out, n, block):
        local = check_epoch(iso_ns(block.get("local_time") or block["block_time"]), "ISO time")
        out.time(local, n)
        self.seen(local)
        self.messages["block"] += 1
        seen_trade, seen_liq, seen_adl = set(), set(), set()
        for user, fill in block["events"]:
            coin = fill["coin"]
            if self.units is None:
                self.units = instrument_for("hyperliquid", coin, self.path, n)
                self.symbol = self.units.symbol
            elif coin.upper() != self.symbol:
                raise ValueError(f"one coin per file ({self.symbol}), got {coin!r}")
            u = self.units
            if fill["side"] not in ("A", "B"):
                raise ValueError(f"side A or B, got {fill['side']!r}")
            side = 1 if fill["side"] == "B" else -1
            ex = check_epoch(int(fill["time"]) * MS, "ms")
            tid = int(fill["tid"])
            px, sz = u.ticks(fill["px"]), u.lots(fill["sz"])
            if fill.get("crossed") and tid not in seen_trade:
                seen_trade.add(tid)
                self.messages["fill"] += 1
                out.add(local, ex, int(Kind.TRADE), side, 0, n, px, sz, 0, tid)
            liq = fill.get("liquidation")
            if liq and liq.get("liquidatedUser") == user and tid not in seen_liq:
                seen_liq.add(tid)
                self.messages["liquidation"] += 1
                flags = int(Flag.BACKSTOP) if liq.get("method") == "backstop" else 0
                out.add(local, ex, int(Kind.LIQUIDATION), side, flags, n, px, sz,
                        u.ticks_rounded(liq["markPx"]), 0)
            if fill.get("dir") == "Auto-Deleveraging" and tid not in seen_adl:
                seen_adl.add(tid)
                self.messages["adl"] += 1
                out.add(local, ex, int(Kind.ADL), side, 0, n, px, sz, 0, tid)
        out.end()
