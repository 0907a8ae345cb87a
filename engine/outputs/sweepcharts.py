"""Charts of a sweep (``liqsim sweep``): each metric against a swept parameter, one line
per policy (and per value of any other swept key), the spread across seeds shown as a band
(an error bar on a categorical axis).

``sweep_figure(rows, x, metrics, labels, title, others)`` reads the results table's rows
(dicts, ``engine.sweeps.execute``; failed rows only count towards what a point misses):

- A *series* is a policy and the values of the other swept keys ``others`` that it uses,
  so a band is the spread over seeds alone, never over another parameter.  A breaker key
  (``breaker.NAME.KEY``) changes only the policies naming ``NAME`` (``applies``): a policy
  that ignores a swept key is not split by it, and against it is drawn flat and labelled
  "ignores KEY" (its runs repeat one another).
- For each series and value of the column ``x``: the mean of the metric over the ok rows
  that share them (the seeds) as a line, and their min..max as a shaded band.
- A point short of the runs the grid has for it (a failed run, a metric not measured in a
  run) is labelled ``n/m``; a point where a run's duration was still open at the end
  (``table.CENSORED``: the vacuum or the halt) is hollow: its mean is a lower bound.
- Rows that do not set ``x`` (an explicit ``[[sweep.runs]]`` row without it) are left
  out of that chart; ``unset`` counts them for the caption.

A numeric parameter is a numeric axis (values sorted); anything else (a string, a TOML
array, the scenario itself when no key is swept) is categorical, in grid order.
``sweep_chart(...)`` writes the same figure as a PNG.  A bare ``Figure`` (Agg on save, no
pyplot state).  O(rows x metrics).
"""
from __future__ import annotations

import math
import pathlib
from typing import NamedTuple

from .table import CENSORED

#: The metrics of the summary PNG (``sweep.png``): the headline rows of the comparison.
HEADLINE = ("amplification", "liquidation_fill_ratio", "liquidations_through_book_share",
            "vacuum_seconds", "min_depth_1pct_ratio", "adl_units", "bad_debt",
            "halted_seconds", "fill_failures_count")
_COLUMNS = 3


class Series(NamedTuple):
    """One line of a chart: per value of the parameter (``xs``), the mean, min and max of
    the metric over the ok runs, their number ``n``, the runs the grid has there
    (``expected``) and whether one of them was cut off by the end (``censored``)."""
    policy: str
    xs: list
    mean: list
    lo: list
    hi: list
    n: list
    expected: list
    censored: list


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def applies(policy: str, key: str) -> bool:
    """Whether swept ``key`` can change a run of ``policy``: a ``breaker.NAME....`` key
    only under a policy of which ``NAME`` is a part (``luld+liq-pause``); any other key
    (scenario keys) under every policy."""
    parts = key.split(".")
    return len(parts) < 2 or parts[0] != "breaker" or parts[1] in policy.split("+")


def short(key: str, keys=()) -> str:
    """A swept key as a legend names it: its last part (``band_pct``), or its last two
    when another of ``keys`` ends alike (``luld.band_pct`` beside ``price-band.band_pct``)."""
    last = key.rsplit(".", 1)[-1]
    if any(k != key and k.rsplit(".", 1)[-1] == last for k in keys):
        return ".".join(key.split(".")[-2:])
    return last


def series_label(row: dict, x: str, others=()) -> str:
    """The series ``row`` belongs to against ``x`` (module docstring)."""
    policy = row["breaker"]
    keys = (x, *others)
    label = policy + "".join(f", {short(k, keys)}={row.get(k)}" for k in others
                             if applies(policy, k))
    return label if applies(policy, x) else f"{label} (ignores {short(x, keys)})"


def unset(rows: list[dict], x: str) -> int:
    """Rows that do not set ``x``: left out of its chart."""
    return sum(1 for r in rows if r.get(x) is None)


def varying(rows: list[dict], metrics) -> list[str]:
    """The metrics with at least two distinct values among the ok rows (a constant one
    says nothing against a parameter; the report lists them instead)."""
    ok = [r for r in rows if r.get("status") == "ok"]
    return [m for m in metrics
            if len({r.get(m) for r in ok if _number(r.get(m))}) > 1]


def _values(rows: list[dict], x: str) -> list:
    """The values ``x`` takes (numbers sorted, else in grid order), None left out."""
    xs = list(dict.fromkeys(r.get(x) for r in rows if r.get(x) is not None))
    if all(_number(v) for v in xs):
        xs.sort()
    return xs


def points(rows: list[dict], x: str, metric: str, others=()) -> dict[str, Series]:
    """``series label -> Series`` (module docstring) over ``rows`` (failed ones included,
    for ``expected``).  O(rows)."""
    flag = CENSORED.get(metric)
    cells: dict[tuple, list] = {}       # (label, value) -> [expected, values, censored]
    policies: dict[str, str] = {}
    for r in rows:
        v = r.get(x)
        if v is None:
            continue
        label = series_label(r, x, others)
        policies.setdefault(label, r["breaker"])
        cell = cells.setdefault((label, v), [0, [], False])
        cell[0] += 1
        if r.get("status") == "ok" and _number(r.get(metric)):
            cell[1].append(r[metric])
            cell[2] = cell[2] or bool(flag and r.get(flag))
    out = {}
    for label, policy in policies.items():
        s = Series(policy, [], [], [], [], [], [], [])
        for v in _values(rows, x):
            cell = cells.get((label, v))
            if cell is None or not cell[1]:
                continue
            vals = cell[1]
            for column, value in zip(s[1:], (v, sum(vals) / len(vals), min(vals), max(vals),
                                             len(vals), cell[0], cell[2])):
                column.append(value)
        if s.xs:
            out[label] = s
    return out


def sweep_figure(rows: list[dict], x: str, metrics: list[str], labels: dict, title: str,
                 others=()):
    """One panel per metric against ``x`` (module docstring); ``labels``: metric -> axis
    label; ``others``: the other swept keys."""
    from matplotlib.figure import Figure
    n = max(1, len(metrics))
    nrows = math.ceil(n / _COLUMNS)
    fig = Figure()
    axes = fig.subplots(nrows, _COLUMNS, squeeze=False).ravel()
    categories = _values([r for r in rows if r.get("status") == "ok"], x)
    numeric = all(_number(v) for v in categories)
    handles = {}
    policies = list(dict.fromkeys(r["breaker"] for r in rows if r.get("status") == "ok"))
    # A band needs a width: on a categorical axis, or a single value, the spread is an
    # error bar instead, each series shifted a little so that none hides another.
    bars = not numeric or len(categories) == 1
    hollow = short_n = False
    for ax, metric in zip(axes, metrics):
        series = points(rows, x, metric, others)
        styles: dict[str, int] = {}
        for j, (label, s) in enumerate(series.items()):
            k = policies.index(s.policy) if s.policy in policies else 0
            style = styles[s.policy] = styles.get(s.policy, -1) + 1
            pos = s.xs if numeric else [categories.index(v) for v in s.xs]
            color = f"C{k % 10}"
            if bars:
                shift = (j - (len(series) - 1) / 2) * min(0.08, 0.6 / len(series))
                pos = [p + shift for p in pos]
                line = ax.errorbar(pos, s.mean, fmt="o", ms=3,
                                   yerr=[[m - a for m, a in zip(s.mean, s.lo)],
                                         [b - m for m, b in zip(s.mean, s.hi)]],
                                   color=color, lw=1.1, capsize=2)[0]
            else:
                # a style per series of a policy, so identical curves stay distinguishable
                (line,) = ax.plot(pos, s.mean, marker="o", ms=3, lw=1.3, color=color,
                                  ls=("-", "--", "-.", ":")[(k + style) % 4])
                ax.fill_between(pos, s.lo, s.hi, color=color, alpha=0.18, lw=0)
            cut = [(p, m) for p, m, c in zip(pos, s.mean, s.censored) if c]
            if cut:
                hollow = True
                ax.plot(*zip(*cut), ls="none", marker="o", ms=6, mfc="white", mec=color,
                        mew=1.2)
            for p, m, got, of in zip(pos, s.mean, s.n, s.expected):
                if got < of:
                    short_n = True
                    ax.annotate(f"{got}/{of}", (p, m), xytext=(3, 3),
                                textcoords="offset points", fontsize=6, color=color)
            handles.setdefault(label, line)
        ax.set_title(labels.get(metric, metric), fontsize=9)
        ax.grid(True, alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(categories)),
                          [str(c) if len(str(c)) <= 14 else str(c)[:13] + "~"
                           for c in categories], rotation=20, fontsize=7)
        ax.set_xlabel(x, fontsize=8)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    ncol = min(len(handles), 6 if not others else 3) or 1
    legend_rows = math.ceil(len(handles) / ncol) if handles else 0
    height = 1.0 + 0.2 * legend_rows + 2.6 * nrows
    fig.set_size_inches(11, height)
    key = "policy" + "".join(f", {short(k, (x, *others))}" for k in others)
    note = (f"{key} (point: mean; " + ("bar" if bars else "band") + ": min-max over seeds"
            + ("; hollow: a lower bound, still open at the end in a run" if hollow else "")
            + ("; n/m: runs drawn of the grid's m" if short_n else "") + ")")
    fig.legend(list(handles.values()), list(handles), loc="upper center", fontsize=8,
               ncol=ncol, bbox_to_anchor=(0.5, 1 - 0.3 / height), title=note,
               title_fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - (0.95 + 0.2 * legend_rows) / height,
                        bottom=0.45 / height, hspace=0.55, wspace=0.25)
    return fig


def sweep_chart(rows: list[dict], x: str, metrics: list[str], labels: dict, title: str,
                path, others=()) -> pathlib.Path:
    """``sweep_figure`` as a PNG at ``path`` (no timestamp in the file)."""
    path = pathlib.Path(path)
    sweep_figure(rows, x, metrics, labels, title, others).savefig(
        path, format="png", dpi=90, metadata={"Software": None})
    return path
