"""``liqsim bench``: the throughput measurements, each figure a ratio of two things timed in
the same run on the same machine (docs/performance.md keeps the history).

* ``book_vs_reference``: workload A (``workload``, docs/reference/peers.md "Measured here")
  through ``orderbook.OrderBook`` and through the plain SortedDict+deque reference
  (``plain_reference``), interleaved, best of ``repeats`` each; ops/s of the book over the
  reference's (bar >= 1.2).  Both checked against the generator's final state.
* ``engine_vs_book`` / ``engine_vs_floor`` / ``floor_vs_book``: bench-cascade (the full run,
  or with ``quick`` the reduced one: scale 0.1, 120 s) through ``engine.run`` -- set-up, the
  loop, the time series and the summary -- against the exact ``submit``/``cancel`` calls
  that reached its book (``runner.record_flow``) replayed through a bare ``OrderBook``
  (``book_loop``), and through the bare book plus one packed log row and an owner map per
  order (``floor_loop``: what any exchange that logs its orders pays; the engine's bar is
  within 1.3x of it).  The engine runs in a fresh (spawned) process, one run per repeat,
  interleaved with the book and floor replays in this one, so neither sees the other's
  memory (the recorded flow is ~1 GB of tuples at full scale); ``peak_rss_mb`` is that
  process's peak, the engine's own.  Each ratio: of the best times, with the per-repeat
  spread.  ``engine_events_per_second``: events in the log over the engine's best time.
* ``sweep_speedup_2_workers``: a grid of 8 replays (seeds 0-7; flash-drop at scale 0.01
  with ``quick``, else the reduced bench-cascade, twice alternated) run by ``liqsim
  sweep``'s executor -- results written as runs finish, as a real sweep does -- with 1
  local worker, then with 2; best wall time of the first over the second's (bar >= 1.8;
  it needs 2 idle cores: ``load_average_start``/``_end`` say what else ran, and
  ``machine_speedup_2_workers`` -- pure CPU work on the same pools, just before and after --
  what a second worker could gain on this machine then).

Times are CPU seconds of the process doing the work (``outputs.timing.cpu_timed``), so a
process sharing the machine weighs less on a ratio, except the sweep's, which is wall time
by nature.  Pure measurement: nothing here changes a run.
"""
from __future__ import annotations

import multiprocessing
import os
import pathlib
import platform
import tempfile
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

from orderbook import OrderBook

from ..outputs.timing import cpu_stopwatch, cpu_timed, peak_rss_mb, stopwatch
from ..venue.events import ORDER_ROW, EventKind
from .plain_reference import PlainReferenceBook
from .workload import DEFAULT_N_OPS, DEFAULT_SEED, generate

_ACCEPTED = int(EventKind.ORDER_ACCEPTED)
_CANCELLED = int(EventKind.ORDER_CANCELLED)

REDUCED = dict(scale=Fraction(1, 10), overrides=["scenario.duration_s=120",
                                                   "scenario.event_start_s=40",
                                                   'index.path=[[0, "100000"], [40, "100000"], '
                                                   '[100, "94000"], [120, "95000"]]',
                                                   "flows.0.window=[40, 100]"])
FULL = dict(scale=Fraction(1), overrides=[])
CASCADE = "bench-cascade"
CASCADE_SEED = 1
BARS = {"book_vs_reference": (">=", 1.2), "engine_vs_floor": ("<=", 1.3),
        "sweep_speedup_2_workers": (">=", 1.8), "peak_rss_mb": ("<=", 1850)}


# ------------------------------------------------------------------ book workload A
# Op kinds are literals (0 add, 1 cancel, 2 marketable; workload.ADD/CANCEL/TAKE) to keep
# global lookups out of both loops alike.  The two loops are the same shape on purpose: each
# is what a user of that API writes, with the same local bindings, so neither is favoured.
def run_book(book: OrderBook, ops: list):
    """Workload A through ``OrderBook``'s public API: ``(book, fills, cancels)``."""
    from orderbook import TimeInForce
    submit = book.submit
    cancel = book.cancel
    ioc = TimeInForce.IOC
    fills = cancels = 0
    for kind, oid, side, price, qty, account in ops:
        if kind == 0:
            submit(order_id=oid, account=account, side=side, price=price, qty=qty)
        elif kind == 1:
            if cancel(oid):
                cancels += 1
        else:
            fills += len(submit(order_id=oid, account=account, side=side, price=price, qty=qty,
                                tif=ioc).fills)
    return book, fills, cancels


def run_reference(book: PlainReferenceBook, ops: list):
    """Workload A through the plain reference: ``(book, fills, cancels)``."""
    limit = book.limit
    cancel = book.cancel
    fills = cancels = 0
    for kind, oid, side, price, qty, account in ops:
        if kind == 0:
            limit(order_id=oid, account=account, side=side, price=price, qty=qty)
        elif kind == 1:
            if cancel(oid):
                cancels += 1
        else:
            fills += len(limit(order_id=oid, account=account, side=side, price=price, qty=qty,
                               ioc=True))
    return book, fills, cancels


def book_vs_reference(n_ops: int, repeats: int) -> dict:
    """Workload A of ``n_ops``, both books interleaved, best of ``repeats`` (module
    docstring).  Each run's fills and cancels are checked against the generator's."""
    w = generate(n_ops, DEFAULT_SEED)
    ops = w.ops()
    book_s, ref_s = [], []
    for _ in range(repeats):
        for runner, make, times in ((run_book, OrderBook, book_s),
                                    (run_reference, PlainReferenceBook, ref_s)):
            t, (_, fills, cancels) = cpu_timed(runner, make(), ops)
            if fills != w.expected_fills or cancels != w.stats["cancels"]:
                raise AssertionError(f"{runner.__name__}: {fills} fills, {cancels} cancels; "
                                     f"expected {w.expected_fills}, {w.stats['cancels']}")
            times.append(t)
    runs = [r / b for b, r in zip(book_s, ref_s)]
    return {"book_vs_reference": round(min(ref_s) / min(book_s), 3),
            "book_vs_reference_runs": [round(x, 3) for x in runs],
            "book_ops_per_second": round(n_ops / min(book_s)),
            "reference_ops_per_second": round(n_ops / min(ref_s)), "workload_ops": n_ops}


# ------------------------------------------------------------------ the engine vs its book
def book_loop(flow) -> int:
    """The recorded calls through bare books (one per instrument); returns the calls."""
    books = [OrderBook()]
    for call in flow:
        if len(call) == 2:
            books[call[0]].cancel(call[1])
        else:
            inst, oid, acct, side, price, qty, tif, ot, po, ro, stp = call
            books[inst].submit(oid, acct, side, price, qty, tif, ot, po, ro, stp)
    return len(flow)


def floor_loop(flow) -> int:
    """The recorded calls through bare books plus only what any exchange must add to each
    order -- one packed log row (``ORDER_ROW``) and an owner map of the resting orders (set
    on rest, popped on cancel) -- and nothing else: no accounts, no risk, no market makers,
    no set-up.  Its time over ``book_loop``'s is what logging every order costs by itself;
    the engine's over it is what everything else costs."""
    books = [OrderBook()]
    pack = ORDER_ROW.pack
    buf = bytearray()
    owners = {}
    for call in flow:
        if len(call) == 2:
            inst, oid = call
            owner = owners.pop(oid, None)
            qty = books[inst].cancel(oid)
            if owner is not None:
                buf += pack(0, _CANCELLED, owner[2], inst, owner[0], oid, owner[3], qty)
        else:
            inst, oid, acct, side, price, qty, tif, ot, po, ro, stp = call
            r = books[inst].submit(oid, acct, side, price, qty, tif, ot, po, ro, stp)
            if r[4]:
                owners[oid] = (acct, inst, side, price)
            buf += pack(0, _ACCEPTED, side, inst, acct, oid, price or 0, qty)
    return len(buf)


def _engine_once(scale, overrides) -> tuple[float, int, float]:
    """One engine run in this (worker) process: CPU seconds, events, peak RSS in MB."""
    from ..runner import run
    elapsed = cpu_stopwatch()
    r = run(CASCADE, seed=CASCADE_SEED, scale=scale, overrides=overrides)
    seconds = elapsed()
    return seconds, r.summary["events_processed"], peak_rss_mb()


def engine_vs_book(cfg: dict, repeats: int) -> dict:
    """bench-cascade through the engine, the bare book and the floor (module docstring)."""
    from ..runner import record_flow
    flow, n_events = record_flow(CASCADE, CASCADE_SEED, cfg["scale"], cfg["overrides"])
    engine_s, book_s, floor_s, rss = [], [], [], 0.0
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in range(repeats):
            seconds, events, peak = pool.submit(_engine_once, cfg["scale"],
                                                cfg["overrides"]).result()
            if events != n_events:
                raise AssertionError(f"the engine logged {events} events, the recorded run "
                                     f"{n_events}: not the same run")
            engine_s.append(seconds)
            rss = max(rss, peak)
            book_s.append(cpu_timed(book_loop, flow)[0])
            floor_s.append(cpu_timed(floor_loop, flow)[0])
    e, b, f = min(engine_s), min(book_s), min(floor_s)
    return {"engine_events": n_events, "book_calls": len(flow),
            "engine_events_per_second": round(n_events / e),
            "engine_vs_book": round(e / b, 3), "engine_vs_floor": round(e / f, 3),
            "floor_vs_book": round(f / b, 3),
            "engine_vs_floor_runs": [round(x / y, 3) for x, y in zip(engine_s, floor_s)],
            "engine_vs_book_runs": [round(x / y, 3) for x, y in zip(engine_s, book_s)],
            "floor_vs_book_runs": [round(x / y, 3) for x, y in zip(floor_s, book_s)],
            "engine_seconds": [round(x, 3) for x in engine_s], "peak_rss_mb": round(rss)}


# ------------------------------------------------------------------ the sweep's scaling
def sweep_speedup(scenario: str, scale: Fraction, overrides: list[str], runs: int = 8,
                  repeats: int = 1) -> dict:
    """``runs`` replays (seeds 0..runs-1) through ``liqsim sweep``'s executor with 1 local
    worker, then 2, ``repeats`` times alternated: the best wall time of the first over the
    best of the second."""
    from .execute import sweep
    from .grid import read
    override_lines = "".join(f"{k!r} = [{v}]\n" for k, _, v in
                             (o.partition("=") for o in overrides))
    text = (f"[sweep]\nscenarios = [{scenario!r}]\nseeds = {list(range(runs))}\n"
            f"scale = \"{scale}\"\n" + (f"[sweep.set]\n{override_lines}" if overrides else ""))
    with tempfile.TemporaryDirectory(prefix="liqsim-bench-") as tmp:
        grid_path = pathlib.Path(tmp) / "grid.toml"
        grid_path.write_text(text)
        grid = read(grid_path)
        seconds = {1: [], 2: []}
        for k in range(repeats):
            for workers in (1, 2):
                elapsed = stopwatch()
                table = sweep(grid, pathlib.Path(tmp) / f"w{workers}-{k}", workers=workers)
                seconds[workers].append(elapsed())
                if table.column("status").to_pylist() != ["ok"] * runs:
                    raise AssertionError(f"a benchmark replay failed: {table.column('error')}")
    return {"sweep_speedup_2_workers": round(min(seconds[1]) / min(seconds[2]), 3),
            "sweep_speedup_runs": [round(a / b, 3) for a, b in zip(seconds[1], seconds[2])],
            "sweep_runs": runs, "sweep_scenario": f"{scenario} scale {scale}",
            "sweep_seconds_1_worker": [round(x, 2) for x in seconds[1]],
            "sweep_seconds_2_workers": [round(x, 2) for x in seconds[2]]}


def _burn(n: int) -> int:
    """Pure CPU work of no interest (the control of ``machine_speedup``)."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_speedup(tasks: int = 4, n: int = 3_000_000) -> dict:
    """The control for ``sweep_speedup``: ``tasks`` pieces of pure-Python CPU work on a
    process pool of 1 worker, then of 2; wall time of the first over the second.  On two
    idle cores it reads ~2; what it reads is what this machine lends a second worker now
    (other processes on the cores take the rest)."""
    seconds = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            elapsed = stopwatch()
            list(pool.map(_burn, [n] * tasks))
            seconds[workers] = elapsed()
    return {"machine_speedup_2_workers": round(seconds[1] / seconds[2], 3)}


def bench(quick: bool = False, progress=None) -> dict:
    """Every measurement (module docstring); ``quick``: smaller inputs, well under a
    minute.  ``progress(text)`` is told before each part."""
    say = progress or (lambda text: None)
    out = {"quick": quick, "cpu_count": os.cpu_count(), "python": platform.python_version(),
           "load_average_start": round(os.getloadavg()[0], 2)}
    say("book vs plain reference (workload A)")
    # Workload A at its published size in both modes (200,000 ops, docs/reference/peers.md):
    # a smaller one is another workload -- a smaller book -- and read ~3% lower.
    out.update(book_vs_reference(DEFAULT_N_OPS, 3 if quick else 7))
    cfg = REDUCED if quick else FULL
    say(f"engine vs book and floor ({'reduced' if quick else 'full'} bench-cascade)")
    out.update(engine_vs_book(cfg, 2 if quick else 3))
    out["cascade"] = "reduced (scale 0.1, 120 s)" if quick else "full"
    say("sweep: 8 replays on 1 then 2 local workers")
    before = machine_speedup()["machine_speedup_2_workers"]
    out.update(sweep_speedup("flash-drop", Fraction(1, 100), []) if quick else
               sweep_speedup(CASCADE, REDUCED["scale"], REDUCED["overrides"], repeats=2))
    after = machine_speedup()["machine_speedup_2_workers"]   # the machine may change meanwhile
    out["machine_speedup_2_workers"] = max(before, after)
    out["machine_speedup_runs"] = [before, after]
    out["load_average_end"] = round(os.getloadavg()[0], 2)   # other processes on the cores
    # the memory bar is about the full run; a reduced run's peak says nothing of it
    out["bars"] = {k: {"bar": f"{op} {v}", "met": (out[k] >= v if op == ">=" else out[k] <= v)}
                   for k, (op, v) in BARS.items() if not (quick and k == "peak_rss_mb")}
    return out
