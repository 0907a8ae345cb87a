"""Whole runs on inverse instruments: conservation in coin after every step, the BitMEX-style
waterfall (fund takeover, ADL) forming, money reported in the margin currency."""
from __future__ import annotations

import pathlib
from fractions import Fraction

import pytest

import engine
from engine.scenarios.scenario import load
from engine.venue.events import EventKind

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[1] / "data" / "gap-drop.toml")
SMALL = Fraction(1, 50)


def test_conservation_holds_after_every_step_of_a_small_bitmex_xbtusd_run(eng):
    # ``eng.CheckedSimulation`` checks conservation (==) after every risk step and second.
    sim = eng.CheckedSimulation(load(GAP_DROP, ["venue.instrument=bitmex:XBTUSD"], SMALL),
                                seed=1).run()
    kinds = set(sim.log.kinds())
    assert {EventKind.INSURANCE_TAKEOVER, EventKind.AUTO_DELEVERAGED, EventKind.TRADE} <= kinds
    ex = sim.exchange
    assert ex.instruments[0].inverse and ex.instruments[0].margin_currency == "XBT"
    # The fund holds coin: 3,000,000 USD of gap-drop's fund at the 100,000 start = 30 XBT
    # (scaled by 1/50), paid in satoshis.
    assert sim.insurance_fund_start == 30 * 10**8 // 50


def test_an_inverse_run_reports_its_money_in_the_coin_and_is_deterministic():
    a = engine.run(GAP_DROP, scale=SMALL, seed=2, overrides=["venue.instrument=bitmex:XBTUSD"])
    b = engine.run(GAP_DROP, scale=SMALL, seed=2, overrides=["venue.instrument=bitmex:XBTUSD"])
    assert a.summary["quote_currency"] == "XBT"
    assert a.summary["liquidations_count"] > 0
    assert a.events_array.tobytes() == b.events_array.tobytes()


@pytest.mark.slow
def test_conservation_holds_after_every_step_of_a_binance_coin_m_run(eng):
    sim = eng.CheckedSimulation(load(GAP_DROP, ["venue.instrument=binance:BTCUSD_PERP"],
                                     Fraction(1, 5)), seed=3).run()
    assert EventKind.LIQUIDATION_ORDER in set(sim.log.kinds())
