"""What a catalogue event carries beyond a toy: where its numbers come from (``[sources]``),
what it must reproduce (``[expect]``), and how its clock relates to the event's
(``[scenario] time_compression``).

``[sources]`` maps a dotted scenario key (``"index.path"``, ``"makers.archetypes.0.capital"``,
``"flows.1.notional_per_s"``) to one line: the reference's source ids in brackets and the
figure (``"[S60] $19B liquidated in 24 h (breakers-and-events.md section 2, E1)"``), or
the project's assumption marker (``MARK``) and why.  Every key must name a value the file
sets; a line that cites no id and carries no marker is refused -- a calibrated number names
its source.

``[expect]`` is what a test checks (tests/test_bundled_events.py) by running the event with no
breaker: ``scale`` (the reduced scale, default 1/20), ``seeds`` (default ``[0]``),
``facts`` (ids 1..14 that must PASS), ``targets`` (fact id -> {threshold: value}, laid over
``engine.outputs.facts.DEFAULT_TARGETS`` for this event's runs -- the facts in every run of
it are scored with them) and ``summary`` (summary key -> ``[min, max]``, inclusive).  Names
of thresholds and summary keys are checked before a run starts (``engine.runner``).

Time compression (``CLOCKS``): with ``time_compression = k`` one run second stands for k
seconds of the event.  The scenario's own timeline -- ``duration_s``, the index path, every
window -- is written in run seconds and labelled in event time by multiplying by k.  The
venue's rules are written in the venue's real seconds and run k times faster, so that each
covers the same stretch of the event: breaker windows, pauses and auction phases
(``engine.breakers.compress_params``), the funding schedule (``compress_funding``: each
settlement still pays a whole real interval's rate) and the mark price's windows
(``compress_mark``).  Microstructure clocks cannot be
compressed and stay in run seconds: the step, order latency, the makers' refresh, volatility
window, calm and recovery times, the venue's capacity per second (stated in every run's
summary, ``time``).
*Assumed*: participants watching a window of run seconds see a path k times steeper.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import attrs

from ..config import ConfigError, integer, scale_ratio
from ..venue.rounding import floor_f

#: Each clock and how it follows ``time_compression`` (the summary's ``time.clocks``).
CLOCKS = {
    "timeline": "run seconds (duration, index path, windows); event time = run time x k",
    "breakers": "venue rule in real seconds, run k times faster (windows, pauses, auctions; "
                "a cap per second, liq-throttle's, k times larger)",
    "funding": "venue rule in real seconds, run k times faster; each settlement pays a "
               "whole real interval's rate",
    "mark": "venue rule in real seconds, run k times faster (Binance's 30 s basis window, "
            "Hyperliquid's 150 s and 30 s EMAs; at least 1 s)",
    "microstructure": "run seconds, not compressed (step, latency, maker refresh, volatility "
                      "window, calm and recovery, venue capacity)",
}

#: The word that marks a model choice the sources leave open (tests/test_docs.py lists the
#: code's; spelled in two parts so this definition is not listed as one).
MARK = "assum" "ed"
_CITES = re.compile(r"\[(?:S\d+|P)(?:[,;\s]+(?:S\d+|P))*\]|\b" + MARK + r"\b", re.IGNORECASE)
FACT_IDS = range(1, 15)


def compress_seconds(s: int, k) -> int:
    """A venue clock of ``s`` real seconds on a clock compressed ``k`` times: ``s / k``
    rounded to the nearest whole second (half up), at least 1."""
    return max(1, floor_f(Fraction(s) / k + Fraction(1, 2)))


def compress_funding(rule, k):
    """``rule`` (``engine.venue.funding.FundingRule``) on a clock compressed ``k`` times:
    interval, first instant and sampling divided by ``k`` and rounded to the nearest whole
    second (``compress_seconds``; the first instant and the sampling at most the interval),
    the real interval kept for the rate (``rate_interval_s``).  ``k`` = 1: unchanged."""
    if k == 1:
        return rule

    interval = compress_seconds(rule.interval_s, k)
    return attrs.evolve(rule, interval_s=interval, first_s=min(compress_seconds(rule.first_s, k), interval),
                        sample_s=min(compress_seconds(rule.sample_s, k), interval),
                        rate_interval_s=rule.paid_interval_s)


#: The mark policies' own windows in real seconds (``engine.venue.marks``): Binance's
#: Price-2 basis window, Hyperliquid's two EMA time constants.
MARK_CLOCKS = {"binance": {"window_s": 30}, "hyperliquid": {"ema_s": 150, "fallback_ema_s": 30}}


def compress_mark(policy: str, k) -> dict:
    """The mark policy's windows (``MARK_CLOCKS``) on a clock compressed ``k`` times
    (``compress_seconds``), as constructor parameters; ``{}`` at ``k`` = 1 or for a policy
    without one (its defaults stand)."""
    if k == 1:
        return {}
    return {key: compress_seconds(s, k) for key, s in MARK_CLOCKS.get(policy, {}).items()}


def time_statement(k: Fraction, duration_s: int) -> dict:
    """The summary's ``time``: the compression, the event time the run stands for, and how
    each clock follows it (``CLOCKS``)."""
    return {"compression": str(k), "run_seconds": duration_s,
            "event_seconds": float(duration_s * k), "clocks": dict(CLOCKS)}


def _lookup(data: dict, dotted: str):
    """The value at ``dotted`` in the raw scenario dict (array indices as numbers), or a
    ``KeyError``."""
    node = data
    for part in dotted.split("."):
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                raise KeyError(dotted)
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def sources(where: str, table, data: dict) -> dict:
    """``[sources]`` checked against the raw file ``data``: each key a value the file sets,
    each line citing a source id or carrying ``MARK``.  Returns a copy."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of \"scenario.key\" = \"[S..] figure\"")
    out = {}
    for key, line in table.items():
        try:
            _lookup(data, key)
        except KeyError:
            raise ConfigError(f"{where}.\"{key}\": expected a key this scenario sets "
                              f"(dotted, e.g. \"index.path\" or \"flows.0.notional_per_s\")"
                              ) from None
        if not isinstance(line, str) or not _CITES.search(line):
            raise ConfigError(f"{where}.\"{key}\": expected a line citing the reference's "
                              f"source ids (\"[S60] ...\") or saying \"{MARK}\", got {line!r}")
        out[key] = line
    return out


@attrs.frozen
class Expect:
    """``[expect]`` (module docstring)."""
    scale: Fraction = Fraction(1, 20)
    seeds: tuple = (0,)
    facts: tuple = ()
    targets: dict = attrs.field(factory=dict)
    summary: dict = attrs.field(factory=dict)


def expect(where: str, table) -> Expect | None:
    """``[expect]`` validated (module docstring); None when the file has none."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(table) - {"scale", "seeds", "facts", "targets", "summary"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; expected scale, seeds, facts, "
                          f"targets or summary")
    scale = scale_ratio(f"{where}.scale", table.get("scale", "0.05"))
    seeds = table.get("seeds", [0])
    facts = table.get("facts", [])
    for name, items in (("seeds", seeds), ("facts", facts)):
        if not isinstance(items, list):
            raise ConfigError(f"{where}.{name}: expected an array of integers")
    seeds = tuple(integer(f"{where}.seeds[{k}]", s, 0) for k, s in enumerate(seeds))
    facts = tuple(integer(f"{where}.facts[{k}]", f, 1, 14) for k, f in enumerate(facts))
    targets = table.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(v, dict) for v in targets.values()):
        raise ConfigError(f"{where}.targets: expected tables [expect.targets.N] of "
                          f"threshold = number")
    for fid, names in targets.items():
        if not (fid.isascii() and fid.isdigit()) or int(fid) not in FACT_IDS:
            raise ConfigError(f"{where}.targets.{fid}: expected a fact id 1..14")
        for name, value in names.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}.targets.{fid}.{name}: expected a number, "
                                  f"got {value!r}")
    bounds = {}
    summary = table.get("summary", {})
    if not isinstance(summary, dict):
        raise ConfigError(f"{where}.summary: expected a table of key = [min, max]")
    for key, pair in summary.items():
        if (not isinstance(pair, list) or len(pair) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float))
                       or not math.isfinite(v) for v in pair)
                or pair[0] > pair[1]):
            raise ConfigError(f"{where}.summary.{key}: expected [min, max] finite numbers "
                              f"with min <= max, got {pair!r}")
        bounds[key] = (pair[0], pair[1])
    return Expect(scale=scale, seeds=seeds, facts=facts,
                  targets={k: dict(v) for k, v in targets.items()}, summary=bounds)
