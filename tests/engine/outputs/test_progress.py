"""The progress bar: shown only on a terminal and without --quiet; it counts what the log
holds and changes nothing in it."""
from __future__ import annotations

import io
import pathlib
from fractions import Fraction

import numpy as np

from engine.outputs.progress import Progress, enabled
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import EventKind

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_shown_only_on_a_terminal_and_not_with_quiet():
    assert enabled(stream=_Terminal())
    assert not enabled(stream=io.StringIO())
    assert not enabled(quiet=True, stream=_Terminal())


def test_the_bar_counts_the_logs_margin_calls_and_leaves_the_log_unchanged():
    sc = load(GAP_DROP, [], Fraction(1, 50))
    plain = Simulation(sc, seed=1).run()
    sim = Simulation(sc, seed=1)
    stream = _Terminal()
    bar = sim.progress = Progress(sc.meta.duration_s, "gap-drop", stream=stream)
    sim.run()
    bar.close()
    assert sim.log.digest() == plain.log.digest()
    rows = sim.log.to_array()[:bar.read // 70]
    assert bar.events == len(rows) > 0
    calls = int(np.count_nonzero(rows["kind"] == int(EventKind.MARGIN_CALL)))
    assert bar.liquidations == calls > 0
    assert f"{calls:,} liquidations" in stream.getvalue()
    assert f"{sc.meta.duration_s}/{sc.meta.duration_s} s simulated" in stream.getvalue()
