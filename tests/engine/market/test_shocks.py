"""Macro shocks (``[[shocks]]``): the index gaps at a second and keeps the gap; an optional
one-off market order hits the book at that instant; bad shocks are rejected by name."""
from __future__ import annotations

import pathlib

from fractions import Fraction

import pytest

from engine.config import ConfigError
from engine.phases import SECOND
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.accounts import FLOW_ACCOUNT
from engine.venue.events import EventKind

#: The controlled gap (tests/data/gap-drop.toml): the toy these tests were written on.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")

SMALL = Fraction(1, 50)
NO_NOISE = ["index.noise_bps=0"]


def _sim(shocks: str, extra=(), seed=2) -> Simulation:
    return Simulation(load(GAP_DROP, [*NO_NOISE, f"shocks={shocks}", *extra], SMALL),
                      seed=seed)


def test_a_shock_gaps_the_index_at_its_second_and_the_gap_stays():
    plain = Simulation(load(GAP_DROP, NO_NOISE, SMALL), seed=2)
    shocked = _sim("[{at_s=30, index_pct=-5}, {at_s=90, index_pct=2}]")
    for s in (0, 29, 30, 31, 89, 90, 150):
        ts = s * SECOND
        factor = (1 if s < 30 else Fraction(95, 100)) * (1 if s < 90 else Fraction(102, 100))
        assert shocked.index.scripted(ts) == round(plain.index._path_at(ts) * factor), s
    assert shocked.index.scripted(30 * SECOND - 1) == plain.index.scripted(30 * SECOND - 1)


def test_a_shock_moves_the_index_at_its_instant_even_between_steps():
    sim = _sim("[{at_s=30, index_pct=-5}]", ["scenario.step_ms=700"])
    sim.end_ns = 30 * SECOND            # 30 s is not on a 700 ms step
    sim.run()
    gapped = sim.index.scripted(30 * SECOND)
    assert gapped < sim.index.scripted(30 * SECOND - 1)
    assert sim.index_ticks == gapped


def test_a_shock_order_hits_the_book_at_its_instant_with_its_notional():
    sim = _sim('[{at_s=30, index_pct=-3, notional="400000", kind="sell", limit_pct=2}]').run()
    at = 30 * SECOND
    index = sim.index.scripted(at)
    qty = int(sim.scenario.shocks[0].notional * sim.instrument.quanta_per_unit) \
        // (index * sim.instrument.tick_lot_quanta)
    mine = [r for r in sim.log.rows() if r[0] == at and r[5] == FLOW_ACCOUNT
            and r[2] in (EventKind.TRADE, EventKind.ORDER_EXPIRED)]
    traded = sum(r[10] for r in mine if r[2] == EventKind.TRADE)
    expired = sum(r[10] for r in mine if r[2] == EventKind.ORDER_EXPIRED)
    assert traded > 0 and traded + expired == qty
    assert all(r[3] == -1 for r in mine)
    limit = -((-index * 98) // 100)                    # ceil(index x 0.98): below the index
    assert min(r[9] for r in mine if r[2] == EventKind.TRADE) >= limit
    assert all(r[9] == limit for r in mine if r[2] == EventKind.ORDER_EXPIRED)
    sim.exchange.check_conservation()


def test_scale_shrinks_a_shock_order_with_the_flows():
    full = load(GAP_DROP, ['shocks=[{at_s=30, notional="1000000"}]'])
    tenth = load(GAP_DROP, ['shocks=[{at_s=30, notional="1000000"}]'], Fraction(1, 10))
    assert tenth.shocks[0].notional * 10 == full.shocks[0].notional


@pytest.mark.parametrize("shocks,match", [
    ("[{at_s=240}]", r"shocks\[0\].at_s: expected < duration_s"),
    ("[{at_s=30, index_pct=-100}]", r"shocks\[0\].index_pct: expected a percentage > -100"),
    ("[{at_s=30}, {at_s=30, index_pct=-1}]", r"shocks\[1\].at_s: expected one shock per second"),
    ("[{index_pct=-5}]", r"shocks\[0\].at_s: missing"),
    ('[{at_s=30, kind="short"}]', r"shocks\[0\].kind: expected one of sell, buy"),
    ('[{at_s=30, notional="-1"}]', r"shocks\[0\].notional: expected a number >= 0"),
    ('"big"', r"shocks: expected an array of tables"),
])
def test_a_bad_shock_is_rejected_naming_it(shocks, match):
    with pytest.raises(ConfigError, match=match):
        load(GAP_DROP, [f"shocks={shocks}"])


def test_a_stub_cannot_sit_at_or_below_zero():
    with pytest.raises(ConfigError, match=r"stubs\[0\].offset_pct: expected a percentage > -100"):
        load(GAP_DROP, ['stubs=[{offset_pct=-100, notional="1000"}]'])
