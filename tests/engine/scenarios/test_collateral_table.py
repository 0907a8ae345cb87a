"""``[collateral]`` in the scenario file: validated, defaulted, scaled, written back."""
from __future__ import annotations

import pathlib
import tomllib
from decimal import Decimal
from fractions import Fraction

import pytest

from engine.config import ConfigError
from engine.scenarios.scenario import from_dict, load

SMALL = pathlib.Path(__file__).parents[2] / "data" / "collateral-small.toml"


def _data():
    return tomllib.loads(SMALL.read_text())


@pytest.mark.parametrize("path, value, field", [
    (("valuation",), "book", "collateral.valuation"),
    (("own_book_price",), "vwap", "collateral.own_book_price"),
    (("assets", 0, "haircut"), 1, "collateral.assets[0].haircut"),
    (("assets", 0, "haircut"), -0.1, "collateral.assets[0].haircut"),
    (("assets", 0, "valuation"), "oracle", "collateral.assets[0].valuation"),
    (("assets", 0, "name"), "US DE", "collateral.assets[0].name"),
    (("assets", 0, "holders_share"), 1.5, "collateral.assets[0].holders_share"),
    (("assets", 0, "holders_side"), "up", "collateral.assets[0].holders_side"),
    (("assets", 0, "start"), 0, "collateral.assets[0].start"),
    (("assets", 0, "book_levels"), 0, "collateral.assets[0].book_levels"),
    (("assets", 0, "index_path"), [[10, "1"], [5, "1"]], "collateral.assets[0].index_path"),
    (("assets", 0, "colour"), "red", "collateral.assets[0].colour"),
    (("flows", 0, "asset"), "WBETH", "collateral.flows[0].asset"),
    (("flows", 0, "closes"), True, "collateral.flows[0].closes"),
    (("flows", 0, "window"), [500, 600], "collateral.flows[0].window"),
    (("assets",), [], "collateral.assets"),
    (("flows",), {"kind": "sell"}, "collateral.flows"),
])
def test_bad_collateral_input_is_refused_naming_the_field(path, value, field):
    data = _data()
    node = data["collateral"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as err:
        from_dict(data, "x.toml")
    msg = str(err.value)
    assert msg.startswith("x.toml: ") and field in msg and "\n" not in msg


def test_two_assets_with_one_name_are_refused():
    data = _data()
    data["collateral"]["assets"].append(dict(data["collateral"]["assets"][0]))
    with pytest.raises(ConfigError, match=r"collateral.assets\[1\].name: expected a unique"):
        from_dict(data, "x.toml")


def test_holders_shares_over_one_are_refused():
    data = _data()
    second = dict(data["collateral"]["assets"][0], name="WBETH", holders_share=0.5)
    data["collateral"]["assets"].append(second)
    with pytest.raises(ConfigError, match="holders_share: expected a total <= 1"):
        from_dict(data, "x.toml")


def test_collateral_defaults_resolve_per_asset():
    """The top-level valuation is each asset's unless it names its own; redemption
    defaults to the start; flows default to the first asset."""
    data = _data()
    second = dict(data["collateral"]["assets"][0], name="WBETH", holders_share=0.1,
                  start="4000", valuation="index")
    data["collateral"]["assets"].append(second)
    c = from_dict(data, "x.toml").collateral
    assert [c.valuation_of(a) for a in c.assets] == ["own-book", "index"]
    assert c.assets[1].redemption == Decimal("4000")
    assert {f.asset for f in c.flows} == {"USDE"}


def test_collateral_is_absent_by_default_and_written_back_when_present():
    assert load("flash-drop").collateral is None
    assert "collateral" not in load("flash-drop").resolved()
    sc = load(str(SMALL))
    again = from_dict(sc.resolved(), "resolved.toml")
    assert again.collateral == sc.collateral


def test_scale_shrinks_the_assets_book_and_programs():
    full, small = load(str(SMALL)), load(str(SMALL), scale=Fraction(1, 10))
    assert small.collateral.assets[0].book_depth == full.collateral.assets[0].book_depth / 10
    assert small.collateral.flows[0].notional_per_s == \
        full.collateral.flows[0].notional_per_s / 10
    assert small.collateral.assets[0].holders_share == full.collateral.assets[0].holders_share


def test_the_catalogue_tables_sources_and_expect_do_not_stop_a_scenario_loading():
    data = _data()
    data["sources"] = {"collateral.assets.0.haircut": "assumed"}
    data["expect"] = {"scale": 0.05, "seeds": [0], "facts": [5]}
    assert from_dict(data, "x.toml").collateral is not None
