"""One self-contained HTML page from a :class:`~support.report.model.Run`.

Plain HTML and inline CSS, no script and nothing fetched: the file opens from disk in any
browser. Every text is escaped here; it was masked when it entered the model.
"""
from __future__ import annotations

from html import escape
from typing import Any

from .compare import CATEGORIES, Changes
from .model import FeatureDoc, Run, ScenarioRun, StepDoc, anchor, clean, worst
from .pages import Pages, collect
from .transcript import Block, answered, pretty, sent

LABELS = {
    "passed": "pass", "failed": "fail", "error": "error", "skipped": "skip", "xfailed": "xfail",
    "xpassed": "xpass", "not run": "not run", "not covered": "not covered", "undefined": "undefined",
}
ICONS = {"passed": "✓", "failed": "✗", "undefined": "?", "not run": "–"}

CSS = """
:root { --pass:#1b7a3a; --pass-bg:#e3f4e8; --fail:#b3261e; --fail-bg:#fde7e5; --skip:#7a5b00;
  --skip-bg:#fff4cc; --xfail:#6a3fa0; --xfail-bg:#efe6fa; --none:#6b6f76; --none-bg:#f1f2f4;
  --ink:#1d2126; --muted:#5d646d; --line:#d9dde2; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0; background: #fafbfc; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 0; } h3 { font-size: 15px; margin: 0; }
.meta { color: var(--muted); font-size: 12px; margin-bottom: 14px; } .meta code { font-size: 12px; }
.stopped { padding: 8px 12px; margin: 10px 0; border-radius: 6px; }
.stopped pre { white-space: pre-wrap; margin: 6px 0 0; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 22px; }
.count { border-radius: 6px; padding: 6px 12px; border: 1px solid var(--line); background: #fff; }
.count b { font-size: 18px; margin-right: 4px; }
section.block { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
.legend { display: flex; gap: 6px; flex-wrap: wrap; margin: 8px 0 10px; font-size: 12px; }
table { border-collapse: collapse; }
table.matrix { font-size: 12.5px; }
table.matrix th, table.matrix td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; }
table.matrix th.group { background: #eef1f4; font-weight: 600; padding-top: 5px; }
table.matrix td.tool { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: nowrap; }
table.matrix td.cell { min-width: 120px; }
table.matrix td.cell a { color: inherit; text-decoration: none; display: block; }
.o { font-weight: 600; border-radius: 4px; padding: 0 6px; white-space: nowrap; }
.o-passed { color: var(--pass); background: var(--pass-bg); }
.o-failed, .o-error, .o-xpassed, .o-undefined { color: var(--fail); background: var(--fail-bg); }
.o-skipped { color: var(--skip); background: var(--skip-bg); }
.o-xfailed { color: var(--xfail); background: var(--xfail-bg); }
.o-not-run, .o-not-covered { color: var(--none); background: var(--none-bg); font-weight: 400; }
td.cell.o { border-radius: 0; } .counts { font-weight: 400; opacity: .8; margin-left: 4px; font-size: 11px; }
.toc { columns: 2; font-size: 13px; margin: 6px 0 0; padding-left: 18px; }
article.feature { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
.kw { color: #0b5cad; font-weight: 600; }
.tags { font-size: 12px; color: #0b5cad; font-family: ui-monospace, Menlo, Consolas, monospace; }
.tags span { margin-right: 8px; }
.file { color: var(--muted); font-size: 12px; font-family: ui-monospace, Menlo, Consolas, monospace; }
.narrative { white-space: pre-wrap; margin: 6px 0 10px 18px; color: #2d333a; }
.background { margin: 8px 0 12px 18px; }
.scenario { border-top: 1px solid var(--line); padding: 12px 0 4px 18px; margin-top: 10px; }
.runs { margin: 4px 0 8px; display: flex; gap: 6px; flex-wrap: wrap; font-size: 12.5px; }
table.steps { width: 100%; margin: 4px 0 6px; }
table.steps td, table.steps th { padding: 2px 8px; vertical-align: top; border-bottom: 1px solid #eef0f2; }
table.steps th { font-size: 11.5px; color: var(--muted); font-weight: 600; text-align: left; }
table.steps td.k { width: 64px; text-align: right; color: #0b5cad; font-weight: 600; white-space: nowrap; }
table.steps tr.bg td { color: var(--muted); } table.steps tr.bg td.k { color: #6f95c0; }
table.steps td.r { width: 120px; white-space: nowrap; font-size: 12px; }
.d { color: var(--muted); font-size: 11px; margin-left: 4px; }
pre { background: #f5f6f8; border: 1px solid var(--line); border-radius: 5px; padding: 8px 10px; overflow-x: auto;
  font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
table.data td { border: 1px solid var(--line); padding: 1px 6px; font-size: 12px; }
.note { border-left: 4px solid var(--line); padding: 6px 10px; margin: 6px 0; background: #fcfcfd; }
.note.failed, .note.error, .note.xpassed { border-color: var(--fail); } .note.skipped { border-color: #d4a900; }
.note.xfailed { border-color: var(--xfail); } .note .why { margin: 2px 0; }
details > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; margin: 3px 0; }
.call { margin: 4px 0 8px; } .call h4 { margin: 4px 0 2px; font-size: 12.5px; }
.muted { color: var(--muted); }
pre.failure { font-size: 13px; background: #fff; border-color: var(--fail); color: #5a1712; }
.lbl { font-size: 11.5px; color: var(--muted); margin-top: 4px; } .lbl b { color: var(--ink); font-weight: 600; }
.call .blk { margin-left: 12px; } .call .err { color: var(--fail); font-weight: 600; }
pre.traceback { color: #3a3f45; }
#changes ul { margin: 4px 0 8px; padding-left: 20px; } #changes h3 { margin-top: 10px; }
#changes table td, #changes table th { border: 1px solid var(--line); padding: 2px 8px; font-size: 12.5px; }
.also { margin: 0 0 8px; font-size: 13px; } .also a { margin-right: 12px; }
table.code { width: 100%; font-size: 12.5px; margin: 6px 0 12px; }
table.code th, table.code td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
table.code th.group { background: #eef1f4; font-weight: 600; }
table.code td.phrase, table.code td.arg { font-family: ui-monospace, Menlo, Consolas, monospace; }
table.code td.phrase { min-width: 300px; }
table.code td.where { white-space: nowrap; color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11.5px; }
table.code ul { margin: 0; padding-left: 16px; } table.code details > summary { margin: 0; }
tr.unused td.phrase { color: var(--skip); } tr.uncovered td { background: var(--fail-bg); }
tr.uncovered td.arg { color: var(--fail); font-weight: 600; }
.o-covered { color: var(--pass); background: var(--pass-bg); } .o-excepted { color: var(--none); background: var(--none-bg); }
.o-uncovered, .o-broken { color: var(--fail); background: var(--fail-bg); } .o-unused { color: var(--skip); background: var(--skip-bg); }
"""


def e(text: Any) -> str:
    """Escape for HTML (texts are masked again, cheaply, as a last guard)."""
    return escape(clean(text), quote=True)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0.0005:
        return "<1 ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def badge(outcome: str, text: str | None = None) -> str:
    css = outcome.replace(" ", "-")
    return f'<span class="o o-{css}">{e(text if text is not None else LABELS.get(outcome, outcome))}</span>'


def render_html(run: Run) -> str:
    """The whole page. The code-derived pages (step catalogue, argument coverage, hygiene) are
    ``run.pages`` when set, else computed here (:func:`support.report.pages.collect`)."""
    summary = run.summary()
    pages = run.pages if run.pages is not None else collect()
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(run.title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{e(run.title)}</h1>",
        f'<div class="meta">Generated {e(run.generated)} · <code>{e(run.command)}</code> · '
        f'servers under test: {e(", ".join(run.suts))}</div>',
        _stopped(run.stopped), _summary(summary), _changes(run.changes), _matrix(run), _contents(run, pages),
    ]
    for key, feature in run.features.items():
        parts.append(_feature(feature, [r for r in run.runs if r.feature == key], run))
    parts += [_step_catalogue(pages, run), _argument_coverage(pages, run), _hygiene(pages)]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _stopped(reason: str) -> str:
    """The run stopped early (a lab that did not start, an interrupt): why, at the top."""
    if not reason:
        return ""
    return (f'<div class="stopped o-failed" id="stopped"><b>The run stopped early; scenarios after this point did not run.</b>'
            f'<pre>{e(reason)}</pre></div>')


def _summary(summary: dict[str, int]) -> str:
    items = [("features", "features", "none"), ("scenarios", "scenarios", "none"), ("total", "runs", "none")]
    items += [(o, LABELS[o], o) for o in ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "not run")
              if summary.get(o) or o in ("passed", "failed", "skipped", "xfailed")]
    html = ['<div class="summary" id="summary">']
    for key, label, outcome in items:
        css = f"o-{outcome.replace(' ', '-')}" if outcome != "none" else ""
        html.append(f'<span class="count {css}" data-count="{e(key)}"><b>{summary.get(key, 0)}</b>{e(label)}</span>')
    html.append(f'<span class="count" data-count="coverage"><b>{summary["canonical_covered"]}/'
                f'{summary["canonical_total"]}</b>canonical tools, resources and prompts covered</span></div>')
    return "".join(html)


def _matrix(run: Run) -> str:
    matrix = run.matrix()
    suts = run.suts
    head = "".join(f"<th>{e(s)}</th>" for s in suts)
    html = ['<section class="block" id="matrix"><h2>Coverage matrix: canonical tool × server under test</h2>',
            '<div class="legend">' + "".join(badge(o) for o in
                                             ("passed", "failed", "error", "xpassed", "xfailed", "skipped", "not run",
                                              "not covered")) +
            '<span class="muted">a cell shows the worst outcome of its scenarios; counts when more than one</span></div>',
            f'<table class="matrix"><thead><tr><th>tool</th>{head}</tr></thead><tbody>']
    for group, keys in run.matrix_groups():
        html.append(f'<tr><th class="group" colspan="{len(suts) + 1}">{e(group)}</th></tr>')
        for key in keys:
            cells = []
            for sut in suts:
                cell = matrix[key][sut]
                outcome = cell["outcome"]
                counts = cell["counts"]
                extra = ""
                if sum(counts.values()) > 1:
                    extra = ' <span class="counts">' + e(" · ".join(f"{n} {LABELS[o]}" for o, n in counts.items())) + "</span>"
                text = e(LABELS[outcome]) + extra
                if cell["anchor"]:
                    text = f'<a href="#{cell["anchor"]}">{text}</a>'
                cells.append(f'<td class="cell o o-{outcome.replace(" ", "-")}" data-tool="{e(key)}" '
                             f'data-sut="{e(sut)}" data-outcome="{e(outcome)}">{text}</td>')
            html.append(f'<tr><td class="tool">{e(key)}</td>{"".join(cells)}</tr>')
    html.append("</tbody></table></section>")
    return "".join(html)


def _contents(run: Run, pages: Pages) -> str:
    items = []
    for key, feature in run.features.items():
        outcome = worst([r.outcome for r in run.runs if r.feature == key])
        items.append(f'<li><a href="#{anchor(key)}">{e(feature.name)}</a> {badge(outcome)}</li>')
    also = [("steps", "Step catalogue"), ("arguments", "Argument coverage")]
    if pages.hygiene is not None or "hygiene" in pages.errors:
        also.append(("hygiene", "Hygiene"))
    links = "".join(f'<a href="#{page}">{e(title)}</a>' for page, title in also)
    return (f'<section class="block" id="contents"><h2>Features</h2><div class="also">From the code: {links}</div>'
            f'<ul class="toc">{"".join(items)}</ul></section>')


# --- pages computed from the code ---------------------------------------------------------------


def _broken(page: str, title: str, why: str) -> str:
    return (f'<section class="block" id="{page}"><h2>{e(title)}</h2>'
            f'<p>{badge("broken", "not computed")} {e(why)}</p></section>')


def _feature_links(run: Run) -> tuple[dict[str, str], set[str]]:
    """(feature file as written in the repo → its anchor, the anchors of scenarios on the page)."""
    files = {}
    for f in run.features.values():
        files[f.path or f.key] = anchor(f.key)
        files.setdefault("features/" + f.key, anchor(f.key))
    return files, {anchor(r.feature, r.scenario) for r in run.runs}


def _where_link(file: str, line: int, files: dict[str, str], text: str | None = None) -> str:
    shown = e(text if text is not None else f"{file}:{line}")
    target = files.get(file)
    return f'<a href="#{target}">{shown}</a>' if target else shown


def _step_catalogue(pages: Pages, run: Run) -> str:
    """Each step phrase, where it is defined, its docstring's first line, the feature lines
    that use it; steps nobody uses flagged."""
    if pages.steps is None:
        return _broken("steps", "Step catalogue", pages.errors.get("steps", "not computed"))
    files, _ = _feature_links(run)
    unused = sum(1 for s in pages.steps if s["unused"])
    html = [f'<section class="block" id="steps"><h2>Step catalogue</h2>'
            f'<p class="muted">Generated from the code (<code>python -m support.steps</code>): '
            f'{len(pages.steps)} step definitions, {unused} used by no feature.</p>'
            '<table class="code"><thead><tr><th>step</th><th>defined at</th><th>what it does</th>'
            '<th>used in</th></tr></thead><tbody>']
    module = None
    for s in pages.steps:
        if s["module"] != module:
            module = s["module"]
            html.append(f'<tr><th class="group" colspan="4">{e(module)}</th></tr>')
        uses = [_where_link(u["file"], u["line"], files) for u in s["uses"]]
        if not uses:
            used = badge("unused")
        elif len(uses) <= 6:
            used = ", ".join(uses)
        else:
            used = (", ".join(uses[:6]) + f'<details><summary>{len(uses) - 6} more</summary>'
                    + ", ".join(uses[6:]) + "</details>")
        css = ' class="unused"' if s["unused"] else ""
        html.append(f'<tr{css} data-step="{e(s["phrase"])}" data-unused="{str(s["unused"]).lower()}">'
                    f'<td class="phrase"><span class="kw">{e(s["type"].capitalize())}</span> {e(s["phrase"])}</td>'
                    f'<td class="where">{e(s["where"])}</td><td>{e(s["doc"]) or badge("broken", "no docstring")}</td>'
                    f'<td>{used}</td></tr>')
    html.append("</tbody></table></section>")
    return "".join(html)


def _argument_coverage(pages: Pages, run: Run) -> str:
    """Tool × argument → the covering scenarios; listed exceptions with their reason;
    uncovered arguments in red."""
    m = pages.arguments
    if m is None:
        return _broken("arguments", "Argument coverage", pages.errors.get("arguments", "not computed"))
    files, scenarios = _feature_links(run)
    t = m["totals"]
    html = ['<section class="block" id="arguments"><h2>Argument coverage: canonical tool × argument</h2>',
            f'<p class="muted">Which scenarios claim (<code>@arg:&lt;name&gt;</code>) that their Then fails when a server '
            f'ignores, defaults or alters the argument (<code>python -m support.coverage</code>). '
            f'{t["arguments"]} arguments: {t["covered"]} covered, {t["excepted"]} listed with a reason '
            f'(support/coverage_exceptions.yaml), {t["uncovered"]} uncovered.</p>',
            '<div class="legend">' + badge("covered") + badge("excepted", "listed") + badge("uncovered") + "</div>",
            '<table class="code"><thead><tr><th>argument</th><th>status</th><th>covered by / reason</th></tr></thead><tbody>']
    for fam in m["families"]:
        html.append(f'<tr><th class="group" colspan="3">{e(fam["family"])}</th></tr>')
        for row in fam["tools"]:
            for a in row["arguments"]:
                status = a["status"]
                if a["scenarios"]:
                    items = []
                    for sc in a["scenarios"]:
                        where = f'{sc["file"]}:{sc["line"]}'
                        target = next((anchor(f.key, sc["title"]) for f in run.features.values()
                                       if sc["file"] in (f.path, "features/" + f.key)), "")
                        title = e(sc["title"])
                        if target in scenarios:
                            title = f'<a href="#{target}">{title}</a>'
                        items.append(f'<li>{title} <span class="file">{_where_link(sc["file"], sc["line"], files, where)}</span></li>')
                    what = f'<ul>{"".join(items)}</ul>'
                elif status == "excepted":
                    what = e(a["reason"] or "")
                else:
                    what = '<b>no scenario claims it, and no reason is listed</b>'
                label = {"excepted": "listed"}.get(status, status)
                html.append(f'<tr class="{e(status)}" data-tool="{e(row["tool"])}" data-argument="{e(a["argument"])}" '
                            f'data-status="{e(status)}"><td class="arg">{e(row["tool"])}.{e(a["argument"])}</td>'
                            f'<td>{badge(status, label)}</td><td>{what}</td></tr>')
    html.append("</tbody></table>")
    for key in m.get("stale_exceptions") or []:
        html.append(f'<p>{badge("broken", "stale exception")} {e(key)}: listed as uncovered, but a scenario claims it '
                    f'or no tool takes it</p>')
    for problem in m.get("problems") or []:
        html.append(f'<p>{badge("broken", "wrong claim")} {e(problem)}</p>')
    html.append("</section>")
    return "".join(html)


def _hygiene(pages: Pages) -> str:
    """Per SUT, what one schema-valid call of every tool it lists did (support/hygiene.py);
    nothing when that module does not exist."""
    if "hygiene" in pages.errors:
        return _broken("hygiene", "Hygiene", pages.errors["hygiene"])
    if pages.hygiene is None:
        return ""
    html = ['<section class="block" id="hygiene"><h2>Hygiene: one schema-valid call of every tool a server lists</h2>']
    if not pages.hygiene:
        html.append('<p class="muted">No sweep was recorded: no hygiene scenario ran (not selected).</p>')
    for sut, entry in pages.hygiene.items():
        counts = entry.get("counts", {}) if isinstance(entry, dict) else {}
        tools = entry.get("tools", []) if isinstance(entry, dict) else [entry]
        shown = " · ".join(f"{n} {k}" for k, n in counts.items())
        bad = any(k != "ok" and k != "skipped" for k in counts)
        html.append(f'<h3 data-sut="{e(sut)}">{e(sut)} {badge("failed" if bad else "passed", shown or "nothing")}</h3>'
                    '<ul>' + "".join(f"<li>{e(line)}</li>" for line in tools) + "</ul>")
    html.append("</section>")
    return "".join(html)


def _feature(feature: FeatureDoc, runs: list[ScenarioRun], run: Run) -> str:
    html = [f'<article class="feature" id="{anchor(feature.key)}">']
    if feature.tags:
        html.append('<div class="tags">' + "".join(f"<span>{e(t)}</span>" for t in feature.tags) + "</div>")
    html.append(f'<h2><span class="kw">{e(feature.keyword)}:</span> {e(feature.name)}</h2>')
    html.append(f'<div class="file">{e(feature.key)}:{feature.line}</div>')
    if feature.description.strip():
        html.append(f'<div class="narrative">{e(_dedent(feature.description))}</div>')
    if feature.background:
        html.append('<div class="background"><h3><span class="kw">Background:</span></h3><table class="steps">')
        for step in feature.background:
            html.append(f'<tr><td class="k">{e(step.keyword)}</td><td>{_step_text(step)}</td></tr>')
        html.append("</table></div>")
    groups: dict[str, list[ScenarioRun]] = {}
    for r in runs:
        groups.setdefault(r.scenario, []).append(r)
    for title, members in groups.items():
        html.append(_scenario(feature, title, members, run.suts))
    html.append("</article>")
    return "".join(html)


def _dedent(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _step_text(step: StepDoc) -> str:
    html = e(step.text)
    if step.docstring is not None:
        html += f"<pre>{e(step.docstring)}</pre>"
    if step.datatable:
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in step.datatable)
        html += f'<table class="data">{rows}</table>'
    return html


def _scenario(feature: FeatureDoc, title: str, runs: list[ScenarioRun], all_suts: list[str]) -> str:
    runs = sorted(runs, key=lambda r: all_suts.index(r.sut) if r.sut in all_suts else len(all_suts))
    first = runs[0]
    html = [f'<section class="scenario" id="{anchor(feature.key, title)}">']
    own_tags = [t for t in first.tags if t not in feature.tags]
    if own_tags:
        html.append('<div class="tags">' + "".join(f"<span>{e(t)}</span>" for t in own_tags) + "</div>")
    html.append(f'<h3><span class="kw">{e(first.keyword)}:</span> {e(title)}</h3>')
    html.append('<div class="runs">' + "".join(
        f'<span data-sut="{e(r.sut)}">{e(r.sut)}: {badge(r.outcome)}<span class="d">{e(duration(r.duration))}</span></span>'
        for r in runs) + "</div>")
    if first.description.strip():
        html.append(f'<div class="narrative">{e(_dedent(first.description))}</div>')
    head = "".join(f'<th>{e(r.sut)}</th>' for r in runs)
    html.append(f'<table class="steps"><tr><th></th><th></th>{head}</tr>')
    for i, step in enumerate(first.steps):
        cells = []
        for r in runs:
            s = r.steps[i] if i < len(r.steps) else StepDoc(keyword="", text="")
            icon = ICONS.get(s.outcome, "")
            cells.append(f'<td class="r">{badge(s.outcome, f"{icon} {LABELS.get(s.outcome, s.outcome)}")}'
                         f'<span class="d">{e(duration(s.duration))}</span></td>')
        css = ' class="bg" title="from the Background"' if step.background else ""
        html.append(f'<tr{css}><td class="k">{e(step.keyword)}</td><td>{_step_text(step)}</td>{"".join(cells)}</tr>')
    html.append("</table>")
    for r in runs:
        html.append(_notes(r))
    html.append("</section>")
    return "".join(html)


def _notes(r: ScenarioRun) -> str:
    """What a reader needs beyond the step table: reasons, the failure (its message first),
    the MCP exchange, then where in the suite's code it failed; the whole traceback folded."""
    html = []
    troubled = r.outcome in ("failed", "error", "xpassed", "xfailed")
    if r.outcome in ("failed", "error", "xpassed", "xfailed", "skipped"):
        html.append(f'<div class="note {e(r.outcome)}" data-sut="{e(r.sut)}"><b>{e(r.sut)}</b> {badge(r.outcome)}')
        failed_step = next((s for s in r.steps if s.outcome in ("failed", "undefined")), None)
        if failed_step is not None:
            html.append(f' <span class="why">at <span class="kw">{e(failed_step.keyword)}</span> {e(failed_step.text)}</span>')
        if r.reason and r.outcome in ("skipped", "xfailed", "xpassed"):
            html.append(f'<div class="why">Reason: {e(r.reason)}</div>')
        if r.message and r.outcome != "skipped":
            html.append(f'<pre class="failure">{e(r.message)}</pre>')
        html.append(_transcript(r, open_=troubled))
        if r.traceback and r.traceback.strip() != r.message.strip():
            html.append(f'<div class="lbl">Traceback from the suite\'s code</div><pre class="traceback">{e(r.traceback)}</pre>')
        if r.traceback_full and r.traceback_full.strip() != r.traceback.strip():
            html.append('<details class="full-traceback"><summary>Whole traceback, pytest and pluggy included '
                        f'(for the suite\'s developers)</summary><pre>{e(r.traceback_full)}</pre></details>')
        html.append("</div>")
    elif r.transcript:
        html.append(f'<div data-sut="{e(r.sut)}">{_transcript(r, open_=False)}</div>')
    return "".join(html)


def _block(block: Block) -> str:
    if block.label == "structured content" and block.body.startswith("(the same as"):
        return f'<div class="blk lbl"><b>structured content</b> {e(block.body)}</div>'
    if block.folded:
        return (f'<details class="blk"><summary><b>{e(block.label)}</b> · {e(block.size)}</summary>'
                f"<pre>{e(block.body)}</pre></details>")
    return f'<div class="blk"><div class="lbl"><b>{e(block.label)}</b></div><pre>{e(block.body)}</pre></div>'


def _transcript(r: ScenarioRun, open_: bool) -> str:
    if not r.transcript:
        return ""
    calls = []
    for n, call in enumerate(r.transcript, 1):
        request = call.get("request")
        name = request.get("name", "") if isinstance(request, dict) else ""
        seconds = call.get("seconds")
        took = duration(seconds) if isinstance(seconds, (int, float)) else ""
        is_error, reply = answered(call.get("reply"))
        calls.append(f'<div class="call"><h4>{n}. {e(call.get("method", ""))} {e(name)}'
                     f'<span class="d">{e(took)}</span></h4><div>Sent</div>')
        calls.extend(_block(b) for b in sent(request))
        if call.get("error"):
            calls.append('<div class="err">Failed</div>' + _block(Block("error", pretty(call.get("error")))))
        if reply or not call.get("error"):
            calls.append('<div>Answered' + (' <span class="err">(isError: the tool reported an error)</span>' if is_error else "")
                         + "</div>")
            calls.extend(_block(b) for b in reply or [Block("reply", "(nothing)")])
        calls.append("</div>")
    summary = f"What {e(r.sut)} was sent and answered ({len(r.transcript)} MCP call{'s' if len(r.transcript) != 1 else ''})"
    return f'<details class="transcript"{" open" if open_ else ""}><summary>{summary}</summary>{"".join(calls)}</details>'


def _changes(changes: Changes | None) -> str:
    """The "what changed" section: per category, per SUT; then the matrix cells that changed."""
    if changes is None:
        return ""
    html = [f'<section class="block" id="changes"><h2>What changed since {e(changes.previous)}</h2>']
    if changes.empty:
        html.append('<p class="muted">Nothing changed: every scenario run and matrix cell has the outcome it had.</p>')
    lists = [(name, heading, meaning) for name, (heading, meaning) in CATEGORIES.items()]
    lists.append(("other", "Other changes", "e.g. skipped → passed, passed → xfailed"))
    for name, heading, meaning in lists:
        items = getattr(changes, name)
        if not items:
            continue
        html.append(f'<h3 data-changes="{e(name)}">{e(heading)} ({len(items)}) <span class="muted">— {e(meaning)}</span></h3><ul>')
        for c in items:
            target = anchor(c.feature_key, c.scenario) if getattr(c, "feature_key", "") else ""
            title = f'<a href="#{target}">{e(c.scenario)}</a>' if target else e(c.scenario)
            html.append(f'<li data-sut="{e(c.sut)}"><b>[{e(c.sut)}]</b> {title} '
                        f'<span class="file">{e(c.where)}</span> {badge(c.before)} → {badge(c.after)}'
                        + (f' <span class="muted">{e(c.reason)}</span>' if c.reason else "") + "</li>")
        html.append("</ul>")
    if changes.cells:
        html.append(f'<h3 data-changes="cells">Matrix cells that changed ({len(changes.cells)})</h3>'
                    "<table><tr><th>SUT</th><th>tool</th><th>before</th><th>now</th></tr>")
        for cell in changes.cells:
            html.append(f'<tr data-sut="{e(cell.sut)}" data-tool="{e(cell.row)}"><td>{e(cell.sut)}</td><td>{e(cell.row)}</td>'
                        f"<td>{badge(cell.before)}</td><td>{badge(cell.after)}</td></tr>")
        html.append("</table>")
    if changes.added or changes.removed:
        html.append(f'<p class="muted">Scenario runs: {changes.added} new, {changes.removed} gone.</p>')
    html.append("</section>")
    return "".join(html)


