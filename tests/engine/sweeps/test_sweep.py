"""``liqsim sweep``: the grid file, its validation, the results table, failures, resume,
and the same table from a local Dask cluster as from local processes."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.cli import main
from engine.config import ConfigError
from engine.sweeps.execute import run_task, sweep
from engine.sweeps.grid import read

ROOT = pathlib.Path(__file__).resolve().parents[3]
GAP = (ROOT / "tests" / "data" / "gap-drop.toml").as_posix()
#: 4 short runs: 2 policies x 2 maker counts of the gap-drop fixture at scale 0.02 (~1 s
#: each; the seeds' spread is tested on the chart's points directly).
SMALL = f"""
[sweep]
scenarios = ["{GAP}"]
breakers = ["none", "luld"]
seeds = [0]
scale = 0.02
[sweep.set]
"makers.count" = [3, 5]
"""


def _grid(tmp_path, text=SMALL, name="grid.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The small grid run on two local processes: (output directory, table)."""
    from engine.sweeps.execute import finish
    d = tmp_path_factory.mktemp("local")
    table = sweep(read(_grid(d)), d / "out", workers=2)
    finish(d / "out", table, "liqsim sweep grid.toml --out out")
    return d / "out", table


def test_the_grid_is_the_product_of_scenarios_breakers_parameters_and_seeds_seeds_innermost(
        tmp_path):
    g = read(_grid(tmp_path, SMALL.replace('[0]', '[0, 1]')))
    assert [(t.breaker, t.params, t.seed) for t in g.tasks] == [
        ("none", (("makers.count", 3),), 0), ("none", (("makers.count", 3),), 1),
        ("none", (("makers.count", 5),), 0), ("none", (("makers.count", 5),), 1),
        ("luld", (("makers.count", 3),), 0), ("luld", (("makers.count", 3),), 1),
        ("luld", (("makers.count", 5),), 0), ("luld", (("makers.count", 5),), 1)]
    assert [t.run for t in g.tasks] == list(range(8))
    assert g.tasks[1].command().startswith(f"liqsim replay {GAP} --breaker none --seed 1 "
                                           f"--scale 1/50 --set makers.count=3")


def test_a_runs_row_fixes_what_it_names_and_runs_over_the_sweep_lists_for_the_rest(tmp_path):
    text = f"""
[sweep]
scenarios = ["{GAP}"]
breakers = ["none", "luld"]
seeds = [0, 1]
scale = 0.02
[[sweep.runs]]
breaker = "luld"
set = {{ "breaker.luld.band_pct" = 7 }}
[[sweep.runs]]
seed = 5
"""
    g = read(_grid(tmp_path, text))
    assert [(t.breaker, t.seed, t.params) for t in g.tasks] == [
        ("luld", 0, (("breaker.luld.band_pct", 7),)), ("luld", 1, (("breaker.luld.band_pct", 7),)),
        ("none", 5, ()), ("luld", 5, ())]
    assert g.keys == ("breaker.luld.band_pct",)


def test_a_table_value_of_a_swept_key_is_passed_whole_to_the_run(tmp_path):
    text = f"""
[sweep]
scenarios = ["{GAP}"]
breakers = ["luld"]
[sweep.set]
"breaker.luld" = [{{ band_pct = 5 }}, {{ band_pct = 10, "pause_s" = 300 }}]
"""
    g = read(_grid(tmp_path, text))     # each run's scenario is loaded: valid tables pass
    assert [t.overrides for t in g.tasks] == [["breaker.luld={ band_pct = 5 }"],
                                              ["breaker.luld={ band_pct = 10, pause_s = 300 }"]]
    assert g.tasks[1].coordinates()["breaker.luld"] == "{ band_pct = 10, pause_s = 300 }"
    assert "--set 'breaker.luld={ band_pct = 10, pause_s = 300 }'" in g.tasks[1].command()


@pytest.mark.parametrize("body, field", [
    ('[sweep]\nscenarios = ["flash-drop"]\nbogus = 1', "sweep.bogus"),
    ('[sweep]\nscenarios = ["no-such-event"]', "sweep.scenarios[0]"),
    ('[sweep]\nscenarios = ["flash-drop"]\nbreakers = ["lulld"]', "sweep.breakers[0]"),
    ('[sweep]\nscenarios = ["flash-drop"]\nseeds = [1, 1]', "sweep.seeds"),
    ('[sweep]\nscenarios = ["flash-drop"]\nseeds = [-1]', "sweep.seeds[0]"),
    ('[sweep]\nscenarios = ["flash-drop"]\nscale = 0', "sweep.scale"),
    ('[sweep]\nscenarios = ["flash-drop"]\n[sweep.set]\n"makers.count" = []', "sweep.set.makers.count"),
    ('[sweep]\nscenarios = ["flash-drop"]\n[sweep.set]\n"makers.count" = ["x"]', "makers.count"),
    ('[sweep]\nscenarios = ["flash-drop"]\n[sweep.set]\n"breaker.luld.band_pct" = [-5]',
     "band_pct"),
    ('[sweep]\nscenarios = ["flash-drop"]\n[sweep.set]\n"makers.nonsense" = [1]', "nonsense"),
    ('[sweep]\nscenarios = ["flash-drop"]\n[[sweep.runs]]\nseed = 1\n[[sweep.runs]]\nseed = 1',
     "repeats run 0"),
    ("[sweep\n", "not valid TOML"),
    # an array value's TOML text spans lines; the error is still one line
    ('[sweep]\nscenarios = ["flash-drop"]\n[sweep.set]\n"traders.count" = [[1, 2]]',
     "traders.count: expected an integer, got [1, 2]"),
])
def test_a_bad_grid_is_one_line_naming_the_file_and_field_exit_2_and_nothing_written(
        tmp_path, capsys, body, field):
    grid = _grid(tmp_path, body)
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(grid) in err and field in err, err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("body, needle", [
    ('breakers = ["luld"]\n[sweep.set]\n"breaker.luld.band_pct" = [5, 5.0]',
     "sweep.set.breaker.luld.band_pct: 5.0 is listed twice"),
    ('breakers = ["luld"]\n[[sweep.runs]]\nset = { "breaker.luld.band_pct" = 5 }\n'
     '[[sweep.runs]]\nset = { "breaker.luld.band_pct" = 5.00 }', "run 1 repeats run 0")])
def test_one_number_written_as_int_and_float_is_one_grid_value_not_two_runs(
        tmp_path, body, needle):
    # 5 and 5.0 are one band (Decimal(5)): the same run twice, two points at one x
    grid = _grid(tmp_path, f'[sweep]\nscenarios = ["{GAP}"]\n{body}\n')
    with pytest.raises(ConfigError, match=needle):
        read(grid)


@pytest.mark.parametrize("scale", ["2", '"1/0"', '"2/1"', '"a/b"', "true"])
def test_a_grid_scale_outside_0_1_reads_as_replays_scale_error(tmp_path, scale):
    # the grid's own reader said "expected a number in [0, 1]" for 2 (0 is refused too)
    # and "expected an integer >= 1, got 0" for "1/0": the bound is (0, 1], as --scale's
    grid = _grid(tmp_path, f'[sweep]\nscenarios = ["{GAP}"]\nscale = {scale}\n')
    with pytest.raises(ConfigError, match=r"sweep\.scale: expected a number"
                       + (r", got True" if scale == "true" else r" in \(0, 1\]")):
        read(grid)


def test_a_grid_of_too_many_runs_is_refused_from_its_count_before_its_rows_are_built(
        tmp_path):
    # 10**12 runs: building the rows first ran out of memory (MemoryError, exit 1) or hung
    import resource
    body = f'[sweep]\nscenarios = ["{GAP}"]\n[sweep.set]\n' + "".join(
        f'"makers.{k}" = {list(range(1, 101))}\n'
        for k in ("count", "levels", "refresh_ms", "calm_s", "recovery_s", "spacing_bps"))
    grid = _grid(tmp_path, body)
    out = tmp_path / "out"

    def one_gigabyte():
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
    r = subprocess.run([sys.executable, "-m", "engine.cli", "sweep", str(grid), "--out",
                        str(out)], capture_output=True, text=True, cwd=ROOT,
                       preexec_fn=one_gigabyte, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"liqsim: error: {grid}: sweep: 1,000,000,000,000 runs; expected "
                        f"at most 100,000\n")
    assert not out.exists()


def test_a_recorded_runs_saved_scenario_is_refused_by_a_sweep_before_any_run(tmp_path,
                                                                              capsys):
    # It replays only as itself (it re-reads its data): every run would fail in a worker.
    saved = tmp_path / "scenario.toml"
    saved.write_text((ROOT / "tests/data/gap-drop.toml").read_text()
                     + '\n[run]\ndata = ["capture.gz"]\n')
    grid = _grid(tmp_path, f'[sweep]\nscenarios = ["{saved.as_posix()}"]\nscale = 0.5')
    assert main(["sweep", str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a recorded run's scenario (run.data)" in err, err
    assert not (tmp_path / "out").exists()


def test_a_run_that_raises_is_a_row_with_its_error_and_the_others_finish(tmp_path):
    table = sweep(read(_grid(tmp_path)), tmp_path / "out", workers=2, run_one=_fails_on_5)
    rows = table.to_pylist()
    assert [r["status"] for r in rows] == ["ok", "failed", "ok", "failed"]
    assert rows[1]["error"] == "RuntimeError: 5 makers broke" and rows[0]["error"] is None
    assert rows[1]["liquidations_count"] is None and rows[0]["liquidations_count"] > 0
    assert pq.read_table(tmp_path / "out" / "results.parquet").equals(table)


def _fails_on_5(task):
    if task.params == (("makers.count", 5),):
        raise RuntimeError("5 makers broke")
    return run_task(task)


def test_the_results_hold_one_row_per_run_in_grid_order_with_coordinates_and_summary(local):
    out, table = local
    rows = table.to_pylist()
    assert [(r["run"], r["breaker"], r["seed"], r["makers.count"]) for r in rows] == \
        [(0, "none", 0, 3), (1, "none", 0, 5), (2, "luld", 0, 3), (3, "luld", 0, 5)]
    assert all(r["status"] == "ok" and r["scenario_name"] == "gap-drop" for r in rows)
    assert "events_per_second" not in table.column_names     # the machine, not the run
    # the seed rule: the row is the single replay its command names
    import engine
    r = engine.run(GAP, breaker="luld", seed=0, scale=0.02, overrides=["makers.count=5"])
    assert r.summary["liquidations_notional"] == rows[3]["liquidations_notional"]
    assert r.summary["events_processed"] == rows[3]["events_processed"]
    assert (out / "results.csv").read_text().count("\n") == 5


def test_a_local_dask_cluster_gives_the_same_table_as_local_processes(local, dask_scheduler,
                                                                      tmp_path):
    out, table = local
    got = sweep(read(_grid(tmp_path)), tmp_path / "dask", scheduler=dask_scheduler)
    assert got.equals(table)
    assert pq.read_table(tmp_path / "dask" / "results.parquet").equals(table)
    assert (tmp_path / "dask" / "results.csv").read_bytes() == \
        (out / "results.csv").read_bytes()


def test_resume_after_a_kill_runs_only_the_missing_rows_and_gives_the_same_table(
        local, tmp_path):
    out, table = local
    grid, target = _grid(tmp_path), tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    cmd = [sys.executable, "-m", "engine.cli", "sweep", str(grid), "--out", str(target),
           "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    results = target / "results.parquet"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and \
            not (results.exists() and pq.read_table(results).num_rows >= 1):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)         # the sweep and its pool, mid-sweep
    proc.wait()
    kept = pq.read_table(results).num_rows
    assert 1 <= kept < 4
    # without --resume the directory is refused; with it only the missing rows run
    assert main(["sweep", str(grid), "--out", str(target)]) == 2
    r = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count(": ok") == 4 - kept
    assert pq.read_table(results).equals(table)
    assert (target / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_resume_refuses_a_directory_holding_another_grid(local, tmp_path):
    out, _ = local
    other = read(_grid(tmp_path, SMALL.replace("[0]", "[2]")))
    with pytest.raises(ConfigError, match="another grid"):
        sweep(other, out, workers=1, resume=True)


def test_the_sweep_chart_draws_the_mean_per_policy_and_value_with_the_min_max_over_seeds():
    from engine.outputs.sweepcharts import points, varying
    rows = [{"status": "ok", "breaker": b, "k": k, "seed": s, "m": 10 * k + s + (b == "luld")}
            for b in ("none", "luld") for k in (5, 3) for s in (0, 1, 2)]
    rows.append({"status": "failed", "breaker": "none", "k": 3, "seed": 9, "m": None})
    got = points(rows, "k", "m")
    assert got["none"][1:5] == ([3, 5], [31.0, 51.0], [30, 50], [32, 52])
    assert got["luld"][1:5] == ([3, 5], [32.0, 52.0], [31, 51], [33, 53])
    assert varying(rows + [{"status": "ok", "c": 1}], ["m", "c"]) == ["m"]


def _rows(keys, values, seeds=(0, 1), breakers=("none", "luld"), m=None):
    """Ok rows of a grid: every breaker x value combination of ``keys`` x seed; metric
    ``m`` from ``m(row)``."""
    import itertools
    out = []
    for b in breakers:
        for combo in itertools.product(*values):
            for s in seeds:
                r = {"status": "ok", "breaker": b, "seed": s, **dict(zip(keys, combo))}
                r["m"] = m(r)
                out.append(r)
    return out


def test_a_second_swept_key_splits_the_lines_so_the_band_is_the_seeds_alone():
    from engine.outputs.sweepcharts import points
    keys = ("traders.leverage_median", "breaker.luld.band_pct")
    rows = _rows(keys, [(8, 16), (3, 10)],
                 m=lambda r: r["breaker.luld.band_pct"] * 100 + r["seed"])
    got = points(rows, keys[0], "m", [keys[1]])
    # luld uses the band: one line per band value, each spread over its two seeds only
    assert got["luld, band_pct=3"].lo == [300, 300] and got["luld, band_pct=3"].hi == \
        [301, 301]
    assert got["luld, band_pct=10"].mean == [1000.5, 1000.5]
    # none ignores the band: not split by it (its runs at either band are the same run)
    assert [k for k in got if k.startswith("none")] == ["none"]


def test_a_policy_that_ignores_the_swept_key_is_labelled_so_and_drawn_flat():
    from engine.outputs.sweepcharts import applies, points, sweep_figure
    key = "breaker.luld.band_pct"
    rows = _rows((key,), [(5, 10, 20)], breakers=("none", "luld+liq-pause", "price-band"),
                 m=lambda r: r["seed"] + (r[key] if "luld" in r["breaker"] else 0))
    assert applies("luld+liq-pause", key) and not applies("price-band", key)
    assert applies("none", "traders.count")
    got = points(rows, key, "m")
    assert set(got) == {"none (ignores band_pct)", "luld+liq-pause",
                        "price-band (ignores band_pct)"}
    assert got["none (ignores band_pct)"].mean == [0.5, 0.5, 0.5]
    fig = sweep_figure(rows, key, ["m"], {}, "t")
    assert "price-band (ignores band_pct)" in [t.get_text() for t in fig.legends[0].texts]


def test_a_point_missing_a_failed_run_says_how_many_of_the_grids_runs_it_holds():
    from engine.outputs.sweepcharts import points, sweep_figure
    rows = _rows(("k",), [(1, 2)], breakers=("none",), m=lambda r: r["k"] + r["seed"])
    rows[3] = {**rows[3], "status": "failed", "m": None}        # k=2, seed 1
    got = points(rows, "k", "m")["none"]
    assert (got.n, got.expected) == ([2, 1], [2, 2])
    fig = sweep_figure(rows, "k", ["m"], {}, "t")
    assert [t.get_text() for t in fig.axes[0].texts] == ["1/2"]
    assert "n/m: runs drawn" in fig.legends[0].get_title().get_text()


def test_a_point_of_a_duration_still_open_at_the_end_is_marked_a_lower_bound():
    from engine.outputs.sweepcharts import points, sweep_figure
    rows = _rows(("k",), [(1, 2)], breakers=("none",), m=lambda r: 10)
    for r in rows:
        r["vacuum_seconds"] = 30 + r["k"]
        r["vacuum_open_at_end"] = r["k"] == 2 and r["seed"] == 0
    assert points(rows, "k", "vacuum_seconds")["none"].censored == [False, True]
    assert not any(points(rows, "k", "m")["none"].censored)
    fig = sweep_figure(rows, "k", ["vacuum_seconds"], {}, "t")
    assert "hollow: a lower bound" in fig.legends[0].get_title().get_text()


def test_rows_that_do_not_set_the_key_are_left_out_of_its_numeric_axis():
    from engine.outputs.sweepcharts import points, unset
    rows = _rows(("k",), [(7, 12, 4)], breakers=("luld",), seeds=(0,), m=lambda r: r["k"])
    rows.append({"status": "ok", "breaker": "none", "seed": 0, "k": None, "m": 1})
    assert points(rows, "k", "m")["luld"].xs == [4, 7, 12]
    assert "none" not in points(rows, "k", "m") and unset(rows, "k") == 1


def test_the_sweep_report_charts_each_swept_key_and_rebuilds_byte_for_byte(local):
    out, _ = local
    html = (out / "report.html").read_text()
    assert html.count('<figure class="panel" id="sweep-panel-') == 1
    assert "makers.count (" in html and "<svg" in html and "http://" not in \
        html.replace("http://www.w3.org/", "")
    assert (out / "sweep.png").stat().st_size > 10_000
    first = (out / "report.html").read_bytes()
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").read_bytes() == first


def test_a_swept_breaker_key_that_some_policies_ignore_is_named_with_its_repeated_runs(
        tmp_path, capsys, monkeypatch):
    text = SMALL.replace('"makers.count" = [3, 5]', '"breaker.luld.band_pct" = [5, 10, 20]'
                         ).replace("[0]", "[0, 1]")
    grid = read(_grid(tmp_path, text))
    # none ignores the band: its 6 runs are 2 (one per seed), so 4 repeat another
    assert grid.ignored() == [("breaker.luld.band_pct", ["none"], 4)]
    assert read(_grid(tmp_path, SMALL, "plain.toml")).ignored() == []
    one = SMALL.replace('"makers.count" = [3, 5]', '"breaker.luld.band_pct" = [5]')
    assert read(_grid(tmp_path, one, "one.toml")).ignored() == []   # one value repeats none
    # the CLI's warning, before any run (the runs themselves are not this test's)
    import engine.sweeps.execute as execute
    monkeypatch.setattr(execute, "sweep", lambda *a, **k: pa.table({"status": ["ok"]}))
    monkeypatch.setattr(execute, "finish", lambda *a, **k: None)
    assert main(["sweep", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "o"),
                 "--workers", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "breaker.luld.band_pct changes nothing under none: 4 of " \
        "the 12 runs repeat another" in err


def test_a_sweep_of_an_inverse_instrument_labels_prices_in_its_quote_currency():
    """XBTUSD: money in XBT, prices in USD -- the sweep's chart labels say so too."""
    from engine.outputs.report import sweep_metrics
    _, labels = sweep_metrics([{"quote_currency": "XBT", "instrument": "XBTUSD",
                                "min_price": 3552.0, "bad_debt": 1.0}])
    assert labels["min_price"].endswith("(USD)") and labels["bad_debt"].endswith("(XBT)")


def test_two_swept_keys_ending_alike_are_told_apart_in_the_legend():
    from engine.outputs.sweepcharts import series_label
    row = {"breaker": "price-band", "breaker.luld.band_pct": 5,
           "breaker.price-band.band_pct": 3}
    assert series_label(row, "breaker.luld.band_pct", ["breaker.price-band.band_pct"]) == \
        "price-band, price-band.band_pct=3 (ignores luld.band_pct)"
    assert series_label({"breaker": "none", "k": 1}, "traders.count", ["k"]) == "none, k=1"
