"""A run's tables as pandas DataFrames in real units (``RunResult.to_pandas``).

``units="real"`` (default): prices and money in the quote currency as floats, quantities in
base units, time as ``time_s`` (seconds from the start), NaN where there is none -- no -1
sentinels, and in the event log no 0 standing for "this kind does not fill the column"
(``engine.venue.codes.COLUMNS`` says which kind fills which).  ``units="raw"``: the stored
integers.  Units per column: ``engine.outputs.columns``.  Floats are for reading and
plotting: above 2**53 quantums they round.  Scenarios have no wall clock yet, so there are
no UTC timestamps.  O(rows x columns), vectorised.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..venue.codes import COLUMNS, REASON_SPACE
from ..venue.events import EventKind
from .columns import timeseries_columns
from .metrics import timeseries_meta

UNITS = ("real", "raw")


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError("to_pandas needs pandas: pip install 'liqsim[notebook]'") from e
    return pandas


def _check(units: str) -> None:
    if units not in UNITS:
        raise ValueError(f"units: expected one of {UNITS}, got {units!r}")


def _scales(meta: dict) -> dict:
    return {"ticks": float(Decimal(meta["tick_size"])), "lots": float(Decimal(meta["lot_size"])),
            "quantums": float(Decimal(meta["quote_quantum"]))}


def timeseries_frame(table, units: str = "real"):
    """The time series as a DataFrame (see the module docstring)."""
    pd = _pandas()
    _check(units)
    if units == "raw":
        return table.to_pandas()
    meta = timeseries_meta(table)
    scale = _scales(meta)
    out = {}
    known = {c[0] for c in timeseries_columns(meta["bands_ppm"])}
    extra = [(n, *meta["columns"][n]) for n in table.column_names
             if n not in known and n in meta["columns"]]
    for name, unit, _ in timeseries_columns(meta["bands_ppm"], extra):
        a = table.column(name).to_numpy()
        if unit == "ns":
            out["time_s"] = a / 1e9
        elif unit == "ticks":
            out[name] = np.where(a < 0, np.nan, a * scale["ticks"])
        elif unit == "nquote":
            out[name] = np.where(a < 0, np.nan, a / 1e9)
        elif unit == "bp100":
            out[name] = np.where(a < 0, np.nan, a / 100)
        elif unit in ("lots", "quantums"):
            out[name.removesuffix("_lots") if unit == "lots" else name] = a * scale[unit]
        else:
            out[name] = a
    return pd.DataFrame(out)


def _kinds_filling(column: str) -> np.ndarray:
    return np.array([int(k) for k, cols in COLUMNS.items() if column in cols], dtype=np.uint8)


def _reason_names() -> dict[tuple[int, int], str]:
    names = {}
    for kind, spaces in REASON_SPACE.items():
        for space in spaces:
            for code in space:
                names.setdefault((int(kind), int(code)), code.name)
    return names


def events_frame(array: np.ndarray, meta: dict, units: str = "real"):
    """The event log (an ``EVENT_DTYPE`` array) as a DataFrame; ``meta`` is the run's
    time-series metadata (the instrument's tick, lot and quantum)."""
    pd = _pandas()
    _check(units)
    kind_names = {int(k): k.name for k in EventKind}
    frame = pd.DataFrame({name: array[name] for name in array.dtype.names})
    frame["kind_name"] = [kind_names.get(k, str(k)) for k in array["kind"].tolist()]
    reasons = _reason_names()
    frame["reason_name"] = [reasons.get(key, "")
                            for key in zip(array["kind"].tolist(), array["reason"].tolist())]
    if units == "raw":
        return frame
    scale = _scales(meta)
    kind = array["kind"]
    frame.insert(0, "time_s", array["ts"] / 1e9)
    frame = frame.drop(columns=["ts"])
    price = np.where(np.isin(kind, _kinds_filling("price")), array["price"] * scale["ticks"],
                     np.nan)
    queue = kind == int(EventKind.MATCHING_QUEUE_CLEARED)   # a count and ns: kept
    seized = (kind == int(EventKind.COLLATERAL_SEIZED)) | queue
    qty = np.where(np.isin(kind, _kinds_filling("qty")),
                   np.where(seized, array["qty"].astype(np.float64), array["qty"] * scale["lots"]),
                   np.nan)
    # Kept as stored: a breaker's price in ticks (or LULD's code), a funding rate in ppb.
    kept = np.isin(kind, (int(EventKind.BREAKER_TRIPPED), int(EventKind.FUNDING_SETTLED)))
    resumed = kind == int(EventKind.TRADING_RESUMED)      # the imbalance, in lots
    value = array["value"].astype(np.float64)
    value = np.where(kept | queue, value, np.where(resumed, value * scale["lots"],
                                              value * scale["quantums"]))
    frame["price"] = price
    frame["qty"] = qty
    frame["value"] = np.where(np.isin(kind, _kinds_filling("value")), value, np.nan)
    return frame


def summary_frame(summaries: list[dict]):
    """The summary table as a DataFrame: one row per headline figure (``table.SUMMARY_ROWS``,
    labelled with its unit), one column per run (its breaker), the numbers as the summary
    holds them (money already in the quote currency, shares as fractions, durations in
    seconds); ``<breaker> min`` / ``max`` columns beside a mean over seeds; ``unit`` and
    ``counts`` (what the row counts) last."""
    from .table import SUMMARY_ROWS, row_label
    pd = _pandas()
    index = [row_label(key, label, summaries[0]) for key, label, _ in SUMMARY_ROWS]
    data = {}
    for s in summaries:
        data[s["breaker"]] = [s.get(key) for key, _, _ in SUMMARY_ROWS]
        if s.get("range"):
            for k, end in ((0, "min"), (1, "max")):
                data[f"{s['breaker']} {end}"] = [s["range"].get(key, [None, None])[k]
                                                 for key, _, _ in SUMMARY_ROWS]
    data["counts"] = [legend for _, _, legend in SUMMARY_ROWS]
    frame = pd.DataFrame(data, index=pd.Index(index, name="row"))
    frame.insert(len(frame.columns) - 1, "key", [key for key, _, _ in SUMMARY_ROWS])
    return frame
