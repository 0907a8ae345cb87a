"""Margin calculator for risk engineers: maintenance margin, liquidation price and bankruptcy
price of a linear (USDⓈ-M style) position, in Decimal, computed exactly.

Calling convention
------------------
- Numbers are ``str``, ``Decimal`` or ``int`` (``Fraction`` also works). A ``float`` raises
  ``TypeError`` naming the argument: a binary float is not the decimal the user meant, and
  ``Decimal(str(x))`` would only hide that. NaN / infinity raise ``ValueError``.
- ``side`` is ``+1`` / ``-1`` or ``"long"`` / ``"short"`` (any case); ``size`` is the absolute
  position size in base units (> 0); prices are quote per base unit (> 0); money is quote units.
- ``tiers`` is a ``TierTable`` or any sequence of ``Tier`` (validated into a table on each call,
  O(tiers)); pass a table to skip that.
- The arithmetic is exact (``Fraction``). The result becomes a ``Decimal`` once, at return: exact
  when it has at most ``RESULT_PLACES`` (18) decimal places, otherwise rounded at the 18th place
  in the direction each function states. Only tiers with non-decimal rates (e.g. 1/6) or a
  division by a price can produce a non-terminating result.
- The ``*_exact`` functions take ``Fraction``/``int`` arguments, ``side`` as ±1 and a
  ``TierTable``, skip validation and return ``Fraction`` (or ``None``); they are for the engine and
  for property tests.

Two venue variants sit at the end because the reference's worked examples need them: Bybit's
isolated USDT formula (maintenance margin taken at the entry price) and the bankruptcy and
liquidation prices of an inverse (coin-margined) contract (money in the coin, the position's
face value ``V`` in quote: contracts x contract size).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from .venue.tiers import (
    Tier,
    TierTable,
    as_table,
    maintenance_amounts,
    maintenance_margin_exact,
    maintenance_margin_q,
    to_exact,
)

__all__ = [
    "RESULT_PLACES",
    "Tier",
    "TierTable",
    "bankruptcy_price",
    "bankruptcy_price_exact",
    "bybit_isolated_liquidation_price",
    "inverse_bankruptcy_price",
    "inverse_liquidation_price",
    "inverse_liquidation_price_exact",
    "liquidation_price",
    "liquidation_price_exact",
    "maintenance_amounts",
    "maintenance_margin",
    "maintenance_margin_q",
    "margin_balance",
    "parse_side",
]

#: Decimal places kept when an exact result does not terminate sooner.
RESULT_PLACES = 18

Tiers = TierTable | Iterable[Tier]


def parse_side(side: object) -> int:
    """``+1`` for a long, ``-1`` for a short, from ±1 or ``"long"``/``"short"`` (any case)."""
    if isinstance(side, str):
        key = side.strip().lower()
        if key == "long":
            return 1
        if key == "short":
            return -1
    elif isinstance(side, int) and not isinstance(side, bool) and side in (1, -1):
        return int(side)
    raise ValueError(f"side: {side!r} is not +1, -1, 'long' or 'short'")


def _to_decimal(x: Fraction, up: bool) -> Decimal:
    """``x`` as a Decimal: exact if it has <= RESULT_PLACES places, else rounded up (ceiling) or
    down (floor) at the last place. Built from a string, so no context precision applies."""
    places = RESULT_PLACES
    q, r = divmod(x.numerator * 10**places, x.denominator)
    if r and up:
        q += 1
    while places and q % 10 == 0:
        q //= 10
        places -= 1
    return Decimal(f"{q}e-{places}") if places else Decimal(q)


def _positive(value: object, name: str) -> Fraction:
    x = to_exact(value, name)
    if x <= 0:
        raise ValueError(f"{name}: {value} must be positive")
    return x


def _non_negative(value: object, name: str) -> Fraction:
    x = to_exact(value, name)
    if x < 0:
        raise ValueError(f"{name}: {value} is negative")
    return x


# -- maintenance margin -----------------------------------------------------------------------


def maintenance_margin(notional: object, tiers: Tiers) -> Decimal:
    """Maintenance margin of a position notional (quote units).

    ``MM = notional × mmr − cum`` with the mmr and maintenance amount (cum) of the tier holding the
    notional; source: reference §1.3, Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M
    Futures Contracts" (b3c689c1…, undated in the reference), tiers effective 2025-08-19; the
    same rule for Hyperliquid (§5, GitBook ``trading/margin-tiers``, 2026 docs).
    Rounding: exact, or **up** at the 18th place (a requirement, against the trader).
    Complexity: O(log tiers) for a ``TierTable``.
    """
    n = _non_negative(notional, "notional")
    return _to_decimal(maintenance_margin_exact(n, as_table(tiers)), up=True)


def margin_balance(
    wallet_balance: object,
    side: object,
    size: object,
    entry_price: object,
    mark_price: object,
    other_unrealized_pnl: object = 0,
) -> Decimal:
    """Margin balance at ``mark_price``: ``WB + UPNL_others + side × size × (mark − entry)``.

    Source: reference §1.4 (Binance liquidation protocols FAQ 360033525271: collateral = initial
    collateral + realised + unrealised PnL, unrealised PnL on the mark price). Exact for decimal
    inputs; otherwise rounded **down** at the 18th place (against the trader). Complexity O(1).
    """
    s = parse_side(side)
    wb = to_exact(wallet_balance, "wallet_balance")
    q = _positive(size, "size")
    ep = _positive(entry_price, "entry_price")
    mark = _positive(mark_price, "mark_price")
    upnl = to_exact(other_unrealized_pnl, "other_unrealized_pnl")
    return _to_decimal(wb + upnl + s * q * (mark - ep), up=False)


# -- liquidation and bankruptcy price ---------------------------------------------------------


def liquidation_price_exact(
    wallet_balance: Fraction | int,
    side: int,
    size: Fraction | int,
    entry_price: Fraction | int,
    table: TierTable,
    other_maintenance_margin: Fraction | int = 0,
    other_unrealized_pnl: Fraction | int = 0,
) -> Fraction | None:
    """Exact Binance one-way-mode liquidation price, or ``None`` if it would be <= 0.

    Solves margin balance = maintenance margin for the price P (reference §1.5)::

        P = (WB − TMM + UPNL + cum_k − side × size × EP) / (size × mmr_k − side × size)

    for the tier k that holds the notional ``size × P``. Binance says to recompute with another
    tier until they agree; here the tier is found by binary search, which lands on the same tier:
    margin balance − MM is strictly monotone in P (slope size × (1 − mmr) for a long,
    −size × (1 + mmr) for a short, mmr < 1) and MM is continuous across tiers, so if tier k's
    candidate notional falls below floor_k the solution lies in a lower tier, and if it reaches
    cap_k, in a higher one. Exactly one consistent tier exists (two, with the same price, on a
    boundary). ``None`` when the solution is <= 0: a long that cannot be liquidated, or a short
    (cross) that is liquidatable at any positive price; Binance displays both as "--".
    No rounding. Complexity: O(log tiers) Fraction operations.
    """
    base = (
        wallet_balance - other_maintenance_margin + other_unrealized_pnl - side * size * entry_price
    )
    tiers = table.tiers
    cums = table.cums
    last = len(tiers) - 1
    lo, hi = 0, last
    while lo <= hi:
        k = (lo + hi) // 2
        tier = tiers[k]
        price = (base + cums[k]) / (size * tier.mmr - side * size)
        notional = size * price
        if notional < tier.floor:
            hi = k - 1
        elif k < last and notional >= tier.cap:
            lo = k + 1
        else:
            return price if price > 0 else None
    # Only reachable by falling below tier 0, i.e. a solution at a negative price.
    return None


def liquidation_price(
    wallet_balance: object,
    side: object,
    size: object,
    entry_price: object,
    tiers: Tiers,
    other_maintenance_margin: object = 0,
    other_unrealized_pnl: object = 0,
) -> Decimal | None:
    """Liquidation price of a one-way-mode linear position (Binance USDⓈ-M formula).

    ``LP = (WB − TMM + UPNL + cum − side × size × EP) / (size × mmr − side × size)``, i.e. margin
    balance = maintenance margin solved for the mark price, with the tier taken at the notional
    ``size × LP`` (Binance: recompute until the tier agrees). WB is the cross wallet balance, TMM
    and UPNL the maintenance margin and unrealised PnL of all other positions; isolated = WB is
    the isolated wallet and both others are 0 (the defaults). Hyperliquid's formula
    (§5, ``trading/liquidations``) is the same equation solved another way and gives the same price.
    Source: reference §1.5 (reconstructed there and checked against Binance's examples), Binance
    FAQ b3c689c1… (undated in the reference).

    Returns ``None`` where no positive liquidation price exists (e.g. an overcollateralised long).
    Rounding: exact, or at the 18th place **up for a long, down for a short** (against the
    trader: an adverse move touches the returned price no later than the exact one).
    Complexity: O(log tiers) (plus O(tiers) to validate a plain sequence of tiers).
    """
    s = parse_side(side)
    price = liquidation_price_exact(
        to_exact(wallet_balance, "wallet_balance"),
        s,
        _positive(size, "size"),
        _positive(entry_price, "entry_price"),
        as_table(tiers),
        _non_negative(other_maintenance_margin, "other_maintenance_margin"),
        to_exact(other_unrealized_pnl, "other_unrealized_pnl"),
    )
    return None if price is None else _to_decimal(price, up=s > 0)


def bankruptcy_price_exact(
    wallet_balance: Fraction | int,
    side: int,
    size: Fraction | int,
    entry_price: Fraction | int,
    other_unrealized_pnl: Fraction | int = 0,
) -> Fraction | None:
    """Exact price at which margin balance is 0: ``EP − side × (WB + UPNL) / size``; ``None`` if
    <= 0. No rounding. Complexity O(1)."""
    price = entry_price - side * Fraction(wallet_balance + other_unrealized_pnl) / size
    return price if price > 0 else None


def bankruptcy_price(
    wallet_balance: object,
    side: object,
    size: object,
    entry_price: object,
    other_unrealized_pnl: object = 0,
) -> Decimal | None:
    """Bankruptcy price of a linear position: the mark price at which margin balance is exactly 0.

    ``BP = EP − side × (WB + UPNL_others) / size``; isolated: long ``EP − WB/size``, short
    ``EP + WB/size`` (reference §1.5, derived there [D] from Binance's margin balance definition;
    fees and funding already booked are assumed to be in WB). ``None`` when BP <= 0 (a long
    with at least its notional as margin cannot go bankrupt).
    Rounding: exact, or at the 18th place **up for a long, down for a short**, the direction
    Bybit states for its bankruptcy price (§2): the margin balance at the returned price is never
    negative, so rounding never books bad debt. Complexity O(1).
    """
    s = parse_side(side)
    price = bankruptcy_price_exact(
        to_exact(wallet_balance, "wallet_balance"),
        s,
        _positive(size, "size"),
        _positive(entry_price, "entry_price"),
        to_exact(other_unrealized_pnl, "other_unrealized_pnl"),
    )
    return None if price is None else _to_decimal(price, up=s > 0)


# -- venue variants ---------------------------------------------------------------------------


def bybit_isolated_liquidation_price(
    side: object,
    size: object,
    entry_price: object,
    leverage: object,
    tiers: Tiers,
    extra_margin: object = 0,
) -> Decimal | None:
    """Bybit USDT-contract isolated liquidation price, maintenance margin taken **at entry**.

    ``LP = EP − side × (IM − MM) / size − side × extra_margin / size`` with
    ``IM = size × EP / leverage`` and ``MM = size × EP × mmr − deduction`` (tier of the entry
    notional). Source: reference §2, Bybit help "Liquidation Price (USDT Contract)" (undated in
    the reference). Unlike Binance's formula the MM does not move with the price, so the result
    sits slightly closer to entry. Newer UTA pages add an estimated closing fee; not modelled.
    ``None`` if <= 0. Rounding: exact, or up for a long, down for a short (against the trader).
    Complexity O(log tiers).
    """
    s = parse_side(side)
    q = _positive(size, "size")
    ep = _positive(entry_price, "entry_price")
    lev = to_exact(leverage, "leverage")
    if lev < 1:
        raise ValueError(f"leverage: {leverage} is below 1")
    extra = _non_negative(extra_margin, "extra_margin")
    value = q * ep
    mm = maintenance_margin_exact(value, as_table(tiers))
    price = ep - s * (value / lev - mm) / q - s * extra / q
    return _to_decimal(price, up=s > 0) if price > 0 else None


def inverse_bankruptcy_price(
    wallet_balance: object,
    side: object,
    contracts_value: object,
    entry_price: object,
) -> Decimal | None:
    """Bankruptcy price of an inverse (coin-margined) position.

    Margin balance in coin is ``WB + side × V × (1/EP − 1/P)`` with ``V`` the position's face value
    in quote (contracts × contract size); setting it to 0 gives ``P = 1 / (1/EP + side × WB / V)``.
    With ``WB = V / (EP × leverage)`` this is Bybit's ``EP × lev / (lev + 1)`` for a long (reference
    §2, Bybit "How to calculate Liquidation Price (Inverse)"; §7 example 11), and
    ``EP × lev / (lev − 1)`` for a short. ``None`` when no positive price zeroes the balance (a
    short with at least 1x margin). Rounding: exact, or up for a long, down for a short (Bybit's
    direction, §2). Complexity O(1).
    """
    s = parse_side(side)
    wb = to_exact(wallet_balance, "wallet_balance")
    v = _positive(contracts_value, "contracts_value")
    ep = _positive(entry_price, "entry_price")
    inverse = 1 / ep + s * wb / v
    if inverse <= 0:
        return None
    return _to_decimal(1 / inverse, up=s > 0)


def inverse_liquidation_price_exact(
    wallet_balance: Fraction | int,
    side: int,
    contracts_value: Fraction | int,
    entry_price: Fraction | int,
    table: TierTable,
    closing_fee_rate: Fraction | int = 0,
    maintenance_at_entry: bool = False,
) -> Fraction | None:
    """Exact liquidation price of an inverse position, or ``None`` if no positive price.

    Margin balance in coin ``WB + side x V x (1/EP - 1/P)`` equals the maintenance margin
    plus an estimated closing fee ``f x V / P`` (Bybit's newer pages add the closing fee,
    reference section 2; pass 0 where a venue does not).  Solved for ``x = 1/P``:

    - MM at the liquidation price (Binance COIN-M, and the engine's trigger: MM of the
      value ``N = V x`` in coin, ``N x mmr_k - cum_k``, tiers in coin)::

          x = (WB + side V / EP + cum_k) / (V (mmr_k + f + side))

      for the tier k holding ``N`` (margin balance - MM - fee is strictly monotone in N:
      slope ``-(side + mmr + f)``, nonzero while ``mmr + f < 1``, and MM is continuous, so
      one tier is consistent; found by a scan, O(tiers)).
    - MM at entry (``maintenance_at_entry``; Bybit inverse, reference section 7 example
      11: ``EP x lev / (lev + 1 - mmr x lev)``)::

          x = (WB + side V / EP + cum_k - mmr_k V / EP) / (V (f + side)),  k the entry tier

    No rounding; ``None`` when ``x <= 0`` (a short with enough margin is never liquidated:
    its loss in coin is bounded).  Complexity O(tiers) Fraction operations.
    """
    v, ep, f = contracts_value, entry_price, closing_fee_rate
    base = wallet_balance + side * v / ep
    tiers, cums = table.tiers, table.cums
    if maintenance_at_entry:
        k = table.index_of(v / ep)
        x = (base + cums[k] - tiers[k].mmr * v / ep) / (v * (f + side))
        return 1 / x if x > 0 else None
    last = len(tiers) - 1
    for k, tier in enumerate(tiers):
        x = (base + cums[k]) / (v * (tier.mmr + f + side))
        if x > 0 and tier.floor <= v * x and (k == last or v * x < tier.cap):
            return 1 / x
    return None
    return 1 / x


def inverse_liquidation_price(
    wallet_balance: object,
    side: object,
    contracts_value: object,
    entry_price: object,
    tiers: Tiers,
    closing_fee_rate: object = 0,
    maintenance_at_entry: bool = False,
) -> Decimal | None:
    """Liquidation price of an inverse (coin-margined) position, isolated: margin balance in
    coin = maintenance margin (+ an estimated closing fee at ``closing_fee_rate`` of the
    value at that price).  ``wallet_balance`` in coin; ``contracts_value`` ``V`` the face
    value in quote (contracts x contract size); ``tiers`` in coin.  Formula and sources:
    ``inverse_liquidation_price_exact`` (reference sections 2, 4 and 7 examples 5 and 11).
    A long's liquidation price lies above its bankruptcy price (``inverse_bankruptcy_price``),
    a short's below.  Rounding: exact, or up for a long, down for a short (against the
    trader).  Complexity O(tiers)."""
    s = parse_side(side)
    wb = to_exact(wallet_balance, "wallet_balance")
    v = _positive(contracts_value, "contracts_value")
    ep = _positive(entry_price, "entry_price")
    f = _non_negative(closing_fee_rate, "closing_fee_rate")
    price = inverse_liquidation_price_exact(wb, s, v, ep, as_table(tiers), f,
                                            bool(maintenance_at_entry))
    return None if price is None else _to_decimal(price, up=s > 0)
