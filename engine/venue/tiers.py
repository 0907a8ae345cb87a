"""Margin tiers (brackets): the ``Tier`` record, the validated ``TierTable``, the maintenance
amount (cum) recursion and the tiered maintenance margin, exact and in integer quote quantums.

Units and exactness
-------------------
- ``Tier.floor`` / ``Tier.cap`` are position notionals in quote-currency units (USDT for
  Binance USDⓈ-M, USDC for Hyperliquid, the coin for COIN-M), held as exact ``Fraction``.
- ``Tier.mmr`` (maintenance margin rate) and ``Tier.max_leverage`` are exact ``Fraction``. We chose
  rationals over integer parts-per-million because some venue rates are not whole ppm:
  Hyperliquid sets mmr = 1 / (2 × max leverage), which is 1/6 for a 3x tier.
- The hot path does not touch Fractions: ``TierTable`` precomputes, once, integer floors in quote
  quantums and each tier's (mmr, cum) as integer numerators over one common denominator, so
  ``maintenance_margin_q`` is one ``bisect`` on ints, one multiply and one floor division.

Venue rule (docs/reference/liquidation-mechanics.md §1.3, Binance FAQ "How to Calculate Liquidation
Price of USDⓈ-M Futures Contracts"; the same recursion for Hyperliquid in §5, GitBook
``trading/margin-tiers``)::

    MM    = notional × mmr(tier of notional) − cum(tier)
    cum_0 = 0,  cum_i = cum_{i−1} + floor_i × (mmr_i − mmr_{i−1})

The recursion makes MM continuous and piecewise linear in notional: only the notional above each
floor pays the higher rate, so MM is also Σ_j mmr_j × |[floor_j, cap_j) ∩ [0, notional)|.

Which tier owns a boundary notional (exactly ``floor_i``) is **assumed** half-open
``[floor, cap)``: the venues' tables print "300,000 – 800,000" without saying. MM does not depend
on the choice (it is continuous); only the reported tier and MMR do. A notional at or above the
last tier's cap is **assumed** to stay in the last tier (venues refuse to open such a position,
but a price move can carry an open one there).
"""

from __future__ import annotations

import numbers
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import partial
from math import lcm

import attrs

__all__ = [
    "DEFAULT_QUANTUMS_PER_UNIT",
    "Tier",
    "TierTable",
    "as_table",
    "maintenance_amounts",
    "maintenance_margin_exact",
    "maintenance_margin_q",
    "to_exact",
]

#: Quote quantums per quote-currency unit of a table unless told otherwise (1 quantum = 1e-8
#: quote units). A default only: the engine sets the instrument's own with ``with_quantum``.
DEFAULT_QUANTUMS_PER_UNIT = 10**8


def to_exact(value: object, name: str) -> Fraction:
    """Return ``value`` as an exact ``Fraction``; ``name`` is used in error messages.

    Accepts ``int`` (and other integral types), ``str`` (``"0.004"``, ``"1e-3"``, ``"1/80"``),
    finite ``Decimal`` and ``Fraction``. Rejects ``bool`` and ``float`` with ``TypeError`` (a binary
    float is not the decimal the user typed), NaN / infinity and unparsable strings with
    ``ValueError``.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected str, Decimal or int, got bool {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name}: {value} is not a finite number")
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{name}: {value!r} is not a finite decimal or ratio") from None
    if isinstance(value, float):
        raise TypeError(
            f"{name}: float {value!r} is not accepted; pass a str or Decimal so the value is exact"
        )
    raise TypeError(f"{name}: expected str, Decimal or int, got {type(value).__name__}")


def _to_exact_or_none(value: object, name: str) -> Fraction | None:
    return None if value is None else to_exact(value, name)


@attrs.frozen
class Tier:
    """One margin tier: notionals in ``[floor, cap)`` pay maintenance rate ``mmr``.

    ``cap`` is ``None`` only for an open-ended last tier. ``max_leverage`` is the highest leverage
    a position in this tier may open with, so its initial margin rate is ``1 / max_leverage``.
    The maintenance amount (cum) is deliberately not a field: it is derived from the whole table by
    ``maintenance_amounts``, never typed in.

    Invariants (checked here, naming the field): ``floor >= 0``; ``cap > floor``;
    ``0 <= mmr < 1`` (at mmr = 1 a long's margin balance and MM move together and no liquidation
    price exists); ``max_leverage >= 1``; ``mmr <= 1 / max_leverage`` (maintenance never exceeds
    the initial margin at the tier's own maximum leverage; true of every table in the reference).
    """

    floor: Fraction = attrs.field(converter=partial(to_exact, name="floor"))
    cap: Fraction | None = attrs.field(converter=partial(_to_exact_or_none, name="cap"))
    mmr: Fraction = attrs.field(converter=partial(to_exact, name="mmr"))
    max_leverage: Fraction = attrs.field(converter=partial(to_exact, name="max_leverage"))

    def __attrs_post_init__(self) -> None:
        if self.floor < 0:
            raise ValueError(f"floor: {self.floor} is negative")
        if self.cap is not None and self.cap <= self.floor:
            raise ValueError(f"cap: {self.cap} must exceed floor {self.floor}")
        if not 0 <= self.mmr < 1:
            raise ValueError(f"mmr: {self.mmr} must satisfy 0 <= mmr < 1")
        if self.max_leverage < 1:
            raise ValueError(f"max_leverage: {self.max_leverage} is below 1")
        if self.mmr * self.max_leverage > 1:
            raise ValueError(
                f"mmr: {self.mmr} exceeds the initial margin rate 1/max_leverage "
                f"= {1 / self.max_leverage}"
            )


def maintenance_amounts(tiers: Iterable[Tier]) -> tuple[Fraction, ...]:
    """Maintenance amounts (cum) of consecutive tiers by the venue recursion.

    ``cum_0 = 0``, ``cum_i = cum_{i−1} + floor_i × (mmr_i − mmr_{i−1})``: reference §1.3 (Binance
    FAQ b3c689c1…, "Maintenance Amount"), §5 (Hyperliquid ``trading/margin-tiers``,
    "maintenance_deduction"). Exact, no rounding. Complexity O(tiers).
    """
    cums: list[Fraction] = []
    prev_mmr = None
    cum = Fraction(0)
    for tier in tiers:
        if prev_mmr is not None:
            cum += tier.floor * (tier.mmr - prev_mmr)
        cums.append(cum)
        prev_mmr = tier.mmr
    return tuple(cums)


def _check_quantums(instance: object, attribute: attrs.Attribute, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name}: {value!r} must be an int >= 1")


@attrs.frozen
class TierTable:
    """A validated, contiguous tier table of one instrument, with lookup caches.

    Invariants (a violation raises ``ValueError`` naming the table, the tier index and the field):
    at least one tier; ``tiers[0].floor == 0``; ``tiers[i].floor == tiers[i−1].cap`` (contiguous,
    hence increasing); only the last tier may have ``cap=None``; mmr non-decreasing; max leverage
    non-increasing. Each tier's own checks are in ``Tier``; ``from_rows`` adds the index to them.

    ``quantums_per_unit`` is how many integer quote quantums make one quote-currency unit; it only
    affects the integer helpers (``index_of_q``, ``maintenance_margin_q``).

    Construction is O(tiers); lookups are O(log tiers) by ``bisect`` on the floors.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=tuple)
    quantums_per_unit: int = attrs.field(
        default=DEFAULT_QUANTUMS_PER_UNIT, validator=_check_quantums
    )
    name: str = ""
    source: str = ""
    # Caches, filled once in __attrs_post_init__ (not part of equality).
    _floors: tuple[Fraction, ...] = attrs.field(init=False, repr=False, eq=False)
    _cums: tuple[Fraction, ...] = attrs.field(init=False, repr=False, eq=False)
    _floors_q: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    _coef_q: tuple[tuple[int, int], ...] = attrs.field(init=False, repr=False, eq=False)
    _den_q: int = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._validate()
        tiers = self.tiers
        q = self.quantums_per_unit
        cums = maintenance_amounts(tiers)
        # MM in quantums = notional_q × mmr − cum × q; put every mmr and cum × q over one integer
        # denominator so the hot path is integer-only.
        den = lcm(*(t.mmr.denominator for t in tiers), *((c * q).denominator for c in cums))
        setattr_ = object.__setattr__
        setattr_(self, "_floors", tuple(t.floor for t in tiers))
        setattr_(self, "_cums", cums)
        # notional_q >= floor × q  <=>  notional_q >= ceil(floor × q), since notional_q is an int.
        setattr_(self, "_floors_q", tuple(-((-t.floor * q) // 1) for t in tiers))
        setattr_(
            self,
            "_coef_q",
            tuple((int(t.mmr * den), int(c * q * den)) for t, c in zip(tiers, cums)),
        )
        setattr_(self, "_den_q", den)

    def _validate(self) -> None:
        label = f"tier table {self.name!r}" if self.name else "tier table"
        tiers = self.tiers
        if not tiers:
            raise ValueError(f"{label}: tiers is empty")
        for i, tier in enumerate(tiers):
            if not isinstance(tier, Tier):
                raise TypeError(f"{label}: tiers[{i}] is a {type(tier).__name__}, not a Tier")
        if tiers[0].floor != 0:
            raise ValueError(
                f"{label}: tiers[0].floor is {tiers[0].floor}; the first tier starts at 0"
            )
        for i in range(1, len(tiers)):
            prev, tier = tiers[i - 1], tiers[i]
            if prev.cap is None:
                raise ValueError(f"{label}: tiers[{i - 1}].cap is None but it is not the last tier")
            if tier.floor != prev.cap:
                raise ValueError(
                    f"{label}: tiers[{i}].floor {tier.floor} != tiers[{i - 1}].cap {prev.cap}; "
                    "tiers must be contiguous"
                )
            if tier.mmr < prev.mmr:
                raise ValueError(
                    f"{label}: tiers[{i}].mmr {tier.mmr} is below tiers[{i - 1}].mmr {prev.mmr}; "
                    "mmr must be non-decreasing"
                )
            if tier.max_leverage > prev.max_leverage:
                raise ValueError(
                    f"{label}: tiers[{i}].max_leverage {tier.max_leverage} exceeds "
                    f"tiers[{i - 1}].max_leverage {prev.max_leverage}; max leverage must be "
                    "non-increasing"
                )

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[object]],
        *,
        quantums_per_unit: int = DEFAULT_QUANTUMS_PER_UNIT,
        name: str = "",
        source: str = "",
    ) -> TierTable:
        """Build a table from ``(floor, cap, mmr, max_leverage)`` rows of str / Decimal / int.

        A bad row raises the ``Tier`` error prefixed with the table name and ``tiers[i]``.
        """
        label = f"tier table {name!r}" if name else "tier table"
        tiers = []
        for i, row in enumerate(rows):
            if len(row) != 4:
                raise ValueError(
                    f"{label}: tiers[{i}] has {len(row)} fields; expected "
                    "(floor, cap, mmr, max_leverage)"
                )
            try:
                tiers.append(Tier(*row))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{label}: tiers[{i}].{exc}") from None
        return cls(tuple(tiers), quantums_per_unit=quantums_per_unit, name=name, source=source)

    def with_quantum(self, quantums_per_unit: int) -> TierTable:
        """The same tiers with another quote quantum (e.g. the instrument's)."""
        return attrs.evolve(self, quantums_per_unit=quantums_per_unit)

    # -- sequence protocol, so a TierTable can stand wherever a sequence of Tier is accepted --
    def __len__(self) -> int:
        return len(self.tiers)

    def __iter__(self):
        return iter(self.tiers)

    def __getitem__(self, index: int) -> Tier:
        return self.tiers[index]

    @property
    def cums(self) -> tuple[Fraction, ...]:
        """Maintenance amounts (cum) per tier, derived by ``maintenance_amounts``."""
        return self._cums

    def index_of(self, notional: Fraction | int) -> int:
        """Index of the tier holding ``notional`` (quote units, exact), O(log tiers) by bisect.

        Half-open tiers ``[floor, cap)`` (assumed, see module docstring); above the last cap, the
        last tier. Raises ``ValueError`` for a negative notional.
        """
        if notional < 0:
            raise ValueError(f"notional: {notional} is negative")
        return bisect_right(self._floors, notional) - 1

    def floor_q(self, index: int) -> int:
        """Floor of tier ``index`` in integer quote quantums (the cap of tier ``index - 1``)."""
        return self._floors_q[index]

    def index_of_q(self, notional_q: int) -> int:
        """Index of the tier holding ``notional_q`` (integer quote quantums), O(log tiers)."""
        if notional_q < 0:
            raise ValueError(f"notional_q: {notional_q} is negative")
        return bisect_right(self._floors_q, notional_q) - 1

    def coefficients_q(self, index: int) -> tuple[int, int, int]:
        """``(mmr_num, cum_num, den)`` of tier ``index`` in quote quantums: the exact maintenance
        margin of that tier's line is ``(notional_q × mmr_num − cum_num) / den``, so
        ``maintenance_margin_q`` is its ceiling. For callers that solve for a price in integers."""
        mmr_num, cum_num = self._coef_q[index]
        return mmr_num, cum_num, self._den_q


def as_table(tiers: TierTable | Iterable[Tier]) -> TierTable:
    """``tiers`` itself if it is a ``TierTable``, else a new validated table of the given tiers."""
    return tiers if isinstance(tiers, TierTable) else TierTable(tuple(tiers))


def maintenance_margin_exact(notional: Fraction | int, table: TierTable) -> Fraction:
    """Exact maintenance margin, ``notional × mmr − cum`` of the notional's tier (quote units).

    No rounding. Source: reference §1.3 (Binance FAQ b3c689c1…). Complexity O(log tiers).
    """
    i = table.index_of(notional)
    return notional * table.tiers[i].mmr - table._cums[i]


def maintenance_margin_q(notional_q: int, table: TierTable) -> int:
    """Maintenance margin in integer quote quantums for a notional in quote quantums.

    ``MM_q = ceil(notional_q × mmr − cum × quantums_per_unit)``: the exact value rounded **up**,
    against the trader (a requirement). Source: reference §1.3 (Binance FAQ b3c689c1…), §5
    (Hyperliquid ``trading/margin-tiers``). Complexity O(log tiers): one ``bisect`` on the integer
    floors, then integer multiply and floor-divide; no Fraction is built (hot path: locals bound
    once, plain ints).
    """
    if notional_q < 0:
        raise ValueError(f"notional_q: {notional_q} is negative")
    i = bisect_right(table._floors_q, notional_q) - 1
    mmr_num, cum_num = table._coef_q[i]
    # ceil(x / d) == -((-x) // d) for an integer x and d > 0.
    return -((cum_num - notional_q * mmr_num) // table._den_q)
