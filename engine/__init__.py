"""liqsim's engine: the exchange around the book (``venue``), what happens to deficient
positions (``liquidation``), circuit breakers (``breakers``), the market (``market``),
scenario files (``scenarios``), outputs (``outputs``) and the loop (``simulation``).  This
face re-exports the public names: ``run``, the ``Exchange``, the event log and the margin
calculator.

The decimal-facing margin calculator for risk engineers is re-exported here::

    >>> from engine import liquidation_price, TierTable
    >>> from engine.venue.tier_tables import BINANCE_BTCUSDT_2025_08_19 as T
    >>> liquidation_price("1000", "long", "0.1", "100000", T)
    Decimal('90361.445783132530120482')
"""
from .calculator import (Tier, TierTable, bankruptcy_price, liquidation_price, maintenance_amounts,
                         maintenance_margin, maintenance_margin_q, margin_balance)
from .liquidation.waterfalls import run_liquidations
from .runner import compare, run
from .venue.accounts import BACKSTOP_ID, INSURANCE_ID
from .venue.collateral import CollateralAsset
from .venue.events import EVENT_DTYPE, EventKind, EventLog
from .venue.exchange import Exchange
from .venue.instruments import BUNDLED_INSTRUMENTS, Instrument

__all__ = [
    "BACKSTOP_ID", "BUNDLED_INSTRUMENTS", "CollateralAsset", "EVENT_DTYPE", "EventKind",
    "EventLog", "Exchange", "INSURANCE_ID", "Instrument", "Tier", "TierTable",
    "bankruptcy_price", "compare", "liquidation_price", "maintenance_amounts", "maintenance_margin",
    "maintenance_margin_q", "margin_balance", "run", "run_liquidations",
]
