"""Running a grid (``liqsim sweep``): one replay per task on a ``concurrent.futures``
executor, and the results table kept up to date as runs finish.

Executor (``executor``): a local ``ProcessPoolExecutor`` of ``workers`` processes (default:
the machine's cores; ``LocalPool``, which replaces it after a dead worker: below), or --
with a scheduler address (``--scheduler``, else the
``DASK_SCHEDULER_ADDRESS`` environment variable, unless ``--workers`` asks for local
processes) -- ``distributed.Client(address).get_executor()``: the same ``submit`` and the
same futures, so nothing below depends on where a run happens.  The cluster's workers need
liqsim installed, and the same paths for scenario files (bundled names always work).

Results (``DIR/results.parquet`` and ``DIR/results.csv``): one row per run, in grid order
(never finish order): the grid coordinates (``run``, ``scenario``, ``breaker``, ``seed``,
``scale``, one column per swept key, ``command``: the single replay that reproduces the
row), ``status`` (``ok`` or ``failed``) and ``error`` (one line, for a failed run), then every
number, string and flag of the run's summary (``scenario_name`` its scenario's name; the
wall-clock keys ``wall_seconds`` and ``events_per_second`` are left out: they time the
machine, and the table is the same wherever it ran).  Both files are rewritten from the
accumulated rows after each finished run, each through a temporary file renamed into
place, so an interrupted sweep leaves the runs that finished and never a torn file.
``DIR/sweep.json`` records the grid's runs and digests (below); ``--resume`` checks that it
is the same grid and runs only the rows not ``ok`` (a failed run is retried).  A run that
raises is a row with its error, never a lost sweep.  Writing is O(rows x columns) per
finished run.

Column types: a summary column's type is the one its key's ``SUMMARY_KEYS`` entry declares
(``summary_type``: int64, float64, bool or string), whatever the rows hold, so two sweeps'
tables concatenate without a cast even where one has a key null in every row; a key declared
``dict or null`` (``adl_overshoot_by_ranking``) is a string column of its compact JSON text,
a key that is always a dict (``facts``, ``time``, ``not_measured``) is left out.  Columns no
entry declares (the grid's, a policy's own counters) take the narrowest type fitting every
value (``_column``), as does a declared column whose values do not fit its type.

A dead local worker (``os._exit``, SIGKILL, out of memory) breaks a ``ProcessPoolExecutor``:
every run in it raises ``BrokenProcessPool``.  So at most ``workers`` runs are in the pool
at once, and after a break the pool is replaced and the runs it took down run again, each
alone (nothing else in the pool), so a second death pins it: such a run is a failed row
(``DIED_TWICE``); runs that finished are never touched.  At most ``MAX_RESTARTS``
replacements per sweep (a machine that kills every worker must not loop): past them the
runs taken down and those not started are failed rows, which ``--resume`` runs again.  The
Dask path needs none of this: ``distributed`` reschedules a dead worker's tasks itself and
fails a task that kills workers repeatedly with ``KilledWorker``, a failed row here.

Same code and inputs on ``--resume``: ``sweep.json`` records a sha256 of each scenario file
the grid loads (its bytes; a bundled name's bundled file; files it names, such as an
``index.file``, are not covered) and of liqsim's own source (``code_digest``: every ``.py``
file under the ``engine`` and ``orderbook`` package directories, about 5 ms).  A
different digest refuses the resume (``ConfigError``: exit 2, naming the changed file or
"liqsim's code"); a ``sweep.json`` from before the digests resumes with a warning that it
cannot be checked.  Only the client's code is checked, not a Dask cluster's workers'.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..config import ConfigError
from ..outputs.atomic import check_out, write_json
from ..outputs.metrics import SUMMARY_KEYS
from ..outputs.results import write_parquet
from .grid import Grid, Task

RESULTS = "results.parquet"
RESULTS_CSV = "results.csv"
META = "sweep.json"
#: Summary keys left out of the table: they time the machine, not the run.
MACHINE = {"wall_seconds", "events_per_second"}
#: Summary keys the coordinates already hold (``scenario`` is renamed, not dropped).
IDENTITY = {"breaker", "seed", "scale"}
MAX_WORKERS = 1024
#: Local pool replacements per sweep after a dead worker (module docstring): about ten runs
#: that kill their worker each time they run; past them the rest are failed rows.
MAX_RESTARTS = 20
DIED = "killed, or out of memory?"
DIED_TWICE = (f"the worker process died while this run was queued or running, and again "
              f"when it ran alone ({DIED})")
DIED_LAST = ("the worker process died while this run was queued or running, and the "
             "sweep's {n} pool restarts, the most allowed, were used up ({died}); --resume "
             "runs it again")
NOT_STARTED = ("not started: the worker processes died {n} times in this sweep, past the "
               "{restarts} pool restarts allowed ({died}); --resume runs it")


def run_task(task: Task) -> dict:
    """Replay one task; its outcome: ``status``, ``error`` and the summary's columns.
    Runs in a worker process (local or on a cluster); reads nothing but the task."""
    from ..runner import run
    try:
        result = run(task.path, breaker=task.breaker, seed=task.seed, scale=task.scale,
                     overrides=task.overrides)
    except Exception as exc:  # noqa: BLE001 - a failed run is a row, not a lost sweep
        return failed(exc)
    return {"status": "ok", "error": None, **summary_columns(result.summary)}


def failed(exc: BaseException) -> dict:
    text = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
    return {"status": "failed", "error": " ".join(text.split())}


def summary_columns(summary: dict) -> dict:
    """The summary's scalars (module docstring), in the summary's order; a key declared
    ``dict or null`` as its compact JSON text."""
    out = {}
    for key, value in summary.items():
        if key in MACHINE or key in IDENTITY:
            continue
        kind = summary_type(key)
        if kind == "json" and value is not None:
            value = json.dumps(value, separators=(",", ":"))
        if value is None and kind != "dict" or isinstance(value, (bool, int, float, str)):
            out["scenario_name" if key == "scenario" else key] = value
    return out


#: ``SUMMARY_KEYS`` unit words -> the type they hold: the first word of an entry's head
#: (its text before ":") found here, e.g. "quote float", "percent float (4 dp)", "int".
_KINDS = {"float": "float", "int": "int", "bool": "bool", "str": "str"}


def summary_type(key: str) -> str | None:
    """What summary ``key`` holds, from its ``SUMMARY_KEYS`` entry: "int", "float", "bool",
    "str" (each possibly null), "json" (a dict or null: its JSON text), "dict" (always a
    table: no column); None for a key no entry declares.  O(length of the entry)."""
    doc = SUMMARY_KEYS.get("scenario" if key == "scenario_name" else key)
    if doc is None:
        return None
    head = doc.partition(":")[0]
    if head.startswith("dict"):
        return "json" if "null" in head else "dict"
    words = [_KINDS[w] for w in head.replace("(", " ").split() if w in _KINDS]
    return words[0] if words else None


_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
          "json": pa.string()}
_FITS = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
         "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
         "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
         "json": lambda v: isinstance(v, str)}


def _column(values: list, kind: str | None = None) -> pa.Array:
    """One column: of ``kind``'s type (``summary_type``) when every value fits it, else the
    type fitting every value: bool, int64, float64 (ints and floats mixed), else string;
    None is null."""
    present = [v for v in values if v is not None]
    if kind in _ARROW and all(map(_FITS[kind], present)):
        return pa.array([float(v) if kind == "float" and v is not None else v
                         for v in values], _ARROW[kind])
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and not any(isinstance(v, bool) or not isinstance(v, (int, float))
                           for v in present):
        if all(isinstance(v, int) for v in present):
            return pa.array(values, pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def results_table(grid: Grid, outcomes: dict[int, dict]) -> pa.Table:
    """The rows finished so far, in grid order (module docstring).  O(rows x columns)."""
    rows = [{**t.coordinates(), **{k: None for k in grid.keys if k not in t.coordinates()},
             **outcomes[t.run]} for t in grid.tasks if t.run in outcomes]
    names = list(dict.fromkeys(k for r in rows for k in r)) or ["run", "status", "error"]
    grid_columns = set(grid.tasks[0].coordinates()) | set(grid.keys)
    return pa.table({n: _column([r.get(n) for r in rows],
                                None if n in grid_columns else summary_type(n))
                     for n in names})


def write_results(out: pathlib.Path, grid: Grid, outcomes: dict[int, dict]) -> pa.Table:
    """Rewrite ``results.parquet`` and ``results.csv`` atomically (temp file + rename)."""
    table = results_table(grid, outcomes)
    for name, write in ((RESULTS, write_parquet),
                        (RESULTS_CSV, lambda t, p: pacsv.write_csv(t, str(p)))):
        tmp = out / f".{name}.tmp"
        write(table, tmp)
        os.replace(tmp, out / name)
    return table


def code_digest() -> str:
    """sha256 of liqsim's source where this process imports it from: every ``.py`` file
    under the ``engine`` and ``orderbook`` package directories, sorted by path relative to
    their parent, each as path, NUL, byte length, NUL, bytes.  O(source size): ~5 ms."""
    import orderbook
    h = hashlib.sha256()
    roots = (pathlib.Path(__file__).resolve().parents[1],
             pathlib.Path(orderbook.__file__).resolve().parent)
    files = sorted((f.relative_to(r.parent).as_posix(), f)
                   for r in roots for f in r.rglob("*.py"))
    for rel, f in files:
        data = f.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def digests(grid: Grid) -> dict:
    """What ``--resume`` checks beyond the grid (module docstring): ``code`` and, per
    scenario a task loads (``Task.path``), the sha256 of its file's bytes."""
    files = {t.path: t.file for t in grid.tasks}
    return {"code": code_digest(),
            "scenarios": {path: hashlib.sha256(f.read_bytes()).hexdigest()
                          for path, f in files.items()}}


def _warn(text: str) -> None:
    print(f"liqsim: warning: {text}", file=sys.stderr)


def previous(out: pathlib.Path, grid: Grid, resume: bool, now: dict | None = None,
             warn=_warn) -> dict[int, dict]:
    """The outcomes already in ``out`` (``--resume``), after checking it holds this grid,
    the same scenario files and the same code (``now``: this sweep's ``digests``; a
    ``sweep.json`` without them is ``warn``-ed about, not refused); without ``resume``,
    ``out`` must hold no sweep.  Raises ``ConfigError``."""
    meta = out / META
    if not resume:
        if meta.exists() or (out / RESULTS).exists():
            raise ConfigError(f"{out}: already holds a sweep ({META}); --resume continues "
                              f"it, or choose another --out")
        return {}
    if not meta.is_file():
        return {}
    try:
        saved = json.loads(meta.read_text())
        runs = saved["runs"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{meta}: expected the sweep.json a sweep wrote") from None
    if runs != json.loads(json.dumps(grid.identity())):
        raise ConfigError(f"{out}: --resume: {META} holds another grid; expected the same "
                          f"grid file, or another --out")
    _check_digests(out, saved.get("digests"), now or digests(grid), warn)
    if not (out / RESULTS).is_file():
        return {}
    try:
        rows = pq.read_table(str(out / RESULTS)).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"{out / RESULTS}: cannot read ({str(exc).splitlines()[0]})") \
            from None
    coordinates = set(grid.tasks[0].coordinates()) | set(grid.keys)
    return {r["run"]: {k: v for k, v in r.items() if k not in coordinates} for r in rows
            if isinstance(r.get("run"), int) and 0 <= r["run"] < len(grid.tasks)}


def _check_digests(out: pathlib.Path, saved, now: dict, warn) -> None:
    """Refuse a resume whose scenario files or code differ from the sweep's start."""
    if saved is None:
        warn(f"{out / META}: written before sweeps recorded digests: cannot check that "
             f"the scenario files and liqsim's code are the ones the sweep began with; "
             f"resuming")
        return
    scenarios = saved.get("scenarios") if isinstance(saved, dict) else None
    if not isinstance(scenarios, dict):
        raise ConfigError(f"{out / META}: digests: expected the table a sweep wrote")
    for path, digest in now["scenarios"].items():
        if scenarios.get(path) != digest:
            raise ConfigError(f"{out}: --resume: the scenario file {path} changed since the "
                              f"sweep began (its sha256 differs from {META}'s); expected the "
                              f"same file, or another --out for the new one")
    if saved.get("code") != now["code"]:
        raise ConfigError(f"{out}: --resume: liqsim's code changed since the sweep began "
                          f"(its source sha256 differs from {META}'s); expected the same "
                          f"liqsim, or another --out to run the grid with this one")


class LocalPool:
    """A local ``ProcessPoolExecutor`` of ``workers`` processes that ``restart`` replaces
    once a dead worker has broken it (module docstring)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers)

    def submit(self, fn, /, *args):
        return self._pool.submit(fn, *args)

    def restart(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)   # a broken pool: returns at once
        self._pool = ProcessPoolExecutor(self.workers)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextmanager
def executor(workers: int | None = None, scheduler: str | None = None):
    """Yield ``(executor, description)``: a Dask cluster's executor when an address is
    given (``scheduler``, else ``DASK_SCHEDULER_ADDRESS`` unless ``workers`` is), else a
    ``LocalPool`` of ``workers`` (default the cores).  Raises ``ConfigError``."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers: expected 1 to {MAX_WORKERS}, got {workers}")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers: the cluster's workers run the sweep; give --workers "
                          "only without --scheduler")
    address = scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS") if workers is None
                            else None)
    if not address:
        n = workers or os.cpu_count() or 1
        pool = LocalPool(n)
        try:
            yield pool, f"{n} local process{'es' if n > 1 else ''}"
        except BaseException:   # interrupted: do not wait for the runs still queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"{'--scheduler' if scheduler else 'DASK_SCHEDULER_ADDRESS'}: needs "
                          f"dask.distributed: pip install 'liqsim[cluster]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        source = "--scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS"
        raise ConfigError(f"{source} {address}: cannot connect ({exc})") from None
    try:
        yield client.get_executor(), f"the Dask cluster at {address}"
    finally:
        client.close()


def sweep(grid: Grid, out, workers: int | None = None, scheduler: str | None = None,
          resume: bool = False, progress=None, run_one=run_task, warn=_warn) -> pa.Table:
    """Run ``grid`` into ``out`` (module docstring); ``progress(done, total, task, outcome)``
    is told of each finished run, ``warn(line)`` of a resume it cannot check.  Returns the
    final table."""
    out = pathlib.Path(out)
    check_out(out)
    now = digests(grid)
    outcomes = previous(out, grid, resume, now, warn)
    todo = [t for t in grid.tasks if outcomes.get(t.run, {}).get("status") != "ok"]
    with executor(workers, scheduler) as (pool, _):
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{META}.tmp"
        write_json(tmp, {"grid": grid.source, "keys": list(grid.keys),
                         "runs": grid.identity(), "digests": now})
        os.replace(tmp, out / META)
        table = write_results(out, grid, outcomes)

        def record(task, outcome):
            nonlocal table
            outcomes[task.run] = outcome
            table = write_results(out, grid, outcomes)
            if progress is not None:
                progress(len(outcomes), len(grid.tasks), task, outcome)
        run_all(pool, todo, run_one, record)
    return table


def _broke(future) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)


def run_all(pool, todo: list, run_one, record) -> None:
    """Run ``todo`` on ``pool``, telling ``record(task, outcome)`` of each outcome: all at
    once on a cluster; at most ``pool.workers`` runs in a ``LocalPool``, and after a break
    the pool replaced and the runs it took down retried one at a time (module docstring).
    O(runs x workers) future checks on a local pool, O(runs) on a cluster."""
    if not isinstance(pool, LocalPool):          # a cluster: every run at once, as done
        futures = {pool.submit(run_one, t): t for t in todo}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. distributed's KilledWorker
                outcome = failed(exc)
            record(futures[future], outcome)
        return
    fresh, alone, running = deque(todo), deque(), {}
    retried: set[int] = set()
    restarts = 0

    def fill() -> bool:
        """Submit runs up to ``pool.workers`` (a retry alone); False if the pool broke."""
        try:
            if alone and not running:           # a retry runs with nothing beside it
                running[pool.submit(run_one, alone[0])] = alone[0]
                alone.popleft()
            solo = any(t.run in retried for t in running.values())
            while not alone and not solo and fresh and len(running) < pool.workers:
                running[pool.submit(run_one, fresh[0])] = fresh[0]
                fresh.popleft()
        except BrokenProcessPool:               # broke while idle: nothing taken down yet
            return False
        return True

    def collect(done) -> tuple[list, list]:
        """(finished (task, outcome) pairs, tasks a break took down), in grid order."""
        finished, taken = [], []
        for future in sorted(done, key=lambda f: running[f].run):
            task = running.pop(future)
            try:
                finished.append((task, future.result()))
            except BrokenProcessPool:
                taken.append(task)
            except Exception as exc:  # noqa: BLE001 - a failed run is a row
                finished.append((task, failed(exc)))
        return finished, taken

    while fresh or alone or running:
        if fill():
            done = wait(running, return_when=FIRST_COMPLETED).done
            if not any(map(_broke, done)):
                finished, _ = collect(done)
                ok = fill()                     # the next runs start before rows are written
                for task, outcome in finished:
                    record(task, outcome)
                if ok:
                    continue
        # The pool is broken: every run still in it is taken down (or had finished).
        finished, taken = collect(wait(running).done)
        for task, outcome in finished:
            record(task, outcome)
        for task in taken:
            if task.run in retried:
                record(task, {"status": "failed", "error": DIED_TWICE})
        taken = [t for t in taken if t.run not in retried]
        if restarts == MAX_RESTARTS:
            for task in sorted([*taken, *alone], key=lambda t: t.run):
                record(task, {"status": "failed", "error": DIED_LAST.format(
                    n=restarts, died=DIED)})
            for task in fresh:
                record(task, {"status": "failed", "error": NOT_STARTED.format(
                    n=restarts + 1, restarts=MAX_RESTARTS, died=DIED)})
            return
        restarts += 1
        pool.restart()
        retried.update(t.run for t in taken)
        alone.extend(taken)


def finish(out, table: pa.Table, command: str) -> None:
    """The sweep's pictures: ``sweep.png`` (the headline metrics of the first scenario
    against the first swept key, else against the scenario) and ``report.html`` (every
    metric, scenario and key: ``engine.outputs.report.build_sweep_html``), each atomic."""
    from ..outputs.report import sweep_metrics, write_report
    from ..outputs.sweepcharts import HEADLINE, sweep_chart, varying
    out = pathlib.Path(out)
    every = table.to_pylist()
    rows = [r for r in every if r["status"] == "ok"]
    keys = json.loads((out / META).read_text()).get("keys", [])
    if rows:
        x = keys[0] if keys else "scenario"
        first = [r for r in every if not keys or r["scenario"] == rows[0]["scenario"]]
        _, labels = sweep_metrics(rows)
        tmp = out / ".sweep.png.tmp"
        sweep_chart(first, x, varying(first, HEADLINE) or list(HEADLINE[:1]), labels,
                    f"{rows[0]['scenario_name']}: against {x}" if keys else
                    "each scenario", tmp, [k for k in keys if k != x])
        os.replace(tmp, out / "sweep.png")
    write_report(out, command, shown=str(out))
