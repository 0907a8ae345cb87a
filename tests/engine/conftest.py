"""Factories and checks shared by the engine's exchange, liquidation and validation tests.

Everything is exposed through one session-scoped fixture, ``eng`` (a namespace), not as
importable names: a ``from conftest import ...`` would pick whichever ``conftest`` module
pytest imported last (``tests/orderbook`` has one too), and a session scope keeps the fixture
usable inside ``@given`` tests and state machines.

Units of the test instrument (``eng.instrument``): tick 1 quote unit, lot 0.001 base, quote
quantum 0.001, so one tick x one lot is exactly one quantum (``tick_lot_quanta == 1``) and a
quote unit is ``Q == 1000`` quantums.  A mark of 100_000 ticks is a price of 100,000; one lot
there is 100 quote units of notional.  ``SMALL_TIERS`` puts four risk tiers inside the
notionals the tests reach (caps 5k, 20k, 100k quote), so tier changes happen in small tests.
"""
from __future__ import annotations

from collections import namedtuple
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from engine.simulation import Simulation
from engine.venue.collateral import CollateralAsset
from engine.venue.events import EVENT_DTYPE, EventKind
from engine.venue.exchange import Exchange
from engine.venue.instruments import Instrument
from engine.venue.tiers import TierTable, maintenance_margin_q

Q = 1000                      # quantums per quote unit of the test instrument
MARK = 100_000                # default starting mark, ticks (= quote units at tick 1)

SMALL_TIERS = TierTable.from_rows(
    [
        ("0", "5000", "0.01", 50),
        ("5000", "20000", "0.02", 25),
        ("20000", "100000", "0.05", 10),
        ("100000", None, "0.1", 5),
    ],
    name="test:small",
)
ONE_TIER = TierTable.from_rows([("0", None, "0.01", 50)], name="test:one-tier")

Row = namedtuple("Row", EVENT_DTYPE.names)


def instrument(waterfall: str = "binance", *, tiers: TierTable = SMALL_TIERS,
               symbol: str | None = None, **overrides) -> Instrument:
    """The test instrument (see module docstring) with ``waterfall`` and any overrides."""
    params = dict(symbol=symbol or f"TEST-{waterfall}", tick_size="1", lot_size="0.001",
                  quote_quantum="0.001", tiers=tiers, waterfall=waterfall)
    params.update(overrides)
    return Instrument(**params)


def exchange(waterfall: str = "binance", *, n_inst: int = 1, fund: int = 10**6 * Q,
             backstop: int = 10**6 * Q, ranking: str = "binance", seed: int | None = None,
             instruments: list[Instrument] | None = None, marks=(MARK,), **kw) -> Exchange:
    """An exchange of ``n_inst`` test instruments of one style, marks set, fund funded.

    ``seed`` gives the exchange a ``numpy`` Generator (needed by the ``dydx`` ADL ranking).
    """
    insts = instruments or [instrument(waterfall, symbol=f"T{i}-{waterfall}")
                            for i in range(n_inst)]
    rng = np.random.default_rng(seed) if seed is not None else None
    ex = Exchange(insts, insurance_fund=fund, backstop=backstop, adl_ranking=ranking, rng=rng,
                  **kw)
    for i in range(len(insts)):
        ex.set_mark(0, i, marks[i] if i < len(marks) else marks[-1])
    return ex


def rows(ex: Exchange, kind: int | None = None, since: int = 0, until: int | None = None,
         **match) -> list[Row]:
    """Event rows (as named tuples) of ``kind`` with ``since <= seq < until``, filtered by
    column values (``account=3``, ``inst=0`` ...)."""
    out = []
    for r in ex.log.rows(kind):
        if r[1] < since or (until is not None and r[1] >= until):
            continue
        row = Row(*r)
        if all(getattr(row, k) == v for k, v in match.items()):
            out.append(row)
    return out


def total(ex: Exchange, kind: int, since: int = 0, until: int | None = None, **match) -> int:
    """Sum of the ``value`` column over the rows ``rows`` selects."""
    return sum(r.value for r in rows(ex, kind, since, until, **match))


def check_books(ex: Exchange) -> None:
    for book in ex.books:
        book._check()


def check_all(ex: Exchange) -> None:
    """Exact conservation and every book's structural invariants."""
    ex.check_conservation()
    check_books(ex)


def traders(ex: Exchange):
    return [a for a in ex.accounts.values() if a.kind == "trader"]


def brute_deficient(ex: Exchange, inst: int) -> set[tuple[int, int]]:
    """(account, inst) for every trader holding ``inst`` whose unit is below maintenance at
    the current mark, computed from scratch (no index)."""
    out = set()
    for acct in traders(ex):
        pos = acct.positions.get(inst)
        if pos is not None and pos.size and ex.deficit(acct, inst) > 0:
            out.add((acct.id, inst))
    return out


def brute_deficit(ex: Exchange, acct, inst: int) -> int:
    """MM - margin balance of the unit holding ``inst``, recomputed from the definitions
    (reference section 1.4) without the exchange's margin helpers."""
    pos = acct.positions[inst]
    if pos.isolated:
        ins = ex.instruments[inst]
        notional = abs(pos.size) * ex.marks[inst] * ins.tick_lot_quanta
        return (maintenance_margin_q(notional, ins.table_q) - pos.margin
                - (pos.size * ex.marks[inst] - pos.cost) * ins.tick_lot_quanta)
    equity = acct.wallet
    for asset, amount in acct.collateral.items():
        price = ex.asset_prices.get(asset)
        if amount and price is not None:
            a = ex.assets[asset]
            v = (Fraction(amount) * Fraction(a.unit) * price * (10**6 - a.haircut_ppm)
                 * ex.instruments[0].quanta_per_unit / 10**6)
            equity += v.numerator // v.denominator
    mm = 0
    for i, p in acct.positions.items():
        if p.size and not p.isolated:
            ins = ex.instruments[i]
            equity += (p.size * ex.marks[i] - p.cost) * ins.tick_lot_quanta
            mm += maintenance_margin_q(abs(p.size) * ex.marks[i] * ins.tick_lot_quanta,
                                       ins.table_q)
    return mm - equity


def post(ex: Exchange, ts: int, account: int, inst: int, side: int, price: int, qty: int):
    """A resting GTC limit order; returns the book's result."""
    return ex.submit(ts, account, inst, side, qty, price=price)


def ladder(ex: Exchange, ts: int, account: int, inst: int, side: int, start: int, step: int,
           levels: int, qty: int) -> None:
    """``levels`` GTC orders of ``qty`` lots from ``start``, ``step`` ticks apart, going away
    from the touch (down for bids, up for asks)."""
    for k in range(levels):
        post(ex, ts, account, inst, side, start - side * k * step, qty)


def events(*rows: dict) -> np.ndarray:
    """A hand-built event log: an ``EVENT_DTYPE`` array from dicts of columns (missing
    columns 0, ``seq`` the row number)."""
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names:
        out[name] = [int(r.get(name, 0)) for r in rows]
    out["seq"] = np.arange(len(rows), dtype=np.uint64)
    return out


class _Kit(SimpleNamespace):
    """The ``eng`` namespace; a short repr keeps hypothesis' falsifying examples readable."""

    def __repr__(self) -> str:
        return "eng"


class CheckedSimulation(Simulation):
    """A ``Simulation`` that checks conservation (==) and the book's invariants after every
    risk step and every second."""

    def _risk_step(self, ts):
        super()._risk_step(ts)
        self.exchange.check_conservation()
        self.exchange.books[0]._check()

    def _second_step(self, ts):
        super()._second_step(ts)
        self.exchange.check_conservation()


@pytest.fixture(scope="session")
def eng():
    """Namespace of the factories and checks above (see module docstring)."""
    return _Kit(
        Q=Q, MARK=MARK, SMALL_TIERS=SMALL_TIERS, ONE_TIER=ONE_TIER, Row=Row,
        EventKind=EventKind, CollateralAsset=CollateralAsset, Decimal=Decimal,
        instrument=instrument, exchange=exchange, rows=rows, total=total,
        check_books=check_books, check_all=check_all, traders=traders,
        brute_deficient=brute_deficient, brute_deficit=brute_deficit, post=post, ladder=ladder,
        events=events, CheckedSimulation=CheckedSimulation,
    )
