"""The seeded population (``draw_traders``): its vectorised deposits are the loop's."""
from __future__ import annotations

from fractions import Fraction

import attrs
import numpy as np
import pytest

from engine.market import traders
from engine.scenarios.scenario import load
from engine.simulation import Simulation


def _columns(pop: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in pop.items()}


@pytest.mark.parametrize("changes", [
    {},
    {"margin_floor_max": Fraction(3)},                          # per-account floors
    {"margin_floor": Fraction(17, 10), "spare_margin": Fraction(1, 3),
     "stop_loss_share": Fraction(1, 2), "leverage_min": Fraction(1)},
    {"notional_max": Fraction(10**12), "notional_min": Fraction(10**9)},   # beyond int64
])
def test_the_vectorised_deposits_equal_the_one_account_at_a_time_loop(monkeypatch, changes):
    """Same seed, same columns (values and Python int types) whether the deposits come from
    ``_linear_deposits`` or from the loop it stands for; a population whose int64 bounds
    do not hold falls back to the loop by itself."""
    sim = Simulation(load("bench-cascade", [], Fraction(1, 100)), seed=0)
    cfg = attrs.evolve(sim.scenario.traders, count=3_000, **changes)
    ins, start = sim.instrument, sim.index_ticks
    sim.close()
    fast = traders.draw_traders(cfg, ins, start, np.random.default_rng(4))
    called = []
    monkeypatch.setattr(traders, "_linear_deposits", lambda *a: called.append(1))
    slow = traders.draw_traders(cfg, ins, start, np.random.default_rng(4))
    assert called
    a, b = _columns(fast), _columns(slow)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], k
    assert all(type(d) is int for d in a["deposit"]) and len(set(a["deposit"])) > 100
