"""The bundled instrument presets and what a venue derives from them."""
import pytest

from engine.venue.instruments import BUNDLED_INSTRUMENTS, waterfall_of


@pytest.mark.parametrize("name", sorted(BUNDLED_INSTRUMENTS))
def test_a_venue_without_its_own_waterfall_runs_its_instruments(name):
    assert waterfall_of(name) == BUNDLED_INSTRUMENTS[name]().waterfall
    assert waterfall_of(name, None) == BUNDLED_INSTRUMENTS[name]().waterfall


def test_a_venues_own_waterfall_wins_over_its_instruments():
    assert BUNDLED_INSTRUMENTS["hyperliquid:BTC"]().waterfall == "hyperliquid"
    assert waterfall_of("hyperliquid:BTC", "binance") == "binance"
    assert waterfall_of("binance:BTCUSDT", "tiered") == "tiered"


def test_an_unknown_instrument_without_a_waterfall_has_none():
    # A recorded run saves no bundled instrument: the outputs must not guess one.
    assert waterfall_of(None) is None
    assert waterfall_of("recorded:BTCUSDT") is None
