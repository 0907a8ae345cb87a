"""The ADL overshoot: profit taken from deleveraged winners beyond what the shortfall needed.

Definition (Chitra, Thogiti, Trujillo Ramirez, Xu, "Autodeleveraging as Online Learning",
arXiv 2602.15182, Feb 2026, sections 3.3-3.7; its replay of 10 Oct 2025 is Tektonic's
HyperReplay): an ADL *round* closes bankrupt positions against winners; the winners'
positive-PnL haircut in the round is ``H_t`` (a queue that closes a winner's lots takes the
positive PnL on them), the shortfall it had to cover is ``B_t^needed = sum_k |p_exec_k -
p_bk_k| x |q_k|`` over the round's transfers, and the round's *overshoot* is ``[H_t -
B_t^needed]_+`` (its *undershoot* ``[B_t^needed - H_t]_+``).  The paper puts Hyperliquid's
production queue at $45.0M-$51.7M of overshoot on 10 Oct 2025 and its best policy near $3M
(reference: docs/reference/liquidation-mechanics.md section 9 for the event's figures).

Mapping onto the engine (each close is an ``engine.liquidation.state.AdlClose`` the ADL walk
records, not an event-log row: the ``AutoDeleveraged`` row carries neither the mark nor the
winner's entry):

- a round (an *episode*) is the closes of one bankrupt unit at one instant -- one
  ``engine.liquidation.adl.deleverage`` call; **assumed**: the paper's replay groups
  contiguous fills, which here are the closes one shortfall drew;
- ``H`` = the sum over its closes of the winner's unrealised PnL at the mark on the lots
  closed, positive part (a winner closed at a loss gives up no profit);
- ``B^needed`` = the sum over its closes of max(0, side x (transfer price - mark)) x lots x
  tick-lot value: the ADL'd lots found no book, so the mark stands for the paper's
  execution price (**assumed**), and with the transfer at the bankruptcy price this is the
  bankrupt unit's negative equity the closes absorbed;
- overshoot = the sum over episodes of ``[H - B]_+``.

Integers (quote quantums) throughout; complexity O(closes).
"""
from __future__ import annotations

import numpy as np

from ..venue.events import EventKind

_ADL = int(EventKind.AUTO_DELEVERAGED)
_FIRST_LIQ = (int(EventKind.LIQUIDATION_FILLED), int(EventKind.INSURANCE_TAKEOVER),
              int(EventKind.BACKSTOP_TAKEOVER), _ADL)


def episodes(closes, inst: int | None = None) -> list[tuple[int, int]]:
    """``(H, B)`` per episode, in order: the positive-PnL haircut and the shortfall needed,
    quantums.  An episode is a run of consecutive closes with the same (ts, inst, bankrupt
    account); ``inst`` keeps one instrument's.  O(closes)."""
    out: list[tuple[int, int]] = []
    key = None
    for c in closes:
        if inst is not None and c.inst != inst:
            continue
        k = (c.ts, c.inst, c.account)
        if k != key:
            out.append((0, 0))
            key = k
        h, b = out[-1]
        out[-1] = (h + max(0, c.gain), b + c.needed)
    return out


def totals(closes, inst: int | None = None) -> dict[str, int]:
    """Over the episodes (``episodes``): their count and the sums of ``H`` (``haircut``),
    ``B`` (``shortfall``), ``[H - B]_+`` (``overshoot``) and ``[B - H]_+``
    (``undershoot``), quantums.  O(closes)."""
    eps = episodes(closes, inst)
    return {"episodes": len(eps), "haircut": sum(h for h, _ in eps),
            "shortfall": sum(b for _, b in eps),
            "overshoot": sum(max(0, h - b) for h, b in eps),
            "undershoot": sum(max(0, b - h) for h, b in eps)}


def first_adl_delay_s(events: np.ndarray, since_ns: int = 0) -> float | None:
    """Seconds (3 dp) from the first row at or after ``since_ns`` closing liquidated lots (a
    liquidation fill, a takeover or an ADL close) to the first ADL close after it; None
    without one.  ``since_ns`` is the event start: the public replay times its first ADL
    from the window's first liquidation (61 s, liquidation-mechanics.md section 9), not from
    the liquidations of a quiet hour before.  ``events`` are one instrument's rows in (ts,
    seq) order.  O(rows)."""
    ts, kind = events["ts"], events["kind"]
    liq = np.flatnonzero(np.isin(kind, _FIRST_LIQ) & (ts >= since_ns))
    if not liq.size:
        return None
    adl = np.flatnonzero(kind[liq[0]:] == _ADL)
    if not adl.size:
        return None
    return round(int(ts[liq[0] + adl[0]] - ts[liq[0]]) / 1e9, 3)
