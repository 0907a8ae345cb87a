"""The liquidation index: which units (isolated positions, cross accounts) are deficient at
the current mark, found without looking at every account.

Isolated positions and cross accounts whose only exposure is one instrument (their
collateral, if any, counted at its current value: the Exchange re-keys an asset's holders
when its price changes) have an exact *trigger tick*: the largest mark at which a long is
deficient, the smallest at which a short is.  They sit in sorted lists per instrument, so a
mark update finds the deficient ones in O(log n + k).  Other cross accounts ("complex") are
re-evaluated at every check of an instrument they hold.  Accounts whose state changed since
the last check (``dirty``: the Exchange's ledger adds to it) are re-keyed lazily, at the
next check.

Margin (docs/reference/liquidation-mechanics.md section 1.4; Binance "Liquidation", futures
FAQ): a unit is deficient when its margin balance is below its maintenance margin at
the mark: balance + unrealised PnL < MM, MM the tiered ``notional x mmr - cum`` rounded up.
"""
from __future__ import annotations

import heapq
from bisect import bisect_right

import numpy as np
from sortedcontainers import SortedList

from .accounts import RESERVED_FROM

_INF = 1 << 62
_BULK_REINDEX = 1024     # dirty accounts from which the index is refreshed as one batch
_SAFE = 1 << 62          # ``triggers``' int64 intermediates stay below this (checked first)
_FIXUP_STEPS = 64        # ``triggers``' fix-up steps done together; a unit needing more: alone


class LiquidationIndex:
    """The trigger-tick index of one Exchange (``ex``), per instrument.

    State: ``longs``/``shorts`` (sorted ``(trigger, account)`` per instrument), ``keys``
    (``(account, inst)`` -> its entry), ``complex`` (per instrument, the accounts checked in
    full), ``listing`` (per instrument, the last ``liquidatable`` answer and its mark) and
    ``dirty`` (accounts to re-key).  Invariant after ``refresh``: every account's entries are
    what ``_entries`` computes from its current state."""

    __slots__ = ("ex", "longs", "shorts", "keys", "complex", "listing", "dirty")

    def __init__(self, ex):
        n = len(ex.instruments)
        self.ex = ex
        self.longs = [SortedList() for _ in range(n)]
        self.shorts = [SortedList() for _ in range(n)]
        self.keys: dict[tuple[int, int], tuple] = {}     # (account, inst) -> index entry
        self.complex: list[set[int]] = [set() for _ in range(n)]
        self.listing: dict[int, tuple] = {}   # inst -> (mark, units): see liquidatable
        self.dirty: set[int] = set()

    def trigger(self, balance: int, size: int, cost: int, inst: int) -> int:
        """Trigger tick of a single position backed by ``balance`` quantums.

        Long: the largest mark m >= 0 with balance + (size m - cost) t < MM(m) (-1 if none).
        Short: the smallest such m (always exists).  Binance's one-way formula, reference
        section 1.5, solved in integers per tier, iterated until the notional lies in the
        tier used, then fixed up against the exact check (MM rounding).  O(tiers).
        """
        ins = self.ex.instruments[inst]
        if ins.inverse_k:
            return inverse_trigger(balance, size, cost, ins.inverse_k, ins.table_q)
        t = ins.tick_lot_quanta
        table = ins.table_q
        # The table's integer lines read in place (index_of_q, coefficients_q and
        # maintenance_margin_q inlined: every seeded account is keyed once; docs/performance.md).
        floors, coef, den = table._floors_q, table._coef_q, table._den_q
        nt = abs(size) * t          # notional per tick of mark
        st = size * t
        short_of = cost * t - balance   # deficient at m  <=>  st x m - short_of < MM(nt x m)

        def deficient(m: int) -> bool:      # m >= 0 wherever it is called
            notional = nt * m
            mmr_num, cum_num = coef[bisect_right(floors, notional) - 1]
            return st * m - short_of < -((cum_num - notional * mmr_num) // den)

        tier = bisect_right(floors, nt * max(self.ex.marks[inst] or 0, 0)) - 1
        m = 0
        for _ in range(len(floors) + 1):
            mmr_num, cum_num = coef[tier]
            num = den * short_of - cum_num
            dnm = den * st - nt * mmr_num
            if size > 0:
                m = -((-num) // dnm) - 1 if dnm > 0 else (_INF if num > 0 else -1)
            else:
                m = num // dnm + 1
            m = max(m, -1)
            if m < 0 or m >= _INF:
                break
            new_tier = bisect_right(floors, nt * m) - 1
            if new_tier == tier:
                break
            tier = new_tier
        if size > 0:
            if m >= _INF:
                return m
            while m >= 0 and not deficient(m):
                m -= 1
            while deficient(m + 1):
                m += 1
            return m
        m = max(m, 0)
        while m > 0 and deficient(m - 1):
            m -= 1
        while not deficient(m):
            m += 1
        return m

    def triggers(self, inst: int, units: list[tuple[int, int, int]]) -> list[int]:
        """``trigger`` of many ``(balance, size, cost)`` units of ``inst``: the same ints.

        A linear instrument's units go through ``trigger``'s steps together in int64 numpy
        -- the tier iteration, then the fix-up against the exact deficiency test, each lane
        as ``trigger`` would -- when exact Python-int bounds show every intermediate stays
        below 2**62 for marks up to a bound ``top`` (from the units' largest size, cost and
        balance and the tiers a notional up to ``size x top`` can reach).  A unit whose
        trigger leaves [0, ``top``], or whose fix-up takes more than ``_FIXUP_STEPS`` steps,
        the 0.1% largest (sizes; costs + balances), and an inverse instrument's, are
        computed alone by ``trigger``.  100k seeded units:
        ~0.19 -> ~0.08 s (docs/performance.md).  O(units x tiers)."""
        alone = self.trigger
        ins = self.ex.instruments[inst]
        if ins.inverse_k or len(units) < 64:
            return [alone(b, s, c, inst) for b, s, c in units]
        t, table = ins.tick_lot_quanta, ins.table_q
        floors, coef, den = table._floors_q, table._coef_q, table._den_q
        mark = max(self.ex.marks[inst] or 0, 0)
        # The bounds from all but the largest 0.1% of sizes and of costs + balances (a
        # counterparty holding the population's sum would set them alone); those go alone.
        nts = [abs(s) * t for _, s, _ in units]
        sos = [abs(c) * t + abs(b) for b, _, c in units]
        few = len(units) // 1000 + 1
        nt_max, so_max = heapq.nlargest(few, nts)[-1], heapq.nlargest(few, sos)[-1]
        together = [j for j, (a, b) in enumerate(zip(nts, sos)) if a <= nt_max and b <= so_max]
        # The largest mark ``top`` handled together, with the k lowest tiers (all that a
        # notional up to nt_max x top can reach), the most tiers first.
        for k in range(len(floors), 0, -1):
            mmr_max = max(c[0] for c in coef[:k])
            cum_max = max(abs(c[1]) for c in coef[:k])
            top = (_SAFE - 1 - cum_max - so_max) // (nt_max * (mmr_max + 1) + 1)
            if k < len(floors):
                top = min(top, (floors[k] - 1) // nt_max)
            if (top > mark and den * so_max + cum_max < _SAFE
                    and den * nt_max + nt_max * mmr_max < _SAFE):
                break
        else:
            return [alone(b, s, c, inst) for b, s, c in units]
        bal, size, cost = (np.array(col, dtype=np.int64)
                           for col in zip(*(units[j] for j in together)))
        lines_f = np.array([min(f, _SAFE) for f in floors[:k]], dtype=np.int64)
        lines_m = np.array([c[0] for c in coef[:k]], dtype=np.int64)
        lines_c = np.array([c[1] for c in coef[:k]], dtype=np.int64)
        nt, st, short_of = np.abs(size) * t, size * t, cost * t - bal
        long = size > 0
        alone_mask = np.zeros(len(together), dtype=bool)

        def deficient(m):       # 0 <= m <= top on the lanes that count
            notional = nt * m
            tier = np.searchsorted(lines_f, notional, side="right") - 1
            return st * m - short_of < -((lines_c[tier] - notional * lines_m[tier]) // den)

        tier = np.searchsorted(lines_f, nt * mark, side="right") - 1
        m = np.zeros(len(together), dtype=np.int64)
        active = np.ones(len(together), dtype=bool)
        for _ in range(len(floors) + 1):
            if not active.any():
                break
            num = den * short_of - lines_c[tier]
            dnm = den * st - nt * lines_m[tier]
            safe = np.where(dnm == 0, 1, dnm)
            m_long = np.where(dnm > 0, -((-num) // safe) - 1, np.where(num > 0, _INF, -1))
            m_new = np.maximum(np.where(long, m_long, num // safe + 1), -1)
            m = np.where(active, m_new, m)
            done = active & ((m < 0) | (m >= _INF))
            far = active & ~done & (m > top)
            alone_mask |= far
            active &= ~(done | far)
            new_tier = np.searchsorted(lines_f, nt * np.where(active, m, 0), side="right") - 1
            active &= new_tier != tier
            tier = np.where(active, new_tier, tier)
        # The fix-up, as ``trigger``: a long steps down to a deficient mark, then up while
        # the next is deficient; a short from max(m, 0) down while the one below is
        # deficient, then up to a deficient one.  A lane whose next test would fall beyond
        # ``top``, or still moving after ``_FIXUP_STEPS`` steps, goes alone.
        alone_mask |= (m > top) & ~(long & (m >= _INF))
        lanes = ~alone_mask & (m < _INF)
        m = np.where(long, m, np.maximum(m, 0))
        for side, step, probe, wanted in ((long, -1, 0, False), (long, 1, 1, True),
                                          (~long, -1, -1, True), (~long, 1, 0, False)):
            lane = lanes & side
            if step < 0:        # a long at -1, a short at 0: nothing below to test
                lane &= m >= (0 if probe == 0 else 1)
            for _ in range(_FIXUP_STEPS + 1):
                at = m + probe
                beyond = lane & (at > top)
                alone_mask |= beyond
                lane &= ~beyond
                move = lane & (deficient(np.where(lane, at, 0)) == wanted)
                if not move.any():
                    break
                m = np.where(move, m + step, m)
                lane = move & (m >= (0 if probe == 0 else 1)) if step < 0 else move
            else:
                alone_mask |= lane
            lanes &= ~alone_mask
        out = [None] * len(units)
        for j, tick, lone in zip(together, m.tolist(), alone_mask.tolist()):
            out[j] = alone(*units[j], inst) if lone else tick
        return [alone(*units[j], inst) if tick is None else tick for j, tick in enumerate(out)]

    def reindex(self, account_id: int) -> None:
        """Re-key one account's entries in the liquidation index.  O(positions log n)."""
        self.listing.clear()
        self._unindex(account_id)
        for inst, entry in self._entries(account_id):
            (self.longs if entry[0] > 0 else self.shorts)[inst].add(entry[1])
            self.keys[(account_id, inst)] = entry

    def _unindex(self, account_id: int) -> None:
        """Drop every index entry of ``account_id`` (sorted lists, keys, complex sets)."""
        keys = self.keys
        for key in [k for k in keys if k[0] == account_id] if account_id not in self.ex.accounts \
                else [(account_id, i) for i in range(len(self.ex.instruments))]:
            entry = keys.pop(key, None)
            if entry is not None:
                (self.longs if entry[0] > 0 else self.shorts)[key[1]].remove(entry[1])
            self.complex[key[1]].discard(account_id)

    def _entries(self, account_id: int, trigger=None) -> list[tuple[int, tuple]]:
        """The index entries ``(inst, (sign, key))`` an account should have -- ``key`` is
        ``(-trigger, account)`` for a long, ``(trigger, account)`` for a short; puts complex
        cross accounts into ``complex`` on the way.  ``trigger``: what computes a unit's
        trigger tick (``self.trigger``; ``refresh`` defers them to ``triggers``)."""
        acct = self.ex.accounts.get(account_id)
        if acct is None or account_id >= RESERVED_FROM:
            return []
        trigger = trigger or self.trigger
        out = []
        cross = [i for i, p in acct.positions.items() if p.size and not p.isolated]
        simple_cross = len(cross) == 1
        for i, pos in acct.positions.items():
            if not pos.size:
                continue
            if pos.isolated:
                balance = pos.margin
            elif simple_cross:
                balance = acct.wallet + (self.ex.collateral_value(acct) if acct.collateral
                                         else 0)
            else:
                self.complex[i].add(account_id)
                continue
            trig = trigger(balance, pos.size, pos.cost, i)
            if trig < 0:        # no positive mark can liquidate it (a long; an inverse short)
                continue
            # Keyed so that ascending order is deepest first: a long by its trigger
            # descending (-trig), a short by its trigger ascending; ties by account id.
            if pos.size > 0:
                out.append((i, (1, (-trig, account_id))))
            else:
                out.append((i, (-1, (trig, account_id))))
        return out

    def refresh(self) -> None:
        """Re-key every account changed since the last check (every check does this
        itself; call it to pay for a large batch up front).  Many at once (seeding a
        population) go in as one batch per sorted list: ``SortedList.update`` sorts a
        large batch once instead of inserting it one key at a time (100k seeded traders:
        ~0.3 s less).  The index ends the same either way."""
        if not self.dirty:
            return
        self.listing.clear()
        dirty = sorted(self.dirty)
        self.dirty.clear()
        if len(dirty) < _BULK_REINDEX:
            for account_id in dirty:
                self.reindex(account_id)
            return
        keys = self.keys
        # Nothing indexed yet (a venue's first batch: its seeded population): no account
        # has entries to drop, and the 100k calls of ``_unindex`` that would find none are
        # skipped (~0.05 s, docs/performance.md).
        unindex = self._unindex if keys or any(self.complex) else None
        entries_of = self._entries
        # The units' trigger ticks are computed together per instrument (``triggers``):
        # ``_entries`` records each unit's inputs and keys it by its number meanwhile.
        pending: dict[int, list] = {}

        def record(balance: int, size: int, cost: int, inst: int) -> int:
            units = pending.setdefault(inst, [])
            units.append((balance, size, cost))
            return len(units) - 1

        planned = []
        for account_id in dirty:
            if unindex is not None:
                unindex(account_id)
            planned += entries_of(account_id, record)
        ticks = {inst: self.triggers(inst, units) for inst, units in pending.items()}
        batch: dict[tuple[int, int], list] = {}
        for inst, (sign, (k, account_id)) in planned:
            trig = ticks[inst][-k if sign > 0 else k]
            if trig < 0:        # as in ``_entries``: no positive mark liquidates it
                continue
            entry = (1, (-trig, account_id)) if sign > 0 else (-1, (trig, account_id))
            batch.setdefault((sign, inst), []).append(entry[1])
            keys[(account_id, inst)] = entry
        for (sign, inst), items in batch.items():
            (self.longs if sign > 0 else self.shorts)[inst].update(items)

    def liquidatable(self, inst: int) -> list[tuple[int, int]]:
        """(account, inst) units that are deficient at the current mark of ``inst``.

        Order (assumed; the venues do not publish one): the deepest trigger first -- longs
        by highest trigger tick, shorts by lowest -- then complex accounts; ties by account
        id.  O(log n + k) when one side is deficient (the lists are kept in listing order),
        O(log n + k log k) when both are, plus the complex accounts holding ``inst``.  The listing is
        kept until the mark or an account changes (a risk step lists twice: top-ups, then
        liquidations; a halt with liq-pause lists the same queue every step), unless
        complex accounts hold ``inst`` (their deficits depend on other prices too).
        """
        self.refresh()
        mark = self.ex.marks[inst]
        if mark is None:
            return []
        complex_ = self.complex[inst]
        cached = self.listing.get(inst)
        if cached is not None and cached[0] == mark and not complex_:
            return list(cached[1])
        # Both lists are kept deepest first (see ``_entries``): a deficient long has
        # -trig <= -mark, a short trig <= mark, and each list's order is already the
        # listing's, so one side needs no sort; with both sides deficient (a two-way move)
        # they are merged by depth (a long is ``trig - mark`` deep, a short ``mark - trig``),
        # ties by account id (an account is long or short, never both).
        longs = self.longs[inst].irange(None, (-mark, _INF))
        shorts = self.shorts[inst].irange(None, (mark, _INF))
        first_long, first_short = next(longs, None), next(shorts, None)
        if first_short is None:
            units = [] if first_long is None else [(first_long[1], inst)]
            units += [(acct, inst) for _, acct in longs]
        elif first_long is None:
            units = [(first_short[1], inst)]
            units += [(acct, inst) for _, acct in shorts]
        else:
            out = [(mark + key, acct) for key, acct in (first_long, *longs)]
            out += [(key - mark, acct) for key, acct in (first_short, *shorts)]
            out.sort()
            units = [(acct, inst) for _, acct in out]
        if not complex_:
            self.listing[inst] = (mark, units)
            return list(units)
        for acct_id in sorted(complex_):
            if self.ex.cross_deficit(self.ex.accounts[acct_id]) > 0:
                units.append((acct_id, inst))
        return units


def inverse_trigger(balance: int, size: int, cost: int, k: int, table) -> int:
    """Trigger tick of a single inverse position (``engine.venue.accounts``: ``cost`` in
    quantums, value ``|size| x k / m``) backed by ``balance``: a long's largest deficient
    mark, a short's smallest; -1 if no positive mark is deficient (a long whose balance
    covers any fall to 1 tick, a short with 1x margin or more: its loss in coin is bounded).

    Deficient at ``m`` (``Exchange.inverse_terms``): exact MM > exact margin balance, i.e.
    with the tier's ``(mmr_num, cum_num, den)`` and ``n = |size|``,
    ``k (n mmr_num + den size) > m (den (balance - cost) + cum_num)`` -- monotone in ``m``
    (a long is deficient below its trigger, a short above), so the trigger is found by a
    doubling search and bisection on the exact test.  O(log(trigger) x log tiers)."""
    n = abs(size)

    def deficient(m: int) -> bool:
        mmr_num, cum_num, den = table.coefficients_q(table.index_of_q(-((-n * k) // m)))
        return k * (n * mmr_num + den * size) > m * (den * (balance - cost) + cum_num)

    if size > 0:
        return _last_true(deficient) if deficient(1) else -1
    if deficient(1):
        return 1
    last = _last_true(lambda m: not deficient(m))
    return -1 if last >= _INF else last + 1


def _last_true(pred) -> int:
    """The largest ``m >= 1`` with ``pred(m)``, for a ``pred`` true at 1 and then false from
    some ``m`` on (``_INF`` if still true there): doubling, then bisection.  O(log m)."""
    lo, hi = 1, 2                       # pred(lo); hi not yet known
    while pred(hi):
        lo, hi = hi, hi * 2
        if hi >= _INF:
            return _INF
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            lo = mid
        else:
            hi = mid
    return lo
