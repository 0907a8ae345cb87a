"""The venue's liquidation settings are named once, in ``engine.venue.instruments``
(``WATERFALLS``, ``ADL_RANKINGS``): the venue validates them without importing the
liquidation engine, and every name is one the engine implements."""
from __future__ import annotations

import pytest

from engine.liquidation import adl, waterfalls
from engine.venue.instruments import ADL_RANKINGS, WATERFALLS


def test_every_waterfall_name_is_an_implemented_style_and_every_style_is_named():
    assert set(WATERFALLS) == set(waterfalls._STYLES)


@pytest.mark.parametrize("ranking", ADL_RANKINGS)
def test_every_adl_ranking_name_ranks_a_queue(eng, ranking):
    ex = eng.exchange(ranking=ranking, seed=1)
    for acct in (1, 2, 3):
        ex.open_account(0, acct, deposit=10**6 * eng.Q)
    ex.transfer_position(0, 2, 1, 0, 10, 99_000)      # 1 short, 2 long
    ex.transfer_position(0, 3, 1, 0, 10, 101_000)     # 1 shorter, 3 long
    assert set(adl.queue(ex, 0, 0, -1).ranked) == {2, 3}


def test_adl_rankings_are_the_venue_list():
    assert adl.RANKINGS is ADL_RANKINGS
