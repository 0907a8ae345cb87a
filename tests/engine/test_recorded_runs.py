"""A recorded run (``replay --data`` / ``compare --data``) as a user meets it: it saves what
reproduces it, its report names the capture, its counters and approximations, and prints a
command that makes the same event log again; breakers compare side by side on recorded data.
Runs on the composed Tardis samples (tests/data/recorded/tardis: a few seconds each)."""
from __future__ import annotations

import html
import json
import os
import re
import shlex
import tomllib

import pytest

from engine.cli import main

T = "tests/data/recorded/tardis/binance-futures_"
DATA = [T + "incremental_book_L2_2024-08-08_BTCUSDT.csv.gz",
        T + "trades_2024-08-08_BTCUSDT.csv.gz", T + "liquidations_2024-08-08_BTCUSDT.csv"]
POPULATION = "tests/data/recorded/recorded-population.toml"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)        # the data paths are given relative, as a user types them


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One recorded run with a population, a breaker and a seed (paths as a user types)."""
    out = tmp_path_factory.mktemp("rec") / "run"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["replay", "--data", *DATA, "--scenario", POPULATION, "--breaker", "luld",
                     "--seed", "3", "--quiet", "--out", str(out)]) == 0
    finally:
        os.chdir(cwd)
    return out


def _pre(page: str, pid: str) -> str:
    return html.unescape(re.search(f'<pre id="{pid}">(.*?)</pre>', page, re.S).group(1))


def test_the_reproduce_command_of_a_recorded_run_gives_a_byte_identical_event_log(
        recorded, tmp_path):
    page = (recorded / "report.html").read_text()
    command = _pre(page, "reproduce-data")
    assert command.startswith("liqsim replay --data " + " ".join(DATA))
    assert f"--scenario {POPULATION}" in command and "--breaker luld --seed 3" in command
    again = tmp_path / "again"
    argv = shlex.split(command.replace(" OUT", f" {shlex.quote(str(again))}"))
    assert main(argv[1:]) == 0
    assert (again / "events.parquet").read_bytes() == (recorded / "events.parquet").read_bytes()


def test_a_recorded_runs_saved_scenario_replays_itself_from_the_data_it_names(
        recorded, tmp_path):
    saved = tomllib.loads((recorded / "scenario.toml").read_text())
    assert saved["run"]["data"] == DATA and saved["run"]["allow_gaps"] is False
    assert saved["run"]["population"] == POPULATION
    assert main(["replay", str(recorded / "scenario.toml"), "--quiet", "--out",
                 str(tmp_path / "a")]) == 0
    assert (tmp_path / "a/events.parquet").read_bytes() == \
        (recorded / "events.parquet").read_bytes()
    again = tomllib.loads((tmp_path / "a/scenario.toml").read_text())
    assert again["run"]["population"] == POPULATION      # its own, not the saved file


def test_replaying_a_saved_run_without_participants_adds_none(tmp_path):
    # The saved file is read as the participants; its [run] names whether there were any.
    assert main(["replay", "--data", *DATA, "--quiet", "--out", str(tmp_path / "a")]) == 0
    assert main(["replay", str(tmp_path / "a/scenario.toml"), "--quiet", "--out",
                 str(tmp_path / "b")]) == 0
    again = tomllib.loads((tmp_path / "b/scenario.toml").read_text())
    assert "population" not in again["run"] and again["run"]["data"] == DATA
    page = (tmp_path / "b/report.html").read_text()
    assert "--scenario" not in _pre(page, "reproduce-data")


def test_a_recorded_scenario_whose_data_is_gone_is_one_line_naming_the_path(
        recorded, tmp_path, capsys):
    text = (recorded / "scenario.toml").read_text().replace(DATA[0], "gone/book.csv.gz")
    (tmp_path / "scenario.toml").write_text(text)
    assert main(["replay", str(tmp_path / "scenario.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run.data: gone/book.csv.gz: no such file" in err
    assert not (tmp_path / "o").exists()


def test_a_recorded_runs_report_names_the_capture_counters_and_approximations(recorded):
    from engine.market.recorded import APPROXIMATIONS
    page = (recorded / "report.html").read_text()
    assert "none recorded in the scenario" not in page and "(not recorded)" not in page
    assert _pre(page, "command").startswith("liqsim replay --data")
    section = page[page.index('<section id="recorded">'):]
    for path in DATA:
        assert html.escape(path) in section
    items = re.findall(r"<li>(.*?)</li>", section[section.index('id="approximations"'):]
                       .split("</ul>")[0])
    assert [html.unescape(x) for x in items] == list(APPROXIMATIONS)
    counters = json.loads((recorded / "summary.json").read_text())["recorded"]["counters"]
    assert counters["liquidations_sent"] == 3
    assert '<tr><th>liquidations_sent</th><td class="num">3</td></tr>' in section
    assert "<tr><th>trades_refused</th>" in section        # shown at 0 too


def test_an_empty_recorded_runs_insurance_fund_is_stated_as_assumed(tmp_path):
    # No feed carries the venue's fund: the 1,000,000 the summary shows is the default.
    from engine.runner import RECORDED_FUND_SOURCE
    out = tmp_path / "run"
    assert main(["replay", "--data", *DATA, "--quiet", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    sources = page[page.index("<th>sources</th>"):].split("</tr>")[0]
    assert 'href="#recorded"' in sources and html.escape(RECORDED_FUND_SOURCE) in sources
    assert "assumed" in (out / "scenario.toml").read_text()
    # Rows the feed cannot measure say why in the report (not a bare "-").
    assert '<p class="note" id="not-measured">' in page and "not measured" in page


def test_a_capture_beside_a_licence_file_is_named_with_it_in_the_report(tmp_path):
    capture = "replays/data/binance-usdm-btcusdt-20240808.gz"
    from engine.runner import _notices
    assert _notices([capture]) == {capture: ["replays/data/LICENSE-hftbacktest"]}
    assert _notices(DATA) == {}


def test_breakers_compare_side_by_side_on_recorded_data_and_report_rebuilds(tmp_path,
                                                                              capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--data", *DATA, "--breakers", "none,xetra-vi", "--quiet",
                 "--out", str(out)]) == 0
    assert {"comparison.json", "comparison.png", "report.html", "none", "xetra-vi"} <= \
        {p.name for p in out.iterdir()}
    assert set(json.loads((out / "comparison.json").read_text())) == {"none", "xetra-vi"}
    assert "xetra-vi: recorded liquidations: 3 sent" in capsys.readouterr().out
    first = (out / "report.html").read_text()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").read_text() == first
    assert _pre(first, "reproduce-data").startswith(
        "liqsim compare --data " + " ".join(DATA) + " --breakers none,xetra-vi")
    single = tmp_path / "one"
    assert main(["replay", "--data", *DATA, "--breaker", "xetra-vi", "--quiet", "--out",
                 str(single)]) == 0
    assert (single / "events.parquet").read_bytes() == \
        (out / "xetra-vi/events.parquet").read_bytes()


def test_a_data_file_given_as_the_scenario_says_to_use_data(tmp_path, capsys):
    for command in ("compare", "replay"):
        assert main([command, DATA[0], "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"use liqsim {command} --data {DATA[0]}" in err


def test_a_folder_of_separate_runs_is_refused_naming_them(tmp_path, capsys):
    for name in ("none", "luld"):
        assert main(["replay", "--data", *DATA, "--breaker", name, "--quiet", "--out",
                     str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "it holds the runs luld, none" in err
