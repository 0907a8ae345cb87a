"""A maker's ladder is the documented per-level formula: prices, sizes and order."""
from __future__ import annotations

import pathlib

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.makers import level_factors, level_notionals, quote_ladder
from engine.venue.rounding import ceil_f

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")



def _by_level(fair, side, first_bps, spacing_bps, levels, per):
    """Level k at fair x (1e4 - side x (first + k x spacing)) / 1e8, bids rounded down and
    asks up, per // price lots; non-positive prices or sizes left out; first level wins."""
    want = {}
    for k in range(levels):
        exact = fair * (10_000 - side * (first_bps + k * spacing_bps))
        price = exact // 10**8 if side > 0 else -(-exact // 10**8)
        if price > 0 and per // price > 0 and price not in want:
            want[price] = per // price
    return want


@settings(max_examples=500, deadline=None)
@given(index=st.integers(1, 10**9), basis=st.integers(-10_000, 10_000),
       side=st.sampled_from([1, -1]), first=st.integers(0, 10_000),
       spacing=st.integers(1, 10_000), levels=st.integers(0, 60),
       per=st.integers(0, 10**15))
def test_quote_ladder_equals_the_per_level_formula_in_prices_sizes_and_order(
        index, basis, side, first, spacing, levels, per):
    fair = index * (10_000 + basis)
    got = quote_ladder(fair, side, level_factors(side, first, spacing, levels),
                       [per] * levels)
    want = _by_level(fair, side, first, spacing, levels, per)
    assert list(got.items()) == list(want.items())


def test_bids_round_down_and_asks_round_up_away_from_fair():
    fair = 100_003 * 10_000          # index 100,003 ticks, no basis
    bids = quote_ladder(fair, 1, level_factors(1, 1, 5, 3), [10**12] * 3)
    asks = quote_ladder(fair, -1, level_factors(-1, 1, 5, 3), [10**12] * 3)
    assert list(bids) == [99_992, 99_942, 99_892]      # 100,003 x 0.9999 = 99,992.9997
    assert list(asks) == [100_014, 100_064, 100_114]   # 100,003 x 1.0001 = 100,013.0003


def test_level_notionals_split_each_band_increment_among_its_levels():
    distances = [1, 6, 11, 16, 21, 26]              # bps from fair
    got = level_notionals(distances, [(10, 1_000), (Fraction(45, 2), 4_000)])
    # <= 10 bps: 2 levels share 1,000; (10, 22.5]: 3 levels share 3,000; beyond: the last.
    assert got == [500, 500, 1_000, 1_000, 1_000, 1_000]


@given(first=st.integers(0, 200), spacing=st.integers(1, 60), levels=st.integers(1, 60),
       notional=st.integers(1, 10**15))
def test_one_band_at_one_percent_gives_every_level_the_same_share(first, spacing, levels,
                                                                 notional):
    """``depth_1pct`` (one band at 100 bps): the levels inside share it equally and every
    level beyond carries the same size -- the profile before bands existed."""
    distances = [first + k * spacing for k in range(levels)]
    inside = sum(d <= 100 for d in distances)
    got = level_notionals(distances, [(100, notional)])
    assert got == [notional // inside if inside else 0] * levels


def test_makers_quote_the_configured_depth_within_each_band():
    from engine.scenarios.scenario import load
    from engine.simulation import Simulation
    sim = Simulation(load(GAP_DROP, ["index.noise_bps=0",
                                         'makers.depth_bands=[[0.5, "4000000"], '
                                         '[1, "10000000"], [2, "16000000"]]'],
                          Fraction(1, 50)), seed=1)
    for maker in sim.makers:
        maker.wake(0)
    ins, book = sim.instrument, sim.exchange.books[0]
    fair = sim.index_ticks
    levels = sim.scenario.makers.levels * len(sim.makers)
    for pct, target in ((Fraction(1, 2), 4_000_000), (1, 10_000_000), (2, 16_000_000)):
        edge = ceil_f(fair * (1 - Fraction(pct) / 100))       # the lowest bid inside
        lots_ticks = book.depth_notional(1, edge)
        quote = Fraction(lots_ticks * ins.tick_lot_quanta, ins.quanta_per_unit)
        target = Fraction(target, 50)       # the scale
        # Each level rounds down to whole lots: at most one lot's notional short.
        assert target - levels * Fraction(fair * ins.tick_lot_quanta, ins.quanta_per_unit) \
            < quote <= target, (pct, float(quote), float(target))


@settings(max_examples=200, deadline=None)
@given(calls=st.lists(st.tuples(st.integers(0, 2), st.sampled_from([1, -1]),
                                st.integers(99_990, 100_010), st.sampled_from([500_000, 10**6])),
                      max_size=30))
def test_a_shared_ladder_memo_returns_what_each_maker_would_compute_itself(calls):
    from engine.market.makers import LadderMemo
    memo = LadderMemo()
    shapes = []
    for k in range(3):     # shapes 0 and 2 are alike: they must share one id
        factors = {s: level_factors(s, 1 + (k == 1), 5, 8) for s in (1, -1)}
        notionals = [10**12 * (1 + j) for j in range(8)]
        shapes.append((memo.shape_id(factors, notionals), factors, notionals))
    assert shapes[0][0] == shapes[2][0] != shapes[1][0]
    for k, side, index, factor in calls:
        shape, factors, notionals = shapes[k]
        pers = [q * factor // 1_000_000 for q in notionals]
        want, items = memo.quotes(shape, side, index * 10_000, factor, factors[side], pers)
        expect = quote_ladder(index * 10_000, side, factors[side], pers)
        assert want == expect and items == list(expect.items())


def test_a_maker_whose_account_is_margin_called_withdraws_for_the_rest_of_the_run():
    from engine.phases import SECOND, Phase
    from engine.scenarios.scenario import load
    from engine.simulation import Simulation
    from engine.venue.codes import WithdrawalReason
    from engine.venue.events import EventKind
    sim = Simulation(load(GAP_DROP, ["index.noise_bps=0", "flows=[]", "stubs=[]"],
                          Fraction(1, 50)), seed=1)
    maker = sim.makers[0].account_id
    sim.schedule(10 * SECOND, Phase.RISK, lambda ts: sim.exchange.margin_called.setdefault(
        maker, ts))
    sim.run()
    out = [r for r in sim.log.rows(EventKind.MAKER_WITHDREW) if r[5] == maker]
    assert out and all(r[0] >= 10 * SECOND for r in out)
    assert {int(r[-1]) for r in out} == {WithdrawalReason.LIQUIDATED}
    later = [r for r in sim.log.rows(EventKind.ORDER_ACCEPTED)
             if r[5] == maker and r[0] > 12 * SECOND]
    assert later == []                       # never quotes again
    assert not sim.exchange.accounts[maker].open_orders
    others = {r[5] for r in sim.log.rows(EventKind.ORDER_ACCEPTED) if r[0] > 12 * SECOND}
    assert sim.makers[1].account_id in others


def test_the_liquidation_engine_records_every_account_it_margin_calls():
    from engine.scenarios.scenario import load
    from engine.simulation import Simulation
    from engine.venue.events import EventKind
    sim = Simulation(load(GAP_DROP, [], Fraction(1, 50)), seed=1).run()
    called = {r[5] for r in sim.log.rows(EventKind.MARGIN_CALL)}
    assert called and called == set(sim.exchange.margin_called)
