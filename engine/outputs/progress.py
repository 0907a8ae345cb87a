"""A progress bar for long runs: simulated time reached, events per second, liquidations so far.

``Progress(duration_s, label)`` is called by the Simulation once per sample (every simulated
second, ``Simulation._sample_step``) with the time and the event log; between calls it
costs nothing.  Each call reads only the log rows appended since the last one -- their kind
bytes, one strided slice of the packed buffer (``EventLog``: fixed 70-byte rows), counted
with ``bytearray.count`` -- so a call is O(new rows) in C and the bar redraws at most every
``MIN_INTERVAL_S`` of wall time (tqdm's own throttle).  Nothing it does reaches the log, the
time series or the summary (benchmarks/bench_progress.py measures the cost: ratio on / off).

Shown on standard error with tqdm, only when standard error is a terminal and the command
was not given ``--quiet`` (``enabled``); otherwise ``Progress`` is never built and the loop
calls nothing.  Without tqdm installed it is silent too.  The rate comes from tqdm's own
clock (``format_dict["elapsed"]``), never from the run's state.
"""
from __future__ import annotations

import sys

from ..venue.events import _KIND_OFFSET, EVENT_DTYPE, EventKind

MIN_INTERVAL_S = 0.5
_ROW = EVENT_DTYPE.itemsize
_CALL = int(EventKind.MARGIN_CALL)


def enabled(quiet: bool = False, stream=None) -> bool:
    """Whether a bar should be shown: not ``quiet``, the stream (stderr) a terminal, tqdm
    importable."""
    stream = sys.stderr if stream is None else stream
    if quiet or not getattr(stream, "isatty", lambda: False)():
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


class Progress:
    """One run's bar; ``__call__(ts_ns, log)`` per simulated second; ``close()`` at the end."""

    def __init__(self, duration_s: int, label: str, stream=None) -> None:
        import shutil
        from tqdm import tqdm
        # A terminal that reports no size (some ptys: 0 x 0) gets 100 x 24; tqdm would draw
        # nothing into zero rows.
        size = shutil.get_terminal_size((100, 24))
        tqdm.monitor_interval = 0   # no monitor thread (it only fixes stalled miniters)
        self.bar = tqdm(total=duration_s, desc=label, unit="s", file=stream or sys.stderr,
                        mininterval=MIN_INTERVAL_S, leave=True, ncols=size.columns,
                        nrows=size.lines,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total} s "
                                   "simulated [{elapsed}{postfix}]")
        self.done_s = 0
        self.read = 0           # bytes of the log already counted
        self.events = 0
        self.liquidations = 0

    def __call__(self, ts_ns: int, log) -> None:
        buf = log._buf
        end = len(buf)
        # The kind byte of every new row: one strided slice, counted in C.
        self.liquidations += buf[self.read + _KIND_OFFSET:end:_ROW].count(_CALL)
        self.events += (end - self.read) // _ROW
        self.read = end
        now_s = ts_ns // 1_000_000_000
        if now_s > self.done_s:
            elapsed = self.bar.format_dict["elapsed"] or 0
            rate = self.events / elapsed if elapsed > 0 else 0
            self.bar.set_postfix_str(f"{rate:,.0f} events/s, {self.liquidations:,} "
                                     f"liquidations", refresh=False)
            self.bar.update(now_s - self.done_s)
            self.done_s = now_s

    def close(self) -> None:
        self.bar.close()
