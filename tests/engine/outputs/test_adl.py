"""The ADL overshoot (engine.outputs.adl, arXiv 2602.15182 sections 3.3-3.7): per episode
(one bankrupt unit's closes at one instant) the profit taken from the winners beyond the
shortfall it covered, [H - B]_+, summed over episodes -- from hand-made close records."""
from __future__ import annotations

import numpy as np

from engine.liquidation.state import AdlClose, AdlCounterfactual
from engine.outputs.adl import episodes, first_adl_delay_s, totals
from engine.outputs.metrics import adl_summary
from engine.venue.events import EVENT_DTYPE, EventKind as K
from engine.venue.instruments import hyperliquid_btc

SEC = 10**9


def _close(ts, account, other, gain, needed, inst=0, qty=1):
    return AdlClose(ts, inst, account, other, qty, 1, 100, 99, gain, needed)


def test_an_episode_is_one_bankrupt_units_closes_at_one_instant():
    closes = [_close(SEC, 7, 1, 30, 10), _close(SEC, 7, 2, 20, 5),   # unit 7 at 1 s
              _close(SEC, 8, 1, 4, 6),                               # unit 8, same instant
              _close(2 * SEC, 7, 3, 1, 1)]                           # unit 7 again, later
    assert episodes(closes) == [(50, 15), (4, 6), (1, 1)]


def test_overshoot_is_the_positive_part_per_episode_not_netted_across_episodes():
    """Episode 1 takes 50 for a shortfall of 15 (35 over); episode 2 takes 4 for 6 (2
    under): the overshoot is 35, not 33, and the undershoot 2."""
    closes = [_close(SEC, 7, 1, 30, 10), _close(SEC, 7, 2, 20, 5), _close(SEC, 8, 1, 4, 6)]
    assert totals(closes) == {"episodes": 2, "haircut": 54, "shortfall": 21,
                              "overshoot": 35, "undershoot": 2}


def test_a_winner_closed_at_a_loss_gives_up_no_profit():
    """Haircuts are of positive PnL only: a close whose winner was under water adds 0 to H
    (its lots still carry the shortfall)."""
    closes = [_close(SEC, 7, 1, -40, 10), _close(SEC, 7, 2, 25, 10)]
    assert totals(closes)["haircut"] == 25 and totals(closes)["overshoot"] == 5


def test_only_the_measured_instruments_closes_count():
    closes = [_close(SEC, 7, 1, 30, 10, inst=0), _close(SEC, 7, 1, 500, 0, inst=1)]
    assert totals(closes, inst=0)["overshoot"] == 20


def test_adl_summary_converts_quantums_to_quote_and_counts_negative_accounts():
    ins = hyperliquid_btc()
    per_quote = int(1 / ins.quote_quantum)
    closes = [_close(SEC, 7, 1, 3 * per_quote, per_quote)]
    s = adl_summary(closes, {7, 9}, ins)
    assert s == {"adl_episodes": 1, "adl_haircut": 3.0, "adl_shortfall": 1.0,
                 "adl_overshoot": 2.0, "adl_undershoot": 0.0, "negative_equity_accounts": 2,
                 "adl_overshoot_by_ranking": None}


def test_counterfactual_overshoot_is_summed_per_ranking_over_the_same_episodes():
    """Two episodes, shortfalls 10 and 6 quote: ranking "a" takes 30 and 2 (over 20, under
    4), ranking "b" takes 10 and 6 (exact).  Another instrument's episode is left out."""
    ins = hyperliquid_btc()
    q = int(1 / ins.quote_quantum)
    cf = AdlCounterfactual(rng=None)
    cf.episodes += [(SEC, 0, 7, 10 * q, {"a": 30 * q, "b": 10 * q}),
                    (SEC, 0, 8, 6 * q, {"a": 2 * q, "b": 6 * q}),
                    (SEC, 1, 9, 0, {"a": 99 * q, "b": 99 * q})]
    s = adl_summary([], set(), ins, counterfactual=cf)["adl_overshoot_by_ranking"]
    assert s == {"a": {"shortfall": 16.0, "haircut": 32.0, "overshoot": 20.0, "undershoot": 4.0},
                 "b": {"shortfall": 16.0, "haircut": 16.0, "overshoot": 0.0, "undershoot": 0.0}}


def _rows(*spec):
    ev = np.zeros(len(spec), dtype=EVENT_DTYPE)
    for k, (ts, kind) in enumerate(spec):
        ev[k]["ts"], ev[k]["kind"], ev[k]["seq"] = ts, int(kind), k
    return ev


def test_first_adl_delay_counts_from_the_first_liquidated_lot_to_the_first_adl_close():
    ev = _rows((5 * SEC, K.MARGIN_CALL), (7 * SEC, K.LIQUIDATION_FILLED),
               (9 * SEC, K.BACKSTOP_TAKEOVER), (68_500_000_000, K.AUTO_DELEVERAGED),
               (70 * SEC, K.AUTO_DELEVERAGED))
    assert first_adl_delay_s(ev) == 61.5


def test_first_adl_delay_is_none_without_adl():
    assert first_adl_delay_s(_rows((7 * SEC, K.LIQUIDATION_FILLED))) is None


def test_first_adl_delay_counts_from_the_events_first_liquidation_not_the_quiet_before():
    """A liquidation in the quiet hour before (2 s) does not start the clock: the event
    starts at 5 s, its first liquidated lot is at 7 s, the first ADL at 68.5 s."""
    ev = _rows((2 * SEC, K.LIQUIDATION_FILLED), (7 * SEC, K.LIQUIDATION_FILLED),
               (68_500_000_000, K.AUTO_DELEVERAGED))
    assert first_adl_delay_s(ev, since_ns=5 * SEC) == 61.5
    assert first_adl_delay_s(ev) == 66.5
