"""The result of one run and how it is saved.

``RunResult.save(dir)`` writes, all or nothing (``engine.outputs.atomic.atomic_dir``):

  summary.json        the summary (``engine.outputs.metrics.SUMMARY_KEYS``), sorted keys, indent 2
  timeseries.parquet  the integer time series (``engine.outputs.metrics.build_timeseries``)
  events.parquet      the event log, one column per ``EVENT_DTYPE`` field with its integer
                      type; the schema metadata ``kinds`` maps each kind value to its name
  scenario.toml       the scenario as resolved for the run (TOML has no null: None is dropped)
  liquidation_levels.parquet  the seeded population's liquidation prices at t = 0
                      (``engine.outputs.liqmap``: account, side, trigger ticks, lots), for the
                      report's liquidation map; written when the run recorded them
  timeline.png        the run second by second (``engine.outputs.charts.run_chart``): prices with
                      halts and vacuums, depth within 1% / baseline, liquidations filled and
                      unfilled, insurance fund and ADL (``save(dir, chart=False)`` skips it)

Determinism: equal data give byte-identical files.  Parquet is written with fixed options
(``_PARQUET_OPTIONS``); its footer holds ``created_by = parquet-cpp-arrow version X`` and the
Arrow schema, but no timestamp, path or host, so the bytes depend only on the data and the
pyarrow version.
"""
from __future__ import annotations

import json
import math
import pathlib
from decimal import Decimal
from fractions import Fraction

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

from ..venue.events import EVENT_DTYPE, EventKind
from .atomic import atomic_dir, write_json
from .charts import run_chart
from .columns import EVENT_COLUMNS
from .frames import events_frame, summary_frame, timeseries_frame
from .metrics import timeseries_meta

KINDS_META_KEY = b"kinds"
COLUMNS_META_KEY = b"columns"       # {column: [unit, meaning]} (engine.outputs.columns)
COLUMNS_JSON = json.dumps({name: [unit, meaning] for name, unit, meaning in EVENT_COLUMNS},
                          sort_keys=True)
KINDS_JSON = json.dumps({str(int(k)): k.name for k in EventKind}, sort_keys=True)

LEVELS_FILE = "liquidation_levels.parquet"

_PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, version="2.6",
                        data_page_version="1.0", use_dictionary=False, write_statistics=True,
                        store_schema=True)


def events_table(array: np.ndarray) -> pa.Table:
    """The event log (``EVENT_DTYPE`` numpy array) as a ``pyarrow.Table`` of the same types.

    A structured array interleaves its fields, and Arrow needs each column contiguous, so each
    field is copied once (``np.ascontiguousarray``) and handed to Arrow without a further copy;
    no Python objects are made.  O(rows x fields).  Schema metadata ``kinds``: JSON
    ``{"<kind value>": "<EventKind name>"}``.
    """
    if not isinstance(array, np.ndarray) or array.dtype != EVENT_DTYPE:
        raise ValueError("array: expected a numpy array of engine.venue.events.EVENT_DTYPE")
    arrays = [pa.array(np.ascontiguousarray(array[name])) for name in EVENT_DTYPE.names]
    schema = pa.schema([pa.field(name, a.type) for name, a in zip(EVENT_DTYPE.names, arrays)],
                       metadata={KINDS_META_KEY: KINDS_JSON, COLUMNS_META_KEY: COLUMNS_JSON})
    return pa.Table.from_arrays(arrays, schema=schema)


def events_array(table: pa.Table) -> np.ndarray:
    """Inverse of ``events_table``: the ``EVENT_DTYPE`` numpy array of a table."""
    out = np.zeros(table.num_rows, dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names:
        out[name] = table.column(name).to_numpy()
    return out


def kind_names(table: pa.Table) -> dict[int, str]:
    """The ``kinds`` dictionary stored in an events table's schema metadata."""
    md = table.schema.metadata or {}
    return {int(k): v for k, v in json.loads(md.get(KINDS_META_KEY, KINDS_JSON)).items()}


def write_parquet(table: pa.Table, path: pathlib.Path) -> None:
    """Write ``table`` to ``path`` with the fixed, deterministic options."""
    pq.write_table(table, str(path), **_PARQUET_OPTIONS)


def _toml_ready(obj, where: str = "scenario"):
    """A copy TOML can hold: None dropped from tables, Fraction/Decimal/Path as str, tuples as
    lists, numpy scalars as Python numbers.  Raises ``ValueError`` naming the field otherwise."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: TOML keys must be str, got {k!r}")
            if v is not None:
                out[k] = _toml_ready(v, f"{where}.{k}")
        return out
    if isinstance(obj, (list, tuple)):
        if any(v is None for v in obj):
            raise ValueError(f"{where}: TOML arrays cannot hold None")
        return [_toml_ready(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Fraction, Decimal, pathlib.PurePath)):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where}: {obj!r} is not a finite number")
    if isinstance(obj, (str, int, float, bool)):
        return obj
    raise ValueError(f"{where}: cannot write {type(obj).__name__} to TOML")


def write_toml(data: dict, path: pathlib.Path) -> None:
    path.write_text(tomli_w.dumps(_toml_ready(data)))


def _is_events(instance, attribute, value) -> None:
    if isinstance(value, pa.Table):
        return
    if not isinstance(value, np.ndarray) or value.dtype != EVENT_DTYPE:
        raise TypeError("events: expected a pyarrow Table or a numpy EVENT_DTYPE array, got "
                        f"{type(value).__name__}")


@attrs.frozen(eq=False)
class RunResult:
    """Everything one run produced.

    ``summary``: ``engine.outputs.metrics.summarize``'s dict; ``timeseries``: the integer time series;
    ``events``: the event log as a pyarrow table -- given as a numpy ``EVENT_DTYPE`` array, it
    is converted (``events_table``) on first access and cached, so a run whose caller reads
    only the summary never pays for the columnar copy (~1 s for a 7M-event log);
    ``scenario_resolved``: the scenario as run, defaults filled in; ``levels``: the seeded
    population's liquidation prices (``engine.outputs.liqmap``), None where not recorded.
    """

    summary: dict = attrs.field(validator=attrs.validators.instance_of(dict))
    timeseries: pa.Table = attrs.field(validator=attrs.validators.instance_of(pa.Table))
    _events: object = attrs.field(alias="events", validator=_is_events)
    scenario_resolved: dict = attrs.field(validator=attrs.validators.instance_of(dict))
    #: further text files written into the run directory by ``save`` (name -> text)
    extras: dict = attrs.field(factory=dict)
    levels: pa.Table | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(pa.Table)))
    _cache: dict = attrs.field(factory=dict, init=False, repr=False)

    @property
    def events(self) -> pa.Table:
        table = self._cache.get("events")
        if table is None:
            raw = self._events
            table = self._cache["events"] = raw if isinstance(raw, pa.Table) else \
                events_table(raw)
        return table

    @property
    def events_array(self) -> np.ndarray:
        """The event log as a numpy ``EVENT_DTYPE`` array (no copy when run made it)."""
        raw = self._events
        return raw if isinstance(raw, np.ndarray) else events_array(raw)

    def to_pandas(self, which: str | None = None, units: str = "real"):
        """``which = "timeseries"``, ``"events"`` or ``"summary"``: that table as a pandas
        DataFrame, in real units by default (quote currency, base units, seconds, NaN where
        there is none; ``units="raw"`` keeps the stored integers; ``engine.outputs.frames``).  Without
        ``which``, ``{"timeseries": ..., "events": ...}``; ``"summary"``: the summary table
        (``frames.summary_frame``).  Needs pandas, an optional extra
        (``pip install 'liqsim[notebook]'``): ImportError without it."""
        if which is None:
            return {name: self.to_pandas(name, units) for name in ("timeseries", "events")}
        if which == "timeseries":
            return timeseries_frame(self.timeseries, units)
        if which == "events":
            return events_frame(self.events_array, timeseries_meta(self.timeseries), units)
        if which == "summary":
            return summary_frame([self.summary])
        raise ValueError(f"which: expected 'timeseries', 'events' or 'summary', got {which!r}")

    def plot(self, panels: list[str] | None = None):
        """The report's panels of this run as one matplotlib ``Figure`` (inline in Jupyter):
        prices, depth, the depth heatmap, liquidations, fund, open interest and funding, the
        venue queue where modelled, the liquidation map (``engine.outputs.panels``; ``panels``
        picks ids, e.g. ``["price", "liqmap"]``)."""
        from .panels import figure
        return figure(self, panels)

    def account(self, account_id: int):
        """One account's story from the event log (``engine.outputs.account.story``): prints
        as text; ``.events`` holds its rows."""
        from .account import story
        return story(self, account_id)

    def title(self) -> str:
        """One line naming the run: scenario, breaker, seed, scale."""
        s = self.summary
        toy = " (TOY)" if s.get("toy") else ""
        return (f"{s['scenario']}{toy}  breaker {s['breaker']}  seed {s['seed']}  "
                f"scale {s.get('scale', 1)}")

    def save(self, directory, chart: bool = True) -> pathlib.Path:
        """Write summary.json, timeseries.parquet, events.parquet, scenario.toml,
        liquidation_levels.parquet (where recorded) and timeline.png (unless ``chart`` is
        False) into ``directory``, all or nothing:
        on any failure no new file appears there.  Returns the directory.  Equal results give
        byte-identical files (module docstring)."""
        # Validate before writing: NaN/inf are not JSON; bad scenario values are not TOML.
        json.dumps(self.summary, allow_nan=False, sort_keys=True)
        _toml_ready(self.scenario_resolved)
        target = pathlib.Path(directory)
        with atomic_dir(target) as stage:
            write_json(stage / "summary.json", self.summary)
            write_parquet(self.timeseries, stage / "timeseries.parquet")
            write_parquet(self.events, stage / "events.parquet")
            write_toml(self.scenario_resolved, stage / "scenario.toml")
            if self.levels is not None:
                write_parquet(self.levels, stage / LEVELS_FILE)
            if chart:
                run_chart(self.timeseries, self.title(), stage / "timeline.png")
            for name, text in self.extras.items():
                (stage / name).write_text(text)
        return target

