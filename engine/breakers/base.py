"""What every circuit-breaker policy is, and the services they share.

A policy is consulted by the Simulation at fixed points:
  ``evaluate(sim, ts)``          BREAKERS phase, every step: trip, halt, extend, reopen
  ``gate_order(sim, ts, ...)``   before any order reaches the book: pass it, reprice it
                                 (the returned price is the limit, or a market order's
                                 protection price) or reject it with a reason code
  ``gate_liquidation(...)``      before each liquidation waterfall: 0 to go ahead, or a
                                 reason code to defer it (``LiquidationDeferred``)
  ``counters()``                 per-policy figures for the run summary
Halting is a venue-wide service of the Simulation (``sim.halt`` / ``sim.reopen``), so that
composed policies see one halt state: ``luld+liq-pause`` pauses liquidations during the
LULD pause.  Parameters come from the policy's ``PARAMS`` (default, converter, meaning),
overridable in the scenario's ``[breaker.NAME]`` table or with ``--set breaker.NAME.KEY=V``;
unknown keys and bad values are rejected naming the key.
"""
from __future__ import annotations

from fractions import Fraction

from ..config import ConfigError, decimal, integer, text

# Reason codes written to the event log's ``reason`` column (book reasons < 100, engine
# reasons 100-109).
REASON_PRICE_BAND = 110        # limit price outside the band: rejected
REASON_MARKET_BOUND = 111      # market order beyond the max deviation from mark: expired
REASON_HALTED = 112            # refused because trading is halted / paused
REASON_LULD_BAND = 113         # LULD: an order may not trade outside the band
REASON_VELOCITY = 114          # CME velocity logic: the triggering order is cancelled
REASON_CDE_LIMIT = 115
REASON_XETRA_VI = 116
REASON_DCB = 117
REASON_LIQ_THROTTLED = 120     # liquidation deferred: per-second notional cap reached
REASON_LIQ_PAUSED = 121        # liquidation deferred: trading is halted


def pct(where: str, value) -> Fraction:
    """A percentage >= 0 as an exact fraction of 1 (``5`` -> 1/20)."""
    return Fraction(decimal(where, value)) / 100


MAX_SECONDS = 7 * 86_400      # a week: the longest scenario (scenario.duration_s)


def seconds(where: str, value) -> int:
    """Seconds, 0 to a week (decimal allowed) -> integer nanoseconds."""
    f = Fraction(decimal(where, value))
    if f > MAX_SECONDS:
        raise ConfigError(f"{where}: expected at most {MAX_SECONDS} seconds, got {value!r}")
    return int(f * 1_000_000_000)


def positive_seconds(where: str, value) -> int:
    """A length of time, more than 0 and at most a week -> integer nanoseconds."""
    ns = seconds(where, value)
    if ns <= 0:
        raise ConfigError(f"{where}: expected a time > 0 seconds, got {value!r}")
    return ns


def positive_pct(where: str, value) -> Fraction:
    """A percentage > 0 as an exact fraction of 1."""
    f = pct(where, value)
    if f <= 0:
        raise ConfigError(f"{where}: expected a percentage > 0, got {value!r}")
    return f


def whole(where: str, value) -> int:
    return integer(where, value, 0)


def choice(*options):
    return lambda where, value: text(where, value, options)


class Policy:
    """Base class: no effect.  Subclasses set ``NAME``, ``DOC``, ``PARAMS`` and override
    what they need."""

    NAME = "none"
    DOC = "no breaker: today's crypto venues, the baseline; never halts or defers"
    PARAMS: dict = {}      # key -> (default as written in TOML, converter(where, value), doc)
    SCALED: tuple = ()     # PARAMS keys in quote currency, shrunk with the scenario (--scale)
    CODE = 0               # breaker id in BreakerTripped events

    def __init__(self, params: dict | None = None, where: str = "breaker"):
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            known = ", ".join(sorted(self.PARAMS)) or "(none)"
            raise ConfigError(f"{where}.{self.NAME}.{unknown[0]}: unknown parameter; "
                              f"expected one of {known}")
        self.raw = {k: params.get(k, d) for k, (d, _, _) in self.PARAMS.items()}
        self.p = {k: conv(f"{where}.{self.NAME}.{k}", self.raw[k])
                  for k, (_, conv, _) in self.PARAMS.items()}
        self.trips = 0

    # Hooks ---------------------------------------------------------------
    def start(self, sim) -> None:
        """Called once when the Simulation is set up."""

    def evaluate(self, sim, ts: int) -> None:
        return None

    def gate_order(self, sim, ts: int, account: int, inst: int, side: int, qty: int,
                   price, order_type: int, tif: int, liquidation: bool):
        return price, 0

    def gate_liquidation(self, sim, ts: int, account: int, inst: int, notional: int) -> int:
        return 0

    def pauses_liquidations(self, sim, ts: int, inst: int, units: int) -> int:
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
    def trip(self, sim, ts: int, price: int = 0, value: int = 0) -> None:
        """Record a ``BreakerTripped`` event for this policy."""
        from ..venue.events import EventKind
        self.trips += 1
        sim.log.append(ts, EventKind.BREAKER_TRIPPED, price=price, value=value, reason=self.CODE)

    @property
    def name(self) -> str:
        return self.NAME
