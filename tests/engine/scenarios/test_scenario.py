"""Scenario files: loading, overrides, scaling, and errors that name the file and field."""
from __future__ import annotations

from fractions import Fraction

import pytest

from engine.config import ConfigError
from engine.scenarios.scenario import apply_override, bundled_names, load
from engine.simulation import Simulation

MINIMAL = '''
[scenario]
name = "mini"
duration_s = 20
event_start_s = 5
[traders]
count = 50
[makers]
count = 1
'''


def test_every_bundled_scenario_loads_and_validates():
    for name in bundled_names():
        assert load(name).meta.name == name


def _rejected(tmp_path, text: str, match: str) -> None:
    """Loading ``text`` as a scenario file fails with a ConfigError matching ``match``."""
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load(str(f))


def test_index_path_can_come_from_a_csv_file_next_to_the_scenario(tmp_path):
    (tmp_path / "path.csv").write_text("t_s,price\n0,100000\n10,95000\n20,96000\n")
    f = tmp_path / "s.toml"
    f.write_text(MINIMAL + '[index]\nstart = "100000"\nfile = "path.csv"\n')
    sc = load(str(f))
    assert [(int(t), str(p)) for t, p in sc.index.path] == \
        [(0, "100000"), (10, "95000"), (20, "96000")]
    sim = Simulation(sc, seed=1)
    assert sim.index_at(10 * 10**9) == 950_000        # ticks of 0.1
    assert sim.index_at(5 * 10**9) == 975_000         # linear between points


def test_a_bad_line_in_the_index_file_names_the_file_and_the_line(tmp_path):
    (tmp_path / "path.csv").write_text("t_s,price\n0,100000\n10,abc\n")
    _rejected(tmp_path, MINIMAL + '[index]\nfile = "path.csv"\n',
              r"path\.csv.*\[1\]\[1\].*decimal")


def test_a_missing_index_file_is_a_config_error_naming_it(tmp_path):
    _rejected(tmp_path, MINIMAL + '[index]\nfile = "nowhere.csv"\n',
              "index.file: cannot read .*nowhere.csv")


def test_an_index_file_that_is_not_utf8_text_is_rejected_naming_it(tmp_path):
    (tmp_path / "path.csv").write_bytes("t_s,price\n0,100000\n10,95000\xe9\n".encode("latin-1"))
    _rejected(tmp_path, MINIMAL + '[index]\nfile = "path.csv"\n', r"path.csv is not a text")


def test_an_index_path_below_half_a_tick_runs_at_one_tick():
    sim = Simulation(load("flash-drop", ['index.path=[[0, "100000"], [60, "0.04"]]'],
                          Fraction(1, 100)), seed=1)
    assert sim.index_at(120 * 10**9) == 1
    sim.run()


def test_index_times_must_increase(tmp_path):
    _rejected(tmp_path, MINIMAL + '[index]\npath = [[0, "100"], [0, "99"]]\n',
              r"index.path\[1\]\[0\]: expected times strictly increasing")


def test_event_start_must_come_before_the_end(tmp_path):
    _rejected(tmp_path, MINIMAL.replace("event_start_s = 5", "event_start_s = 20"),
              "event_start_s: expected < duration_s")


def test_unknown_tables_and_keys_are_rejected_with_the_choices(tmp_path):
    _rejected(tmp_path, MINIMAL + "[weather]\nrain = 1\n",
              r"\[weather\]: unknown table; expected one of")


def test_makers_watch_the_index_or_the_venues_last_or_mark_price_and_nothing_else(tmp_path):
    assert load("flash-drop").makers.vol_source == "index"
    assert load("flash-drop", ['makers.vol_source="last"']).makers.vol_source == "last"
    _rejected(tmp_path, MINIMAL + 'vol_source = "mid"\n',
              r"makers\.vol_source: expected one of index, last, mark")


def test_scale_shrinks_a_breakers_quote_cap_exactly():
    tiny = load("flash-drop", ['breaker.liq-throttle.max_notional_per_s="0.4"'], Fraction(1, 100))
    assert tiny.breaker["liq-throttle"]["max_notional_per_s"] == "0.004"   # not rounded to 0
    default = load("flash-drop", [], Fraction(1, 50))
    assert default.breaker["liq-throttle"]["max_notional_per_s"] == "100000"


@pytest.mark.parametrize("scale", [Fraction(1), Fraction(1, 50)])
def test_a_bad_breaker_parameter_is_rejected_at_load_even_for_a_policy_not_run(scale):
    with pytest.raises(ConfigError, match=r"breaker\.liq-throttle\.max_notional_per_s"):
        load("flash-drop", ['breaker.liq-throttle.max_notional_per_s="-5"'], scale)


def test_set_reaches_into_arrays_of_tables_and_rejects_bad_indexes():
    data = {"flows": [{"kind": "sell"}]}
    apply_override(data, "flows.0.notional_per_s=\"5\"")
    assert data["flows"][0]["notional_per_s"] == "5"
    with pytest.raises(ConfigError, match="not an index"):
        apply_override(data, "flows.3.kind=\"buy\"")


@pytest.mark.parametrize("index", ["\u00b2", "\u0663", "1_0", " 0"])
def test_set_refuses_an_array_index_that_is_not_ascii_digits_as_bad_input(index):
    # "²".isdigit() is True but int("²") raises ValueError: an internal error, exit 1
    data = {"flows": [{"kind": "sell"}] * 11}
    with pytest.raises(ConfigError, match="not an index"):
        apply_override(data, f"flows.{index}.kind=\"buy\"")


def test_scale_shrinks_population_depth_flows_and_fund_together():
    full, tenth = load("flash-drop"), load("flash-drop", scale=Fraction(1, 10))
    assert tenth.traders.count == full.traders.count // 10
    assert [n * 10 for _, n in tenth.makers.depth_bands] == \
        [n for _, n in full.makers.depth_bands]
    assert tenth.venue.insurance_fund * 10 == full.venue.insurance_fund
    assert tenth.flows[0].notional_per_s * 10 == full.flows[0].notional_per_s
    assert tenth.scale == Fraction(1, 10) and tenth.makers.levels == full.makers.levels


def test_the_resolved_scenario_round_trips(tmp_path):
    import tomli_w
    sc = load("flash-drop", ["traders.count=123"], Fraction(1, 2))
    f = tmp_path / "r.toml"
    f.write_bytes(tomli_w.dumps(sc.resolved()).encode())
    again = load(str(f))
    assert again.traders == sc.traders and again.index == sc.index and again.flows == sc.flows


@pytest.mark.parametrize("makers,match", [
    ('depth_1pct = "1000"\ndepth_bands = [[1, "1000"]]', "give depth_1pct or depth_bands"),
    ('depth_bands = [[1, "1000"], [0.5, "2000"]]', r"depth_bands\[1\]: expected pct and "
                                                     "notional both larger"),
    ('depth_bands = [[1, "1000"], [2, "1000"]]', r"depth_bands\[1\]: expected pct and"),
    ('depth_bands = [[0, "1000"]]', r"depth_bands\[0\]\[0\]: expected a percentage > 0"),
    ('depth_bands = [[150, "1000"]]', r"depth_bands\[0\]\[0\]: expected a number in"),
    ('depth_bands = []', "depth_bands: expected a non-empty list"),
    ('depth_bands = [[1, "1000"], [1.02, "2000"]]', r"depth_bands\[1\]: no quote level "
                                                      r"within 1.02% of fair"),
    ('half_spread_bps = 150\ndepth_1pct = "1000"', "depth_1pct: no quote level within 1%"),
])
def test_a_depth_profile_must_be_cumulative_and_reach_a_level_in_every_band(tmp_path, makers,
                                                                             match):
    _rejected(tmp_path, MINIMAL + makers + "\n", match)


def test_set_of_one_depth_spelling_replaces_the_other():
    # bench-cascade has one maker group (no archetypes), so [makers] is the group itself.
    sc = load("bench-cascade", ['makers.depth_bands=[[0.5, "1000000"], [1, "3000000"]]'])
    assert sc.makers.depth_bands == ((Fraction(1, 2), 1_000_000), (1, 3_000_000))
    assert load("bench-cascade", ['makers.depth_1pct="7000"']).makers.depth_bands == \
        ((1, 7000),)


@pytest.mark.parametrize("item", ["makers.count=3", "makers.refresh_ms=50",
                                  'makers.depth_1pct="7000"'])
def test_a_set_of_a_makers_key_every_archetype_overrides_is_refused(item):
    """flash-drop's three archetypes each set count, refresh_ms and depth_bands: the
    top-level value would change nothing, so a sweep over it would draw a false flat line."""
    key = item.partition("=")[0]
    with pytest.raises(ConfigError, match=rf"--set {key}: every \[\[makers\.archetypes\]\] "
                                          r".* changes nothing; set makers\.archetypes\.N\."):
        load("flash-drop", [item])


def test_a_set_of_a_makers_key_some_archetype_inherits_is_accepted():
    sc = load("flash-drop", ["makers.vol_window_s=30", "makers.archetypes.0.count=2"])
    assert sc.makers.archetypes[0].count == 2
    assert all(g.vol_window_s == 30 for g in sc.makers.archetypes)


@pytest.mark.parametrize("line", ["backstop_offload = true", "backstop_capital_oi_pct = 4"])
def test_backstop_vault_keys_are_refused_on_a_venue_without_a_vault(tmp_path, line):
    """Only the hyperliquid waterfall has a backstop vault: its keys on a Binance-style
    venue would be silently inert, so loading names the key instead."""
    _rejected(tmp_path, MINIMAL + f'[venue]\ninstrument = "binance:BTCUSDT"\n{line}\n',
              r"venue\.backstop_.*only the hyperliquid waterfall")


def test_backstop_vault_keys_load_on_a_hyperliquid_venue(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(MINIMAL + '[venue]\ninstrument = "hyperliquid:BTC"\nbackstop_offload = true\n'
                 'backstop_capital_oi_pct = 4\n')
    assert load(str(f)).venue.backstop_capital_oi_pct == 4


def test_the_mark_policy_accepts_bitmex_fair_price_and_refuses_an_unknown_name(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(MINIMAL + '[venue]\nmark_policy = "fair-price"\n')
    assert load(str(f)).venue.mark_policy == "fair-price"
    assert load("flash-drop", ['venue.mark_policy="fair-price"']).venue.mark_policy == "fair-price"
    _rejected(tmp_path, MINIMAL + '[venue]\nmark_policy = "fair_price"\n',
              r"s\.toml: venue\.mark_policy: expected one of .*fair-price.*got 'fair_price'")


@pytest.mark.parametrize("item,message", [
    ("traders.cont=20000", "--set traders.cont: unknown key; expected one of count,"),
    ("traders.count=-5", "--set traders.count: expected an integer in [0, 10000000], got -5"),
    ("flows.0.window=-3", "--set flows.0.window: expected [start_s, end_s], got -3"),
    ("traders={cont=1}", "--set traders: traders.cont: unknown key"),
])
def test_a_bad_key_or_value_given_by_set_names_the_set_not_the_bundled_file(item, message):
    """"replays/flash-drop.toml: traders.cont: unknown key" read as if the bundled file were
    broken; the key was typed on the command line."""
    with pytest.raises(ConfigError) as caught:
        load("flash-drop", [item])
    assert str(caught.value).startswith(message), str(caught.value)
    assert "flash-drop.toml" not in str(caught.value)


def test_a_bad_field_of_the_file_still_names_the_file_beside_a_set_of_another_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\n[traders]\nlong_share = 1.5\n')
    with pytest.raises(ConfigError, match=f"^{bad}: traders.long_share: "):
        load(str(bad), ["traders.count=5"])


def test_a_misspelled_table_given_by_set_names_the_set_not_the_bundled_file():
    with pytest.raises(ConfigError, match=r"^--set traderz\.count: \[traderz\]: unknown "
                                          r"table"):
        load("flash-drop", ["traderz.count=1"])
