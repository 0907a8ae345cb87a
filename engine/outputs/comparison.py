"""Several runs of one scenario under different breaker policies, for notebooks
(``engine.compare``): the same runs ``liqsim compare`` makes, in memory.

``Comparison.results`` maps each policy to its runs (one per seed); ``summaries`` gives one
summary per policy (the mean and min-max over seeds where several, ``seeds.over_seeds``);
``plot()`` draws the policies side by side (``charts.comparison_figure``, first seed);
``to_pandas()`` the summary table side by side in real units (``frames.summary_frame``);
``save(dir)`` writes what ``liqsim compare`` writes, report included.
"""
from __future__ import annotations

import attrs

from .seeds import over_seeds


@attrs.frozen
class Comparison:
    results: dict = attrs.field()     # policy -> [RunResult, one per seed]

    @property
    def summaries(self) -> list[dict]:
        return [rs[0].summary if len(rs) == 1 else over_seeds([r.summary for r in rs])
                for rs in self.results.values()]

    def _chart_args(self) -> tuple[list, str]:
        first = [rs[0] for rs in self.results.values()]
        s = first[0].summary
        return ([(r.summary["breaker"], r.timeseries) for r in first],
                f"{s['scenario']}  seed {s['seed']}  scale {s.get('scale', 1)}")

    def plot(self):
        """The policies side by side as one matplotlib ``Figure`` (first seed of each)."""
        from .charts import comparison_figure
        return comparison_figure(*self._chart_args())

    def to_pandas(self):
        """The summary table, one column per policy (``frames.summary_frame``)."""
        from .frames import summary_frame
        return summary_frame(self.summaries)

    def save(self, directory, command: str | None = None):
        """The files of ``liqsim compare`` into ``directory``, all or nothing: one directory
        per policy (``seed-N`` inside with several seeds), ``comparison.json``,
        ``comparison.png`` and ``report.html``."""
        import pathlib
        from .atomic import atomic_dir, write_json
        from .charts import comparison_chart
        from .report import write_report
        target = pathlib.Path(directory)
        with atomic_dir(target) as stage:
            for name, rs in self.results.items():
                folder = stage / name.replace("+", "_")
                if len(rs) == 1:
                    rs[0].save(folder)
                else:
                    for r in rs:
                        r.save(folder / f"seed-{r.summary['seed']}")
            write_json(stage / "comparison.json",
                       {s["breaker"]: s for s in self.summaries})
            comparison_chart(*self._chart_args(), stage / "comparison.png")
            write_report(stage, command or "(from Python: engine.compare)",
                         policies=list(self.results), shown=str(directory))
        return target
