"""Running a grid (``liqsim sweep``): one replay per task on a ``concurrent.futures``
executor, and the results table kept up to date as runs finish.

Executor (``executor``): a local ``ProcessPoolExecutor`` of ``workers`` processes (default:
the machine's cores), or -- with a scheduler address (``--scheduler``, else the
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
``DIR/sweep.json`` records the grid's runs; ``--resume`` checks that it is the same grid and
runs only the rows not ``ok`` (a failed run is retried).  A run that raises is a row with
its error, never a lost sweep.  Writing is O(rows x columns) per finished run.
"""
from __future__ import annotations

import json
import os
import pathlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..config import ConfigError
from ..outputs.atomic import check_out, write_json
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
    """The summary's scalars (module docstring), in the summary's order."""
    out = {}
    for key, value in summary.items():
        if key in MACHINE or key in IDENTITY:
            continue
        if value is None or isinstance(value, (bool, int, float, str)):
            out["scenario_name" if key == "scenario" else key] = value
    return out


def _column(values: list) -> pa.Array:
    """One column with a type fitting every value: bool, int64, float64 (ints and floats
    mixed), else string; None is null."""
    present = [v for v in values if v is not None]
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
    return pa.table({n: _column([r.get(n) for r in rows]) for n in names})


def write_results(out: pathlib.Path, grid: Grid, outcomes: dict[int, dict]) -> pa.Table:
    """Rewrite ``results.parquet`` and ``results.csv`` atomically (temp file + rename)."""
    table = results_table(grid, outcomes)
    for name, write in ((RESULTS, write_parquet),
                        (RESULTS_CSV, lambda t, p: pacsv.write_csv(t, str(p)))):
        tmp = out / f".{name}.tmp"
        write(table, tmp)
        os.replace(tmp, out / name)
    return table


def previous(out: pathlib.Path, grid: Grid, resume: bool) -> dict[int, dict]:
    """The outcomes already in ``out`` (``--resume``), after checking it holds this grid;
    without ``resume``, ``out`` must hold no sweep.  Raises ``ConfigError``."""
    meta = out / META
    if not resume:
        if meta.exists() or (out / RESULTS).exists():
            raise ConfigError(f"{out}: already holds a sweep ({META}); --resume continues "
                              f"it, or choose another --out")
        return {}
    if not meta.is_file():
        return {}
    try:
        runs = json.loads(meta.read_text())["runs"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{meta}: expected the sweep.json a sweep wrote") from None
    if runs != json.loads(json.dumps(grid.identity())):
        raise ConfigError(f"{out}: --resume: {META} holds another grid; expected the same "
                          f"grid file, or another --out")
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


@contextmanager
def executor(workers: int | None = None, scheduler: str | None = None):
    """Yield ``(executor, description)``: a Dask cluster's executor when an address is
    given (``scheduler``, else ``DASK_SCHEDULER_ADDRESS`` unless ``workers`` is), else a
    local process pool of ``workers`` (default the cores).  Raises ``ConfigError``."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers: expected 1 to {MAX_WORKERS}, got {workers}")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers: the cluster's workers run the sweep; give --workers "
                          "only without --scheduler")
    address = scheduler or (os.environ.get("DASK_SCHEDULER_ADDRESS") if workers is None
                            else None)
    if not address:
        n = workers or os.cpu_count() or 1
        pool = ProcessPoolExecutor(n)
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
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
    try:
        yield client.get_executor(), f"the Dask cluster at {address}"
    finally:
        client.close()


def sweep(grid: Grid, out, workers: int | None = None, scheduler: str | None = None,
          resume: bool = False, progress=None, run_one=run_task) -> pa.Table:
    """Run ``grid`` into ``out`` (module docstring); ``progress(done, total, task, outcome)``
    is told of each finished run.  Returns the final table."""
    out = pathlib.Path(out)
    check_out(out)
    outcomes = previous(out, grid, resume)
    todo = [t for t in grid.tasks if outcomes.get(t.run, {}).get("status") != "ok"]
    with executor(workers, scheduler) as (pool, _):
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{META}.tmp"
        write_json(tmp, {"grid": grid.source, "keys": list(grid.keys),
                         "runs": grid.identity()})
        os.replace(tmp, out / META)
        table = write_results(out, grid, outcomes)
        futures = {pool.submit(run_one, t): t for t in todo}
        for future in as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died, not the run
                outcome = failed(exc)
            outcomes[task.run] = outcome
            table = write_results(out, grid, outcomes)
            if progress is not None:
                progress(len(outcomes), len(grid.tasks), task, outcome)
    return table


def finish(out, table: pa.Table, command: str) -> None:
    """The sweep's pictures: ``sweep.png`` (the headline metrics of the first scenario
    against the first swept key, else against the scenario) and ``report.html`` (every
    metric, scenario and key: ``engine.outputs.report.build_sweep_html``), each atomic."""
    from ..outputs.report import sweep_metrics, write_report
    from ..outputs.sweepcharts import HEADLINE, sweep_chart, varying
    out = pathlib.Path(out)
    rows = [r for r in table.to_pylist() if r["status"] == "ok"]
    keys = json.loads((out / META).read_text()).get("keys", [])
    if rows:
        x = keys[0] if keys else "scenario"
        first = [r for r in rows if not keys or r["scenario"] == rows[0]["scenario"]]
        _, labels = sweep_metrics(rows)
        tmp = out / ".sweep.png.tmp"
        sweep_chart(first, x, varying(first, HEADLINE) or list(HEADLINE[:1]), labels,
                    f"{first[0]['scenario_name']}: against {x}" if keys else
                    "each scenario", tmp)
        os.replace(tmp, out / "sweep.png")
    write_report(out, command, shown=str(out))
