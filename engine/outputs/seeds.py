"""One policy's runs over several seeds, summarised: the mean of every numeric summary key
and its range (min, max), so a reader can tell a policy's effect from the noise between
seeds (the liquidation fill ratio moves by about +-25% between seeds of flash-drop).

``over_seeds(summaries)`` returns a summary-shaped dict: each numeric key holds the mean
(rounded as its key is: 6 decimals), ``range`` maps it to ``[min, max]``, ``seeds`` lists the
seeds and ``runs`` holds each seed's summary.  Booleans are true when any run's is (a
censored duration in one seed censors the mean); strings must agree (they name the
scenario, the policy, the instrument).  Null values are left out of a key's mean; a key
null in every run stays null.  ``facts`` holds each fact's verdicts tallied over the seeds.
O(runs x keys).
"""
from __future__ import annotations

from fractions import Fraction

from .facts import facts_over_seeds

#: Keys that identify the run rather than measure it.
_IDENTITY = {"seed", "scale"}


def over_seeds(summaries: list[dict]) -> dict:
    if not summaries:
        raise ValueError("summaries: expected at least one run")
    out: dict = {}
    spread: dict = {}
    for key in summaries[0]:
        values = [s.get(key) for s in summaries]
        if key in _IDENTITY:
            out[key] = values[0]
            continue
        if key == "facts":      # per fact: the verdicts' tally over the seeds
            out[key] = facts_over_seeds(values)
            continue
        if all(isinstance(v, bool) for v in values):
            out[key] = any(values)
            continue
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            mean = sum(Fraction(v) for v in numbers) / len(numbers)
            out[key] = round(float(mean), 6)
            spread[key] = [min(numbers), max(numbers)]
            continue
        if len({repr(v) for v in values}) == 1:
            out[key] = values[0]
            continue
        if all(isinstance(v, dict) for v in values):
            out[key] = _merged(values)  # e.g. a recorded run's counters, per seed's population
            continue
        raise ValueError(f"summaries: {key!r} differs between runs: {values!r}")
    out["seeds"] = [s["seed"] for s in summaries]
    out["range"] = spread
    out["runs"] = {str(s["seed"]): s for s in summaries}
    return out


def _merged(tables: list[dict]) -> dict:
    """Nested tables of several seeds in one (``recorded``, ``not_measured``): over the union
    of their keys, in order of appearance, a value every seed has alike is kept; numbers
    are the mean over the seeds (6 decimals), a seed without the key counting 0 (a counter
    it never raised); tables merge again; texts some seeds lack keep the first; any other
    is listed per seed (None where a seed lacks it).  O(leaves)."""
    keys = list(dict.fromkeys(k for t in tables for k in t))
    out = {}
    for key in keys:
        values = [t.get(key) for t in tables]
        present = [v for v in values if v is not None]
        if len(present) == len(values) and len({repr(v) for v in values}) == 1:
            out[key] = values[0]
        elif not present:
            out[key] = None
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            out[key] = round(float(sum(Fraction(v) for v in present) / len(values)), 6)
        elif all(isinstance(v, dict) for v in present):
            out[key] = _merged(present)
        elif len({repr(v) for v in present}) == 1:
            out[key] = present[0]
        else:
            out[key] = values
    return out
