"""Circuit-breaker policies, selectable per run (``--breaker NAME`` or ``NAME+NAME``): one
module per venue rule, the shared corridor-and-halt machinery (``corridor``), the static list
``POLICIES``; ``make_breaker`` builds one policy or a composition, ``describe_policies`` lists
them with their parameters (``liqsim list``).  Policies decide; the Exchange applies (halt,
reopen).  They import ``engine.venue``, ``engine.phases`` and ``engine.config`` only.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ..config import ConfigError
from .bands import PriceBand
from ..venue.rounding import floor_f
from .base import Policy, positive_seconds, seconds
from .cde import CoinbaseHourly
from .cme import DynamicCircuitBreaker, VelocityLogic
from .liquidation import LiqPause, LiqThrottle
from .luld import LimitUpLimitDown
from .xetra import XetraVolatilityInterruption

#: Every policy, by name: the static list ``--breaker`` chooses from.
POLICIES: dict[str, type[Policy]] = {cls.NAME: cls for cls in (
    Policy, PriceBand, LimitUpLimitDown, DynamicCircuitBreaker, VelocityLogic, CoinbaseHourly,
    XetraVolatilityInterruption, LiqThrottle, LiqPause)}


class Composite(Policy):
    """Several policies at once: every hook consults each in the order given.

    An order is rejected if any policy rejects it; price adjustments chain; a liquidation
    is deferred if any policy defers it; counters are merged."""

    def __init__(self, parts: list[Policy]):
        self.parts = parts
        self.trips = 0

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.parts)

    def bind(self, port):
        self.port = port
        self.exchange = port.exchange
        for p in self.parts:
            p.bind(port)

    def evaluate(self, ts):
        for p in self.parts:
            p.evaluate(ts)

    def gate_order(self, ts, account, inst, side, qty, price, order_type, tif, liquidation):
        for p in self.parts:
            p.moved = 0
            price, reason = p.gate_order(ts, account, inst, side, qty, price, order_type,
                                         tif, liquidation)
            self.moved = p.moved or self.moved      # the last part that moved it
            if reason:
                return price, reason
        return price, 0

    def stopped(self, reason, order_type):
        for p in self.parts:
            p.stopped(reason, order_type)

    def limit_edge(self, inst, side):
        """The tightest of the parts' edges (a buy's lowest, a sell's highest)."""
        edges = [e for p in self.parts if (e := p.limit_edge(inst, side)) is not None]
        if not edges:
            return None
        return min(edges) if side > 0 else max(edges)

    def gate_liquidation(self, ts, account, inst, notional):
        for p in self.parts:
            reason = p.gate_liquidation(ts, account, inst, notional)
            if reason:
                return reason
        return 0

    def pauses_liquidations(self, ts, inst, units):
        for p in self.parts:
            reason = p.pauses_liquidations(ts, inst, units)
            if reason:
                return reason
        return 0

    def counters(self):
        out = {}
        for p in self.parts:
            out.update(p.counters())
        return out


def split_names(spec: str | None) -> list[str]:
    """``"luld+liq-pause"`` or ``"luld,liq-pause"`` -> the policy names, validated."""
    if spec is None:
        spec = "none"
    names = [n.strip() for n in spec.replace(",", "+").split("+")]
    if not all(names):
        raise ConfigError(f"--breaker: expected policy names joined by '+', got {spec!r}")
    for n in names:
        if n not in POLICIES:
            raise ConfigError(f"--breaker: unknown policy {n!r}; expected one of "
                              f"{', '.join(sorted(POLICIES))} (join several with '+')")
    if len(names) > 1 and "none" in names:
        raise ConfigError("--breaker: 'none' cannot be combined with other policies")
    if len(set(names)) != len(names):
        raise ConfigError(f"--breaker: a policy is named twice in {spec!r}")
    return names


def parse_policy_list(spec: str) -> list[str]:
    """``liqsim compare --breakers none,luld+liq-pause`` -> one run per comma item, each
    a valid policy and none repeated (a run's directory and its key in comparison.json
    are its name; an empty item, ``none,,luld``, is refused like ``luld+``).  O(items^2)
    for a handful of items."""
    runs = [item.strip() for item in spec.split(",")]
    if not any(runs):
        raise ConfigError("--breakers: expected at least one policy")
    if not all(runs):
        raise ConfigError(f"--breakers: expected comma-separated policies, got an empty item "
                          f"in {spec!r}")
    try:
        runs = ["+".join(split_names(item)) for item in runs]     # one spelling per policy
    except ConfigError as exc:      # name the flag the user gave
        raise ConfigError(f"--breakers: {str(exc).partition(': ')[2]}") from None
    for k, item in enumerate(runs):
        if item in runs[:k]:
            raise ConfigError(f"--breakers: '{item}' is listed twice; expected each policy "
                              f"once (one run per comma item)")
    return runs


def make_breaker(spec: str | None, scenario=None) -> Policy:
    """Build the policy (or composition) named by ``spec``; parameters from the scenario's
    ``[breaker.NAME]`` tables."""
    names = split_names(spec)
    table = dict(getattr(scenario, "breaker", {}) or {})
    where = f"{getattr(scenario, 'source_path', '') or 'scenario'}: breaker"
    check_tables(table, where)
    parts = [POLICIES[n](table.get(n), where) for n in names]
    return parts[0] if len(parts) == 1 else Composite(parts)


def check_tables(table: dict, where: str = "breaker") -> None:
    """Validate every ``[breaker.NAME]`` table of a scenario -- a known policy, a table of
    its parameters, each valid -- whether or not a run uses it (a typo in one that is not
    selected would otherwise wait for the run that selects it).  O(policies)."""
    for key, value in table.items():
        if key not in POLICIES:
            raise ConfigError(f"{where}.{key}: unknown policy; expected one of "
                              f"{', '.join(sorted(POLICIES))}")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}.{key}: expected a table of parameters")
        POLICIES[key](value, where)


def _decimal_text(value: Fraction) -> str:
    """``value`` as a plain decimal of 28 significant digits (exact for any terminating
    fraction), as a ``[breaker]`` table holds it."""
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def scale_params(table: dict, f, where: str = "breaker") -> dict:
    """A scenario's ``[breaker]`` table with every quote amount a policy declares in
    ``SCALED`` -- its default too -- multiplied by ``f``, as ``--scale`` shrinks the rest of
    the scenario; the scaled scenario, and the ``scenario.toml`` written from it, then hold
    the caps that apply.  Written as a decimal of 28 significant digits (exact for any
    terminating product; a cap never rounds to zero).  The table was checked at load
    (``check_tables``); one that is not a table is left for ``make_breaker`` to report.
    O(policies)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in table.items()}
    for name, cls in POLICIES.items():
        params = out.setdefault(name, {}) if cls.SCALED else None
        if not isinstance(params, dict):
            continue
        for key in cls.SCALED:
            default, convert, _ = cls.PARAMS[key]
            value = convert(f"{where}.{name}.{key}", params.get(key, default)) * f
            params[key] = _decimal_text(value)
    return {k: v for k, v in out.items() if v != {}}


def compress_params(table: dict, k, where: str = "breaker") -> dict:
    """A scenario's ``[breaker]`` table for a run whose clock is compressed ``k`` times
    (``[scenario] time_compression``): every time a policy takes (a parameter read by
    ``seconds`` or ``positive_seconds`` -- windows, pauses, halts, auction phases,
    reference periods; its default too) divided by ``k``, and every rate per second (a
    ``*_per_s`` parameter: ``liq-throttle``'s cap) multiplied by ``k``, so a rule written
    in the venue's real seconds covers the same stretch of the event.  Written as decimal seconds
    to the nanosecond, rounded down, at least 1 ns where the policy needs a time > 0.
    ``k`` = 1 returns the table unchanged.  O(policies x parameters)."""
    k = Fraction(k)
    if k == 1:
        return table
    out = {n: dict(v) if isinstance(v, dict) else v for n, v in table.items()}
    for name, cls in POLICIES.items():
        params = out.setdefault(name, {})
        if not isinstance(params, dict):
            continue
        for key, (default, convert, _) in cls.PARAMS.items():
            if key.endswith("_per_s"):      # a rate per real second: k of them a run second
                value = Fraction(str(params.get(key, default))) * k
                params[key] = _decimal_text(value)
                continue
            if convert not in (seconds, positive_seconds):
                continue
            ns = convert(f"{where}.{name}.{key}", params.get(key, default))
            ns = max(floor_f(Fraction(ns) / k), 1 if convert is positive_seconds else 0)
            params[key] = f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"
    return {n: v for n, v in out.items() if v != {}}


def describe_policies():
    """(name, doc, {param: "default  -- meaning"}) for every policy."""
    for name in sorted(POLICIES):
        cls = POLICIES[name]
        params = {k: f"{d!r}  -- {doc}" for k, (d, _, doc) in cls.PARAMS.items()}
        yield name, cls.DOC, params


__all__ = ["Composite", "POLICIES", "Policy", "check_tables", "compress_params",
           "describe_policies", "make_breaker", "parse_policy_list", "scale_params",
           "split_names"]
