"""Order-book throughput on workload A (docs/reference/peers.md, "Measured here").

Groups
    ``orderbook-workload``        ``OrderBook`` through its public API, and the plain reference
                                  (``plain_reference.PlainReferenceBook``), on the same ops.
    ``orderbook-workload-ratio``  both engines interleaved in one process, best of
                                  ``COMPARE_REPEATS`` each, in CPU time of this process;
                                  records ops/s and the ratio book/reference in
                                  ``extra_info``.  The issue's bar is 1.2; measured on
                                  2026-11-25 (2 cores, 9 runs) 1.23-1.28, median 1.27,
                                  since resting records became GC-untracked tuples
                                  (before: 1.18-1.22).  The test asserts a regression
                                  guard, ``ratio >= MIN_RATIO`` (1.15), with room for a
                                  noisy CI machine; the bar is checked by running it.

The workload is generated and turned into plain tuples before any timing.  The timed loop
is what a user would write: ``book.submit(order_id=..., account=..., side=..., price=...,
qty=...)`` for adds, ``book.cancel(id)`` for cancels and an IOC limit order at the capped
price for marketable orders, counting the fills returned.  Every run -- timed or not, and
with ``--benchmark-disable`` where the fixture calls the function once -- checks the final
state (resting count, bid/ask volume, best bid/ask), the number of fills and the number of
successful cancels against the generator.

Run:  ``python -m pytest benchmarks/bench_orderbook.py -q -p no:cacheprovider --benchmark-only``
"""
from __future__ import annotations

import functools

import pytest

from engine.outputs.timing import cpu_timed
from engine.sweeps.bench import run_book, run_reference
from engine.sweeps.plain_reference import PlainReferenceBook
from engine.sweeps.workload import DEFAULT_SEED, FinalState, describe, generate
from orderbook import OrderBook, Side, TimeInForce

FULL_N = 200_000       # the whole file runs in well under 60 s at this size
SMALL_N = 5_000        # exactness check (fill by fill, plus the book's own invariants)
ROUNDS = 5
COMPARE_REPEATS = 7
ISSUE_BAR = 1.2        # the issue's bar: OrderBook ops/s >= 1.2 x the plain reference's
MIN_RATIO = 1.15       # asserted: a regression guard (measured 1.23-1.28 CPU time, see above)


@functools.lru_cache(maxsize=None)
def _workload(n_ops: int):
    w = generate(n_ops, DEFAULT_SEED)
    return w, w.ops()


# ------------------------------------------------------------------ the timed loops
# ``run_book`` / ``run_reference``: engine.sweeps.bench (also behind ``liqsim bench``).

# ------------------------------------------------------------------ verification
def book_state(book: OrderBook) -> FinalState:
    return FinalState(len(book), book.volume(Side.BUY), book.volume(Side.SELL),
                      book.best_bid(), book.best_ask())


def reference_state(ref: PlainReferenceBook) -> FinalState:
    return FinalState(len(ref), ref.bid_volume(), ref.ask_volume(), ref.best_bid(),
                      ref.best_ask())


def check(result, state_of, w) -> None:
    engine, fills, cancels = result
    assert state_of(engine) == w.expected
    assert fills == w.expected_fills
    assert cancels == w.stats["cancels"]


def _record_ops(benchmark, n_ops: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None with --benchmark-disable
        benchmark.extra_info["n_ops"] = n_ops
        benchmark.extra_info["ops_per_s_best"] = round(n_ops / stats.stats.min)
        benchmark.extra_info["ops_per_s_median"] = round(n_ops / stats.stats.median)


# ------------------------------------------------------------------ benchmarks
@pytest.mark.benchmark(group="orderbook-workload")
def test_workload_orderbook(benchmark):
    w, ops = _workload(FULL_N)
    result = benchmark.pedantic(run_book, setup=lambda: ((OrderBook(), ops), {}),
                                rounds=ROUNDS, warmup_rounds=1)
    check(result, book_state, w)
    _record_ops(benchmark, len(ops))


@pytest.mark.benchmark(group="orderbook-workload")
def test_workload_plain_reference(benchmark):
    w, ops = _workload(FULL_N)
    result = benchmark.pedantic(run_reference, setup=lambda: ((PlainReferenceBook(), ops), {}),
                                rounds=ROUNDS, warmup_rounds=1)
    check(result, reference_state, w)
    _record_ops(benchmark, len(ops))


def _timed(run, engine, ops):
    """CPU seconds of this process for ``run`` and its result, with the objects alive
    before it frozen out of the collector's reach (``engine.outputs.timing.cpu_timed``)."""
    return cpu_timed(run, engine, ops)


@pytest.mark.benchmark(group="orderbook-workload-ratio")
def test_workload_ratio_book_vs_reference(benchmark, capsys):
    """Both engines in this process, interleaved, best of ``COMPARE_REPEATS`` each."""
    w, ops = _workload(FULL_N)
    n = len(ops)

    def compare():
        best_book = best_ref = float("inf")
        for _ in range(COMPARE_REPEATS):
            t, result = _timed(run_book, OrderBook(), ops)
            check(result, book_state, w)
            book_fills = result[1]
            best_book = min(best_book, t)
            del result
            t, result = _timed(run_reference, PlainReferenceBook(), ops)
            check(result, reference_state, w)
            assert result[1] == book_fills
            best_ref = min(best_ref, t)
            del result
        return n / best_book, n / best_ref

    book_ops, ref_ops = benchmark.pedantic(compare, rounds=1, iterations=1)
    ratio = book_ops / ref_ops
    benchmark.extra_info.update({
        "n_ops": n, "repeats": COMPARE_REPEATS, "ops_per_s_book": round(book_ops),
        "ops_per_s_reference": round(ref_ops), "ratio_book_over_reference": round(ratio, 3),
        "min_ratio": MIN_RATIO, "issue_bar": ISSUE_BAR,
    })
    with capsys.disabled():
        print(f"\norderbook workload A ({n:,} ops, best of {COMPARE_REPEATS}): "
              f"OrderBook {book_ops:,.0f} ops/s, plain reference {ref_ops:,.0f} ops/s, "
              f"ratio {ratio:.3f} (issue bar {ISSUE_BAR}; guard >= {MIN_RATIO})")
    assert ratio >= MIN_RATIO, (
        f"OrderBook is {ratio:.3f}x the plain reference ({book_ops:,.0f} vs {ref_ops:,.0f} "
        f"ops/s); the regression guard is {MIN_RATIO}x")


# ------------------------------------------------------------------ exactness (not timed)
def test_workload_small_fill_by_fill():
    """On a small workload both engines produce the same fills, one by one, and reach the
    generator's state; the book's invariants hold throughout."""
    w, ops = _workload(SMALL_N)
    book, ref = OrderBook(), PlainReferenceBook()
    fills = 0
    for i, (kind, oid, side, price, qty, account) in enumerate(ops):
        if kind == 1:
            assert book.cancel(oid)
            assert ref.cancel(oid)
            continue
        ioc = kind == 2
        r = book.submit(order_id=oid, account=account, side=side, price=price, qty=qty,
                        tif=TimeInForce.IOC if ioc else TimeInForce.GTC)
        trades = ref.limit(oid, account, side, price, qty, ioc=ioc)
        assert [(f.maker_id, f.taker_id, f.price, f.qty) for f in r.fills] == trades
        if ioc:
            assert r.filled_qty == qty and r.expired_qty == 0, "a marketable order fills fully"
        else:
            assert not trades and r.resting_qty == qty, "an add never crosses"
        fills += len(trades)
        if i % 500 == 0:
            book._check()
            assert book_state(book)[:3] == reference_state(ref)[:3]
    book._check()
    assert book_state(book) == reference_state(ref) == w.expected
    assert fills == w.expected_fills


def test_workload_statistics():
    """The full workload has the shape the issue describes (docs/reference/peers.md, workload A)."""
    w, _ = _workload(FULL_N)
    s = w.stats
    assert 0.58 < s["adds"] / s["n_ops"] < 0.62
    assert 0.24 < s["cancels"] / s["n_ops"] < 0.26
    assert 0.14 < s["marketable"] / s["n_ops"] < 0.16
    assert 1.8 < s["mean_sweep_levels"] < 2.2
    assert 8_000 < s["final_resting"] < 15_000
    assert 600 < s["mean_bid_levels"] < 1_300 and 600 < s["mean_ask_levels"] < 1_300
    print(describe(w))
