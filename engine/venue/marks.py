"""Mark-price policies: how a venue turns index, book and trades into the mark price.

Five selectable policies share one small protocol, ``MarkPolicy``:

- ``BinanceMark``: Binance USDⓈ-M perpetual, median(Price 1, Price 2, last price).
- ``FairPriceMark``: BitMEX's Fair Price, index × (1 + funding basis); it never reads the book.
- ``HyperliquidMark``: Hyperliquid perp, median(oracle + 150 s EMA of the basis, book median,
  external perp mid).
- ``LastPriceMark``: the last trade price (what a mark-less backtest implicitly does).
- ``MidMark``: the own book's mid.

``make_mark_policy(name, **params)`` builds one by name ("binance", "fair-price", "hyperliquid",
"last", "mid"); ``FUNDED_MARKS`` names the ones whose mark carries the funding rate.

Units
-----
Every price in and out is an ``int`` in ticks of the instrument; every time is an ``int`` in
nanoseconds. Internally the arithmetic is exact (``int`` and ``fractions.Fraction``) except for the
Hyperliquid EMAs, which need ``exp()`` and are computed in binary floating point (see
``HyperliquidMark``). Every returned mark is rounded to a whole tick, **half to even** (Python's
``round`` on an exact ``Fraction``): the mark is a reference price, not a payment, so it rounds
against no one.

Observations
------------
``observe(ts_ns, index, best_bid, best_ask, last, external_mid=None)`` is a full snapshot of the
inputs at ``ts_ns``, not a delta: ``None`` means "absent now" (an empty book side, no trade yet, no
external venue), never "unchanged". ``index`` is the price index (Binance) or the oracle
(Hyperliquid) and is always an ``int``. Observations are taken at face value (no type checks on
this hot path); the engine feeds them from its own ints.

Time never goes backwards: ``observe`` and ``mark`` both raise ``ValueError`` for a ``ts_ns``
earlier than the latest one either of them has seen. Several observations (and marks) at the same
``ts_ns`` are allowed, for the cascade loop that re-prices within one timestamp.

The one-second grid
-------------------
Binance samples its basis "one per second" and Hyperliquid's EMAs are fed the same way here. The
grid is absolute: second ``k`` is the instant ``k × 10⁹`` ns. The sample for second ``k`` is
built from the latest observation at or before ``k × 10⁹``; the first sample is the first grid
second at or after the first observation. If several seconds pass with no observation, the last
observation is carried forward and sampled once for each missed second (a gap is not one
sample). A sample is final once time has moved strictly past its second; ``mark(ts)`` with ``ts``
exactly on the grid includes a provisional sample for that second from the observations seen so
far, which a later observation at the same ``ts`` still changes. So the marks do not depend on
when, or how often, ``mark`` is asked.

Complexity: O(1) amortised per observation and per ``mark`` call, plus O(1) per elapsed grid
second; a gap of ``m`` seconds costs O(min(m, N)) for Binance (``N`` = window) and at most O(m),
in practice O(min(m, a few thousand)), for Hyperliquid (the carried-forward EMA loop stops once the
float state is a fixed point, which is exact, not an approximation).

Sources: ``docs/reference/liquidation-mechanics.md`` §1.1–1.2 (Binance price index and mark
price, the announcement of 2025-09-18), §4 (BitMEX Fair Price Marking, bitmex.com
app/fairPriceMarking), §5 (Hyperliquid GitBook ``trading/robust-price-indices``, copy synced
2026-01-27), §7 example 6 (the 2019 Price 1 example), §10 (open items).
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction
from typing import Protocol, runtime_checkable

__all__ = [
    "BinanceMark",
    "FUNDED_MARKS",
    "FairPriceMark",
    "HyperliquidMark",
    "LastPriceMark",
    "MarkPolicy",
    "MidMark",
    "NS_PER_S",
    "make_mark_policy",
]

#: Nanoseconds per second: the sampling grid step.
NS_PER_S = 1_000_000_000
_PPM = 1_000_000


@runtime_checkable
class MarkPolicy(Protocol):
    """What the Simulation needs from a mark-price policy.

    ``observe`` feeds one snapshot of the inputs (see the module docstring: ``None`` means absent,
    time is non-decreasing); ``mark`` returns the mark at ``ts_ns`` in ticks, or ``None`` when the
    policy has nothing to mark with yet (the caller decides, e.g. keeps its previous mark).
    """

    def observe(
        self,
        ts_ns: int,
        index: int,
        best_bid: int | None,
        best_ask: int | None,
        last: int | None,
        external_mid: int | None = None,
    ) -> None: ...

    def mark(self, ts_ns: int) -> int | None: ...


# --------------------------------------------------------------------------------------------
# helpers


def _check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: {value!r} must be >= {minimum}")
    return value


def _check_rate_ppm(name: str, value: object) -> Fraction:
    """A rate in parts per million: ``int`` or exact ``Fraction`` (funding can be 37.45 ppm)."""
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        raise ValueError(
            f"{name}: expected an int or Fraction (parts per million), "
            f"got {type(value).__name__} {value!r}"
        )
    return Fraction(value)


def _median(values: list[Fraction]) -> Fraction:
    """Exact median of 1..n values; of an even count, the mean of the middle two."""
    values.sort()
    n = len(values)
    mid = n // 2
    if n % 2:
        return values[mid]
    return (values[mid - 1] + values[mid]) / 2


def _book_median(bid: int | None, ask: int | None, last: int | None) -> Fraction | None:
    """median(best bid, best ask, last) over the ones present (assumed; see HyperliquidMark)."""
    present = [Fraction(x) for x in (bid, ask, last) if x is not None]
    return _median(present) if present else None


class _Clock:
    """Non-decreasing time shared by observe() and mark() (a mixin; no state of its own)."""

    __slots__ = ()

    def _advance(self, ts_ns: int) -> None:
        if ts_ns < self._now:  # type: ignore[attr-defined]
            now = self._now  # type: ignore[attr-defined]
            raise ValueError(
                f"ts_ns {ts_ns} is earlier than {now} already seen: time must not go backwards"
            )
        self._now = ts_ns  # type: ignore[attr-defined]

    def _enter(self, ts_ns: int) -> None:
        """For policies sampled on the one-second grid: advance the clock, then commit the
        seconds completed before ``ts_ns`` -- or, at the first observation, start the grid at
        the first whole second at or after it."""
        self._advance(ts_ns)
        if self._seen:  # type: ignore[attr-defined]
            self._commit_before(ts_ns)  # type: ignore[attr-defined]
        else:
            self._seen = True
            self._next_k = -(-ts_ns // NS_PER_S)


#: The state ``_FundingBasis`` keeps, in the slots of each class that uses it.
_FUNDING_SLOTS = ("funding_interval_s", "_rate", "_interval_ns", "_anchor_ns")


class _FundingBasis:
    """The funding schedule and rate behind Binance's Price 1 and BitMEX's Fair Price (a mixin;
    its slots are the whole state)::

        index × (1 + funding_rate × time_until_funding / funding_interval)

    Funding instants are ``anchor + j × interval`` for every integer ``j``; by default (no
    anchor) the multiples of the interval since the Unix epoch. ``time_until_funding =
    (anchor − ts) mod interval`` is in ``[0, interval)``: it counts down to 0 at a funding
    instant and restarts from the full interval just after (**assumed** for the instant
    itself). Exact: a ``Fraction``, no rounding here. O(1).
    """

    __slots__ = ()      # the classes using it hold _FUNDING_SLOTS

    def _init_funding(self, funding_rate_ppm: int | Fraction, funding_interval_s: int,
                      next_funding_ns: int | None) -> None:
        self.funding_interval_s = _check_int("funding_interval_s", funding_interval_s, minimum=1)
        self._interval_ns = funding_interval_s * NS_PER_S
        self._rate = Fraction(0)
        self._anchor_ns = 0
        self.set_funding(funding_rate_ppm, next_funding_ns)

    def set_funding(
        self, funding_rate_ppm: int | Fraction, next_funding_ns: int | None = None
    ) -> None:
        """Set the last funding rate (ppm) and, if given, a funding instant anchoring the
        schedule. O(1)."""
        self._rate = _check_rate_ppm("funding_rate_ppm", funding_rate_ppm) / _PPM
        if next_funding_ns is not None:
            self._anchor_ns = _check_int("next_funding_ns", next_funding_ns)

    @property
    def funding_rate_ppm(self) -> Fraction:
        return self._rate * _PPM

    def _funded(self, index: int, ts_ns: int) -> Fraction:
        """``index × (1 + rate × time_until_funding / interval)`` at ``ts_ns``, exact."""
        until_ns = (self._anchor_ns - ts_ns) % self._interval_ns
        return index * (1 + self._rate * Fraction(until_ns, self._interval_ns))


# --------------------------------------------------------------------------------------------
# Binance


class BinanceMark(_FundingBasis, _Clock):
    """Binance USDⓈ-M perpetual mark price (reference §1.2; Binance announcement "Important Updates
    on Funding Rate Formula and Mark Price Calculation of Futures Contracts", effective
    2025-09-18 08:01 UTC)::

        mark    = median(Price 1, Price 2, last price)
        Price 1 = index × (1 + funding_rate × time_until_funding / funding_interval)
        Price 2 = index + mean of the last ``window_s`` one-second basis samples,
                  basis sample = (best bid + best ask) / 2 − index  (both at that second)

    ``window_s`` is 30 since 2025-09-18 and was 60 (one minute) before; older pages show 5 minutes.
    ``index`` in Price 1 and Price 2 is the latest observed index; the basis samples use the index
    of their own second. ``external_mid`` is ignored.

    Price 1: ``funding_rate_ppm`` is the last funding rate in parts per million (``int`` or exact
    ``Fraction``; may be negative), ``funding_interval_s`` the funding interval. The published
    formula divides the hours to funding by 8 (COIN-M text, 8 h funding); dividing by the
    symbol's own interval for 1 h / 4 h symbols is **assumed** (reference §10 lists it as open).
    The 2019 example (§7 ex. 6): index 10,000, rate 0.03 %, 4 h of 8 h left → 10,001.5.

    Funding schedule (``_FundingBasis``): funding instants are ``next_funding_ns + j × interval``
    for every integer ``j``; by default (``next_funding_ns=None``) the multiples of the interval
    since the Unix epoch (00:00, 08:00, 16:00 UTC for 8 h); ``time_until_funding`` is 0 at a
    funding instant, the full interval just after. ``set_funding`` changes the rate (and
    optionally the anchor) when the engine settles a new funding rate.

    **Assumed** rules where the venue text is silent:

    - Missing inputs: the mark is the median of the inputs that exist; of two, their mean (the
      usual median of an even count); of one, that one; of none, ``None``. This applies before the
      first trade (no last price). Price 1 and Price 2 exist whenever an index does.
    - A second whose observation has an empty book side (or a halted book: the loop passes no
      quotes then) has no mid, so it has no basis sample: Price 2 averages the samples of the
      last ``window_s`` seconds that have one, and with none in the window the basis is taken
      as 0 (Price 2 = index).  The published formula always has its three inputs; a sample
      older than the window is not in it (kept "however old", a sample from before a book
      emptied set the mark minutes later: 4-56% off the index on oct-2025-alt), and dropping
      Price 2 instead would leave the median of Price 1 and a stale last price -- the mark
      pinned halfway between the index and the last trade.  So Price 2 always exists.
    - Binance's "abnormal component" filter (statement of 2025-10-12) is not published and not
      modelled.

    Exactness and rounding: basis samples are held as integers in half ticks (``bid + ask −
    2 × index``), their running sum as an int; Price 1, Price 2 and the median are exact
    ``Fraction``; the returned mark is rounded to a tick half to even.

    Complexity: O(1) amortised per observation and per ``mark``: the ring is a
    ``deque(maxlen=window_s)`` with a running sum and count; a gap of ``m`` seconds costs
    O(min(m, window_s)).
    """

    PARAMS = ("window_s", "funding_rate_ppm", "funding_interval_s", "next_funding_ns")

    __slots__ = _FUNDING_SLOTS + (
        "window_s",
        "_ring",
        "_sum2",
        "_count",
        "_next_k",
        "_now",
        "_seen",
        "_index",
        "_bid",
        "_ask",
        "_last",
    )

    def __init__(
        self,
        window_s: int = 30,
        funding_rate_ppm: int | Fraction = 0,
        funding_interval_s: int = 8 * 3600,
        next_funding_ns: int | None = None,
    ) -> None:
        self.window_s = _check_int("window_s", window_s, minimum=1)
        self._init_funding(funding_rate_ppm, funding_interval_s, next_funding_ns)
        # The last ``window_s`` grid seconds' basis samples in half ticks (None: no mid).
        self._ring: deque[int | None] = deque(maxlen=window_s)
        self._sum2 = 0  # Σ of the samples in the ring, in half ticks
        self._count = 0  # samples in the ring
        self._next_k = 0  # the first grid second not yet sampled for good
        self._now = -(1 << 63)
        self._seen = False
        self._index = 0
        self._bid: int | None = None
        self._ask: int | None = None
        self._last: int | None = None

    def _push(self, sample: int | None) -> None:
        """One grid second: its sample, or None (no mid; the window moves on all the same)."""
        ring = self._ring
        if len(ring) == self.window_s and ring[0] is not None:
            self._sum2 -= ring[0]
            self._count -= 1
        ring.append(sample)
        if sample is not None:
            self._sum2 += sample
            self._count += 1

    def _sample(self) -> int | None:
        bid, ask = self._bid, self._ask
        if bid is None or ask is None:
            return None  # assumed: no mid, no basis sample this second
        return bid + ask - 2 * self._index

    def _commit_before(self, ts_ns: int) -> None:
        """Sample, for good, every grid second strictly before ``ts_ns`` from the current state."""
        missed = (ts_ns - 1) // NS_PER_S + 1 - self._next_k
        if missed <= 0:
            return
        sample = self._sample()
        if missed >= self.window_s:     # the whole window is this one carried-forward state
            ring = self._ring
            ring.clear()
            ring.extend([sample] * self.window_s)
            self._sum2 = 0 if sample is None else sample * self.window_s
            self._count = 0 if sample is None else self.window_s
        else:
            for _ in range(missed):
                self._push(sample)
        self._next_k += missed

    def observe(
        self,
        ts_ns: int,
        index: int,
        best_bid: int | None,
        best_ask: int | None,
        last: int | None,
        external_mid: int | None = None,
    ) -> None:
        """Feed one snapshot (``external_mid`` is ignored). O(1) amortised."""
        self._enter(ts_ns)
        self._index = index
        self._bid = best_bid
        self._ask = best_ask
        self._last = last

    def components(self, ts_ns: int) -> tuple[Fraction, Fraction | None, Fraction | None] | None:
        """``(Price 1, Price 2, last price)`` at ``ts_ns``, exact, ``None`` for a missing one;
        ``None`` altogether before the first observation."""
        self._advance(ts_ns)
        if not self._seen:
            return None
        self._commit_before(ts_ns)
        sum2, count = self._sum2, self._count
        if ts_ns % NS_PER_S == 0:
            # Provisional sample for the grid second ts_ns itself (not committed: a later
            # observation at the same ts_ns may still change it).
            sample = self._sample()
            ring = self._ring
            if len(ring) == self.window_s and ring[0] is not None:
                sum2 -= ring[0]
                count -= 1
            if sample is not None:
                sum2 += sample
                count += 1
        index = self._index
        price1 = self._funded(index, ts_ns)
        # No sample in the window: basis 0 (assumed, class docstring).
        price2 = index + Fraction(sum2, 2 * count) if count else Fraction(index)
        last = None if self._last is None else Fraction(self._last)
        return price1, price2, last

    def mark(self, ts_ns: int) -> int | None:
        """median(Price 1, Price 2, last) in ticks, rounded half to even; ``None`` before the
        first observation. Missing inputs: see the class docstring (assumed)."""
        parts = self.components(ts_ns)
        if parts is None:
            return None
        return round(_median([p for p in parts if p is not None]))


# --------------------------------------------------------------------------------------------
# Hyperliquid


def _ema_step(
    num: float, den: float, last_k: int | None, k: int, sample: float, tau_s: int, q1: float
) -> tuple[float, float]:
    """One documented EMA update for a sample at grid second ``k``, ``t`` seconds after the
    previous sample: ``num ← num·exp(−t/τ) + sample·t``, ``den ← den·exp(−t/τ) + t``.
    The first sample is weighted ``t = 1`` (assumed). ``q1`` is ``exp(−1/τ)``, precomputed."""
    t = 1 if last_k is None else k - last_k
    q = q1 if t == 1 else math.exp(-t / tau_s)
    return num * q + sample * t, den * q + t


class HyperliquidMark(_Clock):
    """Hyperliquid perp mark price (reference §5; GitBook ``trading/robust-price-indices``, copy
    synced 2026-01-27)::

        mark = median of the inputs that exist among
          1. oracle + EMA_150s(mid − oracle),          mid = (best bid + best ask) / 2
          2. median(best bid, best ask, last trade)     on the own book
          3. external perp mid                          ``external_mid``, if given
        and, if exactly two of them exist, a third: EMA_30s(input 2).

        EMA update for a sample arriving t seconds after the previous one:
          numerator   ← numerator · exp(−t/τ) + sample · t
          denominator ← denominator · exp(−t/τ) + t
          EMA = numerator / denominator

    ``index`` in ``observe`` is the oracle. ``external_mid`` is the venue-weighted median of the
    external perp mids (Binance, OKX, Bybit, Gate IO, MEXC weighted 3, 2, 2, 1, 1), computed by the
    caller. ``ema_s`` = τ of input 1 (150 s = 2.5 min), ``fallback_ema_s`` = τ of the extra input
    (30 s).

    Sampling: both EMAs are fed on the one-second grid (module docstring), so ``t`` is 1 s except
    after skipped seconds. The venue updates mark and oracle about every 3 s; a 1 s grid is
    **assumed** finer but equivalent in kind, and avoids giving one observation the weight of a
    whole quiet gap.

    **Assumed** rules where the docs are silent:

    - A second with an empty book side has no mid: the input-1 EMA skips it, and the next sample
      gets ``t`` = seconds since the previous sample (the documented rule with ``t > 1``).
    - Input 2 with some of bid / ask / last absent is the median of those present (of two, their
      mean); with none present it is absent, and its EMA skips that second likewise.
    - The very first sample of each EMA is weighted ``t = 1`` s (otherwise num/den would be 0/0).
    - Input 1 exists once its EMA has had a sample (its EMA keeps its history when the book side
      empties later); the extra input exists once input 2 has had a sample. With one input only,
      the mark is that input; with none, ``None``.

    Floating point: the EMAs are computed in IEEE-754 double with ``math.exp`` (``exp(−1/τ)``
    once at construction; ``exp(−t/τ)`` for ``t > 1``), in a fixed order of operations, so the
    same observations give the same bits on the same platform/libm (libm ``exp`` may differ in the
    last bit across platforms). Samples are exact in double for prices below 2⁵². The EMA values
    are then converted exactly (``Fraction(float)``) and everything after is exact; the mark is
    rounded to a tick half to even.

    Complexity: O(1) amortised per observation and per ``mark``, plus O(1) per elapsed grid
    second; over a long gap the carried-forward updates stop as soon as the float state stops
    changing (an exact fixed point, so stopping changes nothing), after at most a few thousand
    iterations for τ = 150 s.
    """

    PARAMS = ("ema_s", "fallback_ema_s")

    __slots__ = (
        "ema_s",
        "fallback_ema_s",
        "_q1",
        "_q2",
        "_n1",
        "_d1",
        "_k1",
        "_n2",
        "_d2",
        "_k2",
        "_next_k",
        "_now",
        "_seen",
        "_oracle",
        "_bid",
        "_ask",
        "_last",
        "_ext",
    )

    def __init__(self, ema_s: int = 150, fallback_ema_s: int = 30) -> None:
        self.ema_s = _check_int("ema_s", ema_s, minimum=1)
        self.fallback_ema_s = _check_int("fallback_ema_s", fallback_ema_s, minimum=1)
        self._q1 = math.exp(-1 / ema_s)
        self._q2 = math.exp(-1 / fallback_ema_s)
        # EMA of (mid − oracle): numerator, denominator, grid second of the last sample.
        self._n1 = 0.0
        self._d1 = 0.0
        self._k1: int | None = None
        # EMA of input 2.
        self._n2 = 0.0
        self._d2 = 0.0
        self._k2: int | None = None
        self._next_k = 0
        self._now = -(1 << 63)
        self._seen = False
        self._oracle = 0
        self._bid: int | None = None
        self._ask: int | None = None
        self._last: int | None = None
        self._ext: int | None = None

    def _samples(self) -> tuple[float | None, float | None]:
        bid, ask = self._bid, self._ask
        basis = None if bid is None or ask is None else (bid + ask - 2 * self._oracle) / 2
        book = _book_median(bid, ask, self._last)
        return basis, (None if book is None else float(book))

    def _commit_before(self, ts_ns: int) -> None:
        """Sample, for good, every grid second strictly before ``ts_ns`` from the current state."""
        end = (ts_ns - 1) // NS_PER_S + 1
        k = self._next_k
        if end <= k:
            return
        s1, s2 = self._samples()
        self._next_k = end
        if s1 is None and s2 is None:
            return
        n1, d1, k1, n2, d2, k2 = self._n1, self._d1, self._k1, self._n2, self._d2, self._k2
        tau1, q1, tau2, q2 = self.ema_s, self._q1, self.fallback_ema_s, self._q2
        first = True
        while k < end:
            prev = (n1, d1, n2, d2)
            if s1 is not None:
                n1, d1 = _ema_step(n1, d1, k1, k, s1, tau1, q1)
                k1 = k
            if s2 is not None:
                n2, d2 = _ema_step(n2, d2, k2, k, s2, tau2, q2)
                k2 = k
            k += 1
            # From the second iteration on, every step is the same map (same samples, t = 1):
            # once the state maps to itself, the remaining steps would change nothing.
            if not first and (n1, d1, n2, d2) == prev:
                if s1 is not None:
                    k1 = end - 1
                if s2 is not None:
                    k2 = end - 1
                break
            first = False
        self._n1, self._d1, self._k1, self._n2, self._d2, self._k2 = n1, d1, k1, n2, d2, k2

    def observe(
        self,
        ts_ns: int,
        index: int,
        best_bid: int | None,
        best_ask: int | None,
        last: int | None,
        external_mid: int | None = None,
    ) -> None:
        """Feed one snapshot; ``index`` is the oracle. O(1) amortised."""
        self._enter(ts_ns)
        self._oracle = index
        self._bid = best_bid
        self._ask = best_ask
        self._last = last
        self._ext = external_mid

    def components(
        self, ts_ns: int
    ) -> tuple[Fraction | None, Fraction | None, Fraction | None, Fraction | None] | None:
        """``(input 1, input 2, input 3, EMA_30s of input 2)`` at ``ts_ns``, ``None`` for a
        missing one; ``None`` altogether before the first observation."""
        self._advance(ts_ns)
        if not self._seen:
            return None
        self._commit_before(ts_ns)
        n1, d1, n2, d2 = self._n1, self._d1, self._n2, self._d2
        if ts_ns % NS_PER_S == 0:
            # Provisional sample for the grid second ts_ns itself (not committed).
            k = ts_ns // NS_PER_S
            s1, s2 = self._samples()
            if s1 is not None:
                n1, d1 = _ema_step(n1, d1, self._k1, k, s1, self.ema_s, self._q1)
            if s2 is not None:
                n2, d2 = _ema_step(n2, d2, self._k2, k, s2, self.fallback_ema_s, self._q2)
        in1 = self._oracle + Fraction(n1 / d1) if d1 > 0.0 else None
        in2 = _book_median(self._bid, self._ask, self._last)
        in3 = None if self._ext is None else Fraction(self._ext)
        ema2 = Fraction(n2 / d2) if d2 > 0.0 else None
        return in1, in2, in3, ema2

    def mark(self, ts_ns: int) -> int | None:
        """The median described in the class docstring, in ticks, rounded half to even."""
        parts = self.components(ts_ns)
        if parts is None:
            return None
        in1, in2, in3, ema2 = parts
        present = [x for x in (in1, in2, in3) if x is not None]
        if len(present) == 2 and ema2 is not None:
            present.append(ema2)
        if not present:
            return None
        return round(_median(present))


# --------------------------------------------------------------------------------------------
# Naive policies


class _SnapshotMark(_Clock):
    """A mark that is a function of the latest observation only (no memory; the Fair Price
    also of the time)."""

    PARAMS = ()

    __slots__ = ("_now", "_value")

    def __init__(self) -> None:
        self._now = -(1 << 63)
        self._value: int | None = None

    def observe(
        self,
        ts_ns: int,
        index: int,
        best_bid: int | None,
        best_ask: int | None,
        last: int | None,
        external_mid: int | None = None,
    ) -> None:
        self._advance(ts_ns)
        self._value = self._of(index, best_bid, best_ask, last)

    def mark(self, ts_ns: int) -> int | None:
        self._advance(ts_ns)
        return self._value


class LastPriceMark(_SnapshotMark):
    """Mark = the last trade price (no venue uses this for margining; it is the baseline that a
    fill-only backtest implicitly assumes, and the most manipulable choice).

    Before the first trade (``last`` is ``None``) the mark falls back to the index (**assumed**;
    chosen so the policy always has a mark once anything is observed). ``None`` only before the
    first observation. No division, no rounding. O(1) per observation and per mark.
    """

    __slots__ = ()

    @staticmethod
    def _of(index, best_bid, best_ask, last):
        return index if last is None else last


class MidMark(_SnapshotMark):
    """Mark = the own book's mid, ``(best bid + best ask) / 2``, rounded to a tick half to even.

    ``None`` when a book side is empty (and before the first observation): no fallback inside the
    policy, so a liquidity vacuum shows up as "no mark"; the caller chooses what to do (e.g. keep
    its previous mark). O(1) per observation and per mark; integer arithmetic only.
    """

    __slots__ = ()

    @staticmethod
    def _of(index, best_bid, best_ask, last):
        if best_bid is None or best_ask is None:
            return None
        # Plain ints on this path: floor of the half-sum, then half to even (q odd -> q + 1).
        q, r = divmod(best_bid + best_ask, 2)
        return q + (q & 1) if r else q


# --------------------------------------------------------------------------------------------
# BitMEX


class FairPriceMark(_FundingBasis, _SnapshotMark):
    """BitMEX Fair Price Marking (reference §4; bitmex.com ``app/fairPriceMarking``)::

        Funding Basis = Funding Rate × (Time Until Funding / Funding Interval)
        Fair Price    = Index Price × (1 + Funding Basis)

    The mark is a function of the latest observed index and the time alone: the book, the last
    price and ``external_mid`` are ignored, so an empty, one-sided, crossed or halted book and
    a wild print leave it where the formula puts it. ``funding_rate_ppm``,
    ``funding_interval_s`` and ``next_funding_ns`` (the schedule) are those of
    ``_FundingBasis``, the same as Binance's Price 1, and so is ``set_funding``.

    **Assumed** where the reference is silent:

    - The "Funding Rate" is the rate the engine will pay at the next settlement, as it stands
      (the engine's predicted rate, fed through ``set_funding`` as for Binance's Price 1);
      BitMEX fixes the rate one interval ahead, which the reference does not describe.
    - At a funding instant itself the time until funding is 0 (the basis is 0, the mark is the
      index); just after, it is the full interval (the ``_FundingBasis`` convention).
    - Before the first observation the mark is ``None``.

    Exactness and rounding: the product is an exact ``Fraction``; the mark is rounded to a tick
    half to even. O(1) per observation and per ``mark``.
    """

    PARAMS = ("funding_rate_ppm", "funding_interval_s", "next_funding_ns")

    __slots__ = _FUNDING_SLOTS

    def __init__(
        self,
        funding_rate_ppm: int | Fraction = 0,
        funding_interval_s: int = 8 * 3600,
        next_funding_ns: int | None = None,
    ) -> None:
        super().__init__()
        self._init_funding(funding_rate_ppm, funding_interval_s, next_funding_ns)

    @staticmethod
    def _of(index, best_bid, best_ask, last):
        return index            # the snapshot kept: the index alone

    def fair_price(self, ts_ns: int) -> Fraction | None:
        """The exact Fair Price at ``ts_ns``; ``None`` before the first observation."""
        index = super().mark(ts_ns)
        return None if index is None else self._funded(index, ts_ns)

    def mark(self, ts_ns: int) -> int | None:
        """The Fair Price in ticks, rounded half to even; ``None`` before the first
        observation."""
        fair = self.fair_price(ts_ns)
        return None if fair is None else round(fair)


# --------------------------------------------------------------------------------------------
# factory

_POLICIES: dict[str, type] = {
    "binance": BinanceMark,
    "fair-price": FairPriceMark,
    "hyperliquid": HyperliquidMark,
    "last": LastPriceMark,
    "mid": MidMark,
}

#: The policies whose mark carries the funding rate (``_FundingBasis``): the engine passes them
#: its funding schedule and rate, and each new predicted rate (``set_funding``).
FUNDED_MARKS = tuple(n for n, c in _POLICIES.items() if issubclass(c, _FundingBasis))


def make_mark_policy(name: str, **params: object) -> MarkPolicy:
    """Build the mark policy called ``name`` ("binance", "fair-price", "hyperliquid", "last",
    "mid") with ``params`` passed to its constructor.

    Raises ``ValueError`` naming an unknown policy (listing the valid names) or an unknown
    parameter (listing the policy's valid parameters); the constructors reject bad values
    (non-int, below minimum) with ``ValueError`` naming the parameter.
    """
    cls = _POLICIES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"unknown mark policy {name!r}; valid policies: {', '.join(sorted(_POLICIES))}"
        )
    valid = cls.PARAMS  # type: ignore[attr-defined]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"mark policy {name!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"valid parameters: {', '.join(valid) if valid else '(none)'}"
        )
    return cls(**params)
