"""Every bundled scenario with an ``[expect]`` reproduces it: run with no breaker at its
reduced scale on each of its seeds, the facts it lists PASS (scored with its own thresholds)
and its summary bounds hold (engine.scenarios.catalogue).  A catalogue event also cites a
source for every calibrated number: each has a ``[sources]`` table and an ``[expect]``."""
from __future__ import annotations

import pytest

import engine
from engine.scenarios.scenario import bundled_names, load

EXPECTING = [n for n in bundled_names() if load(n).expect is not None]
CASES = [(n, seed) for n in EXPECTING for seed in load(n).expect.seeds]


def test_every_event_that_is_not_a_toy_carries_sources_and_expectations():
    for name in bundled_names():
        sc = load(name)
        if not sc.meta.toy:
            assert sc.sources, f"{name}: a catalogue event without [sources]"
            assert sc.expect is not None and sc.expect.facts, f"{name}: no [expect] facts"


def test_the_catalogue_lists_events_with_expectations():
    assert EXPECTING, "no bundled scenario has an [expect] table"


@pytest.mark.parametrize("name, seed", CASES, ids=[f"{n}-seed{s}" for n, s in CASES])
def test_a_bundled_event_reproduces_its_expectations_with_no_breaker(name, seed):
    exp = load(name).expect
    s = engine.run(name, breaker="none", seed=seed, scale=exp.scale).summary
    failed = {fid: s["facts"][str(fid)]["figure"] for fid in exp.facts
              if s["facts"][str(fid)]["verdict"] != "PASS"}
    assert not failed, f"{name} seed {seed} at scale {exp.scale}: facts {failed}"
    for key, (lo, hi) in exp.summary.items():
        assert s[key] is not None and lo <= s[key] <= hi, (name, seed, key, s[key], (lo, hi))
