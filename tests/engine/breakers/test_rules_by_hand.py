"""Rules of the exchange circuit breakers, one small hand-built situation per rule.

Sources: docs/reference/breakers-and-events.md section 1.2 -- P1 (LULD), P4 (CME DCB),
P5 (CME Velocity Logic), P7 (Coinbase Derivatives), P9 (Xetra volatility interruption);
what each policy assumes is marked "assumed" in its docstring.

Numbers: the test instrument of ``conftest.py`` (tick 1, lot 0.001, one tick x one lot = one
quantum) with the mark at 100,000 ticks.  ``Venue`` stands in for the Simulation: it is the
``Port`` a policy is bound to (``engine.phases.Port``) around a real Exchange, whose own
``halt``, ``reopen`` and ``indicative`` are the halt service under test.  Time advances only
through ``Venue.evaluate`` (the BREAKERS phase) and the timestamps given to ``submit``.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.breakers import POLICIES, describe_policies, make_breaker
from engine.breakers.base import (REASON_LULD_BAND, REASON_VELOCITY, REASON_XETRA_VI)
from engine.breakers.corridor import PHASE_BREAKERS, RollingRange
from engine.config import ConfigError
from engine.phases import Phase, Port
from engine.venue.events import EventKind as K
from orderbook.enums import FOK, GTC, IOC, LIMIT, MARKET, Reason

SEC = 10**9
MS = 10**6
Q = 1000
MM, TAKER, OTHER = 900, 901, 902
EXCHANGE_RULES = ("luld", "cme-dcb", "cme-velocity", "cde-hourly", "xetra-vi")


class Venue:
    """The port a policy is bound to (see the module docstring); the mark stays fixed."""

    def __init__(self, eng, spec: str, seed: int = 0, **params):
        self.exchange = eng.exchange()
        self.log = self.exchange.log
        for acct in (MM, TAKER, OTHER):
            self.exchange.open_account(0, acct, deposit=10**9 * Q)
        self.instrument = self.exchange.instruments[0]
        self.rng = np.random.default_rng(seed)
        self.now = 0
        self.index_ticks = self.exchange.marks[0]
        self.tasks: list = []
        table = {spec.split("+")[0]: params} if params else {}
        self.breaker = make_breaker(spec, SimpleNamespace(breaker=table, source_path="test"))
        self.policy = self.breaker
        self.exchange.breaker = self.breaker
        self.breaker.bind(self)

    @property
    def book(self):
        return self.exchange.books[0]

    @property
    def halted(self):
        return self.exchange.halted

    def halt(self, ts, code):
        self.exchange.halt(ts, code)

    def reopen(self, ts, reference, code):      # the Port's reopen; the mark is fixed here
        return self.exchange.reopen(ts, reference, code)

    def indicative(self, reference=None):
        return self.exchange.indicative(reference)

    def send(self, ts, fn, latency_ns=None):
        fn(ts)

    def schedule(self, ts, phase, fn):
        self.tasks.append((ts, fn))

    def submit(self, ts, account, side, qty, price=None, tif=GTC, order_type=LIMIT,
               liquidation=False):
        """One order through the exchange, then the end of its task (scheduled work runs)."""
        r = self.exchange.submit(ts, account, 0, side, qty, price=price, tif=tif,
                                 order_type=order_type, liquidation=liquidation)
        tasks, self.tasks = self.tasks, []
        for t, fn in tasks:
            fn(t)
        return r

    def evaluate(self, ts):
        self.breaker.evaluate(ts)

    def run(self, start, end, step=100 * MS):
        """Evaluate every ``step`` from ``start`` to ``end`` inclusive."""
        for ts in range(start, end + 1, step):
            self.evaluate(ts)

    def trades(self, since_seq=0):
        return [(r[0], r[9], r[10]) for r in self.log.rows(K.TRADE) if r[1] >= since_seq]

    def rows(self, kind):
        return self.log.rows(kind)

    def rejections(self, reason):
        return [r for r in self.log.rows(K.ORDER_REJECTED) if r[12] == reason]

    def trade(self, ts, price, qty=1):
        """Print one trade at ``price``: MM offers (or bids), TAKER takes it."""
        book = self.book
        side = 1 if book.best_bid() is None or price > book.best_bid() else -1
        self.submit(ts, MM, -side, qty, price=price)
        self.submit(ts, TAKER, side, qty, price=price, tif=IOC)


def assert_not_crossed(book):
    bb, ba = book.best_bid(), book.best_ask()
    assert bb is None or ba is None or bb < ba, f"crossed: bid {bb} >= ask {ba}"


# ----------------------------------------------------------------------- registry
def test_every_exchange_rule_policy_is_registered_with_documented_parameters():
    listed = {name: params for name, _, params in describe_policies()}
    for name in EXCHANGE_RULES:
        cls = POLICIES[name]
        assert cls.NAME == name and cls.DOC and cls.__doc__
        assert name in listed and set(listed[name]) == set(cls.PARAMS)
        for key, (default, convert, doc) in cls.PARAMS.items():
            assert doc, f"{name}.{key}: no meaning given"
            convert(f"breaker.{name}.{key}", default)       # the default converts
        assert isinstance(cls().counters(), dict)


def test_a_breach_halts_in_the_simulations_breakers_phase():
    assert PHASE_BREAKERS == Phase.BREAKERS


def test_policy_codes_are_distinct():
    codes = [cls.CODE for cls in POLICIES.values()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("name,key,value", [
    ("luld", "bandpct", 5), ("luld", "band_pct", 0), ("luld", "band_pct", -5),
    ("luld", "band_pct", float("nan")), ("luld", "mode", "clip"),
    ("cme-dcb", "variant_pct", "inf"), ("cme-dcb", "limits", "high"),
    ("cme-velocity", "ticks", -1), ("cme-velocity", "on_immediate", "pause"),
    ("cde-hourly", "halt_s", -1), ("xetra-vi", "static_pct", 0),
    ("xetra-vi", "auction_price_rule", "vwap"), ("luld", "queue_market_orders", "yes"),
    ("cme-dcb", "queue_market_orders", True),       # not a parameter of a refusing policy
])
def test_bad_breaker_parameters_are_rejected_naming_the_key(name, key, value):
    scenario = SimpleNamespace(breaker={name: {key: value}}, source_path="x.toml")
    with pytest.raises(ConfigError, match=f"{name}.{key}"):
        make_breaker(name, scenario)


def test_rolling_range_keeps_the_high_and_low_of_the_window_only():
    r = RollingRange()
    for ts, p in [(0, 100), (1, 105), (2, 95), (3, 101)]:
        r.add(ts, p)
    assert (r.hi, r.lo) == (105, 95)
    r.expire(2)
    assert (r.hi, r.lo) == (101, 95)
    r.expire(3)
    assert (r.hi, r.lo) == (101, 101)
    r.expire(4)
    assert not r and r.hi is None


# ---------------------------------------------------------------------------- LULD
def test_no_trade_prints_outside_the_luld_band(eng):
    v = Venue(eng, "luld")                  # ref 100,000, band 5%: [95,000, 105,000]
    assert (v.policy.lower, v.policy.upper) == (95_000, 105_000)
    for price, qty in [(99_000, 5), (96_000, 5), (90_000, 10)]:
        v.submit(0, MM, 1, qty, price=price)
    for price, qty in [(104_000, 5), (110_000, 10)]:
        v.submit(0, MM, -1, qty, price=price)
    r = v.submit(SEC, TAKER, -1, 20, order_type=MARKET)            # protection = 95,000
    assert r.filled_qty == 10 and r.expired_qty == 10
    r = v.submit(SEC, TAKER, 1, 20, price=120_000, tif=IOC)        # limit -> 105,000
    assert r.filled_qty == 5
    r = v.submit(SEC, OTHER, -1, 5, price=90_000, tif=FOK, liquidation=True)
    assert r.filled_qty == 0                 # FOK inside the band cannot fill: expires
    r = v.submit(SEC, OTHER, -1, 3, price=80_000)                  # GTC: rests at the band
    assert r.resting_qty == 3 and v.book.best_ask() == 95_000
    prices = [p for _, p, _ in v.trades()]
    assert prices and all(95_000 <= p <= 105_000 for p in prices)
    assert v.book.level_qty(1, 90_000) == 10     # the bid beyond the band was never hit
    c = v.policy.counters()
    assert c["luld_market_capped"] == 1 and c["luld_repriced"] == 3


def _expiry_reasons(v):
    return [(r[7], r[12]) for r in v.rows(K.ORDER_EXPIRED)]        # (order id, reason)


@pytest.mark.parametrize("spec,code", [("luld", 113), ("price-band", 111),
                                       ("luld+liq-pause", 113)])
def test_an_order_a_band_capped_expires_with_the_bands_reason_not_the_books(eng, spec, code):
    """A market sell capped at the band (LULD 95,000; price-band's 5% take bound) fills what
    the band allows and its remainder expires with the breaker's reason (113 LULD band, 111
    market bound), so the log shows the breaker stopped it; an uncapped IOC keeps the
    book's IOC_REMAINDER (11)."""
    v = Venue(eng, spec)
    v.submit(0, MM, 1, 5, price=99_000)
    v.submit(0, MM, 1, 10, price=90_000)                           # beyond either band
    capped = v.submit(SEC, TAKER, -1, 20, order_type=MARKET)
    assert capped.filled_qty == 5 and capped.expired_qty == 15
    plain = v.submit(SEC, TAKER, 1, 3, price=99_500, tif=IOC)      # nothing to buy: expires
    assert plain.expired_qty == 3
    assert _expiry_reasons(v) == [(capped.order_id, code), (plain.order_id, 11)]


@pytest.mark.parametrize("spec,counter", [("luld", "luld_market_capped"),
                                          ("price-band", "price_band_market_capped"),
                                          ("cde-hourly", None)])
def test_a_band_that_did_not_stop_an_order_is_neither_blamed_nor_counted(eng, spec, counter):
    """A market sell given the band as its protection runs out of bids *inside* the band:
    the book, not the band, ended it -- its remainder is the book's IOC_REMAINDER (11) and
    no ``*_market_capped`` is counted.  With a bid left beyond the band, the band stopped
    it: its reason, and one capped order."""
    v = Venue(eng, spec)
    v.submit(0, MM, 1, 5, price=99_000)                            # all inside every band
    ran_out = v.submit(10 * SEC, TAKER, -1, 20, order_type=MARKET)
    assert ran_out.filled_qty == 5 and ran_out.expired_qty == 15
    assert _expiry_reasons(v) == [(ran_out.order_id, 11)]
    if counter:
        assert v.policy.counters()[counter] == 0
    v.submit(10 * SEC, MM, 1, 5, price=99_000)
    v.submit(10 * SEC, MM, 1, 10, price=80_000)                    # beyond every band
    stopped = v.submit(10 * SEC, TAKER, -1, 20, order_type=MARKET)
    assert stopped.filled_qty == 5 and _expiry_reasons(v)[-1][1] != 11
    if counter:
        assert v.policy.counters()[counter] == 1


def test_a_band_is_not_blamed_where_the_orders_own_protection_stops_it_as_well(eng):
    """A market sell protected at 85,000 by its sender, capped at price-band's 95,000: it
    fills the 99,000 bid and stops; its own price would stop it at the same place (the next
    bid, 80,000, is beyond both), so the band changed nothing: the book's reason, no cap."""
    v = Venue(eng, "price-band")
    v.submit(0, MM, 1, 5, price=99_000)
    v.submit(0, MM, 1, 10, price=80_000)
    r = v.submit(SEC, TAKER, -1, 20, price=85_000, order_type=MARKET)
    assert r.filled_qty == 5
    assert _expiry_reasons(v) == [(r.order_id, 11)]
    assert v.policy.counters()["price_band_market_capped"] == 0


def test_a_fok_the_band_repriced_and_killed_carries_the_bands_reason(eng):
    """A FOK buy of 10 at 110,000 would fill (5 at 100,000, 10 at 108,000); repriced to the
    band's 105,000 it finds 5 and is killed: the band stopped it (its reason, not the book's
    FOK_NOT_FILLABLE).  A FOK its own price could not fill either keeps the book's."""
    from engine.breakers.base import REASON_PRICE_BAND
    v = Venue(eng, "price-band", mode="reprice")
    v.submit(0, MM, -1, 5, price=100_000)
    v.submit(0, MM, -1, 10, price=108_000)
    killed = v.submit(SEC, TAKER, 1, 10, price=110_000, tif=FOK)
    assert killed.filled_qty == 0
    unfillable = v.submit(SEC, TAKER, 1, 20, price=110_000, tif=FOK)
    assert unfillable.filled_qty == 0
    assert _expiry_reasons(v) == [(killed.order_id, REASON_PRICE_BAND),
                                  (unfillable.order_id, int(Reason.FOK_NOT_FILLABLE))]


def test_an_order_clipped_at_a_cde_limit_expires_with_the_cde_reason(eng):
    v = Venue(eng, "cde-hourly")                    # limits [90,000, 110,000]
    v.submit(0, MM, 1, 5, price=95_000)
    v.submit(0, MM, 1, 5, price=85_000)
    r = v.submit(10 * SEC, TAKER, -1, 10, order_type=MARKET)       # clipped at 90,000
    assert r.filled_qty == 5 and r.expired_qty == 5
    assert _expiry_reasons(v) == [(r.order_id, 115)]


def test_luld_reject_mode_rejects_a_limit_order_priced_through_the_band_with_reason_113(eng):
    v = Venue(eng, "luld", mode="reject")
    v.submit(0, MM, 1, 5, price=96_000)
    assert v.submit(SEC, TAKER, -1, 5, price=94_999, tif=IOC) is None
    assert v.submit(SEC, TAKER, 1, 5, price=105_001) is None
    assert len(v.rejections(REASON_LULD_BAND)) == 2
    assert v.submit(SEC, TAKER, -1, 5, price=95_000, tif=IOC).filled_qty == 5
    assert v.policy.counters()["luld_rejected"] == 2


def _limit_state(v, qty=5):
    """An ask repriced to the lower band (95,000) with bids below it: a limit state."""
    v.submit(0, MM, 1, 5, price=94_000)
    v.submit(0, OTHER, -1, qty, price=80_000)
    assert v.book.best_ask() == 95_000


def test_luld_limit_state_cleared_within_15s_does_not_pause(eng):
    v = Venue(eng, "luld")
    _limit_state(v)
    v.run(0, 10 * SEC)
    assert v.policy.state == 1 and v.policy.counters()["luld_limit_states"] == 1
    tripped = v.rows(K.BREAKER_TRIPPED)
    assert len(tripped) == 1 and tripped[0][9] == 95_000 and tripped[0][0] == 0
    v.submit(10 * SEC, TAKER, 1, 5, price=95_000, tif=IOC)          # the quote is executed
    v.run(10 * SEC + 100 * MS, 40 * SEC)
    assert v.policy.state == 0 and not v.halted
    assert v.policy.counters()["luld_pauses"] == 0 and not v.rows(K.TRADING_HALTED)


def test_luld_limit_state_not_cleared_in_15s_pauses_for_5_minutes(eng):
    v = Venue(eng, "luld", queue_market_orders=False)
    _limit_state(v)
    v.run(0, 15 * SEC - 100 * MS)
    assert not v.halted                                             # 14.9 s in limit state
    v.evaluate(15 * SEC)
    assert v.halted and v.policy.counters()["luld_pauses"] == 1
    (halt,) = v.rows(K.TRADING_HALTED)
    assert halt[0] == 15 * SEC and halt[12] == v.policy.CODE
    # During the pause: limit orders are accepted at any price (even crossing),
    # IOC/market orders are refused by the halted book (market orders: because this
    # LULD does not queue them), nothing trades.
    assert v.submit(20 * SEC, TAKER, -1, 1, order_type=MARKET).status.name == "REJECTED"
    assert v.submit(20 * SEC, TAKER, -1, 1, price=94_000, tif=IOC).status.name == "REJECTED"
    assert v.submit(20 * SEC, TAKER, 1, 5, price=95_500).resting_qty == 5
    assert v.book.best_bid() >= v.book.best_ask()
    v.run(15 * SEC + 100 * MS, 315 * SEC - 100 * MS)
    assert v.halted and not v.trades()
    v.evaluate(315 * SEC)                                           # 5 minutes later
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert resume[0] == 315 * SEC
    trades = v.trades()
    assert trades and {(t, p) for t, p, _ in trades} == {(315 * SEC, resume[9])}
    assert 95_000 <= resume[9] <= 95_500
    assert_not_crossed(v.book)
    # Bands re-applied around the reopening price.
    p = resume[9]
    assert v.policy.ref == p and v.policy.lower == -(-p * 95 // 100)


def test_a_luld_limit_state_does_not_run_out_while_another_policy_halts_the_venue(eng):
    """A limit state began at 0 s; another policy (a composite's other part) halts the
    venue from 5 s to 125 s.  Nothing trades at the band meanwhile, so the 15 s start
    afresh after the reopening: no LULD pause 100 ms after it, one 15 s later."""
    v = Venue(eng, "luld")
    v.submit(0, MM, 1, 5, price=94_000)
    v.submit(0, OTHER, -1, 5, price=80_000)          # repriced to the band: limit state
    v.run(0, 5 * SEC)
    assert v.policy.limit_since == 0 and not v.halted
    v.halt(5 * SEC, 99)                              # not LULD's halt
    v.run(5 * SEC + 100 * MS, 125 * SEC)
    v.reopen(125 * SEC, None, 99)
    v.run(125 * SEC + 100 * MS, 125 * SEC + 200 * MS)
    assert not v.halted and v.policy.pauses == 0
    v.run(125 * SEC + 300 * MS, 141 * SEC)
    assert v.halted and v.policy.pauses == 1         # the band still holds: a fresh 15 s


def test_luld_pause_extends_when_it_cannot_reopen_inside_the_collar(eng):
    v = Venue(eng, "luld")
    _limit_state(v)
    v.run(0, 15 * SEC)
    assert v.halted
    v.submit(20 * SEC, OTHER, -1, 10, price=70_000)       # pair-off far below the band
    v.submit(20 * SEC, TAKER, 1, 10, price=72_000)
    assert v.indicative(100_000).price == 72_000
    # Collar (assumed): ref x (1 -+ (5% + k x 5%)) after k extensions: 72,000 needs 30%.
    v.run(15 * SEC + 100 * MS, 315 * SEC)
    assert v.halted and v.policy.counters()["luld_extensions"] == 1
    assert [r[11] for r in v.rows(K.BREAKER_TRIPPED)][-1] == 3
    v.run(315 * SEC + SEC // 2, 1815 * SEC - SEC // 2, step=SEC // 2)
    assert v.halted and v.policy.counters()["luld_extensions"] == 5
    v.evaluate(1815 * SEC)
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert (resume[0], resume[9], resume[10]) == (1815 * SEC, 72_000, 10)
    assert_not_crossed(v.book)


def test_luld_pause_without_a_widening_collar_keeps_extending(eng):
    v = Venue(eng, "luld", collar_step_pct=0)
    _limit_state(v)
    v.run(0, 15 * SEC)
    v.submit(20 * SEC, OTHER, -1, 10, price=70_000)
    v.submit(20 * SEC, TAKER, 1, 10, price=72_000)
    v.run(15 * SEC + SEC, 3015 * SEC, step=SEC)
    assert v.halted and v.policy.counters()["luld_extensions"] == 10
    assert not v.trades()


def test_luld_pause_with_an_uncrossed_book_reopens_without_a_trade(eng):
    v = Venue(eng, "luld")
    _limit_state(v)
    v.run(0, 315 * SEC, step=SEC)
    assert not v.halted and not v.trades()
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert resume[10] == 0
    assert v.policy.ref == (94_000 + 95_000) // 2               # the mid (assumed)


def test_luld_reference_is_the_5_minute_mean_republished_only_on_a_1pct_change(eng):
    v = Venue(eng, "luld")
    v.trade(SEC, 100_500)
    v.run(0, 30 * SEC)
    assert v.policy.ref == 100_000                                 # +0.5%: not republished
    v.trade(40 * SEC, 102_000)
    v.run(30 * SEC, 60 * SEC - 100 * MS)
    assert v.policy.ref == 100_000                                 # recalculated every 30 s
    v.evaluate(60 * SEC)
    assert v.policy.ref == 101_250                                 # mean(100,500, 102,000)
    assert (v.policy.lower, v.policy.upper) == (96_188, 106_312)   # rounded inward
    v.run(60 * SEC, 400 * SEC, step=SEC)                           # both trades expired
    assert v.policy.ref == 101_250 and not v.policy.trades
    assert v.policy.counters()["luld_reference_updates"] == 1


def test_luld_resting_order_priced_through_a_moved_band_is_cancelled(eng):
    v = Venue(eng, "luld")
    v.trade(SEC, 104_000)
    v.submit(10 * SEC, OTHER, -1, 2, price=97_000)             # inside [95,000, 105,000]
    v.run(0, 30 * SEC)
    assert v.policy.ref == 104_000 and v.policy.lower == 98_800
    assert v.book.best_ask() is None                               # 97,000 was cancelled
    (cancel,) = v.rows(K.ORDER_CANCELLED)
    assert cancel[5] == OTHER and cancel[9] == 97_000
    assert v.policy.counters()["luld_cancelled_through_band"] == 1


# ------------------------------------------------------------------------- CME DCB
def _dcb(eng, **params):
    v = Venue(eng, "cme-dcb", **params)            # variant = 3.5% of 100,000 = 3,500
    assert v.policy.variant == 3_500
    v.trade(SEC, 100_000)                          # window high = low = 100,000
    assert v.policy.corridor(SEC) == (96_500, 103_500)
    return v


def test_dcb_breach_enters_two_minute_preopen_then_uncrosses(eng):
    v = _dcb(eng)
    v.submit(SEC, MM, 1, 5, price=99_000)
    v.submit(SEC, MM, 1, 5, price=96_000)
    r = v.submit(10 * SEC, TAKER, -1, 10, order_type=MARKET)
    assert r.filled_qty == 5                       # up to the limit 96,500, not beyond
    assert min(p for _, p, _ in v.trades()) == 99_000
    assert v.halted
    (trip,) = v.rows(K.BREAKER_TRIPPED)
    assert (trip[0], trip[9], trip[11]) == (10 * SEC, 96_500, 96_000)
    (halt,) = v.rows(K.TRADING_HALTED)
    assert halt[0] == 10 * SEC
    # Pre-open: orders accepted, no matching; IOC refused by the halted book.
    r = v.submit(20 * SEC, TAKER, 1, 1, price=99_000, tif=IOC)
    assert r.status.name == "REJECTED" and r.reason == Reason.MATCHING_HALTED
    v.submit(20 * SEC, OTHER, -1, 3, price=96_800)
    v.submit(20 * SEC, TAKER, 1, 3, price=97_000)
    n_trades = len(v.trades())
    v.run(10 * SEC, 130 * SEC - 100 * MS)
    assert v.halted and len(v.trades()) == n_trades
    v.evaluate(130 * SEC)
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    auction = v.trades()[n_trades:]
    assert resume[0] == 130 * SEC and auction
    assert {(t, p) for t, p, _ in auction} == {(130 * SEC, resume[9])}
    assert resume[9] == 97_000                     # ties go to the last price (99,000)
    assert_not_crossed(v.book)


def test_dcb_window_restarts_after_resumption(eng):
    v = _dcb(eng)
    v.submit(SEC, MM, 1, 5, price=99_000)
    v.submit(SEC, MM, 1, 5, price=96_000)
    v.submit(10 * SEC, TAKER, -1, 10, order_type=MARKET)
    v.submit(20 * SEC, OTHER, -1, 3, price=96_800)
    v.submit(20 * SEC, TAKER, 1, 3, price=97_000)
    v.run(10 * SEC, 130 * SEC)
    assert not v.halted
    # The pre-halt high (100,000) is forgotten: limits around the reopening price.
    assert v.policy.corridor(131 * SEC) == (93_500, 100_500)
    r = v.submit(140 * SEC, TAKER, -1, 5, price=96_000, tif=IOC)
    assert r.filled_qty == 5 and not v.halted      # would have tripped before the restart
    assert v.policy.counters() == {"dcb_trips": 1, "dcb_preopens": 1}


def test_dcb_order_meeting_a_best_price_already_beyond_the_limit_halts_before_matching(eng):
    v = _dcb(eng)
    v.submit(SEC, MM, 1, 5, price=95_000)
    r = v.submit(2 * SEC, TAKER, -1, 1, price=95_000, tif=IOC)
    assert r.status.name == "REJECTED" and r.reason == Reason.MATCHING_HALTED
    assert v.halted and len(v.trades()) == 1       # only the set-up trade
    r = v.submit(3 * SEC, TAKER, -1, 1, price=95_000)          # GTC: rests in the pre-open
    assert r.resting_qty == 1


def test_a_post_only_order_that_would_take_beyond_the_limit_is_rejected_and_halts_nothing(eng):
    v = _dcb(eng)
    v.submit(SEC, MM, 1, 5, price=95_000)          # a bid already beyond the 96,500 limit
    r = v.exchange.submit(2 * SEC, TAKER, 0, -1, 1, price=95_000, post_only=True)
    assert r.status.name == "REJECTED" and r.reason == Reason.POST_ONLY_WOULD_TAKE
    assert not v.halted and not v.rows(K.BREAKER_TRIPPED)
    placed = v.exchange.mass_quote(2 * SEC, TAKER, 0, -1, [], [(95_000, 1), (101_000, 1)])
    assert list(placed) == [101_000] and not v.halted


@pytest.mark.parametrize("side,price", [(1, 110_000), (-1, 92_000)])
def test_dcb_a_bid_resting_above_the_upper_limit_or_an_ask_below_the_lower_starts_the_preopen(
        eng, side, price):
    """P4: "trade/bid/ask beyond" the limits -- quoting the market beyond one trips, even
    when nothing trades; the order rests in the pre-open.  A bid below the lower limit or
    an ask above the upper is no move of the market and trips nothing."""
    v = _dcb(eng)
    v.submit(SEC, MM, 1, 5, price=90_000)         # bids and asks far out: nothing crosses
    v.submit(SEC, MM, -1, 5, price=120_000)
    assert not v.halted
    r = v.submit(2 * SEC, OTHER, side, 5, price=price)
    assert r.resting_qty == 5 and v.halted
    (trip,) = v.rows(K.BREAKER_TRIPPED)
    assert (trip[0], trip[9], trip[11]) == (2 * SEC, 103_500 if side > 0 else 96_500, price)
    assert v.policy.counters() == {"dcb_trips": 1, "dcb_preopens": 1}


def test_dcb_a_bid_that_trades_inside_then_would_rest_above_the_limit_is_clipped_and_trips(eng):
    v = _dcb(eng)                                   # corridor (96,500, 103,500)
    v.submit(SEC, MM, -1, 1, price=101_000)         # one ask inside the corridor
    r = v.submit(2 * SEC, OTHER, 1, 5, price=110_000)
    assert r.filled_qty == 1 and r.resting_qty == 4
    assert v.book.best_bid() == 103_500             # the rest waits at the limit ...
    v.run(2 * SEC, 2 * SEC)
    assert v.halted                                  # ... in the pre-open
    assert v.policy.counters() == {"dcb_trips": 1, "dcb_preopens": 1}


def test_dcb_limits_are_the_window_range_minus_and_plus_the_variant(eng):
    v = _dcb(eng)
    v.trade(2 * SEC, 102_000)
    assert v.policy.corridor(2 * SEC) == (98_500, 103_500)
    w = _dcb(eng, limits="extremes")
    w.trade(2 * SEC, 102_000)
    assert w.policy.corridor(2 * SEC) == (96_500, 105_500)
    # 60 minutes later the window has only the second trade.
    assert v.policy.corridor(3601 * SEC + 1) == (98_500, 105_500)


# -------------------------------------------------------------------- CME velocity
def _velocity(eng, **params):
    v = Venue(eng, "cme-velocity", ticks=1000, **params)
    v.trade(SEC, 100_000)
    v.submit(SEC, MM, 1, 1, price=99_500)
    v.submit(SEC, MM, 1, 10, price=98_500)
    return v


@pytest.mark.parametrize("later", [500 * MS, 5 * SEC])
def test_velocity_restarts_from_the_reopening_price_until_the_next_trade(eng, later):
    """A pause that reopens with no trade restarts the window from the mid (96,900/97,100
    -> 97,000): a buy at the 97,100 offer is no move, however long after the reopening --
    it was cancelled once the restart price left the 1 s window (the stale 100,000 again)."""
    v = Venue(eng, "cme-velocity", ticks=1000)
    v.trade(SEC, 100_000)
    v.submit(SEC, MM, 1, 5, price=97_000)
    v.submit(2 * SEC, OTHER, -1, 5, price=97_000)  # GTC 3% below: a 10 s pause
    assert v.halted
    for side in (-1, 1):                            # the crossing orders leave the pause
        v.exchange.cancel(3 * SEC, v.book.orders_at(side, 97_000)[0].order_id)
    v.submit(3 * SEC, MM, 1, 5, price=96_900)
    v.submit(3 * SEC, MM, -1, 5, price=97_100)
    v.run(2 * SEC, 12 * SEC)
    assert not v.halted and v.rows(K.TRADING_RESUMED)[0][10] == 0   # no reopening trade
    v.evaluate(12 * SEC + later)
    r = v.submit(12 * SEC + later, TAKER, 1, 1, order_type=MARKET)
    assert r is not None and r.filled_qty == 1
    assert v.policy.counters()["velocity_cancelled"] == 0


def test_velocity_measures_from_the_book_not_a_stale_print_when_the_window_is_empty(eng):
    """Makers re-quote 3% lower without a trade; 4 s later (the 1 s window empty) a market
    buy at the new offer is no move -- it fills.  Measured from the 100,000 print, every
    order would be a 3% move and the market would never trade again."""
    v = Venue(eng, "cme-velocity", ticks=1000)
    v.trade(SEC, 100_000)
    v.submit(2 * SEC, MM, 1, 5, price=96_990)
    v.submit(2 * SEC, MM, -1, 5, price=97_010)
    v.evaluate(5 * SEC)
    r = v.submit(5 * SEC, TAKER, 1, 1, order_type=MARKET)
    assert r is not None and r.filled_qty == 1 and not v.halted
    assert v.policy.counters()["velocity_cancelled"] == 0
    # A sweep 1,000 ticks through the bids from the 97,000 mid is still a move.
    v.submit(5 * SEC, MM, 1, 5, price=95_990)
    v.evaluate(7 * SEC)
    assert v.submit(7 * SEC, TAKER, -1, 10, order_type=MARKET) is None
    assert v.policy.counters()["velocity_cancelled"] == 1


def test_velocity_default_threshold_is_one_percent_of_the_start_price(eng):
    v = Venue(eng, "cme-velocity")
    assert v.policy.threshold == 1_000


def test_velocity_cancels_the_triggering_market_order(eng):
    v = _velocity(eng)
    before = v.book.volume(1)
    for tif, order_type, price in [(IOC, MARKET, None), (IOC, LIMIT, 98_000),
                                   (FOK, LIMIT, 98_000)]:
        assert v.submit(SEC + 500 * MS, TAKER, -1, 5, price=price, tif=tif,
                        order_type=order_type) is None
    assert len(v.rejections(REASON_VELOCITY)) == 3
    assert v.book.volume(1) == before and len(v.trades()) == 1
    assert not v.halted                            # "The market will remain open" [S15]
    c = v.policy.counters()
    assert c["velocity_cancelled"] == 3 and c["velocity_pauses"] == 0
    # A smaller move passes.
    assert v.submit(SEC + 500 * MS, TAKER, -1, 1, order_type=MARKET).filled_qty == 1


def test_velocity_counts_ticks_within_the_window_only(eng):
    v = _velocity(eng)
    v.submit(SEC + 500 * MS, TAKER, -1, 1, order_type=MARKET)       # 99,500 at 1.5 s
    v.submit(SEC + 600 * MS, MM, 1, 1, price=99_000)
    r = v.submit(SEC + 600 * MS, TAKER, -1, 1, order_type=MARKET)   # 99,000: 1,000 below
    assert r is None                                                # the high of 1 s
    v.evaluate(3 * SEC)                                             # window emptied
    r = v.submit(3 * SEC, TAKER, -1, 1, order_type=MARKET)          # 500 below 99,500
    assert r.filled_qty == 1 and not v.halted


def test_velocity_pause_rejects_market_and_ioc_but_accepts_limits(eng):
    v = _velocity(eng)
    r = v.submit(SEC + 500 * MS, OTHER, -1, 5, price=98_500)        # GTC limit triggers
    assert v.halted and r.resting_qty == 5 and r.filled_qty == 0
    assert v.book.best_bid() >= v.book.best_ask()
    for tif, order_type, price in [(IOC, MARKET, None), (IOC, LIMIT, 99_000),
                                   (FOK, LIMIT, 99_000)]:
        assert v.submit(5 * SEC, TAKER, 1, 1, price=price, tif=tif,
                        order_type=order_type) is None
    assert len(v.rejections(REASON_VELOCITY)) == 3
    assert v.submit(5 * SEC, TAKER, 1, 2, price=99_000).resting_qty == 2
    v.run(SEC + 500 * MS, 11 * SEC + 400 * MS)
    assert v.halted and len(v.trades()) == 1
    v.evaluate(11 * SEC + 500 * MS)                                 # 10 s pause
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    auction = v.trades()[1:]
    assert auction and {(t, p) for t, p, _ in auction} == {(11 * SEC + 500 * MS, resume[9])}
    assert_not_crossed(v.book)
    c = v.policy.counters()
    assert c["velocity_pauses"] == 1 and c["velocity_rejected_in_pause"] == 3


def test_velocity_cancel_and_pause_option_pauses_after_cancelling(eng):
    v = _velocity(eng, on_immediate="cancel-and-pause")
    assert v.submit(SEC + 500 * MS, TAKER, -1, 5, order_type=MARKET) is None
    assert v.halted and v.policy.counters()["velocity_pauses"] == 1


# ------------------------------------------------------------------ Coinbase hourly
def test_cde_breached_limit_becomes_the_reference_for_the_rest_of_the_hour(eng):
    v = Venue(eng, "cde-hourly")                    # ref = mark 100,000: [90,000, 110,000]
    assert (v.policy.lo, v.policy.hi) == (90_000, 110_000)
    v.submit(0, MM, 1, 5, price=95_000)
    v.submit(0, MM, 1, 5, price=85_000)
    r = v.submit(10 * SEC, TAKER, -1, 10, order_type=MARKET)
    assert r.filled_qty == 5 and v.halted           # clipped at 90,000, then halted
    assert v.policy.ref == 90_000 and (v.policy.lo, v.policy.hi) == (81_000, 99_000)
    v.run(10 * SEC, 130 * SEC)
    assert not v.halted
    # 99,500 was inside the first band; it is outside the band of the new reference.
    v.submit(200 * SEC, MM, -1, 1, price=99_500)
    r = v.submit(200 * SEC, TAKER, 1, 1, price=99_500, tif=IOC)
    assert r.reason == Reason.MATCHING_HALTED and v.halted
    assert v.policy.counters() == {"cde_trips": 2, "cde_halts": 2}
    v.run(200 * SEC, 3600 * SEC, step=SEC)
    # On the hour: the last trade price is the new reference.
    assert v.policy.ref == 95_000 and (v.policy.lo, v.policy.hi) == (85_500, 104_500)


def test_cde_reference_renews_on_the_clock_hour_when_the_run_starts_mid_hour(eng):
    """A run starting at 20:40 (first_hour_s 1200): the reference is renewed at 21:00, run
    second 1,200 -- not 3,600 -- and then every hour."""
    v = Venue(eng, "cde-hourly", first_hour_s=1200)
    assert v.policy.ref == 100_000
    v.trade(10 * SEC, 104_000)
    v.run(10 * SEC, 1199 * SEC, step=SEC)
    assert v.policy.ref == 100_000                  # 20:59:59: the start's reference
    v.evaluate(1200 * SEC)
    assert v.policy.ref == 104_000                  # 21:00: the last trade
    v.trade(1300 * SEC, 103_000)
    v.run(1300 * SEC, 4799 * SEC, step=SEC)
    assert v.policy.ref == 104_000
    v.evaluate(4800 * SEC)
    assert v.policy.ref == 103_000                  # 22:00


def test_cde_halt_lasts_two_minutes_with_order_entry_allowed(eng):
    v = Venue(eng, "cde-hourly")
    v.submit(0, MM, 1, 5, price=85_000)
    v.submit(10 * SEC, TAKER, -1, 1, order_type=MARKET)
    assert v.halted and not v.trades()
    assert v.submit(20 * SEC, TAKER, 1, 2, price=86_000).resting_qty == 2     # entered
    v.exchange.cancel(30 * SEC, v.book.orders_at(1, 86_000)[0].order_id)     # cancelled
    v.run(10 * SEC, 130 * SEC - 100 * MS)
    assert v.halted
    v.evaluate(130 * SEC)
    assert not v.halted and v.rows(K.TRADING_RESUMED)[0][0] == 130 * SEC


# ------------------------------------------------------------------------- Xetra VI
def test_xetra_orders_execute_until_the_next_price_leaves_the_corridor(eng):
    v = Venue(eng, "xetra-vi")                      # last = start 100,000: [98,000, 102,000]
    assert v.policy.corridor(0) == (98_000, 102_000)
    v.submit(0, MM, 1, 5, price=99_000)
    v.submit(0, MM, 1, 5, price=97_000)
    r = v.submit(SEC, TAKER, -1, 10, price=90_000, tif=IOC)
    assert r.filled_qty == 5 and v.halted
    assert [p for _, p, _ in v.trades()] == [99_000]
    assert v.policy.counters()["xetra_vis"] == 1


def test_xetra_auction_lasts_at_least_two_minutes_with_a_seeded_random_end(eng):
    ends = []
    for seed in range(8):
        v = Venue(eng, "xetra-vi", seed=seed)
        v.submit(0, MM, 1, 5, price=90_000)
        v.submit(SEC, TAKER, -1, 1, order_type=MARKET)      # first price outside: VI
        assert v.halted
        length = v.policy.halt_end - SEC
        draw = int(np.random.default_rng(seed).integers(0, 30_001))
        assert length == 120 * SEC + draw * MS              # from the run's seeded rng
        assert 120 * SEC <= length <= 150 * SEC
        v.run(SEC, SEC + length - 100 * MS, step=100 * MS)
        assert v.halted
        v.run(SEC + length, SEC + length + 100 * MS, step=100 * MS)
        assert not v.halted
        resumed = v.rows(K.TRADING_RESUMED)[0][0]
        assert SEC + length <= resumed < SEC + length + 100 * MS
        ends.append(length)
    assert len(set(ends)) > 1
    again = Venue(eng, "xetra-vi", seed=3)
    again.submit(0, MM, 1, 5, price=90_000)
    again.submit(SEC, TAKER, -1, 1, order_type=MARKET)
    assert again.policy.halt_end - SEC == ends[3]


def test_xetra_fok_that_would_leave_the_corridor_is_rejected(eng):
    v = Venue(eng, "xetra-vi")
    v.submit(0, MM, 1, 5, price=99_000)
    v.submit(0, MM, 1, 5, price=97_000)
    assert v.submit(SEC, TAKER, -1, 10, price=90_000, tif=FOK) is None
    assert len(v.rejections(REASON_XETRA_VI)) == 1
    assert not v.halted and not v.trades() and v.book.volume(1) == 10
    assert v.submit(SEC, TAKER, -1, 5, price=99_000, tif=FOK).filled_qty == 5
    assert v.policy.counters()["xetra_fok_rejected"] == 1


def test_xetra_auction_price_becomes_the_static_reference(eng):
    v = Venue(eng, "xetra-vi", random_end_s=0, queue_market_orders=False)
    v.submit(0, MM, 1, 5, price=90_000)
    v.submit(SEC, TAKER, -1, 1, order_type=MARKET)
    v.submit(2 * SEC, OTHER, -1, 3, price=89_000)                  # crosses the bid
    v.run(SEC, 121 * SEC)
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert (resume[0], resume[9], resume[10]) == (121 * SEC, 90_000, 3)
    assert v.policy.static_ref == 90_000
    # dynamic 90,000 +- 2%, static 90,000 +- 5%
    assert v.policy.corridor(122 * SEC) == (88_200, 91_800)


def test_xetra_without_crossing_volume_continuous_trading_resumes(eng):
    v = Venue(eng, "xetra-vi", random_end_s=0, queue_market_orders=False)
    v.submit(0, MM, 1, 5, price=90_000)
    v.submit(SEC, TAKER, -1, 1, order_type=MARKET)
    v.run(SEC, 121 * SEC)
    assert not v.halted and not v.trades()
    c = v.policy.counters()
    assert c["xetra_uncrossed"] == 0 and c["xetra_resumed_without_auction_price"] == 1
    assert v.policy.static_ref == 100_000


# ------------------------------------------------- market orders in the reopening auction
def test_a_reopening_auction_executes_queued_market_orders_at_the_uncross_price(eng):
    """LULD pause (market orders queue by default): a market buy of 8 and a market sell of 2
    queue; the reopening uncross -- bid 94,000 x5, ask 95,000 x5 -- trades them at its one
    price, 95,000: the sell and the ask fill 7 of the buy, whose last lot expires."""
    v = Venue(eng, "luld")
    _limit_state(v)
    v.run(0, 15 * SEC)
    assert v.halted
    buy = v.submit(20 * SEC, TAKER, 1, 8, order_type=MARKET, tif=IOC)
    sell = v.submit(21 * SEC, OTHER, -1, 2, order_type=MARKET)
    assert (buy.status.name, buy.resting_qty, sell.resting_qty) == ("NEW", 8, 2)
    assert v.book.best_bid() == 94_000 and v.book.volume(1) == 5   # at no price level
    v.run(15 * SEC + 100 * MS, 315 * SEC)
    assert not v.halted
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert (resume[0], resume[9], resume[10], resume[11]) == (315 * SEC, 95_000, 7, 1)
    trades = v.rows(K.TRADE)
    assert {(t[0], t[9]) for t in trades} == {(315 * SEC, 95_000)}
    assert sum(t[10] for t in trades) == 7
    assert any({t[5], t[6]} == {TAKER, OTHER} for t in trades)   # market meets market
    (expired,) = v.rows(K.ORDER_EXPIRED)
    assert (expired[5], expired[7], expired[10], expired[12]) == \
        (TAKER, buy.order_id, 1, Reason.IOC_REMAINDER)
    assert v.exchange.accounts[TAKER].positions[0].size == 7
    assert buy.order_id not in v.book and len(v.book) == 1         # MM's bid only
    v.book._check()
    assert_not_crossed(v.book)
    v.exchange.check_conservation()


def test_market_orders_are_refused_in_a_halt_whose_policy_does_not_queue_them(eng):
    for spec, params in [("cme-dcb", {}), ("cde-hourly", {}),
                         ("luld", {"queue_market_orders": False}),
                         ("xetra-vi", {"queue_market_orders": False})]:
        v = Venue(eng, spec, **params)
        v.policy.halt_venue(SEC)
        assert v.halted
        r = v.submit(2 * SEC, TAKER, 1, 1, order_type=MARKET)
        assert r.status.name == "REJECTED" and r.reason == Reason.MATCHING_HALTED, spec
        assert len(v.book) == 0


def test_each_policy_halts_with_its_auction_price_rule(eng):
    """xetra-vi uncrosses by Xetra's rule, every other halting policy by the every-tick
    rule; luld and xetra-vi queue market orders, the others do not (defaults)."""
    expect = {"luld": (True, 0), "cme-dcb": (False, 0), "cme-velocity": (False, 0),
              "cde-hourly": (False, 0), "xetra-vi": (True, 1)}
    for spec, (queue, rule) in expect.items():
        v = Venue(eng, spec)
        v.policy.halt_venue(SEC)
        assert (v.book._queue_mkt, v.book._rule) == (queue, rule), spec
    v = Venue(eng, "xetra-vi", auction_price_rule="every-tick")
    v.policy.halt_venue(SEC)
    assert v.book._rule == 0


def test_xetra_vi_puts_the_triggering_market_order_in_the_auction(eng):
    """The market sell whose first potential price (90,000) is outside the corridor halts
    the venue before matching and waits in the auction; at its end it trades at the Xetra
    auction price: the highest limit of maximum volume (buy surplus at both 89,000 and
    90,000)."""
    v = Venue(eng, "xetra-vi", random_end_s=0)
    v.submit(0, MM, 1, 5, price=90_000)
    r = v.submit(SEC, TAKER, -1, 1, order_type=MARKET)
    assert v.halted and r.resting_qty == 1
    v.submit(2 * SEC, OTHER, -1, 3, price=89_000)
    v.run(SEC, 121 * SEC)
    (resume,) = v.rows(K.TRADING_RESUMED)
    assert (resume[0], resume[9], resume[10], resume[11]) == (121 * SEC, 90_000, 4, 1)
    assert v.exchange.accounts[TAKER].positions[0].size == -1
    assert not v.rows(K.ORDER_EXPIRED)
    v.exchange.check_conservation()


def test_the_stand_in_venue_offers_every_member_of_the_port(eng):
    v = Venue(eng, "luld")
    members = set(Port.__annotations__) | {n for n, f in vars(Port).items()
                                           if not n.startswith("_") and callable(f)}
    assert members and all(hasattr(v, name) for name in members)
    assert v.policy.port is v and v.exchange.breaker is v.policy


def test_liq_throttle_cap_is_dollars_on_an_inverse_contract_converted_at_the_mark():
    """On XBTUSD (money in XBT) a $5M-a-second cap at a $5,000 mark is 1,000 XBT of
    liquidation notional a second, not 5M XBT: a second 600-XBT unit waits."""
    from engine.venue.exchange import Exchange
    from engine.venue.instruments import bitmex_xbtusd
    ex = Exchange([bitmex_xbtusd()], insurance_fund=10**8, adl_ranking="bitmex")
    ex.set_mark(0, 0, 10_000)                               # 0.5-dollar ticks: $5,000
    port = SimpleNamespace(exchange=ex, instrument=ex.instruments[0])
    throttle = make_breaker("liq-throttle", SimpleNamespace(breaker={}, source_path="test"))
    throttle.bind(port)
    xbt = 10**8
    assert throttle.gate_liquidation(SEC, 1, 0, 600 * xbt) == 0
    assert throttle.gate_liquidation(SEC, 2, 0, 600 * xbt) != 0     # 1,200 > 1,000 XBT
    assert throttle.gate_liquidation(SEC, 3, 0, 400 * xbt) == 0     # exactly 1,000
    assert throttle.gate_liquidation(2 * SEC, 2, 0, 600 * xbt) == 0  # the next second
