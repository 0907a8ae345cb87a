"""Saved runs read back whole: ``load_run(dir)`` gives the ``RunResult`` that ``save`` wrote
(``liqsim report``, ``liqsim account``).  A module of its own because it validates through
``facts.RunView.load``, and ``facts`` imports ``results``.
"""
from __future__ import annotations

import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

from .facts import RunInputError, RunView
from .results import LEVELS_FILE, RunResult


def load_run(directory) -> RunResult:
    """A run saved by ``RunResult.save``, read back (``liqsim report``, ``liqsim account``):
    the same summary, time series, event log (a pyarrow table, every kind), resolved
    scenario and, where saved, liquidation levels.  A missing or unreadable file raises
    ``engine.outputs.facts.RunInputError`` (one line naming it)."""
    view = RunView.load(directory)                 # validates every file, one-line errors
    d = pathlib.Path(directory)
    levels = None
    if (d / LEVELS_FILE).is_file():
        try:
            levels = pq.read_table(str(d / LEVELS_FILE))
        except (pa.ArrowException, OSError) as exc:
            raise RunInputError(f"{d / LEVELS_FILE}: expected liquidation levels in parquet "
                                f"({str(exc).splitlines()[0]})") from None
    return RunResult(summary=view.summary, timeseries=view.table,
                     events=pq.read_table(str(d / "events.parquet")),
                     scenario_resolved=view.scenario, levels=levels)
