"""What every circuit-breaker policy is, and the services they share.

A policy is bound once to the loop's port (``bind(port)``: ``engine.phases.Port``) and is then
consulted at fixed points -- by the loop and, as the Exchange's ``BreakerHook``, by the venue:
  ``evaluate(ts)``               BREAKERS phase, every step: trip, halt, extend, reopen
  ``gate_order(ts, ...)``        before any order reaches the book: pass it, reprice it
                                 (the returned price is the limit, or a market order's
                                 protection price) or reject it with a reason code
  ``gate_liquidation(...)``      before each liquidation waterfall: 0 to go ahead, or a
                                 reason code to defer it (``LiquidationDeferred``)
  ``counters()``                 per-policy figures for the run summary
Halting is a venue-wide service of the Exchange (``exchange.halt`` / ``port.reopen``), so that
composed policies see one halt state: ``luld+liq-pause`` pauses liquidations during the
LULD pause.  The policy that halts sets the auction's rules (``halt_venue``): whether market
orders queue into the reopening auction or are refused, and the auction-price rule
(``orderbook.auction``) -- from its ``queue_market_orders`` and ``auction_price_rule``
parameters where it has them (``AUCTION_PARAMS``), else refusal and the every-tick rule.  Parameters come from the policy's ``PARAMS`` (default, converter, meaning),
overridable in the scenario's ``[breaker.NAME]`` table or with ``--set breaker.NAME.KEY=V``;
unknown keys and bad values are rejected naming the key.
"""
from __future__ import annotations

from fractions import Fraction

from orderbook.auction import EVERY_TICK, PRICE_RULES
from orderbook.enums import MARKET

from ..config import ConfigError, boolean, decimal, integer, text
from ..venue.codes import BreakerId, BreakerReason
from ..venue.events import EventKind
from ..venue.rounding import floor_f

# The breakers' codes in the log's ``reason`` column (``engine.venue.codes``).
REASON_PRICE_BAND = BreakerReason.PRICE_BAND
REASON_MARKET_BOUND = BreakerReason.MARKET_BOUND
REASON_LULD_BAND = BreakerReason.LULD_BAND
REASON_VELOCITY = BreakerReason.VELOCITY
REASON_CDE_LIMIT = BreakerReason.CDE_LIMIT
REASON_XETRA_VI = BreakerReason.XETRA_VI
REASON_DCB = BreakerReason.DCB
REASON_LIQ_THROTTLED = BreakerReason.LIQ_THROTTLED
REASON_LIQ_PAUSED = BreakerReason.LIQ_PAUSED


def pct(where: str, value) -> Fraction:
    """A percentage >= 0 as an exact fraction of 1 (``5`` -> 1/20)."""
    return Fraction(decimal(where, value)) / 100


MAX_SECONDS = 7 * 86_400      # a week: the longest scenario (scenario.duration_s)


def seconds(where: str, value) -> int:
    """Seconds, 0 to a week (decimal allowed) -> integer nanoseconds."""
    f = Fraction(decimal(where, value))
    if f > MAX_SECONDS:
        raise ConfigError(f"{where}: expected at most {MAX_SECONDS} seconds, got {value!r}")
    return floor_f(f * 1_000_000_000)      # rounded down to a nanosecond


def positive_seconds(where: str, value) -> int:
    """A length of time, more than 0 and at most a week -> integer nanoseconds."""
    ns = seconds(where, value)
    if ns <= 0:
        raise ConfigError(f"{where}: expected a time > 0 seconds, got {value!r}")
    return ns


def positive_pct(where: str, value) -> Fraction:
    """A percentage > 0 as an exact fraction of 1 (-3 and 0 get the same message)."""
    f = Fraction(decimal(where, value, non_negative=False)) / 100
    if f <= 0:
        raise ConfigError(f"{where}: expected a percentage > 0, got {value!r}")
    return f


def whole(where: str, value) -> int:
    return integer(where, value, 0)


def choice(*options):
    return lambda where, value: text(where, value, options)


def auction_params(queue: bool, rule: str) -> dict:
    """``PARAMS`` entries of a policy whose halt ends in a reopening auction: whether market
    orders (stops', Hyperliquid's liquidation orders, flow programs') queue into it instead
    of being refused, and its price rule; ``queue``/``rule`` are the policy's defaults."""
    return {
        "queue_market_orders": (queue, boolean,
                                "market orders arriving in the halt queue into the reopening "
                                "auction (true) or are refused (false)"),
        "auction_price_rule": (rule, choice(*PRICE_RULES),
                               "auction price: every-tick (every tick between the limits in "
                               "play) or xetra (limit prices and the reference price only)"),
    }


class Policy:
    """Base class: no effect.  Subclasses set ``NAME``, ``DOC``, ``PARAMS`` and override
    what they need."""

    NAME = "none"
    DOC = "no breaker: today's crypto venues, the baseline; never halts or defers"
    PARAMS: dict = {}      # key -> (default as written in TOML, converter(where, value), doc)
    SCALED: tuple = ()     # PARAMS keys in quote currency, shrunk with the scenario (--scale)
    CODE = BreakerId.NONE  # this policy's id in halt, reopen and trip rows
    #: Set by ``gate_order`` when it moves an order's price (a band's edge, a corridor's
    #: limit): the ``BreakerReason`` the order's expired remainder is logged with, so the
    #: log says the breaker stopped it (``Exchange.submit`` resets it before each gate).
    moved = 0
    #: The ``moved`` reason of this policy's cap on market orders (0: it caps none); such a
    #: policy keeps a ``capped`` counter (``stopped``).
    CAP_REASON = 0

    def __init__(self, params: dict | None = None, where: str = "breaker"):
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            known = ", ".join(sorted(self.PARAMS)) or "(none)"
            raise ConfigError(f"{where}.{self.NAME}.{unknown[0]}: unknown parameter; "
                              f"expected one of {known}")
        self.raw = {k: params.get(k, d) for k, (d, _, _) in self.PARAMS.items()}
        self.params = {k: conv(f"{where}.{self.NAME}.{k}", self.raw[k])
                       for k, (_, conv, _) in self.PARAMS.items()}
        self.trips = 0

    def bind(self, port) -> None:
        """Attach the policy to a run: ``port`` (``engine.phases.Port``) is how it reads the
        time and the venue and schedules work; then ``start``.  Called once, after set-up."""
        self.port = port
        self.exchange = port.exchange
        self.start()

    # Hooks ---------------------------------------------------------------
    def start(self) -> None:
        """Called once by ``bind``, with the venue set up (the first mark is known)."""

    def evaluate(self, ts: int) -> None:
        return None

    def gate_order(self, ts: int, account: int, inst: int, side: int, qty: int,
                   price, order_type: int, tif: int, liquidation: bool):
        return price, 0

    def stopped(self, reason: int, order_type: int) -> None:
        """Told by ``Exchange.submit`` when an order whose price this policy moved (its
        ``moved`` ``reason``) kept an unfilled remainder while the book still held
        liquidity beyond that price: the moved price, not the book, stopped it.  A market
        order stopped under ``CAP_REASON`` counts in ``capped`` (``*_market_capped``: the
        market orders a cap stopped, not every one given it as protection)."""
        if reason and reason == self.CAP_REASON and order_type == MARKET:
            self.capped += 1

    def limit_edge(self, inst: int, side: int) -> int | None:
        """The farthest limit (ticks) at which a non-liquidation limit order of ``side`` on
        ``inst`` now passes ``gate_order`` unchanged, or None when no price is refused.
        A participant that knows the venue's band prices inside it: the fund's offload
        (``engine.liquidation.offload``).  O(1)."""
        return None

    def gate_liquidation(self, ts: int, account: int, inst: int, notional: int) -> int:
        return 0

    def pauses_liquidations(self, ts: int, inst: int, units: int) -> int:
        """A blanket deferral of every liquidation of ``inst`` this round: its reason, or 0.

        Asked once per round, before any unit's ``gate_liquidation``, with the number of
        deficient ``units`` it would defer (for counters).  A pause decides for all of them
        at once -- a halt can leave tens of thousands of margin calls queued, re-listed
        every step -- and per-unit gates (a throttle's budget) never see liquidations that
        could not start anyway."""
        return 0

    def counters(self) -> dict:
        return {}

    # Shared helpers ---------------------------------------------------------
    def halt_venue(self, ts: int) -> None:
        """Halt the venue with this policy's code and auction rules (module docstring)."""
        p = self.params
        self.exchange.halt(ts, self.CODE, p.get("queue_market_orders", False),
                           PRICE_RULES[p["auction_price_rule"]] if "auction_price_rule" in p
                           else EVERY_TICK)

    def trip(self, ts: int, price: int = 0, value: int = 0) -> None:
        """Record a ``BreakerTripped`` event for this policy."""
        self.trips += 1
        self.exchange.log.append(ts, EventKind.BREAKER_TRIPPED, price=price, value=value,
                                 reason=self.CODE)

    @property
    def name(self) -> str:
        return self.NAME
