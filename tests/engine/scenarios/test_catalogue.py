"""The catalogue's tables and the compressed clock (engine.scenarios.catalogue): sources
name real keys and cite an id, [expect] is validated and scores the event's facts with its
own thresholds, and a compressed run keeps the venue's rules in event time."""
from __future__ import annotations

import pathlib
from fractions import Fraction

import pytest

import engine
from engine.breakers import compress_params
from engine.config import ConfigError
from engine.scenarios.catalogue import compress_funding, compress_mark
from engine.scenarios.scenario import load
from engine.simulation import Simulation
from engine.venue.events import EventKind
from engine.venue.funding import Funding

GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")
SMALL = Fraction(1, 50)


def _with(tmp_path, extra: str) -> str:
    path = tmp_path / "event.toml"
    path.write_text(pathlib.Path(GAP_DROP).read_text() + "\n" + extra)
    return str(path)


def test_a_source_line_must_name_a_key_the_file_sets(tmp_path):
    ok = _with(tmp_path, '[sources]\n"index.path" = "[S60] the index fell 8%"\n'
                         '"flows.0.notional_per_s" = "assumed: of the order of the book"\n')
    assert set(load(ok).sources) == {"index.path", "flows.0.notional_per_s"}
    bad = _with(tmp_path, '[sources]\n"index.nothing" = "[S60] x"\n')
    with pytest.raises(ConfigError, match=r'sources\."index.nothing": expected a key'):
        load(bad)


def test_a_source_key_with_a_non_ascii_digit_is_refused_naming_it(tmp_path):
    bad = _with(tmp_path, '[sources]\n"flows.\u00b2" = "[S60] x"\n')
    with pytest.raises(ConfigError, match=r'sources\."flows.\u00b2": expected a key'):
        load(bad)


@pytest.mark.parametrize("key", ["time", "scenario", "halted_at_end", "no_such_key"])
def test_a_summary_bound_on_a_key_that_is_not_a_number_is_refused_before_the_run(tmp_path,
                                                                                  key):
    path = _with(tmp_path, f"[expect.summary]\n{key} = [0, 1]\n")
    with pytest.raises(ConfigError, match=f"expect.summary.{key}: expected a numeric"):
        engine.run(path, scale=SMALL)


def test_an_override_drops_the_source_lines_of_what_it_sets_or_removes(tmp_path):
    path = _with(tmp_path, '[sources]\n"index.path" = "[S60] the index fell 8%"\n'
                           '"flows.0.notional_per_s" = "assumed: of the order of the book"\n')
    sc = load(path, ["flows=[]"])                 # was refused: the sourced key is gone
    assert not sc.flows
    assert set(sc.sources) == {"index.path"}
    assert set(load(path, ["flows.0.notional_per_s=5"]).sources) == {"index.path"}
    assert set(load(path, ["traders.count=10"]).sources) == set(load(path).sources)


def test_a_source_line_must_cite_an_id_or_say_assumed(tmp_path):
    bad = _with(tmp_path, '[sources]\n"index.path" = "the index fell 8%"\n')
    with pytest.raises(ConfigError, match=r'sources\."index.path": expected a line citing'):
        load(bad)


@pytest.mark.parametrize("table, match", [
    ("[expect]\nfacts = [15]", r"expect.facts\[0\]"),
    ("[expect]\nscale = 0", r"expect.scale"),
    ("[expect]\nwhat = 1", r"expect.what: unknown key"),
    ("[expect.summary]\nlong_liquidation_share = [0.9, 0.8]", r"expect.summary.long_liq"),
    ("[expect.targets.3]\nlong_share_min = \"high\"", r"expect.targets.3.long_share_min"),
    ("[expect.targets.\"\u00b2\"]\nlong_share_min = 0.5", r"expect.targets.\u00b2: expected a fact"),
    ("[expect.summary]\nlong_liquidation_share = [nan, 1]", r"expect.summary.long_liq"),
    ("[expect.summary]\nliquidations_count = [0, inf]", r"expect.summary.liquidations_count"),
])
def test_bad_expect_tables_are_refused_naming_the_field(tmp_path, table, match):
    with pytest.raises(ConfigError, match=match):
        load(_with(tmp_path, table))


def test_an_unknown_threshold_name_is_refused_before_the_run(tmp_path):
    path = _with(tmp_path, "[expect.targets.3]\nlong_share_minimum = 0.5\n")
    with pytest.raises(ConfigError, match="expect.targets"):
        engine.run(path, scale=SMALL)


def test_the_events_thresholds_score_its_facts(tmp_path):
    plain = engine.run(GAP_DROP, scale=SMALL).summary["facts"]["3"]
    strict = engine.run(_with(tmp_path, "[expect.targets.3]\nlong_share_min = 1.5\n"),
                        scale=SMALL).summary["facts"]["3"]
    assert strict["target"]["long_share_min"] == 1.5 != plain["target"]["long_share_min"]
    if plain["values"].get("long_share") is not None:
        assert strict["verdict"] == "FAIL"


def test_expect_and_sources_are_written_back_with_the_run(tmp_path):
    path = _with(tmp_path, '[sources]\n"index.path" = "[S1] a figure"\n'
                           '[expect]\nscale = 0.1\nseeds = [0, 1]\nfacts = [1, 4]\n'
                           '[expect.summary]\nbad_debt = [0, 0]\n')
    sc = load(path)
    again = tmp_path / "again.toml"
    r = engine.run(sc, scale=1)
    r.save(tmp_path / "run")
    again.write_text((tmp_path / "run" / "scenario.toml").read_text())
    back = load(str(again))
    assert back.sources == sc.sources and back.expect == sc.expect


def test_compressing_the_clock_divides_every_breaker_time_by_k():
    table = compress_params({"luld": {"pause_s": 600}}, 4)
    assert table["luld"]["pause_s"] == "150.000000000"
    assert table["luld"]["reference_window_s"] == "75.000000000"     # its default, 300 s
    assert table["cde-hourly"]["period_s"] == "900.000000000"
    assert compress_params({"luld": {"pause_s": 600}}, 1) == {"luld": {"pause_s": 600}}


def test_a_compressed_run_builds_its_breaker_on_the_compressed_times():
    sc = load(GAP_DROP, ["scenario.time_compression=10", "breaker.luld.pause_s=600"], SMALL)
    luld = Simulation(sc, breaker="luld", seed=1).breaker
    assert luld.params["pause_s"] == 60 * 10**9
    assert luld.params["reference_window_s"] == 30 * 10**9
    plain = Simulation(load(GAP_DROP, ["breaker.luld.pause_s=600"], SMALL), breaker="luld")
    assert plain.breaker.params["pause_s"] == 600 * 10**9


def test_a_compressed_run_marks_on_the_venue_windows_run_k_times_faster():
    """Binance's 30 s basis window on a 4x clock is 30 event seconds -- 8 run seconds --
    not 2 event minutes; Hyperliquid's EMAs likewise; at 1,152x one second at least."""
    def mark(policy, k):
        return Simulation(load(GAP_DROP, [f"scenario.time_compression={k}",
                                          f'venue.mark_policy="{policy}"'], SMALL)).mark_policy
    assert mark("binance", 1).window_s == 30 and mark("binance", 4).window_s == 8
    assert mark("binance", 1152).window_s == 1
    hl = mark("hyperliquid", 2)
    assert (hl.ema_s, hl.fallback_ema_s) == (75, 15)


def test_the_mark_clocks_compressed_are_the_policies_own_defaults():
    from engine.scenarios.catalogue import MARK_CLOCKS
    from engine.venue.marks import make_mark_policy
    for name, clocks in MARK_CLOCKS.items():
        policy = make_mark_policy(name)
        assert {key: getattr(policy, key) for key in clocks} == clocks, name
    assert compress_mark("last", 4) == {} and compress_mark("binance", 1) == {}


def test_compressed_funding_settles_k_times_as_often_and_pays_a_real_interval():
    sc = load(GAP_DROP, ["funding.enabled=true", "funding.interval_s=28800",
                         "funding.first_s=28800"])
    rule = sc.funding.rule_for(Simulation(sc).instrument)
    fast = compress_funding(rule, 240)
    assert (fast.interval_s, fast.first_s, fast.rate_interval_s) == (120, 120, 28800)
    assert fast.paid_interval_s == rule.paid_interval_s == 28800
    assert compress_funding(rule, 1) is rule


def test_a_compressed_run_settles_funding_on_the_compressed_schedule():
    over = ["funding.enabled=true", "funding.interval_s=28800", "funding.first_s=28800",
            "scenario.time_compression=240"]
    sim = Simulation(load(GAP_DROP, over, SMALL), seed=1)
    sim.run()
    settled = [r[0] // 10**9 for r in sim.log.rows(EventKind.FUNDING_SETTLED)]
    assert settled == [120, 240]
    sim.exchange.check_conservation()


def test_the_summary_states_the_compression_and_each_clock():
    r = engine.run(GAP_DROP, scale=SMALL, overrides=["scenario.time_compression=60"])
    t = r.summary["time"]
    assert t["compression"] == "60" and t["event_seconds"] == 240 * 60
    assert set(t["clocks"]) == {"timeline", "breakers", "funding", "mark", "microstructure"}
    assert engine.run(GAP_DROP, scale=SMALL).summary["time"]["compression"] == "1"


def test_a_compressed_settlement_pays_the_rate_of_a_whole_real_interval():
    # the rate before any sample, and from the samples of the elapsed part of the interval
    # (first_s < interval_s), is the real 8 h interval's -- not 1/240 of it
    sc = load(GAP_DROP, ["funding.enabled=true", "funding.interval_s=28800",
                         "funding.first_s=3600", "funding.start_rate_8h=0.0003"])
    tlq = Simulation(sc).instrument.tick_lot_quanta
    rule = sc.funding.rule_for(Simulation(sc).instrument)
    real, fast = Funding(rule, tlq), Funding(compress_funding(rule, 240), tlq)
    assert fast.average_premium() is not None          # the elapsed part's samples
    assert fast.last_rate == real.last_rate == Fraction(3, 10_000)
    assert fast.rate() == real.rate() != 0


def test_a_cap_per_second_is_k_times_larger_on_a_compressed_clock():
    table = compress_params({"liq-throttle": {"max_notional_per_s": "1000"}}, 4)
    assert table["liq-throttle"]["max_notional_per_s"] == "4000"


def test_the_facts_windows_are_event_time_divided_by_the_compression():
    from engine.outputs.facts import on_run_clock
    t = on_run_clock({2: {"peak_window_s": 60, "peak_share_min": 0.2},
                      14: {"sample_ms": 1000}}, 4)
    assert t == {2: {"peak_window_s": 15, "peak_share_min": 0.2}, 14: {"sample_ms": 250}}
    assert on_run_clock({1: {"move_window_s": 60}}, 1152) == {1: {"move_window_s": 1}}
    r = engine.run(GAP_DROP, scale=SMALL, overrides=["scenario.time_compression=4"])
    assert r.summary["facts"]["2"]["target"]["peak_window_s"] == 15
    assert engine.run(GAP_DROP, scale=SMALL).summary["facts"]["2"]["target"]["peak_window_s"] == 60
