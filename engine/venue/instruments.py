"""Instruments: linear (quote-margined) and inverse (coin-margined) perpetuals and their
integer units.

Units (docs/design.md): prices are int ticks, quantities int lots, money int quantums of the
margin currency (``quote_quantum``: of the quote currency for a linear contract, of the base
coin for an inverse one).  Fee and clearance rates are integer parts-per-million; fees round
up (against the trader), rebates round down.

Linear: ``tick_lot_quanta`` = tick_size x lot_size / quote_quantum is required to be a whole
number, so the notional of ``qty`` lots at ``price`` ticks is exactly
``price * qty * tick_lot_quanta`` quantums.

Inverse (BitMEX XBTUSD, Binance COIN-M; docs/reference/liquidation-mechanics.md sections 2, 4
and 7 example 5): a lot is ``lot_size`` contracts of ``contract_size`` quote units each, and
margin, PnL, fees and tiers are in the base coin.  The value of ``qty`` lots at ``price``
ticks is ``qty x inverse_k / price`` quantums with the integer
``inverse_k`` = lot_size x contract_size / (tick_size x quote_quantum) -- a rational, not an
integer, so every use rounds, in the direction it states (``value_q``).  ``tick_lot_quanta``
is None for an inverse instrument, so linear arithmetic applied to one fails loudly.
Position accounting is in ``engine.venue.accounts`` (``Position.apply_value``).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

import attrs

from orderbook.units import to_units

from .tier_tables import (BINANCE_ALT_ASSUMED, BINANCE_BTCUSD_PERP_ASSUMED,
                          BINANCE_BTCUSDT_2025_08_19, BINANCE_ETHUSDT_2025_08_19,
                          BITMEX_XBTUSD_2020_03, HYPERLIQUID_BTC_2026)
from .tiers import TierTable

# The venue's liquidation settings, by name: the styles of ``engine.liquidation.waterfalls``
# and the rankings of ``engine.liquidation.adl`` (which implement them; a test checks both
# lists against the implementations).
WATERFALLS = ("binance", "tiered", "hyperliquid", "dydx")
ADL_RANKINGS = ("binance", "bitmex", "hyperliquid", "dydx")
KINDS = ("linear", "inverse")
# What an inverse instrument supports (the others assume a linear notional: Hyperliquid
# and dYdX list no inverse contract): refused with a message naming the setting.
INVERSE_WATERFALLS = ("binance", "tiered")
INVERSE_ADL_RANKINGS = ("binance", "bitmex", "dydx")


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
    """A perpetual contract, linear (``kind="linear"``) or inverse (``kind="inverse"``).

    ``waterfall`` selects the liquidation style (``engine.liquidation``).
    Invariant, linear: ``tick_size * lot_size`` is a whole number of ``quote_quantum``;
    inverse: ``lot_size * contract_size / tick_size`` is (``inverse_k``), and the waterfall
    is one of ``INVERSE_WATERFALLS``.  ``quote_currency`` is the price's currency;
    ``margin_currency`` the money's (``settle_currency`` for an inverse contract).
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
    kind: str = attrs.field(default="linear", validator=attrs.validators.in_(KINDS))
    contract_size: Decimal | None = attrs.field(
        default=None, converter=attrs.converters.optional(_decimal("contract_size")))
    settle_currency: str | None = attrs.field(default=None)
    tick_lot_quanta: int | None = attrs.field(init=False)
    inverse_k: int = attrs.field(init=False, default=0)
    quanta_per_unit: int = attrs.field(init=False)
    table_q: TierTable = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        per_unit = 1 / self.quote_quantum
        if per_unit != per_unit.to_integral_value():
            raise ValueError(f"{self.symbol}: quote_quantum must divide 1, got {self.quote_quantum}")
        if self.kind == "inverse":
            self._init_inverse()
        else:
            if self.contract_size is not None or self.settle_currency is not None:
                raise ValueError(f"{self.symbol}: contract_size and settle_currency are for "
                                 f"kind = 'inverse' only")
            ratio = self.tick_size * self.lot_size / self.quote_quantum
            if ratio != ratio.to_integral_value():
                raise ValueError(f"{self.symbol}: tick_size x lot_size ({self.tick_size} x "
                                 f"{self.lot_size}) is not a whole number of quote_quantum "
                                 f"({self.quote_quantum})")
            object.__setattr__(self, "tick_lot_quanta", int(ratio))
        object.__setattr__(self, "quanta_per_unit", int(per_unit))
        object.__setattr__(self, "table_q", self.tiers.with_quantum(int(per_unit)))

    def _init_inverse(self) -> None:
        if self.contract_size is None or not self.settle_currency:
            raise ValueError(f"{self.symbol}: an inverse instrument needs contract_size (quote "
                             f"units per contract) and settle_currency (the base coin)")
        if self.waterfall not in INVERSE_WATERFALLS:
            raise ValueError(f"{self.symbol}: waterfall {self.waterfall!r} is not supported for "
                             f"an inverse instrument; expected one of {list(INVERSE_WATERFALLS)}")
        k = self.lot_size * self.contract_size / (self.tick_size * self.quote_quantum)
        if k != k.to_integral_value():
            raise ValueError(f"{self.symbol}: lot_size x contract_size / (tick_size x "
                             f"quote_quantum) is not a whole number ({k})")
        object.__setattr__(self, "tick_lot_quanta", None)
        object.__setattr__(self, "inverse_k", int(k))

    @property
    def inverse(self) -> bool:
        return self.kind == "inverse"

    @property
    def margin_currency(self) -> str:
        """The currency of every money amount (wallets, PnL, fees, tiers, the fund)."""
        return self.settle_currency if self.kind == "inverse" else self.quote_currency

    def value_q(self, price: int, qty: int, up: bool = False) -> int:
        """Value of ``|qty|`` lots at ``price`` ticks in margin quantums.  Linear: exact,
        ``price x |qty| x tick_lot_quanta``.  Inverse: ``|qty| x inverse_k / price`` rounded
        down, or up with ``up`` (a requirement: against the trader).  O(1)."""
        if self.inverse_k:
            n = abs(qty) * self.inverse_k
            return -((-n) // price) if up else n // price
        return price * abs(qty) * self.tick_lot_quanta

    def lot_value_q(self, price: int) -> int:
        """One lot's value at ``price`` in margin quantums, for sizing orders and deposits
        from a budget (participants): exact for a linear contract; for an inverse one
        rounded down, at least 1 (an approximation of less than one quantum a lot)."""
        if self.inverse_k:
            return max(1, self.inverse_k // price)
        return price * self.tick_lot_quanta

    def quote_per_unit(self, price: int) -> Fraction:
        """Margin quantums per quote-currency unit at ``price`` ticks (exact): the quantum
        count for a linear contract; ``quanta_per_unit / (price x tick_size)`` for an inverse
        one (a quote amount converted at that price)."""
        if self.inverse_k:
            return Fraction(self.quanta_per_unit) / (price * Fraction(self.tick_size))
        return Fraction(self.quanta_per_unit)

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
        """|qty| lots at ``price`` ticks, in margin quantums (exact for a linear contract;
        an inverse one's rounded up, as a requirement: ``value_q``)."""
        if self.inverse_k:
            return -((-abs(qty) * self.inverse_k) // price)
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


def bitmex_xbtusd(**overrides) -> Instrument:
    """BitMEX XBTUSD, inverse: 1 USD a contract, tick 0.5 USD, margin in XBT to the satoshi
    (1e-8), risk limits of March 2020 (``tier_tables.BITMEX_XBTUSD_2020_03``).  Waterfall
    ``tiered``: the lowest risk limit's position is taken over and offered at its
    bankruptcy price, a higher one is first reduced by a FillOrKill order (reference section
    4).  Fees -0.025% maker (a rebate) / 0.075% taker (BitMEX's 2020 XBTUSD schedule, not
    in the reference: assumed).  No separate clearance fee (assumed: BitMEX keeps the
    position's remaining maintenance margin instead -- the takeover at the bankruptcy
    price does that here), so ``clearance_fee_ppm`` = 0."""
    params = dict(symbol="XBTUSD", tick_size="0.5", lot_size="1", tiers=BITMEX_XBTUSD_2020_03,
                  kind="inverse", contract_size="1", settle_currency="XBT",
                  quote_currency="USD", quote_quantum="0.00000001", maker_fee_ppm=-250,
                  taker_fee_ppm=750, clearance_fee_ppm=0, waterfall="tiered")
    params.update(overrides)
    return Instrument(**params)


def binance_btcusd_perp(**overrides) -> Instrument:
    """Binance COIN-M BTCUSD_PERP, inverse: 100 USD a contract, tick 0.1 USD, margin in
    BTC (quantum 1e-8), brackets ``tier_tables.BINANCE_BTCUSD_PERP_ASSUMED`` (first one
    from reference section 7 example 5, the rest assumed).  Fees 0.01%/0.05% (COIN-M VIP 0,
    assumed) and the USD-M clearance fee 1.25% (assumed the same)."""
    params = dict(symbol="BTCUSD_PERP", tick_size="0.1", lot_size="1",
                  tiers=BINANCE_BTCUSD_PERP_ASSUMED, kind="inverse", contract_size="100",
                  settle_currency="BTC", quote_currency="USD", quote_quantum="0.00000001",
                  maker_fee_ppm=100, taker_fee_ppm=500)
    params.update(overrides)
    return Instrument(**params)


BUNDLED_INSTRUMENTS = {
    "binance:BTCUSDT": binance_btcusdt,
    "binance:ETHUSDT": binance_ethusdt,
    "binance:ATOMUSDT": binance_atomusdt,
    "hyperliquid:BTC": hyperliquid_btc,
    "bitmex:XBTUSD": bitmex_xbtusd,
    "binance:BTCUSD_PERP": binance_btcusd_perp,
}


def waterfall_of(instrument: str | None, waterfall: str | None = None) -> str | None:
    """The liquidation waterfall a venue runs: its ``[venue] waterfall`` when set, else that
    of the bundled instrument ``instrument``; None when neither is known (a recorded run
    saves no instrument).  O(1) (one preset built)."""
    if waterfall:
        return waterfall
    make = BUNDLED_INSTRUMENTS.get(instrument)
    return make().waterfall if make is not None else None
