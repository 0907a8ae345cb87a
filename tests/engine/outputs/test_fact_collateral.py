"""Fact 5 (collateral feedback) on runs with ``[collateral]``: measured from the time series'
``coll_<asset>_price`` / ``coll_<asset>_index`` and ``collateral_calls`` columns
(engine.market.collateral); breakers-and-events.md section 3 item 5."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

import engine
from engine.outputs.facts import FAIL, PASS, RunView, score
from engine.outputs.metrics import Sampler, build_timeseries
from engine.venue.events import EVENT_DTYPE

S = 1_000_000_000
SMALL = pathlib.Path(__file__).parents[2] / "data" / "collateral-small.toml"
EXTRA = (("coll_usde_book", "nquote", "book"), ("coll_usde_price", "nquote", "venue"),
         ("coll_usde_index", "nquote", "index"), ("collateral_value", "quantums", "value"),
         ("collateral_calls", "count", "calls"))


def _view(eng, venue_low: float, calls: int) -> RunView:
    """120 rows, event start 60 s; the asset's venue price dips to ``venue_low`` at 90 s
    while its index stays at 1; ``calls`` collateral-driven calls by the end."""
    sampler = Sampler(eng.instrument(), inst=0, extra=EXTRA)
    for t in range(120):
        price = int(venue_low * 1e9) if 90 <= t < 100 else 10**9
        row = {name: 0 for name in sampler.column_names}
        row.update(ts=t * S, best_bid=99_999, best_ask=100_001, last=100_000, mark=100_000,
                   index=100_000, coll_usde_book=price, coll_usde_price=price,
                   coll_usde_index=10**9, collateral_calls=calls if t >= 90 else 0)
        sampler.append(row)
    table = build_timeseries(sampler, np.zeros(0, dtype=EVENT_DTYPE), S, baseline_end_ns=60 * S)
    return RunView({"breaker": "none"}, table, np.zeros(0, dtype=EVENT_DTYPE))


def _fact5(view):
    return next(s for s in score(view) if s.id == 5)


@pytest.mark.parametrize("low, calls, verdict", [(0.65, 3, PASS), (0.95, 3, FAIL),
                                                 (0.65, 0, FAIL)])
def test_fact5_needs_both_the_depeg_and_a_call_the_index_would_not_make(eng, low, calls,
                                                                        verdict):
    s = _fact5(_view(eng, low, calls))
    assert s.verdict == verdict, s.figure
    assert s.values["collateral_calls"] == calls
    assert s.values["depeg_pct"] == pytest.approx((1 - low) * 100)


def test_fact5_passes_on_an_own_book_run_and_fails_under_redemption():
    results = {}
    for valuation in ("own-book", "redemption"):
        r = engine.run(str(SMALL), breaker="none", seed=0,
                       overrides=[f'collateral.valuation="{valuation}"'])
        results[valuation] = _fact5(RunView.from_result(r))
    assert results["own-book"].verdict == PASS, results["own-book"].figure
    assert results["redemption"].verdict == FAIL
    assert results["redemption"].values["collateral_calls"] == 0


def test_the_collateral_columns_read_in_quote_units_in_pandas():
    """``nquote`` columns convert to quote currency (NaN for none); the counts are kept."""
    pytest.importorskip("pandas")
    r = engine.run(str(SMALL), breaker="none", seed=0)
    frame = r.to_pandas("timeseries")
    raw = r.timeseries.column("coll_usde_price").to_numpy()
    assert frame["coll_usde_price"].tolist() == pytest.approx((raw / 1e9).tolist())
    assert frame["coll_usde_index"].iloc[0] == 1.0
    assert frame["collateral_calls"].iloc[-1] == r.timeseries.column("collateral_calls")[-1].as_py()
