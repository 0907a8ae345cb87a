"""Accounts and positions, in integer units.

A ``Position`` keeps its signed size (lots) and its signed *cost* in tick-lots, the sum of
``signed qty x price`` over the fills that opened it, so the entry price is ``cost / size``
exactly and the unrealised PnL at mark ``m`` is ``(size * m - cost) * tick_lot_quanta``
quantums -- an integer, no rounding.

Realised PnL on a reduction of ``q`` lots takes the proportional cost ``cost * q / |size|``
rounded toward +infinity (``realise``): the realised part is never rounded in the trader's
favour, and the rounding only moves value between the realised and the remaining
unrealised part, so nothing is created or destroyed (the conservation check relies on it).

Inverse instruments (``Instrument.kind == "inverse"``) keep ``cost`` in margin quantums (the
base coin's, e.g. satoshis) instead: ``cost = -sum(fill values)`` signed by side, where a
fill of ``q`` lots at ``p`` ticks is worth ``V = floor(q x inverse_k / p)`` quantums -- one
integer per fill, rounded down (assumed: BitMEX books each execution's cost in whole
satoshis; the direction is not published), the same for both legs, so each fill moves
exactly ``V`` between them.  The unrealised PnL at mark ``m`` is
``-size x inverse_k / m - cost`` (a long gains as ``1/m`` falls: ``q x C x (1/entry - 1/m)``
in coin, C the lot's face value), rounded down, against the holder (``unrealised_inverse``).
``apply_value`` realises like ``apply``: the proportional cost rounded toward +infinity, and
a fill that crosses zero splits its value between the closing and the opening part
(the closing share rounded down, the rest to the opening part) so the leg still moves
exactly its ``V``.
"""
from __future__ import annotations

from fractions import Fraction

import attrs

# The account-id table: every id the engine itself assigns, in one place.
#  1 .. 99             the venue's own participants (the Simulation opens them); of them
#  40 .. 99            arbitrageurs (``arbitrage.count`` is bounded at 60)
#  100 .. 999          market makers (``makers.count`` is bounded so ids stay below 1000)
#  1000 ..             the leveraged population drawn at the start
#  FIRST_ASSET_ACCOUNT .. the makers and programs of collateral assets' own books
#  FIRST_ARRIVAL ..     traders who arrive during the run (engine.market.arrivals)
#  RESERVED_FROM ..    accounts of the venue itself: the insurance fund, the backstop vault
BASIS_ACCOUNT = 2      # the well-capitalised holder of the population's net opposite side
FLOW_ACCOUNT = 3       # sell/buy programs and shocks' one-off orders
STUB_ACCOUNT = 4       # stale deep resting orders
BACKGROUND_ACCOUNT = 5  # background two-sided takers
DIP_ACCOUNT = 6        # dip buyers' resting bids
RECORDED_BOOK = 7      # recorded L2 levels as resting orders (engine.market.recorded)
RECORDED_TAKER = 8     # recorded trades as exogenous taker flow
RECORDED_LIQUIDATED = 9  # recorded liquidations as liquidation orders
FIRST_BASIS = 10       # basis traders 10..39 (engine.market.basis)
FIRST_ARBITRAGEUR = 40
FIRST_MAKER = 100
FIRST_TRADER = 1000
FIRST_ASSET_ACCOUNT = 90_000_000  # per collateral asset k: its book's maker 90M + 2k, its
#                                   programs 90M + 2k + 1 (engine.market.collateral)
FIRST_ARRIVAL = 100_000_000   # above the largest population (traders.count <= 10M)
RESERVED_FROM = 0xFFFF_FF00   # ids from here on are the venue's; open_account refuses them
INSURANCE_ID = 0xFFFF_FFF0
BACKSTOP_ID = 0xFFFF_FFF1


@attrs.define(slots=True)
class Position:
    """One-way position in one instrument.

    ``margin`` is the isolated margin in quantums (0 and unused for cross positions).
    """

    size: int = 0
    cost: int = 0
    isolated: bool = False
    margin: int = 0

    def entry_price(self):
        """Exact entry price in ticks (a Fraction), or None when flat."""
        return Fraction(self.cost, self.size) if self.size else None

    def unrealised(self, mark: int, tlq: int) -> int:
        return (self.size * mark - self.cost) * tlq

    def unrealised_inverse(self, mark: int, k: int) -> int:
        """Inverse: ``floor(-size x k / mark) - cost`` quantums (module docstring)."""
        return (-self.size * k) // mark - self.cost

    def apply_value(self, dq: int, value: int) -> int:
        """Inverse: apply a fill of signed ``dq`` lots worth ``value`` quantums (>= 0, the
        fill's ``V``); return the realised PnL in quantums.  With ``w = -V`` for a buy and
        ``+V`` for a sell (module docstring), ``realised - (change in cost)`` is exactly
        ``-w``, so the two legs of a fill (``w`` and ``-w``) conserve money.  O(1)."""
        w = -value if dq > 0 else value
        size = self.size
        if size == 0 or (size > 0) == (dq > 0):
            self.size = size + dq
            self.cost += w
            return 0
        closing = -dq if abs(dq) <= abs(size) else size  # signed, same sign as size
        rest = dq + closing
        # The closing part's share of w (floor), the rest to the opening part: exact sum.
        wc = w if not rest else (w * -closing) // dq
        removed = -((-self.cost * closing) // size)      # ceil, as in ``apply``
        self.size = size - closing + rest
        self.cost += w - wc - removed
        return -wc - removed

    def apply(self, dq: int, price: int) -> int:
        """Apply a fill of signed ``dq`` lots at ``price``; return realised PnL in tick-lots.

        Increasing (or opening) adds ``dq * price`` to the cost; reducing realises
        ``-dq * price - removed_cost``; crossing through zero does both.  O(1).
        """
        size = self.size
        if size == 0 or (size > 0) == (dq > 0):
            self.size = size + dq
            self.cost += dq * price
            return 0
        closing = -dq if abs(dq) <= abs(size) else size  # signed, same sign as size
        # Proportional cost of the closed part, rounded toward +inf: ceil(cost*closing/size).
        removed = -((-self.cost * closing) // size)
        realised = closing * price - removed
        self.size = size - closing
        self.cost -= removed
        rest = dq + closing  # signed remainder that opens the other way
        if rest:
            self.size += rest
            self.cost += rest * price
        return realised


@attrs.define(slots=True, eq=False)
class Account:
    """A trading account: cross wallet, positions by instrument index, collateral, orders.

    ``wallet`` is the cross wallet balance in quote quantums.  ``collateral`` maps an asset
    name to an amount in that asset's units (``engine.venue.collateral``).  ``open_orders`` are
    the exchange order ids resting for this account.
    """

    id: int
    wallet: int = 0
    positions: dict = attrs.field(factory=dict)
    collateral: dict = attrs.field(factory=dict)
    open_orders: set = attrs.field(factory=set)
    kind: str = "trader"

    def position(self, inst: int) -> Position:
        pos = self.positions.get(inst)
        if pos is None:
            pos = self.positions[inst] = Position()
        return pos
