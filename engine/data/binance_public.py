"""Binance public data files (data.binance.vision, USD-M futures; ``.zip`` of one CSV, or
the CSV): ``trades``, ``aggTrades``, ``markPriceKlines``, ``indexPriceKlines``,
``bookDepth``, ``metrics``, ``liquidationSnapshot``.

Schemas: docs/reference/data-formats.md section 2 (binance-public-data README).  The file
name is ``SYMBOL-dataType-DATE`` (klines: ``SYMBOL-INTERVAL-DATE`` under a
``markPriceKlines/`` or ``indexPriceKlines/`` folder, as the site lays them out): the data
type is the longest known name in the path.  A header row is optional (old files have
none) and, when present, must name the expected columns.  Times are ms (futures) or us
(spot since 2025), told from the first row's magnitude and then held; ``bookDepth`` and
``metrics`` write ``YYYY-MM-DD HH:MM:SS`` (UTC).  These files have one clock: rows are
flagged ``ONE_CLOCK`` (``ts_local`` = ``ts_exchange``).

Conventions: ``is_buyer_maker=true`` means the taker sold (TRADE side -1);
``liquidationSnapshot`` ``side`` is the liquidation order's (SELL = a long was liquidated),
``price`` its limit, ``accumulated_fill_quantity`` the filled quantity, rows THROTTLED
(the same one-per-second snapshot feed); its rows appear twice (binance-public-data issue
#259): a line equal to the previous one is dropped and counted, in every type.  COIN-M
quantities are contracts, not base units: no COIN-M instrument is bundled, so such files
are refused by symbol.  Klines give two rows each (the open at ``open_time``, the close at
``close_time``); high and low are not kept.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .records import (Builder, DataError, Flag, Kind, Reader, check_epoch, fail,
                      instrument_for, lines, ppm)

COLUMNS = {
    "trades": ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker"],
    "aggTrades": ["agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id",
                  "transact_time", "is_buyer_maker"],
    "markPriceKlines": ["open_time", "open", "high", "low", "close", "volume", "close_time",
                        "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume",
                        "ignore"],
    "bookDepth": ["timestamp", "percentage", "depth", "notional"],
    "metrics": ["create_time", "symbol", "sum_open_interest", "sum_open_interest_value",
                "count_toptrader_long_short_ratio", "sum_toptrader_long_short_ratio",
                "count_long_short_ratio", "sum_taker_long_short_vol_ratio"],
    "liquidationSnapshot": ["time", "side", "order_type", "time_in_force",
                            "original_quantity", "price", "average_price", "order_status",
                            "last_fill_quantity", "accumulated_fill_quantity"],
}
COLUMNS["indexPriceKlines"] = COLUMNS["markPriceKlines"]
_NAME = re.compile(r"^([A-Z0-9_]+)-([A-Za-z0-9]+)-\d{4}-\d{2}(-\d{2})?\.(zip|csv)$")
_ONE = int(Flag.ONE_CLOCK)


def sniff(path: str) -> bool:
    return bool(_NAME.match(path.replace("\\", "/").rsplit("/", 1)[-1]))


def data_type(path: str):
    hits = [t for t in COLUMNS if t in path.replace("\\", "/")]
    return max(hits, key=len) if hits else None


def _text_time(text: str) -> int:
    dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9


class BinancePublicReader(Reader):
    format = "binance-public"

    def __init__(self, path, source: int = 0, units=None):
        super().__init__(path, source, units)
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        self.data_type = data_type(self.path)
        if self.data_type is None:
            raise DataError(f"{self.path}: line 1: expected a Binance data type in the path "
                            f"({', '.join(COLUMNS)}; klines under a markPriceKlines/ or "
                            f"indexPriceKlines/ folder), got {name!r}")
        self.units = units or instrument_for("binance", _NAME.match(name).group(1),
                                             self.path, 1)
        self.symbol = self.units.symbol
        self._scale = None

    def _ms(self, text: str, n: int) -> int:
        """A numeric time: ms, or us when the file's first time was (1e15 and up)."""
        v = int(text)
        if self._scale is None:
            self._scale = 1000 if v >= 10**14 else 1_000_000
        try:
            return check_epoch(v * self._scale, "ms" if self._scale == 1_000_000 else "us")
        except ValueError as exc:
            raise fail(self.path, n, str(exc), text) from None

    def batches(self):
        t = self.data_type
        cols = COLUMNS[t]
        handle = getattr(self, "_" + ("klines" if t.endswith("Klines") else t))
        out = Builder(self.source, self.path)
        previous = None
        for n, line in lines(self.path):
            text = line.rstrip("\r\n")
            if not text:
                continue
            cells = text.split(",")
            if previous is None and cells[0] and not cells[0][0].isdigit():
                if [c.strip().lower() for c in cells] != [c.lower() for c in cols]:
                    raise fail(self.path, n, f"the {t} columns ({','.join(cols)})", text)
                previous = text
                continue
            if len(cells) != len(cols):
                raise fail(self.path, n, f"{len(cols)} columns ({t}: {','.join(cols)})", text)
            if text == previous:
                self.repairs["duplicate_rows_dropped"] += 1
                continue
            previous = text
            try:
                ts = handle(out, n, cells)
            except DataError:
                raise
            except ValueError as exc:
                raise fail(self.path, n, str(exc) if "(" in str(exc) else
                           f"{t} values ({exc})", text) from None
            self.seen(ts)
            out.end()
            if out.full():
                yield out.flush()
        batch = out.flush()
        if batch is not None:
            yield batch

    def _at(self, out, n, ts):
        out.time(ts, n)
        return ts

    def _trades(self, out, n, c):
        u = self.units
        ts = self._at(out, n, self._ms(c[4], n))
        self.messages["trade"] += 1
        out.add(ts, ts, int(Kind.TRADE), _taker(c[5]), _ONE, n, u.ticks(c[1]), u.lots(c[2]),
                0, int(c[0]))
        return ts

    def _aggTrades(self, out, n, c):
        u = self.units
        ts = self._at(out, n, self._ms(c[5], n))
        self.messages["aggTrade"] += 1
        out.add(ts, ts, int(Kind.TRADE), _taker(c[6]), _ONE, n, u.ticks(c[1]), u.lots(c[2]),
                0, int(c[0]))
        return ts

    def _klines(self, out, n, c):
        u = self.units
        kind = int(Kind.MARK if self.data_type.startswith("mark") else Kind.INDEX)
        opened, closed = self._ms(c[0], n), self._ms(c[6], n)
        self._at(out, n, opened)
        self.messages[self.data_type[:-1]] += 1
        out.add(opened, opened, kind, 0, _ONE, n, u.price_ticks(c[1]))
        out.end()
        self._at(out, n, closed)
        out.add(closed, closed, kind, 0, _ONE, n, u.price_ticks(c[4]))
        return opened

    def _bookDepth(self, out, n, c):
        u = self.units
        ts = self._at(out, n, _text_time(c[0]))
        self.messages["bookDepth"] += 1
        out.add(ts, ts, int(Kind.DEPTH_BAND), -1 if c[1].startswith("-") else 1, _ONE, n, 0,
                u.lots_rounded(c[2]), ppm(c[1]) // 100, u.quanta(c[3]))
        return ts

    def _metrics(self, out, n, c):
        u = self.units
        ts = self._at(out, n, _text_time(c[0]))
        if c[1].upper() != self.symbol:
            raise ValueError(f"one symbol per file ({self.symbol})")
        self.messages["metrics"] += 1
        out.add(ts, ts, int(Kind.OPEN_INTEREST), 0, _ONE, n, 0, u.lots_rounded(c[2]),
                u.quanta(c[3]))
        for k, text in enumerate(c[4:8], 1):
            if text:
                out.add(ts, ts, int(Kind.STAT), 0, _ONE, n, 0, 0, ppm(text), k)
        return ts

    def _liquidationSnapshot(self, out, n, c):
        u = self.units
        ts = self._at(out, n, self._ms(c[0], n))
        if c[1] not in ("BUY", "SELL"):
            raise ValueError("side BUY or SELL")
        self.messages["liquidationSnapshot"] += 1
        out.add(ts, ts, int(Kind.LIQUIDATION), 1 if c[1] == "BUY" else -1,
                _ONE | int(Flag.THROTTLED), n, u.ticks(c[5]), u.lots(c[9]),
                u.ticks_rounded(c[6]), u.lots(c[4]))
        return ts


def _taker(is_buyer_maker: str) -> int:
    if is_buyer_maker.lower() not in ("true", "false"):
        raise ValueError("is_buyer_maker true or false")
    return -1 if is_buyer_maker.lower() == "true" else 1
