"""One policy's runs over several seeds in one summary (``engine.outputs.seeds``)."""
from __future__ import annotations

from engine.outputs.seeds import over_seeds


def test_seeds_whose_recorded_counters_differ_summarise_to_their_means():
    # A population differs between seeds, so a recorded run's counters do: compare --data
    # over seeds failed on them ("'recorded' differs between runs").
    runs = [{"seed": k, "breaker": "none", "liquidations_count": 3 + k,
             "recorded": {"files": ["a.gz"], "counters": {"trades_sent": 5208,
                                                          "implied_withheld_lots": 56 + 22 * k,
                                                          **({"gaps": 1} if k else {})}},
             "not_measured": {"amplification": "own mid"} if k else {},
             "feed": {"book_range": None, "rows": 1 + k}} for k in (0, 1)]
    merged = over_seeds(runs)
    assert merged["recorded"] == {"files": ["a.gz"], "counters": {
        "trades_sent": 5208, "implied_withheld_lots": 67.0, "gaps": 0.5}}
    assert type(merged["recorded"]["counters"]["trades_sent"]) is int     # alike: kept
    assert merged["not_measured"] == {"amplification": "own mid"}
    assert merged["feed"] == {"book_range": None, "rows": 1.5}     # null stays null
    assert merged["runs"]["1"]["recorded"]["counters"]["implied_withheld_lots"] == 78
