"""The counterfactual replay of recorded data (engine.market.recorded, ``replay --data``):
recorded levels as resting liquidity that follows the feed, recorded trades and liquidations
as orders, recorded index and mark, halts, gaps, the forceOrder feed."""
from __future__ import annotations

import functools
import json
import pathlib


from orderbook.enums import GTC, IOC, LIMIT

from engine.cli import main
from engine.data import inspect
from engine.market.recorded import attach, plan
from engine.outputs.facts import RunView
from engine.outputs.metrics import timeseries_meta
from engine.outputs.forceorders import per_second
from engine.runner import _recorded_scenario
from engine.simulation import Simulation
from engine.data.records import Kind
from engine.data.stream import read
from engine.venue.accounts import RECORDED_BOOK, RECORDED_LIQUIDATED, RECORDED_TAKER
from engine.venue.events import EventKind

ROOT = pathlib.Path(__file__).resolve().parents[3]
REAL = str(ROOT / "replays/data/binance-usdm-btcusdt-20240808.gz")
SAMPLES = ROOT / "tests/data/recorded"
T = 1723161255000000000
S = 1_000_000_000


def _diff(U, u, pu, bids=(), asks=(), E=1723161256000):
    return {"e": "depthUpdate", "E": E, "T": E, "s": "BTCUSDT", "U": U, "u": u, "pu": pu,
            "b": [list(x) for x in bids], "a": [list(x) for x in asks]}


def _snapshot(L, levels=60, step=50, qty="0.500"):
    return {"lastUpdateId": L, "E": 1723161256000, "T": 1723161256000,
            "bids": [[f"{61800.0 - k * step:.1f}", qty] for k in range(levels)],
            "asks": [[f"{61800.1 + k * step:.1f}", qty] for k in range(levels)]}


def _force(side, q, p, ms):
    return {"e": "forceOrder", "E": ms, "o": {"s": "BTCUSDT", "S": side, "o": "LIMIT",
                                              "f": "IOC", "q": q, "p": p, "ap": p,
                                              "X": "FILLED", "l": q, "z": q, "T": ms}}


def _ticker(u, bid, bid_q, ask, ask_q, E=1723161257000):
    return {"e": "bookTicker", "u": u, "s": "BTCUSDT", "b": bid, "B": bid_q, "a": ask,
            "A": ask_q, "E": E, "T": E}


def _trade(p, q, sell, ms, tid):
    return {"e": "trade", "E": ms, "T": ms, "s": "BTCUSDT", "t": tid, "p": p, "q": q,
            "X": "MARKET", "m": sell}


def capture(tmp_path, items, name="cap.txt"):
    path = tmp_path / name
    path.write_text("".join(f"{T + int(t * S)} {json.dumps(m)}\n" for t, m in items))
    return str(path)


def crash(tmp_path):
    """A snapshot, a liquidation that sweeps 3% of a ladder at 5 s, diffs and trades during
    the next 20 s, diffs again from 200 s."""
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100)),
             (1, _diff(98, 105, 95, bids=[("61800.0", "0.600")]))]
    u = 105
    for k in range(40):
        t = 6 + k * 0.5 if k < 20 else 200 + (k - 20)
        items.append((t, _diff(u + 1, u + 5, u, asks=[(f"{61800.1 + (k % 5) * 50:.1f}",
                                                       f"{0.5 + k / 1000:.3f}")])))
        u += 5
    items.append((5, _force("SELL", "20.000", "59000.0", 1723161260000)))
    items += [(7 + k, _trade("61700.0", "0.010", True, 1723161262000 + k, 10 + k))
              for k in range(5)]
    return capture(tmp_path, sorted(items, key=lambda x: x[0]))


def replay(paths, breaker=None, scenario=None, allow_gaps=False, setup=None):
    p = plan(paths, allow_gaps)
    sim = Simulation(_recorded_scenario(p, scenario), breaker=breaker, seed=0)
    market = attach(sim, p)
    if setup is not None:
        setup(sim)
    sim.run()
    sim.exchange.check_conservation()
    return sim, market


def test_recorded_levels_rest_as_one_order_each_and_follow_the_feed(tmp_path):
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (1, _diff(98, 105, 95, bids=[("61800.0", "0.000"), ("61799.0", "2.000")])),
             (2, _diff(106, 110, 105, asks=[("61800.1", "0.250")], bids=[("61750.0", "0.7")])),
             (3, _diff(111, 112, 110, bids=[("61800.1", "1.000")],
                       asks=[("61800.1", "0.000")]))]      # a level changes sides
    sim, market = replay([capture(tmp_path, items)])
    feed = {(1, p): q for p, q in market.feed.bids.items()}
    feed.update({(-1, p): q for p, q in market.feed.asks.items()})
    book = sim.exchange.books[0]
    resting = {k: book.resting_qty(oid) for k, oid in market.orders.items()}
    assert resting == feed and (1, 618001) in feed and (1, 618000) not in feed
    assert all(sim.exchange._orders[oid][0] == RECORDED_BOOK for oid in market.orders.values())


def _taker_prints(sim, account=RECORDED_TAKER):
    log = sim.log.to_array()
    t = log[(log["kind"] == EventKind.TRADE) & (log["account"] == account)]
    return list(zip(t["price"].tolist(), t["qty"].tolist(), t["side"].tolist(),
                    t["other"].tolist()))


@functools.cache
def _real():
    """The empty replay of the real capture (run once; tests only read it) and the widest
    replayed spread in ticks after any recorded message or trade."""
    p = plan([REAL])
    sim = Simulation(_recorded_scenario(p, None), seed=0)
    market = attach(sim, p)
    book, apply, widest = sim.exchange.books[0], market._apply, [0]

    def applied(ts, r):
        apply(ts, r)
        b, a = book.best_bid(), book.best_ask()
        if b is not None and a is not None and a - b > widest[0]:
            widest[0] = a - b
    market._apply = applied
    sim.run()
    sim.exchange.check_conservation()
    return sim, market, widest[0]


def test_an_empty_replay_of_the_real_capture_prints_its_tape_exactly_with_no_oi():
    sim, market, _ = _real()
    c = market.counters
    # 5,213 trades in the slice; the 5 printed before its snapshot are skipped with the
    # 86 tops before it (the run starts at the snapshot)
    assert c["trades_sent"] == 5208 and c["book_messages"] == 2854
    assert c["before_book_synced"] == 91
    # every recorded trade prints once, at its recorded price, size and side, in order
    p = plan([REAL])
    tape = []
    for batch in read([REAL]):
        b = batch[(batch["kind"] == int(Kind.TRADE)) & (batch["ts_local"] >= p.t0)]
        tape += zip(b["price"].tolist(), b["qty"].tolist(), b["side"].tolist())
    assert len(tape) == 5208
    assert [x[:3] for x in _taker_prints(sim)] == tape
    assert c["trades_filled_lots"] == c["trades_lots"] == sum(q for _, q, _ in tape)
    assert "trades_partly_unfilled" not in c and "trades_unprinted" not in c
    # the tape needed both rules (measured: 192 stale levels, 79,882 implied lots; before
    # the top-of-book rule 209 and 13,038: 62% of the implied lots now are trades the
    # bookTicker showed, by exchange time, before the trade stream delivered them)
    assert c["stale_levels_cleared"] > 0 and c["implied_lots"] > 0
    # the recorded accounts hold positions, but the reported OI is the population's: none
    assert sim.exchange.open_interest[0] > 0
    assert set(sim.sampler.columns["open_interest_lots"]) == {0}
    # at the end the counterfactual top is the tape's and the bookTicker's: the capture ends
    # 28 ms into a sell sweep from 61,715.7 down to 61,706.3 whose diff never came, so the
    # feed still shows the bids it took -- stale, cleared -- and its asks above the
    # ticker's last ask 61,706.4 (0.346 BTC; its bid 61,706.3 0.862 BTC, then 0.049 sold)
    book = sim.exchange.books[0]
    bb, _, ba, _ = market.feed.top()
    assert (book.best_bid(), book.best_ask()) == (tape[-1][0], 617064)
    assert bb == 617157 and ba == 617158
    assert (book.level_qty(1, 617063), book.level_qty(-1, 617064)) == (862 - 49, 346)
    below = {p: q for p, q in market.feed.bids.items() if p < tape[-1][0]}
    assert below and {p: book.level_qty(1, p) for p in below} == below


def test_the_run_starts_when_the_recorded_book_is_first_two_sided(tmp_path):
    items = [(0, _trade("61800.0", "0.010", True, 1723161255000, 1)),
             (0.2, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (1.5, _trade("61800.0", "0.010", True, 1723161256500, 2))]
    p = plan([capture(tmp_path, items)])
    assert p.t0 == T + S // 2                       # the snapshot's local time
    sim, market = replay([capture(tmp_path, items)])
    # the first trade is skipped (the stale diff never leaves the reader)
    assert market.counters["before_book_synced"] == 1
    assert market.counters["trades_sent"] == 1
    book = sim.exchange.books[0]
    assert book.best_bid() is not None and book.best_ask() is not None


POP = 1000          # a population account's id (engine.venue.accounts)


def _population_order(at_s, side, qty, price, tif=IOC):
    """A setup for ``replay``: account POP sends one order ``at_s`` seconds into the run."""
    def setup(sim):
        ex = sim.exchange
        ex.open_account(0, POP, deposit=10**6 * sim.instrument.quanta_per_unit)
        sim.schedule(int(at_s * S), 0, lambda ts: ex.submit(
            ts, POP, 0, side, qty, price=price, tif=tif, order_type=LIMIT,
            post_only=tif == GTC))
    return setup


def test_a_recorded_trade_prints_the_liquidity_the_book_lacks_at_its_price_as_implied(
        tmp_path):
    # the ask 61800.1 holds 0.5 BTC; the recorded buy there is 0.7: the tape proves the rest
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (2, _trade("61800.1", "0.700", False, 1723161257000, 1))]
    sim, market = replay([capture(tmp_path, items)])
    assert _taker_prints(sim) == [(618001, 700, 1, RECORDED_BOOK)]      # one print
    c = market.counters
    assert c["implied_lots"] == 200 and c["trades_filled_lots"] == 700
    assert "trades_partly_unfilled" not in c
    assert sim.exchange.books[0].level_qty(-1, 618001) == 0


def test_recorded_liquidity_the_population_consumed_is_not_implied_again(tmp_path):
    # the population buys 0.3 of the 0.5 at 61800.1 at 1 s; the recorded buy of 0.7 there
    # at 1.5 s finds 0.2: of the 0.5 it lacks, 0.3 is what the population took (a
    # counterfactual fill failure, kept) and 0.2 is implied
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (2, _trade("61800.1", "0.700", False, 1723161257000, 1))]
    sim, market = replay([capture(tmp_path, items)],
                         setup=_population_order(1, 1, 300, 618001))
    assert _taker_prints(sim, POP) == [(618001, 300, 1, RECORDED_BOOK)]
    assert _taker_prints(sim) == [(618001, 400, 1, RECORDED_BOOK)]
    c = market.counters
    assert c["implied_withheld_lots"] == 300 and c["implied_lots"] == 200
    assert c["trades_partly_unfilled"] == 1 and c["trades_lots"] - c["trades_filled_lots"] == 300
    assert "trades_unprinted" not in c      # 0.4 printed: partly, not unprinted
    # a diff re-setting the level forgets the depletion: the next trade is implied in full
    items.insert(2, (1.8, _diff(98, 105, 95, asks=[("61800.1", "0.200")])))
    sim, market = replay([capture(tmp_path, items, "cap2.txt")],
                         setup=_population_order(1, 1, 300, 618001))
    assert _taker_prints(sim) == [(618001, 700, 1, RECORDED_BOOK)]
    assert "implied_withheld_lots" not in market.counters


def test_recorded_levels_better_than_a_trade_are_stale_but_population_orders_fill_first(
        tmp_path):
    # a recorded buy at 61850.1 proves the recorded ask 61800.1 was gone; the
    # population's ask at 61820.0 (placed at 1 s) was not in the recording: the recorded
    # taker fills it first, then the recorded level at its price
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (2, _trade("61850.1", "0.400", False, 1723161257000, 1))]
    sim, market = replay([capture(tmp_path, items)],
                         setup=_population_order(1, -1, 100, 618200, tif=GTC))
    assert _taker_prints(sim) == [(618200, 100, 1, POP), (618501, 300, 1, RECORDED_BOOK)]
    assert market.counters["stale_levels_cleared"] == 1
    book = sim.exchange.books[0]
    assert book.level_qty(-1, 618001) == 0 and (-1, 618001) not in market.orders
    assert book.level_qty(-1, 618501) == 200


# --- the top-of-book stream (bookTicker) newer than the diffs --------------------------
def _top_capture(tmp_path, *tickers, name="top.txt"):
    """A 5-level snapshot (L 100), a diff (u 105) at 1 s setting the bid 61750.0 to 0.6,
    then ``tickers`` ((t, message), ...)."""
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (1, _diff(98, 105, 95, bids=[("61750.0", "0.600")])), *tickers]
    return capture(tmp_path, sorted(items, key=lambda x: x[0]), name)


def _resting(sim, market):
    book = sim.exchange.books[0]
    assert market.expect == {k: book.resting_qty(oid) for k, oid in market.orders.items()}
    return dict(market.expect)


def _feed(market):
    return {**{(1, p): q for p, q in market.feed.bids.items()},
            **{(-1, p): q for p, q in market.feed.asks.items()}}


def test_a_top_of_book_newer_than_the_last_diff_clears_stale_levels_and_sets_its_sizes(
        tmp_path):
    # the ticker (u 110 > the diff's 105) says bid 61750.0 x 0.8, ask 61850.1 x 0.3: the
    # recorded 61800.0 bid and 61800.1 ask are stale; the feed's own model is unchanged
    top = (2, _ticker(110, "61750.0", "0.800", "61850.1", "0.300"))
    sim, market = replay([_top_capture(tmp_path, top)])
    resting, feed = _resting(sim, market), _feed(market)
    assert (1, 618000) not in resting and (-1, 618001) not in resting
    assert resting[(1, 617500)] == 800 and resting[(-1, 618501)] == 300
    assert feed[(1, 618000)] == 500 and feed[(1, 617500)] == 600
    assert {k: v for k, v in resting.items() if k[1] not in (617500, 618501)} == {
        k: v for k, v in feed.items() if k[1] not in (618000, 618001, 617500, 618501)}
    c = market.counters
    assert c["tops_applied"] == 1 and c["top_stale_levels_cleared"] == 2
    # the next diff re-syncs the absolute sizes it carries, as before
    diff = (3, _diff(106, 112, 105, bids=[("61800.0", "0.000"), ("61750.0", "0.700")]))
    sim, market = replay([_top_capture(tmp_path, top, diff, name="top2.txt")])
    resting = _resting(sim, market)
    assert resting[(1, 617500)] == 700 and (1, 618000) not in resting
    assert sim.exchange.books[0].best_bid() == 617500


def test_a_top_of_book_older_than_or_as_old_as_the_last_diff_is_ignored(tmp_path):
    sim, market = replay([_top_capture(
        tmp_path, (2, _ticker(104, "61750.0", "0.800", "61850.1", "0.300")),
        (2.5, _ticker(105, "61750.0", "0.800", "61850.1", "0.300")))])
    assert _resting(sim, market) == _feed(market)
    assert market.counters["top_older_ignored"] == 2 and "tops_applied" not in market.counters


def test_a_top_of_book_without_update_ids_is_newer_only_when_later_than_the_diff(tmp_path):
    # (assumed) no ids: by local time, strictly later; at the diff's own instant, ignored
    same = (1, _ticker(0, "61750.0", "0.800", "61850.1", "0.300"))
    sim, market = replay([_top_capture(tmp_path, same)])
    assert _resting(sim, market) == _feed(market)
    assert market.counters["top_older_ignored"] == 1
    later = (1.5, _ticker(0, "61750.0", "0.800", "61850.1", "0.300"))
    sim, market = replay([_top_capture(tmp_path, later, name="top2.txt")])
    assert sim.exchange.books[0].best_bid() == 617500 and market.counters["tops_applied"] == 1


def test_a_trade_the_top_of_book_already_showed_does_not_undo_it(tmp_path):
    # The ticker (exchange time 2 s) shows the fall: bid 61700.0, ask 61750.1.  A sell
    # print at 61760.0 stamped 0.1 s before it arrives after it: it prints at its price,
    # and the ticker's ask -- which the print's own-side rule takes as stale -- stays.
    ms = 1723161257000
    top = (2, _ticker(110, "61700.0", "0.800", "61750.1", "0.300", E=ms))
    old = (2.1, _trade("61760.0", "0.200", True, ms - 100, 1))
    sim, market = replay([_top_capture(tmp_path, top, old)])
    book = sim.exchange.books[0]
    assert _taker_prints(sim)[0][:3] == (617600, 200, -1)
    assert (book.best_bid(), book.best_ask()) == (617000, 617501)
    assert book.level_qty(-1, 617501) == 300 and book.level_qty(1, 617000) == 800
    assert market.counters["tops_reapplied_after_trade"] == 1
    # a print stamped after the ticker is newer: its tape rules stand (the ask it proves
    # stale goes), and the ticker is not applied again
    new = (2.1, _trade("61760.0", "0.200", True, ms + 100, 1))
    sim, market = replay([_top_capture(tmp_path, top, new, name="top2.txt")])
    assert sim.exchange.books[0].best_ask() != 617501
    assert "tops_reapplied_after_trade" not in market.counters


def test_a_diff_older_than_the_top_of_book_does_not_undo_it(tmp_path):
    # The ticker (u 110) sets the bid 61750.0 to 0.8; a later-arriving diff ending at u 108
    # says 0.7 (older): the ticker stays in force; a diff ending at u 112 rules (0.65).
    top = (2, _ticker(110, "61750.0", "0.800", "61850.1", "0.300"))
    older = (2.5, _diff(106, 108, 105, bids=[("61750.0", "0.700")]))
    newer = (3, _diff(109, 112, 108, bids=[("61750.0", "0.650")]))
    sim, market = replay([_top_capture(tmp_path, top, older)])
    assert sim.exchange.books[0].level_qty(1, 617500) == 800
    assert market.counters["tops_reapplied_after_diff"] == 1
    sim, market = replay([_top_capture(tmp_path, top, older, newer, name="top2.txt")])
    assert sim.exchange.books[0].level_qty(1, 617500) == 650
    assert market._top_pair is None and market.counters["tops_reapplied_after_diff"] == 1


def test_a_top_of_book_never_touches_population_orders(tmp_path):
    # the population's bid 61790.0 (placed at 1.5 s) is above the ticker's bid: it stays
    top = (2, _ticker(110, "61750.0", "0.800", "61850.1", "0.300"))
    sim, market = replay([_top_capture(tmp_path, top)],
                         setup=_population_order(1.5, 1, 100, 617900, tif=GTC))
    book = sim.exchange.books[0]
    assert [o.account for o in book.orders_at(1, 617900)] == [POP]
    assert book.level_qty(1, 617900) == 100 and book.best_bid() == 617900
    assert (1, 618000) not in _resting(sim, market)


def test_a_top_of_book_during_a_feed_gap_is_not_applied(tmp_path):
    items = [(0, _diff(90, 95, 89)), (0.05, _snapshot(100, levels=3)),
             (0.1, _diff(99, 101, 98)), (1, _diff(105, 106, 103)),       # a gap
             (1.5, _ticker(200, "61750.0", "0.800", "61850.1", "0.300"))]
    sim, market = replay([capture(tmp_path, items)], allow_gaps=True)
    assert market.orders == {} and market.counters["top_frozen_ignored"] == 1


def test_the_replayed_spread_stays_within_the_tickers_widest_on_the_real_capture():
    sim, market, widest = _real()
    p = plan([REAL])
    tops = []
    for batch in read([REAL]):
        t = batch[(batch["kind"] == int(Kind.TOP)) & (batch["ts_local"] >= p.t0)]
        tops += (t["price"][t["side"] < 0] - t["price"][t["side"] > 0]).tolist()
    assert max(tops) == 48                      # 4.8 USDT: 0.78 bps
    col = sim.sampler.columns
    sampled = [a - b for b, a in zip(col["best_bid"], col["best_ask"]) if b >= 0 <= a]
    assert max(sampled) <= max(tops) + 1        # measured: 1 tick (was 95, at 150 s)
    assert market.counters["tops_applied"] > 25_000
    # Between samples: in a sell sweep at run 91.8 s the ticker (exchange time 1 ms after
    # the trades) shows the bids taken and arrives before them; the trades' tape rule
    # cleared its ask 61,765.2 as stale, leaving 143 ticks for 18 ms, until the pair was
    # kept in force after the trades it already showed (module docstring, top in force).
    # What remains, 141 ticks for 41 ms at 123.93 s, is data: a buy sweep takes the asks
    # from 61,739.8 to 61,753.8 (its trades prove them gone) and no ticker or diff of the
    # capture says where the bid went until the next diff (before the top rule: 173).
    assert widest == 141


def test_the_reported_open_interest_leaves_the_recorded_accounts_out(tmp_path):
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5)),
             (2, _trade("61800.1", "0.400", False, 1723161257000, 1)),
             (4, _diff(98, 105, 95, bids=[("61700.0", "0.100")]))]
    sim, _ = replay([capture(tmp_path, items)], setup=_population_order(1, 1, 300, 618001))
    # the population's long 0.3 is the reported OI; the recorded taker's 0.2 is not
    assert sim.exchange.open_interest[0] == 500
    oi = sim.sampler.columns["open_interest_lots"]
    assert max(oi) == oi[-1] == 300


def test_a_recorded_liquidation_beyond_the_depth_is_a_logged_fill_failure(tmp_path):
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=4)),
             (2, _force("SELL", "5.000", "61700.0", 1723161257000))]
    sim, market = replay([capture(tmp_path, items)])
    log = sim.log.to_array()
    unfilled = log[(log["kind"] == EventKind.LIQUIDATION_UNFILLED)
                   & (log["account"] == RECORDED_LIQUIDATED)]
    # 3 bids within 61700 (61800, 61750, 61700) of 0.5 each: 1.5 of 5 BTC fill
    assert unfilled["qty"].tolist() == [3500]
    assert market.counters["liquidations_unfilled"] == 1


def test_a_halt_freezes_the_recorded_levels_refuses_recorded_trades_and_resyncs_after(
        tmp_path):
    path = crash(tmp_path)
    calm, m0 = replay([path], breaker="none")
    halted, m1 = replay([path], breaker="xetra-vi")
    assert m0.counters["liquidations_unfilled"] == 0 and m0.counters["full_resyncs"] == 0
    assert halted.exchange.halts >= 1
    assert m1.counters["liquidations_unfilled"] == 1           # clipped at the corridor
    assert m1.counters["trades_refused"] >= 1 and m1.counters["full_resyncs"] >= 1
    book = halted.exchange.books[0]
    resting = {k: book.resting_qty(oid) for k, oid in m1.orders.items()}
    feed = {(1, p): q for p, q in m1.feed.bids.items()}
    feed.update({(-1, p): q for p, q in m1.feed.asks.items()})
    assert resting == {k: v for k, v in feed.items() if k in resting}
    assert len(resting) >= len(feed) - 2      # (a level may be refused: it would cross)


def test_the_index_and_mark_follow_the_recorded_values_where_the_data_has_them(tmp_path):
    mark_file = SAMPLES / "binance-ws/btcusdt-forceorder-markprice-composed.txt"
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=5))]
    items += [(1 + k, _diff(96 + 5 * k, 100 + 5 * k, 95 + 5 * k if k else 95,
                            bids=[(f"{61800.0 - k / 10:.1f}", "1.000")])) for k in range(150)]
    book = capture(tmp_path, items)
    sim, market = replay([book, str(mark_file)])
    assert sim.mark_policy is market.mark and not market.mid_index
    # the exchange's mark at the end is the last recorded one; the index the recorded one
    assert sim.exchange.marks[0] == market.mark.px[-1] == 618004      # 61803.2 - 140/50
    assert sim.index_ticks == market.index.px[-1] == 617991           # 61804.2 - 1.3 - 2.8
    sim2, m2 = replay([book])
    assert m2.mid_index and m2.mark is None
    bb, _, ba, _ = m2.feed.top()
    assert sim2.index_ticks == (bb + ba) // 2                         # the feed's mid


def test_a_gap_is_refused_naming_its_line_unless_allow_gaps(tmp_path, capsys):
    items = [(0, _diff(90, 95, 89)), (0.05, _snapshot(100, levels=3)),
             (0.1, _diff(99, 101, 98)), (1, _diff(105, 106, 103)),       # line 4: a gap
             (2, _snapshot(110, levels=3)), (3, _diff(109, 111, 108))]
    path = capture(tmp_path, items)
    out = tmp_path / "run"
    assert main(["replay", "--data", path, "--out", str(out)]) == 2
    o, err = capsys.readouterr()
    assert o == "" and f"{path}: line 4: expected an unbroken update-id chain" in err
    assert not out.exists()
    assert main(["replay", "--data", path, "--allow-gaps", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recorded"]["gaps"] == [f"{path}: line 4"]
    assert summary["recorded"]["counters"]["snapshots"] == 2



# --- what a recorded run's outputs may score (engine.outputs.metrics.feed_meta) ---------
def _steady(levels, step, gap_at=None, resync_at=None, until=10):
    """A snapshot of ``levels`` a side ``step`` apart, then a diff a second to ``until`` s;
    with ``gap_at``, one diff is missing there (a GAP), and ``resync_at`` a new snapshot."""
    items = [(0, _diff(90, 95, 89)), (0.5, _snapshot(100, levels=levels, step=step))]
    u, first = 95, 99                       # the first diff after a snapshot L spans L + 1
    for k in range(1, until + 1):
        if resync_at is not None and k == resync_at:
            items.append((k - 0.5, _snapshot(u + 50, levels=levels, step=step)))
            u, first = u + 50, u + 49
        if gap_at is not None and k == gap_at:
            u += 5                                  # the diff u+1..u+5 never arrived
        items.append((k, _diff(first or u + 1, u + 2, u,
                               bids=[("61800.0", f"{0.5 + k / 100:.3f}")])))
        u, first = u + 2, None
    return items


def _run(tmp_path, items, allow_gaps=False, extra=()):
    from engine.runner import run_recorded
    return run_recorded([capture(tmp_path, items), *extra], allow_gaps=allow_gaps)


def test_a_depth_band_beyond_the_recorded_snapshot_is_not_measured(tmp_path):
    # 5 levels 10 apart: the snapshot covers 40.1 ticks of 61,800 a side, -0.06%/+0.06%
    r = _run(tmp_path, _steady(5, 10))
    s, why = r.summary, "the capture's snapshot covers -0.06%/+0.06%"
    feed = timeseries_meta(r.timeseries)["feed"]
    assert feed["bands_incomplete_ppm"] == [5_000, 10_000, 20_000, 50_000]
    assert "bid_depth_1pct" in r.timeseries.column_names          # kept, stated
    for key in ("vacuum_seconds", "min_depth_1pct_ratio", "depth_baseline_1pct",
                "vacuum_open_at_end"):
        assert s[key] is None and s["not_measured"][key].endswith(why)
    assert s["facts"]["1"]["verdict"] == "NOT MEASURABLE" and why in s["facts"]["1"]["figure"]
    # 60 levels 50 apart (+-4.8%): the 0.5-2% bands are measured, the 5% band is not
    r = _run(tmp_path, _steady(60, 50))
    wide, view = r.summary, RunView.from_result(r)
    assert wide["vacuum_seconds"] == 0.0 and wide["min_depth_1pct_ratio"] is not None
    assert "depth_baseline_1pct" not in wide["not_measured"]
    assert view.band_why(20_000) is None
    assert view.band_why(50_000).startswith("depth within 5% reaches beyond the recorded book")


def test_a_feed_gap_is_not_scored_as_a_vacuum_or_a_one_sided_book(tmp_path):
    # the run starts at the snapshot (0.5 s); the feed is void from the gap (4 s: run
    # 3.5 s) to the next snapshot (7.5 s: run 7 s): the rows sampled at 4, 5 and 6 s
    r = _run(tmp_path, _steady(60, 50, gap_at=4, resync_at=8), allow_gaps=True)
    s = r.summary
    assert s["recorded"]["counters"]["gaps"] == 1
    assert s["feed_gap_seconds"] == 3.0
    assert s["vacuum_seconds"] == 0.0 and s["one_sided_seconds"] == 0.0
    assert s["min_depth_1pct_ratio"] > 0.9
    assert timeseries_meta(r.timeseries)["feed"]["void_ns"] == [[3_500_000_000, 7 * S]]
    # never resynchronised (the diffs after a gap are dropped; trades go on to 9 s): void
    # from run 3.5 s to the end, the rows at 4-9 s, and no vacuum "still open" at the end
    items = _steady(60, 50, gap_at=4) + [
        (k, _trade("61790.0", "0.001", True, 1723161255000 + 1000 * k, 50 + k))
        for k in range(5, 10)]
    s = _run(tmp_path, sorted(items, key=lambda x: x[0]), allow_gaps=True).summary
    assert s["feed_gap_seconds"] == 6.0 and s["vacuum_seconds"] == 0.0
    assert s["vacuum_open_at_end"] is False and s["one_sided_seconds"] == 0.0


def test_a_recorded_index_that_is_the_venues_own_mid_scores_no_wick_or_amplification(tmp_path):
    s = _run(tmp_path, _steady(60, 50)).summary
    why = "the index is the venue's own mid"
    assert s["facts"]["4"]["verdict"] == "NOT MEASURABLE" and s["facts"]["4"]["figure"] == why
    assert s["amplification"] is None and s["max_mark_index_gap_pct"] is None
    assert s["not_measured"]["amplification"] == s["not_measured"]["max_mark_index_gap_pct"] \
        == why
    # with a recorded index (markPriceUpdate's i) both are measured again
    mark_file = SAMPLES / "binance-ws/btcusdt-forceorder-markprice-composed.txt"
    s = _run(tmp_path, _steady(60, 50), extra=[str(mark_file)]).summary
    assert s["max_mark_index_gap_pct"] is not None and "amplification" not in s["not_measured"]
    assert s["facts"]["4"]["figure"] != why

def test_replay_data_writes_the_ordinary_outputs_approximations_and_forceorder_feeds(
        tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["replay", "--data", REAL,
                 str(SAMPLES / "tardis/binance-futures_liquidations_2024-08-08_BTCUSDT.csv"),
                 "--scenario", str(SAMPLES / "recorded-population.toml"),
                 "--out", str(out)]) == 0
    assert {"summary.json", "events.parquet", "timeseries.parquet", "scenario.toml",
            "forceorders-latest.txt", "forceorders-largest.txt"} <= {p.name for p in out.iterdir()}
    s = json.loads((out / "summary.json").read_text())
    rec = s["recorded"]
    assert any("queue positions" in a for a in rec["approximations"])
    assert any("one liquidation per symbol per second" in a for a in rec["approximations"])
    assert rec["counters"]["liquidations_sent"] == 3 and s["liquidations_count"] > 0
    feed = inspect([str(out / "forceorders-latest.txt")])
    seconds = feed["messages"]["forceOrder"]
    assert 0 < seconds < s["liquidations_count"]     # throttled to one per second
    out = capsys.readouterr().out
    assert "recorded liquidations: 3 sent" in out
    c = rec["counters"]
    assert (f"recorded trades: 5208 sent, 0 refused, {c.get('trades_unprinted', 0)} "
            f"unprinted, {c['trades_partly_unfilled']} partly "
            f"unfilled ({c['trades_lots'] - c['trades_filled_lots']} lots), "
            f"{c['implied_lots']} lots implied, {c['stale_levels_cleared']} stale levels "
            f"cleared; gaps 0") in out
    # the population took recorded liquidity a recorded trade then lacked: not implied;
    # some such trades printed nothing at all, counted apart from the partly printed
    assert c["trades_partly_unfilled"] > 0 and c["implied_withheld_lots"] > 0
    assert c["trades_unprinted"] > 0


def test_the_feed_keeps_the_latest_or_the_largest_liquidation_of_each_second():
    msgs = [(t, v, {"E": t // 10**6, "k": k}) for k, (t, v) in
            enumerate([(1 * S, 5), (1 * S + 10**8, 9), (1 * S + 9 * 10**8, 2), (2 * S, 1)])]
    assert [m[2]["k"] for m in per_second(msgs, "latest")] == [2, 3]
    assert [m[2]["k"] for m in per_second(msgs, "largest")] == [1, 3]
