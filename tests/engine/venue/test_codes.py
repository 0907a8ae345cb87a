"""The event log's column table (``engine.venue.codes.COLUMNS``) and its code spaces
(``REASON_SPACE``) are what whole runs actually write: every column a kind does not list is
0, and every ``reason`` belongs to its kind's space."""
from __future__ import annotations

import pathlib
from fractions import Fraction

import pytest

from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.codes import COLUMNS, REASON_SPACE, REJECT_CODES, BreakerReason, EngineReason
from engine.venue.events import EVENT_DTYPE, EventKind

FILLABLE = [n for n in EVENT_DTYPE.names if n not in ("ts", "seq", "kind")]
#: Between them these runs write every kind but BadDebt, CollateralSeized and Withdrew
#: (flash-drop has no collateral or withdrawals, and ADL absorbs every shortfall).
RUNS = [("luld+liq-pause", []), ("cme-velocity", []), ("cde-hourly+liq-pause", []),
        ("liq-throttle", ['venue.insurance_fund="0"']),
        ("none", ['venue.waterfall="hyperliquid"']),
        ("none", ['venue.waterfall="dydx"', 'frictions.outage=[60, 70]']),
        ("none", ["funding.enabled=true", "funding.interval_s=60"])]


def test_every_kind_has_a_row_in_the_column_table_naming_real_columns():
    assert set(COLUMNS) == set(EventKind)
    for kind, columns in COLUMNS.items():
        assert set(columns) <= set(FILLABLE), kind


def test_the_reject_space_holds_the_book_venue_and_breaker_ranges_without_overlap():
    assert 0 in REJECT_CODES and 100 in REJECT_CODES and 121 in REJECT_CODES
    assert all(code < 100 or code >= 110 for code in REJECT_CODES - set(EngineReason))


def test_every_breaker_code_is_one_some_policy_logs():
    # A code no policy uses would promise the reader a refusal the log never holds (112
    # "halted" was one: a halted book refuses with its own MATCHING_HALTED).
    root = pathlib.Path(__file__).resolve().parents[3] / "engine"
    users = "".join(p.read_text() for p in sorted((root / "breakers").glob("*.py"))
                    if p.name != "base.py")
    users += (root / "liquidation" / "waterfalls.py").read_text()
    for code in BreakerReason:
        assert f"REASON_{code.name}" in users or f"BreakerReason.{code.name}" in users, code


@pytest.mark.parametrize("breaker,overrides", RUNS)
def test_whole_runs_fill_only_the_columns_their_kinds_list(breaker, overrides):
    sim = Simulation(load("flash-drop", overrides, Fraction(1, 50)), breaker=breaker,
                     seed=4).run()
    log = sim.log.to_array()
    seen = set()
    for kind in set(log["kind"].tolist()):
        rows = log[log["kind"] == kind]
        seen.add(kind)
        for column in FILLABLE:
            if column not in COLUMNS[kind]:
                assert not rows[column].any(), f"{EventKind(kind).name}.{column} is filled"
        spaces = REASON_SPACE.get(kind)
        if spaces is not None:
            allowed = {int(c) for space in spaces for c in space}
            assert set(rows["reason"].tolist()) <= allowed, EventKind(kind).name
    assert EventKind.TRADE in seen and EventKind.MARGIN_CALL in seen


def test_a_seeded_short_is_logged_as_sold_by_its_account_as_the_column_table_says(eng):
    """PositionTransferred: side +1, the account bought from ``other``; -1, it sold to it
    (the table once said account = buyer, which reads a seeded short backwards)."""
    ex = eng.exchange()
    ex.open_account(0, 1, deposit=10**9)
    ex.seed_positions(0, 0, 1, [(10, 10**6, 7, eng.MARK, 0), (11, 10**6, -5, eng.MARK, 0)])
    rows = eng.rows(ex, EventKind.POSITION_TRANSFERRED)
    assert [(r.side, r.account, r.other, r.qty) for r in rows] == [(1, 10, 1, 7), (-1, 11, 1, 5)]
    assert ex.accounts[11].positions[0].size == -5
    doc = COLUMNS[EventKind.POSITION_TRANSFERRED]
    assert doc["side"].startswith("+1: account bought") and "-1: account sold" in doc["side"]
