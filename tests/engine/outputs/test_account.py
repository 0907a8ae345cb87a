"""One account's story (``engine.outputs.account``): what a reader of ``liqsim account``
sees."""
from __future__ import annotations

import re

import pytest

import engine
from engine.outputs.account import story
from engine.venue.accounts import INSURANCE_ID
from engine.venue.events import EventKind


@pytest.fixture(scope="module")
def run():
    return engine.run("flash-drop", seed=0, scale=0.02)


def test_a_funding_payment_under_a_cent_reads_in_full_not_as_zero(run):
    """The venue logs no zero payment (``Exchange`` skips them), so "funding paid 0.00 USDT"
    was a real payment rounded away (the fund's residues are a few 1e-8 USDT)."""
    text = story(run, INSURANCE_ID).text
    funding = [line for line in text.splitlines() if " funding " in line]
    assert funding and not any(re.search(r"funding \w+ -?0\.00 ", line) for line in funding)
    ev = run.events_array
    first = ev[(ev["kind"] == int(EventKind.FUNDING_PAID)) & (ev["account"] == INSURANCE_ID)][0]
    assert f"funding received 0.{abs(int(first['value'])):08d}".rstrip("0") in funding[0]


def test_the_insurance_fund_is_named_in_a_story_not_numbered(run):
    ev = run.events_array
    taken = int(ev[ev["kind"] == int(EventKind.INSURANCE_TAKEOVER)]["account"][0])
    text = story(run, taken).text
    assert "(to the insurance fund)" in text and str(INSURANCE_ID) not in text
    assert story(run, INSURANCE_ID).text.startswith(
        f"the insurance fund (account {INSURANCE_ID}): ")


def test_liqsim_account_of_an_id_no_row_names_is_bad_input_one_line_exit_2(run, tmp_path,
                                                                           capsys):
    # It printed "no row of the event log names it" on stdout and exited 0.
    from engine.cli import main
    run.save(tmp_path / "run")
    for unknown in ("999999999", str(2**70)):
        assert main(["account", str(tmp_path / "run"), unknown]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith(f"liqsim: error: {tmp_path / 'run'}: ID: no row of "
                                       f"the event log names account {unknown};")
    assert main(["account", str(tmp_path / "run"), "3"]) == 0
    assert capsys.readouterr().out.startswith("account 3: ")
