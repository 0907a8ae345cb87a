"""Rules every circuit-breaker policy obeys, checked on whole runs of the ``flash-drop`` toy
scenario at 1/100 scale (index -8% in 60 s; makers withdraw, the book gaps to a stub bid
12% down -- moves beyond every band's default width).

* ``none`` never halts, trips or defers;
* during a halt no trade prints: between a ``TradingHalted`` and the next
  ``TradingResumed`` the only trades are the reopening uncross's, at the resume timestamp
  and all at one price;
* after every reopening the book is not crossed;
* conservation holds across halts: ``check_conservation`` after every RISK step in which
  the ledger moved, and the book's invariants after every RISK step
  (``CheckedSimulation``), and at the end;
* a wider band never halts sooner (first ``TradingHalted`` time non-decreasing, or never);
* the same seed gives a byte-identical event log, for every policy.
"""
from __future__ import annotations

import pathlib

from fractions import Fraction

import pytest

from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import EventKind as K

#: The controlled gap of the breaker and loop mechanics tests (tests/data/gap-drop.toml).
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


SCALE = Fraction(1, 100)
SEED = 7
VELOCITY_PAUSES = ["breaker.cme-velocity.on_immediate=cancel-and-pause"]

# (label, --breaker spec, --set overrides, halts expected on flash-drop)
RUNS = [
    ("none", "none", [], False),
    ("price-band", "price-band", [], False),
    ("liq-throttle", "liq-throttle", [], False),
    ("liq-pause", "liq-pause", [], False),
    ("luld", "luld", [], True),
    ("luld-reject", "luld", ["breaker.luld.mode=reject"], False),   # nothing rests at the band
    ("cme-dcb", "cme-dcb", [], True),
    ("cme-velocity", "cme-velocity", [], False),
    ("cme-velocity-pause", "cme-velocity", VELOCITY_PAUSES, True),
    ("cde-hourly", "cde-hourly", [], True),
    ("xetra-vi", "xetra-vi", [], True),
    ("luld+liq-pause", "luld+liq-pause", [], True),
    ("cme-dcb+liq-pause", "cme-dcb+liq-pause", [], True),
    ("xetra-vi+liq-throttle", "xetra-vi+liq-throttle", [], True),
]
LABELS = [r[0] for r in RUNS]
LEDGER = frozenset({K.TRADE, K.DEPOSITED, K.WITHDREW, K.POSITION_TRANSFERRED,
                    K.INSURANCE_TAKEOVER, K.BACKSTOP_TAKEOVER, K.AUTO_DELEVERAGED, K.BAD_DEBT,
                    K.INSURANCE_PAID, K.INSURANCE_RECEIVED, K.COLLATERAL_SEIZED,
                    K.LIQUIDATION_FILLED})


class CheckedSimulation(Simulation):
    """The Simulation with its invariants checked as it runs (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        self.reopenings = []
        self._checked = 0
        self._was_halted = False
        self.conservation_checks = 0
        self.checks_while_halted = 0
        super().__init__(*args, **kwargs)

    def _conserved(self):
        self.exchange.check_conservation()
        self.conservation_checks += 1
        self.checks_while_halted += self.exchange.halted

    def _risk_step(self, ts):
        super()._risk_step(ts)
        book = self.exchange.books[0]
        book._check()
        if not self.exchange.halted:
            bb, ba = book.best_bid(), book.best_ask()
            assert bb is None or ba is None or bb < ba, f"{ts}: crossed while trading"
        # Money moves only through the ledger, which logs what it does: check when it did,
        # and at the first step of every halt.
        if (self.exchange.halted and not self._was_halted) or \
                any(k in LEDGER for k in self.log.kinds(self._checked)):
            self._conserved()
        self._was_halted = self.exchange.halted
        self._checked = len(self.log)

    def reopen(self, ts, reference, code):
        result = super().reopen(ts, reference, code)
        book = self.exchange.books[0]
        bb, ba = book.best_bid(), book.best_ask()
        self.reopenings.append((ts, bb, ba))
        assert bb is None or ba is None or bb < ba, f"{ts}: crossed after reopening"
        self._conserved()                   # the uncross's fills went through the ledger
        return result


def _scenario(overrides=()):
    return load(GAP_DROP, overrides=list(overrides), scale=SCALE)


@pytest.fixture(scope="module")
def runs():
    """label -> the CheckedSimulation of that run (each run once, on first use)."""
    cache = {}

    def get(label):
        if label not in cache:
            _, spec, overrides, _ = RUNS[LABELS.index(label)]
            sim = CheckedSimulation(_scenario(overrides), breaker=spec, seed=SEED).run()
            sim.exchange.check_conservation()
            cache[label] = sim
        return cache[label]
    return get


def _first_halt(sim):
    halts = sim.log.rows(K.TRADING_HALTED)
    return halts[0][0] if halts else None


def test_none_never_halts(runs):
    sim = runs("none")
    assert sim.exchange.halts == 0 and not sim.exchange.halted
    for kind in (K.TRADING_HALTED, K.TRADING_RESUMED, K.BREAKER_TRIPPED,
                 K.LIQUIDATION_DEFERRED):
        assert not sim.log.rows(kind)
    assert sim.breaker.counters() == {}


@pytest.mark.parametrize("label", LABELS)
def test_no_trade_prints_during_a_halt(runs, label):
    sim = runs(label)
    expect_halts = RUNS[LABELS.index(label)][3]
    halted_at, pending = None, []
    halts = 0
    for row in sim.log.rows():
        kind = row[2]
        if kind == K.TRADING_HALTED:
            assert halted_at is None, "halted twice without a resume"
            halted_at, pending = row[0], []
            halts += 1
        elif kind == K.TRADE and halted_at is not None:
            pending.append(row)
        elif kind == K.TRADING_RESUMED:
            assert halted_at is not None, "resumed without a halt"
            assert all(t[0] == row[0] and t[9] == row[9] for t in pending), \
                f"trades during the halt from {halted_at}: {[(t[0], t[9]) for t in pending]}"
            assert sum(t[10] for t in pending) == row[10]       # the uncross volume
            halted_at = None
    assert not pending or halted_at is None, "trades after a halt that never resumed"
    assert (halts > 0) == expect_halts, f"{label}: {halts} halts"
    assert halts == sim.exchange.halts


@pytest.mark.parametrize("label", [r[0] for r in RUNS if r[3]])
def test_book_is_not_crossed_after_reopening(runs, label):
    sim = runs(label)
    resumed = sim.log.rows(K.TRADING_RESUMED)
    assert len(sim.reopenings) == len(resumed)
    for ts, bb, ba in sim.reopenings:       # CheckedSimulation.reopen asserted it as well
        assert bb is None or ba is None or bb < ba


@pytest.mark.parametrize("label", LABELS)
def test_conservation_holds_across_halts(runs, label):
    sim = runs(label)
    sim.exchange.check_conservation()
    assert sim.conservation_checks > 0
    assert (sim.checks_while_halted > 0) == RUNS[LABELS.index(label)][3]
    assert sim.conservation_checks >= sim.checks_while_halted + len(sim.reopenings)


@pytest.mark.parametrize("name,key,values", [
    ("luld", "band_pct", (5, 10, 20)),
    ("cme-dcb", "variant_pct", ("3.5", 7, 14)),
    ("cde-hourly", "band_pct", (5, 10, 20)),
    ("xetra-vi", "static_pct", (3, 5, 15)),
])
def test_a_wider_band_never_halts_sooner(name, key, values):
    firsts = []
    for value in values:
        overrides = [f"breaker.{name}.{key}={value}"]
        if name == "xetra-vi":
            overrides.append(f"breaker.xetra-vi.dynamic_pct={value}")
        sim = Simulation(_scenario(overrides), breaker=name, seed=SEED).run()
        firsts.append(_first_halt(sim))
    assert firsts[0] is not None, f"{name}: the narrowest band never halted: vacuous"
    never = float("inf")
    times = [never if t is None else t for t in firsts]
    assert times == sorted(times), f"{name} {key} {values}: first halts {firsts}"


@pytest.mark.parametrize("label", LABELS)
def test_same_seed_gives_an_identical_event_log(runs, label):
    first = runs(label)
    _, spec, overrides, _ = RUNS[LABELS.index(label)]
    again = Simulation(_scenario(overrides), breaker=spec, seed=SEED).run()
    assert again.log.digest() == first.log.digest()
    assert again.breaker.counters() == first.breaker.counters()


def test_conservation_holds_with_market_orders_queued_in_the_xetra_reopening(runs):
    """xetra-vi queues market orders (its default): in this run some wait in the VI
    auction -- the orders refused before are accepted now -- and what the uncross leaves of
    them expires at the reopening; ``CheckedSimulation`` checked the ledger and the book
    after that uncross and at every step."""
    sim = runs("xetra-vi")
    resumes = {r[0] for r in sim.log.rows(K.TRADING_RESUMED)}
    halted = [(h[0], r) for h, r in zip(sim.log.rows(K.TRADING_HALTED), sorted(resumes))]
    accepted_in_halt = {r[7] for r in sim.log.rows(K.ORDER_ACCEPTED)       # order ids
                        if any(h <= r[0] < end for h, end in halted)}
    expired_at_reopening = [r for r in sim.log.rows(K.ORDER_EXPIRED)
                            if r[0] in resumes and r[7] in accepted_in_halt]
    assert resumes and expired_at_reopening
    assert sim.breaker.counters()["xetra_uncrossed"] == len(resumes)
    sim.exchange.check_conservation()
    sim.exchange.books[0]._check()
