"""``liqsim data inspect`` and the bad-data contract: one line on stderr naming the file, the
line and what was expected; exit 2; no traceback; nothing on stdout."""
from __future__ import annotations

import gzip
import json
import pathlib

import pytest

from engine.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[3]
REAL = str(ROOT / "replays/data/binance-usdm-btcusdt-20240808.gz")
SAMPLES = ROOT / "tests/data/recorded"
KEYS = {"format", "symbol", "time_range", "messages", "gaps", "resyncs", "crossed_books",
        "top_of_book_checked", "top_of_book_agreement"}
TARDIS_HEAD = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def test_inspect_json_of_the_real_capture_prints_one_object_with_the_issue_keys(capsys):
    assert main(["data", "inspect", REAL, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert KEYS <= set(s)
    assert s["messages"]["depthUpdate"] == 2857 and s["top_of_book_agreement"] == 1.0


def test_inspect_shows_the_real_captures_recorder_clock_behind_the_exchanges(capsys):
    # Every message of the capture was "received" 1.18-1.27 s before Binance stamped it:
    # impossible, so the recorder's clock ran behind; the run clock is that local clock.
    assert main(["data", "inspect", REAL, "--json"]) == 0
    lo, hi = json.loads(capsys.readouterr().out)["time_range"]["local_minus_exchange_ns"]
    assert -1_273_000_000 < lo <= hi < -1_180_000_000
    assert main(["data", "inspect", REAL]) == 0
    text = capsys.readouterr().out
    assert "exchange     2024-08-08T23:54:16.313000000Z" in text
    assert "the recorder's clock was behind" in text


def test_inspect_of_several_formats_totals_their_messages(capsys):
    paths = [str(p) for p in sorted(SAMPLES.rglob("*")) if p.is_file()
             and p.suffix not in (".py", ".toml") and p.name != "README.md"]
    assert main(["data", "inspect", *paths, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert len(s["files"]) == len(paths) == 14
    assert set(s["format"]) == {"tardis-csv", "binance-public", "hyperliquid-fills",
                                "binance-ws"}
    assert s["messages"]["forceOrder"] == 4 and s["messages"]["liquidationSnapshot"] == 3


def _truncated_gzip(tmp_path):
    data = pathlib.Path(REAL).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 3])
    return path, "truncated or corrupt"


def _not_json(tmp_path):
    path = tmp_path / "cap.txt"
    with gzip.open(REAL, "rt") as f:
        head = [next(f) for _ in range(3)]
    path.write_text(head[0] + head[1] + "1723161255088176999 {\"stream\": oops\n")
    return path, "line 3: expected a JSON message"


def _wrong_columns(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    path.write_text(TARDIS_HEAD + "binance-futures,BTCUSDT,1723161260000000,1723161260001000,"
                    "1,buy,61800.0\n")
    return path, "line 2: expected 8 columns"


def _wrong_header(tmp_path):
    path = tmp_path / "BTCUSDT-trades-2024-08-08.csv"
    path.write_text("id,price,qty,time,is_buyer_maker\n1,61800.0,0.001,1723161260000,true\n")
    return path, "line 1: expected the trades columns"


def _unsorted(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    row = "binance-futures,BTCUSDT,1723161260000000,{},{},buy,61800.0,0.001\n"
    path.write_text(TARDIS_HEAD + row.format(1723161260005000, 1)
                    + row.format(1723161260001000, 2))
    return path, "line 3: expected times in order"


def _crossed_snapshot(tmp_path):
    path = tmp_path / "cap.txt"
    snap = {"lastUpdateId": 100, "E": 1723161256000, "T": 1723161256000,
            "bids": [["61800.5", "1.000"]], "asks": [["61800.1", "1.000"]]}
    diff = {"e": "depthUpdate", "E": 1723161256000, "s": "BTCUSDT", "U": 99, "u": 101,
            "pu": 98, "b": [], "a": []}
    path.write_text(f"1723161255000000000 {json.dumps(diff)}\n"
                    f"1723161255000000001 {json.dumps(snap)}\n")
    return path, "line 2: expected an uncrossed snapshot"


def _price_off_the_tick(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    path.write_text(TARDIS_HEAD + "binance-futures,BTCUSDT,1723161260000000,1723161260001000,"
                    "1,buy,61800.05,0.001\n")
    return path, "line 2: expected a multiple of the tick 0.1"


def _milliseconds_for_microseconds(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    path.write_text(TARDIS_HEAD + "binance-futures,BTCUSDT,1723161260000,1723161260001,"
                    "1,buy,61800.0,0.001\n")
    return path, "line 2: expected a time in microseconds since the epoch"


# Found by the second fuzzing pass: each was an internal error (exit 1).
def _beyond_int64(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    path.write_text(TARDIS_HEAD + "binance-futures,BTCUSDT,1723161260000000,1723161260001000,"
                    "1,buy,61800.0,1" + "0" * 30 + "\n")
    return path, "line 2: expected a qty that fits the record's int64 column"


def _ws_data_not_an_object(tmp_path):
    path = tmp_path / "cap.txt"
    path.write_text('1723161255000000000 {"stream": "btcusdt@markPrice@1s", "data": "x"}\n')
    return path, "line 1: expected a JSON object (or a stream wrapper"


def _ws_event_not_a_name(tmp_path):
    path = tmp_path / "cap.txt"
    path.write_text('1723161255000000000 {"e": 5, "E": 1723161255000, "s": "BTCUSDT"}\n')
    return path, "line 1: expected a Binance event ('e', a name)"


def _ws_symbol_not_text(tmp_path):
    path = tmp_path / "cap.txt"
    mark = {"e": "markPriceUpdate", "E": 1723161255000, "s": 5, "p": "61800.0"}
    path.write_text(f"1723161255000000000 {json.dumps(mark)}\n")
    return path, "line 1: expected the fields of a Binance markPriceUpdate message"


def _ws_time_not_an_integer(tmp_path):
    path = tmp_path / "cap.txt"
    mark = {"e": "markPriceUpdate", "E": "soon", "s": "BTCUSDT", "p": "61800.0"}
    path.write_text(f"1723161255000000000 {json.dumps(mark)}\n")
    return path, "line 1: expected an exchange time in ms (an integer)"


def _negative_price(tmp_path):
    path = tmp_path / "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    path.write_text(TARDIS_HEAD + "binance-futures,BTCUSDT,1723161260000000,1723161260001000,"
                    "1,buy,-61800.0,0.001\n")
    return path, "line 2: expected a number >= 0"


@pytest.mark.parametrize("make", [_truncated_gzip, _not_json, _wrong_columns, _wrong_header,
                                  _unsorted, _crossed_snapshot, _price_off_the_tick,
                                  _milliseconds_for_microseconds, _beyond_int64,
                                  _ws_data_not_an_object, _ws_event_not_a_name,
                                  _ws_symbol_not_text, _ws_time_not_an_integer,
                                  _negative_price])
def test_bad_recorded_data_is_one_line_naming_file_and_line_exit_2_and_no_output(
        tmp_path, capsys, make):
    path, expected = make(tmp_path)
    assert main(["data", "inspect", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"liqsim: error: {path}: line ") and expected in err, err


def test_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "nope.gz")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "nope.gz" in err and err.count("\n") == 1


def test_a_file_of_an_unknown_symbol_is_refused_naming_it(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text(TARDIS_HEAD.replace("\n", "") + "\nbinance-futures,DOGEUSDT,1723161260000000,"
                    "1723161260001000,1,buy,0.1,1\n")
    assert main(["data", "inspect", str(path)]) == 2
    assert "binance:DOGEUSDT" in capsys.readouterr().err


def test_a_zero_recorded_index_price_is_bad_data_not_an_internal_error(tmp_path, capsys):
    src = SAMPLES / "binance/indexPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2024-08-08.csv"
    path = tmp_path / "indexPriceKlines/BTCUSDT/1m" / src.name
    path.parent.mkdir(parents=True)
    head, first, *rest = src.read_text().splitlines(keepends=True)
    cells = first.split(",")
    cells[4] = "0"                              # the close price of the first minute
    path.write_text(head + ",".join(cells) + "".join(rest))
    out = tmp_path / "out"
    assert main(["replay", "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: line 2: expected a price of at least one tick" in err
    assert not out.exists()


def test_a_data_file_given_twice_by_any_spelling_is_refused_before_a_run(tmp_path, capsys):
    # It was merged with itself: every recorded trade and liquidation replayed twice.
    trades = SAMPLES / "binance/BTCUSDT-trades-2024-08-08.csv"
    link = tmp_path / "link" / trades.name          # the name tells the format
    link.parent.mkdir()
    link.symlink_to(trades)
    for second in (str(link), str(trades.parent / "." / trades.name)):
        out = tmp_path / "out"
        assert main(["replay", "--data", str(trades), second, "--out", str(out)]) == 2
        stdout, err = capsys.readouterr()
        assert stdout == "" and err.count("\n") == 1 and not out.exists()
        assert err == (f"liqsim: error: {second}: expected each --data file once, got the "
                       f"same file as {trades}\n"), err
