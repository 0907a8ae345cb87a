"""``engine.compare(workers=N)``: runs side by side in local processes, and a failure or an
interrupt ends them all at once (the equality of the results with one worker is
``tests/test_cli.py::test_compare_on_two_workers_writes_the_runs_it_writes_on_one``)."""
from __future__ import annotations

import os
import signal
import time

import pytest

from engine import runner

GAP = os.path.join(os.path.dirname(__file__), "..", "data", "gap-drop.toml")


def _failing_or_slow(scenario, breaker, seed, scale, overrides, *, marks):
    """A run stand-in: notes this worker's pid and SIGINT disposition, then the 'none' run
    fails -- once the other has started (forking a large test process takes a while) --
    and every other sleeps far longer than the test."""
    with open(os.path.join(marks, f"{breaker}.tmp"), "w") as f:
        f.write(f"{os.getpid()} {int(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)}")
    os.replace(os.path.join(marks, f"{breaker}.tmp"), os.path.join(marks, f"{breaker}.pid"))
    if breaker == "none":
        for _ in range(600):
            if os.path.exists(os.path.join(marks, "luld.pid")):
                break
            time.sleep(0.05)
        raise ValueError("this run failed")
    time.sleep(600)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:            # a zombie is not running either
        return f.read().split(")")[-1].split()[0] != "Z"


def test_a_failed_run_ends_the_runs_beside_it_and_workers_leave_ctrl_c_to_the_parent(
        tmp_path, monkeypatch):
    """It raised at once but the interpreter then waited for the other runs to end --
    minutes at full scale -- and a worker between runs printed its own traceback on
    Ctrl-C."""
    import functools
    monkeypatch.setattr(runner, "run", functools.partial(_failing_or_slow, marks=str(tmp_path)))
    with pytest.raises(ValueError, match="this run failed"):
        runner.compare(GAP, ["none", "luld"], scale=0.02, workers=2)
    pids = {p.stem: [int(x) for x in p.read_text().split()] for p in tmp_path.glob("*.pid")}
    assert set(pids) == {"none", "luld"}
    assert all(ignored for _, ignored in pids.values())         # SIGINT is the parent's
    assert not any(_alive(pid) for pid, _ in pids.values()), pids


def _dies(*args, **kwargs):
    os._exit(9)             # as the kernel's out-of-memory killer would leave it


def test_a_compare_worker_that_dies_is_one_line_exit_1_and_no_output(tmp_path, monkeypatch,
                                                                     capsys):
    from engine.cli import main
    monkeypatch.setattr(runner, "run", _dies)
    out = tmp_path / "cmp"
    assert main(["compare", GAP, "--scale", "0.02", "--breakers", "none,luld",
                 "--workers", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a worker process died" in err[0], err
    assert not out.exists()
