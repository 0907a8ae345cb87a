"""Collateral assets in a run (``[collateral]``): each asset's own thin spot book in the same
simulation, its index, its holders, the programs on its book and the venue's sale of the
units it seizes -- the channel by which Binance's own USDe / wBETH / BNSOL books liquidated
accounts whose positions were not losing on 10 Oct 2025 (docs/reference/
liquidation-mechanics.md sections 1.1, 1.9 and 9; breakers-and-events.md section 3 fact 5).

Valuation (``Collateral.valuation``, per asset where several) maps onto the sources of
``engine.venue.collateral``: ``own-book`` -> ``book-last`` (or ``book-mid`` with
``own_book_price = "mid"``) of the asset's book; ``index`` -> ``index`` fed from the asset's
``index_path`` (the market elsewhere); ``redemption`` -> ``fixed`` at ``redemption`` (the
post-event fix: "redemption-based weights ... plus a minimum price floor for USDE").
Own book's last trade by default (assumed: the venue's USDe ~0.65 [S55] is a print).
The sources do not say whether the venue's collateral index read the last trade or the mid.

The asset's book is instrument ``1 + k`` of the Exchange: a position-keeping linear contract
in the asset (quote-margined, no fees, never liquidated: no risk step lists it) standing in
for a spot market.
A sale of units is a short held against them (assumed: no spot ledger; same exposure).
Its participants, each on a deep account (ids from ``FIRST_ASSET_ACCOUNT``):

* the book's maker: a ladder of ``book_levels`` bids and asks around the asset's index
  (level j at ``book_half_spread_bps + j x book_spacing_bps``), ``book_depth`` quote units
  per side shared equally, re-placed every ``book_refresh_s`` -- except within
  ``frictions.transfer_freeze``, when it cannot move the asset between venues and leaves
  what rests to be eaten (Ethena's founder: deposit and withdrawal issues "prevented market
  makers from closing the loop", reference section 9 [S]);
* ``[[collateral.flows]]``: programs as ``[[flows]]``, their lots at the asset's index,
  no worse than ``limit_pct`` % from it;
* the venue itself: units seized from liquidated accounts (``settlement.seize_collateral``
  moves them to the insurance fund) are sold into the book each second, IOC, no lower than
  ``seized_limit_pct`` % under the book's last price.
  The venue sells what it seizes (assumed from Binance's multi-assets auto-exchange, 1.9).
  This is the feedback of fact 5: liquidations sell the collateral that priced them.

Holders: one uniform draw per cross trader of the population, in population order, from
``default_rng([seed, COLLATERAL_STREAM])``: asset k if the draw falls in its
``holders_share`` slice (assets in order) and the trader's side is ``holders_side``.  A holder
moves ``collateral_share`` of its margin (deposit + spare cash, quantums, rounded down) into
the asset, at its start price after haircut, units rounded up.
Holders keep their opening margin balance (assumed: they post enough units to match it).

Attribution (``collateral_calls``): at each risk round while some asset is valued below its
index, each holder listed deficient for the first time during such a gap is counted if
re-valuing its collateral at the index would leave it not deficient.  O(listed units).
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import attrs
import numpy as np
from orderbook.enums import IOC, LIMIT, MARKET

from ..phases import SECOND, Phase
from ..venue.accounts import FIRST_ASSET_ACCOUNT
from ..venue.collateral import CollateralAsset
from ..venue.instruments import Instrument
from ..venue.rounding import ceil_f, floor_f, protection_limit
from .index import IndexPath

#: The holders' draws: ``default_rng([seed, COLLATERAL_STREAM])``.
COLLATERAL_STREAM = 17
NANO = 1_000_000_000
SOURCES = {"index": "index", "redemption": "fixed"}


@attrs.frozen
class _Path:
    """What ``IndexPath`` reads of an ``[index]`` table (no random walk)."""

    start: Decimal
    path: tuple
    noise_bps: int = 0


def nquote(price: Fraction | None) -> int:
    """A price in quote units as billionths of a quote unit, rounded down; -1 for none."""
    return -1 if price is None else floor_f(price * NANO)


class _Asset:
    """One asset's run state: its config, book instrument index, accounts and index path."""

    __slots__ = ("cfg", "inst", "instrument", "spec", "maker", "flow", "path", "column")

    def __init__(self, cfg, k: int, valuation: str, own_book_price: str, perp: Instrument,
                 duration_s: int):
        self.cfg = cfg
        self.inst = 1 + k
        self.instrument = Instrument(
            symbol=f"{cfg.name}{perp.quote_currency}", tick_size=cfg.tick, lot_size=cfg.lot,
            tiers=perp.tiers, quote_quantum=perp.quote_quantum, maker_fee_ppm=0,
            taker_fee_ppm=0, clearance_fee_ppm=0, quote_currency=perp.quote_currency)
        source = f"book-{own_book_price}" if valuation == "own-book" else SOURCES[valuation]
        self.spec = CollateralAsset(
            name=cfg.name, source=source, unit=cfg.lot, haircut_ppm=floor_f(cfg.haircut * 10**6),
            book_inst=self.inst, fixed_price=Fraction(cfg.redemption)
            if valuation == "redemption" else None)
        self.maker = FIRST_ASSET_ACCOUNT + 2 * k
        self.flow = FIRST_ASSET_ACCOUNT + 2 * k + 1
        self.path = IndexPath(_Path(cfg.start, cfg.index_path), (), cfg.tick, duration_s, None)
        self.column = f"coll_{cfg.name.lower()}"

    def index_price(self, ts: int) -> Fraction:
        """The asset's index at ``ts``, quote units."""
        return self.path.at(ts) * Fraction(self.cfg.tick)


class CollateralMarket:
    """The ``[collateral]`` of one run (see the module docstring).  Built before the
    Exchange (``instruments``, ``assets`` go into it), bound to the run by ``open``."""

    def __init__(self, cfg, perp: Instrument, frictions, seed: int, duration_s: int):
        self.cfg = cfg
        self.seed = seed
        self.freeze = frictions.transfer_freeze
        self.items = [_Asset(a, k, cfg.valuation_of(a), cfg.own_book_price, perp, duration_s)
                      for k, a in enumerate(cfg.assets)]
        self.by_name = {a.cfg.name: a for a in self.items}
        self.instruments = [a.instrument for a in self.items]
        self.assets = [a.spec for a in self.items]
        self.holders: dict[int, tuple[str, int]] = {}     # account -> (asset, units)
        self.seen: set[int] = set()
        self.calls = 0
        self.port = None
        self.ex = None

    # ------------------------------------------------------------------ set-up
    def open(self, port) -> None:
        """Open the books' accounts (a billion quote units each: never near liquidation),
        set each book's mark and index-valued prices, and schedule the makers' first
        ladders at t = 0."""
        self.port, ex = port, port.exchange
        self.ex = ex
        deep = 10**9 * ex.instruments[0].quanta_per_unit
        for a in self.items:
            ex.open_account(0, a.maker, deposit=deep)
            ex.open_account(0, a.flow, deposit=deep)
            ex.set_mark(0, a.inst, a.path.at(0))
            port.schedule(0, Phase.INPUT, lambda ts, a=a: self._quote(ts, a))
            if a.spec.source.startswith("book-"):
                # Valued at its start until its book prints (assumed: its last trade).
                ex.asset_prices[a.cfg.name] = Fraction(a.cfg.start)
        self.reprice(0)

    def assign(self, rows: list) -> list:
        """The population's seed rows ``(account, deposit, size, entry, isolated margin)``
        with each holder's collateral part taken out of its deposit (the module docstring's
        rule); the holdings are kept for ``deposit_holdings``.  O(rows)."""
        cross = [k for k, r in enumerate(rows) if not r[4]]
        draws = np.random.default_rng([self.seed, COLLATERAL_STREAM]).random(len(cross))
        qpu = self.ex.instruments[0].quanta_per_unit
        out = list(rows)
        for k, u in zip(cross, draws.tolist()):
            acct, deposit, size, entry, iso = rows[k]
            lo = Fraction(0)
            for a in self.items:
                c = a.cfg
                hi = lo + c.holders_share
                if lo <= u < hi:
                    side_ok = c.holders_side == "both" or (size > 0) == (c.holders_side == "long")
                    if side_ok and size:
                        part = floor_f(deposit * c.collateral_share)
                        unit_value = Fraction(c.start) * Fraction(c.lot) * (1 - c.haircut) * qpu
                        units = ceil_f(part / unit_value)
                        if units:
                            self.holders[acct] = (c.name, units)
                            out[k] = (acct, deposit - part, size, entry, iso)
                    break
                lo = hi
        return out

    def deposit_holdings(self) -> None:
        """Credit each holder's units (``Exchange.deposit_collateral``), in account order."""
        for acct in sorted(self.holders):
            name, units = self.holders[acct]
            self.ex.deposit_collateral(0, acct, name, units)

    # ------------------------------------------------------------------- steps
    def _frozen(self, ts: int) -> bool:
        w = self.freeze
        return w is not None and w[0] <= Fraction(ts, SECOND) < w[1]

    def _quote(self, ts: int, a: _Asset) -> None:
        """The book maker's wake: unless frozen, cancel and re-place its ladder around the
        asset's index (bids rounded down, asks up; lots = the level's notional at its price,
        rounded down); then sleep ``book_refresh_s``."""
        c, ex = a.cfg, self.ex
        if not self._frozen(ts) and not ex.down:
            ref = a.path.at(ts)
            tlq = a.instrument.tick_lot_quanta
            per = floor_f(Fraction(c.book_depth) * ex.instruments[0].quanta_per_unit) \
                // c.book_levels
            orders = []
            for j in range(c.book_levels):
                bps = c.book_half_spread_bps + j * c.book_spacing_bps
                for side in (1, -1):
                    price = ref * (10_000 - side * bps)
                    price = price // 10_000 if side > 0 else -(-price // 10_000)
                    if price > 0 and per // (price * tlq) > 0:
                        orders.append((side, price, per // (price * tlq)))

            def place(t, acct=a.maker, inst=a.inst, orders=orders):
                ex.cancel_all(t, acct, inst)
                for side, price, qty in orders:
                    ex.submit(t, acct, inst, side, qty, price=price, order_type=LIMIT)
            self.port.send(ts, place)
        nxt = ts + c.book_refresh_s * SECOND
        if nxt <= self.port.end_ns:
            self.port.schedule(nxt, Phase.INPUT, lambda t, a=a: self._quote(t, a))

    def second(self, ts: int) -> None:
        """One second: the programs on the books, then the venue's sale of seized units."""
        ex, secs = self.ex, Fraction(ts, SECOND)
        for f in self.cfg.flows:
            if f.window[0] <= secs < f.window[1]:
                a = self.by_name[f.asset]
                side = -1 if f.kind == "sell" else 1
                ref = a.path.at(ts)
                qty = floor_f(Fraction(f.notional_per_s) * ex.instruments[0].quanta_per_unit) \
                    // (ref * a.instrument.tick_lot_quanta)
                limit = protection_limit(ref, side, Fraction(f.limit_pct) / 100)
                if qty > 0:
                    self.port.send(ts, lambda t, a=a, s=side, q=qty, p=limit: ex.submit(
                        t, a.flow, a.inst, s, q, price=p, tif=IOC, order_type=MARKET))
        if ex.down:
            return
        fund = ex.fund
        for a in self.items:
            if not a.cfg.sell_seized:
                continue
            pos = fund.positions.get(a.inst)
            unsold = fund.collateral.get(a.cfg.name, 0) + (pos.size if pos is not None else 0)
            if unsold > 0:
                last = ex.books[a.inst].last_price or a.path.at(ts)
                limit = protection_limit(last, -1, Fraction(a.cfg.seized_limit_pct) / 100)
                ex.submit(ts, fund.id, a.inst, -1, unsold, price=limit, tif=IOC,
                          order_type=MARKET)

    def reprice(self, ts: int) -> None:
        """Each book's mark (its last trade, else its mid rounded down) and the assets'
        prices from their sources (``Exchange.refresh_asset_prices``); index-valued assets
        read their index path now."""
        ex = self.ex
        for a in self.items:
            book = ex.books[a.inst]
            p = book.last_price
            if p is None:
                bb, ba = book.best_bid(), book.best_ask()
                p = None if bb is None or ba is None else (bb + ba) // 2
            if p is not None and p != ex.marks[a.inst]:
                ex.set_mark(ts, a.inst, p)
            if a.spec.source == "index":
                price = a.index_price(ts)
                if ex.asset_prices.get(a.cfg.name) != price:
                    ex.set_asset_index(a.cfg.name, price)
        ex.refresh_asset_prices()

    def watch(self, ts: int) -> None:
        """Count collateral-driven margin calls (the module docstring's attribution) before
        a risk round; nothing to do while no asset is valued below its index."""
        ex = self.ex
        gaps = {}
        for a in self.items:
            price, ref = ex.asset_prices.get(a.cfg.name), a.index_price(ts)
            if price is not None and price < ref:
                gaps[a.cfg.name] = (a.spec, price, ref)
        if not gaps:
            return
        qpu = ex.instruments[0].quanta_per_unit
        holders, seen = self.holders, self.seen
        for acct_id, _ in ex.liquidatable(0):
            if acct_id in seen or acct_id not in holders:
                continue
            seen.add(acct_id)
            acct = ex.accounts[acct_id]
            lift = 0
            for name, amount in acct.collateral.items():
                if amount and name in gaps:
                    spec, price, ref = gaps[name]
                    lift += spec.value_q(amount, ref, qpu) - spec.value_q(amount, price, qpu)
            if ex.cross_deficit(acct) - lift <= 0:
                self.calls += 1

    # ---------------------------------------------------------------- sampling
    def columns(self) -> tuple:
        """The time-series columns this adds: ``(name, unit, meaning)``."""
        out = []
        for a in self.items:
            n = a.cfg.name
            out += [(f"{a.column}_book", "nquote", f"{n}'s own book: its last trade, else its "
                                                   f"mid (none: -1)"),
                    (f"{a.column}_price", "nquote", f"{n}'s price as the venue values it "
                                                    f"(its valuation), before haircut"),
                    (f"{a.column}_index", "nquote", f"{n}'s index (the market elsewhere)")]
        out += [("collateral_value", "quantums", "haircut value of the holders' collateral "
                                                 "at the venue's prices"),
                ("collateral_calls", "count", "holders found deficient who would not be at "
                                              "the assets' index prices (cumulative)")]
        return tuple(out)

    def sample(self, ts: int) -> list[int]:
        """The values of ``columns`` at ``ts``.  O(assets + holders)."""
        ex = self.ex
        row = []
        for a in self.items:
            book = ex.books[a.inst]
            p = book.last_price
            if p is None:
                bb, ba = book.best_bid(), book.best_ask()
                p = None if bb is None or ba is None else Fraction(bb + ba, 2)
            tick = Fraction(a.cfg.tick)
            row += [nquote(None if p is None else p * tick),
                    nquote(ex.asset_prices.get(a.cfg.name)), nquote(a.index_price(ts))]
        accounts = ex.accounts
        row += [sum(ex.collateral_value(accounts[h]) for h in self.holders), self.calls]
        return row
