"""The HTML report: self-contained, deterministic, complete; the liquidation map and the
account stories it links are read from the saved runs."""
from __future__ import annotations

import json
import pathlib
import re
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest

import engine
from engine.outputs.account import notable_accounts, story
from engine.outputs.liqmap import liquidation_map
from engine.outputs.panels import PANELS
from engine.outputs.report import REPORT, build_html, write_report
from engine.outputs.saved import load_run
from engine.venue.events import EVENT_DTYPE, EventKind

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")
SMALL = Fraction(1, 50)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """gap-drop under none and luld, saved as ``liqsim compare`` saves it."""
    out = tmp_path_factory.mktemp("cmp") / "cmp"
    comparison = engine.compare(GAP_DROP, ["none", "luld"], seed=1, scale=SMALL)
    comparison.save(out, "liqsim compare gap-drop.toml --breakers none,luld --out cmp")
    return out, comparison


def test_liqsim_report_rebuilds_the_same_bytes(saved):
    out, _ = saved
    first = (out / REPORT).read_bytes()
    write_report(out)                                   # liqsim report DIR
    assert (out / REPORT).read_bytes() == first


def test_the_same_run_twice_gives_a_byte_identical_one_run_report(saved, tmp_path):
    """A second run of the same inputs, saved elsewhere, reports the same bytes; a replay's
    directory reports its one run, without a comparison panel."""
    texts = []
    for name, run in (("a", saved[1].results["luld"][0]),
                      ("b", engine.run(GAP_DROP, breaker="luld", seed=1, scale=SMALL))):
        run.save(tmp_path / name)
        write_report(tmp_path / name, "liqsim replay x --out one", shown="one")
        texts.append((tmp_path / name / REPORT).read_bytes())
    assert texts[0] == texts[1]
    text = texts[0].decode()
    assert 'id="panel-price-run"' in text and 'id="panel-comparison"' not in text
    assert "liqsim replay x --out one" in text and build_html(tmp_path / "a") == text


def test_the_report_loads_nothing_from_outside(saved):
    text = (saved[0] / REPORT).read_text()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<(script|link|iframe|object|embed)\b", text)
    assert "@import" not in text and "http://" not in text.replace(
        "http://www.w3.org/", "") and "https://" not in text
    for ref in re.findall(r'(?:href|src)="([^"]*)"', text):
        assert ref.startswith(("#", "data:image/png;base64,")), ref
    for ref in re.findall(r"url\(([^)]*)\)", text):
        assert ref.startswith("#"), ref


def test_the_report_has_the_summary_facts_every_panel_and_the_command(saved):
    out, comparison = saved
    text = (out / REPORT).read_text()
    assert 'id="summary-table"' in text and 'id="facts-table"' in text
    assert text.count('<tr id="fact-') == 14
    assert 'id="row-fill_failures_count"' in text and "events / second" not in text
    for policy in ("none", "luld"):
        for pid, *_ in PANELS:
            if pid == "queue":          # gap-drop models no capacity: no queue panel
                assert f'id="panel-queue-{policy}"' not in text
                continue
            assert f'id="panel-{pid}-{policy}"' in text, pid
    assert 'id="panel-comparison"' in text
    assert "liqsim compare gap-drop.toml --breakers none,luld --out cmp" in text
    assert "@media print" in text


def test_each_summary_row_carries_the_unit_its_summary_key_states(saved):
    """"reached the book" is a share, not a count (the unit was once guessed from labels)."""
    text = (saved[0] / REPORT).read_text()

    def unit(key):
        row = re.search(rf'<tr id="row-{key}">.*?<td class="unit">([^<]*)</td>', text)
        return row.group(1)
    assert unit("liquidations_through_book_share") == "ratio"
    assert unit("liquidation_fill_ratio") == "ratio" and unit("amplification") == "ratio"
    assert unit("liquidations_count") == "count" and unit("halted_seconds") == "seconds"
    assert unit("liquidations_notional") == "USDT" and unit("book_drawdown_pct") == "%"


def test_every_account_the_report_names_links_to_its_story(saved):
    text = (saved[0] / REPORT).read_text()
    links = set(re.findall(r'href="#(acct-[^"]+)"', text))
    assert links and links <= set(re.findall(r'<details id="(acct-[^"]+)"', text))


def test_a_liquidation_map_level_leaves_when_its_account_is_margin_called():
    levels = pa.table({"account": pa.array([7, 8], pa.uint32()),
                       "side": pa.array([1, -1], pa.int8()),
                       "trigger": pa.array([950, 1050], pa.int64()),
                       "qty": pa.array([2, 3], pa.int64())})
    events = np.zeros(1, dtype=EVENT_DTYPE)
    events[0] = (2_000, 0, int(EventKind.MARGIN_CALL), 1, 0, 7, 0, 0, 0, 950, 2, -1, 0)
    times = np.array([0, 1_000, 2_000, 3_000])
    grid = liquidation_map(levels, events, times, np.array([900, 1000, 1100]), 0.5)
    assert grid[0].tolist() == [950.0, 950.0, 0.0, 0.0]        # 950 x 2 x 0.5, until t = 2000
    assert grid[1].tolist() == [1575.0] * 4                    # 1050 x 3 x 0.5, never called


def test_saved_liquidation_levels_are_where_the_accounts_were_margin_called(saved):
    run = load_run(saved[0] / "none")
    levels = run.levels.to_pydict()
    ev = run.events_array
    calls = ev[ev["kind"] == int(EventKind.MARGIN_CALL)]
    # A stop that traded first changed the account's margin, hence its trigger: left out.
    stopped = set(ev[ev["kind"] == int(EventKind.STOP_TRIGGERED)]["account"].tolist())
    first = {}
    for acct, mark in zip(calls["account"].tolist(), calls["price"].tolist()):
        first.setdefault(acct, mark)
    checked = 0
    for acct, side, trig in zip(levels["account"], levels["side"], levels["trigger"]):
        # a long is deficient at marks <= its trigger, a short at marks >= it
        if acct in first and acct not in stopped:
            assert (first[acct] <= trig) if side > 0 else (first[acct] >= trig)
            checked += 1
    assert checked > 100


def test_an_account_story_follows_its_position_to_zero_through_its_liquidation(saved):
    run = saved[1].results["none"][0]
    (account, _), *_ = notable_accounts(run)[0]
    text = story(run, account).text
    assert "MARGIN CALL" in text and "position at the end: 0.000" in text
    assert str(run.account(account)) == text



def _damage(d: pathlib.Path, how: str) -> str:
    """Damage a copy of a saved comparison (or turn it into a sweep's directory) as a
    hand edit, a truncated write or a foreign file would; return the file to be named."""
    import pyarrow.parquet as pq
    if how.startswith("sweep"):
        (d / "sweep.json").write_text('{"runs": [], "keys": []}' if how != "sweep-json"
                                      else "{")
        (d / "comparison.json").unlink()
        if how == "sweep-results-foreign":
            pq.write_table(pa.table({"x": [1]}), str(d / "results.parquet"))
            return "results.parquet"
        if how == "sweep-json":
            (d / "results.parquet").write_text("garbage")
            return "sweep.json"
        return "results.parquet"                    # sweep-no-results: none written
    if how == "summary-not-measured":               # the table reads its reasons
        summary = json.loads((d / "none" / "summary.json").read_text())
        summary["not_measured"] = "x"
        (d / "none" / "summary.json").write_text(json.dumps(summary))
        return "none/summary.json"
    if how == "report-json-truncated":
        (d / "report.json").write_text('{"command": "liqsim')
        return "report.json"
    if how == "report-json-list":
        (d / "report.json").write_text("[1]")
        return "report.json"
    (d / "report.json").unlink()                     # policies from comparison.json
    if how == "comparison-json-truncated":
        (d / "comparison.json").write_text("{")
        return "comparison.json"
    if how == "comparison-policy-missing":
        (d / "comparison.json").write_text('{"nosuch": {}}')
        return "nosuch"
    import shutil                                    # a seed directory not seed-N
    shutil.rmtree(d / "none")
    (d / "none" / "seed-x").mkdir(parents=True)
    return "none"


@pytest.mark.parametrize("how", ["summary-not-measured", "report-json-truncated", "report-json-list",
                                 "comparison-json-truncated", "comparison-policy-missing",
                                 "seed-directory-not-numbered", "sweep-json",
                                 "sweep-results-foreign", "sweep-no-results"])
def test_liqsim_report_of_a_damaged_saved_directory_is_one_line_naming_the_file_exit_2(
        saved, tmp_path, capsys, how):
    import shutil

    from engine.cli import main
    d = tmp_path / "cmp"
    shutil.copytree(saved[0], d)
    (d / REPORT).unlink()
    named = _damage(d, how)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"liqsim: error: {d / named}"), err
    assert not (d / REPORT).exists()
