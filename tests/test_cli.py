"""The ``liqsim`` command as a user runs it: outputs, exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from engine.cli import main

SMALL = ["--scale", "0.02"]


ROOT = pathlib.Path(__file__).resolve().parents[1]


def liqsim(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_replay_writes_summary_timeseries_events_and_resolved_scenario(tmp_path):
    out = tmp_path / "run"
    r = liqsim("replay", "flash-drop", *SMALL, "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == \
        ["events.parquet", "liquidation_levels.parquet", "report.html", "report.json",
         "scenario.toml", "summary.json", "timeline.png", "timeseries.parquet"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "flash-drop" and summary["seed"] == 3
    assert "amplification" in r.stdout and "fill failures" in r.stdout


@pytest.mark.parametrize("breaker", ["none", "liq-throttle"])
def test_the_resolved_scenario_replays_to_the_same_event_log(tmp_path, breaker):
    """Also where a breaker's cap is in quote and shrinks with --scale (liq-throttle): the
    resolved file holds the scaled cap, so replaying it at scale 1 defers the same units."""
    import pyarrow.parquet as pq
    first, second = tmp_path / "a", tmp_path / "b"
    # A cap the reduced run's liquidations reach (1M quote a second at full scale).
    cap = ["--set", "breaker.liq-throttle.max_notional_per_s=1000000"]
    assert main(["replay", "flash-drop", *SMALL, "--breaker", breaker, *cap,
                 "--out", str(first)]) == 0
    assert main(["replay", str(first / "scenario.toml"), "--breaker", breaker,
                 "--out", str(second)]) == 0
    assert pq.read_table(first / "events.parquet").equals(pq.read_table(second / "events.parquet"))
    if breaker == "liq-throttle":
        assert json.loads((first / "summary.json").read_text())["liquidations_deferred"] > 0


def test_a_saved_scenario_replays_its_run_with_no_flags_breaker_seed_and_scale_included(
        tmp_path):
    """The resolved file records the breaker, seed and scale: replaying it as it is gives
    the same events (before, it ran with no breaker and seed 0)."""
    import pyarrow.parquet as pq
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["replay", "flash-drop", "--scale", "1/50", "--breaker", "luld+liq-pause",
                 "--seed", "7", "--out", str(first)]) == 0
    assert main(["replay", str(first / "scenario.toml"), "--out", str(second)]) == 0
    assert pq.read_table(first / "events.parquet").equals(pq.read_table(second / "events.parquet"))
    again = json.loads((second / "summary.json").read_text())
    assert (again["breaker"], again["seed"], again["scale"]) == ("luld+liq-pause", 7, 0.02)
    assert 'scale = "1/50"' in (second / "scenario.toml").read_text()


def test_a_set_for_a_policy_the_run_does_not_use_is_a_warning_on_stderr(tmp_path):
    r = liqsim("replay", "flash-drop", *SMALL, "--breaker", "luld",
               "--set", "breaker.cme-dcb.preopen_s=60", "--set", "breaker.luld.pause_s=60",
               "--out", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "breaker.cme-dcb.preopen_s=60" in warnings[0]


def test_compare_over_seeds_shows_the_mean_and_range_of_every_row(tmp_path):
    out = tmp_path / "cmp"
    gap = str(ROOT / "tests" / "data" / "gap-drop.toml")        # the small fixture: quick
    r = liqsim("compare", gap, *SMALL, "--breakers", "none,luld", "--seeds", "0-2",
               "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "seeds 0-2: mean (min-max)" in r.stdout
    data = json.loads((out / "comparison.json").read_text())
    none = data["none"]
    assert none["seeds"] == [0, 1, 2] and sorted(none["runs"]) == ["0", "1", "2"]
    counts = [none["runs"][s]["trades_count"] for s in ("0", "1", "2")]
    assert none["range"]["trades_count"] == [min(counts), max(counts)]
    assert none["trades_count"] == round(sum(counts) / 3, 6)
    assert sorted(p.name for p in (out / "luld").iterdir()) == ["seed-0", "seed-1", "seed-2"]


@pytest.mark.parametrize("args,needle", [
    (["replay", "no-such-scenario", "--out", "X"], "no-such-scenario: no such scenario"),
    (["replay", "flash-drop", "--scale", "2", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--scale", "abc", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--seed", "-4", "--out", "X"], "--seed"),
    (["replay", "flash-drop", "--breaker", "magic", "--out", "X"], "unknown policy 'magic'"),
    (["replay", "flash-drop", "--set", "traders.count=-5", "--out", "X"], "traders.count"),
    (["replay", "flash-drop", "--set", "traders.colour=red", "--out", "X"],
     "traders.colour: unknown key"),
    (["replay", "flash-drop", "--set", "nonsense", "--out", "X"], "expected KEY=VALUE"),
    (["replay", "flash-drop", "--set", "venue.insurance_fund=1e15", "--out", "X"],
     "venue.insurance_fund: expected an amount <="),
    (["replay", "flash-drop", "--scale", "0.01", "--set", "traders.count=1000000", "--set",
      "traders.notional_max=1e10", "--set", "traders.notional_alpha=0.1", "--out", "X"],
     "gross notional"),
    (["replay", "flash-drop", "--set", "traders.notional_max=1e12", "--out", "X"],
     "traders.notional_max: expected an amount <= 10,000,000,000"),
    (["replay", "flash-drop", "--set", "traders.count=1", "--set",
      'traders.notional_min="1000000000"', "--set", 'traders.notional_max="1000000000"',
      "--set", "traders.leverage_median=1", "--set", "traders.leverage_sigma=0",
      "--set", "traders.leverage_min=1", "--set", "traders.spare_margin=100", "--out", "X"],
     "traders.spare_margin"),
    (["replay", "flash-drop"], "--out"),
    # Found by fuzzing: each used to be an internal error, a hang or accepted nonsense.
    (["replay", "flash-drop", "--scale", "1e-10000000", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--set", 'traders.long_share="1e-100000000"', "--out", "X"],
     "traders.long_share: expected a number of size"),
    (["replay", "flash-drop", "--set", "traders.count=" + "[" * 2000 + "]" * 2000, "--out", "X"],
     "nested too deeply"),
    (["replay", "flash-drop", "--set", "facts.when=1979-05-27T07:32:00Z", "--out", "X"],
     "facts.when: expected a string, number"),
    (["replay", "flash-drop", "--set", "traders.leverage_min=50", "--set",
      "traders.leverage_max=2", "--out", "X"], "traders.leverage_min: expected <= leverage_max"),
    (["replay", "flash-drop", "--set", "makers.count=901", "--out", "X"], "makers.count"),
    (["replay", "flash-drop", "--breaker", "cde-hourly", "--set",
      "breaker.cde-hourly.period_s=0", "--out", "X"], "period_s: expected a time > 0"),
    (["replay", "flash-drop", "--set", "traders.notional_alpha=1e-400", "--out", "X"],
     "traders.notional_alpha"),
    (["replay", "flash-drop", "--set", "index.noise_bps=1e30", "--out", "X"], "index.noise_bps"),
    (["replay", "flash-drop", "--set", "venue.fund_limit=1e13", "--out", "X"], "venue.fund_limit"),
    (["replay", "flash-drop", "--set", "shocks=[{at_s=100, index_pct=1e9}]", "--out", "X"],
     "shocks[0].index_pct: expected a percentage <= 1000"),
    (["replay", "flash-drop", "--breaker", "luld+", "--out", "X"], "--breaker"),
    (["replay", "flash-drop", "--breaker", "", "--out", "X"], "--breaker"),
    (["replay", "flash-drop", "--out", ""], "--out"),
    (["replay", "flash-drop", "--set", 'breaker.luld.band_pct="abc"', "--out", "X"],
     "breaker.luld.band_pct"),
    (["replay", "flash-drop", "--set", "flows.0.window=[300, 400]", "--out", "X"],
     "--set flows.0.window: expected to start before duration_s (240)"),
    (["replay", "flash-drop", "--set", "frictions.outage=[250, 260]", "--out", "X"],
     "frictions.outage: expected to start before duration_s"),
    (["replay", "flash-drop", "--set", "scenario.sample_interval_s=3600", "--out", "X"],
     "scenario.sample_interval_s: expected <= duration_s"),
    (["compare", "flash-drop", "--breakers", "luld+liq-pause,luld + liq-pause", "--out", "X"],
     "listed twice"),
    (["compare", "flash-drop", "--breakers", "none,luld,none", "--out", "X"],
     "'none' is listed twice"),
    (["compare", "flash-drop", "--seeds", "3-1", "--out", "X"], "--seeds"),
    (["compare", "flash-drop", "--seeds", "0,0", "--out", "X"], "--seeds"),
    (["compare", "flash-drop", "--seeds", "0-5000", "--out", "X"], "--seeds"),
    (["compare", "flash-drop", "--seed", "1", "--seeds", "0-2", "--out", "X"], "--seeds"),
    (["compare", "flash-drop", "--workers", "0", "--out", "X"], "--workers"),
    (["compare", "--data", "tests/data/gap-drop.toml", "--workers", "2", "--out", "X"],
     "compare --data: expected no SCENARIO, --set, --scale or --workers"),
    (["replay", "flash-drop", "--set", 'run.breaker="magic"', "--out", "X"],
     "run.breaker: unknown policy 'magic'"),
    (["replay", "flash-drop", "--set", "run.seed=-1", "--out", "X"], "run.seed"),
    (["replay", "flash-drop", "--set", 'run.scale="3/2"', "--out", "X"], "run.scale"),
    (["replay", "flash-drop", "--set", "run.colour=1", "--out", "X"], "run.colour: unknown key"),
    # Found by the second fuzzing pass: each used to be an internal error (exit 1).
    (["compare", "flash-drop", "--breakers", "none,,luld", "--out", "X"],
     "--breakers: expected comma-separated policies, got an empty item in 'none,,luld'"),
    (["compare", "flash-drop", "--breakers", "luld,", "--out", "X"], "--breakers: "),
    (["compare", "flash-drop", "--breakers", "none,NONE", "--out", "X"],
     "--breakers: unknown policy 'NONE'"),
    (["replay", "flash-drop", "--set", "traders.count=" + "9" * 5000, "--out", "X"],
     "--set traders.count: expected a value, got an integer of more than"),
    # Numbers in other scripts' digits (Python's int, Decimal and Fraction read them).
    (["replay", "flash-drop", "--scale", "\u0661", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--scale", "1/\u0662", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--seed", "\u0661", "--out", "X"], "--seed"),
    (["sweep", "replays/grids/catalogue.toml", "--workers", "\u0662", "--out", "X"],
     "--workers"),
    (["replay", "flash-drop", "--set", 'venue.insurance_fund="\u0661\u0660"', "--out", "X"],
     "venue.insurance_fund: expected a decimal number (ASCII digits)"),
])
def test_bad_input_is_one_line_on_stderr_exit_2_and_no_output(tmp_path, monkeypatch, capsys,
                                                              args, needle):
    """In-process (``main``), the way the command runs it; a few cases also run as a real
    process below."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main(list(args))
    except SystemExit as exc:       # argparse's own errors exit from inside parse_args
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,needle", [
    (["replay", "no-such-scenario", "--out", "X"], "no-such-scenario: no such scenario"),
    (["replay", "flash-drop", "--scale", "2", "--out", "X"], "--scale"),
    (["replay", "flash-drop", "--set", "traders.count=-5", "--out", "X"], "traders.count"),
])
def test_bad_input_from_a_real_process_is_one_line_exit_2_and_no_output(tmp_path, args, needle):
    r = liqsim(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_broken_scenario_file_names_the_file_and_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\n[traders]\nlong_share = 1.5\n')
    r = liqsim("replay", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert str(bad) in r.stderr and "traders.long_share" in r.stderr and "[0, 1]" in r.stderr
    assert not (tmp_path / "out").exists()


def test_an_integer_too_long_for_python_in_a_scenario_or_grid_file_is_bad_input(tmp_path):
    big = "9" * 5000            # beyond int()'s default limit of 4300 digits
    scenario = tmp_path / "big.toml"
    scenario.write_text(f'[scenario]\nname = "x"\n[traders]\ncount = {big}\n')
    grid = tmp_path / "grid.toml"
    grid.write_text(f'[sweep]\nscenarios = ["flash-drop"]\nseeds = [{big}]\n')
    for args, what in ((["replay", str(scenario)], "a scenario"), (["sweep", str(grid)], "a grid")):
        r = liqsim(*args, "--out", str(tmp_path / "out"))
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{args[1]}: not {what}: an integer of more than" in lines[0]
        assert not (tmp_path / "out").exists()


def test_a_scenario_or_grid_file_that_is_not_utf8_is_named_so_not_as_a_long_integer(
        tmp_path, capsys):
    # UnicodeDecodeError is a ValueError: it was read as "an integer of more than N digits"
    scenario = tmp_path / "latin1.toml"
    scenario.write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    grid = tmp_path / "grid.toml"
    grid.write_bytes(b'[sweep]\nscenarios = ["\xff\xfe"]\n')
    for args in (["replay", str(scenario)], ["sweep", str(grid)]):
        assert main([*args, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err == f"liqsim: error: {args[1]}: not a text (UTF-8) file\n", err
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, named", [
    (["replay", "--data", "", "--out", "OUT"], "--data"),
    (["replay", "", "--out", "OUT"], "scenario"),
    (["compare", " ", "--out", "OUT"], "scenario"),
    (["sweep", "", "--out", "OUT"], "GRID.toml"),
    (["facts", ""], "RUN_DIR"),
    (["report", ""], "DIR"),
    (["account", "", "3"], "RUN_DIR"),
    (["data", "inspect", ""], "PATH")])
def test_an_empty_input_path_is_refused_naming_its_argument_not_the_out(
        tmp_path, capsys, args, named):
    # "" read as the current directory: "--data ''" blamed --out ("OUT: No such file or
    # directory"), a grid or report named no file at all (": cannot read: Is a directory")
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit) as stop:
        main([out if a == "OUT" else a for a in args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == (f"liqsim: error: argument {named}: expected a file or directory path, "
                   f"got an empty one\n"), err
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_toml_is_rejected_with_its_name(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    r = liqsim("replay", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "not valid TOML" in r.stderr and str(bad) in r.stderr


def test_list_names_every_bundled_scenario_and_policy_with_parameters():
    r = liqsim("list")
    assert r.returncode == 0
    assert "flash-drop [TOY]" in r.stdout
    for name in ("none", "price-band", "liq-throttle", "liq-pause"):
        assert f"  {name}:" in r.stdout
    assert "band_pct" in r.stdout and "max_notional_per_s" in r.stdout


def test_compare_writes_one_run_per_policy_and_a_comparison(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "flash-drop", *SMALL, "--breakers", "none,price-band",
                 "--out", str(out)]) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    assert sorted(comparison) == ["none", "price-band"]
    assert (out / "none" / "events.parquet").exists()
    assert (out / "price-band" / "summary.json").exists()
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_on_two_workers_writes_the_runs_it_writes_on_one(tmp_path, capsys):
    """Runs side by side in local processes: each run whole in one process, so the event
    logs and summaries are the same as one after another (wall-clock keys aside)."""
    gap = str(ROOT / "tests" / "data" / "gap-drop.toml")        # the small fixture: quick
    outs = {n: tmp_path / f"w{n}" for n in (1, 2)}
    for n, out in outs.items():
        assert main(["compare", gap, *SMALL, "--breakers", "none,luld", "--seed", "3",
                     "--workers", str(n), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "done (2/2)" in err and err.count(" done (") == 2, err     # the 2-worker run
    wall = {"wall_seconds", "events_per_second"}
    for run in ("none", "luld"):
        one, two = (outs[n] / run for n in (1, 2))
        assert (one / "events.parquet").read_bytes() == (two / "events.parquet").read_bytes()
        s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (one, two))
        assert {k: v for k, v in s1.items() if k not in wall} == \
            {k: v for k, v in s2.items() if k not in wall}, run


def test_compare_into_an_existing_output_replaces_its_runs(tmp_path):
    out = tmp_path / "cmp"
    gap = str(ROOT / "tests" / "data" / "gap-drop.toml")        # the small fixture: quick
    args = ["compare", gap, *SMALL, "--breakers", "none,price-band", "--out", str(out)]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    assert main([*args, "--seed", "5"]) == 0, "a second run into the same --out must work"
    assert json.loads((out / "comparison.json").read_text())["none"]["seed"] == 5
    for name in ("none", "price-band"):
        assert json.loads((out / name / "summary.json").read_text())["seed"] == 5
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp"], "no staging left behind"


def test_a_full_standard_output_is_not_blamed_on_out_and_the_files_are_kept(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "engine.cli", "replay", "flash-drop", *SMALL,
                            "--out", str(out)], stdout=full, stderr=subprocess.PIPE, text=True,
                           env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "liqsim: error: standard output: No space left on device (the files are written)"]
    assert (out / "summary.json").exists()


def test_an_unwritable_out_names_the_out_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = liqsim("replay", "flash-drop", *SMALL, "--out", str(blocker / "run"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{blocker / 'run'}: cannot write output there" in lines[0], lines


@pytest.mark.parametrize("command", [["replay", "flash-drop", *SMALL],
                                     ["sweep", "replays/grids/catalogue.toml"]])
def test_an_out_that_is_a_file_is_refused_before_any_run(tmp_path, monkeypatch, capsys,
                                                         command):
    # Refused up front: the runs never start (they would be lost at the end).
    import engine.runner
    import engine.sweeps.execute

    def no_run(*args, **kwargs):
        raise AssertionError("a run started")
    monkeypatch.setattr(engine.runner, "run", no_run)
    monkeypatch.setattr(engine.sweeps.execute, "executor", no_run)
    blocker = tmp_path / "file"
    blocker.write_text("kept")
    assert main([*command, "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"liqsim: error: {blocker}: exists and is not a directory"]
    assert blocker.read_text() == "kept"


def test_a_closed_stdout_pipe_is_not_an_error(tmp_path):
    """``liqsim replay ... | head -1``: the files are written; no error line, exit 0."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "replay", "flash-drop",
                             *SMALL, "--out", str(tmp_path / "run")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()                 # the reader is gone before anything is printed
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and err == ""
    assert (tmp_path / "run" / "summary.json").exists()


def test_an_internal_failure_exits_1_with_one_line_and_no_output(tmp_path, monkeypatch, capsys):
    import engine.runner as run_module

    def boom(*a, **k):
        raise RuntimeError("simulated bug")
    monkeypatch.setattr(run_module, "run", boom)
    assert main(["replay", "flash-drop", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error" in err[0]
    assert not (tmp_path / "o").exists()


def test_liqsim_report_rebuilds_the_replay_report_byte_for_byte_and_account_tells_a_story(
        tmp_path):
    gap = str(ROOT / "tests" / "data" / "gap-drop.toml")
    out = tmp_path / "run"
    r = liqsim("replay", gap, "--scale", "0.02", "--seed", "1", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    first = (out / "report.html").read_bytes()
    assert b"liqsim replay " + gap.encode() + b" --scale 0.02" in first
    (out / "report.html").unlink()
    r = liqsim("report", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").read_bytes() == first
    account = int(first.split(b'href="#acct-run-', 1)[1].split(b'"', 1)[0])
    r = liqsim("account", str(out), str(account))
    assert r.returncode == 0 and r.stdout.startswith(f"account {account}: ")
    assert "MARGIN CALL" in r.stdout


def test_liqsim_report_of_a_directory_without_runs_is_bad_input(tmp_path):
    r = liqsim("report", str(tmp_path))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "summary.json" in r.stderr
    r = liqsim("account", str(tmp_path / "nothing"), "5")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def _no_runs(monkeypatch):
    import engine.demo
    import engine.runner

    def no_run(*args, **kwargs):
        raise AssertionError("a run started")
    for name in ("run", "compare", "run_recorded", "compare_recorded"):
        monkeypatch.setattr(engine.runner, name, no_run)
    monkeypatch.setattr(engine.demo, "run_demo", no_run)


@pytest.mark.parametrize("command,marker,holds", [
    (["replay", "flash-drop"], "comparison.json", "holds a comparison (comparison.json)"),
    (["replay", "flash-drop"], "sweep.json", "holds a sweep (sweep.json)"),
    (["compare", "flash-drop", "--breakers", "none,luld"], "summary.json",
     "holds a replay's run (summary.json)"),
    (["compare", "flash-drop", "--breakers", "none,luld"], "sweep.json",
     "holds a sweep (sweep.json)"),
    (["sweep", "grid.toml"], "summary.json", "holds a replay's run (summary.json)"),
    (["sweep", "grid.toml"], "comparison.json", "holds a comparison (comparison.json)")])
def test_an_out_holding_another_kind_of_saved_run_is_refused_before_any_run(
        tmp_path, monkeypatch, capsys, command, marker, holds):
    """A replay into a comparison's directory left comparison.json beside its summary.json
    and replaced the comparison's report.html: the two kinds mixed."""
    _no_runs(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    (out / marker).write_text("{}")
    assert main([*command, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{out}: {holds}" in err[0] and "another --out" in err[0], err
    assert [p.name for p in out.iterdir()] == [marker]


@pytest.mark.parametrize("command", [["replay", "flash-drop"],
                                     ["compare", "flash-drop", "--breakers", "none,luld"],
                                     ["demo"]])
def test_an_out_that_cannot_be_written_is_refused_before_any_run(tmp_path, monkeypatch,
                                                                 capsys, command):
    """It was found only when the files were saved: 5.7 s of flash-drop, ~36 s of the main
    comparison, lost.  Under a file, and under a directory that takes no entry (/sys)."""
    _no_runs(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("")
    outs = [blocker / "run"]
    if os.path.isdir("/sys"):          # takes no new entry, even from root
        outs.append(pathlib.Path("/sys/liqsim-run"))
    for out in outs:
        assert main([*command, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{out}: cannot write output there" in err[0], err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_the_help_of_replay_compare_and_demo_names_every_file_they_write(tmp_path, capsys):
    """replay's and compare's help left out report.html and liquidation_levels.parquet;
    demo's said "writes DIR/demo.json" without saying that DIR is --out."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    helps = {cmd: text.split(f" {cmd} ", 1)[1][:400] for cmd in ("replay", "compare", "demo")}
    run, cmp = tmp_path / "run", tmp_path / "cmp"
    gap = str(ROOT / "tests" / "data" / "gap-drop.toml")        # the small fixture: quick
    assert main(["replay", gap, *SMALL, "--quiet", "--out", str(run)]) == 0
    assert main(["compare", gap, *SMALL, "--quiet", "--breakers", "none,luld",
                 "--out", str(cmp)]) == 0
    for cmd, directory in (("replay", run), ("compare", cmp)):
        files = [p.name for p in directory.iterdir() if p.is_file()]
        assert len(files) >= 4 and all(f in helps[cmd] for f in files), (cmd, files, helps[cmd])
    assert "one run per policy (replay's files)" in helps["compare"]
    assert "writes demo.json to --out DIR" in helps["demo"]
