"""Exact conversion between decimal prices/quantities and integer ticks/lots.

The book and engine work in ``int`` ticks and ``int`` lots.  Decimals exist only at the
edges (scenario files, recorded data, reports) and are converted here exactly once, from
``str`` or ``Decimal`` -- never ``int(x * scale)`` on a float, which turns 0.29 into 28.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext


def _as_decimal(value: str | Decimal | int, what: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{what}: expected str, Decimal or int, got {type(value).__name__} "
                        f"(floats are not exact; pass str(value))")
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{what}: expected a decimal number, got {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return d


def to_units(value: str | Decimal | int, step: str | Decimal | int, what: str = "value") -> int:
    """Return ``value / step`` as an int; raise ``ValueError`` unless it divides exactly.

    >>> to_units("61234.5", "0.1")
    612345
    """
    d = _as_decimal(value, what)
    s = _as_decimal(step, "step")
    if s <= 0:
        raise ValueError(f"step: expected > 0, got {step!r}")
    with localcontext() as ctx:
        ctx.prec = 200    # exact for any realistic magnitude; divmod needs the whole quotient
        try:
            q, r = divmod(d, s)
        except InvalidOperation:
            raise ValueError(f"{what}: {value} / {step} is out of range") from None
    if r != 0:
        raise ValueError(f"{what}: {value} is not a multiple of {step}")
    return int(q)


def from_units(units: int, step: str | Decimal | int) -> Decimal:
    """Return ``units * step`` as an exact ``Decimal``.

    >>> from_units(612345, "0.1")
    Decimal('61234.5')
    """
    if type(units) is not int:
        raise TypeError(f"units: expected int, got {type(units).__name__}")
    with localcontext() as ctx:
        ctx.prec = 200
        return Decimal(units) * _as_decimal(step, "step")
