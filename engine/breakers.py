"""Circuit-breaker policies (``--breaker``).

This module holds the interface the Simulation calls and the baseline policy ``none``
(today's crypto venues).  Every policy answers, each step: ``evaluate`` (BREAKERS phase:
trip, halt, resume), ``allow_liquidations`` (RISK phase) and ``halted`` (for the time
series).
"""
from __future__ import annotations


class NoBreaker:
    """``none``: never halts, never defers a liquidation."""

    name = "none"

    def evaluate(self, sim, ts: int) -> None:
        return None

    def allow_liquidations(self, sim, ts: int) -> bool:
        return True

    def halted(self, sim) -> bool:
        return False


POLICIES = {"none": NoBreaker}


def make_breaker(spec: str | None, scenario=None):
    """Build the policy named by ``spec`` (None or "none" = no breaker)."""
    from .config import ConfigError
    name = (spec or "none").strip()
    if name not in POLICIES:
        raise ConfigError(f"--breaker: expected one of {', '.join(sorted(POLICIES))}, got {name!r}")
    return POLICIES[name]()
