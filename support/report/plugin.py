"""pytest plugin: gathers the living spec as it runs and writes the report at session end.

``--report PATH`` (default ``reports/living-doc/index.html``, written when the run has
scenarios; ``--report none`` turns it off) writes ``index.html`` and ``results.json``
side by side. State lives on one plugin object per config, so nested runs (pytester) and
repeated sessions never share it.
"""
from __future__ import annotations

import json
import time
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from .model import NO_SUT, FeatureDoc, Run, ScenarioRun, StepDoc, clean, clean_obj
from .render import render_html

try:  # where pytest-bdd keeps the scenario behind each generated test function
    from pytest_bdd.scenario import scenario_wrapper_template_registry as _TEMPLATES
except ImportError:  # pragma: no cover - a future pytest-bdd; skipped scenarios then show no steps
    _TEMPLATES = {}

DEFAULT_REPORT = "reports/living-doc/index.html"
_PLUGIN_NAME = "raptorspec-living-doc"
_MARK_ROWS = {"tool": "", "resource": "resource:", "prompt": "prompt:"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("raptorspec", "Raptorspec")
    group.addoption(
        "--report", dest="raptorspec_report", default=None, metavar="PATH",
        help=f"write the living-documentation HTML report to PATH, with results.json beside it "
             f"(default: {DEFAULT_REPORT} when the run has scenarios; 'none' turns it off)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # xdist worker: only the controller writes a report
        return
    option = config.getoption("raptorspec_report", None)
    if option is not None and option.strip().lower() == "none":
        return
    explicit = option is not None
    path = Path(option or DEFAULT_REPORT)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    config.pluginmanager.register(LivingDoc(config, path, explicit), _PLUGIN_NAME)


def _template(item: pytest.Item) -> Any:
    """The pytest-bdd scenario behind a test item, or None for any other test."""
    try:
        return _TEMPLATES.get(getattr(item, "obj", None))
    except TypeError:  # not weak-referenceable: not a scenario function
        return None


def _outcome_reason(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _crash_message(rep: pytest.TestReport) -> str:
    crash = getattr(rep.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    lines = rep.longreprtext.strip().splitlines()
    return lines[-1] if lines else ""


def _traceback(call: pytest.CallInfo[None], rep: pytest.TestReport) -> str:
    """A short traceback (no argument values: they are noise here, and may hold secrets)."""
    if call.excinfo is not None:
        try:
            return str(call.excinfo.getrepr(style="short", funcargs=False, showlocals=False))
        except Exception:  # noqa: BLE001 - a repr problem must not lose the report
            pass
    return rep.longreprtext


def _exception_message(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, AssertionError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class LivingDoc:
    """Collects features, scenario runs and step outcomes; writes the report at the end."""

    def __init__(self, config: pytest.Config, path: Path, explicit: bool) -> None:
        self.config = config
        self.path = path
        self.explicit = explicit
        self.features: dict[str, FeatureDoc] = {}
        self.runs: dict[str, ScenarioRun] = {}
        self.step_started: dict[str, tuple[int, float]] = {}
        self.written: Path | None = None

    # --- building records -------------------------------------------------------------
    def _feature(self, feature: Any) -> str:
        key = feature.rel_filename
        if key not in self.features:
            background = [self._step(s, background=True) for s in (feature.background.steps if feature.background else [])]
            self.features[key] = FeatureDoc(
                key=key, keyword=feature.keyword, name=clean(feature.name),
                description=clean(feature.description), tags=sorted(f"@{t}" for t in feature.tags),
                background=background, line=feature.line_number,
            )
        return key

    @staticmethod
    def _step(step: Any, background: bool) -> StepDoc:
        table = None
        if step.datatable is not None:
            table = [[clean(cell.value) for cell in row.cells] for row in step.datatable.rows]
        return StepDoc(keyword=step.keyword, text=clean(step.name), background=background,
                       docstring=clean(step.docstring) if step.docstring is not None else None, datatable=table)

    def _record(self, item: pytest.Item) -> ScenarioRun | None:
        """The record of a scenario item, made from its scenario as written (None: not a scenario)."""
        if item.nodeid in self.runs:
            return self.runs[item.nodeid]
        template = _template(item)
        if template is None:
            return None
        params = getattr(getattr(item, "callspec", None), "params", {})
        example = params.get("_pytest_bdd_example") or {}
        scenario = template.render(example)
        title = scenario.name
        if example and title == template.name:
            title = f"{title} — {' | '.join(str(v) for v in example.values())}"
        n_background = len(template.all_background_steps)
        tools: list[str] = []
        for mark_name, prefix in _MARK_ROWS.items():
            for mark in item.iter_markers(mark_name):
                name = mark.kwargs.get("name", mark.args[0] if mark.args else None)
                if name and f"{prefix}{name}" not in tools:
                    tools.append(f"{prefix}{name}")
        rule_tags = template.rule.tags if template.rule is not None else set()
        record = ScenarioRun(
            nodeid=item.nodeid, feature=self._feature(template.feature), scenario=clean(title),
            keyword=template.keyword, line=template.line_number, order=len(self.runs),
            sut=clean(params.get("sut_name", NO_SUT)),
            tags=sorted(f"@{t}" for t in template.tags | rule_tags | template.feature.tags),
            tools=[clean(t) for t in tools], description=clean(template.description),
            steps=[self._step(s, background=i < n_background) for i, s in enumerate(scenario.steps)],
        )
        self.runs[item.nodeid] = record
        return record

    # --- collection and pytest-bdd hooks ------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self._record(item)

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
        self._record(request.node)

    def _step_index(self, request: pytest.FixtureRequest, scenario: Any, step: Any) -> tuple[ScenarioRun | None, int]:
        record = self._record(request.node)
        index = next((i for i, s in enumerate(scenario.steps) if s is step), -1)
        if record is None or not 0 <= index < len(record.steps):
            return None, -1
        return record, index

    def pytest_bdd_before_step(self, request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any) -> None:
        record, index = self._step_index(request, scenario, step)
        if record is not None:
            self.step_started[record.nodeid] = (index, time.perf_counter())

    def _finish_step(self, request: pytest.FixtureRequest, scenario: Any, step: Any, outcome: str, message: str = "") -> None:
        record, index = self._step_index(request, scenario, step)
        if record is None:
            return
        started_index, started = self.step_started.pop(record.nodeid, (index, None))
        doc = record.steps[index]
        doc.outcome = outcome
        doc.duration = time.perf_counter() - started if started is not None and started_index == index else None
        if message:
            doc.message = clean(message)
            record.message = record.message or doc.message

    def pytest_bdd_after_step(self, request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                              step_func: Any, step_func_args: dict[str, Any]) -> None:
        self._finish_step(request, scenario, step, "passed")

    def pytest_bdd_step_error(self, request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                              step_func: Any, step_func_args: dict[str, Any], exception: Exception) -> None:
        self._finish_step(request, scenario, step, "failed", _exception_message(exception))

    def pytest_bdd_step_func_lookup_error(self, request: pytest.FixtureRequest, feature: Any, scenario: Any,
                                          step: Any, exception: Exception) -> None:
        self._finish_step(request, scenario, step, "undefined", _exception_message(exception))

    # --- outcomes -------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        record = self._record(item)
        if record is not None:
            self._update(record, item, call, rep)
        return rep

    def _update(self, record: ScenarioRun, item: pytest.Item, call: pytest.CallInfo[None], rep: pytest.TestReport) -> None:
        """Fold one phase's report (setup, call, teardown) into the scenario run."""
        record.duration += rep.duration
        wasxfail = getattr(rep, "wasxfail", None)
        if rep.skipped:
            if wasxfail is not None:
                record.outcome, record.reason = "xfailed", clean(_outcome_reason(wasxfail, ("reason: ",)))
            else:
                text = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else rep.longreprtext
                record.outcome, record.reason = "skipped", clean(_outcome_reason(str(text), ("Skipped: ",)))
        elif rep.failed:
            if rep.when == "call":
                record.outcome = "failed"
            elif record.outcome != "failed":
                record.outcome = "error"
            message = clean(_crash_message(rep))
            record.message = record.message or message
            record.reason = record.reason or (record.message.strip().splitlines() or [""])[0]
            record.traceback = clean(_traceback(call, rep))
        elif rep.when == "call":
            if wasxfail is not None:
                record.outcome, record.reason = "xpassed", clean(_outcome_reason(wasxfail, ("reason: ",)))
            else:
                record.outcome = "passed"
        if rep.when == "call" and record.outcome == "xfailed" and not record.message:
            record.message = clean(_crash_message(rep)) if rep.longrepr else ""
        if rep.when == "teardown":
            for key, value in item.user_properties:
                if key == "mcp_transcript" and isinstance(value, (list, tuple)):
                    record.transcript = [clean_obj(dict(entry)) if isinstance(entry, dict) else {"call": clean(entry)}
                                         for entry in value]
                elif key == "sut" and value and record.sut == NO_SUT:
                    record.sut = clean(value)

    # --- writing --------------------------------------------------------------------------
    def build(self) -> Run:
        runs = sorted(self.runs.values(), key=lambda r: r.order)
        return Run(
            features=self.features, runs=runs,
            generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            command=clean("pytest " + " ".join(self.config.invocation_params.args)),
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly or (not self.runs and not self.explicit):
            return
        run = self.build()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(render_html(run), encoding="utf-8")
        results = self.path.parent / "results.json"
        results.write_text(json.dumps(run.results(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.written = self.path

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written is not None:
            terminalreporter.write_sep("-", f"living documentation: {self.written}")
