"""The bundled flash-drop toy keeps a shape a market-structure researcher recognises (issue
"A market that behaves like one").  The stylized facts its calibration reproduces, and its
long share, are its ``[expect]`` table, checked by tests/test_bundled_events.py (1/5 scale, two
seeds; at 1/10 the venue's wick is too noisy: fact 4 passes on one seed of two) -- ADL a
tail is fact 6's second part.  Here: a breaker changes liquidity, not only prices."""
from __future__ import annotations

import engine
from engine.scenarios.scenario import load

SCALE = load("flash-drop").expect.scale


def test_a_breaker_changes_liquidity_not_only_prices():
    none = engine.run("flash-drop", seed=0, scale=SCALE).summary
    luld = engine.run("flash-drop", seed=0, scale=SCALE, breaker="luld").summary
    assert (none["vacuum_seconds"], none["min_depth_1pct_ratio"]) != \
        (luld["vacuum_seconds"], luld["min_depth_1pct_ratio"])
