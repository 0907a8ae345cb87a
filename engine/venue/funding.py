"""Perpetual funding: the premium index from the venue's own book, the funding rate by the
venue's formula, and the funding schedule.  The payments themselves are the Exchange's
(``Exchange.settle_funding``: the ledger door); the loop drives the schedule
(``engine.simulation``).

The formula (docs/reference/liquidation-mechanics.md section 1.2: Binance announcement of
2025-09-18; section 5: Hyperliquid GitBook ``trading/funding``; section 7 examples 7 and 8)::

    premium sample  P = [max(0, impact bid - index) - max(0, index - impact ask)] / index
    8 h rate        F8 = avg(P) + clamp(interest - avg(P), -clamp_8h, +clamp_8h)
    per interval    F  = clamp(F8, -cap_8h, +cap_8h) x interval_s / 8 h

``interval_s / 8 h`` is Binance's ``/ (8/N)`` for an N-hour symbol and Hyperliquid's "one
eighth of the computed rate for each hour" (reference section 5).  Longs pay shorts when
F > 0.

Impact prices: the average fill price of the impact notional walking one side of the book
from the touch (Binance FAQ 360033525031, "Impact Margin Notional"; Hyperliquid
``trading/funding``): the impact bid sells it into the bids, the impact ask buys it from the
asks.  A side with no order gives no term (an impact bid that does not exist is not above the
index); a side thinner than the impact notional gives the average fill of all it holds
(**assumed**: neither venue says; a book that thin is what a cascade leaves).

Venue rules (``FUNDING_RULES``; the defaults are resolved by the scenario, section 1.2/5):

==============  ====================================  ==================================
                binance                               hyperliquid
==============  ====================================  ==================================
interval        8 h                                   1 h
samples         every 5 s [S: Binance FAQ quoted by   every 5 s (GitBook ``funding``)
                third parties: "every five seconds
                ... 5,760 data points"]
average         time-weighted: sample k of the        plain mean over the hour
                interval weighs k (1, 2, ..., n)
                [S: the same FAQ as quoted]
impact notional 200 quote / initial margin rate at    20,000 USDC (BTC, ETH), else 6,000
                max leverage (FAQ 360033525031)       [S: GitBook quoted by third parties]
cap             0.75 x the first tier's MMR per       4 % per hour (GitBook), i.e.
                interval [S: Binance symbol           32 % per 8 h
                announcements, multiplier 0.75 by
                default, 1 for some symbols]
paid on         size x mark price (FAQ)               size x oracle price (GitBook)
==============  ====================================  ==================================

Inverse (coin-margined) contracts, BitMEX XBTUSD and Binance COIN-M
(``engine.venue.instruments``): the same formula on the same ticks, with two differences.
Impact prices: an inverse lot has a fixed face value in quote, so the impact notional (a
quote amount) is whole lots (``FundingRule.impact_lots``: the notional over a lot's face
value, rounded down, at least one), and the impact price is their average fill as an
inverse fill averages -- the lots over their coin value, the harmonic mean of the prices
walked (``impact_price_inverse``).  Assumed: the reference gives impact prices for USD-M only.
Payments: ``N`` lots at mark ``m`` pay their coin value ``N x k / m`` times the rate
(``Exchange.settle_funding``): Binance COIN-M on the mark as USD-M (the FAQ above).
BitMEX paying on the position's value at the mark is assumed (section 4 is silent on it).
BitMEX's rule: section 4 gives only the fair price's funding basis, which is
``engine.venue.marks.BinanceMark``'s Price 1 (section 1.2) on an 8 h interval; the rest of the
``binance`` rule is assumed for BitMEX too (interest 0.01 %, clamp 0.05 % per 8 h,
time-weighted 5 s samples, cap 0.75 x the first tier's MMR, impact notional 200 USD x the
first tier's max leverage).  The ``hyperliquid`` rule is refused for an inverse contract
(Hyperliquid lists none; ``engine.scenarios.scenario``).

A scenario may shorten the interval itself (any interval): the rate scales with
``interval_s / 8 h`` as above, and so does the cap (**assumed**: Binance quotes a per-interval cap for each symbol's
own interval; for an 8 h symbol, and for Hyperliquid's hour, the two readings agree).  A
scenario that compresses its clock (``time_compression`` k) keeps the venue's real interval
for the rate (``FundingRule.rate_interval_s``) and runs the schedule k times faster: each
settlement pays a whole real interval's rate.

Exactness and rounding: each premium sample is rounded to an integer in parts per billion
(ppb), half to even (a reference figure: it rounds against no one); the average, the 8 h rate
and the per-interval rate are exact ``Fraction`` (the interval scaling would lose a rate of
0.2 ppb per minute to rounding).  ``rate_ppb`` rounds the per-interval rate half to even for
the time series.  Payments round against the payer (``Exchange.settle_funding``).

The schedule: funding instants at ``first_s + j x interval_s``; samples on the absolute grid
``k x sample_s`` (seconds from the run's start), a sample at a funding instant belonging to the
next interval (the loop settles first, then samples).  Before the first sample of an interval
the predicted rate is the last settled one, and an interval without a sample settles at it
again (**assumed**: the venues always have samples).  The run starts ``interval_s - first_s``
into an interval whose elapsed part, unobserved, is taken to have sampled the premium that
gives ``start_rate_8h`` (``premium_for_rate``; **assumed**: a stated starting rate, e.g. the
elevated funding before 10 Oct 2025, docs/reference/breakers-and-events.md section 3 fact 9),
which is also the rate settled at the instant before the run.

Complexity: a sample is O(levels walked) for the two impact walks; ``rate`` is O(1) Fraction
arithmetic; the schedule is precomputed once, O(samples + settlements).
"""
from __future__ import annotations

from fractions import Fraction

import attrs

__all__ = [
    "EIGHT_HOURS_S",
    "FUNDING_RULES",
    "Funding",
    "FundingRule",
    "impact_price",
    "impact_price_inverse",
    "interval_rate",
    "premium_for_rate",
    "premium_ppb",
    "rate_8h",
]

FUNDING_RULES = ("binance", "hyperliquid")
EIGHT_HOURS_S = 8 * 3600        # the formula's base period
PPB = 10**9
_NS = 10**9


def impact_price(book, side: int, notional_q: int, tlq: int) -> Fraction | None:
    """The average fill price, in ticks (exact), of ``notional_q`` quote quantums taken from
    ``side`` of ``book`` (1: sold into the bids, the impact bid; -1: bought from the asks, the
    impact ask), walking from the touch; the last level is taken in part (fractional lots: a
    price, not an order).  ``None`` if the side is empty; the whole side's average fill if it
    holds less than ``notional_q`` (assumed: module docstring).  O(levels walked)."""
    filled = 0
    lots = Fraction(0)
    for price, qty, _ in book.levels(side):
        level = price * qty * tlq
        rest = notional_q - filled
        if level >= rest:
            lots += Fraction(rest, price * tlq)
            filled = notional_q
            break
        lots += qty
        filled += level
    if not lots:
        return None
    return filled / (lots * tlq)


def impact_price_inverse(book, side: int, lots: int) -> Fraction | None:
    """The average fill price, in ticks (exact), of ``lots`` whole lots of an inverse
    contract taken from ``side`` of ``book`` (1: the impact bid, -1: the impact ask), walking
    from the touch: the lots over their coin value, ``sum q / sum (q / p)``, the harmonic
    mean, as an inverse position's entry price averages its fills (assumed: module
    docstring).  ``None`` if the side is empty; the whole side's average if it holds fewer
    lots.  O(levels walked)."""
    taken = 0
    coin = Fraction(0)
    for price, qty, _ in book.levels(side):
        q = min(qty, lots - taken)
        coin += Fraction(q, price)
        taken += q
        if taken == lots:
            break
    if not taken:
        return None
    return taken / coin


def premium_ppb(index: int, impact_bid: Fraction | None, impact_ask: Fraction | None) -> int:
    """One premium sample in ppb, rounded half to even: ``[max(0, impact bid - index) -
    max(0, index - impact ask)] / index``; a missing impact price gives no term."""
    up = max(0, impact_bid - index) if impact_bid is not None else 0
    down = max(0, index - impact_ask) if impact_ask is not None else 0
    return round(Fraction(up - down) * PPB / index)


def rate_8h(premium: Fraction, interest: Fraction, clamp: Fraction) -> Fraction:
    """``P + clamp(I - P, -clamp, +clamp)``, exact (the 8 h rate before the cap)."""
    return premium + min(max(interest - premium, -clamp), clamp)


def interval_rate(rate8: Fraction, interval_s: int, cap_8h: Fraction) -> Fraction:
    """The 8 h rate capped at ``+-cap_8h`` and scaled to an interval of ``interval_s``, exact."""
    return min(max(rate8, -cap_8h), cap_8h) * interval_s / EIGHT_HOURS_S


def premium_for_rate(rate8: Fraction, interest: Fraction, clamp: Fraction) -> Fraction:
    """A premium whose (uncapped) 8 h rate is ``rate8``: ``rate8 + clamp`` above the interest,
    ``rate8 - clamp`` below it, the interest itself at it (any premium within the clamp of the
    interest gives the interest; this picks the interest).  Exact inverse of ``rate_8h``."""
    if rate8 > interest:
        return rate8 + clamp
    if rate8 < interest:
        return rate8 - clamp
    return interest


def _rate(lo: int, hi: int):
    """An exact ``Fraction`` in [lo, hi] (attrs' own validators)."""
    v = attrs.validators
    return v.and_(v.instance_of(Fraction), v.ge(lo), v.le(hi))


_SECONDS = attrs.validators.and_(attrs.validators.instance_of(int), attrs.validators.ge(1))
_QUANTUMS = _SECONDS


@attrs.frozen
class FundingRule:
    """One venue's funding parameters in the engine's units (built by the scenario:
    ``engine.scenarios.scenario.FundingTable.rule``).  Rates are fractions of 1 per 8 hours;
    times are whole seconds; the impact notional is quote quantums (linear,
    ``impact_notional_q``) or whole lots (inverse, ``impact_lots``): exactly one is set."""

    rule: str = attrs.field(validator=attrs.validators.in_(FUNDING_RULES))
    interval_s: int = attrs.field(validator=_SECONDS)
    first_s: int = attrs.field(validator=_SECONDS)
    sample_s: int = attrs.field(validator=_SECONDS)
    interest_8h: Fraction = attrs.field(validator=_rate(-1, 1))
    clamp_8h: Fraction = attrs.field(validator=_rate(0, 1))
    cap_8h: Fraction = attrs.field(validator=_rate(0, 10))
    start_rate_8h: Fraction = attrs.field(validator=_rate(-10, 10))
    impact_notional_q: int | None = attrs.field(default=None,
                                                validator=attrs.validators.optional(_QUANTUMS))
    # The real length of an interval whose rate is paid at each settlement, when the run's
    # clock is compressed (``[scenario] time_compression``): the schedule runs on the
    # compressed ``interval_s``, each settlement pays a whole real interval's rate.
    rate_interval_s: int | None = attrs.field(default=None,
                                              validator=attrs.validators.optional(_SECONDS))
    impact_lots: int | None = attrs.field(default=None,
                                          validator=attrs.validators.optional(_QUANTUMS))

    @property
    def paid_interval_s(self) -> int:
        """The interval the per-settlement rate is scaled to (``rate_interval_s`` or
        ``interval_s``)."""
        return self.rate_interval_s or self.interval_s

    def __attrs_post_init__(self) -> None:
        if self.first_s > self.interval_s:
            raise ValueError(f"first_s: expected <= interval_s ({self.interval_s}), "
                             f"got {self.first_s}")
        if (self.impact_notional_q is None) == (self.impact_lots is None):
            raise ValueError("impact_notional_q, impact_lots: expected exactly one (linear: "
                             "quote quantums, inverse: lots)")

    @property
    def linear_weights(self) -> bool:
        """Binance's time-weighted average (sample k weighs k); Hyperliquid's plain mean."""
        return self.rule == "binance"

    @property
    def settles_on_mark(self) -> bool:
        """Binance pays on the mark price, Hyperliquid on the oracle (the index here)."""
        return self.rule == "binance"


class Funding:
    """The funding state of one instrument: the current interval's premium samples and the
    rates.  See the module docstring for the formula, the schedule and the rounding.

    ``premium_ppb`` is the last premium sample (0 before the first); ``last_rate`` the
    per-interval rate settled at the last funding instant (exact); ``next_ns`` the next
    funding instant; ``tlq`` the instrument's ``tick_lot_quanta`` (None for an inverse
    one, whose rule has ``impact_lots``).  ``sample`` adds a premium sample, ``rate`` is the predicted rate of the
    next settlement, ``settle`` closes the interval and returns the rate to pay.
    """

    __slots__ = ("rule", "tlq", "interval_ns", "sample_ns", "next_ns", "last_rate",
                 "premium_ppb", "_n", "_wsum", "_psum")

    def __init__(self, rule: FundingRule, tlq: int | None) -> None:
        self.rule = rule
        self.tlq = tlq
        self.interval_ns = rule.interval_s * _NS
        self.sample_ns = rule.sample_s * _NS
        self.next_ns = rule.first_s * _NS
        self.last_rate = interval_rate(rule.start_rate_8h, rule.paid_interval_s, rule.cap_8h)
        self.premium_ppb = 0
        self._reset()
        # The elapsed, unobserved part of the first interval: its grid samples before t = 0
        # are taken at the premium of the starting rate (module docstring; assumed).
        before = (self.interval_ns - self.next_ns) // self.sample_ns
        if before:
            self._n = before
            self._wsum = before * (before + 1) // 2 if rule.linear_weights else before
            self._psum = self._wsum * premium_for_rate(rule.start_rate_8h, rule.interest_8h,
                                                       rule.clamp_8h)

    def _reset(self) -> None:
        self._n = 0             # samples in the current interval
        self._wsum = 0          # the sum of their weights
        self._psum = Fraction(0)    # the sum of weight x premium (fraction of 1)

    def times(self, end_ns: int) -> list[int]:
        """Every instant in [0, ``end_ns``] at which the loop must call ``step``: the
        sample grid and the funding instants, ascending.  O(samples + settlements)."""
        settle = range(self.next_ns, end_ns + 1, self.interval_ns)
        return sorted(set(range(0, end_ns + 1, self.sample_ns)).union(settle))

    def sample(self, book, index: int) -> int:
        """Add the premium sample of ``book`` against ``index`` (ticks) to the interval and
        return it (ppb).  O(levels walked)."""
        lots = self.rule.impact_lots
        if lots:                # inverse (module docstring)
            p = premium_ppb(index, impact_price_inverse(book, 1, lots),
                            impact_price_inverse(book, -1, lots))
        else:
            notional, tlq = self.rule.impact_notional_q, self.tlq
            p = premium_ppb(index, impact_price(book, 1, notional, tlq),
                            impact_price(book, -1, notional, tlq))
        self._n += 1
        w = self._n if self.rule.linear_weights else 1
        self._wsum += w
        self._psum += Fraction(w * p, PPB)
        self.premium_ppb = p
        return p

    def average_premium(self) -> Fraction | None:
        """The interval's average premium so far (exact), ``None`` before its first sample."""
        return self._psum / self._wsum if self._wsum else None

    def rate(self) -> Fraction:
        """The predicted per-interval rate of the next settlement (exact): the formula on the
        interval's samples so far, or the last settled rate before the first."""
        avg = self.average_premium()
        if avg is None:
            return self.last_rate
        rule = self.rule
        return interval_rate(rate_8h(avg, rule.interest_8h, rule.clamp_8h),
                             rule.paid_interval_s, rule.cap_8h)

    def rate_ppb(self) -> int:
        """``rate()`` in ppb, rounded half to even (the time series' figure)."""
        return round(self.rate() * PPB)

    def settle(self) -> Fraction:
        """Close the interval at the funding instant ``next_ns``: return its rate, keep it as
        ``last_rate``, start the next interval.  O(1)."""
        rate = self.last_rate = self.rate()
        self._reset()
        self.next_ns += self.interval_ns
        return rate

    def step(self, ts: int, exchange, inst: int, index: int) -> None:
        """The loop's call at each of ``times()``: at a funding instant, settle and pay
        through ``exchange.settle_funding`` on the mark (Binance) or the index/oracle
        (Hyperliquid); on the sample grid, sample the book unless the venue is halted or
        down (its book is frozen: assumed, no sample).  Settlement happens on schedule even
        while halted or down (assumed: a ledger operation, not an order)."""
        if ts == self.next_ns:
            rate = self.settle()
            price = exchange.marks[inst] if self.rule.settles_on_mark else index
            exchange.settle_funding(ts, inst, rate, price)
        if ts % self.sample_ns == 0 and not exchange.halted and not exchange.down:
            self.sample(exchange.books[inst], index)
