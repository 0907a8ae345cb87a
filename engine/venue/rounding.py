"""Exact integer rounding of ratios: the engine's one home for ``ceil`` and ``floor`` of
ints and ``Fraction``s (no float ever).  Requirements, fees and band edges round against
the trader or inward; each caller says which by choosing the function.  All O(1)."""
from __future__ import annotations

from fractions import Fraction


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for ints, b > 0 (requirements and fees round up)."""
    return -((-a) // b)


def floor_f(x: Fraction) -> int:
    """Largest int <= x (exact; e.g. a buy band's edge in ticks)."""
    return x.numerator // x.denominator


def ceil_f(x: Fraction) -> int:
    """Smallest int >= x (exact)."""
    return -((-x.numerator) // x.denominator)


def protection_limit(mark: int, side: int, band: Fraction) -> int:
    """The worst price (ticks) at which an order of ``side`` may trade, ``band`` (a
    fraction of 1) from ``mark``: a buy's ``mark x (1 + band)`` rounded down, a sell's
    ``mark x (1 - band)`` rounded up -- toward the mark, so the order never trades beyond
    its band -- and at least 1 tick.  Exact, in ints: with ``band = n / d``, the price is
    ``mark x (d + side x n) / d`` (four ``Fraction`` operations cost ~20x as much, and the
    liquidation engine and the arbitrageurs call this per order)."""
    if type(band) is not Fraction:
        band = Fraction(band)
    d = band.denominator
    worst = mark * (d + side * band.numerator)
    return max(1, worst // d if side > 0 else -(-worst // d))
