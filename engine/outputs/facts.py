"""The stylized facts: a run scored against the 14 facts of docs/reference/breakers-and-events.md
section 3, each with a figure and a verdict.

``score(run, targets=None, against=None)`` returns one ``Score`` per fact (ids 1-14), each
PASS, FAIL or NOT MEASURABLE (the figure then says why).  ``run`` is a ``RunView``: a small
read-only view of a run made from an in-memory ``RunResult`` (``RunView.from_result``) or a
saved run directory (``RunView.load``) -- one code path for both.  Every figure is computed from the
time series, the event log, the summary and the resolved scenario only, never from the
loop's state.  ``facts_summary`` turns the scores into the summary keys ``facts``,
``facts_reproduced`` and ``facts_measurable`` (engine.run writes them); ``facts_table``
prints them, one row per fact, one column per run.  What each fact measures, its source and
its target: docs/facts.md and the docstring of ``fact_<id>``.

Targets are data (``DEFAULT_TARGETS``: fact id -> named thresholds), taken from the reference
where it gives a figure (each fact's docstring says which thresholds it does not give);
``targets`` overrides any of them (a fact id -> {name: value}).  A fact with several parts
is PASS when every part passes, FAIL when a measured part fails, and NOT MEASURABLE when no
part failed but one could not be measured (the figure names it).

Times in figures are seconds of run time; the venue's price is the sampled last trade, or
the mid (rounded down to a tick) while nothing has traded yet, carried forward through rows
with neither.  Runtime: O(rows + events log events) per run, numpy-vectorised.
"""
from __future__ import annotations

import json
import pathlib
import tomllib
from decimal import Decimal
from fractions import Fraction

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..venue.accounts import FIRST_MAKER, FIRST_TRADER
from ..venue.codes import WithdrawalReason
from ..venue.events import EVENT_DTYPE, EventKind as K
from ..venue.instruments import waterfall_of
from ..venue.rounding import floor_f
from .columns import band_name
from .metrics import (VACUUM_BAND_PPM, band_unmeasured, closes_long, in_log_order,
                      index_unmeasured, liquidated_rows, on_run_clock_s, peak_window,
                      timeseries_meta, void_rows)
from .results import events_array

PASS, FAIL, NOT_MEASURABLE = "PASS", "FAIL", "NOT MEASURABLE"
SECOND = 1_000_000_000

NAMES = {
    1: "quotes thin before price",
    2: "liquidations bunch in minutes",
    3: "one-sided flow",
    4: "deep wick below the index",
    5: "collateral feedback",
    6: "liquidation fills fail",
    7: "ADL removes makers",
    8: "OI falls, depth lags price",
    9: "funding flips",
    10: "partial fast recovery",
    11: "volume is not liquidity",
    12: "infrastructure stress",
    13: "breaker behaviour",
    14: "reported totals undercount",
}

#: Fact id -> named thresholds (section 3 of docs/reference/breakers-and-events.md unless
#: said otherwise; see each ``fact_<id>``).  Shares are fractions, ``*_pct`` percent.
DEFAULT_TARGETS = {
    1: {"near_fall_min": 0.90, "deep_kept_min": 0.10, "move_window_s": 60},
    2: {"peak_share_min": 0.20, "rate_ratio_min": 100, "peak_window_s": 60},
    3: {"long_share_min": 0.80, "long_share_max": 0.92, "rebound_shorts_min": 1},
    4: {"gap_pct_min": 2.0},
    5: {"depeg_pct_min": 10.0, "collateral_calls_min": 1},
    6: {"fill_ratio_fall_min": 0.5, "adl_share_max": 0.25, "fund_drawn_min": 0.0,
        "peak_window_s": 60},
    7: {"adl_withdrawals_min": 1},
    8: {"oi_fall_pct_min": 20.0},
    9: {"fall_min_ppb": 100_000},
    10: {"rebound_share_min": 0.25, "rebound_share_max": 1.0},
    11: {"volume_ratio_min": 3.0, "depth_ratio_max": 0.5, "peak_window_s": 60},
    12: {"down_s_min": 1, "queue_rise_min": 1},
    13: {"spread_ratio_min": 1.0, "window_s": 30, "magnet_window_s": 10},
    14: {"reported_share_max": 0.96, "sample_ms": 1000},
}

READ_KINDS = np.array(sorted(int(k) for k in (
    K.TRADE, K.MARGIN_CALL, K.LIQUIDATION_ORDER, K.LIQUIDATION_FILLED, K.LIQUIDATION_UNFILLED,
    K.INSURANCE_TAKEOVER, K.BACKSTOP_TAKEOVER, K.AUTO_DELEVERAGED, K.COLLATERAL_SEIZED,
    K.MAKER_WITHDREW, K.BREAKER_TRIPPED, K.TRADING_HALTED, K.TRADING_RESUMED,
    K.VENUE_WENT_DOWN, K.VENUE_CAME_BACK)), dtype=np.uint8)
FUNDING_COLUMN = "funding_rate_ppb"     # signed funding rate, parts per billion
QUEUE_COLUMN = "queue_len"              # the venue-capacity queue's length


class RunInputError(ValueError):
    """A saved run that cannot be read: the message is one line naming the file and what was
    expected."""


def _check_timeseries(table: pa.Table, meta) -> None:
    """What the facts, the report and ``liqsim account`` read of a saved time series, checked
    once at load (a hand-edited or foreign file was an internal error deep in a fact): the
    metadata's sizes, interval, baseline end, instrument and bands, and every column it
    declares present with integer values.  ``ValueError`` naming the first problem.
    O(columns)."""
    if not isinstance(meta, dict):
        raise ValueError("metadata: expected a JSON object")
    for key, lo in (("interval_ns", 1), ("baseline_end_ns", 0), ("inst", 0)):
        v = meta.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"metadata {key}: expected an integer >= {lo}, got {v!r}")
    bands = meta.get("bands_ppm")
    if not isinstance(bands, list) or not all(type(b) is int and b > 0 for b in bands):
        raise ValueError(f"metadata bands_ppm: expected a list of integers > 0, got {bands!r}")
    for key in ("tick_size", "lot_size", "quote_quantum"):
        try:
            ok = isinstance(meta.get(key), str) and Decimal(meta[key]).is_finite() \
                and Decimal(meta[key]) > 0
        except ArithmeticError:
            ok = False
        if not ok:
            raise ValueError(f"metadata {key}: expected a decimal > 0, got {meta.get(key)!r}")
    _check_feed(meta.get("feed"))
    columns = meta.get("columns")
    if not isinstance(columns, dict) or "ts" not in columns:
        raise ValueError("metadata columns: expected the table of the run's columns")
    for name in columns:
        if name not in table.column_names:
            raise ValueError(f"column {name!r}: missing (the metadata lists it)")
        if not pa.types.is_integer(table.schema.field(name).type):
            raise ValueError(f"column {name!r}: expected integers, got "
                             f"{table.schema.field(name).type}")


def _check_feed(feed) -> None:
    """A recorded run's ``feed`` metadata (``metrics.feed_meta``), or None: what the facts
    and the summary read of it, checked at load.  ``ValueError`` naming the first problem."""
    if feed is None:
        return
    def _int(v, lo=0):
        return type(v) is int and v >= lo
    rng = feed.get("book_range_ppm") if isinstance(feed, dict) else None
    void = feed.get("void_ns") if isinstance(feed, dict) else None
    bands = feed.get("bands_incomplete_ppm", []) if isinstance(feed, dict) else None
    if not isinstance(feed, dict):
        problem = "expected a JSON object"
    elif not (rng is None or isinstance(rng, list) and len(rng) == 2 and all(map(_int, rng))):
        problem = f"book_range_ppm: expected null or two integers >= 0, got {rng!r}"
    elif not isinstance(feed.get("book_range"), (str, type(None))):
        problem = f"book_range: expected a text or null, got {feed.get('book_range')!r}"
    elif not isinstance(void, list) or not all(
            isinstance(p, list) and len(p) == 2 and _int(p[0]) and (p[1] is None or _int(p[1]))
            for p in void):
        problem = f"void_ns: expected a list of [start, end or null] integers, got {void!r}"
    elif not isinstance(bands, list) or not all(_int(b, 1) for b in bands):
        problem = f"bands_incomplete_ppm: expected a list of integers > 0, got {bands!r}"
    elif not isinstance(feed.get("index_is_mid", False), bool):
        problem = f"index_is_mid: expected true or false, got {feed.get('index_is_mid')!r}"
    else:
        return
    raise ValueError(f"metadata feed: {problem}")


@attrs.frozen
class Score:
    """One fact's result: ``verdict`` PASS / FAIL / NOT MEASURABLE, ``figure`` a short text
    (for NOT MEASURABLE: the reason first), ``values`` the numbers behind it (JSON-ready),
    ``target`` the thresholds used."""

    id: int
    name: str
    verdict: str
    figure: str
    values: dict
    target: dict

    def as_dict(self) -> dict:
        return {"name": self.name, "verdict": self.verdict, "figure": self.figure,
                "values": self.values, "target": self.target}


# ------------------------------------------------------------------------------ the view
class RunView:
    """A read-only view of one run: ``summary`` (dict), ``table`` (the integer time series,
    ``engine.outputs.metrics.build_timeseries``), ``events`` (the log's rows of the kinds a
    fact reads, ``EVENT_DTYPE``) and ``scenario`` (the resolved scenario as a dict).  Derived arrays are computed once
    and cached."""

    __slots__ = ("summary", "table", "events", "scenario", "meta", "_cache")

    def __init__(self, summary: dict, table: pa.Table, events: np.ndarray,
                 scenario: dict | None = None) -> None:
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("events: expected a numpy array of EVENT_DTYPE")
        self.summary = summary
        self.table = table
        # Only the kinds the facts read, selected once (order accepts and cancels are most
        # of a log and no fact reads them).
        self.events = events[np.isin(events["kind"], READ_KINDS)]
        self.scenario = scenario or {}
        self.meta = timeseries_meta(table)
        self._cache: dict = {}

    @classmethod
    def from_result(cls, result) -> "RunView":
        """The view of an in-memory ``engine.outputs.results.RunResult``."""
        return cls(result.summary, result.timeseries, result.events_array,
                   result.scenario_resolved)

    @classmethod
    def load(cls, directory) -> "RunView":
        """The view of a run saved by ``RunResult.save``; ``RunInputError`` (one line naming
        the file and what was expected) if the directory or a file is missing or unreadable."""
        d = pathlib.Path(directory)
        if not d.is_dir():
            raise RunInputError(f"{d}: expected a run directory (liqsim replay --out), "
                                f"found none")

        def need(name: str) -> pathlib.Path:
            p = d / name
            if not p.is_file():
                runs = sorted(q.parent for q in (*d.glob("*/summary.json"),
                                                 *d.glob("*/seed-*/summary.json")))
                if (d / "comparison.json").is_file() and runs:
                    raise RunInputError(f"{d} is a comparison; give one of its runs: "
                                        f"{', '.join(str(r) for r in runs)}")
                raise RunInputError(f"{p}: expected a file of the saved run, found none")
            return p

        p = need("summary.json")
        try:
            summary = json.loads(p.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise RunInputError(f"{p}: expected the run's summary as JSON ({exc})") from None
        if not isinstance(summary, dict) or not isinstance(summary.get("breaker"), str):
            raise RunInputError(f"{p}: expected a JSON object with a 'breaker' name")
        # The other keys the report reads whole (a hand-edited file was an internal error).
        for key, kind, what in (("scenario", str, "the scenario's name"),
                                ("time", (dict, type(None)), "an object"),
                                ("facts", (dict, type(None)), "an object of facts"),
                                ("not_measured", (dict, type(None)),
                                 "an object of reasons")):
            if not isinstance(summary.get(key), kind) or (
                    key == "facts" and summary.get(key) is not None
                    and not all(isinstance(f, dict) for f in summary[key].values())):
                raise RunInputError(f"{p}: {key}: expected {what}, got "
                                    f"{json.dumps(summary.get(key))[:40]}")
        p = need("timeseries.parquet")
        try:
            table = pq.read_table(str(p))
            _check_timeseries(table, timeseries_meta(table))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise RunInputError(f"{p}: expected a liqsim time series in parquet "
                                f"({_one_line(exc)})") from None
        p = need("events.parquet")
        try:
            events = events_array(pq.read_table(str(p)))
        except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
            raise RunInputError(f"{p}: expected a liqsim event log in parquet "
                                f"({_one_line(exc)})") from None
        p = need("scenario.toml")
        try:
            scenario = tomllib.loads(p.read_text())
        except ValueError as exc:       # not TOML, not UTF-8, an integer too long for int
            raise RunInputError(f"{p}: expected the run's resolved scenario as TOML "
                                f"({_one_line(exc)})") from None
        return cls(summary, table, events, scenario)

    # --- plain accessors ------------------------------------------------------------
    @property
    def interval_ns(self) -> int:
        return self.meta["interval_ns"]

    @property
    def start_ns(self) -> int:
        """The event start (the end of the pre-event baseline window)."""
        return self.meta["baseline_end_ns"]

    @property
    def ts(self) -> np.ndarray:
        return self.col("ts")

    @property
    def end_ns(self) -> int:
        """The end of the sampled span: the last row's start + one interval."""
        ts = self.ts
        return int(ts[-1]) + self.interval_ns if ts.size else self.start_ns

    @property
    def pre(self) -> np.ndarray:
        return self.ts < self.start_ns

    @property
    def void(self) -> np.ndarray:
        """Rows sampled while a recorded feed was void (``metrics.void_rows``): not market
        seconds, read by no depth figure, in no baseline."""
        if "void" not in self._cache:
            self._cache["void"] = void_rows(self.ts, self.meta)
        return self._cache["void"]

    @property
    def scored(self) -> np.ndarray:
        """Rows a depth figure may score: from the event start (the baseline window is
        never scored against itself, as in the summary's vacuum) and outside feed gaps."""
        return ~self.pre & ~self.void

    def band_why(self, ppm: int) -> str | None:
        """Why depth within ``ppm`` is not measured (``metrics.band_unmeasured``), or None."""
        return band_unmeasured(self.meta, ppm)

    def has(self, name: str) -> bool:
        return name in self.table.column_names

    def col(self, name: str) -> np.ndarray:
        key = ("col", name)
        if key not in self._cache:
            self._cache[key] = self.table.column(name).to_numpy().astype(np.int64)
        return self._cache[key]

    def of(self, *kinds, venue_wide: bool = False) -> np.ndarray:
        """Events of ``kinds`` (of the table's instrument unless ``venue_wide``), in
        (ts, seq) order."""
        ev = self.events
        m = np.isin(ev["kind"], np.array([int(k) for k in kinds], dtype=np.uint8))
        if not venue_wide:
            m &= ev["inst"] == self.meta["inst"]
        out = ev[m]
        return in_log_order(out)

    def peak(self, window_s: int) -> tuple[int, int]:
        """The busiest ``window_s`` window of the event's liquidated notional
        (``metrics.peak_window`` over the rows from the event start): its sum and its start
        (ns); ``(0, -1)`` without liquidations."""
        key = ("peak", window_s)
        if key not in self._cache:
            liq = self.liquidated()
            ev = liq[liq["ts"] >= self.start_ns]
            best, i = peak_window(ev["ts"], ev["value"], window_s * SECOND)
            self._cache[key] = (best, int(ev["ts"][i]) if i >= 0 else -1)
        return self._cache[key]

    def liquidated(self) -> np.ndarray:
        if "liq" not in self._cache:
            self._cache["liq"] = liquidated_rows(self.events, self.meta["inst"])
        return self._cache["liq"]

    def row_at(self, t_ns: int) -> int:
        """The last row whose start is <= ``t_ns`` (-1 if none)."""
        return int(np.searchsorted(self.ts, t_ns, side="right")) - 1

    # --- derived series ---------------------------------------------------------------
    def depth(self, ppm: int) -> np.ndarray:
        """Both sides' depth within ``ppm`` of mid, quantums, per row."""
        name = band_name(ppm)
        return self.col(f"bid_depth_{name}") + self.col(f"ask_depth_{name}")

    def deep_band(self) -> int | None:
        """The widest recorded band wider than 1% (the "deeper" liquidity)."""
        wider = [b for b in self.meta["bands_ppm"] if b > VACUUM_BAND_PPM]
        return max(wider) if wider else None

    def baseline(self, values: np.ndarray) -> Fraction | None:
        """Exact mean of ``values`` over the pre-event rows (outside feed gaps); None
        without one."""
        pre = values[self.pre & ~self.void]
        return Fraction(sum(pre.tolist()), pre.size) if pre.size else None

    def price(self) -> np.ndarray:
        """The venue's price per row, ticks: the last trade, else the mid rounded down
        while nothing has traded, carried forward; -1 before the first known value."""
        if "price" not in self._cache:
            last, bid, ask = self.col("last"), self.col("best_bid"), self.col("best_ask")
            mid = np.where((bid >= 0) & (ask >= 0), (bid + ask) // 2, -1)
            p = np.where(last >= 0, last, mid)
            known = np.where(p >= 0, np.arange(p.size), -1)
            np.maximum.accumulate(known, out=known)
            self._cache["price"] = np.where(known >= 0, p[np.maximum(known, 0)], -1)
        return self._cache["price"]

    def start_price(self) -> int | None:
        """The venue's price at the last pre-event row (else the first known)."""
        p = self.price()
        pre = np.flatnonzero(self.pre & (p >= 0))
        if pre.size:
            return int(p[pre[-1]])
        known = np.flatnonzero(p >= 0)
        return int(p[known[0]]) if known.size else None

    def low(self) -> tuple[int, int] | None:
        """The venue's lowest price from the event start -- the lowest trade, or the lowest
        sampled price if lower or if nothing traded -- and its time (ns)."""
        trades = self.of(K.TRADE)
        trades = trades[trades["ts"] >= self.start_ns]
        best = None
        if trades.size:
            k = int(np.argmin(trades["price"]))
            best = (int(trades["price"][k]), int(trades["ts"][k]))
        p = self.price()
        post = np.flatnonzero((self.ts >= self.start_ns) & (p >= 0))
        if post.size:
            k = int(post[np.argmin(p[post])])
            if best is None or int(p[k]) < best[0]:
                best = (int(p[k]), int(self.ts[k]))
        return best

    def index_low(self) -> tuple[int, int] | None:
        """The lowest sampled index from the event start and the first row reaching it."""
        idx = self.col("index")
        post = np.flatnonzero((self.ts >= self.start_ns) & (idx >= 0))
        if not post.size:
            return None
        k = int(post[np.argmin(idx[post])])
        return int(idx[k]), int(self.ts[k])

    # --- units for figures --------------------------------------------------------------
    def money(self, quantums) -> float:
        return float(Fraction(quantums) * Fraction(Decimal(self.meta["quote_quantum"])))

    def quote(self, ticks) -> float:
        return float(Fraction(ticks) * Fraction(Decimal(self.meta["tick_size"])))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# ------------------------------------------------------------------------- verdicts
def _num(x):
    """A threshold as an exact Fraction (floats through their repr: 0.9 -> 9/10)."""
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def _r(x, digits: int = 6):
    return None if x is None else round(float(x), digits)


def _g(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _s(t_ns: int) -> str:
    return f"{t_ns / SECOND:g} s"


def _pct(f, signed: bool = False) -> str:
    v = float(f) * 100
    text = f"{v:+.0f}%" if signed else f"{v:.0f}%"
    if text in ("+0%", "-0%", "0%") and v != 0:
        text = f"{v:+.2g}%" if signed else f"{v:.2g}%"
    return text


def _money_text(view: RunView, quantums) -> str:
    v = view.money(quantums)
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:,.2f}{unit}"
    return f"{v:,.2f}"


def _money_unit(view: RunView, quantums) -> str:
    """``_money_text`` with the money's currency: "1.01k USDT"."""
    return f"{_money_text(view, quantums)} {view.meta.get('quote_currency', 'quote')}"


def _judge(fid: int, t: dict, parts: list, figure: str, values: dict) -> Score:
    """``parts``: (reason if unmeasurable, result True/False/None).  Any False -> FAIL; all
    True -> PASS; else NOT MEASURABLE, its reasons before the figure."""
    results = [ok for _, ok in parts]
    if any(ok is False for ok in results):
        verdict = FAIL
    elif all(ok is True for ok in results):
        verdict = PASS
    else:
        verdict = NOT_MEASURABLE
        reasons = "; ".join(why for why, ok in parts if ok is None)
        figure = f"{reasons}; {figure}" if figure else reasons
    return Score(fid, NAMES[fid], verdict, figure, values, dict(t))


def _unmeasurable(fid: int, t: dict, reason: str, values: dict | None = None) -> Score:
    return Score(fid, NAMES[fid], NOT_MEASURABLE, reason, values or {}, dict(t))


def _event_liquidations(view: RunView) -> np.ndarray:
    liq = view.liquidated()
    return liq[liq["ts"] >= view.start_ns]


def _total(values: np.ndarray) -> int:
    """Exact sum: int64 when it cannot overflow, else Python ints."""
    if float(np.abs(values.astype(np.float64)).sum()) < 2.0 ** 62:
        return int(values.sum(dtype=np.int64))
    return sum(values.tolist())


# --------------------------------------------------------------------------- the facts
def fact_1(view: RunView, t: dict) -> Score:
    """Quotes thin out before the price moves.

    Test: the largest fall of the venue's price over ``move_window_s`` (rows
    ``move_window_s`` apart: the most negative return), and the row where the price has
    covered half of that move (the move's instant).  A fall, not the largest absolute
    move: the event is a fall, as facts 3, 4 and 8-10 read it from its low
    (``RunView.low``), and a rebound off the low larger than the plunge is not the move the
    quotes thinned before.  Near-mid depth (within 1%, both sides) must have fallen by at
    least ``near_fall_min`` from its pre-event mean at a row no later than that instant;
    deeper depth (the widest band, 5%) must keep at least ``deep_kept_min`` of its
    pre-event mean at that instant.  Source: breakers-and-events.md section 3 item 1 (spreads
    widened seconds before the plunge [S58], bids remained 4-10% away [S57]; target top-of-book
    depth -90% or more before the largest 1-minute return [S108, S83]).
    Fact 1's deep_kept_min (0.10) is assumed: deeper bids survived, by no stated amount.
    The thinning is looked for from the event start (``RunView.scored``): the baseline
    window is never scored against itself.
    """
    why = view.band_why(VACUUM_BAND_PPM)
    if why:
        return _unmeasurable(1, t, why)
    ts, p = view.ts, view.price()
    d1 = view.depth(VACUUM_BAND_PPM)
    base1 = view.baseline(d1)
    if not base1:
        return _unmeasurable(1, t, "no pre-event depth within 1% to compare with")
    k = max(1, t["move_window_s"] * SECOND // view.interval_ns)
    if p.size <= k:
        return _unmeasurable(1, t, f"the run is shorter than {t['move_window_s']} s")
    a, b = p[:-k], p[k:]
    ok = (a > 0) & (b >= 0)
    if not ok.any():
        return _unmeasurable(1, t, "the venue has no price")
    ret = np.where(ok, (b - a) / np.where(ok, a, 1), 0.0)
    end = int(np.argmin(ret)) + k
    start = end - k
    move = int(p[end]) - int(p[start])
    if move >= 0:
        return _unmeasurable(1, t, f"the price never fell over {t['move_window_s']} s")
    covered = np.abs(p[start + 1:end + 1] - p[start]) * 2 >= abs(move)
    mid = start + 1 + int(np.argmax(covered))
    t_move = int(ts[mid])
    limit = floor_f((1 - _num(t["near_fall_min"])) * base1)   # depth <= limit <=> fallen enough
    rows = np.flatnonzero(view.scored[:mid + 1])
    if not rows.size:
        return _unmeasurable(1, t, f"the largest {t['move_window_s']}-s move comes before the "
                                   f"event start (at {_s(t_move)})")
    thin = rows[d1[rows] <= limit]
    worst = int(d1[rows].min())
    fall = 1 - Fraction(worst) / base1
    values = {"near_fall": _r(fall), "move_return": _r(Fraction(move, int(p[start]))),
              "move_at_s": t_move / SECOND, "lead_s": None, "deep_kept": None}
    ret_text = f"{_pct(Fraction(move, int(p[start])), signed=True)}"
    if thin.size:
        lead = t_move - int(ts[thin[0]])
        values["lead_s"] = lead / SECOND
        figure = (f"depth1% {_pct(-fall, signed=True)} {lead / SECOND:g} s before the largest "
                  f"1-min fall ({ret_text} at {_s(t_move)})")
    else:
        figure = (f"depth1% only {_pct(-fall, signed=True)} by the largest 1-min fall "
                  f"({ret_text} at {_s(t_move)})")
    parts = [("", thin.size > 0)]
    deep = view.deep_band()
    deep_why = view.band_why(deep) if deep else None
    deep_base = view.baseline(view.depth(deep)) if deep and not deep_why else None
    if deep_why:
        parts.append((deep_why, None))
    elif deep_base and view.void[mid]:
        parts.append(("the recorded feed is void at the move", None))
    elif deep_base:
        kept = Fraction(int(view.depth(deep)[mid])) / deep_base
        values["deep_kept"] = _r(kept)
        figure += f"; depth{band_name(deep)[:-3].replace('_', '.')}% {_pct(kept - 1, True)}"
        parts.append(("", kept >= _num(t["deep_kept_min"])))
    else:
        parts.append(("no deeper band with a pre-event depth", None))
    return _judge(1, t, parts, figure, values)


def fact_2(view: RunView, t: dict) -> Score:
    """Liquidations bunch into minutes, not hours.

    Test: of the notional liquidated from the event start, the share in the busiest sliding
    window of ``peak_window_s`` (``engine.outputs.metrics.peak_window``) must be at least
    ``peak_share_min``; and the event's hourly rate of long liquidations (notional from the
    event start to the run's end, per hour) must be at least ``rate_ratio_min`` times the
    pre-event rate -- NOT MEASURABLE when the baseline liquidated no long.  Source:
    breakers-and-events.md section 3 item 2 (peak minute >= 20% of the event [S56]; event
    long rate ~640/(68/24) ~ 200x the baseline [S60]).
    Fact 2's rate_ratio_min (100) is assumed: the reference's ~200x within a factor of two.
    """
    ev = _event_liquidations(view)
    total = _total(ev["value"])
    if not total:
        return _unmeasurable(2, t, "no liquidation during the event")
    peak, _ = view.peak(t["peak_window_s"])
    share = Fraction(peak, total)
    liq = view.liquidated()
    longs = closes_long(liq)
    base = liq["ts"] < view.start_ns
    base_long = _total(liq["value"][base & longs])
    ev_long = _total(liq["value"][~base & longs])
    base_ns = view.start_ns - (int(view.ts[0]) if view.ts.size else view.start_ns)
    ev_ns = view.end_ns - view.start_ns
    figure = f"peak minute {_pct(share)} of {_money_unit(view, total)} liquidated"
    values = {"peak_share": _r(share), "event_notional": view.money(total),
              "rate_ratio": None}
    parts = [("", share >= _num(t["peak_share_min"]))]
    if base_long and base_ns > 0 and ev_ns > 0:
        ratio = Fraction(ev_long * base_ns, ev_ns * base_long)
        values["rate_ratio"] = _r(ratio, 2)
        figure += f"; long rate {float(ratio):,.0f}x the baseline's"
        parts.append(("", ratio >= _num(t["rate_ratio_min"])))
    else:
        parts.append(("the baseline liquidated no long (no rate to compare with)", None))
    return _judge(2, t, parts, figure, values)


def fact_3(view: RunView, t: dict) -> Score:
    """Flow is one-sided, and shorts still go on the rebound.

    Test: longs' share of the notional liquidated from the event start must lie in
    [``long_share_min``, ``long_share_max``]; and at least ``rebound_shorts_min`` short
    liquidations (rows closing a short) must come after the index low (the rebound) --
    NOT MEASURABLE when the run ends at that low.  Source: breakers-and-events.md section 3
    item 3 (longs 84-91% on E1 [S56, S64], 82-86% on E2/E6 [S51, S80]; shorts liquidated on
    the rebound); the band [0.80, 0.92] is issue 13's target for the toy.
    """
    ev = _event_liquidations(view)
    total = _total(ev["value"])
    if not total:
        return _unmeasurable(3, t, "no liquidation during the event")
    longs = closes_long(ev)
    share = Fraction(_total(ev["value"][longs]), total)
    low = view.index_low() or view.low()
    values = {"long_share": _r(share), "shorts_after_low": None,
              "short_notional_after_low": None}
    figure = f"longs {_pct(share)} of liquidated notional"
    parts = [("", _num(t["long_share_min"]) <= share <= _num(t["long_share_max"]))]
    if low is None or not view.ts.size or low[1] >= int(view.ts[-1]):
        parts.append(("the run ends at its low (no rebound)", None))
    else:
        after = ~longs & (ev["ts"] > low[1])
        n = int(np.count_nonzero(after))
        values["shorts_after_low"] = n
        values["short_notional_after_low"] = view.money(_total(ev["value"][after]))
        figure += f"; {n} short liquidations after the low at {_s(low[1])}"
        parts.append(("", n >= t["rebound_shorts_min"]))
    return _judge(3, t, parts, figure, values)


def fact_4(view: RunView, t: dict) -> Score:
    """Wicks are deep and short, and the venue departs from the index.

    Test: (index low - venue low) / index low x 100 from the event start must be at least
    ``gap_pct_min``; the venue low is its lowest trade (or sampled price), the index low the
    lowest sampled index.  Also reported: the seconds the venue's price stayed under the
    index low (how short the wick was).  Source: breakers-and-events.md section 3 item 4
    (BTC 102,000 vs a 106,560 reference rate, ~4.3% [S55, S60]; BitMEX $400 under spot
    [S74]; "several percent for majors").
    Fact 4's gap_pct_min (2%) is assumed: the low end of the reference's "several percent".
    """
    why = index_unmeasured(view.meta)
    if why:
        return _unmeasurable(4, t, why)
    low, ilow = view.low(), view.index_low()
    if low is None:
        return _unmeasurable(4, t, "the venue has no price after the event start")
    if ilow is None or ilow[0] <= 0:
        return _unmeasurable(4, t, "the run has no index after the event start")
    gap = Fraction(ilow[0] - low[0], ilow[0]) * 100
    p = view.price()
    below = int(np.count_nonzero((view.ts >= view.start_ns) & (p >= 0) & (p < ilow[0])))
    below_s = below * view.interval_ns / SECOND
    values = {"venue_low": view.quote(low[0]), "index_low": view.quote(ilow[0]),
              "gap_pct": _r(gap, 4), "below_index_low_s": below_s}
    where = f"{float(gap):.2f}% below" if gap >= 0 else f"{float(-gap):.2f}% above"
    figure = (f"venue low {view.quote(low[0]):,.6g} vs index low {view.quote(ilow[0]):,.6g}: "
              f"{where}, {below_s:g} s under it")
    return _judge(4, t, [("", gap >= _num(t["gap_pct_min"]))], figure, values)


def fact_5(view: RunView, t: dict) -> Score:
    """Collateral feeds back.

    Test, two parts, on a run with ``[collateral]`` (its time-series columns
    ``coll_<asset>_price`` -- the asset as the venue values it -- and ``coll_<asset>_index``,
    the market elsewhere, ``engine.market.collateral``): (a) after the event start, the
    widest gap ``(index - venue price) / index`` of any asset is at least ``depeg_pct_min``
    percent; (b) at least ``collateral_calls_min`` holders were found deficient who would
    not have been at the assets' index prices (``collateral_calls``: the margin event the
    collateral price made).  Without those columns: NOT MEASURABLE, the reason saying whether
    the run seized collateral at all.  Source: breakers-and-events.md section 3 item 5 (USDe
    -35% on one venue while ~$1 elsewhere [S55, S98]).
    Fact 5's depeg_pct_min (10%) is assumed: twice the ~5% dip reported on another venue.
    """
    seized = view.of(K.COLLATERAL_SEIZED, venue_wide=True)
    assets = [n[:-len("_price")] for n in view.table.column_names
              if n.startswith("coll_") and n.endswith("_price")]
    if not assets or not view.has("collateral_calls"):
        if not seized.size:
            return _unmeasurable(5, t, "no collateral in this run (no account held a "
                                       "collateral asset that was used)", {"collateral_seized": 0})
        return _unmeasurable(5, t, f"collateral was seized {seized.size} times, but the run "
                                   f"records no collateral price to compare with its index",
                             {"collateral_seized": int(seized.size)})
    post = view.ts >= view.start_ns
    best = None                     # (gap, asset, venue price, index) in nquote
    for a in assets:
        price, index = view.col(f"{a}_price"), view.col(f"{a}_index")
        ok = np.flatnonzero(post & (price >= 0) & (index > 0))
        if ok.size:
            k = int(ok[np.argmax((index[ok] - price[ok]) / index[ok])])
            gap = Fraction(int(index[k]) - int(price[k]), int(index[k])) * 100
            if best is None or gap > best[0]:
                best = (gap, a.removeprefix("coll_"), int(price[k]), int(index[k]))
    calls = int(view.col("collateral_calls")[-1]) if view.ts.size else 0
    values = {"collateral_calls": calls, "collateral_seized": int(seized.size)}
    parts = [("", calls >= int(t["collateral_calls_min"]))]
    if best is None:
        parts.append(("no collateral price after the event start", None))
        figure = f"{calls} collateral-driven calls"
    else:
        gap, name, price, index = best
        values.update(asset=name, depeg_pct=_r(gap, 4), venue_price=price / 1e9,
                      index_price=index / 1e9)
        parts.append(("", gap >= _num(t["depeg_pct_min"])))
        figure = (f"{name} valued at {price / 1e9:.4g} vs {index / 1e9:.4g} elsewhere "
                  f"({float(gap):.1f}% under); {calls} holders called who would not be at "
                  f"the index; {seized.size} seizures")
    return _judge(5, t, parts, figure, values)


def _compression(view: RunView) -> Fraction:
    """The run's time compression k (``[scenario] time_compression``; 1 if not stated): one
    run second stands for k event seconds."""
    return Fraction(str(((view.scenario or {}).get("scenario") or {}).get("time_compression",
                                                                        1)))


def _waterfall(view: RunView) -> str | None:
    """The run's liquidation waterfall from its saved scenario (``[venue] waterfall``, else
    its instrument's), or None when the scenario does not say (recorded data)."""
    venue = (view.scenario or {}).get("venue") or {}
    return waterfall_of(venue.get("instrument"), venue.get("waterfall"))


def fact_6(view: RunView, t: dict) -> Score:
    """Liquidation fills fail, and ADL is the extreme tail.

    Test, three parts: (a) the liquidation fill ratio (filled in the book / liquidated) in
    the busiest ``peak_window_s`` window must be at most (1 - ``fill_ratio_fall_min``) x the
    ratio of the liquidations before that window (NOT MEASURABLE if none came before, or
    none of them filled in the book: a ratio of 0 cannot fall);
    (b) ADL'd notional / liquidated notional (from the event start) at most
    ``adl_share_max``; (c) the first ADL comes only once the fund was drawn: the fund's
    equity at the row of the first ADL below (1 - ``fund_drawn_min``) x its equity in the
    run's first row (a run without ADL passes (b) and (c); a Hyperliquid waterfall, which
    has no fund before ADL, is judged on (a) and (b)).  Source: breakers-and-events.md
    section 3 item 6 (fill ratio falls steeply in the peak minutes; ADL only at the extreme
    [S31, S41, S63]); ``adl_share_max`` 0.25 is issue 13's target (Hyperliquid's ADL was
    about a fifth).
    Fact 6's fill_ratio_fall_min (0.5) is assumed: the fill ratio falls "steeply", no figure.
    """
    ev = _event_liquidations(view)
    total = _total(ev["value"])
    if not total:
        return _unmeasurable(6, t, "no liquidation during the event")
    filled_kind = int(K.LIQUIDATION_FILLED)
    _, p0 = view.peak(t["peak_window_s"])
    liq = view.liquidated()
    in_peak = (liq["ts"] >= p0) & (liq["ts"] < p0 + t["peak_window_s"] * SECOND)
    before = liq["ts"] < p0

    def ratio(mask):
        tot = _total(liq["value"][mask])
        return Fraction(_total(liq["value"][mask & (liq["kind"] == filled_kind)]), tot) \
            if tot else None

    peak_ratio, before_ratio = ratio(in_peak), ratio(before)
    adl = ev["kind"] == int(K.AUTO_DELEVERAGED)
    adl_share = Fraction(_total(ev["value"][adl]), total)
    values = {"fill_ratio_peak": _r(peak_ratio), "fill_ratio_before": _r(before_ratio),
              "adl_share": _r(adl_share), "fund_left_at_first_adl": None,
              "first_adl_s": None}
    figure = f"fill ratio {float(peak_ratio):.2f} in the peak minute"
    parts = []
    if before_ratio is None:
        figure += " (none liquidated before it)"
        parts.append(("no liquidation before the peak minute to compare with", None))
    elif not before_ratio:
        figure += " vs 0.00 before"
        parts.append(("none filled in the book before the peak minute (a ratio of 0 cannot "
                      "fall)", None))
    else:
        figure += f" vs {float(before_ratio):.2f} before"
        parts.append(("", peak_ratio <= (1 - _num(t["fill_ratio_fall_min"])) * before_ratio))
    figure += f"; ADL {_pct(adl_share)} of liquidated"
    parts.append(("", adl_share <= _num(t["adl_share_max"])))
    all_adl = view.of(K.AUTO_DELEVERAGED)
    if all_adl.size and _waterfall(view) == "hyperliquid":
        # No fund stands before ADL in this waterfall: a negative account goes to ADL and
        # the vault backstops the rest (engine.liquidation.waterfalls) -- on 10 Oct ADL
        # fired while HLP earned ~$40M (liquidation-mechanics.md section 9) -- so part
        # (c) does not apply; (a) and (b) decide.
        values["first_adl_s"] = int(all_adl["ts"][0]) / SECOND
        figure += (f", first at {_s(int(all_adl['ts'][0]))} (no fund before ADL in "
                   f"Hyperliquid's waterfall)")
    elif all_adl.size:
        equity = view.col("insurance_fund_equity")
        first = int(all_adl["ts"][0])
        row = max(view.row_at(first), 0)
        start = int(equity[0])
        left = Fraction(int(equity[row]), start) if start > 0 else None
        values["first_adl_s"] = first / SECOND
        if left is None:
            parts.append(("the fund had no equity at the start", None))
        else:
            values["fund_left_at_first_adl"] = _r(left)
            figure += f", first at {_s(first)} with the fund at {_pct(left)}"
            parts.append(("", left < 1 - _num(t["fund_drawn_min"])))
    return _judge(6, t, parts, figure, values)


def fact_7(view: RunView, t: dict) -> Score:
    """ADL takes out liquidity providers.

    Test: at least ``adl_withdrawals_min`` market makers withdrew with reason ADL
    (``MakerWithdrew``, ``WithdrawalReason.ADL``).  NOT MEASURABLE when no ADL closed a
    market maker's position (makers are the accounts FIRST_MAKER <= id < FIRST_TRADER of
    ``engine.venue.accounts``): the fact needs ADL to reach a maker first.  Source:
    breakers-and-events.md section 3 item 7 (ADL closed market makers' hedges, which then
    pulled their quotes [S69]).
    """
    withdrew = view.of(K.MAKER_WITHDREW, venue_wide=True)
    by_adl = withdrew[withdrew["reason"] == int(WithdrawalReason.ADL)]
    adl = view.of(K.AUTO_DELEVERAGED)
    hit = adl["other"][(adl["other"] >= FIRST_MAKER) & (adl["other"] < FIRST_TRADER)]
    makers_hit = sorted(set(hit.tolist()))
    values = {"adl_withdrawals": int(by_adl.size), "makers_hit_by_adl": len(makers_hit)}
    if by_adl.size:
        figure = (f"{by_adl.size} maker withdrawal(s) after ADL, first at "
                  f"{_s(int(by_adl['ts'][0]))}")
        return _judge(7, t, [("", by_adl.size >= t["adl_withdrawals_min"])], figure, values)
    if not adl.size:
        return _unmeasurable(7, t, "no ADL in this run", values)
    if not makers_hit:
        return _unmeasurable(7, t, f"{adl.size:,} ADL fills, none against a market "
                                   f"maker", values)
    return _judge(7, t, [("", False)], f"ADL hit {len(makers_hit)} maker(s), none withdrew "
                                       f"for it", values)


def fact_8(view: RunView, t: dict) -> Score:
    """Open interest collapses; depth comes back slower than the price.

    Test: open interest from the last pre-event row to the last row must fall by at least
    ``oi_fall_pct_min`` percent; and depth within 1% in the last row / its pre-event mean
    must stay below the share of the price's fall recovered by the last row ((end - low) /
    (start - low), the venue's price): a V-shaped price over an L-shaped depth.  Source:
    breakers-and-events.md section 3 item 8 (BTC OI -22% in <12 h [S60], perp OI -43% [S55];
    depth ~30% under its level a month later [S59]); ``oi_fall_pct_min`` 20 is the low end
    of those falls.
    """
    oi = view.col("open_interest_lots")
    if not oi.size:
        return _unmeasurable(8, t, "the run has no rows")
    pre = np.flatnonzero(view.pre)
    oi0 = int(oi[pre[-1]] if pre.size else oi[0])
    if oi0 <= 0:
        return _unmeasurable(8, t, "no open interest at the event start")
    fall = Fraction(oi0 - int(oi[-1]), oi0) * 100
    values = {"oi_fall_pct": _r(fall, 4), "depth_end_ratio": None,
              "price_recovered_share": None}
    figure = f"OI {_pct(-fall / 100, signed=True)}"
    parts = [("", fall >= _num(t["oi_fall_pct_min"]))]
    d1 = view.depth(VACUUM_BAND_PPM)
    base = view.baseline(d1)
    start, low = view.start_price(), view.low()
    end = int(view.price()[-1])
    why = view.band_why(VACUUM_BAND_PPM)
    if why:
        parts.append((why, None))
    elif view.void[-1]:
        parts.append(("the recorded feed is void at the last row", None))
    elif not base:
        parts.append(("no pre-event depth within 1%", None))
    elif start is None or low is None or low[0] >= start or end < 0:
        parts.append(("the price did not fall", None))
    else:
        depth_end = Fraction(int(d1[-1])) / base
        recovered = Fraction(end - low[0], start - low[0])
        values.update(depth_end_ratio=_r(depth_end), price_recovered_share=_r(recovered))
        figure += (f"; depth1% at the end {_pct(depth_end)} of baseline vs price "
                   f"{_pct(recovered)} recovered")
        parts.append(("", depth_end < recovered))
    return _judge(8, t, parts, figure, values)


def fact_9(view: RunView, t: dict) -> Score:
    """Funding changes sign (or falls).

    Test (needs the time-series column ``funding_rate_ppb``, the signed funding rate in
    parts per billion, from a run with funding on -- the table's metadata says so): the mean rate over the pre-event rows and over the rows from the
    index low (else the venue's low) on; PASS when their signs are strictly opposite (a fall
    to 0 is not a flip) or the rate fell by at
    least ``fall_min_ppb``.  Source: breakers-and-events.md section 3 item 9 (positive,
    ~40% annualised, before; lowest since 2022 or negative after [S98, S73, S49, S81]).
    Fact 9's fall_min_ppb (100,000 = 0.01% per interval, Binance's usual rate) is assumed.
    """
    if not view.has(FUNDING_COLUMN) or not view.meta.get("funding", True):
        return _unmeasurable(9, t, "no funding in this run")
    # Rates per interval, compared as 8-hour equivalents (the interval from the run's
    # resolved [funding] table; 8 h when it is not there).
    interval_s = int(((view.scenario or {}).get("funding") or {}).get("interval_s", 28_800))
    rate = view.col(FUNDING_COLUMN).astype(np.int64) * 28_800 // interval_s
    low = view.index_low() or view.low()
    before = view.baseline(rate)
    if before is None:
        return _unmeasurable(9, t, "no pre-event rows")
    if low is None:
        return _unmeasurable(9, t, "no low after the event start")
    after_rows = rate[max(view.row_at(low[1]), 0):]
    after = Fraction(sum(after_rows.tolist()), after_rows.size)
    flipped = before > 0 > after or before < 0 < after      # strictly opposite signs
    fell = before - after
    values = {"rate_before_ppb": _r(before, 1), "rate_after_low_ppb": _r(after, 1)}
    figure = (f"funding {float(before) / 1e5:+.3f} bp before, {float(after) / 1e5:+.3f} bp "
              f"after the low (per 8 h)")
    return _judge(9, t, [("", flipped or fell >= _num(t["fall_min_ppb"]))], figure, values)


def fact_10(view: RunView, t: dict) -> Score:
    """Prices recover partly, and fast.

    Test: the rebound off the venue's low by the run's end, as a share of the fall from the
    event start to that low ((end - low) / (start - low)), must lie in
    [``rebound_share_min``, ``rebound_share_max``) -- partial, not none and not all.
    NOT MEASURABLE without a liquidation during the event: the fact is about the rebound
    after a cascade, and a quiet market's drift (a recorded capture's 0.2%) is none.
    Source: breakers-and-events.md section 3 item 10 (E2: +17% off a low ~39% down, about a
    quarter of the fall [S49]; E5: DJIA back from -998.5 to -347.8, ~65% [S84]).
    """
    if not _total(_event_liquidations(view)["value"]):
        return _unmeasurable(10, t, "no liquidation during the event (no cascade to recover "
                                    "from)")
    start, low = view.start_price(), view.low()
    end = int(view.price()[-1]) if view.ts.size else -1
    if start is None or low is None or end < 0:
        return _unmeasurable(10, t, "the venue has no price")
    if low[0] >= start:
        return _unmeasurable(10, t, "the price did not fall")
    share = Fraction(end - low[0], start - low[0])
    values = {"rebound_share": _r(share), "start": view.quote(start), "low": view.quote(low[0]),
              "end": view.quote(end)}
    figure = (f"rebound {_pct(share)} of the fall ({view.quote(start):,.6g} -> "
              f"{view.quote(low[0]):,.6g} -> {view.quote(end):,.6g})")
    ok = _num(t["rebound_share_min"]) <= share < _num(t["rebound_share_max"])
    return _judge(10, t, [("", ok)], figure, values)


def fact_11(view: RunView, t: dict) -> Score:
    """Volume is not liquidity.

    Test: in the busiest liquidation window (``peak_window_s``), traded notional per minute
    (per event minute on a compressed clock) must be at least ``volume_ratio_min`` x the
    pre-event rate while the mean depth within
    1% there is at most ``depth_ratio_max`` x its pre-event mean.  NOT MEASURABLE without
    pre-event volume (nothing to rise from) or without liquidations (no peak window).
    Source: breakers-and-events.md section 3 item 11 (hot-potato volume [S83]; record volume
    on crash days, E1 spot volume over three times recent peaks [S60]: ``volume_ratio_min``
    3).
    Fact 11's depth_ratio_max (0.5) is assumed: the reference says depth fell, not how far.
    """
    ev = _event_liquidations(view)
    if not _total(ev["value"]):
        return _unmeasurable(11, t, "no liquidation during the event (no peak window)")
    w = t["peak_window_s"] * SECOND
    _, p0 = view.peak(t["peak_window_s"])
    trades = view.of(K.TRADE)
    base_ns = view.start_ns - (int(view.ts[0]) if view.ts.size else view.start_ns)
    base_vol = _total(trades["value"][trades["ts"] < view.start_ns])
    peak_vol = _total(trades["value"][(trades["ts"] >= p0) & (trades["ts"] < p0 + w)])
    d1 = view.depth(VACUUM_BAND_PPM)
    base_depth = view.baseline(d1)
    rows = (view.ts >= p0 - p0 % view.interval_ns) & (view.ts < p0 + w) & ~view.void
    why = view.band_why(VACUUM_BAND_PPM)
    # Per event minute: the window is on the run's clock, k times faster than the event's.
    per_min = Fraction(peak_vol * 60 * SECOND, w * _compression(view))
    values = {"volume_ratio": None, "depth_ratio": None,
              "peak_volume_per_min": view.money(per_min)}
    figure = f"{_money_unit(view, per_min)}/min traded at the peak"
    parts = []
    if base_vol and base_ns > 0:
        vr = Fraction(peak_vol * base_ns, w * base_vol)
        values["volume_ratio"] = _r(vr, 4)
        figure += f" ({float(vr):.1f}x the baseline)"
        parts.append(("", vr >= _num(t["volume_ratio_min"])))
    else:
        parts.append(("no volume before the event to compare with", None))
    if why:
        parts.append((why, None))
    elif base_depth and rows.any():
        dr = Fraction(sum(d1[rows].tolist()), int(np.count_nonzero(rows))) / base_depth
        values["depth_ratio"] = _r(dr)
        figure += f"; depth1% {_pct(dr)} of baseline"
        parts.append(("", dr <= _num(t["depth_ratio_max"])))
    else:
        parts.append(("no pre-event depth within 1%", None))
    return _judge(11, t, parts, figure, values)


def fact_12(view: RunView, t: dict) -> Score:
    """Infrastructure comes under stress.

    Test, measurable when the run had an outage (``VenueWentDown`` events) or a
    venue-capacity limit or queue (``[capacity]``, time-series column ``queue_len``): PASS when the venue was down
    for at least ``down_s_min`` seconds from the event start, or the queue's maximum from
    the event start exceeds its pre-event maximum by at least ``queue_rise_min``.  Source:
    breakers-and-events.md section 3 item 12 (BitMEX offline ~24 min [S75], Binance module
    glitches [S33]).
    """
    down = view.of(K.VENUE_WENT_DOWN, venue_wide=True)
    back = view.of(K.VENUE_CAME_BACK, venue_wide=True)
    # The queue columns are always written (0 without a limit): a queue is measured where
    # the run had a [capacity] limit or one formed.
    has_queue = view.has(QUEUE_COLUMN) and (bool(view.scenario.get("capacity"))
                                            or bool(view.col(QUEUE_COLUMN).any()))
    if not down.size and not has_queue:
        outage = (view.scenario.get("frictions") or {}).get("outage")
        why = "no outage" + (" (one was scripted but never began)" if outage else "")
        return _unmeasurable(12, t, f"{why} and no venue-capacity queue in this run")
    values = {"down_s": None, "queue_max": None, "queue_max_before": None}
    parts, bits = [], []
    if down.size:
        down_ns = 0
        for start in down["ts"].tolist():
            later = back["ts"][back["ts"] >= start]
            stop = int(later[0]) if later.size else view.end_ns
            down_ns += max(0, stop - max(start, view.start_ns))
        values["down_s"] = down_ns / SECOND
        bits.append(f"venue down {down_ns / SECOND:g} s in the event")
        parts.append(("", down_ns >= t["down_s_min"] * SECOND))
    if has_queue:
        q = view.col(QUEUE_COLUMN)
        qpre, qpost = q[view.pre], q[~view.pre]
        before = int(qpre.max()) if qpre.size else 0
        peak = int(qpost.max()) if qpost.size else 0
        values.update(queue_max=peak, queue_max_before=before)
        bits.append(f"queue max {peak:,} (before the event {before:,})")
        parts.append(("", peak - before >= t["queue_rise_min"]))
    ok = any(parts_ok for _, parts_ok in parts)
    return _judge(12, t, [("", ok)], "; ".join(bits), values)


#: Summary counters of a policy acting on single orders (``Policy.counters``): repriced,
#: capped, rejected or cancelled at a band or in a pause.
ORDER_ACTIONS = ("_repriced", "_market_capped", "_rejected", "_cancelled",
                 "_cancelled_through_band", "_rejected_in_pause")


def fact_13(view: RunView, t: dict, against: RunView | None = None) -> Score:
    """Behaviour specific to breakers (when a breaker is on).

    Test: NOT MEASURABLE with no breaker (summary ``breaker`` "none") or when the breaker
    never halted trading.  Otherwise: the mean sampled spread over ``window_s`` after each
    reopening / the mean over ``window_s`` before each halt must exceed
    ``spread_ratio_min`` (wider spreads after reopening); and, where computable, the price
    sped up toward the trigger: summed over halts, the price's move in the last
    ``magnet_window_s`` before a halt exceeds its move in the ``magnet_window_s`` before
    that.  Also reported: halts, repeated halts and direction changes between consecutive
    halts (each halt's direction: the price at the halt against the price a minute
    earlier), depth within 1% at the halt / baseline, and -- given a run without breaker
    (``against``) -- both runs' book drawdown and vacuum seconds.  Source:
    breakers-and-events.md section 3 item 13 (magnet [S90-S93], depth pulled before halts
    [S91], wider spreads after reopening [S94], repeated alternating halts [S87]).
    Fact 13's windows (30 s around a halt, 10 s for the magnet) are assumed: no source figure.
    """
    breaker = view.summary.get("breaker", "none")
    if breaker == "none":
        return _unmeasurable(13, t, "no breaker")
    halts = view.of(K.TRADING_HALTED)
    trips = view.of(K.BREAKER_TRIPPED, venue_wide=True)
    values = {"halts": int(halts.size), "trips": int(trips.size), "repeated": halts.size > 1,
              "direction_changes": 0, "spread_ratio": None, "acceleration": None,
              "depth_at_halt_ratio": None}
    compare = ""
    if against is not None and against.summary.get("breaker") == "none":
        a, b = view.summary, against.summary
        values["against_none"] = {k: [a.get(k), b.get(k)] for k in
                                  ("book_drawdown_pct", "vacuum_seconds")}
        compare = (f"; vs none: drawdown {_g(b.get('book_drawdown_pct'))}% -> "
                   f"{_g(a.get('book_drawdown_pct'))}%, vacuum {_g(b.get('vacuum_seconds'))} s "
                   f"-> {_g(a.get('vacuum_seconds'))} s")
    if not halts.size:
        # A band policy can change a run without ever halting (LULD capping market orders
        # at its band): say what it did to orders, from its counters in the summary.
        acted = {k: v for k, v in view.summary.items()
                 if k.endswith(ORDER_ACTIONS) and isinstance(v, int) and v}
        values["order_actions"] = acted
        did = ("; it acted on orders instead: "
               + ", ".join(f"{k} {v:,}" for k, v in acted.items())) if acted else ""
        trips_text = f"{trips.size} trip{'s' if trips.size != 1 else ''}, none a halt" \
            if trips.size else "no trip"
        return _unmeasurable(13, t, f"{breaker} never halted trading ({trips_text})"
                             + did + compare, values)
    resumes = view.of(K.TRADING_RESUMED)
    ts, spread, p = view.ts, view.col("spread_bps"), view.price()
    w, m = t["window_s"] * SECOND, t["magnet_window_s"] * SECOND
    minute = on_run_clock_s(60, _compression(view)) * SECOND
    before_sp, after_sp, last_move, prev_move, dirs = [], [], 0, 0, []
    magnet_ok = True
    for th, ph in zip(halts["ts"].tolist(), halts["price"].tolist()):
        pre_rows = (ts >= th - w) & (ts < th) & (spread >= 0)
        before_sp += spread[pre_rows].tolist()
        later = resumes["ts"][resumes["ts"] >= th]
        if later.size:
            tr = int(later[0])
            after_sp += spread[(ts >= tr) & (ts < tr + w) & (spread >= 0)].tolist()
        at = ph if ph > 0 else int(p[max(view.row_at(th), 0)])
        r1, r2 = view.row_at(th - m), view.row_at(th - 2 * m)
        r60 = view.row_at(th - minute)          # an event minute before the halt
        if r2 >= 0 and p[r1] >= 0 and p[r2] >= 0 and at > 0:
            last_move += abs(at - int(p[r1]))
            prev_move += abs(int(p[r1]) - int(p[r2]))
        else:
            magnet_ok = False
        ref = int(p[r60]) if r60 >= 0 else -1
        if ref >= 0 and at > 0:
            dirs.append((at > ref) - (at < ref))
    values["direction_changes"] = sum(1 for x, y in zip(dirs, dirs[1:]) if x and y and x != y)
    d1 = view.depth(VACUUM_BAND_PPM)
    base = None if view.band_why(VACUUM_BAND_PPM) else view.baseline(d1)
    halt_row = max(view.row_at(int(halts["ts"][0])), 0)
    if base and not view.void[halt_row]:
        values["depth_at_halt_ratio"] = _r(Fraction(int(d1[halt_row])) / base)
    figure = (f"{halts.size} halt(s), {values['direction_changes']} direction change(s)")
    parts = []
    if before_sp and after_sp:
        ratio = Fraction(sum(after_sp) * len(before_sp), len(after_sp) * sum(before_sp)) \
            if sum(before_sp) else None
        if ratio is None:
            parts.append(("no spread before the halts", None))
        else:
            values["spread_ratio"] = _r(ratio, 4)
            figure += f"; spread after reopening {float(ratio):.2f}x before"
            parts.append(("", ratio > _num(t["spread_ratio_min"])))
    elif not resumes.size:
        parts.append(("trading never reopened after the halt", None))
    else:
        parts.append(("no two-sided book around the halts to compare spreads", None))
    if magnet_ok and prev_move + last_move == 0:
        figure += f"; no price move in the {2 * t['magnet_window_s']} s before the halt"
    if magnet_ok and prev_move + last_move > 0:
        acc = Fraction(last_move, prev_move) if prev_move else None
        values["acceleration"] = _r(acc, 4)
        figure += (f"; price {float(acc):.1f}x faster into the trigger" if acc is not None
                   else "; price moved only just before the trigger")
        parts.append(("", last_move > prev_move))
    return _judge(13, t, parts, figure + compare, values)


def fact_14(view: RunView, t: dict) -> Score:
    """Reported totals undercount.

    Test: the liquidation orders are sampled as Binance's ``forceOrder`` stream publishes
    them -- per instrument, only the latest liquidation order of each ``sample_ms`` window
    of run time (docs/reference/liquidation-mechanics.md section 1.8) -- each reported at its
    filled value plus its unfilled remainder at the mark; the reported notional / the true
    liquidated notional (each lot once) must be at most ``reported_share_max``.  Also
    reported: sampled orders / liquidated positions.  Source: breakers-and-events.md section
    3 item 14 and section 2 (CoinGlass $19.13B against estimates of $20-30B [S64, S124]:
    ``reported_share_max`` 0.96 = 19.13/20; "up to 100 times" [S128]).
    Fact 14's order value (filled value + unfilled rest at the mark) is assumed for q x price.
    """
    orders = view.of(K.LIQUIDATION_ORDER)
    liq = view.liquidated()
    true_total = _total(liq["value"])
    if not orders.size or not true_total:
        return _unmeasurable(14, t, "no liquidation order reached the book")
    window = orders["ts"] // (t["sample_ms"] * 1_000_000)
    last_in_window = np.r_[window[1:] != window[:-1], True]
    sampled = orders["order_id"][last_in_window]
    fills = view.of(K.LIQUIDATION_FILLED, K.LIQUIDATION_UNFILLED)
    reported = _total(fills["value"][np.isin(fills["order_id"], sampled)])
    calls = view.of(K.MARGIN_CALL)
    units = int(np.unique(calls["account"]).size)
    share = Fraction(reported, true_total)
    values = {"reported_orders": int(sampled.size), "liquidation_orders": int(orders.size),
              "liquidated_units": units, "reported_notional": view.money(reported),
              "true_notional": view.money(true_total), "notional_share": _r(share),
              "count_share": _r(Fraction(int(sampled.size), units)) if units else None}
    figure = (f"1 order/s stream: {sampled.size:,} of {units:,} liquidations, "
              f"{_money_text(view, reported)} of {_money_text(view, true_total)} "
              f"({_pct(share)})")
    return _judge(14, t, [("", share <= _num(t["reported_share_max"]))], figure, values)


FACTS = {1: fact_1, 2: fact_2, 3: fact_3, 4: fact_4, 5: fact_5, 6: fact_6, 7: fact_7,
         8: fact_8, 9: fact_9, 10: fact_10, 11: fact_11, 12: fact_12, 13: fact_13,
         14: fact_14}


# ------------------------------------------------------------------------------ scoring
def merge_targets(targets: dict | None) -> dict[int, dict]:
    """``DEFAULT_TARGETS`` with ``targets`` (fact id -> {name: value}) laid over it; an
    unknown fact id or name, or a value that is not a finite number, raises ``ValueError``."""
    out = {fid: dict(t) for fid, t in DEFAULT_TARGETS.items()}
    for key, names in (targets or {}).items():
        try:
            fid = int(key)
        except (TypeError, ValueError):
            fid = None
        if fid not in out:
            raise ValueError(f"targets: unknown fact {key!r} (expected 1-14)")
        if not isinstance(names, dict):
            raise ValueError(f"targets.{key}: expected a table of thresholds, got {names!r}")
        for name, value in names.items():
            if name not in out[fid]:
                raise ValueError(f"targets.{key}.{name}: unknown threshold (expected one of "
                                 f"{', '.join(out[fid]) or 'none'})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"targets.{key}.{name}: expected a finite number, "
                                 f"got {value!r}")
            out[fid][name] = value
    return out


#: Thresholds that are lengths of event time, in seconds (or ``sample_ms``, milliseconds).
EVENT_CLOCK_KEYS = ("move_window_s", "peak_window_s", "window_s", "magnet_window_s")


def on_run_clock(targets: dict, k) -> dict:
    """``targets`` (fact id -> thresholds, event time) for a run whose clock is compressed
    ``k`` times (``[scenario] time_compression``): each window in ``EVENT_CLOCK_KEYS`` and
    Binance's one-a-second sample (``sample_ms``) divided by ``k``, rounded to the nearest
    whole second (millisecond), at least 1 -- a one-minute window is a minute of the event,
    but never finer than the time series' own second.  ``k`` = 1: unchanged."""
    k = Fraction(k)
    if k == 1:
        return targets
    out = {}
    for fid, names in targets.items():
        out[fid] = dict(names)
        for key, value in names.items():
            if key in EVENT_CLOCK_KEYS or key == "sample_ms":
                out[fid][key] = on_run_clock_s(value, k)
    return out


def score(view: RunView, targets: dict | None = None,
          against: RunView | None = None) -> list[Score]:
    """Every fact scored, in id order (see the module docstring), its windows on the run's
    clock (``on_run_clock``, the compression from the run's resolved scenario)."""
    t = on_run_clock(merge_targets(targets), _compression(view))
    out = []
    for fid, fn in FACTS.items():
        out.append(fn(view, t[fid], against) if fid == 13 else fn(view, t[fid]))
    return out


def facts_summary(scores: list[Score]) -> dict:
    """The summary keys ``facts``, ``facts_reproduced``, ``facts_measurable``."""
    return {"facts": {str(s.id): s.as_dict() for s in scores},
            "facts_reproduced": sum(s.verdict == PASS for s in scores),
            "facts_measurable": sum(s.verdict != NOT_MEASURABLE for s in scores)}


def facts_over_seeds(per_seed: list[dict]) -> dict:
    """One policy's ``facts`` over several seeds: per fact the verdicts' tally and the first
    seed's figure (``engine.outputs.seeds.over_seeds``)."""
    out = {}
    for fid, first in per_seed[0].items():
        verdicts = [facts[fid]["verdict"] for facts in per_seed]
        tally = ", ".join(f"{v} {verdicts.count(v)}/{len(verdicts)}"
                          for v in (PASS, FAIL, NOT_MEASURABLE) if v in verdicts)
        common = verdicts[0] if len(set(verdicts)) == 1 else "MIXED"
        out[fid] = {"name": first["name"], "verdict": common,
                    "figure": f"{tally}; first seed: {first['figure']}", "values": None,
                    "target": first["target"]}
    return out


def facts_table(summaries: list[dict]) -> list[str]:
    """The facts of one or more runs as text: one row per fact (id, name), per run its
    verdict and figure; a header line per run (its breaker), the counts last."""
    runs = [s for s in summaries if s.get("facts")]
    if not runs:
        return []
    ids = list(runs[0]["facts"])
    name_w = max(len(f"{fid:>2} {runs[0]['facts'][fid]['name']}") for fid in ids) + 2
    cells = [[f"{s['facts'][fid]['verdict']:<14} {s['facts'][fid]['figure']}" for fid in ids]
             for s in runs]
    widths = [max(len(c) for c in column) + 3 for column in cells]
    lines = ["stylized facts (docs/facts.md)".ljust(name_w)
             + "".join(s["breaker"].ljust(w) for s, w in zip(runs, widths))]
    for k, fid in enumerate(ids):
        label = f"{fid:>2} {runs[0]['facts'][fid]['name']}".ljust(name_w)
        lines.append((label + "".join(column[k].ljust(w)
                                      for column, w in zip(cells, widths))).rstrip())
    lines.append("reproduced / measurable".ljust(name_w) + "".join(
        f"{_count(s['facts_reproduced'])} / {_count(s['facts_measurable'])} of {len(ids)}"
        .ljust(w) for s, w in zip(runs, widths)))
    return [line.rstrip() for line in lines]


def _count(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)
