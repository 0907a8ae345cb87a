"""Instruments: linear (quote-margined) perpetuals and their integer units.

Units (docs/design.md): prices are int ticks, quantities int lots, money int quote quantums.
``tick_lot_quanta`` = tick_size x lot_size / quote_quantum is required to be a whole number,
so the notional of ``qty`` lots at ``price`` ticks is exactly ``price * qty * tick_lot_quanta``
quantums.  Fee and clearance rates are integer parts-per-million; fees round up (against
the trader), rebates round down.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import attrs

from orderbook.units import to_units

from .tier_tables import (BINANCE_ALT_ASSUMED, BINANCE_BTCUSDT_2025_08_19,
                          BINANCE_ETHUSDT_2025_08_19, HYPERLIQUID_BTC_2026)
from .tiers import TierTable

# The venue's liquidation settings, by name: the styles of ``engine.liquidation.waterfalls``
# and the rankings of ``engine.liquidation.adl`` (which implement them; a test checks both
# lists against the implementations).
WATERFALLS = ("binance", "tiered", "hyperliquid", "dydx")
ADL_RANKINGS = ("binance", "bitmex", "hyperliquid", "dydx")


def _decimal(name: str):
    def convert(value) -> Decimal:
        if isinstance(value, (float, bool)):
            raise TypeError(f"{name}: expected str, Decimal or int, got {type(value).__name__}")
        try:
            d = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise ValueError(f"{name}: expected a decimal number, got {value!r}") from None
        if not d.is_finite() or d <= 0:
            raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        return d
    return convert


def _ppm(lo: int, hi: int):
    def check(instance, attribute, value) -> None:
        if type(value) is not int or not lo <= value <= hi:
            raise ValueError(f"{attribute.name}: expected an integer ppm in [{lo}, {hi}], "
                             f"got {value!r}")
    return check


@attrs.frozen
class Instrument:
    """A linear perpetual contract.

    ``waterfall`` selects the liquidation style (``engine.liquidation``).
    Invariant: ``tick_size * lot_size`` is a whole number of ``quote_quantum``.
    """

    symbol: str = attrs.field(validator=attrs.validators.min_len(1))
    tick_size: Decimal = attrs.field(converter=_decimal("tick_size"))
    lot_size: Decimal = attrs.field(converter=_decimal("lot_size"))
    tiers: TierTable = attrs.field(validator=attrs.validators.instance_of(TierTable))
    quote_quantum: Decimal = attrs.field(default=Decimal("0.00000001"),
                                         converter=_decimal("quote_quantum"))
    maker_fee_ppm: int = attrs.field(default=200, validator=_ppm(-10_000, 100_000))
    taker_fee_ppm: int = attrs.field(default=500, validator=_ppm(0, 100_000))
    clearance_fee_ppm: int = attrs.field(default=12_500, validator=_ppm(0, 100_000))
    waterfall: str = attrs.field(default="binance", validator=attrs.validators.in_(WATERFALLS))
    quote_currency: str = attrs.field(default="USDT", validator=attrs.validators.min_len(1))
    tick_lot_quanta: int = attrs.field(init=False)
    quanta_per_unit: int = attrs.field(init=False)
    table_q: TierTable = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        ratio = self.tick_size * self.lot_size / self.quote_quantum
        if ratio != ratio.to_integral_value():
            raise ValueError(f"{self.symbol}: tick_size x lot_size ({self.tick_size} x "
                             f"{self.lot_size}) is not a whole number of quote_quantum "
                             f"({self.quote_quantum})")
        per_unit = 1 / self.quote_quantum
        if per_unit != per_unit.to_integral_value():
            raise ValueError(f"{self.symbol}: quote_quantum must divide 1, got {self.quote_quantum}")
        object.__setattr__(self, "tick_lot_quanta", int(ratio))
        object.__setattr__(self, "quanta_per_unit", int(per_unit))
        object.__setattr__(self, "table_q", self.tiers.with_quantum(int(per_unit)))

    # Exact conversions at the edges.
    def ticks(self, price: str | Decimal | int) -> int:
        """Decimal price -> ticks; must be a multiple of the tick size."""
        return to_units(price, self.tick_size, "price")

    def lots(self, qty: str | Decimal | int) -> int:
        return to_units(qty, self.lot_size, "qty")

    def price_decimal(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def money_decimal(self, quanta: int) -> Decimal:
        return quanta * self.quote_quantum

    def quanta(self, amount: str | Decimal | int) -> int:
        """Decimal quote amount -> quantums (exact)."""
        return to_units(amount, self.quote_quantum, "amount")

    def notional(self, price: int, qty: int) -> int:
        """|qty| lots at ``price`` ticks, in quote quantums (exact)."""
        return price * abs(qty) * self.tick_lot_quanta


def binance_btcusdt(**overrides) -> Instrument:
    """Binance USD-M BTCUSDT: tick 0.1, lot 0.001, tiers in force from 2025-08-19.

    Fees 0.02%/0.05% (VIP 0 maker/taker).  Clearance fee 1.25% is the captured
    ``liquidationFee`` (docs/reference/liquidation-mechanics.md section 1.6 item 8, date
    unknown: assumed current).
    """
    params = dict(symbol="BTCUSDT", tick_size="0.1", lot_size="0.001",
                  tiers=BINANCE_BTCUSDT_2025_08_19)
    params.update(overrides)
    return Instrument(**params)


def binance_ethusdt(**overrides) -> Instrument:
    """Binance USD-M ETHUSDT: tick 0.01, lot 0.001, tiers in force from 2025-08-19."""
    params = dict(symbol="ETHUSDT", tick_size="0.01", lot_size="0.001",
                  tiers=BINANCE_ETHUSDT_2025_08_19)
    params.update(overrides)
    return Instrument(**params)


def binance_atomusdt(**overrides) -> Instrument:
    """A Binance USD-M small-cap perpetual, ATOMUSDT-like: tick 0.001, lot 0.01, an *assumed*
    bracket table (``BINANCE_ALT_ASSUMED``: the reference has none for altcoins)."""
    params = dict(symbol="ATOMUSDT", tick_size="0.001", lot_size="0.01",
                  tiers=BINANCE_ALT_ASSUMED)
    params.update(overrides)
    return Instrument(**params)


def hyperliquid_btc(**overrides) -> Instrument:
    """Hyperliquid BTC perp: tick 1 (assumed), lot 0.00001; no clearance fee (reference §5)."""
    params = dict(symbol="BTC", tick_size="1", lot_size="0.00001", tiers=HYPERLIQUID_BTC_2026,
                  quote_quantum="0.000001", maker_fee_ppm=150, taker_fee_ppm=450,
                  clearance_fee_ppm=0, waterfall="hyperliquid", quote_currency="USDC")
    params.update(overrides)
    return Instrument(**params)


BUNDLED_INSTRUMENTS = {
    "binance:BTCUSDT": binance_btcusdt,
    "binance:ETHUSDT": binance_ethusdt,
    "binance:ATOMUSDT": binance_atomusdt,
    "hyperliquid:BTC": hyperliquid_btc,
}
