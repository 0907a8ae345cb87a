"""``[funding]``: off by default, the venue's defaults, one-line errors naming the field."""
from __future__ import annotations

import pathlib

from decimal import Decimal
from fractions import Fraction

import pytest
import tomli_w

from engine.config import ConfigError
from engine.scenarios.scenario import load


#: The controlled gap (tests/data/gap-drop.toml): the toy these tests were written on,
#: with none of the population's participants on.
GAP_DROP = str(pathlib.Path(__file__).resolve().parents[2] / "data" / "gap-drop.toml")


def test_funding_is_off_by_default_and_absent_from_the_resolved_scenario():
    sc = load(GAP_DROP)
    assert not sc.funding.enabled and "funding" not in sc.resolved()


def test_binance_defaults_come_from_the_instrument_tiers():
    f = load(GAP_DROP, ["funding.enabled=true"]).funding
    # BTCUSDT (2025-08-19): first tier MMR 0.40 %, max leverage 150.
    assert (f.rule, f.interval_s, f.first_s, f.sample_s) == ("binance", 28_800, 28_800, 5)
    assert f.cap_8h == Fraction(3, 1000) and f.impact_notional == Decimal(30_000)
    assert f.interest_8h == f.start_rate_8h == Fraction(1, 10_000)
    assert f.clamp_8h == Fraction(5, 10_000)


def test_hyperliquid_defaults_are_hourly_capped_at_4pct_an_hour_on_20k_usdc():
    f = load(GAP_DROP, ["funding.enabled=true", 'venue.instrument="hyperliquid:BTC"']).funding
    assert (f.rule, f.interval_s, f.cap_8h, f.impact_notional) == \
        ("hyperliquid", 3600, Fraction(32, 100), Decimal(20_000))


def test_scale_shrinks_the_impact_notional_with_the_depth():
    f = load(GAP_DROP, ["funding.enabled=true"], Fraction(1, 5)).funding
    assert f.impact_notional == Decimal("6000.00")


def test_the_resolved_funding_table_round_trips(tmp_path):
    sc = load(GAP_DROP, ["funding.enabled=true", "funding.interval_s=60",
                             "funding.start_rate_8h=0.000365"])
    path = tmp_path / "s.toml"
    path.write_bytes(tomli_w.dumps(sc.resolved()).encode())
    assert load(str(path)).funding == sc.funding


@pytest.mark.parametrize("key, value, match", [
    ("enabled", '"yes"', r"funding\.enabled: expected true or false"),
    ("rule", '"bybit"', r"funding\.rule: expected one of binance, hyperliquid"),
    ("interval_s", "0", r"funding\.interval_s: expected an integer in \[1, 604800\]"),
    ("interval_s", "1.5", r"funding\.interval_s: expected an integer"),
    ("sample_s", "61", r"funding\.sample_s: expected <= interval_s \(60\)"),
    ("first_s", "61", r"funding\.first_s: expected <= interval_s \(60\)"),
    ("cap_8h", "-0.01", r"funding\.cap_8h: expected a number in \[0, 10\]"),
    ("start_rate_8h", "0.01", r"funding\.start_rate_8h: expected within the cap"),
    ("impact_notional", "0", r"funding\.impact_notional: expected a number > 0"),
    ("interest_8h", '"nan"', r"funding\.interest_8h: expected a finite number"),
    ("period", "1", r"funding\.period: unknown key"),
])
def test_a_bad_funding_value_is_one_config_error_naming_the_field(key, value, match):
    with pytest.raises(ConfigError, match=match) as err:
        load(GAP_DROP, ["funding.enabled=true", "funding.interval_s=60",
                            f"funding.{key}={value}"])
    # each value comes from a --set: the message names it, not the file
    assert "\n" not in str(err.value) and str(err.value).startswith(f"--set funding.{key}: ")
