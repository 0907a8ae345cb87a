"""Mark-price policies (engine/venue/marks.py): venue formulas, the one-second sampling grid, the
assumed rules for missing inputs, rounding, the factory, and a hypothesis check against a slow
reference model that recomputes every sample from the raw observations."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.venue.marks import (
    FUNDED_MARKS,
    BinanceMark,
    FairPriceMark,
    HyperliquidMark,
    LastPriceMark,
    MarkPolicy,
    MidMark,
    make_mark_policy,
)

S = 1_000_000_000  # ns per second
H = 3600 * S  # ns per hour


def _book(index: int, basis: int, half_spread: int = 1) -> tuple[int, int]:
    """Best bid/ask whose mid is index + basis."""
    return index + basis - half_spread, index + basis + half_spread


# ------------------------------------------------------------------------------------------
# Binance


def _binance_at_4h(last: int | None) -> BinanceMark:
    # Index 100,000, funding 100 ppm, 4 h of an 8 h interval left at ts = 4 h:
    # Price 1 = 100,000 × (1 + 0.0001 × 4/8) = 100,005.
    # Book 100,010 / 100,020: mid 100,015, one basis sample of +15: Price 2 = 100,015.
    m = BinanceMark(funding_rate_ppm=100)
    m.observe(4 * H, 100_000, 100_010, 100_020, last)
    return m


def test_binance_mark_is_median_of_price1_price2_and_last():
    m = _binance_at_4h(last=100_008)
    assert m.components(4 * H) == (100_005, 100_015, 100_008)
    assert m.mark(4 * H) == 100_008  # last is the middle one
    assert _binance_at_4h(last=100_030).mark(4 * H) == 100_015  # Price 2 is the middle one
    assert _binance_at_4h(last=99_990).mark(4 * H) == 100_005  # Price 1 is the middle one


def test_binance_mark_is_an_int_tick():
    mark = _binance_at_4h(last=100_008).mark(4 * H)
    assert type(mark) is int


def _binance_ramp(window_s: int, seconds: int) -> BinanceMark:
    # Index 1,000; at second k the mid is 1,000 + k (basis k); no funding, last far above so
    # Price 2 (>= Price 1 = 1,000) is the median.
    m = BinanceMark(window_s=window_s)
    for k in range(seconds):
        bid, ask = _book(1_000, k)
        m.observe(k * S, 1_000, bid, ask, 10**9)
    return m


def test_binance_basis_average_uses_the_last_30_one_second_samples():
    m = _binance_ramp(window_s=30, seconds=40)
    # Seconds 10..39 are the last 30 samples: mean basis (10 + 39) / 2 = 24.5.
    p1, p2, _ = m.components(39 * S)
    assert p1 == 1_000
    assert p2 == Fraction(2049, 2)  # 1,024.5
    assert m.mark(39 * S) == 1_024  # half to even
    # A 60-sample window would have averaged seconds 0..39 instead: 19.5.
    assert _binance_ramp(window_s=60, seconds=40).components(39 * S)[1] == Fraction(2039, 2)


def test_binance_default_window_is_30_seconds():
    default = BinanceMark()
    explicit = _binance_ramp(window_s=30, seconds=40)
    for k in range(40):
        bid, ask = _book(1_000, k)
        default.observe(k * S, 1_000, bid, ask, 10**9)
    assert default.mark(39 * S) == explicit.mark(39 * S) == 1_024


def test_binance_window_60_was_the_rule_before_2025_09_18():
    old = _binance_ramp(window_s=60, seconds=90)
    # Seconds 30..89: mean basis 59.5 -> Price 2 = 1,059.5 -> 1,060 (half to even).
    assert old.components(89 * S)[1] == Fraction(2119, 2)
    assert old.mark(89 * S) == 1_060
    new = _binance_ramp(window_s=30, seconds=90)
    # Seconds 60..89: mean basis 74.5 -> 1,074.5 -> 1,074.
    assert new.mark(89 * S) == 1_074


def test_price1_term_reproduces_the_2019_example():
    # Tick 0.1: index 10,000.0 = 100,000 ticks; funding 0.03 % = 300 ppm; 4 h left of 8 h.
    # Price 1 = 10,000 × (1 + 0.0003 × 4/8) = 10,001.5 = 100,015 ticks, exactly.
    m = BinanceMark(funding_rate_ppm=300, funding_interval_s=8 * 3600)
    # Book mid = index (Price 2 = 100,000), last above: Price 1 is the median.
    m.observe(4 * H, 100_000, 99_999, 100_001, 100_020)
    p1, p2, last = m.components(4 * H)
    assert p1 == 100_015
    assert p2 == 100_000
    assert m.mark(4 * H) == 100_015


def test_price1_counts_down_to_the_anchored_funding_time_and_rolls_over():
    # Funding at 10 h (and every 8 h from there); index 100,000, rate 800 ppm.
    m = BinanceMark(funding_rate_ppm=800, next_funding_ns=10 * H)
    m.observe(6 * H, 100_000, 99_999, 100_001, None)
    # 4 h left: 100,000 × (1 + 0.0008 × 4/8) = 100,040.
    assert m.components(6 * H)[0] == 100_040
    # At 12 h the next funding is 18 h: 6 h left -> 100,000 × (1 + 0.0008 × 6/8) = 100,060.
    assert m.components(12 * H)[0] == 100_060
    # At the funding instant itself the countdown is 0 (assumed): Price 1 = index.
    assert m.components(18 * H)[0] == 100_000


def test_price1_divides_by_the_symbols_own_funding_interval_assumed():
    # 4 h interval, 1 h left, 400 ppm: 100,000 × (1 + 0.0004 × 1/4) = 100,010.
    m = BinanceMark(funding_rate_ppm=400, funding_interval_s=4 * 3600)
    m.observe(3 * H, 100_000, 99_999, 100_001, None)
    assert m.components(3 * H)[0] == 100_010


def test_set_funding_changes_price1():
    m = BinanceMark()
    m.observe(4 * H, 100_000, 99_999, 100_001, None)
    assert m.components(4 * H)[0] == 100_000
    m.set_funding(-300)
    assert m.components(4 * H)[0] == 99_985  # 100,000 × (1 − 0.0003 × 4/8)


def test_binance_missing_last_price_takes_the_mean_of_price1_and_price2_assumed():
    m = BinanceMark()
    bid, ask = _book(1_000, 3)
    m.observe(0, 1_000, bid, ask, None)
    # Price 1 = 1,000, Price 2 = 1,003, no last: (1,000 + 1,003) / 2 = 1,001.5 -> 1,002.
    assert m.components(0) == (1_000, 1_003, None)
    assert m.mark(0) == 1_002


def test_binance_sample_for_a_second_is_the_latest_observation_at_or_before_it():
    m = BinanceMark()
    m.observe(S // 2, 1_000, *_book(1_000, 10), 10**9)  # 0.5 s: basis 10
    m.observe(1 * S, 1_000, *_book(1_000, 20), 10**9)  # 1.0 s: basis 20 (on the grid)
    m.observe(1 * S + S // 5, 1_000, *_book(1_000, 30), 10**9)  # 1.2 s: basis 30
    # The first grid second is 1 s; its sample is the 1.0 s observation (basis 20).
    assert m.components(S + 9 * S // 10)[1] == 1_020
    # Second 2 samples the 1.2 s observation: mean(20, 30) = 25.
    assert m.components(2 * S)[1] == 1_025
    # Another observation at exactly 2 s still counts for second 2: mean(20, 40) = 30.
    m.observe(2 * S, 1_000, *_book(1_000, 40), 10**9)
    assert m.components(2 * S)[1] == 1_030
    assert m.mark(2 * S + 1) == 1_030


def test_binance_missed_seconds_carry_the_last_observation_forward():
    m = BinanceMark()
    m.observe(0, 1_000, *_book(1_000, 10), 10**9)
    m.observe(5 * S, 1_000, *_book(1_000, 40), 10**9)
    # Seconds 0..4 carry basis 10, second 5 is 40: (5 × 10 + 40) / 6 = 15.
    assert m.components(5 * S)[1] == 1_015
    # One day later the whole 30-second window is the carried 40.
    assert m.components(5 * S + 86_400 * S)[1] == 1_040
    assert m.mark(5 * S + 86_400 * S) == 1_040


def test_binance_second_with_an_empty_book_side_adds_no_basis_sample_assumed():
    m = BinanceMark()
    m.observe(0, 1_000, *_book(1_000, 10), 10**9)
    m.observe(S // 2, 1_000, None, 1_011, 10**9)  # bid side empty from 0.5 s
    m.observe(2 * S + S // 2, 1_000, *_book(1_000, 30), 10**9)
    # Second 0: 10; seconds 1 and 2: no sample; second 3: 30 -> mean 20.
    assert m.components(3 * S)[1] == 1_020


def test_binance_basis_sample_older_than_the_window_leaves_it_assumed():
    """oct-2025-alt: samples from before its book emptied set the mark 7 minutes later, 4-56%
    off the index, and liquidated longs solvent at the index.  A sample leaves the 30-second
    window whether or not a newer one came; with none in it the basis is 0."""
    m = BinanceMark()
    m.observe(0, 1_000, *_book(1_000, 10), 1_004)
    m.observe(S // 2, 1_000, None, 1_011, 1_004)
    assert m.components(29 * S) == (1_000, 1_010, 1_004)    # second 0 is in 0..29
    assert m.components(30 * S) == (1_000, 1_000, 1_004)    # and not in 1..30
    assert m.mark(31 * S) == 1_000


def test_binance_a_stale_last_trade_cannot_pin_the_mark_while_the_book_has_no_mid():
    """A halted or one-sided book for two minutes while the index falls 10%: the mark
    follows the index (Price 1 and Price 2 move with it), not halfway to the stale last."""
    m = BinanceMark()
    m.observe(0, 1_000, *_book(1_000, 4), 1_004)
    for k in range(1, 121):
        m.observe(k * S, 1_000 - k * 100 // 120, None, None, 1_004)
    p1, p2, last = m.components(120 * S)
    assert (p1, p2, last) == (900, 900, 1_004)
    assert m.mark(120 * S) == 900           # the mean of Price 1 and last would read 952
    assert BinanceMark().mark(0) is None


def test_binance_has_no_mark_before_the_first_observation():
    m = BinanceMark()
    assert m.mark(0) is None


# ------------------------------------------------------------------------------------------
# Hyperliquid


def test_hyperliquid_ema_matches_the_documented_update_rule():
    m = HyperliquidMark()
    m.observe(0, 1_000, *_book(1_000, 10), None, 900)  # second 0: basis 10
    m.observe(1 * S, 1_000, *_book(1_000, 20), None, 900)  # second 1: basis 20
    m.observe(2 * S, 1_000, None, 1_021, None, 900)  # second 2: no bid, skipped
    m.observe(2 * S + S // 2, 1_000, 1_039, 1_041, 2_000, 900)  # second 3: basis 40
    # By hand, with the docs' rule num <- num·exp(-t/150) + sample·t, den <- den·exp(-t/150) + t:
    q1 = math.exp(-1 / 150)
    num, den = 10.0 * 1, 1.0  # first sample, t = 1 (assumed)
    num, den = num * q1 + 20.0 * 1, den * q1 + 1  # t = 1
    q2 = math.exp(-2 / 150)
    num, den = num * q2 + 40.0 * 2, den * q2 + 2  # t = 2 (second 2 skipped)
    ema = num / den
    # = (10·e^(-3/150) + 20·e^(-2/150) + 80) / (e^(-3/150) + e^(-2/150) + 2) ≈ 27.61239
    assert ema == pytest.approx(27.61239, abs=1e-5)
    in1, in2, in3, _ = m.components(3 * S)
    assert in1 == 1_000 + Fraction(ema)
    assert in2 == 1_041  # median(1,039, 1,041, 2,000)
    assert in3 == 900
    assert m.mark(3 * S) == 1_028  # median(1,027.61, 1,041, 900) = input 1


def test_hyperliquid_mark_is_median_of_the_three_inputs():
    m = HyperliquidMark()
    m.observe(0, 1_000, 1_004, 1_006, 1_010, 1_100)
    # input 1 = 1,000 + 5 (one sample), input 2 = median(1,004, 1,006, 1,010) = 1,006,
    # input 3 = 1,100.
    assert m.components(0)[:3] == (1_005, 1_006, 1_100)
    assert m.mark(0) == 1_006
    m.observe(0, 1_000, 1_004, 1_006, 1_010, 1_003)
    assert m.mark(0) == 1_005  # now input 1 is the middle one


def test_hyperliquid_two_inputs_add_the_30s_ema_of_input_2():
    m = HyperliquidMark()
    m.observe(0, 1_000, 999, 1_001, 1_000)  # basis 0, input 2 = 1,000
    m.observe(1 * S, 1_000, 1_099, 1_101, 1_100)  # basis 100, input 2 = 1,100
    q150, q30 = math.exp(-1 / 150), math.exp(-1 / 30)
    ema150 = (0.0 * q150 + 100.0) / (1.0 * q150 + 1)  # 100 / (1 + e^-1/150) ≈ 50.17
    ema30 = (1_000.0 * q30 + 1_100.0) / (1.0 * q30 + 1)  # 1,000 + 100 / (1 + e^-1/30) ≈ 1,050.83
    assert ema150 == pytest.approx(50.16667, abs=1e-5)
    assert ema30 == pytest.approx(1_050.83326, abs=1e-5)
    got1, got2, got3, got_ema = m.components(S)
    assert (got1, got2, got3, got_ema) == (1_000 + Fraction(ema150), 1_100, None,
                                           Fraction(ema30))
    # median(1,050.17, 1,100, 1,050.83) = 1,050.83 -> 1,051 (the mean of two would be 1,075).
    assert m.mark(S) == 1_051


def test_hyperliquid_ema_of_a_constant_basis_converges_after_a_long_gap():
    m = HyperliquidMark()
    m.observe(0, 1_000, *_book(1_000, 0), 1_000, 900)
    m.observe(1 * S, 1_000, *_book(1_000, 40), 1_040, 900)
    # Ten hours of the carried-forward basis 40: the EMA equals 40 to float precision.
    in1 = m.components(36_001 * S)[0]
    assert abs(in1 - 1_040) < Fraction(1, 10**9)
    assert m.mark(36_001 * S) == 1_040


def _hl_brute(obs, ts, ema_s=150, fallback_ema_s=30):
    """Slow reference: every grid second recomputed from the raw observations, full EMA loops."""
    k0 = -(-obs[0][0] // S)
    kend = ts // S
    n1 = d1 = n2 = d2 = 0.0
    k1 = k2 = None
    for k in range(k0, kend + 1):
        o = [x for x in obs if x[0] <= k * S][-1]
        _, oracle, bid, ask, last, _ext = o
        if bid is not None and ask is not None:
            s = (bid + ask - 2 * oracle) / 2
            t = 1 if k1 is None else k - k1
            q = math.exp(-t / ema_s)
            n1, d1, k1 = n1 * q + s * t, d1 * q + t, k
        present = [Fraction(x) for x in (bid, ask, last) if x is not None]
        if present:
            s = float(statistics.median(present))
            t = 1 if k2 is None else k - k2
            q = math.exp(-t / fallback_ema_s)
            n2, d2, k2 = n2 * q + s * t, d2 * q + t, k
    cur = [x for x in obs if x[0] <= ts][-1]
    _, oracle, bid, ask, last, ext = cur
    ins = []
    if d1 > 0:
        ins.append(oracle + Fraction(n1 / d1))
    present = [Fraction(x) for x in (bid, ask, last) if x is not None]
    if present:
        ins.append(statistics.median(present))
    if ext is not None:
        ins.append(Fraction(ext))
    if len(ins) == 2 and d2 > 0:
        ins.append(Fraction(n2 / d2))
    return round(statistics.median(ins)) if ins else None


def test_hyperliquid_long_gap_equals_the_second_by_second_loop():
    obs = [(S // 3, 1_000, 990, 1_010, None, None), (2 * S, 1_000, 1_030, 1_050, 1_045, None)]
    m = HyperliquidMark()
    for o in obs:
        m.observe(*o)
    ts = 20_000 * S + 7
    assert m.mark(ts) == _hl_brute(obs, ts)
    assert m.components(ts)[0] == 1_000 + Fraction(*_hl_ema1_ratio(obs, ts))
    # After the gap the EMA goes on from the right second (t = 1 for the next sample).
    later = (20_001 * S + 5, 1_000, 1_190, 1_210, 1_200, None)
    obs.append(later)
    m.observe(*later)
    ts = 20_003 * S
    assert m.components(ts)[0] == 1_000 + Fraction(*_hl_ema1_ratio(obs, ts))
    assert m.mark(ts) == _hl_brute(obs, ts)


def _hl_ema1_ratio(obs, ts):
    # Input-1 EMA by the full loop, returned as an exact ratio of the float result.
    k0 = -(-obs[0][0] // S)
    n = d = 0.0
    kl = None
    for k in range(k0, ts // S + 1):
        _, oracle, bid, ask, _, _ = [x for x in obs if x[0] <= k * S][-1]
        if bid is None or ask is None:
            continue
        t = 1 if kl is None else k - kl
        q = math.exp(-t / 150)
        n, d, kl = n * q + (bid + ask - 2 * oracle) / 2 * t, d * q + t, k
    return (n / d).as_integer_ratio()


# ------------------------------------------------------------------------------------------
# Naive policies


def test_last_price_mark_is_the_last_trade_and_falls_back_to_index_assumed():
    m = LastPriceMark()
    assert m.mark(0) is None
    m.observe(0, 1_000, 990, 1_010, None)
    assert m.mark(0) == 1_000  # no trade yet: the index
    m.observe(S, 1_000, 990, 1_010, 1_007)
    assert m.mark(S) == 1_007


def test_mid_mark_rounds_half_to_even_and_is_none_with_an_empty_side():
    m = MidMark()
    m.observe(0, 1_000, 1_000, 1_005, None)  # 1,002.5 -> 1,002
    assert m.mark(0) == 1_002
    m.observe(1, 1_000, 1_001, 1_006, None)  # 1,003.5 -> 1,004
    assert m.mark(1) == 1_004
    m.observe(2, 1_000, 1_001, 1_005, None)  # 1,003 exactly
    assert m.mark(2) == 1_003
    m.observe(3, 1_000, None, 1_005, 1_003)
    assert m.mark(3) is None
    m.observe(4, 1_000, 1_001, None, 1_003)
    assert m.mark(4) is None


def test_every_policy_satisfies_the_protocol():
    for policy in (BinanceMark(), FairPriceMark(), HyperliquidMark(), LastPriceMark(), MidMark()):
        assert isinstance(policy, MarkPolicy)


# ------------------------------------------------------------------------------------------
# BitMEX Fair Price


def _fair(rate_ppm=100, interval_s=8 * 3600, anchor=None) -> FairPriceMark:
    return FairPriceMark(funding_rate_ppm=rate_ppm, funding_interval_s=interval_s,
                         next_funding_ns=anchor)


@pytest.mark.parametrize("bid, ask, last", [
    (100_010, 100_020, 100_015),        # an ordinary book
    (None, None, None),                 # empty book, no trade yet
    (99_000, None, 99_000),             # one-sided: bids only
    (None, 60_000, 60_000),             # one-sided: asks only, a wild print
    (101_000, 95_000, 93_000),          # crossed, last far under
    (100_000, 100_002, 1),              # a wild last price
])
def test_fair_price_ignores_the_book_and_the_last_price(bid, ask, last):
    # Index 100,000, 100 ppm, 4 h of 8 h left at 4 h: 100,000 x (1 + 0.0001 x 4/8) = 100,005.
    m = _fair()
    m.observe(4 * H, 100_000, bid, ask, last, external_mid=last)
    assert m.fair_price(4 * H) == Fraction(100_005)
    assert m.mark(4 * H) == 100_005


def test_fair_price_follows_the_index_and_the_time_to_funding_only():
    # -37.45 ppm (an exact Fraction), 1 h interval anchored at 30 min: at 15 min, 15 of 60
    # minutes left -> basis -37.45e-6 / 4; at 50 min, 40 left.
    rate = Fraction(-3745, 100)
    m = _fair(rate, 3600, 30 * 60 * S)
    m.observe(15 * 60 * S, 80_000, 70_000, 90_000, 50_000)
    assert m.fair_price(15 * 60 * S) == 80_000 * (1 + rate / 1_000_000 * Fraction(15, 60))
    m.observe(50 * 60 * S, 81_000, None, None, 81_000)
    exact = 81_000 * (1 + rate / 1_000_000 * Fraction(40, 60))
    assert m.fair_price(50 * 60 * S) == exact
    assert m.mark(50 * 60 * S) == round(exact) == 80_998


def test_fair_price_is_the_index_at_a_funding_instant_and_the_full_basis_just_after():
    # The basis counts down to 0 at funding (the mark meets the index), then restarts
    # at the full rate (Funding Basis = rate x interval / interval).
    m = _fair(rate_ppm=1_000, interval_s=60, anchor=60 * S)
    m.observe(30 * S, 50_000, 49_000, 51_000, 40_000)
    assert m.mark(30 * S) == 50_025                 # 30 s of 60 left: 50,000 x 1.0005
    assert m.mark(45 * S) == 50_012                 # 50,012.5, half to even
    assert m.mark(60 * S) == 50_000                 # at the funding instant: the index
    assert m.fair_price(60 * S + 1) > 50_049        # just after: the full basis again
    assert m.mark(119 * S) == 50_001                # 1 s of 60 left: 50,000.83
    assert m.mark(120 * S) == 50_000                # the next funding instant
    m.set_funding(0)                                 # a new rate of 0, as the engine sets it
    assert m.mark(120 * S + 1) == 50_000


def test_fair_price_is_none_before_any_index_and_refuses_time_going_back():
    m = _fair()
    assert m.mark(0) is None
    m.observe(5, 1_000, None, None, None)
    with pytest.raises(ValueError, match="backwards"):
        m.mark(4)


def test_binance_and_fair_price_carry_the_same_funding_basis_as_funded_marks():
    # The engine feeds both the same schedule and rate: the Fair Price is Binance's Price 1.
    assert set(FUNDED_MARKS) == {"binance", "fair-price"}
    b, f = BinanceMark(funding_rate_ppm=250, funding_interval_s=480, next_funding_ns=180 * S), \
        _fair(250, 480, 180 * S)
    for ts, index in ((0, 7_400), (100 * S, 7_000), (179 * S, 6_900), (181 * S, 6_800)):
        b.observe(ts, index, index - 500, index + 500, index - 900)
        f.observe(ts, index, index - 500, index + 500, index - 900)
        assert f.fair_price(ts) == b.components(ts)[0]


@pytest.mark.parametrize(
    "kwargs", [{"funding_rate_ppm": 0.0003}, {"funding_interval_s": 0},
               {"next_funding_ns": 1.5}, {"window_s": 30}],
)
def test_fair_price_rejects_bad_parameters(kwargs):
    with pytest.raises((ValueError, TypeError), match=next(iter(kwargs))):
        make_mark_policy("fair-price", **kwargs)


# ------------------------------------------------------------------------------------------
# Factory, validation, time


def test_make_mark_policy_builds_each_named_policy_with_its_parameters():
    b = make_mark_policy("binance", window_s=60, funding_rate_ppm=300)
    assert isinstance(b, BinanceMark) and b.window_s == 60 and b.funding_rate_ppm == 300
    h = make_mark_policy("hyperliquid", ema_s=120)
    assert isinstance(h, HyperliquidMark) and h.ema_s == 120
    assert isinstance(make_mark_policy("last"), LastPriceMark)
    assert isinstance(make_mark_policy("mid"), MidMark)
    f = make_mark_policy("fair-price", funding_rate_ppm=300, funding_interval_s=3600)
    assert isinstance(f, FairPriceMark) and f.funding_rate_ppm == 300
    assert f.funding_interval_s == 3600


def test_make_mark_policy_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(ValueError) as exc:
        make_mark_policy("bybit")
    msg = str(exc.value)
    assert "'bybit'" in msg
    for name in ("binance", "fair-price", "hyperliquid", "last", "mid"):
        assert name in msg


def test_make_mark_policy_rejects_an_unknown_parameter_listing_the_valid_ones():
    with pytest.raises(ValueError) as exc:
        make_mark_policy("binance", window=30)
    msg = str(exc.value)
    assert "window" in msg and "window_s" in msg and "funding_rate_ppm" in msg
    with pytest.raises(ValueError, match="ema_seconds"):
        make_mark_policy("hyperliquid", ema_seconds=150)
    with pytest.raises(ValueError, match="window_s"):
        make_mark_policy("mid", window_s=30)


@pytest.mark.parametrize(
    "kwargs",
    [{"window_s": 0}, {"window_s": 30.0}, {"window_s": True}, {"funding_rate_ppm": 0.0003},
     {"funding_interval_s": -1}, {"next_funding_ns": 1.5}],
)
def test_binance_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        BinanceMark(**kwargs)


def test_hyperliquid_rejects_bad_parameters():
    with pytest.raises(ValueError, match="ema_s"):
        HyperliquidMark(ema_s=0)
    with pytest.raises(ValueError, match="fallback_ema_s"):
        HyperliquidMark(fallback_ema_s=2.5)


@pytest.mark.parametrize("cls", [BinanceMark, HyperliquidMark, LastPriceMark, MidMark])
def test_time_going_backwards_is_rejected(cls):
    m = cls()
    m.observe(5 * S, 1_000, 999, 1_001, 1_000)
    with pytest.raises(ValueError, match="backwards"):
        m.observe(4 * S, 1_000, 999, 1_001, 1_000)
    m.mark(6 * S)
    with pytest.raises(ValueError, match="backwards"):
        m.observe(5 * S, 1_000, 999, 1_001, 1_000)


# ------------------------------------------------------------------------------------------
# Determinism and the reference model

observation = st.tuples(
    st.integers(0, 3 * S),  # time step
    st.integers(900, 1_100),  # index / oracle
    st.one_of(st.none(), st.integers(-60, 40)),  # bid − index
    st.one_of(st.none(), st.integers(0, 60)),  # ask − bid (or − index when no bid)
    st.one_of(st.none(), st.integers(850, 1_150)),  # last
    st.one_of(st.none(), st.integers(850, 1_150)),  # external mid
    st.booleans(),  # ask for the mark after this observation
)


def _materialise(start, steps):
    ts = start
    out = []
    for dt, index, bid_off, spread, last, ext, query in steps:
        ts += dt
        bid = None if bid_off is None else index + bid_off
        ask = None if spread is None else (bid if bid is not None else index) + spread
        out.append((ts, index, bid, ask, last, ext, query))
    return out


def _run(policy, rows):
    marks = []
    for ts, index, bid, ask, last, ext, query in rows:
        policy.observe(ts, index, bid, ask, last, ext)
        if query:
            marks.append(policy.mark(ts))
    marks.append(policy.mark(rows[-1][0] + 5 * S))
    return marks


def test_mark_is_deterministic_for_the_same_observations():
    rows = _materialise(
        123_456_789,
        [(700_000_000 * (i % 4), 1_000 + (i * 37) % 23 - 11, (i * 13) % 9 - 4 if i % 7 else None,
          1 + i % 5, None if i < 3 else 995 + (i * 29) % 17, 1_000 + i % 3, i % 2 == 0)
         for i in range(200)],
    )
    for name, params in [("binance", {"funding_rate_ppm": 250}), ("hyperliquid", {}),
                         ("last", {}), ("mid", {})]:
        first = _run(make_mark_policy(name, **params), rows)
        second = _run(make_mark_policy(name, **params), rows)
        assert first == second
        assert all(m is None or type(m) is int for m in first)


def _binance_reference(rows, ts, window_s, rate_ppm, interval_s, anchor_ns):
    """Slow reference: Price 1, Price 2 and last recomputed from the raw observations.
    Price 2 averages the basis of those of the last ``window_s`` grid seconds that had a
    mid; with none, the basis is 0 (Price 2 = index)."""
    k0 = -(-rows[0][0] // S)
    kend = ts // S
    samples = []
    for k in range(max(k0, kend - window_s + 1), kend + 1):
        _, index, bid, ask, _, _, _ = [r for r in rows if r[0] <= k * S][-1]
        if bid is not None and ask is not None:
            samples.append(Fraction(bid + ask, 2) - index)
    samples = samples[-window_s:]
    _, index, _, _, last, _, _ = [r for r in rows if r[0] <= ts][-1]
    until = (anchor_ns - ts) % (interval_s * S)
    price1 = index * (1 + Fraction(rate_ppm, 10**6) * Fraction(until, interval_s * S))
    price2 = index + sum(samples) / len(samples) if samples else Fraction(index)
    return price1, price2, (None if last is None else Fraction(last))


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 10 * S),
    steps=st.lists(observation, min_size=1, max_size=40),
    window_s=st.integers(1, 40),
    rate_ppm=st.integers(-1_000, 1_000),
    interval_h=st.sampled_from([1, 4, 8]),
    anchor_s=st.integers(0, 8 * 3600),
)
def test_binance_mark_always_lies_between_its_three_inputs(start, steps, window_s, rate_ppm,
                                                           interval_h, anchor_s):
    rows = _materialise(start, steps)
    m = BinanceMark(window_s=window_s, funding_rate_ppm=rate_ppm,
                    funding_interval_s=interval_h * 3600, next_funding_ns=anchor_s * S)
    for i, (ts, index, bid, ask, last, ext, query) in enumerate(rows):
        m.observe(ts, index, bid, ask, last, ext)
        if not query:
            continue
        seen = rows[: i + 1]  # a later row at the same ts has not been observed yet
        inputs = _binance_reference(seen, ts, window_s, rate_ppm, interval_h * 3600, anchor_s * S)
        present = [x for x in inputs if x is not None]
        mark = m.mark(ts)
        # Rounded to a tick, the median can leave [min, max] by less than half a tick only.
        assert math.floor(min(present)) <= mark <= math.ceil(max(present))
        assert mark == round(statistics.median(present))
        if len(present) == 3:
            assert min(present) <= statistics.median(present) <= max(present)


@settings(max_examples=100, deadline=None)
@given(start=st.integers(0, 10 * S), steps=st.lists(observation, min_size=1, max_size=30))
def test_hyperliquid_mark_equals_the_second_by_second_reference(start, steps):
    rows = _materialise(start, steps)
    m = HyperliquidMark()
    obs = []
    for ts, index, bid, ask, last, ext, query in rows:
        m.observe(ts, index, bid, ask, last, ext)
        obs.append((ts, index, bid, ask, last, ext))
        if query:
            assert m.mark(ts) == _hl_brute(obs, ts)
    end = rows[-1][0] + 7 * S
    assert m.mark(end) == _hl_brute(obs, end)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 10 * S), steps=st.lists(observation, min_size=1, max_size=30))
def test_asking_for_the_mark_does_not_change_later_marks(start, steps):
    rows = _materialise(start, steps)
    for name in ("binance", "hyperliquid"):
        asked = make_mark_policy(name)
        silent = make_mark_policy(name)
        for ts, index, bid, ask, last, ext, query in rows:
            asked.observe(ts, index, bid, ask, last, ext)
            silent.observe(ts, index, bid, ask, last, ext)
            asked.mark(ts)
        end = rows[-1][0] + 3 * S
        assert asked.mark(end) == silent.mark(end)
