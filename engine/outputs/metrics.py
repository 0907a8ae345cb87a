"""Metrics: the sampled state of one instrument, the per-interval time series and the run summary.

Three steps, each computed only from what the run recorded (docs/design.md: "metrics and reports are
computed from the log and from the sampled time series, never from ad-hoc prints"):

``Sampler.sample``
    called by the Simulation once per sampling interval (every second of sim time); appends one
    row of integer state -- touch, spread, depth in bands around mid, last/mark/index, open
    interest, insurance fund, backstop, bad debt, halted, funding premium and rate -- to plain
    Python lists.
``build_timeseries``
    one row per interval: the sampled state plus aggregates of the event log over the interval
    (liquidations, fill failures, takeovers, ADL, trades), vectorised with numpy, and the
    liquidity-vacuum flag.  A ``pyarrow.Table`` of integers (``display`` converts to decimals).
``summarize``
    the headline figures of a run as a JSON-ready ``dict``; every key and its unit is listed in
    ``SUMMARY_KEYS``.

Units in the time series (all integers): ``ts`` ns; prices ticks (-1 = none); ``spread_bps``
hundredths of a basis point (-1 = a side is empty); depths and money quote quantums; open
interest lots; flags 0/1.  Vocabulary as in docs/design.md: a *fill failure* is a liquidation order
whose remainder found no liquidity within its limit (``LIQUIDATION_UNFILLED``); a *liquidity
vacuum* is depth within 1% of mid (both sides) below ``vacuum_fraction`` of its pre-event
baseline; *amplification* is the book's drawdown divided by the index drawdown.
"""
from __future__ import annotations

import json
from fractions import Fraction
from itertools import accumulate

import numpy as np
import pyarrow as pa

from ..venue.accounts import INSURANCE_ID
from ..venue.events import EVENT_DTYPE, EventKind
from ..venue.instruments import Instrument
from ..venue.rounding import ceil_f
from .adl import first_adl_delay_s, totals as adl_totals
from .columns import AGGREGATE_COLUMNS, band_name, timeseries_columns

DEFAULT_BANDS_PPM = (5_000, 10_000, 20_000, 50_000)
VACUUM_BAND_PPM = 10_000            # the vacuum and ``min_depth_1pct_ratio`` use the 1% band
PEAK_WINDOW_NS = 60_000_000_000     # "peak minute": a sliding 60-s window
META_KEY = b"liqsim.timeseries"     # schema metadata of a table from ``build_timeseries``

_K = EventKind
_LIQ_ORDER = int(_K.LIQUIDATION_ORDER)
_LIQ_FILLED = int(_K.LIQUIDATION_FILLED)
_LIQ_UNFILLED = int(_K.LIQUIDATION_UNFILLED)
_CALL = int(_K.MARGIN_CALL)
_FUND_TAKEOVER = int(_K.INSURANCE_TAKEOVER)
_BACKSTOP_TAKEOVER = int(_K.BACKSTOP_TAKEOVER)
_ADL = int(_K.AUTO_DELEVERAGED)
_FUNDING_PAID = int(_K.FUNDING_PAID)
#: The kinds that close liquidated lots, each lot once: in the book (``LiquidationFilled``)
#: or off it (the fund's or the backstop's takeover, ADL).
_CLOSED_OFF_BOOK = (_FUND_TAKEOVER, _BACKSTOP_TAKEOVER, _ADL)
_LIQUIDATED = (_LIQ_FILLED, *_CLOSED_OFF_BOOK)


# ---------------------------------------------------------------------------- sampler
class Sampler:
    """Column-wise record of one instrument's state, one row per ``sample`` call.

    Columns (``column_names``, all ``int``): ``ts`` ns; ``best_bid``, ``best_ask`` ticks (-1
    when that side is empty); ``spread_bps`` in hundredths of a basis point of mid, rounded to
    nearest (halves up), -1 when a side is empty, 0 when the book is locked or crossed (a
    halted book may be); per band (ascending) ``bid_depth_<pct>``, ``ask_depth_<pct>``: the
    notional resting within +-band of mid on that side in quote quantums (0 without a mid,
    bands as ``OrderBook.band_limit``); ``last``, ``mark``, ``index`` ticks (-1 = none);
    ``open_interest_lots`` the sum of the long sizes, less those of the accounts in
    ``excluded`` (a recorded replay's synthetic accounts: the simulated population's open
    interest); ``insurance_fund``, ``backstop`` wallet
    balances (cash) in quantums; ``insurance_fund_equity`` the fund's cash + the collateral
    it holds + its taken-over positions' unrealised PnL at the mark, quantums; ``bad_debt``
    cumulative quantums; ``halted`` 0/1; ``premium_index_ppb``, ``funding_rate_ppb`` the funding state
    (``engine.venue.funding``: last premium sample, predicted rate; 0 with funding off);
    ``queue_len``, ``queue_wait_ms``, ``liq_queue_len``: the
    venue's capacity queues (``engine.venue.capacity``; 0 without a limit) -- messages
    waiting for the matching engine, the longest wait (ms, rounded up) of a message served
    since the previous sample, units the liquidation engine's budget left waiting.

    Runtime complexity of ``sample``: O(log L + levels within the widest band) -- one walk per
    side from the touch outwards, every band accumulated in the same walk -- plus O(accounts)
    only if the caller does not pass ``open_interest``.  Hot path: locals bound once, plain
    ints, one list append per column, no objects built per row.
    """

    __slots__ = ("instrument", "inst", "bands_ppm", "column_names", "columns", "_lists",
                 "funding", "extra", "excluded")

    def __init__(self, instrument: Instrument, bands_ppm=DEFAULT_BANDS_PPM,
                 inst: int | None = None, extra: tuple = ()) -> None:
        bands = tuple(bands_ppm)
        if not bands or any(type(b) is not int or not 0 < b < 1_000_000 for b in bands):
            raise ValueError(f"bands_ppm: expected ints in (0, 1_000_000), got {bands_ppm!r}")
        if list(bands) != sorted(set(bands)):
            raise ValueError(f"bands_ppm: expected strictly ascending values, got {bands_ppm!r}")
        if inst is not None and (type(inst) is not int or inst < 0):
            raise ValueError(f"inst: expected an int >= 0 or None, got {inst!r}")
        self.instrument = instrument
        self.inst = inst
        self.bands_ppm = bands
        names = ["ts", "best_bid", "best_ask", "spread_bps"]
        for b in bands:
            names += [f"bid_depth_{band_name(b)}", f"ask_depth_{band_name(b)}"]
        names += ["last", "mark", "index", "open_interest_lots", "insurance_fund",
                  "insurance_fund_equity", "backstop", "bad_debt", "halted", "down",
                  "premium_index_ppb", "funding_rate_ppb",
                  "queue_len", "queue_wait_ms", "liq_queue_len"]
        # Optional columns of a feature that is on in this run (``(name, unit, meaning)``,
        # e.g. ``engine.market.collateral``), after the fixed ones; ``sample(extra=...)``.
        self.extra = tuple(extra)
        names += [name for name, _, _ in self.extra]
        self.column_names = tuple(names)
        self.funding = False        # whether a sample carried funding state
        # Accounts whose positions the open interest leaves out (``engine.market.recorded.
        # attach``: the recorded world's synthetic accounts); O(len) per sample.
        self.excluded: tuple[int, ...] = ()
        self.columns: dict[str, list[int]] = {n: [] for n in names}
        self._lists = tuple(self.columns[n] for n in names)

    def __len__(self) -> int:
        return len(self._lists[0])

    def _resolve_inst(self, exchange) -> int:
        insts = exchange.instruments
        for i, ins in enumerate(insts):
            if ins is self.instrument:
                return i
        return insts.index(self.instrument)

    def sample(self, ts: int, book, exchange, index_ticks: int | None, halted: bool,
               open_interest: int | None = None, funding: tuple[int, int] | None = None,
               queue=(0, 0, 0), down: bool = False, extra=()) -> None:
        """Append the state at ``ts``: ``book`` is the instrument's book, ``index_ticks`` the
        current index price (None = unknown), ``open_interest`` the long open interest in lots
        if the caller maintains it (else computed here in O(accounts)), ``funding`` the
        (premium, rate) in ppb when funding is on, ``queue`` the capacity figures
        (``VenueCapacity.sample``), ``down`` whether the venue is out (an outage)."""
        inst = self.inst
        if inst is None:
            inst = self.inst = self._resolve_inst(exchange)
        bands = self.bands_ppm
        nb = len(bands)
        tlq = self.instrument.tick_lot_quanta
        bb = book.best_bid()
        ba = book.best_ask()
        bid_d = [0] * nb
        ask_d = [0] * nb
        if bb is None or ba is None:
            spread = -1
        else:
            mid2 = bb + ba
            # (ask - bid) / mid in 1e-6 = hundredths of a bp; round half up.
            num = (ba - bb) * 2_000_000
            spread = (2 * num + mid2) // (2 * mid2) if ba > bb else 0
            # Band limits exactly as OrderBook.band_limit: bids ceil, asks floor.
            for k, ppm in enumerate(bands):
                lo = -((-mid2 * (1_000_000 - ppm)) // 2_000_000)
                hi = (mid2 * (1_000_000 + ppm)) // 2_000_000
                bid_d[k] = lo
                ask_d[k] = hi
            if tlq is None:     # inverse: depth in coin, each level's floor(q k / p)
                k = self.instrument.inverse_k
                _walk(((p, q * k // p, 0) for p, q, _ in book.levels(1)), bid_d, 1, nb, 1, True)
                _walk(((p, q * k // p, 0) for p, q, _ in book.levels(-1)), ask_d, -1, nb, 1,
                      True)
            else:
                _walk(book.levels(1), bid_d, 1, nb, tlq)
                _walk(book.levels(-1), ask_d, -1, nb, tlq)
        if open_interest is None:
            open_interest = 0
            for acct in exchange.accounts.values():
                pos = acct.positions.get(inst)
                if pos is not None and pos.size > 0:
                    open_interest += pos.size
        for a in self.excluded:
            pos = exchange.accounts[a].positions.get(inst)
            if pos is not None and pos.size > 0:
                open_interest -= pos.size
        last = book.last_price
        mark = exchange.marks[inst]
        row = [ts, -1 if bb is None else bb, -1 if ba is None else ba, spread]
        for k in range(nb):
            row.append(bid_d[k])
            row.append(ask_d[k])
        row += [-1 if last is None else last, -1 if mark is None else mark,
                -1 if index_ticks is None else index_ticks, open_interest,
                exchange.fund.wallet, _equity(exchange, exchange.fund),
                exchange.backstop.wallet, exchange.bad_debt, 1 if halted else 0,
                1 if down else 0]
        if funding is None:
            row += (0, 0)
        else:
            row += funding
            self.funding = True
        row += queue
        row += extra            # the ``extra`` columns' values, in their order
        for lst, v in zip(self._lists, row):
            lst.append(v)

    def append(self, row) -> None:
        """Append one row given as a mapping of every column name to an int (recorded
        states, tests).  Unknown or missing names raise ``KeyError``/``ValueError``."""
        extra = set(row) - set(self.column_names)
        if extra:
            raise ValueError(f"row: unknown columns {sorted(extra)}")
        values = [row[n] for n in self.column_names]
        for n, v in zip(self.column_names, values):
            if type(v) is not int:
                raise ValueError(f"row[{n!r}]: expected an int, got {v!r}")
        for lst, v in zip(self._lists, values):
            lst.append(v)


def _equity(exchange, acct) -> int:
    """An account's cross equity at the marks (cash + collateral + positions' uPnL), or its
    wallet while a position it holds has no mark yet."""
    if acct.positions and any(p.size and exchange.marks[i] is None
                              for i, p in acct.positions.items()):
        return acct.wallet
    return exchange.cross_equity(acct)


def _walk(levels, acc_out: list, side: int, nb: int, tlq: int, valued: bool = False) -> None:
    """Sum price x qty from the touch outwards (``valued``: the qty is already the level's
    value in quantums); ``acc_out`` holds the band limits on entry (narrowest first) and
    the depth of each band in quantums on return.  Stops at the first level outside the
    widest band."""
    k = 0
    limit = acc_out[0]
    acc = 0
    for p, q, _ in levels:
        while (p < limit) if side == 1 else (p > limit):
            acc_out[k] = acc * tlq
            k += 1
            if k == nb:
                return
            limit = acc_out[k]
        acc += p * q if not valued else q
    while k < nb:
        acc_out[k] = acc * tlq
        k += 1


# ------------------------------------------------------------------------ time series
# Interval aggregates: (column, kinds, what) with what = "count", "value" (sum of ``value``),
# "long_value" (sum of ``value`` over rows of side +1) or "first" (rows that are the first of
# their unit, (account, inst), in the log).
AGGREGATES = (
    ("liquidations", (_CALL,), "first"),
    ("liquidation_orders", (_LIQ_ORDER,), "count"),
    ("liquidations_notional", _LIQUIDATED, "value"),
    ("liquidations_filled_notional", (_LIQ_FILLED,), "value"),
    ("liquidations_off_book_notional", _CLOSED_OFF_BOOK, "value"),
    ("fill_failures", (_LIQ_UNFILLED,), "count"),
    ("liquidations_deferred", (int(_K.LIQUIDATION_DEFERRED),), "count"),
    ("insurance_takeovers", (_FUND_TAKEOVER,), "count"),
    ("backstop_takeovers", (_BACKSTOP_TAKEOVER,), "count"),
    ("adl_fills", (_ADL,), "count"),
    ("adl_notional", (_ADL,), "value"),
    ("trades", (int(_K.TRADE),), "count"),
    ("volume_notional", (int(_K.TRADE),), "value"),
    ("funding_paid", (_FUNDING_PAID,), "long_value"),
)
"""Per-interval aggregates of the event log (events of the table's instrument only).

A liquidated position (a *unit*: an isolated position or a cross account) counts once and
each of its lots once, however many orders it took:

``liquidations``                     units margin-called for the first time (every attempt
                                     on a unit logs a ``MarginCall``; a unit counts once)
``liquidation_orders``               liquidation orders sent to the book
``liquidations_notional``            liquidated notional, each lot once: filled in the book
                                     + closed off the book (quantums)
``liquidations_filled_notional``     traded value of the liquidation orders' fills
``liquidations_off_book_notional``   taken over by the fund or the backstop, or ADL'd, at
                                     the takeover price (bankruptcy price, or the mark for the
                                     backstop)
``fill_failures``                    liquidation *orders* whose remainder found no liquidity
                                     within their limit (a unit retried is counted per order)
``liquidations_deferred``            deferral episodes that began (a breaker held it back)
``adl_fills``                        ADL counterparty closes (one bankrupt unit may take many)
``funding_paid``                     funding paid by long positions (``FundingPaid`` rows of
                                     side +1: the sum of ``value``, signed)
takeovers and trades count their events; ``*_notional`` sums their ``value``.
"""
assert [name for name, _, _ in AGGREGATES] == list(AGGREGATE_COLUMNS)
_AGGREGATE_KINDS = np.array(sorted({k for _, ks, _ in AGGREGATES for k in ks}), dtype=np.uint8)
_SUMMARY_KINDS = np.array(sorted({int(_K.TRADE), _CALL, _LIQ_ORDER, _LIQ_FILLED, _LIQ_UNFILLED,
                                  *_CLOSED_OFF_BOOK, int(_K.TRADING_HALTED),
                                  int(_K.LIQUIDATION_DEFERRED), _FUNDING_PAID,
                                  int(_K.FUNDING_SETTLED)}),
                          dtype=np.uint8)
#: Every kind ``build_timeseries`` and ``summarize`` read (``BAD_DEBT``: venue-wide).
KINDS_READ = np.union1d(np.union1d(_AGGREGATE_KINDS, _SUMMARY_KINDS),
                        [int(_K.BAD_DEBT)]).astype(np.uint8)


def on_run_clock_s(event_s, k) -> int:
    """A length of ``event_s`` event seconds (or milliseconds) on a clock compressed ``k``
    times (``[scenario] time_compression``): divided by ``k``, rounded to the nearest whole
    unit, at least 1 -- a minute of the event, never finer than the time series' second.
    The one rule for every event-time window of the outputs (the facts', the summary's
    peak minute)."""
    return max(1, round(Fraction(event_s) / Fraction(str(k))))


def rows_of_kinds(events: np.ndarray, kinds) -> np.ndarray:
    """The rows of ``events`` whose kind is in ``kinds``, in log order (a copy).  One pass
    over the log's kind column -- a strided read of 70-byte rows, ~27 ms for 6.3M rows --
    and a gather of the selected rows: ``engine.run`` selects what its outputs read once
    and hands them that, instead of each passing over the whole log (docs/performance.md).
    O(rows)."""
    member = np.zeros(256, dtype=bool)
    member[np.asarray(kinds, dtype=np.uint8)] = True
    return events.take(np.flatnonzero(member[events["kind"]]))


PRICE_COLUMNS = ("best_bid", "best_ask", "last", "mark", "index")


def _money_columns(names) -> tuple[str, ...]:
    fixed = {"insurance_fund", "insurance_fund_equity", "backstop", "bad_debt",
             "liquidations_notional", "liquidations_filled_notional",
             "liquidations_off_book_notional", "adl_notional", "volume_notional",
             "funding_paid"}
    return tuple(n for n in names if n in fixed or "_depth_" in n)


def _fraction(value, name: str) -> Fraction:
    """An exact rational from a Fraction, int, str ("1/4", "0.25") or Decimal; no floats."""
    if isinstance(value, (float, bool)):
        raise TypeError(f"{name}: expected a Fraction, int, str or Decimal, got {value!r}")
    return Fraction(value.strip() if isinstance(value, str) else value)


def _bucket_sum(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per row index (no float weights: quantums exceed 2**53)."""
    if values.size and float(np.abs(values.astype(np.float64)).sum()) >= 2.0 ** 63:
        raise OverflowError("interval sum could exceed int64; use a coarser quote quantum")
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, rows, values.astype(np.int64, copy=False))
    return out


def in_log_order(rows: np.ndarray) -> np.ndarray:
    """``rows`` in (ts, seq) order: ``rows`` itself if they are already -- a log is written
    in time order, so a selection of it is; checked in O(n) -- else sorted (O(n log n)).
    The same rows either way; the check saves a ~10 ms sort of 200k rows per selection
    (docs/performance.md)."""
    ts, seq = rows["ts"], rows["seq"]
    if len(rows) < 2 or bool(np.all((ts[1:] > ts[:-1])
                                    | ((ts[1:] == ts[:-1]) & (seq[1:] > seq[:-1])))):
        return rows
    return rows[np.lexsort((seq, ts))]


def liquidated_rows(events: np.ndarray, inst: int) -> np.ndarray:
    """The rows of instrument ``inst`` that close liquidated lots, each lot once (filled in
    the book, or closed off it: ``_LIQUIDATED``), in (ts, seq) order.  O(n log n)."""
    liq = events[np.isin(events["kind"], _LIQUIDATED) & (events["inst"] == inst)]
    return in_log_order(liq)


def closes_long(liq: np.ndarray) -> np.ndarray:
    """Per liquidated row (``liquidated_rows``): whether it closed a long.  A long is closed
    by a sell (fills, ADL: the row's side is the closing trade's) and taken over as a long
    (takeovers: the row's side is the position's)."""
    return np.where(np.isin(liq["kind"], (_LIQ_FILLED, _ADL)), liq["side"] == -1,
                    liq["side"] == 1)


def peak_window(ts: np.ndarray, values: np.ndarray, window_ns: int = PEAK_WINDOW_NS
                ) -> tuple[int, int]:
    """The largest sum of ``values`` over the windows ``[ts[i], ts[i] + window_ns)`` that
    start at a row (``ts`` non-decreasing), and the first ``i`` reaching it; ``(0, -1)``
    without rows.  Exact: int64 prefix sums when they cannot overflow, else Python ints.
    O(n log n)."""
    if not len(ts):
        return 0, -1
    ends = np.searchsorted(ts, ts + window_ns, side="left")
    if float(np.abs(values.astype(np.float64)).sum()) < 2.0 ** 62:
        cum = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
        sums = cum[ends] - cum[:-1]
        k = int(np.argmax(sums))
        return int(sums[k]), k
    cum = [0, *accumulate(values.tolist())]
    py_sums = [cum[j] - cum[i] for i, j in enumerate(ends.tolist())]
    best = max(py_sums)
    return best, py_sums.index(best)


def _first_of_unit(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Of the rows where ``mask`` holds, those that are the first (in log order) of their
    unit (account, inst).  O(n log n)."""
    out = np.zeros(len(rows), dtype=bool)
    picked = np.flatnonzero(mask)
    if picked.size:
        keys = rows["account"][picked].astype(np.int64) * 65_536 + rows["inst"][picked]
        _, first = np.unique(keys, return_index=True)
        out[picked[first]] = True
    return out


def build_timeseries(sampler: Sampler, events: np.ndarray, interval_ns: int, *,
                     baseline_end_ns: int, inst: int | None = None,
                     vacuum_fraction=Fraction(1, 4), feed: dict | None = None) -> pa.Table:
    """The time series of a run: one row per interval, integers only.

    Rows: one per bucket ``b = ts // interval_ns`` from the first sample's bucket to the
    last's; ``ts`` = ``b * interval_ns`` (the bucket start).  Sampled columns hold the last
    sample taken in the bucket, carried forward through buckets without a sample.  Aggregate
    columns (``AGGREGATES``) cover the events of instrument ``inst`` (default: the sampler's)
    with ``b * interval_ns <= ts < (b + 1) * interval_ns``; events outside the sampled span are
    not in any row (``summarize`` reads totals from the log itself).

    ``vacuum`` is 1 when ``bid_depth_1pct + ask_depth_1pct < vacuum_fraction x baseline``,
    baseline = the mean of that sum over the *samples* with ``ts < baseline_end_ns`` (the
    pre-event window); compared exactly (integer against ``ceil(fraction x baseline)``).  With
    no baseline sample the flag is 0 everywhere and the baseline is recorded as null.  The
    baseline window itself is never a vacuum: the flag is 0 on rows with ``ts <
    baseline_end_ns`` (the one rule the summary and the facts follow).

    ``feed`` (a recorded run's ``feed_meta``; None otherwise) says what the recorded feed
    leaves unmeasured, and goes into the metadata as ``feed``: depth bands reaching beyond
    the snapshot's range (``bands_incomplete_ppm``: their columns are kept; with the 1% band
    among them the vacuum flag is 0 everywhere and not measured) and the rows sampled while
    the feed was void (``void_ns``; ``void_rows`` counts them, the function ``void_rows``
    selects them), which are out of the baseline and never a vacuum.

    The schema metadata ``liqsim.timeseries`` (JSON) records the interval, the baseline window
    and value, the vacuum fraction, the instrument's symbol and units, and the bands.

    Runtime complexity: O(samples + intervals + events), numpy-vectorised.
    """
    if type(interval_ns) is not int or interval_ns <= 0:
        raise ValueError(f"interval_ns: expected an int > 0, got {interval_ns!r}")
    if type(baseline_end_ns) is not int:
        raise ValueError(f"baseline_end_ns: expected an int (ns), got {baseline_end_ns!r}")
    fraction = _fraction(vacuum_fraction, "vacuum_fraction")
    if not 0 < fraction <= 1:
        raise ValueError(f"vacuum_fraction: expected 0 < f <= 1, got {vacuum_fraction!r}")
    if events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected a numpy array of engine.venue.events.EVENT_DTYPE")
    if VACUUM_BAND_PPM not in sampler.bands_ppm:
        raise ValueError(f"sampler.bands_ppm: the 1% band ({VACUUM_BAND_PPM} ppm) is required")
    if inst is None:
        inst = sampler.inst if sampler.inst is not None else 0

    names = sampler.column_names
    raw = {n: np.asarray(sampler.columns[n], dtype=np.int64) for n in names}
    sts = raw["ts"]
    if sts.size and np.any(np.diff(sts) < 0):
        raise ValueError("sampler: sample times must be non-decreasing")
    suffix = band_name(VACUUM_BAND_PPM)
    bid1, ask1 = f"bid_depth_{suffix}", f"ask_depth_{suffix}"

    # Baseline: exact mean over the pre-event samples (Python ints: no overflow).
    # Samples are in time order, so the pre-event ones are the first ``n_base``.
    n_base = int(np.count_nonzero(sts < baseline_end_ns))
    void_ns = feed["void_ns"] if feed else ()
    if void_ns:       # samples taken while the recorded feed was void are not the market's
        keep = np.flatnonzero(~_in_intervals(sts[:n_base], void_ns)).tolist()
        bids, asks = sampler.columns[bid1], sampler.columns[ask1]
        n_base = len(keep)
        base_sum = sum(bids[i] for i in keep) + sum(asks[i] for i in keep)
    else:
        base_sum = sum(sampler.columns[bid1][:n_base]) + sum(sampler.columns[ask1][:n_base])
    baseline = Fraction(base_sum, n_base) if n_base else None

    if sts.size:
        sb = sts // interval_ns
        b0 = int(sb[0])
        buckets = np.arange(b0, int(sb[-1]) + 1, dtype=np.int64)
        pick = np.searchsorted(sb, buckets, side="right") - 1
    else:
        b0 = 0
        buckets = np.zeros(0, dtype=np.int64)
        pick = np.zeros(0, dtype=np.int64)
    n = buckets.size
    cols: dict[str, np.ndarray] = {"ts": buckets * interval_ns}
    for name in names[1:]:
        cols[name] = raw[name][pick]

    # Select the aggregated kinds first: most rows are order accepts/cancels, and copying
    # them all (70 bytes a row) cost more than the aggregation itself.
    ev = events[np.isin(events["kind"], _AGGREGATE_KINDS) & (events["inst"] == inst)]
    row = ev["ts"] // interval_ns - b0
    inside = (row >= 0) & (row < n)
    ev, row = ev[inside], row[inside]
    kinds = ev["kind"]
    for col, ks, what in AGGREGATES:
        m = np.isin(kinds, ks)
        if what == "first":
            m &= _first_of_unit(ev, m)
            what = "count"
        if what == "long_value":
            m &= ev["side"] == 1
            what = "value"
        if what == "count":
            cols[col] = np.bincount(row[m], minlength=n).astype(np.int64)[:n]
        else:
            cols[col] = _bucket_sum(row[m], ev["value"][m], n)

    depth1 = cols[bid1] + cols[ask1]
    incomplete = _incomplete_bands(feed, sampler.bands_ppm)
    if baseline is not None and VACUUM_BAND_PPM not in incomplete:
        t = fraction * baseline
        threshold = ceil_f(t)        # depth < t <=> depth < ceil(t)
        scored = cols["ts"] >= baseline_end_ns
        if void_ns:
            scored &= ~_in_intervals(cols["ts"], void_ns)
        cols["vacuum"] = ((depth1 < threshold) & scored).astype(np.int8)
    else:
        cols["vacuum"] = np.zeros(n, dtype=np.int8)
    cols["halted"] = cols["halted"].astype(np.int8)
    cols["down"] = cols["down"].astype(np.int8)

    ins = sampler.instrument
    meta = {
        "interval_ns": interval_ns,
        "baseline_end_ns": baseline_end_ns,
        "baseline_samples": n_base,
        "depth_baseline_1pct": None if baseline is None else str(baseline),
        "vacuum_fraction": str(fraction),
        "funding": sampler.funding,
        "vacuum_band_ppm": VACUUM_BAND_PPM,
        "bands_ppm": list(sampler.bands_ppm),
        "inst": inst,
        "symbol": ins.symbol,
        "tick_size": str(ins.tick_size),
        "lot_size": str(ins.lot_size),
        "quote_quantum": str(ins.quote_quantum),
        "quote_currency": ins.margin_currency,
        "units": "ts ns; prices ticks (-1 none); spread_bps hundredths of a bp (-1 none); "
                 "depth and money quote quantums; open_interest_lots lots; flags 0/1; "
                 "*_ppb signed parts per billion",
        "columns": {name: [unit, meaning]
                    for name, unit, meaning in timeseries_columns(sampler.bands_ppm,
                                                                  sampler.extra)},
    }
    if feed is not None:
        meta["feed"] = dict(feed, bands_incomplete_ppm=incomplete, void_rows=int(
            np.count_nonzero(_in_intervals(cols["ts"], void_ns))) if void_ns else 0)
    order = list(names) + [a[0] for a in AGGREGATES] + ["vacuum"]
    fields = [pa.field(c, pa.int8() if c in ("halted", "down", "vacuum") else pa.int64()) for c in order]
    schema = pa.schema(fields, metadata={META_KEY: json.dumps(meta, sort_keys=True)})
    return pa.Table.from_arrays([pa.array(cols[c], type=schema.field(c).type) for c in order],
                                schema=schema)


def timeseries_meta(table: pa.Table) -> dict:
    """The ``liqsim.timeseries`` metadata of a table made by ``build_timeseries``."""
    md = table.schema.metadata or {}
    if META_KEY not in md:
        raise ValueError("table: not made by engine.outputs.metrics.build_timeseries (no metadata)")
    return json.loads(md[META_KEY])


def feed_meta(snapshots, void_ns, index_is_mid: bool) -> dict:
    """What a recorded run's feed leaves unmeasured (``build_timeseries(feed=...)``), from
    ``engine.market.recorded.RecordedMarket``'s ``snapshots`` ((ts, lowest bid, highest ask,
    mid) ticks), ``void_ns`` (the feed's void intervals, [start, end or None = the run's
    end]) and ``mid_index`` (the index is the recorded book's own mid).

    ``book_range_ppm``: how far from mid every snapshot reached on each side, the narrowest
    snapshot's (levels beyond it are unknown until a diff touches them: a band reaching
    beyond it is understated for the whole run), in ppm of its mid rounded down (towards
    "not measured"); None without a snapshot.  O(snapshots).
    assumed: the range is around each snapshot's own mid (its later drift is not counted).
    assumed: without a snapshot (no recorded book) every depth band is complete.
    """
    rng = text = None
    if snapshots:
        rng = [min((m - lo) * 1_000_000 // m if m else 0 for _, lo, _, m in snapshots),
               min((hi - m) * 1_000_000 // m if m else 0 for _, _, hi, m in snapshots)]
        who = "snapshot covers" if len(snapshots) == 1 else \
            f"narrowest snapshot (of {len(snapshots)}) covers"
        text = f"the capture's {who} -{rng[0] / 10_000:.2f}%/+{rng[1] / 10_000:.2f}%"
    return {"book_range_ppm": rng, "book_range": text,
            "void_ns": [[int(a), None if b is None else int(b)] for a, b in void_ns],
            "index_is_mid": bool(index_is_mid)}


def _incomplete_bands(feed: dict | None, bands_ppm) -> list[int]:
    """The bands (ppm) reaching beyond a recorded book's snapshot range on either side."""
    rng = feed.get("book_range_ppm") if feed else None
    return [] if rng is None else [b for b in bands_ppm if b > min(rng)]


def _in_intervals(ts: np.ndarray, intervals) -> np.ndarray:
    """Whether each ``ts`` lies in one of ``intervals`` ([start, end), end None = open)."""
    out = np.zeros(len(ts), dtype=bool)
    for a, b in intervals:
        out |= (ts >= a) if b is None else ((ts >= a) & (ts < b))
    return out


def void_rows(ts: np.ndarray, meta: dict) -> np.ndarray:
    """Per row (``ts``, its start): sampled while a recorded feed was void (a gap, until
    the next snapshot), so not a market second: no vacuum, depth, one-sided or spread
    figure reads it.  All False for a run without a recorded feed.  O(rows x gaps)."""
    feed = meta.get("feed") or {}
    return _in_intervals(np.asarray(ts), feed.get("void_ns") or ())


def band_unmeasured(meta: dict, ppm: int) -> str | None:
    """Why depth within ``ppm`` of mid is not measured in this run (its band reaches beyond
    the recorded book's snapshot), or None when it is."""
    feed = meta.get("feed") or {}
    if ppm in (feed.get("bands_incomplete_ppm") or ()):
        pct = band_name(ppm).replace("_", ".").replace("pct", "%")
        return (f"depth within {pct} reaches beyond the recorded book: "
                f"{feed.get('book_range') or 'its snapshot'}")
    return None


def index_unmeasured(meta: dict) -> str | None:
    """Why a figure comparing the venue with its index is not measured (the recorded run's
    index is the venue's own mid, so the two agree by construction), or None."""
    return "the index is the venue's own mid" if (meta.get("feed") or {}).get(
        "index_is_mid") else None


def display(table: pa.Table, instrument: Instrument) -> pa.Table:
    """A copy of a time series for people and plots: prices (``PRICE_COLUMNS``) in quote
    currency, money and depth columns in quote currency, ``spread_bps`` in basis points,
    ``open_interest_lots`` as ``open_interest`` in base units, all float64 with -1 as null,
    plus ``time_s`` (seconds).  Floats are for display only: above 2**53 quantums they round."""
    money = set(_money_columns(table.column_names))
    qpu = instrument.quanta_per_unit
    inv_tick = 1 / instrument.tick_size
    inv_lot = 1 / instrument.lot_size
    arrays, names = [], []
    for name in table.column_names:
        a = table.column(name).to_numpy()
        if name == "ts":
            arrays += [pa.array(a), pa.array(a / 1e9)]
            names += ["ts", "time_s"]
            continue
        if name in PRICE_COLUMNS:
            v = a / int(inv_tick) if inv_tick == int(inv_tick) else a * float(instrument.tick_size)
            arrays.append(pa.array(v, mask=a < 0))
        elif name in money:
            arrays.append(pa.array(a / qpu))
        elif name == "spread_bps":
            arrays.append(pa.array(a / 100, mask=a < 0))
        elif name == "open_interest_lots":
            name = "open_interest"
            v = a / int(inv_lot) if inv_lot == int(inv_lot) else a * float(instrument.lot_size)
            arrays.append(pa.array(v))
        else:
            arrays.append(pa.array(a))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


# ---------------------------------------------------------------------------- summary
SUMMARY_KEYS = {
    "scenario": "str: scenario name",
    "breaker": "str: circuit-breaker policy name",
    "seed": "int: the run's seed",
    "instrument": "str: instrument symbol",
    "quote_currency": "str: the currency every money figure is in (USDT, USDC, ...; the "
                      "settlement coin, e.g. XBT, for an inverse instrument, whose prices "
                      "stay in its quote currency)",
    "start_price": "quote float: last trade price before baseline_end_ns (else the mid of the "
                   "last pre-event sample); null if neither",
    "min_price": "quote float: lowest trade price at ts >= baseline_end_ns (else the lowest "
                 "sampled best bid); null if neither",
    "book_drawdown_pct": "percent float (4 dp): (start_price - min_price) / start_price x 100; "
                         "positive = fall",
    "index_start_price": "quote float: the index at the event start, baseline_end_ns "
                         "(index_start_ticks; else the last pre-event sampled index)",
    "index_min_price": "quote float: lowest sampled index at ts >= baseline_end_ns",
    "index_drawdown_pct": "percent float (4 dp): index start -> index min",
    "amplification": "ratio float (6 dp): book_drawdown_pct / index_drawdown_pct; null when the "
                     "index did not fall or is the venue's own mid (recorded data without an "
                     "index: not_measured)",
    "liquidations_count": "int: positions liquidated -- distinct units (an isolated position "
                          "or a cross account) margin-called, once however many attempts and "
                          "orders it took (MARGIN_CALL)",
    "liquidation_orders": "int: liquidation orders sent to the book (LIQUIDATION_ORDER); a "
                          "unit retried counts once per order",
    "liquidations_notional": "quote float: liquidated notional, each lot once -- filled in the "
                             "book + closed off the book (liquidations_off_book_notional)",
    "liquidations_filled_notional": "quote float: traded value of the liquidation orders' "
                                    "fills (LIQUIDATION_FILLED)",
    "liquidations_off_book_notional": "quote float: liquidated notional the book did not take: "
                                      "taken over by the fund (at the bankruptcy price) or "
                                      "the backstop (at the mark), or ADL'd (at the "
                                      "bankruptcy price)",
    "fund_offload_notional": "quote float: traded value of the insurance fund's offload "
                             "fills (the fund as taker: positions it took over, sold back "
                             "through the book)",
    "liquidations_through_book_share": "ratio float (6 dp): (liquidations_filled_notional + "
                                       "fund_offload_notional) / liquidations_notional -- "
                                       "the liquidated notional that reached the book, at "
                                       "once or through the fund's offload (the offload at "
                                       "trade prices, the takeover at the bankruptcy price: "
                                       "it may exceed 1); null if none",
    "long_liquidation_share": "ratio float (6 dp): liquidations_notional of long positions / "
                              "liquidations_notional; null if none",
    "peak_minute_liquidation_share": "ratio float (6 dp): max over sliding windows of one "
                                     "event minute (60 / time_compression run seconds) of "
                                     "liquidations_notional / total; null if none",
    "liquidation_fill_ratio": "ratio float (6 dp): liquidations_filled_notional / "
                              "liquidations_notional; null if none",
    "fill_failures_count": "int: liquidation orders whose remainder found no liquidity within "
                           "their limit (LIQUIDATION_UNFILLED), counted per order",
    "liquidations_deferred": "int: LIQUIDATION_DEFERRED events -- deferral episodes (a unit's "
                             "first deferral by a breaker until it is next allowed through), "
                             "whatever the policy",
    "insurance_takeovers": "int: INSURANCE_TAKEOVER events (units the fund took over)",
    "backstop_takeovers": "int: BACKSTOP_TAKEOVER events (positions the backstop took over)",
    "trades_count": "int: TRADE events",
    "volume_notional": "quote float: traded value of TRADE events",
    "depth_baseline_1pct": "quote float: mean depth within 1% of mid (both sides) before "
                           "baseline_end_ns (outside a recorded feed's gaps); null without "
                           "pre-event samples or when depth within 1% is not measured "
                           "(not_measured)",
    "vacuum_seconds": "seconds float (3 dp): time-series rows with vacuum = 1 x interval (never "
                      "a row of the baseline window or of a recorded feed's gap); null when "
                      "depth within 1% is not measured (not_measured)",
    "min_depth_1pct_ratio": "ratio float (6 dp): min over rows at ts >= baseline_end_ns "
                            "(outside a recorded feed's gaps) of depth within 1% (both "
                            "sides) / baseline; null without a baseline or when depth within "
                            "1% is not measured (not_measured)",
    "max_spread_bps": "basis points float: widest sampled spread outside a recorded feed's "
                      "gaps; null if never two-sided "
                      "(a side with no orders has no spread: see one_sided_seconds)",
    "one_sided_seconds": "seconds float (3 dp): time-series rows whose book had no bid or no "
                         "ask (or neither) x interval, outside a recorded feed's gaps",
    "feed_gap_seconds": "seconds float (3 dp): time-series rows sampled while a recorded "
                        "feed was void (a gap until the next snapshot: not market seconds, "
                        "left out of the vacuum, depth, spread and one-sided figures) x "
                        "interval; null without recorded data",
    "insurance_fund_start": "quote float: insurance fund wallet at the start (argument)",
    "insurance_fund_min": "quote float: min of the start and every sampled fund wallet (cash)",
    "insurance_fund_end": "quote float: fund wallet (cash) in the last row (start if no row)",
    "insurance_fund_equity_min": "quote float: min of the start and every sampled fund equity "
                                 "(cash + collateral + taken-over positions' unrealised PnL "
                                 "at the mark)",
    "insurance_fund_equity_end": "quote float: fund equity in the last row (start if no row)",
    "adl_units": "int: bankrupt units closed by ADL (distinct account and instant of "
                 "AUTO_DELEVERAGED)",
    "adl_fills": "int: ADL counterparty closes (AUTO_DELEVERAGED events); one unit may take "
                 "many",
    "adl_notional": "quote float: value of AUTO_DELEVERAGED events (at the bankruptcy price)",
    "first_adl_after_first_liquidation_s": "seconds float (3 dp) of run time: from the "
                                           "event's first row closing liquidated lots (a "
                                           "liquidation fill, a takeover, ADL; at or after "
                                           "the event start) to the first AUTO_DELEVERAGED "
                                           "after it; null without one",
    "adl_episodes": "int: ADL episodes (one bankrupt unit's closes at one instant: "
                    "engine.outputs.adl); added by engine.run",
    "adl_haircut": "quote float: positive unrealised PnL at the mark of the winners' lots "
                   "ADL closed, summed over episodes (H); added by engine.run",
    "adl_shortfall": "quote float: the shortfall the ADL closes covered, side x (bankruptcy "
                     "price - mark) x lots, summed over episodes (B needed); added by "
                     "engine.run",
    "adl_overshoot": "quote float: sum over episodes of max(0, H - B): profit taken from "
                     "ADL'd winners beyond what the shortfall needed (arXiv 2602.15182); "
                     "added by engine.run",
    "adl_undershoot": "quote float: sum over episodes of max(0, B - H); added by engine.run",
    "adl_overshoot_by_ranking": "dict or null: with [venue] adl_counterfactual, per ADL "
                                "ranking (binance, bitmex, hyperliquid, dydx) what its queue "
                                "would have taken on the run's own episodes, in the same "
                                "state: {shortfall, haircut, overshoot, undershoot} in quote "
                                "floats; null when off; added by engine.run",
    "negative_equity_accounts": "int: accounts the liquidation engine saw with a margin "
                                "balance below 0 (at a margin call, a liquidation's "
                                "settlement, a backstop takeover; not an account its own "
                                "order closed below zero, which the fund also pays back); "
                                "added by engine.run",
    "max_mark_index_gap_pct": "percent float (4 dp): max over rows of |mark - index| / index "
                              "x 100; null without both or when the index is the venue's "
                              "own mid (not_measured)",
    "bad_debt": "quote float: sum of BAD_DEBT values (all instruments)",
    "halts_count": "int: TRADING_HALTED events",
    "halted_seconds": "seconds float (3 dp): rows with halted = 1 x interval",
    "vacuum_open_at_end": "bool: the last row is in a vacuum (vacuum_seconds is censored); "
                          "null when vacuum_seconds is",
    "halted_at_end": "bool: the last row is halted (halted_seconds is censored)",
    "down_seconds": "seconds float (3 dp): rows whose sample found the venue out (an "
                    "outage: no orders, no liquidations) x interval",
    "funding_settlements": "int: FUNDING_SETTLED events (funding instants paid)",
    "funding_paid_total": "quote float: funding paid by long positions over the run "
                          "(FUNDING_PAID of side +1; < 0: the shorts paid); null with "
                          "funding off",
    "funding_rate_start_ppb": "int: funding_rate_ppb of the first row (the predicted "
                              "per-interval rate, signed ppb); null with funding off",
    "funding_rate_min_ppb": "int: lowest funding_rate_ppb over the rows; null with funding off",
    "funding_rate_max_ppb": "int: highest funding_rate_ppb over the rows; null with funding off",
    "funding_rate_end_ppb": "int: funding_rate_ppb of the last row; null with funding off",
    "max_queue_len": "int: most participant messages waiting for the matching engine at a "
                     "sample (queue_len; 0 without a [capacity] limit)",
    "max_queue_wait_ms": "int: longest wait of a message the matching engine served, ms "
                         "(queue_wait_ms)",
    "queue_overloaded_seconds": "seconds float (3 dp): time-series rows with messages "
                                "waiting (queue_len > 0) x interval; the exact episodes are "
                                "the MATCHING_QUEUE_FORMED / _CLEARED rows",
    "max_liq_queue_len": "int: most units the liquidation engine's budget left waiting at a "
                         "sample (liq_queue_len)",
    "events_processed": "int: rows in the event log (all instruments)",
    "wall_seconds": "seconds float (3 dp): wall time of the run (argument; not deterministic)",
    "events_per_second": "float (1 dp): events_processed / wall_seconds; null if 0 s",
    "not_measured": "dict: summary key -> why it is null although the run has the data: a "
                    "recorded run's depth band reaching beyond its snapshot, its index being "
                    "the venue's own mid; empty otherwise",
    "facts": "dict: the 14 stylized facts scored (engine.outputs.facts, docs/facts.md): fact "
             "id (str) -> {name, verdict PASS / FAIL / NOT MEASURABLE, figure (a short text), "
             "values (numbers), target (the thresholds used)}; added by engine.run",
    "facts_reproduced": "int: facts whose verdict is PASS; added by engine.run",
    "facts_measurable": "int: facts whose verdict is not NOT MEASURABLE; added by engine.run",
    "time": "dict: the run's clock against the event's -- compression (event seconds per "
            "run second, exact), run_seconds, event_seconds and clocks (each clock kind and "
            "how it follows the compression: engine.scenarios.catalogue.CLOCKS); added by "
            "engine.run",
}
"""Every key of ``summarize``'s result and its unit.  Money is the margin currency as a float
rounded half-even (``_money``): to 2 decimals for a linear contract's quote currency, to the
coin's quantum (8 decimals) for an inverse contract's; prices are
quote floats converted exactly from ticks; event counts and totals are over the whole run for
the table's instrument unless stated."""
#: The keys engine.run adds once ``summarize`` is done (they score the whole run).
ADDED_BY_RUN = ("facts", "facts_reproduced", "facts_measurable", "time", "adl_episodes",
                "adl_haircut", "adl_shortfall", "adl_overshoot", "adl_undershoot",
                "negative_equity_accounts", "adl_overshoot_by_ranking")


def _money(quanta, ins: Instrument) -> float:
    """Quantums (int or Fraction) -> the margin currency, rounded half-even, as a float: to
    cents of a linear contract's quote currency (dollars, stablecoins), to the quantum of an
    inverse contract's coin (a satoshi by default) -- a cent of a coin is tens of dollars
    (0.01 XBT was ~$50 in March 2020), too coarse for funding or an ADL shortfall."""
    unit = 10 ** (-ins.quote_quantum.as_tuple().exponent if ins.inverse else 2)
    return float(Fraction(round(Fraction(quanta) * Fraction(ins.quote_quantum) * unit), unit))


def _price(ticks, ins: Instrument):
    """Ticks (int or Fraction) -> quote price: the float nearest the exact value."""
    return None if ticks is None else float(Fraction(ticks) * Fraction(ins.tick_size))


def _round(f: Fraction | None, digits: int):
    return None if f is None else round(float(f), digits)


def _sum(values: np.ndarray) -> int:
    return sum(values.tolist())        # exact Python ints: totals may exceed int64


def summarize(table: pa.Table, events: np.ndarray, *, scenario: str, breaker: str, seed: int,
              instrument: Instrument, index_start_ticks: int | None, baseline_end_ns: int,
              insurance_fund_start: int, wall_seconds: float, inst: int | None = None,
              events_processed: int | None = None, time_compression=1) -> dict:
    """The headline figures of a run, from the event log and the time series only.

    ``table`` comes from ``build_timeseries`` (its metadata gives the interval and the depth
    baseline), ``events`` is the whole log (EVENT_DTYPE); events of instrument ``inst``
    (default: the table's) are counted, except ``BAD_DEBT`` and ``events_processed``, which
    are venue-wide.  ``baseline_end_ns`` is the event start.  ``index_start_ticks`` is the
    index at that instant (the index drawdown, like the book's, is measured from the event
    start) and ``insurance_fund_start`` (quantums) the fund at the run's start.  Keys and units:
    ``SUMMARY_KEYS``.  Deterministic: only ``wall_seconds`` and ``events_per_second`` depend
    on the machine.  ``events`` may be only the rows of the kinds read here (``KINDS_READ``,
    ``rows_of_kinds``) if ``events_processed`` gives the whole log's length.  Runtime
    complexity: O(rows + events + liquidation events).  ``time_compression`` k: one run
    second stands for k event seconds, so the "peak minute" is a window of 60 / k run
    seconds (rounded to the nearest second, at least 1), one event minute, as the facts'.
    """
    if events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected a numpy array of engine.venue.events.EVENT_DTYPE")
    meta = timeseries_meta(table)
    interval_ns = meta["interval_ns"]
    if inst is None:
        inst = meta["inst"]
    col = {n: table.column(n).to_numpy() for n in table.column_names}
    ts = col["ts"]
    post = ts >= baseline_end_ns
    # A recorded feed's void rows are not market seconds, its incomplete bands and its
    # own-mid index not measured (build_timeseries, feed): each key they would feed is null
    # and ``not_measured`` says why.
    void = void_rows(ts, meta)
    market = ~void
    why_depth = band_unmeasured(meta, VACUUM_BAND_PPM)
    why_index = index_unmeasured(meta)
    not_measured = {}
    if why_depth:
        not_measured.update(dict.fromkeys(("depth_baseline_1pct", "vacuum_seconds",
                                           "min_depth_1pct_ratio", "vacuum_open_at_end"),
                                          why_depth))
    if why_index:
        not_measured.update(dict.fromkeys(("amplification", "max_mark_index_gap_pct"),
                                          why_index))

    # Only the kinds read below, of this instrument, in (ts, seq) order.
    ev = events[np.isin(events["kind"], _SUMMARY_KINDS) & (events["inst"] == inst)]
    ev = in_log_order(ev)
    kind = ev["kind"]

    def of(*kinds):
        return ev[np.isin(kind, kinds)]

    # Prices: start and min of the book, from the trades; fall back on the samples.
    trades = of(int(_K.TRADE))
    offloaded = _sum(trades["value"][trades["account"] == INSURANCE_ID])    # the fund as taker
    pre_trades = trades[trades["ts"] < baseline_end_ns]
    post_trades = trades[trades["ts"] >= baseline_end_ns]
    start_price = None
    if pre_trades.size:
        start_price = Fraction(int(pre_trades["price"][-1]))
    else:
        pre = np.flatnonzero(~post)
        if pre.size:
            b, a = int(col["best_bid"][pre[-1]]), int(col["best_ask"][pre[-1]])
            if b >= 0 and a >= 0:
                start_price = Fraction(b + a, 2)
    min_price = None
    if post_trades.size:
        min_price = int(post_trades["price"].min())
    else:
        bids = col["best_bid"][post]
        bids = bids[bids >= 0]
        if bids.size:
            min_price = int(bids.min())
    book_dd = None
    if start_price is not None and min_price is not None and start_price > 0:
        book_dd = (start_price - min_price) / start_price * 100

    index_start = index_start_ticks
    if index_start is None:
        pre_index = col["index"][~post]
        pre_index = pre_index[pre_index >= 0]
        index_start = int(pre_index[-1]) if pre_index.size else None
    post_index = col["index"][post]
    post_index = post_index[post_index >= 0]
    index_min = int(post_index.min()) if post_index.size else None
    index_dd = None
    if index_start is not None and index_min is not None and index_start > 0:
        index_dd = Fraction(index_start - index_min, index_start) * 100
    amplification = book_dd / index_dd if book_dd is not None and index_dd and index_dd > 0 \
        and not why_index else None

    # Liquidations: each liquidated lot once, in the book or off it.
    liq = of(*_LIQUIDATED)
    lkind = liq["kind"]
    filled = _sum(liq["value"][lkind == _LIQ_FILLED])
    off_book = _sum(liq["value"][lkind != _LIQ_FILLED])
    liq_total = filled + off_book
    longs = _sum(liq["value"][closes_long(liq)])
    peak = None
    if liq_total > 0:
        minute = on_run_clock_s(60, time_compression) * 1_000_000_000
        peak = Fraction(peak_window(liq["ts"], liq["value"], minute)[0], liq_total)

    # Depth, vacuum, spread, fund, halts.
    baseline = None if meta["depth_baseline_1pct"] is None or why_depth \
        else Fraction(meta["depth_baseline_1pct"])
    suffix = band_name(VACUUM_BAND_PPM)
    depth1 = col[f"bid_depth_{suffix}"].astype(object) + col[f"ask_depth_{suffix}"]
    min_depth_ratio = None
    scored = post & market
    if baseline and scored.any():
        min_depth_ratio = Fraction(int(depth1[scored].min())) / baseline
    spreads = col["spread_bps"][(col["spread_bps"] >= 0) & market]
    fund = col["insurance_fund"]
    fund_min = min(insurance_fund_start, int(fund.min())) if fund.size else insurance_fund_start
    fund_end = int(fund[-1]) if fund.size else insurance_fund_start
    equity = col["insurance_fund_equity"]
    equity_min = min(insurance_fund_start, int(equity.min())) if equity.size \
        else insurance_fund_start
    equity_end = int(equity[-1]) if equity.size else insurance_fund_start
    adl = of(_ADL)
    adl_units = len(set(zip(adl["account"].tolist(), adl["ts"].tolist())))
    both = (col["mark"] > 0) & (col["index"] > 0)
    gap = None
    if both.any() and not why_index:    # the widest row by floats, its gap exact: O(rows)
        m, x = col["mark"][both], col["index"][both]
        k = int(np.argmax(np.abs(m - x) / x))
        gap = Fraction(abs(int(m[k]) - int(x[k])), int(x[k])) * 100
    bad_debt = _sum(events["value"][events["kind"] == int(_K.BAD_DEBT)])

    def seconds(flag_column) -> float:
        return round(int(np.count_nonzero(flag_column)) * interval_ns / 1e9, 3)

    funding = bool(meta.get("funding")) and col["funding_rate_ppb"].size > 0
    rates = col["funding_rate_ppb"]
    paid = of(_FUNDING_PAID)
    n_events = int(len(events) if events_processed is None else events_processed)
    out = {
        "scenario": scenario,
        "breaker": breaker,
        "seed": seed,
        "instrument": instrument.symbol,
        "quote_currency": instrument.margin_currency,
        "start_price": _price(start_price, instrument),
        "min_price": _price(min_price, instrument),
        "book_drawdown_pct": _round(book_dd, 4),
        "index_start_price": _price(index_start, instrument),
        "index_min_price": _price(index_min, instrument),
        "index_drawdown_pct": _round(index_dd, 4),
        "amplification": _round(amplification, 6),
        "liquidations_count": int(np.count_nonzero(_first_of_unit(ev, kind == _CALL))),
        "liquidation_orders": int(np.count_nonzero(kind == _LIQ_ORDER)),
        "liquidations_notional": _money(liq_total, instrument),
        "liquidations_filled_notional": _money(filled, instrument),
        "liquidations_off_book_notional": _money(off_book, instrument),
        "fund_offload_notional": _money(offloaded, instrument),
        "liquidations_through_book_share": _round(
            Fraction(filled + offloaded, liq_total) if liq_total else None, 6),
        "long_liquidation_share": _round(Fraction(longs, liq_total) if liq_total else None, 6),
        "peak_minute_liquidation_share": _round(peak, 6),
        "liquidation_fill_ratio": _round(Fraction(filled, liq_total) if liq_total else None, 6),
        "fill_failures_count": int(np.count_nonzero(kind == _LIQ_UNFILLED)),
        "liquidations_deferred": int(np.count_nonzero(kind == int(_K.LIQUIDATION_DEFERRED))),
        "insurance_takeovers": int(np.count_nonzero(kind == int(_K.INSURANCE_TAKEOVER))),
        "backstop_takeovers": int(np.count_nonzero(kind == int(_K.BACKSTOP_TAKEOVER))),
        "trades_count": int(trades.size),
        "volume_notional": _money(_sum(trades["value"]), instrument),
        "depth_baseline_1pct": None if baseline is None else _money(baseline, instrument),
        "vacuum_seconds": None if why_depth else seconds(col["vacuum"]),
        "min_depth_1pct_ratio": _round(min_depth_ratio, 6),
        "max_spread_bps": float(int(spreads.max())) / 100 if spreads.size else None,
        "one_sided_seconds": seconds(((col["best_bid"] < 0) | (col["best_ask"] < 0)) & market),
        "feed_gap_seconds": seconds(void) if "feed" in meta else None,
        "insurance_fund_start": _money(insurance_fund_start, instrument),
        "insurance_fund_min": _money(fund_min, instrument),
        "insurance_fund_end": _money(fund_end, instrument),
        "insurance_fund_equity_min": _money(equity_min, instrument),
        "insurance_fund_equity_end": _money(equity_end, instrument),
        "adl_units": adl_units,
        "adl_fills": int(adl.size),
        "adl_notional": _money(_sum(adl["value"]), instrument),
        "first_adl_after_first_liquidation_s": first_adl_delay_s(liq, baseline_end_ns),
        "max_mark_index_gap_pct": _round(gap, 4),
        "bad_debt": _money(bad_debt, instrument),
        "halts_count": int(np.count_nonzero(kind == int(_K.TRADING_HALTED))),
        "halted_seconds": seconds(col["halted"]),
        "vacuum_open_at_end": None if why_depth else bool(col["vacuum"].size
                                                          and col["vacuum"][-1]),
        "halted_at_end": bool(col["halted"].size and col["halted"][-1]),
        "down_seconds": seconds(col["down"]),
        "funding_settlements": int(np.count_nonzero(kind == int(_K.FUNDING_SETTLED))),
        "funding_paid_total": _money(_sum(paid["value"][paid["side"] == 1]), instrument)
        if funding else None,
        "funding_rate_start_ppb": int(rates[0]) if funding else None,
        "funding_rate_min_ppb": int(rates.min()) if funding else None,
        "funding_rate_max_ppb": int(rates.max()) if funding else None,
        "funding_rate_end_ppb": int(rates[-1]) if funding else None,
        "max_queue_len": int(col["queue_len"].max()) if ts.size else 0,
        "max_queue_wait_ms": int(col["queue_wait_ms"].max()) if ts.size else 0,
        "queue_overloaded_seconds": seconds(col["queue_len"]),
        "max_liq_queue_len": int(col["liq_queue_len"].max()) if ts.size else 0,
        "events_processed": n_events,
        "wall_seconds": round(float(wall_seconds), 3),
        "events_per_second": round(n_events / wall_seconds, 1) if wall_seconds > 0 else None,
        "not_measured": not_measured,
    }
    assert out.keys() == SUMMARY_KEYS.keys() - set(ADDED_BY_RUN)
    return out


def adl_summary(closes, negative_accounts, instrument: Instrument, inst: int = 0,
                counterfactual=None) -> dict:
    """The ADL overshoot figures engine.run adds (``adl_*``, ``negative_equity_accounts``:
    ``SUMMARY_KEYS``) from the run's ``AdlClose`` records of instrument ``inst``, the
    accounts seen with negative equity and the counterfactual's episodes, if any
    (``engine.liquidation.state``).  O(closes + episodes x rankings)."""
    t = adl_totals(closes, inst)
    by_ranking = None
    if counterfactual is not None:
        eps = [e for e in counterfactual.episodes if e[1] == inst]
        by_ranking = {}
        for ranking in sorted({r for e in eps for r in e[4]}):
            pairs = [(e[4][ranking], e[3]) for e in eps]
            by_ranking[ranking] = {k: _money(v, instrument) for k, v in (
                ("shortfall", sum(b for _, b in pairs)), ("haircut", sum(h for h, _ in pairs)),
                ("overshoot", sum(max(0, h - b) for h, b in pairs)),
                ("undershoot", sum(max(0, b - h) for h, b in pairs)))}
    return {"adl_episodes": t["episodes"],
            **{f"adl_{k}": _money(t[k], instrument)
               for k in ("haircut", "shortfall", "overshoot", "undershoot")},
            "negative_equity_accounts": len(negative_accounts),
            "adl_overshoot_by_ranking": by_ranking}
