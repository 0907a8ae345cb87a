"""Funding in the loop: off by default, settled on schedule through the ledger, its rate in the
Binance mark's Price 1 (and BitMEX's Fair Price) and in the time series and summary."""
from __future__ import annotations

import pathlib

from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest

import engine
from engine.phases import SECOND
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import EventKind as K


#: The controlled gap (tests/data/gap-drop.toml): the toy these tests were written on,
#: with none of the population's participants on.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[1] / "data" / "gap-drop.toml")

SMALL = Fraction(1, 50)
ON = ["funding.enabled=true", "funding.interval_s=60"]


class FundingChecked(Simulation):
    """Exact conservation after every funding step."""

    steps = 0

    def _funding_step(self, ts):
        super()._funding_step(ts)
        self.exchange.check_conservation()
        FundingChecked.steps += 1


def _each_settlement_sums_to_zero(sim, settled) -> None:
    """The FUNDING_PAID rows of each settlement instant (fund residue included) sum to 0,
    and rows exist only at the instants of ``settled``."""
    per_instant = defaultdict(int)
    for r in sim.log.rows(K.FUNDING_PAID):
        per_instant[r[0]] += r[11]
    assert set(per_instant) == {r[0] for r in settled}
    assert all(v == 0 for v in per_instant.values())


def test_funding_is_off_by_default_no_schedule_no_rows():
    sim = Simulation(load(GAP_DROP, [], SMALL), seed=1)
    assert sim.funding is None
    kinds = set(sim.run().log.kinds())
    assert not kinds & {K.FUNDING_SETTLED, K.FUNDING_PAID}


def test_funding_settles_every_interval_each_settlement_summing_to_zero():
    FundingChecked.steps = 0
    sim = FundingChecked(load(GAP_DROP, ON, SMALL), seed=1).run()
    assert FundingChecked.steps == 240 // 5 + 1     # the 5 s grid holds every funding instant
    settled = [r for r in sim.log.rows(K.FUNDING_SETTLED)]
    assert [r[0] for r in settled] == [60 * SECOND, 120 * SECOND, 180 * SECOND, 240 * SECOND]
    _each_settlement_sums_to_zero(sim, settled)


def test_binance_mark_price1_moves_with_the_funding_rate():
    # A run that starts half-way into a 60 s interval at 0.3 % per 8 h (the cap).
    sc = load(GAP_DROP, ON + ["funding.first_s=30", "funding.start_rate_8h=0.003"], SMALL)
    sim = Simulation(sc, seed=1)
    index = sim.index_ticks
    rate = sim.funding.rate()
    assert rate == Fraction(3, 1000) * 60 / 28_800
    price1 = sim.mark_policy.components(0)[0]
    assert price1 == index * (1 + rate * Fraction(30, 60))         # 30 s of 60 left
    off = Simulation(load(GAP_DROP, [], SMALL), seed=1)
    assert off.mark_policy.components(0)[0] == index
    # After a sample the mark follows the predicted rate.
    sim._funding_step(0)
    assert sim.mark_policy.funding_rate_ppm == sim.funding.rate() * 1_000_000
    assert sim.funding.rate() != rate


def test_time_series_and_summary_carry_the_rate_and_the_payments():
    r = engine.run(GAP_DROP, seed=1, scale=SMALL, overrides=ON)
    ts = r.timeseries
    paid = r.events_array[r.events_array["kind"] == K.FUNDING_PAID]
    longs = int(paid["value"][paid["side"] == 1].sum())
    assert int(ts.column("funding_paid").to_numpy().sum()) == longs != 0
    rates = ts.column("funding_rate_ppb").to_numpy()
    assert rates[0] == 208          # 0.01 % per 8 h over 60 s = 208.3 ppb, rounded
    s = r.summary
    assert s["funding_settlements"] == 4
    assert s["funding_rate_start_ppb"] == 208
    assert (s["funding_rate_min_ppb"], s["funding_rate_max_ppb"]) == (rates.min(), rates.max())
    assert s["funding_paid_total"] == pytest.approx(longs * 1e-8, abs=0.006)
    off = engine.run(GAP_DROP, seed=1, scale=SMALL).summary
    assert off["funding_paid_total"] is None and off["funding_rate_end_ppb"] is None
    assert off["funding_settlements"] == 0


def test_funding_off_leaves_the_funding_columns_zero():
    r = engine.run(GAP_DROP, seed=1, scale=SMALL)
    for name in ("premium_index_ppb", "funding_rate_ppb", "funding_paid"):
        assert not np.any(r.timeseries.column(name).to_numpy())


def test_inverse_funding_settles_in_the_coin_conserving_after_every_step():
    # XBTUSD (money in satoshis): each settlement sums to zero, conservation holds after
    # every funding step, and the mark's Price 1 carries the rate (BitMEX's fair price).
    FundingChecked.steps = 0
    sc = load(GAP_DROP, ON + ["venue.instrument=bitmex:XBTUSD", "funding.first_s=30",
                              "funding.start_rate_8h=0.003"], SMALL)
    sim = FundingChecked(sc, seed=1)
    rate = sim.funding.rate()
    assert sim.mark_policy.components(0)[0] == sim.index_ticks * (1 + rate * Fraction(30, 60))
    sim.run()
    assert FundingChecked.steps > 0
    settled = list(sim.log.rows(K.FUNDING_SETTLED))
    assert [r[0] for r in settled] == [30 * SECOND, 90 * SECOND, 150 * SECOND, 210 * SECOND]
    _each_settlement_sums_to_zero(sim, settled)


def test_fair_price_mark_takes_the_compressed_funding_schedule_as_binance_price1_does():
    # BitMEX's 8 h funding first due at 3 h, run 60x faster: interval 480 s, first at 180 s,
    # the rate per real 8 h.  The Fair Price is exactly Binance's Price 1 in the same run.
    common = ["funding.enabled=true", "funding.interval_s=28800", "funding.first_s=10800",
              "funding.start_rate_8h=0.003", "scenario.time_compression=60",
              "venue.instrument=bitmex:XBTUSD"]
    fair = Simulation(load(GAP_DROP, common + ['venue.mark_policy="fair-price"'], SMALL), seed=1)
    binance = Simulation(load(GAP_DROP, common, SMALL), seed=1)
    assert fair.mark_policy.funding_interval_s == binance.mark_policy.funding_interval_s == 480
    rate = fair.funding.rate()
    assert rate == Fraction(3, 1000)
    price1 = binance.mark_policy.components(0)[0]
    assert fair.mark_policy.fair_price(0) == fair.index_ticks * (1 + rate * Fraction(180, 480))
    assert fair.mark_policy.fair_price(0) == price1
    fair._funding_step(0)      # a premium sample: the mark follows the predicted rate
    assert fair.mark_policy.funding_rate_ppm == fair.funding.rate() * 1_000_000 != rate * 10**6


def test_a_fair_price_run_marks_at_the_index_while_the_book_gaps():
    # Funding off: the basis is 0, so every sampled mark is the index, though the best bid
    # falls more than 10% under it (and the ``last`` mark policy leaves it by over 7%).
    over = ['venue.mark_policy="fair-price"']
    ts = engine.run(GAP_DROP, seed=1, scale=SMALL, overrides=over).timeseries
    mark, index = ts.column("mark").to_numpy(), ts.column("index").to_numpy()
    bid = ts.column("best_bid").to_numpy()
    assert np.array_equal(mark, index)
    assert np.any((bid > 0) & (bid * 10 < index * 9))
    last = engine.run(GAP_DROP, seed=1, scale=SMALL, overrides=['venue.mark_policy="last"'])
    gap = np.abs(last.timeseries.column("mark").to_numpy() - index)
    assert np.any(gap * 100 > index * 7)
