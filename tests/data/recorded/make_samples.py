"""Writes the COMPOSED samples beside this file (not real data: written to the documented
schemas, docs/reference/data-formats.md; times and prices placed inside the window of the
real capture in replays/data, 2024-08-08 23:54:15-23:56:45 UTC, BTCUSDT ~61,800).
Run it to regenerate them: python tests/data/recorded/make_samples.py"""
import gzip
import json
import pathlib
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
T0 = 1723161260000          # ms, 23:54:20 UTC


def write(name, text, gz=False):
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0,
                                                  filename="") as g:
            g.write(text.encode())
    else:
        path.write_text(text)


def tardis():
    h = "exchange,symbol,timestamp,local_timestamp"
    ex = "binance-futures,BTCUSDT"
    us = lambda ms, d=0: f"{ms * 1000},{ms * 1000 + 1500 + d}"
    rows = [f"{h},is_snapshot,side,price,amount",
            f"{ex},{us(T0 - 50)},false,bid,61799.0,1.000"]        # before the first snapshot
    for k in range(5):
        rows.append(f"{ex},{us(T0)},true,bid,{61800 - k / 10:.1f},{1 + k / 2:.3f}")
        rows.append(f"{ex},{us(T0)},true,ask,{61800.1 + k / 10:.1f},{1 + k / 3:.3f}")
    for j in range(1, 30):
        ms = T0 + 4000 * j
        rows.append(f"{ex},{us(ms)},false,bid,{61799.9 - (j % 7) / 10:.1f},{0.5 + j / 100:.3f}")
        rows.append(f"{ex},{us(ms)},false,ask,{61800.2 + (j % 5) / 10:.1f},{(j % 3) * 0.4:.3f}")
    rows.append(f"{ex},{us(T0 + 125000)},true,bid,61790.0,2.000")      # a reconnect: resync
    rows.append(f"{ex},{us(T0 + 125000)},true,ask,61790.1,2.000")
    rows.append(f"{ex},{us(T0 + 126000)},false,ask,61790.1,0")
    write("tardis/binance-futures_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz",
          "\n".join(rows) + "\n", gz=True)
    head = h + "," + ",".join(f"{s}[{i}].{f}" for i in range(25) for s in ("asks", "bids")
                              for f in ("price", "amount"))
    rows = [head]
    for j in range(6):
        cells = []
        for i in range(25):
            if i < 3:
                cells += [f"{61800.1 + i / 10 + j / 10:.1f}", "0.500",
                          f"{61800.0 - i / 10 + j / 10:.1f}", "0.700"]
            else:
                cells += ["", "", "", ""]
        rows.append(f"{ex},{us(T0 + 20000 * j)}," + ",".join(cells))
    write("tardis/binance-futures_book_snapshot_25_2024-08-08_BTCUSDT.csv", "\n".join(rows) + "\n")
    rows = [f"{h},id,side,price,amount"]
    for j in range(40):
        rows.append(f"{ex},{us(T0 + 3000 * j)},{5266590000 + j},{'buy' if j % 3 else 'sell'},"
                    f"{61800.0 - (j % 5) / 10:.1f},{0.001 * (1 + j % 9):.3f}")
    write("tardis/binance-futures_trades_2024-08-08_BTCUSDT.csv.gz", "\n".join(rows) + "\n", gz=True)
    rows = [f"{h},id,side,price,amount"]
    for j, (side, px, qty) in enumerate([("sell", "61650.0", "0.512"), ("sell", "61600.0", "1.204"),
                                         ("buy", "61950.0", "0.300")]):
        rows.append(f"{ex},{us(T0 + 30000 + 20000 * j)},,{side},{px},{qty}")
    write("tardis/binance-futures_liquidations_2024-08-08_BTCUSDT.csv", "\n".join(rows) + "\n")
    rows = [f"{h},funding_timestamp,funding_rate,predicted_funding_rate,open_interest,"
            "last_price,index_price,mark_price"]
    for j in range(0, 141, 3):
        rows.append(f"{ex},{us(T0 + 1000 * j)},1723190400000000,0.0001{j % 4},,81234.567,"
                    f"61800.0,{61805.12345678 - j / 100:.8f},{61803.2 - j / 100:.8f}")
    write("tardis/binance-futures_derivative_ticker_2024-08-08_BTCUSDT.csv", "\n".join(rows) + "\n")


def binance_public():
    rows = ["id,price,qty,quote_qty,time,is_buyer_maker"]
    for j in range(30):
        p = 61800.0 - (j % 4) / 10
        rows.append(f"{5266590000 + j},{p:.1f},0.010,{p * 0.01:.3f},{T0 + 2000 * j},"
                    f"{'true' if j % 2 else 'false'}")
    write("binance/BTCUSDT-trades-2024-08-08.csv", "\n".join(rows) + "\n")
    rows = [f"{100 + j},{61800.0 - j / 10:.1f},0.020,{200 + j},{201 + j},{T0 + 2500 * j},"
            f"{'true' if j % 3 else 'false'}" for j in range(20)]         # no header (old files)
    with zipfile.ZipFile(HERE / "binance/BTCUSDT-aggTrades-2024-08-08.zip", "w") as z:
        z.writestr(zipfile.ZipInfo("BTCUSDT-aggTrades-2024-08-08.csv", (2024, 8, 9, 0, 0, 0)),
                   "\n".join(rows) + "\n")
    for kind, base in (("markPriceKlines", 61803.2), ("indexPriceKlines", 61801.7)):
        rows = ["open_time,open,high,low,close,volume,close_time,quote_volume,count,"
                "taker_buy_volume,taker_buy_quote_volume,ignore"]
        start = 1723161240000           # 23:54:00
        for j in range(4):
            o, c = base - j * 2.5, base - (j + 1) * 2.5
            rows.append(f"{start + 60000 * j},{o:.8f},{o + 1:.8f},{c - 1:.8f},{c:.8f},0,"
                        f"{start + 60000 * (j + 1) - 1},0,60,0,0,0")
        write(f"binance/{kind}/BTCUSDT/1m/BTCUSDT-1m-2024-08-08.csv", "\n".join(rows) + "\n")
    rows = ["timestamp,percentage,depth,notional"]
    for t in ("2024-08-08 23:54:31", "2024-08-08 23:55:01"):
        for pct in (-5, -1, 1, 5):
            rows.append(f"{t},{pct:.2f},{abs(pct) * 1500.125:.8f},{abs(pct) * 1500.125 * 61800:.8f}")
    write("binance/BTCUSDT-bookDepth-2024-08-08.csv", "\n".join(rows) + "\n")
    rows = ["create_time,symbol,sum_open_interest,sum_open_interest_value,"
            "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,"
            "count_long_short_ratio,sum_taker_long_short_vol_ratio",
            "2024-08-08 23:50:00,BTCUSDT,81234.567,5020295240.6000,1.91519612,3.27485900,1.46745437,1.08735800",
            "2024-08-08 23:55:00,BTCUSDT,81200.001,5017159061.7800,1.90519612,3.25485900,1.45745437,0.98735800"]
    write("binance/BTCUSDT-metrics-2024-08-08.csv", "\n".join(rows) + "\n")
    rows = ["time,side,order_type,time_in_force,original_quantity,price,average_price,"
            "order_status,last_fill_quantity,accumulated_fill_quantity"]
    for j, (side, p, ap, q) in enumerate([("SELL", "61650.0", "61790.0", "0.512"),
                                          ("SELL", "61600.0", "61770.5", "1.204"),
                                          ("BUY", "61950.0", "61801.3", "0.300")]):
        row = f"{T0 + 30000 + 20000 * j},{side},LIMIT,IOC,{q},{p},{ap},FILLED,{q},{q}"
        rows += [row, row]                                   # every row twice (issue #259)
    write("binance/BTCUSDT-liquidationSnapshot-2024-08-08.csv", "\n".join(rows) + "\n")


def hyperliquid():
    lines = []
    for j in range(12):
        ms = T0 + 10000 * j
        iso = "2024-08-08T23:54:%02d.%09d" % (20 + j * 10 % 40, 123456789 + j) if j < 4 else \
            "2024-08-08T23:%02d:%02d.%09d" % (54 + (20 + 10 * j) // 60, (20 + 10 * j) % 60, 5 + j)
        tid = 900000 + j
        px = f"{61800 - j * 3}.0"
        taker = {"coin": "BTC", "px": px, "sz": "0.01500", "side": "A", "time": ms,
                 "dir": "Close Long", "crossed": True, "tid": tid, "hash": "0x0", "oid": 1,
                 "fee": "0.4", "feeToken": "USDC", "startPosition": "0.1", "closedPnl": "-1"}
        maker = dict(taker, side="B", dir="Open Long", crossed=False)
        events = [["0xaaa", taker], ["0xbbb", maker]]
        if j in (4, 7):
            liq = {"liquidatedUser": "0xccc", "markPx": f"{61800 - j * 3 + 0.7:.1f}",
                   "method": "market" if j == 4 else "backstop"}
            a = dict(taker, tid=tid + 50, dir="Liquidated Cross Long", liquidation=liq)
            b = dict(maker, tid=tid + 50, liquidation=liq)
            events += [["0xccc", a], ["0xddd", b]]
        if j == 9:
            a = dict(taker, tid=tid + 70, dir="Auto-Deleveraging", crossed=False, side="B")
            b = dict(maker, tid=tid + 70, dir="Auto-Deleveraging", side="A")
            events += [["0xeee", a], ["0xfff", b]]
        lines.append(json.dumps({"local_time": iso, "block_time": iso, "block_number": 500 + j,
                                 "events": events}))
    write("hyperliquid/node_fills_by_block_20240808_23.jsonl", "\n".join(lines) + "\n")


def binance_ws():
    """A cryptofeed-style capture ('<seconds>: <json>'): forceOrder and markPriceUpdate
    messages in the window of the real capture (the real one has neither)."""
    out = []
    t = T0
    for j in range(0, 141):
        ms = T0 + 1000 * j
        mark = 61803.2 - j / 50
        out.append(f"{(ms + 3) / 1000:.6f}: " + json.dumps(
            {"stream": "btcusdt@markPrice@1s", "data": {
                "e": "markPriceUpdate", "E": ms, "s": "BTCUSDT", "p": f"{mark:.8f}",
                "i": f"{mark - 1.3:.8f}", "P": f"{mark:.8f}", "r": "0.00010000",
                "T": 1723190400000}}))
        if j in (20, 21, 60, 100):
            side, p, ap, q = ("BUY", "61950.0", "61805.2", "0.250") if j == 100 else \
                ("SELL", "61650.0", "61790.0", "1.500" if j == 60 else "0.400")
            out.append(f"{(ms + 5) / 1000:.6f}: " + json.dumps(
                {"stream": "btcusdt@forceOrder", "data": {
                    "e": "forceOrder", "E": ms + 2, "o": {
                        "s": "BTCUSDT", "S": side, "o": "LIMIT", "f": "IOC", "q": q, "p": p,
                        "ap": ap, "X": "FILLED", "l": q, "z": q, "T": ms + 1}}}))
    write("binance-ws/btcusdt-forceorder-markprice-composed.txt", "\n".join(out) + "\n")


if __name__ == "__main__":
    tardis()
    binance_public()
    hyperliquid()
    binance_ws()
