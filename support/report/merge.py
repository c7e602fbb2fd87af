"""One report from several runs' results.json (CI shards, xdist workers, a re-run of some
scenarios): ``python -m support.report merge OUT_DIR IN_DIR...``.

Features are the union of the inputs' features; scenario runs are the union of their runs,
one per (feature, scenario, SUT). When two inputs ran the same scenario run, the one that
ran wins over a "not run" record, and otherwise the later input wins (a re-run overrides).
The merged page is laid out like a single run's (features by file, scenarios by line).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .model import Run, ScenarioRun
from .render import render_html


def load(path: Path) -> Run:
    """The run behind ``path`` (a results.json, or a folder holding one).

    Raises OSError when it cannot be read, ValueError when it is not a results.json of
    format 2 (see :data:`support.report.model.RESULTS_FORMAT`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    try:
        return Run.from_results(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def merge(runs: list[Run], command: str = "") -> Run:
    """The union of ``runs`` (see the module's docstring for which record wins)."""
    if not runs:
        raise ValueError("nothing to merge: no runs given")
    features = {}
    chosen: dict[tuple[str, str, str], ScenarioRun] = {}
    for run in runs:
        features.update(run.features)
        for record in run.runs:
            held = chosen.get(record.key)
            if held is None or record.outcome != "not run" or held.outcome == "not run":
                chosen[record.key] = record
    return Run(features=features, runs=list(chosen.values()), title=runs[0].title,
               generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
               command=command or "merged: " + " + ".join(r.command or "?" for r in runs))


def write(run: Run, out_dir: Path) -> Path:
    """Write ``index.html`` and ``results.json`` into ``out_dir``; returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render_html(run), encoding="utf-8")
    (out_dir / "results.json").write_text(json.dumps(run.results(), indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return page
