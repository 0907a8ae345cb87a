"""Collateral assets for multi-asset cross margin, valued at price x (1 - haircut).

Each asset's price comes from a configurable *source* -- this is the path by which
Binance's 10-Oct-2025 USDe / wBETH / BNSOL depeg liquidated accounts whose positions were
not losing: those assets were priced (partly) off Binance's own thin spot books
(docs/reference/liquidation-mechanics.md sections 1.1, 1.9 and 9).  The post-event fix priced
them off redemption value / external indexes; both can be replayed side by side by
choosing the source:

  ``index``     an external price the scenario supplies (``Exchange.set_asset_index``)
  ``book-mid``  the mid of the venue's own book for the asset (an instrument index)
  ``book-last`` the last trade of that book
  ``fixed``     a fixed redemption value (e.g. USDe = 1)

Values round down (against the account: collateral is an asset the venue lends against).
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import attrs

SOURCES = ("index", "book-mid", "book-last", "fixed")


def _unit(value) -> Decimal:
    if isinstance(value, (float, bool)):
        raise TypeError(f"unit: expected str, Decimal or int, got {type(value).__name__}")
    d = Decimal(value)
    if not d.is_finite() or d <= 0:
        raise ValueError(f"unit: expected a finite number > 0, got {value!r}")
    return d


def exact_price(name: str, value, positive: bool = False) -> Fraction:
    """An exact finite price (quote units) from str/Decimal/int/Fraction, never a float;
    >= 0, or > 0 if ``positive``.  Raises naming ``name``."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{name}: expected str, Decimal, int or Fraction, got "
                        f"{type(value).__name__} {value!r}")
    bound = "> 0" if positive else ">= 0"
    try:
        price = value if isinstance(value, Fraction) else Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}") from None
    if price < 0 or positive and price == 0:
        raise ValueError(f"{name}: expected {bound}, got {value!r}")
    return price


@attrs.frozen
class CollateralAsset:
    """A collateral asset.  ``unit`` is the size of one integer amount (e.g. 1e-8 USDe).

    ``haircut_ppm`` in [0, 1e6]; ``book_inst`` names the instrument whose book prices the
    asset for the book sources; ``fixed_price`` (quote units) for ``fixed``.
    """

    name: str = attrs.field(validator=attrs.validators.min_len(1))
    source: str = attrs.field(validator=attrs.validators.in_(SOURCES))
    unit: Decimal = attrs.field(default=Decimal("0.00000001"), converter=_unit)
    haircut_ppm: int = attrs.field(default=0)
    book_inst: int | None = None
    fixed_price: Fraction | None = attrs.field(default=None)

    @haircut_ppm.validator
    def _check_haircut(self, attribute, value) -> None:
        if type(value) is not int or not 0 <= value <= 1_000_000:
            raise ValueError(f"haircut_ppm: expected an int in [0, 1000000], got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.source in ("book-mid", "book-last") and self.book_inst is None:
            raise ValueError(f"{self.name}: source {self.source!r} needs book_inst")
        if self.source == "fixed":
            if self.fixed_price is None:
                raise ValueError(f"{self.name}: source 'fixed' needs fixed_price")
            price = exact_price(f"{self.name}.fixed_price", self.fixed_price, positive=True)
            object.__setattr__(self, "fixed_price", price)

    def value_q(self, amount: int, price: Fraction, quanta_per_unit: int) -> int:
        """Haircut value of ``amount`` units at ``price`` (quote units), in quote quantums,
        rounded down.  O(1)."""
        v = Fraction(amount) * Fraction(self.unit) * price * (1_000_000 - self.haircut_ppm) \
            * quanta_per_unit / 1_000_000
        return v.numerator // v.denominator
