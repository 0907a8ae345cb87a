"""The HTML report: ``DIR/report.html``, one self-contained file per replay or comparison.

``write_report(directory, command)`` reads the runs saved in ``directory`` (a replay's run, or
a comparison's one directory per policy, ``seed-N`` subdirectories with several seeds) and
writes ``report.html`` beside them, atomically (``engine.outputs.atomic``), plus
``report.json`` (the command and the policies' order) so that ``liqsim report DIR`` rebuilds
the same bytes later.  Built only from the saved files, never from a run in memory, so the
file written by ``liqsim replay``/``compare`` and the rebuilt one are the same.

Self-contained: no external resource of any kind -- styles inline, no script, no font or
image fetched; charts are inline SVG from matplotlib's SVG backend (raster parts, the
heatmaps, embedded as ``data:`` PNGs), and a Content-Security-Policy meta tag
(``default-src 'none'``) tells the browser to refuse any request the page might still try.
Deterministic: the SVG ids come from a fixed ``svg.hashsalt``, the files carry no date,
text is kept as text (``svg.fonttype = 'none'``), long series are decimated
(``engine.outputs.panels``), and no wall-clock figure (``events_per_second``,
``wall_seconds``) is shown -- the same runs give a byte-identical report.

Contents: the scenario (description, sources and time compression where it has them,
duration, instrument), the summary table (one column per policy, mean and min-max over seeds
where several; units and what each row counts), the stylized-facts table, the panels of each
policy's (first seed's) run, the largest liquidations and ADL counterparties with their
account stories (``engine.outputs.account``), and the command that reproduces it.
O(runs x (rows + events)) plus matplotlib's rendering, ~1 s per run.
"""
from __future__ import annotations

import html
import io
import json
import pathlib

from .account import account_story, notable_accounts
from .atomic import atomic_dir, write_json
from .facts import RunInputError
from .panels import panel_data, panel_figure, wanted
from .saved import load_run
from .seeds import over_seeds
from .metrics import SUMMARY_KEYS
from .table import SUMMARY_ROWS, _cell, _seed_list, not_measured, row_currency, row_label

REPORT = "report.html"
REPORT_META = "report.json"
#: Summary rows the report leaves out: they time the machine, not the run.
_MACHINE = {"events_per_second", "wall_seconds"}
_SVG_RC = {"svg.hashsalt": "liqsim-report", "svg.fonttype": "none", "svg.image_inline": True,
           "path.simplify": True, "font.family": "DejaVu Sans", "font.size": 9}

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.2em 1.5em; color: #111; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc;
  margin-top: 2em; } h3 { margin-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
th { background: #f2f2f2; text-align: left; } td.num { text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
td.legend, td.unit { color: #444; } .PASS { color: #0a6d0a; font-weight: 600; }
.FAIL { color: #a30000; font-weight: 600; } .MIXED { color: #8a5a00; font-weight: 600; }
figure.panel { margin: 1em 0; page-break-inside: avoid; break-inside: avoid; }
figure.panel svg { width: 100%; height: auto; } figcaption { font-size: 13px; color: #333; }
pre, code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: #f6f6f6; }
pre { padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.note { color: #555; font-size: 13px; } .toy { color: #a30000; font-weight: 600; }
@media print {
  body { max-width: none; font-size: 10.5pt; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table, figure.panel, details { page-break-inside: avoid; break-inside: avoid; }
  details > summary { list-style: none; } details:not([open]) > *:not(summary) { display: block; }
  a { color: inherit; text-decoration: none; }
  pre { white-space: pre-wrap; border: 1px solid #ddd; }
}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def svg(fig) -> str:
    """``fig`` as an inline ``<svg>`` element, deterministic (module docstring)."""
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # The RDF metadata block names vocabularies by URL (nothing is fetched; left out anyway).
    a, b = text.find("<metadata>"), text.find("</metadata>")
    return text[:a] + text[b + len("</metadata>"):].lstrip("\n") if a >= 0 <= b else text


# ------------------------------------------------------------------------- the runs
def _policy_dirs(directory: pathlib.Path, meta: dict) -> list[tuple[str, list[pathlib.Path]]]:
    """``(policy, [run directories, one per seed])`` of a saved replay or comparison."""
    if (directory / "summary.json").is_file():
        return [("", [directory])]
    names = meta.get("policies")
    if names is None:
        names = list(_json_object(directory / "comparison.json",
                                  "the comparison.json compare wrote"))
    out = []
    for name in names:
        folder = directory / name.replace("+", "_")
        if (folder / "summary.json").is_file():
            out.append((name, [folder]))
        else:
            seeds = sorted((p for p in folder.glob("seed-*") if p.is_dir()
                            and p.name[5:].isdecimal() and p.name[5:].isascii()),
                           key=lambda p: int(p.name[5:]))
            if not seeds:
                raise RunInputError(f"{folder}: expected the run of policy {name!r} "
                                    f"(summary.json, or seed-N directories), found none")
            out.append((name, seeds))
    if not out:
        raise RunInputError(f"{directory}: expected the runs of at least one policy, "
                            f"found none")
    return out


def _json_object(p: pathlib.Path, what: str) -> dict:
    """The JSON object saved in ``p``; ``RunInputError`` (one line naming ``p`` and
    ``what`` was expected) if it cannot be read, is not JSON or not an object."""
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunInputError(f"{p}: expected {what}, found none") from None
    except (OSError, ValueError) as exc:    # UnicodeDecodeError and JSONDecodeError too
        raise RunInputError(f"{p}: expected {what} ({exc})") from None
    if not isinstance(data, dict):
        raise RunInputError(f"{p}: expected {what}: a JSON object")
    return data


def _meta(directory: pathlib.Path) -> dict:
    """``report.json`` (the command, the directory as named, the policies' order), checked:
    a hand-edited or truncated one is one ``RunInputError`` line, not an internal error."""
    p = directory / REPORT_META
    if not p.is_file():
        return {}
    what = "the report.json liqsim wrote (command, directory, policies)"
    meta = _json_object(p, what)
    for key, ok in (("command", lambda v: isinstance(v, str)),
                    ("directory", lambda v: isinstance(v, str)),
                    ("policies", lambda v: isinstance(v, list)
                     and all(isinstance(x, str) and x for x in v))):
        if key in meta and not ok(meta[key]):
            raise RunInputError(f"{p}: {key}: expected {what}, got "
                                f"{json.dumps(meta[key])[:40]}")
    return meta


def _relative(run_dir: pathlib.Path, directory: pathlib.Path) -> str:
    rel = run_dir.relative_to(directory).as_posix()
    return "" if rel == "." else rel


# ------------------------------------------------------------------------- sections
def _scenario_section(scenario: dict, summaries: list[dict]) -> str:
    meta = scenario.get("scenario", {})
    s0 = summaries[0]
    rows = [("scenario", meta.get("name", s0.get("scenario"))),
            ("description", meta.get("description", "")),
            ("instrument", f"{s0.get('instrument', '?')} (money in "
                           f"{s0.get('quote_currency', 'quote')})"),
            ("duration", f"{meta.get('duration_s', '?')} s, event from "
                         f"{meta.get('event_start_s', '?')} s; one sample every "
                         f"{meta.get('sample_interval_s', 1)} s"),
            ("scale", s0.get("scale", 1))]
    seeds = s0.get("seeds")
    rows.append(("seeds", _seed_list(seeds) if seeds else s0.get("seed")))
    # Time compression and sources, where the scenario has them (shown as written).
    for key, value in sorted(meta.items()):
        if "compress" in key:
            rows.append(("time compression" if key == "time_compression" else key, value))
    sources = []
    for where in (meta.get("sources"), scenario.get("sources")):
        if isinstance(where, dict):
            sources += [f"{k}: {v}" for k, v in where.items()]
        elif isinstance(where, list):
            sources += [json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v)
                        for v in where]
    out = ['<section id="scenario"><h2>Scenario</h2>']
    if meta.get("toy", s0.get("toy")):
        out.append('<p class="toy">TOY scenario: not a historical replay.</p>')
    out.append('<table class="kv">')
    out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    items = [f"<li>{_e(s)}</li>" for s in sources]
    if s0.get("recorded"):
        items.insert(0, '<li><a href="#recorded">the recorded market data below</a></li>')
    out.append("<tr><th>sources</th><td>" + ("<ul>" + "".join(items) + "</ul>" if items else
                                              "none recorded in the scenario") + "</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


#: The recorded counters the report always shows (0 where the replay never counted one).
_COUNTERS = ("trades_sent", "trades_refused", "trades_unprinted", "trades_partly_unfilled",
             "liquidations_sent", "liquidations_unfilled", "liquidations_unfilled_lots")


def _recorded_section(table: list[tuple[str, dict]]) -> str:
    """A recorded run's data (``replay --data``; ``engine.runner.run_recorded``), from its
    summary's ``recorded`` table: the files with the licence notices beside them, the
    streams, where index and mark came from, the gaps, the replay's counters (one column per
    policy) and its approximations (``engine.market.recorded.APPROXIMATIONS``, as saved with
    the run: the text is that constant's).  Empty for a scenario run."""
    recs = [(name or s["breaker"], s["recorded"]) for name, s in table if s.get("recorded")]
    if not recs:
        return ""
    rec = recs[0][1]
    notices = rec.get("notices", {})
    files = "".join(f"<li><code>{_e(f)}</code> ({_e(fmt)})" + "".join(
        f"; licence: <code>{_e(n)}</code>" for n in notices.get(f, [])) + "</li>"
        for f, fmt in zip(rec.get("files", []), rec.get("formats", [])))
    window = (rec.get("end_ns", 0) - rec.get("start_ns", 0)) / 1e9
    rows = [("files", f"<ul>{files}</ul>"),
            ("instrument", _e(rec.get("instrument"))),
            ("window", _e(f"{window:.3f} s from the first two-sided book (local time "
                          f"{rec.get('start_ns')} ns), its mid {rec.get('start_price')} (the "
                          f"summary's start price is the price at the event start)")),
            ("streams", _e(", ".join(f"{k} {v:,}" for k, v in rec.get("streams", {}).items()))),
            ("index", _e(rec.get("index_source"))), ("mark", _e(rec.get("mark_source"))),
            ("gaps", _e(", ".join(rec.get("gaps", [])) or "none"))]
    out = ['<section id="recorded"><h2>Recorded data</h2>',
           '<p class="note">A counterfactual replay of recorded market data: the recorded '
           'book, trades and liquidations sent to the venue as orders, under the policy.</p>',
           '<table class="kv">']
    out += [f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows]
    out.append("</table>")
    keys = sorted(set(_COUNTERS) | {k for _, r in recs for k in r.get("counters", {})})
    heads = "".join(f"<th>{_e(n)}</th>" for n, _ in recs)
    out.append(f'<table id="recorded-counters"><thead><tr><th>counter</th>{heads}</tr>'
               f'</thead><tbody>')
    out += [f"<tr><th>{_e(k)}</th>" + "".join(
        f'<td class="num">{r.get("counters", {}).get(k, 0):,}</td>' for _, r in recs)
        + "</tr>" for k in keys]
    out.append('</tbody></table><p>Approximations of the replay:</p><ul id="approximations">')
    out += [f"<li>{_e(a)}</li>" for a in rec.get("approximations", [])]
    out.append("</ul></section>")
    return "\n".join(out)


def _recorded_command(run: dict, rec: dict, breakers: list[str], seeds, seed) -> str:
    """The ``liqsim replay --data`` (one policy) or ``compare --data`` command that makes
    a recorded run again: the files and flags saved in its ``[run]`` table."""
    import shlex
    args = ["liqsim", "replay" if len(breakers) == 1 and not seeds else "compare", "--data",
            *run.get("data", rec.get("files", []))]
    if run.get("population"):
        args += ["--scenario", run["population"]]
    if run.get("allow_gaps"):
        args.append("--allow-gaps")
    if args[1] == "replay":
        args += ["--breaker", breakers[0], "--seed", str(seed)]
    else:
        args += ["--breakers", ",".join(breakers)]
        args += ["--seeds", _seed_list(seeds)] if seeds else ["--seed", str(seed)]
    return shlex.join(args + ["--out", "OUT"])


#: The unit column of the summary table, from the start of each key's ``SUMMARY_KEYS``
#: entry (the summary's own statement of its unit), not guessed from the row's label.
_UNITS = (("quote float", None), ("percent", "%"), ("seconds", "seconds"),
          ("basis points", "basis points"), ("ratio", "ratio"), ("int", "count"))


def _unit(key: str, currency: str) -> str:
    doc = SUMMARY_KEYS[key]
    for prefix, unit in _UNITS:
        if doc.startswith(prefix):
            return unit or currency
    raise ValueError(f"summary key {key}: its SUMMARY_KEYS entry names no unit: {doc!r}")


def _summary_section(table: list[tuple[str, dict]]) -> str:
    label_of = {key: label for key, label, _ in SUMMARY_ROWS}
    s0 = table[0][1]
    q = s0.get("quote_currency", "quote")
    several = bool(s0.get("seeds"))
    heads = "".join(f"<th>{_e(name or s['breaker'])}</th>" for name, s in table)
    out = ['<section id="summary"><h2>Summary</h2>',
           f'<p class="note">One column per policy'
           f'{"; mean (min-max) over seeds " + _seed_list(s0["seeds"]) if several else ""}. '
           f'Money in {_e(q)}. Engine throughput is left out (it times the machine, not the '
           f'run: see summary.json).</p>',
           f'<table id="summary-table"><thead><tr><th>row</th>{heads}<th>unit</th>'
           f'<th>what it counts</th></tr></thead><tbody>']
    for key, label, legend in SUMMARY_ROWS:
        if key in _MACHINE:
            continue
        text = row_label(key, label, s0)
        cells = "".join(f'<td class="num">{_e(_cell(s, key))}</td>' for _, s in table)
        out.append(f'<tr id="row-{key}"><th>{_e(text)}</th>{cells}'
                   f'<td class="unit">{_e(_unit(key, row_currency(key, s0)))}</td>'
                   f'<td class="legend">{_e(legend)}</td></tr>')
    out.append("</tbody></table>")
    unmeasured = not_measured([s for _, s in table])
    if unmeasured:
        out.append('<p class="note" id="not-measured">Rows not measured, and why:</p><ul>'
                   + "".join(f"<li>{_e(row_label(key, label_of[key], s0))}: {_e(why)}</li>"
                             for key, why in unmeasured) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _facts_section(table: list[tuple[str, dict]]) -> str:
    runs = [(n, s) for n, s in table if s.get("facts")]
    out = ['<section id="facts"><h2>Stylized facts</h2>',
           '<p class="note">Each run scored against the 14 stylized facts of crypto '
           'liquidation cascades (docs/facts.md): PASS, FAIL or NOT MEASURABLE (the reason '
           'first), with the figure measured.</p>']
    if not runs:
        out.append('<p id="facts-table">No facts in these summaries.</p></section>')
        return "\n".join(out)
    heads = "".join(f"<th>{_e(n or s['breaker'])}</th>" for n, s in runs)
    out.append(f'<table id="facts-table"><thead><tr><th>fact</th>{heads}</tr></thead><tbody>')
    facts0 = runs[0][1]["facts"]
    for fid in sorted(facts0, key=lambda f: (len(f), f)):       # "2" before "10"
        first = facts0[fid]
        cells = []
        for _, s in runs:
            f = s["facts"].get(fid, {})
            verdict = f.get("verdict", "-")
            cls = verdict if verdict in ("PASS", "FAIL", "MIXED") else ""
            cells.append(f'<td><span class="{cls}">{_e(verdict)}</span> '
                         f'{_e(f.get("figure", ""))}</td>')
        out.append(f'<tr id="fact-{_e(fid)}"><th>{_e(fid)}. {_e(first["name"])}</th>'
                   f'{"".join(cells)}</tr>')
    counts = "".join(f'<td class="num">{_e(s.get("facts_reproduced"))} / '
                     f'{_e(s.get("facts_measurable"))} of {len(s["facts"])}</td>'
                     for _, s in runs)
    out.append(f"<tr><th>reproduced / measurable</th>{counts}</tr></tbody></table></section>")
    return "\n".join(out)


def _panels_section(runs: list[tuple[str, object, str]], comparison: str | None) -> str:
    out = ['<section id="panels"><h2>Panels</h2>']
    if comparison:
        out.append(f'<figure class="panel" id="panel-comparison">{comparison}'
                   f'<figcaption><b>Policies side by side</b> (first seed): last trade and '
                   f'mark against the index, depth within 1% against its baseline, '
                   f'cumulative notional closed off the book, fund equity and ADL.'
                   f'</figcaption></figure>')
    for name, result, rel in runs:
        slug = _slug(name)
        d = panel_data(result)
        out.append(f'<h3 id="run-{slug}">{_e(d["title"])}</h3>')
        if rel:
            out.append(f'<p class="note">files: <code>{_e(rel)}/</code></p>')
        for panel in wanted(d):
            pid, title, caption = panel[:3]
            fig = panel_figure(d, panel)
            out.append(f'<figure class="panel" id="panel-{pid}-{slug}" data-panel="{pid}">'
                       f'{svg(fig)}<figcaption><b>{_e(title)}.</b> {_e(caption)}'
                       f'</figcaption></figure>')
    out.append("</section>")
    return "\n".join(out)


def _slug(name: str) -> str:
    return (name or "run").replace("+", "_")


def _accounts_section(runs: list[tuple[str, object, str]], directory_text: str) -> str:
    out = ['<section id="accounts"><h2>Accounts</h2>',
           '<p class="note">The largest liquidations and ADL counterparties of each run; each '
           'links to its story (positions, margin, orders, liquidation, ADL, funding) from '
           'the event log, which <code>liqsim account</code> prints.</p>']
    for name, result, rel in runs:
        slug = _slug(name)
        liquidated, adl = notable_accounts(result)
        run_dir = f"{directory_text}/{rel}" if rel else directory_text
        out.append(f"<h3>{_e(result.summary.get('breaker'))}</h3>")
        for what, rows in (("largest liquidations", liquidated),
                           ("largest ADL counterparties", adl)):
            if not rows:
                out.append(f'<p class="note">{_e(what)}: none</p>')
                continue
            out.append(f"<p>{_e(what)}:</p><ul>")
            for account, text in rows:
                out.append(f'<li><a href="#acct-{slug}-{account}">account {account}</a>: '
                           f'{_e(text)}</li>')
            out.append("</ul>")
        shown = sorted({a for a, _ in liquidated} | {a for a, _ in adl})
        for account in shown:
            cmd = f"liqsim account {run_dir} {account}"
            out.append(f'<details id="acct-{slug}-{account}"><summary>account {account} '
                       f'(<code>{_e(cmd)}</code>)</summary><pre>'
                       f'{_e(account_story(result, account))}</pre></details>')
    out.append("</section>")
    return "\n".join(out)


def build_html(directory, meta: dict | None = None) -> str:
    """The report of the runs saved in ``directory`` (see the module docstring); ``meta``
    as ``report.json`` holds it (read from there when not given)."""
    from .charts import comparison_figure
    directory = pathlib.Path(directory)
    meta = _meta(directory) if meta is None else meta
    command = meta.get("command")
    shown = meta.get("directory", str(directory))
    policies = _policy_dirs(directory, meta)
    runs, table = [], []
    scenario = None
    for name, dirs in policies:
        results = [load_run(d) for d in dirs]
        summary = results[0].summary if len(results) == 1 else \
            over_seeds([r.summary for r in results])
        table.append((name, summary))
        runs.append((name, results[0], _relative(dirs[0], directory)))
        scenario = scenario or results[0].scenario_resolved
    s0 = table[0][1]
    comparison = None
    if len(runs) > 1:
        comparison = svg(comparison_figure([(r.summary["breaker"], r.timeseries)
                                            for _, r, _ in runs],
                                           f"{s0['scenario']}  seed {runs[0][1].summary['seed']}"
                                           f"  scale {s0.get('scale', 1)}"))
    first_dir = f"{shown}/{runs[0][2]}" if runs[0][2] else shown
    from_files = (f"liqsim replay {first_dir}/scenario.toml --out OUT" if len(runs) == 1
                  and not s0.get("seeds") else
                  f"liqsim compare {first_dir}/scenario.toml --breakers "
                  f"{','.join(r.summary['breaker'] for _, r, _ in runs)}"
                  + (f" --seeds {_seed_list(s0['seeds'])}" if s0.get("seeds") else "")
                  + " --out OUT")
    again = []
    if s0.get("recorded"):
        again = ["<p>The same runs from the recorded data (paths as given, relative to the "
                 "directory the command ran in):</p><pre id=\"reproduce-data\">"
                 + _e(_recorded_command((scenario or {}).get("run", {}), s0["recorded"],
                                        [r.summary["breaker"] for _, r, _ in runs],
                                        s0.get("seeds"), runs[0][1].summary["seed"]))
                 + "</pre>"]
        from_files += "   (re-reads the recorded data it names)"
    toy = " (TOY)" if s0.get("toy") else ""
    title = (f"liqsim report: {s0['scenario']}{toy}, "
             + ("policies " + ", ".join(r.summary["breaker"] for _, r, _ in runs)
                if len(runs) > 1 else f"breaker {s0['breaker']}"))
    body = [f"<header><h1>{_e(title)}</h1>",
            f'<p class="note">A simulation by liqsim (an exchange liquidation-engine '
            f'emulator): every figure below comes from the saved runs in '
            f'<code>{_e(shown)}</code>.</p></header>',
            _scenario_section(scenario or {}, [s for _, s in table]),
            _recorded_section(table), _summary_section(table), _facts_section(table),
            _panels_section(runs, comparison),
            _accounts_section(runs, shown),
            '<section id="reproduce"><h2>Reproduce</h2>',
            "<p>The command that made this report:</p>"
            f'<pre id="command">{_e(command or "(not recorded)")}</pre>', *again,
            "<p>The same runs from the saved scenario (it records breaker, seed and "
            f"scale):</p><pre>{_e(from_files)}</pre>",
            f"<p>Rebuild this file from the saved runs:</p><pre>liqsim report {_e(shown)}"
            "</pre></section>"]
    return _page(title, body)


def _page(title: str, body: list[str]) -> str:
    """The self-contained page around ``body``'s sections (module docstring)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ------------------------------------------------------------------------- a sweep
SWEEP_RESULTS = "results.parquet"
SWEEP_META = "sweep.json"


def is_sweep(directory) -> bool:
    """``directory`` holds a sweep (its ``sweep.json``; without a run's summary.json): a
    missing results.parquet is then that sweep's missing file, not a comparison's."""
    d = pathlib.Path(directory)
    return (d / SWEEP_META).is_file() and not (d / "summary.json").is_file()


def sweep_metrics(rows: list[dict]) -> tuple[list[str], dict]:
    """The summary rows a sweep can chart (machine timings left out) and their labels."""
    first = next((r for r in rows if r.get("quote_currency")), {})
    labels = {key: row_label(key, label, first) for key, label, _ in SUMMARY_ROWS
              if key not in _MACHINE}
    return [k for k in labels if any(k in r for r in rows)], labels


#: The columns of results.parquet the sweep report reads (``engine.sweeps.execute``).
_SWEEP_COLUMNS = ("run", "scenario", "breaker", "seed", "status", "error")


def _sweep_files(directory: pathlib.Path) -> tuple[dict, list[dict]]:
    """``sweep.json`` and the rows of ``results.parquet``, checked for what the report
    reads; ``RunInputError`` naming the file otherwise.  O(rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    p = directory / SWEEP_META
    grid = _json_object(p, "the sweep.json a sweep wrote")
    if not isinstance(grid.get("runs"), list) or not all(isinstance(r, dict)
                                                         for r in grid["runs"]) \
            or not isinstance(grid.get("keys", []), list):
        raise RunInputError(f"{p}: expected the sweep.json a sweep wrote (runs, keys)")
    p = directory / SWEEP_RESULTS
    if not p.is_file():
        raise RunInputError(f"{p}: expected a sweep's results, found none (a sweep stopped "
                            f"before its first run finished: liqsim sweep --resume)")
    try:
        table = pq.read_table(str(p))
    except (pa.ArrowException, OSError) as exc:
        raise RunInputError(f"{p}: expected a sweep's results in parquet "
                            f"({str(exc).splitlines()[0]})") from None
    missing = [c for c in _SWEEP_COLUMNS if c not in table.column_names]
    if missing:
        raise RunInputError(f"{p}: expected a sweep's results (columns "
                            f"{', '.join(_SWEEP_COLUMNS)}), found no {missing[0]} column")
    return grid, table.to_pylist()


def build_sweep_html(directory, meta: dict | None = None) -> str:
    """The report of a sweep saved in ``directory`` (``engine.sweeps.execute``): the grid,
    its failed runs, and for each scenario and swept key every metric that varies against
    the key, one line per policy, the min-max band over seeds (``sweepcharts``); with no
    swept key, against the scenario.  Built from results.parquet and sweep.json only."""
    from .sweepcharts import sweep_figure, unset, varying
    directory = pathlib.Path(directory)
    meta = _meta(directory) if meta is None else meta
    shown = meta.get("directory", str(directory))
    grid, rows = _sweep_files(directory)
    keys = grid.get("keys", [])
    metrics, labels = sweep_metrics(rows)
    ok = [r for r in rows if r.get("status") == "ok"]
    title = f"liqsim sweep: {pathlib.Path(grid.get('grid', '')).name}"
    facts = [("grid file", grid.get("grid")), ("runs", f"{len(grid['runs'])} in the grid, "
              f"{len(rows)} finished, {len(ok)} ok, {len(rows) - len(ok)} failed")]
    for name in ("scenario", "breaker", "seed", "scale", *keys):
        facts.append((name, ", ".join(str(v) for v in dict.fromkeys(
            r.get(name) for r in grid["runs"]))))
    body = [f"<header><h1>{_e(title)}</h1>",
            f'<p class="note">Every figure below comes from <code>{_e(shown)}/'
            f'{SWEEP_RESULTS}</code> (also results.csv): one row per run. A run\'s seed is '
            f'its grid seed under every policy and parameter (common random numbers); its '
            f'<code>command</code> column replays it alone.</p></header>',
            '<section id="grid"><h2>Grid</h2><table class="kv">']
    body += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts]
    body.append("</table>")
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        body.append('<table id="failed"><thead><tr><th>run</th><th>scenario</th>'
                    '<th>breaker</th><th>seed</th>'
                    + "".join(f"<th>{_e(k)}</th>" for k in keys)
                    + '<th>error</th></tr></thead><tbody>')
        body += [f'<tr><td class="num">{r["run"]}</td><td>{_e(r["scenario"])}</td>'
                 f'<td>{_e(r["breaker"])}</td><td class="num">{r["seed"]}</td>'
                 + "".join(f"<td>{_e(r.get(k))}</td>" for k in keys)
                 + f'<td>{_e(r["error"])}</td></tr>' for r in failed]
        body.append("</tbody></table>")
    body.append("</section>")
    body.append('<section id="sweep"><h2>Metrics against the swept parameters</h2>'
                '<p class="note">One line per policy and value of each other swept key it '
                'uses: the mean over its seeds; the band: their minimum to maximum. A '
                'policy that ignores the key (a breaker key of another policy) is drawn '
                'flat, labelled "ignores". A hollow point is a lower bound (a vacuum or '
                'halt still open at the end of a run); <i>n/m</i> beside a point: it '
                'holds n of the grid\'s m runs there (a run failed, or did not measure the '
                'metric). Metrics constant over the whole sweep are listed, not drawn.</p>')
    scenarios = list(dict.fromkeys(r["scenario"] for r in ok))
    plots = [(sc, k) for sc in scenarios for k in keys] if keys else [(None, "scenario")]
    for n, (sc, x) in enumerate(plots):
        every = [r for r in rows if sc is None or r["scenario"] == sc]
        part = [r for r in every if r.get("status") == "ok"]
        drawn = varying(part, metrics)
        head = f"{x} ({sc})" if sc else "each scenario"
        body.append(f'<h3 id="sweep-{n}">{_e(head)}</h3>')
        if drawn:
            fig = sweep_figure(every, x, drawn, labels, f"{sc or 'scenarios'}: metrics "
                               f"against {x}", [k for k in keys if k != x])
            left = unset(every, x)
            left_text = f" {left} runs do not set {x}: left out." if left else ""
            body.append(f'<figure class="panel" id="sweep-panel-{n}">{svg(fig)}<figcaption>'
                        f'<b>{_e(head)}.</b> {len(part)} runs ok of {len(every)}.'
                        f'{_e(left_text)}</figcaption></figure>')
        constant = [labels[m] for m in metrics if m not in drawn
                    and any(m in r for r in part)]
        if constant:
            body.append(f'<p class="note">constant: {_e(", ".join(constant))}</p>')
    body += ["</section>", '<section id="reproduce"><h2>Reproduce</h2>',
             f'<pre id="command">{_e(meta.get("command") or "(not recorded)")}</pre>',
             f"<p>Rebuild this file from the saved results:</p><pre>liqsim report "
             f"{_e(shown)}</pre></section>"]
    return _page(title, body)


def write_report(directory, command: str | None = None, policies: list[str] | None = None,
                 shown: str | None = None) -> pathlib.Path:
    """Write ``directory/report.html`` -- and, when ``command`` is given, ``report.json``:
    the command, the policies' order, the directory as the user named it (``shown``) --
    all or nothing.  Without ``command``, ``report.json`` is read as it is (a rebuild)."""
    directory = pathlib.Path(directory)
    if command is None:
        meta = _meta(directory)
    else:
        meta = {"command": command, "directory": shown or str(directory)}
        if policies is not None:
            meta["policies"] = list(policies)
    text = (build_sweep_html if is_sweep(directory) else build_html)(directory, meta)
    with atomic_dir(directory) as stage:
        if command is not None:
            write_json(stage / REPORT_META, meta)
        (stage / REPORT).write_text(text, encoding="utf-8")
    return directory / REPORT
