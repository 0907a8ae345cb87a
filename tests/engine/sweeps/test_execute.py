"""``liqsim sweep``'s execution: a dead local worker, the exit code of a sweep with failed
runs, what ``--resume`` checks (scenario files, liqsim's code), the results' column types,
and the same message for a percentage <= 0 whatever its sign.  Most runs here are a fake
``run_one`` returning a row at once; the CLI test runs two real short replays."""
from __future__ import annotations

import hashlib
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine.sweeps.execute as execute
from engine.cli import main
from engine.config import ConfigError
from engine.outputs.metrics import SUMMARY_KEYS
from engine.sweeps.execute import DIED_TWICE, results_table, summary_type, sweep
from engine.sweeps.grid import read

from test_sweep import GAP, ROOT, SMALL, _grid

FIVE = '[sweep]\nscenarios = ["flash-drop"]\nseeds = [0, 1, 2, 3, 4]\nscale = 0.02\n'
RANKING = {"binance": {"shortfall": 1.5, "haircut": 2.0, "overshoot": 0.5, "undershoot": 0.0}}


def _quick(task):
    """A run's row at once: a few summary keys, two of them null."""
    return {"status": "ok", "error": None, "liquidations_count": task.run,
            "feed_gap_seconds": None, "adl_overshoot_by_ranking": None}


def _with_values(task):
    return {**_quick(task), "feed_gap_seconds": 1.5,
            "adl_overshoot_by_ranking": json.dumps(RANKING, separators=(",", ":"))}


def _dies_on_run_2(task):
    if task.run == 2:
        os._exit(3)         # the worker process dies: the pool is broken
    return _quick(task)


def _always_dies(task):
    os._exit(9)


def test_a_dead_worker_fails_only_its_own_run_the_others_run_again_on_a_fresh_pool(tmp_path):
    rows = sweep(read(_grid(tmp_path, FIVE)), tmp_path / "out", workers=2,
                 run_one=_dies_on_run_2).to_pylist()
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "ok", "ok"]
    assert rows[2]["error"] == DIED_TWICE
    assert DIED_TWICE == ("the worker process died while this run was queued or running, "
                          "and again when it ran alone (killed, or out of memory?)")
    assert [r["liquidations_count"] for r in rows] == [0, 1, None, 3, 4]


def test_pool_restarts_are_bounded_then_the_remaining_runs_fail_with_a_reason(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(execute, "MAX_RESTARTS", 1)
    rows = sweep(read(_grid(tmp_path, FIVE)), tmp_path / "out", workers=2,
                 run_one=_always_dies).to_pylist()
    # runs 0 and 1 die together; 0 dies again alone; the second restart is one too many
    assert [r["status"] for r in rows] == ["failed"] * 5
    assert rows[0]["error"] == DIED_TWICE
    assert rows[1]["error"].startswith("the worker process died while this run was queued "
                                       "or running, and the sweep's 1 pool restarts")
    assert all(r["error"].startswith("not started: the worker processes died 2 times")
               for r in rows[2:])
    assert all("--resume" in r["error"] for r in rows[1:])


def _runtime_failure(monkeypatch):
    """``engine.run`` fails for 5 makers; the local pool's forked workers inherit it."""
    import engine.runner
    real = engine.runner.run

    def run(path, **kwargs):
        if "makers.count=5" in kwargs.get("overrides", ()):
            raise RuntimeError("5 makers broke")
        return real(path, **kwargs)
    monkeypatch.setattr(engine.runner, "run", run)


def test_a_sweep_with_a_failed_run_writes_everything_then_exits_1_with_one_line(
        tmp_path, monkeypatch, capsys):
    _runtime_failure(monkeypatch)
    grid = _grid(tmp_path, SMALL.replace('"none", "luld"', '"none"'))
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"liqsim: 1 of 2 runs failed: see {out}/results.csv (status, error)\n"
    assert (out / "report.html").is_file() and (out / "sweep.png").is_file()
    assert [r["status"] for r in pq.read_table(out / "results.parquet").to_pylist()] == \
        ["ok", "failed"]


def _copy_grid(tmp_path):
    scenario = tmp_path / "event.toml"
    scenario.write_bytes((ROOT / "tests/data/gap-drop.toml").read_bytes())
    return scenario, _grid(tmp_path, SMALL.replace(GAP, scenario.as_posix()))


def test_resume_refuses_a_scenario_file_changed_since_the_sweep_began(tmp_path, capsys):
    scenario, grid = _copy_grid(tmp_path)
    out = tmp_path / "out"
    sweep(read(grid), out, workers=1, run_one=_quick)
    saved = json.loads((out / "sweep.json").read_text())["digests"]["scenarios"]
    assert saved == {str(scenario.resolve()):
                     hashlib.sha256(scenario.read_bytes()).hexdigest()}
    scenario.write_bytes(scenario.read_bytes() + b"# edited\n")
    assert main(["sweep", str(grid), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the scenario file {scenario.resolve()} changed" in err
    assert "another --out" in err


def test_resume_refuses_when_liqsims_code_changed_since_the_sweep_began(tmp_path,
                                                                        monkeypatch):
    grid = read(_grid(tmp_path))
    sweep(grid, tmp_path / "out", workers=1, run_one=_quick)
    monkeypatch.setattr(execute, "code_digest", lambda: "0" * 64)
    with pytest.raises(ConfigError, match="liqsim's code changed since the sweep began"):
        sweep(grid, tmp_path / "out", workers=1, resume=True, run_one=_quick)


def test_the_code_digest_covers_both_packages_sources_in_path_order():
    files = sorted(p.relative_to(ROOT).as_posix() for pkg in ("engine", "orderbook")
                   for p in (ROOT / pkg).rglob("*.py"))
    h = hashlib.sha256()
    for rel in files:
        data = (ROOT / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode() + data)
    assert execute.code_digest() == h.hexdigest()


def test_a_sweep_json_without_digests_resumes_with_a_one_line_warning(tmp_path, capsys):
    grid = read(_grid(tmp_path))
    out = tmp_path / "out"
    first = sweep(grid, out, workers=1, run_one=_quick)
    meta = json.loads((out / "sweep.json").read_text())
    del meta["digests"]
    (out / "sweep.json").write_text(json.dumps(meta))
    capsys.readouterr()
    again = sweep(grid, out, workers=1, resume=True, run_one=_always_dies)  # nothing runs
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("liqsim: warning: ") and \
        "cannot check" in err
    assert again.equals(first)
    assert "digests" in json.loads((out / "sweep.json").read_text())


def test_a_summary_columns_type_comes_from_its_key_not_from_the_rows(tmp_path):
    grid = read(_grid(tmp_path))
    nulls = sweep(grid, tmp_path / "nulls", workers=1, run_one=_quick)
    values = sweep(grid, tmp_path / "values", workers=1, run_one=_with_values)
    a = pq.read_schema(tmp_path / "nulls" / "results.parquet")
    b = pq.read_schema(tmp_path / "values" / "results.parquet")
    for key, kind in (("feed_gap_seconds", pa.float64()),
                      ("adl_overshoot_by_ranking", pa.string())):
        assert a.field(key).type == b.field(key).type == kind
    assert a == b
    assert pa.concat_tables([nulls, values]).num_rows == 8
    # an int key null in every row stays int64; an undeclared one is inferred as before
    outcomes = {t.run: {"status": "ok", "error": None, "liquidations_count": None,
                        "luld_pauses": None} for t in grid.tasks}
    table = results_table(grid, outcomes)
    assert table.schema.field("liquidations_count").type == pa.int64()
    assert table.schema.field("luld_pauses").type == pa.string()


def test_every_summary_key_declares_a_type_and_a_table_valued_key_is_json_or_left_out():
    assert all(summary_type(k) in ("int", "float", "bool", "str", "json", "dict")
               for k in SUMMARY_KEYS)
    assert summary_type("adl_overshoot_by_ranking") == "json"
    assert summary_type("facts") == "dict" and summary_type("halted_at_end") == "bool"
    assert summary_type("amplification") == "float" and summary_type("trades_count") == "int"
    summary = {"facts": {"F1": {}}, "adl_overshoot_by_ranking": RANKING, "seed": 3}
    assert execute.summary_columns(summary) == {
        "adl_overshoot_by_ranking": json.dumps(RANKING, separators=(",", ":"))}


@pytest.mark.parametrize("key, table", [
    ("breaker.luld.band_pct", None),
    ("venue.fund_limit_oi_pct", None),
    ("makers.depth_bands", "[[{v}, 1000]]"),
])
def test_a_percentage_that_must_be_positive_says_so_for_a_negative_value_and_for_zero(
        tmp_path, key, table):
    texts = []
    for v in (-3, 0):
        value = table.format(v=v) if table else v
        grid = _grid(tmp_path, f'[sweep]\nscenarios = ["{GAP}"]\nbreakers = ["luld"]\n'
                     f'[[sweep.runs]]\nset = {{ "{key}" = {value} }}\n')
        with pytest.raises(ConfigError) as err:
            read(grid)
        texts.append(str(err.value).rpartition(": expected ")[2].rpartition(", got")[0])
    assert texts[0] == texts[1] and texts[0].startswith("a percentage > 0"), texts
