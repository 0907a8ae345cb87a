"""Charts of a sweep (``liqsim sweep``): each metric against a swept parameter, one line
per policy, the spread across seeds shown as a band (an error bar on a categorical axis).

``sweep_figure(rows, x, metrics, labels, title)`` reads the results table's rows (dicts,
``engine.sweeps.execute``; only ``status == "ok"`` rows are drawn): for each policy and
each value of the column ``x`` it draws the mean of the metric over the rows that share
them -- the seeds, and the values of any other swept key -- as a line, and their min..max
as a shaded band, so a policy's effect can be told from the noise between seeds.  A
numeric parameter is a numeric axis (values sorted); anything else (a string, a TOML
array, the scenario itself when no key is swept) is categorical, in grid order.
``sweep_chart(...)`` writes the same figure as a PNG.  A bare ``Figure`` (Agg on save, no
pyplot state).  O(rows x metrics).
"""
from __future__ import annotations

import math
import pathlib

#: The metrics of the summary PNG (``sweep.png``): the headline rows of the comparison.
HEADLINE = ("amplification", "liquidation_fill_ratio", "liquidations_through_book_share",
            "vacuum_seconds", "min_depth_1pct_ratio", "adl_units", "bad_debt",
            "halted_seconds", "fill_failures_count")
_COLUMNS = 3


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def varying(rows: list[dict], metrics) -> list[str]:
    """The metrics with at least two distinct values among the ok rows (a constant one
    says nothing against a parameter; the report lists them instead)."""
    ok = [r for r in rows if r.get("status") == "ok"]
    return [m for m in metrics
            if len({r.get(m) for r in ok if _number(r.get(m))}) > 1]


def points(rows: list[dict], x: str, metric: str) -> dict:
    """``policy -> (xs, mean, lo, hi)`` over the ok rows (module docstring); xs are the
    parameter's values (numbers sorted, else in grid order)."""
    ok = [r for r in rows if r.get("status") == "ok" and _number(r.get(metric))]
    xs_all = list(dict.fromkeys(r.get(x) for r in ok))
    if all(_number(v) for v in xs_all):
        xs_all.sort()
    out = {}
    for policy in dict.fromkeys(r["breaker"] for r in ok):
        xs, mean, lo, hi = [], [], [], []
        for v in xs_all:
            vals = [r[metric] for r in ok if r["breaker"] == policy and r.get(x) == v]
            if vals:
                xs.append(v)
                mean.append(sum(vals) / len(vals))
                lo.append(min(vals))
                hi.append(max(vals))
        out[policy] = (xs, mean, lo, hi)
    return out


def sweep_figure(rows: list[dict], x: str, metrics: list[str], labels: dict, title: str):
    """One panel per metric against ``x`` (module docstring); ``labels``: metric -> axis
    label."""
    from matplotlib.figure import Figure
    n = max(1, len(metrics))
    nrows = math.ceil(n / _COLUMNS)
    fig = Figure()
    axes = fig.subplots(nrows, _COLUMNS, squeeze=False).ravel()
    categories = list(dict.fromkeys(r.get(x) for r in rows if r.get("status") == "ok"))
    numeric = all(_number(v) for v in categories)
    handles = {}
    policies = list(dict.fromkeys(r["breaker"] for r in rows if r.get("status") == "ok"))
    # A band needs a width: on a categorical axis, or a single value, the spread is an
    # error bar instead, each policy's shifted a little so that none hides another.
    bars = not numeric or len(categories) == 1
    for ax, metric in zip(axes, metrics):
        for policy, (xs, mean, lo, hi) in points(rows, x, metric).items():
            k = policies.index(policy)
            pos = xs if numeric else [categories.index(v) for v in xs]
            color = f"C{k % 10}"
            if bars:
                shift = (k - (len(policies) - 1) / 2) * min(0.08, 0.6 / len(policies))
                line = ax.errorbar([p + shift for p in pos], mean, fmt="o", ms=3,
                                   yerr=[[m - a for m, a in zip(mean, lo)],
                                         [b - m for m, b in zip(mean, hi)]],
                                   color=color, lw=1.1, capsize=2)[0]
            else:
                # a style per policy too, so identical curves stay distinguishable
                (line,) = ax.plot(pos, mean, marker="o", ms=3, lw=1.3, color=color,
                                  ls=("-", "--", "-.", ":")[k % 4])
                ax.fill_between(pos, lo, hi, color=color, alpha=0.18, lw=0)
            handles.setdefault(policy, line)
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
    legend_rows = math.ceil(len(handles) / 6) if handles else 0
    height = 0.8 + 0.2 * legend_rows + 2.6 * nrows
    fig.set_size_inches(11, height)
    fig.legend(list(handles.values()), list(handles), loc="upper center", fontsize=8,
               ncol=min(len(handles), 6) or 1, bbox_to_anchor=(0.5, 1 - 0.3 / height),
               title="policy (point: mean; " + ("bar" if bars else "band")
               + ": min-max over seeds)", title_fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - (0.75 + 0.2 * legend_rows) / height,
                        bottom=0.45 / height, hspace=0.55, wspace=0.25)
    return fig


def sweep_chart(rows: list[dict], x: str, metrics: list[str], labels: dict, title: str,
                path) -> pathlib.Path:
    """``sweep_figure`` as a PNG at ``path`` (no timestamp in the file)."""
    path = pathlib.Path(path)
    sweep_figure(rows, x, metrics, labels, title).savefig(path, format="png", dpi=90,
                                                          metadata={"Software": None})
    return path
