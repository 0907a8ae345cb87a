"""The liquidation levels: one row per indexed unit, in the index's own order."""
from __future__ import annotations

import pathlib
from fractions import Fraction

from engine.outputs.liqmap import liquidation_levels
from engine.scenarios.scenario import load
from engine.simulation import Simulation

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


def test_liquidation_levels_list_the_index_sorted_lists_longs_then_shorts_deepest_first():
    """Read from the index's keys and sorted by numpy, the rows are exactly a walk of the
    index's sorted lists (longs, then shorts; ties by account id), with each unit's size."""
    sim = Simulation(load(GAP_DROP, [], Fraction(1, 20)), seed=2)
    ex = sim.exchange
    walked = [(a, sign, -k if sign > 0 else k, abs(ex.accounts[a].positions[0].size))
              for sign, entries in ((1, ex.index.longs[0]), (-1, ex.index.shorts[0]))
              for k, a in entries]
    levels = liquidation_levels(ex).to_pydict()
    rows = list(zip(levels["account"], levels["side"], levels["trigger"], levels["qty"]))
    assert len({r[1] for r in walked}) == 2 and len({r[2] for r in walked}) < len(walked)
    assert rows == walked
    sim.close()
