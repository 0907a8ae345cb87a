"""The liquidation engine's own state between rounds, per Exchange: which units are deferred,
Hyperliquid's cooldowns, dYdX's per-block counters and the ranked ADL queue.

One ``LiquidationState`` hangs on ``Exchange.liquidation_state`` (the venue keeps it and
never reads it); ``of(ex)`` makes it on first use.  Each part is a small slotted class with
the invariant it keeps.
"""
from __future__ import annotations

from typing import NamedTuple


class DydxBlock:
    """dYdX's per-block counters (docs/reference/liquidation-mechanics.md section 6): the block
    number, liquidation attempts so far in it and the notional liquidated per account.  Reset
    when a new block starts (``roll``)."""

    __slots__ = ("block", "attempts", "notional")

    def __init__(self) -> None:
        self.block: int | None = None
        self.attempts = 0
        self.notional: dict[int, int] = {}      # account -> quantums liquidated this block

    def roll(self, block: int) -> None:
        if self.block != block:
            self.block, self.attempts, self.notional = block, 0, {}


class AdlQueue:
    """The ranked opposite side for ADL, cached for one (instrument, side, second):
    ``ranked`` account ids in deleveraging order and ``cursor``, the first not yet used up.
    Ranking again (``clear``) is what a refresh of the venues' indicator lights does."""

    __slots__ = ("key", "ranked", "cursor")

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.ranked: list[int] = []
        self.cursor = 0

    def clear(self) -> None:
        self.key, self.ranked, self.cursor = None, [], 0


class AdlClose(NamedTuple):
    """One ADL counterparty close (``engine.liquidation.adl``), all integers: ``ts`` ns;
    ``inst``; ``account`` the bankrupt unit's account and ``other`` the deleveraged winner;
    ``qty`` lots; ``side`` +1 when the bankrupt position was long; ``price`` the transfer
    (bankruptcy) price and ``mark`` the mark at that instant, ticks; ``gain`` the winner's
    unrealised PnL at the mark on the ``qty`` lots closed, quantums (signed, rounded toward
    minus infinity); ``needed`` the bankrupt unit's shortfall those lots carried,
    max(0, side x (price - mark)) x qty, quantums."""
    ts: int
    inst: int
    account: int
    other: int
    qty: int
    side: int
    price: int
    mark: int
    gain: int
    needed: int


class AdlCounterfactual:
    """Every ranking's take on each ADL episode of a run (``[venue] adl_counterfactual``):
    ``episodes`` (ts, inst, bankrupt account, shortfall, {ranking: haircut}) in quantums,
    and ``rng``, the Generator dYdX's counterfactual start is drawn from (its own stream, so
    the run's draws do not move)."""

    __slots__ = ("rng", "episodes")

    def __init__(self, rng) -> None:
        self.rng = rng
        self.episodes: list[tuple] = []


class LiquidationState:
    """``tried``: the units whose waterfall ran at instant ``tried_ts``, each with the state
    it left (``unit_state``) -- a unit found in that same state at the same instant is not
    tried again; ``deferred``: units whose ``LiquidationDeferred`` was logged in this
    episode (until next allowed through); ``hl_cooldown``: account -> the end (ns) of its
    Hyperliquid cooldown; ``dydx``: the block counters; ``adl``: the ADL queue;
    ``capacity``: the liquidation engine's rate (``engine.venue.capacity.LiquidationEngine``;
    None = unlimited, the default); ``queued``: unit -> (id of its liquidation order resting in a halt's auction, whether
    the position was isolated, the wallet before the order): the unit is not listed while
    that order rests, and is settled from these once the uncross closed it.
    ``adl_closes``: one ``AdlClose`` tuple per ADL counterparty close, in the order they
    happened (what ``engine.outputs.adl`` measures the overshoot from; the event log's
    ``AutoDeleveraged`` row does not carry the mark or the winner's gain);
    ``negative_equity``: the accounts whose margin balance was seen below 0 by the
    liquidation engine (``note_equity``); ``counterfactual``: None (the default), or the
    ``AdlCounterfactual`` that ``engine.liquidation.adl.counterfactual`` fills;
    ``backstop_limited``: the backstop vault takes accounts over only while its equity is
    above its own maintenance margin (``[venue] backstop_capital_oi_pct``;
    ``settlement.backstop_can_take``; False, the default: always)."""

    __slots__ = ("tried", "tried_ts", "deferred", "hl_cooldown", "dydx", "adl", "capacity",
                 "queued", "adl_closes", "negative_equity", "counterfactual",
                 "backstop_limited")

    def __init__(self) -> None:
        self.tried: dict[tuple[int, int], tuple] = {}
        self.tried_ts: int | None = None
        self.deferred: set[tuple[int, int]] = set()
        self.hl_cooldown: dict[int, int] = {}
        self.dydx = DydxBlock()
        self.adl = AdlQueue()
        self.capacity = None
        self.queued: dict[tuple[int, int], tuple[int, bool, int]] = {}
        self.adl_closes: list[AdlClose] = []
        self.negative_equity: set[int] = set()
        self.counterfactual: AdlCounterfactual | None = None
        self.backstop_limited = False


def unit_state(ex, acct, inst: int) -> tuple:
    """What a liquidation attempt on a unit depends on besides the book: the mark and the
    account's balances and position.  Within one instant the book only loses liquidity
    (liquidation and stop orders take, nothing new rests before the next INPUT phase), so a
    unit in the same state would meet the same or a thinner book and send the same order
    again.  O(positions)."""
    pos = acct.positions[inst]
    return (ex.marks[inst], acct.wallet, pos.size, pos.cost, pos.margin,
            tuple(sorted(acct.collateral.items())) if acct.collateral else ())


def of(ex) -> LiquidationState:
    """The liquidation state of Exchange ``ex`` (made on first use).  O(1)."""
    state = ex.liquidation_state
    if state is None:
        state = ex.liquidation_state = LiquidationState()
    return state


def note_equity(ex, acct, inst: int, balance: int | None = None) -> None:
    """Record ``acct`` in ``negative_equity`` if its margin balance backing ``inst``
    (``balance``, else read now) is below 0.  Called where the liquidation engine reads an
    account: its margin call, a settlement's remainder, a backstop takeover.  O(positions)."""
    if balance is None:
        balance = ex.margin_balance(acct, inst)
    if balance < 0:
        of(ex).negative_equity.add(acct.id)
