"""The index price: the reference market (other venues) that this venue's mark and makers
follow, as the scenario scripts it.

``IndexPath.at(ts)`` is the scenario's ``[index]`` path -- linear between its points, flat
outside them -- times the gaps of the ``[[shocks]]`` at or before ``ts``, times a seeded
Gaussian random walk (``index.noise_bps``), in integer ticks.  It changes nothing and is a
pure function of the scenario and the draws made when it was built, so a replay, a metric
and a chart all read the same index at the same instant.

Rounding: the path times the shocks is an exact ``Fraction`` of ticks, rounded half-even to
a tick and never below 1 tick; the walk is in integer parts per million, linear within each
second (rounded toward -infinity), and applied as ``base + base x ppm // 1e6``.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..phases import SECOND


class IndexPath:
    """The scripted index of one scenario, in ticks of ``tick_size``.

    Built once per run; the random walk (if any) is drawn at construction from ``rng`` --
    ``duration_s + 2`` standard normals, the first draws of the run's Generator.
    ``at(ts)`` is O(points + shocks)."""

    __slots__ = ("start", "_path", "_shock_factors", "_noise")

    def __init__(self, index, shocks, tick_size, duration_s: int, rng: np.random.Generator):
        tick = Fraction(tick_size)
        self.start = round(Fraction(index.start) / tick)           # half-even
        self._path = [(int(t * SECOND), Fraction(p) / tick) for t, p in index.path]
        self._shock_factors = []            # (from ns, the product of the gaps so far)
        factor = Fraction(1)
        for shock in sorted(shocks, key=lambda x: x.at_s):
            factor *= 1 + Fraction(shock.index_pct) / 100
            self._shock_factors.append((shock.at_s * SECOND, factor))
        self._noise = _draw_walk(rng, index.noise_bps, duration_s)

    def at(self, ts: int) -> int:
        """The index in ticks at ``ts``: the path with its shocks times the random walk."""
        base = self.scripted(ts)
        noise = self._noise
        if noise is not None:
            k, frac = divmod(ts, SECOND)
            ppm = noise[k] + (noise[k + 1] - noise[k]) * frac // SECOND
            base = max(1, base + base * ppm // 1_000_000)
        return base

    def scripted(self, ts: int) -> int:
        """The index without its random walk: the path times the gaps of the shocks at or
        before ``ts``, rounded half-even, at least 1 tick (below half a tick is 1 tick)."""
        value = self._path_at(ts)
        for at, factor in reversed(self._shock_factors):
            if at <= ts:
                value *= factor
                break
        return max(1, round(value))

    def _path_at(self, ts: int) -> Fraction:
        path = self._path
        if not path:
            return Fraction(self.start)
        if ts <= path[0][0]:
            return path[0][1] if path[0][0] == 0 else \
                Fraction(self.start) + (path[0][1] - self.start) * Fraction(ts, path[0][0])
        for (t0, p0), (t1, p1) in zip(path, path[1:]):
            if ts <= t1:
                return p0 + (p1 - p0) * Fraction(ts - t0, t1 - t0)
        return path[-1][1]


def _draw_walk(rng: np.random.Generator, noise_bps, duration_s: int) -> list[int] | None:
    """A seeded Gaussian random walk in ppm, one value per second (None without noise): step
    k is ``noise_bps`` basis points x a standard normal; the walk starts at 0."""
    if not noise_bps:
        return None
    steps = rng.standard_normal(duration_s + 2) * float(noise_bps) * 100.0
    walk = np.concatenate(([0.0], np.cumsum(steps)))
    return [int(round(x)) for x in walk]
