"""pytest plugin: gathers the living spec as it runs and writes the report at session end.

``--report PATH`` (default ``reports/living-doc/index.html``, written when the run has
scenarios; ``--report none`` turns it off) writes ``index.html`` and ``results.json``
side by side; a ``results.json`` already there is kept as ``results.previous.json`` and is
what the run is compared with, unless ``--compare PATH`` names another (``--compare none``:
no comparison). The terminal ends with one line per SUT and one per failure, then what
changed. A run that ends in a usage or collection error writes nothing and rotates
nothing (stderr says so); a run stopped early (``pytest.exit``: a lab that did not start;
Ctrl-C) says why at the top of the report and in results.json (``stopped``); a results.json in
which nothing ran is never moved to results.previous.json, so "previous" is always the last
run that ran scenarios. Every test report is masked as it is made (:class:`MaskReports`), so
the terminal and junit XML never show key material; the SUTs' logs a failure names are
copied into ``sut-logs/`` beside the report and the report names the copies. State lives on one plugin object per config, so nested runs (pytester) and
repeated sessions never share it.

Under pytest-xdist the controller writes the one report of the run: each worker builds
its own record of the run as usual (every collected scenario run, those it did not run
marked "not run") and at its end writes it, as a results.json, into a directory the
controller made for the run (``workerinput``); the controller merges them with
:func:`support.report.merge.merge` (the record of the worker that ran a scenario run wins
over the others' "not run") and then compares and writes exactly as a serial run does. A
scenario run whose worker crashed before writing its results (the scenario it crashed in, and
those it had run before) is taken from the controller's own view of the reports — its outcome
and message, without its steps (the report says why) — so nothing is lost or shown as never run.

For scenario steps (with or without a report): an assertion's message reaches the terminal
and the report without pytest's introspection, and the traceback starts at the suite's
code (:mod:`support.report.tidy`); ``--fulltrace`` shows pytest's own, and the report keeps
the whole one folded.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import merge as merging
from .compare import Changes, compare_files
from .model import NO_SUT, FeatureDoc, Run, ScenarioRun, StepDoc, canonical, clean, clean_obj
from .render import render_html
from .tidy import our_entries, own_message

from support.bdd import scenario_of

DEFAULT_REPORT = "reports/living-doc/index.html"
_PLUGIN_NAME = "raptorspec-living-doc"
_MARK_ROWS = {"tool": "", "resource": "resource:", "prompt": "prompt:"}
_FULL_TRACEBACK = pytest.StashKey[str]()
_XPASS_STRICT = "[XPASS(strict)] "
_SHARDS_INPUT = "raptorspec_report_shards"   # workerinput: where workers write their results
_MASK_NAME = "raptorspec-mask-reports"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("raptorspec", "Raptorspec")
    group.addoption(
        "--report", dest="raptorspec_report", default=None, metavar="PATH",
        help=f"write the living-documentation HTML report to PATH (a .html file), with results.json beside it; "
             f"a PATH without .html is a folder, the report its index.html "
             f"(default: {DEFAULT_REPORT} when the run has scenarios; 'none' turns it off)",
    )
    group.addoption(
        "--compare", dest="raptorspec_compare", default=None, metavar="RESULTS",
        help="compare the run with a previous results.json (or the folder holding it): the report and "
             "the terminal show what newly fails, newly passes, xfails that now pass, and matrix cells "
             "that changed (default: the report folder's previous results.json; 'none': no comparison)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_MASK_NAME):
        config.pluginmanager.register(MaskReports(), _MASK_NAME)
    if hasattr(config, "workerinput"):  # xdist worker: its results go to the controller
        shards = config.workerinput.get(_SHARDS_INPUT)
        if shards:
            doc = LivingDoc(config, None, False, False)
            doc.shard = Path(shards) / f"{config.workerinput.get('workerid', 'worker')}.json"
            config.pluginmanager.register(doc, _PLUGIN_NAME)
        return
    option = config.getoption("raptorspec_report", None)
    path: Path | None = None
    if option is None or option.strip().lower() != "none":
        path = Path(option or DEFAULT_REPORT)
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        if path.is_dir() or path.suffix.lower() not in (".html", ".htm") or (option or "").endswith(("/", "\\")):
            path = path / "index.html"   # a folder: the report, results.json and sut-logs/ go in it
    compare = config.getoption("raptorspec_compare", None)
    baseline: Path | None | bool = None                # None: the report folder's previous run
    if compare is not None:
        if compare.strip().lower() == "none":
            baseline = False
        else:
            baseline = Path(compare)
            if not baseline.is_absolute():
                baseline = Path(config.invocation_params.dir) / baseline
            if baseline.is_dir():
                baseline = baseline / "results.json"
    doc = LivingDoc(config, path, option is not None, baseline)
    if path is not None:
        from support.lab import base as lab_base
        lab_base.SUT_LOGS_TO = path.parent / "sut-logs"   # the SUTs' logs outlive the lab directory
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no":
        doc.shards = Path(tempfile.mkdtemp(prefix="raptorspec-report-shards-"))
    config.pluginmanager.register(doc, _PLUGIN_NAME)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker where to write its results."""
    doc = node.config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if doc is not None and doc.shards is not None:
        node.workerinput[_SHARDS_INPUT] = str(doc.shards)


def pytest_unconfigure(config: pytest.Config) -> None:
    doc = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if doc is not None and getattr(doc, "shards", None) is not None:
        shutil.rmtree(doc.shards, ignore_errors=True)


# --- secrets never leave in a test report (terminal, junit XML, xdist, any plugin) ----------
class MaskReports:
    """Masks every text of each test report as it is made (:func:`support.secrets.mask`):
    the failure's traceback and message, captured output sections and the user properties
    (an MCP transcript), so the terminal, junit XML and any other reporting plugin see only
    masked text, however a SUT re-wrapped or escaped a key."""

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        rep = yield
        try:
            mask_report(rep)
        except Exception:  # noqa: BLE001 - masking must never lose a report; the report plugin masks again
            pass
        return rep


def mask_report(rep: Any) -> None:
    """Mask, in place, the texts of a pytest report: ``longrepr`` (a string, a skip tuple or
    pytest's repr objects, walked), ``sections`` and ``user_properties``."""
    longrepr = rep.longrepr
    if isinstance(longrepr, str):
        rep.longrepr = clean(longrepr)
    elif isinstance(longrepr, tuple):
        rep.longrepr = tuple(clean(v) if isinstance(v, str) else v for v in longrepr)
    elif longrepr is not None:
        _mask_repr(longrepr, set())
    rep.sections = [(clean(title), clean(body)) for title, body in rep.sections]
    rep.user_properties = [(key, clean(value) if isinstance(value, str) else clean_obj(value)
                            if isinstance(value, (dict, list, tuple)) else value)
                           for key, value in rep.user_properties]


def _mask_repr(obj: Any, seen: set[int]) -> None:
    """Walk pytest's repr objects (``_pytest._code.code``), masking every string attribute."""
    if id(obj) in seen or not type(obj).__module__.startswith("_pytest"):
        return
    seen.add(id(obj))
    for name, value in list(vars(obj).items()):
        if isinstance(value, str):
            setattr(obj, name, clean(value))
        elif isinstance(value, (list, tuple)):
            setattr(obj, name, _masked_item(value, seen))
        elif value is not None:
            _mask_repr(value, seen)


def _masked_item(value: Any, seen: set[int]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        # lines of one text (a traceback entry's ``lines``): a PEM block spans several of them,
        # and masked one by one only its header and footer were found
        return type(value)(clean("\n".join(value)).split("\n"))
    if isinstance(value, (list, tuple)):
        return type(value)(_masked_item(v, seen) for v in value)
    _mask_repr(value, seen)
    return value


# --- failures in the suite's words (any scenario run, report or not) ------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: dict[str, Any], exception: Exception) -> None:
    """A step's assertion keeps its own message only (and is masked): the terminal and the
    report then show the message, not pytest's ``assert …`` / ``+ where …`` introspection."""
    message = own_message(exception)
    if message is not None:
        exception.args = (clean(message),)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A scenario's traceback starts at the suite's code, for the terminal too; the whole
    one is kept (stashed on the item) for the report's folded copy."""
    excinfo = call.excinfo
    if excinfo is not None and _template(item) is not None and not item.config.getoption("fulltrace", False):
        try:
            # A skip's traceback is never shown (only a failure's is: LivingDoc._update), and
            # rendering one costs ~0.3 s (pytest parses each entry's source file): 800 skips
            # were ~4 min of a 19 min run (bench/results/overhead.json).
            if not excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception)):
                item.stash[_FULL_TRACEBACK] = _short_repr(excinfo)
            trimmed = our_entries(excinfo)
            if trimmed is not None:
                excinfo.traceback = trimmed
        except Exception:  # noqa: BLE001 - trimming must never lose a failure
            pass
    return (yield)


def _short_repr(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """A short traceback (no argument values: they are noise here, and may hold secrets)."""
    return str(excinfo.getrepr(style="short", funcargs=False, showlocals=False))


def _template(item: pytest.Item) -> Any:
    """The pytest-bdd scenario behind a test item, or None for any other test."""
    try:
        return scenario_of(item)
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
    """The (trimmed) traceback, short."""
    if call.excinfo is not None:
        try:
            return _short_repr(call.excinfo)
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

    def __init__(self, config: pytest.Config, path: Path | None, explicit: bool,
                 baseline: Path | None | bool = None) -> None:
        self.config = config
        self.path = path                  # None: --report none (the terminal summary still shows)
        self.explicit = explicit
        self.baseline = baseline          # a results.json, None (the report folder's), False (none)
        self.run: Run | None = None
        self.compare_error = ""
        self.features: dict[str, FeatureDoc] = {}
        self.runs: dict[str, ScenarioRun] = {}
        self.step_started: dict[str, tuple[int, float]] = {}
        self.written: Path | None = None
        self.shards: Path | None = None    # xdist controller: where the workers write their results
        self.shard: Path | None = None     # xdist worker: the file it writes its results to
        self.seen: dict[str, tuple[str, str]] = {}  # xdist controller: node id -> (outcome, message)
        self.stopped = ""                  # why the session stopped early (pytest.exit, Ctrl-C)
        self.collection_errors = 0

    # --- building records -------------------------------------------------------------
    def _feature(self, feature: Any) -> str:
        key = feature.rel_filename
        if key not in self.features:
            background = [self._step(s, background=True) for s in (feature.background.steps if feature.background else [])]
            self.features[key] = FeatureDoc(
                key=key, keyword=feature.keyword, name=clean(feature.name),
                description=clean(feature.description), tags=sorted(f"@{t}" for t in feature.tags),
                background=background, line=feature.line_number, path=self._relpath(feature.filename),
            )
        return key

    def _relpath(self, filename: str) -> str:
        try:
            return str(Path(filename).resolve().relative_to(self.config.rootpath.resolve()))
        except ValueError:
            return str(filename)

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
        elif rep.failed and rep.when == "call" and isinstance(rep.longrepr, str) and rep.longrepr.startswith(_XPASS_STRICT):
            record.outcome, record.reason = "xpassed", clean(rep.longrepr[len(_XPASS_STRICT):])
        elif rep.failed:
            if rep.when == "call":
                record.outcome = "failed"
            elif record.outcome != "failed":
                record.outcome = "error"
            message = clean(_crash_message(rep))
            record.message = record.message or message
            record.reason = record.reason or (record.message.strip().splitlines() or [""])[0]
            record.traceback = clean(_traceback(call, rep))
            record.traceback_full = clean(item.stash.get(_FULL_TRACEBACK, ""))
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
            stopped=self.stopped,
        )

    def _keep_previous(self) -> Path | None:
        """Move the report folder's results.json aside as results.previous.json; the path of
        the previous run to compare with (None: there is none).

        Only a run that ran scenarios is kept as the previous one: a results.json in which
        nothing ran (a lab that did not start, an interrupt before the first scenario) is left
        to be overwritten, so it never pushes the last real run out of results.previous.json."""
        if self.path is None:
            return None
        results = self.path.parent / "results.json"
        previous = self.path.parent / "results.previous.json"
        if results.is_file() and _ran_scenarios(results):
            results.replace(previous)
            if isinstance(self.baseline, Path) and self.baseline.resolve() == results.resolve():
                self.baseline = previous        # --compare named the file just moved aside
        return previous if previous.is_file() else None

    def _changes(self, run: Run, previous: Path | None) -> Changes | None:
        """What changed since the baseline run, or None (no baseline, or it cannot be read)."""
        baseline = previous if self.baseline is None else self.baseline
        if not isinstance(baseline, Path):
            return None
        try:
            return compare_files(baseline, run.results())
        except (OSError, ValueError) as exc:
            self.compare_error = f"cannot compare with {baseline}: {exc}"
            return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """xdist controller: remember each test's outcome, for a worker that dies before writing."""
        if self.shards is None:
            return
        held = self.seen.get(report.nodeid)
        wasxfail = getattr(report, "wasxfail", None)
        outcome = None
        if report.failed:
            outcome = "failed" if report.when in ("call", "???") or held is None or held[0] != "passed" else "error"
            if held is not None and held[0] == "failed":
                return
        elif report.skipped:
            outcome = "xfailed" if wasxfail is not None else "skipped"
        elif report.when == "call":
            outcome = "xpassed" if wasxfail is not None else "passed"
        if outcome is not None:
            message = clean(_crash_message(report)) if report.failed or report.skipped else ""
            self.seen[report.nodeid] = (outcome, message)

    def _merged(self) -> Run | None:
        """xdist controller: the workers' results merged (None when no worker wrote any)."""
        assert self.shards is not None
        runs = []
        for path in sorted(self.shards.glob("*.json")):
            try:
                runs.append(merging.load(path))
            except (OSError, ValueError) as exc:
                self.compare_error = f"a worker's results could not be read: {exc}"
        if not runs:
            return None
        # in layout order (Run sorts it), as a serial run's: not by ``order``, which on the
        # workers is the order they take scenarios in (those that run alone first)
        run = merging.merge(runs, command=clean("pytest " + " ".join(self.config.invocation_params.args)))
        for record in run.runs:
            if record.outcome == "not run" and record.nodeid in self.seen:
                record.outcome, message = self.seen[record.nodeid]
                note = ("Its xdist worker died before handing over its results: the outcome is pytest's, "
                        "the steps are not known.")
                record.message = f"{message}\n{note}" if message else note
                record.reason = (message.strip().splitlines() or [note])[0]
        return run

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """The session stops early: ``pytest.exit`` (e.g. "the embedded lab did not start: …")
        or Ctrl-C. Its message goes at the top of the report."""
        exc = excinfo.value
        if isinstance(exc, KeyboardInterrupt):
            self.stopped = "interrupted (Ctrl-C or SIGTERM)"
        else:
            self.stopped = clean(str(getattr(exc, "msg", "") or exc))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1

    def _usage_error(self, exitstatus: int) -> bool:
        """A run that ended in a usage or collection error writes nothing and rotates nothing:
        its report would only hide the previous run's."""
        if exitstatus == pytest.ExitCode.USAGE_ERROR:
            why = "a usage error"
        elif self.collection_errors and exitstatus == pytest.ExitCode.INTERRUPTED and not any(
                r.outcome != "not run" for r in self.runs.values()):
            why = "collection errors"
        else:
            return False
        if self.path is not None:
            import sys
            print(f"raptorspec: the run ended in {why}: no report written; "
                  f"{self.path.parent} is left as it was", file=sys.stderr, flush=True)
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.config.option.collectonly or self._usage_error(exitstatus):
            return
        if self.shard is not None:         # xdist worker: hand the run to the controller
            self.shard.write_text(json.dumps(self.build().results(), ensure_ascii=False), encoding="utf-8")
            return
        if self.shards is not None:
            merged = self._merged()
            if merged is not None:
                run = self.run = merged
                run.stopped = self.stopped
                previous = self._keep_previous()
                run.changes = self._changes(run, previous)
                if self.path is not None:
                    self._write(run)
                return
        if not self.runs:
            if self.path is not None and self.explicit:
                self._keep_previous()
                self._write(self.build())
            return
        run = self.run = self.build()
        previous = self._keep_previous()
        run.changes = self._changes(run, previous)
        if self.path is not None:
            self._write(run)

    def _write(self, run: Run) -> None:
        assert self.path is not None
        _point_at_sut_log_copies(run)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(render_html(run), encoding="utf-8")
        results = self.path.parent / "results.json"
        results.write_text(json.dumps(run.results(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.written = self.path

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        run = self.run
        if run is not None:
            terminalreporter.write_sep("-", "the run at a glance")
            for line in glance_lines(run):
                terminalreporter.write_line(line)
            if run.changes is not None:
                terminalreporter.write_sep("-", f"compared with {run.changes.previous}")
                for line in run.changes.terminal_lines():
                    terminalreporter.write_line(line)
        if self.compare_error:
            terminalreporter.write_line(self.compare_error, yellow=True)
        if self.written is not None:
            terminalreporter.write_sep("-", f"living documentation: {self.written}")
            from support.lab import base as lab_base
            note = lab_base.sut_logs_note(bool(lab_base.KEPT) or bool(self.config.getoption("--keep-lab", False)))
            if note:   # an xdist controller's lab closes later: pytest_unconfigure (support/lab/plugin.py) says it
                terminalreporter.write_line(note)


def _point_at_sut_log_copies(run: Run) -> None:
    """Failure texts name a SUT's log in the lab directory, which is removed at the run's end:
    name the copy in the report folder instead (:func:`support.lab.base.sut_log_copy`)."""
    from support.lab.base import sut_log_copy

    for r in run.runs:
        r.message, r.reason = sut_log_copy(r.message), sut_log_copy(r.reason)
        r.traceback, r.traceback_full = sut_log_copy(r.traceback), sut_log_copy(r.traceback_full)
        for step in r.steps:
            step.message = sut_log_copy(step.message)


def _ran_scenarios(results: Path) -> bool:
    """Whether a results.json records at least one scenario run that ran (True when it
    cannot be read: keep it rather than lose it)."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
        return any(row.get("outcome") != "not run" for row in data.get("scenarios", []))
    except (OSError, ValueError, AttributeError):
        return True


def _one_line(text: str, limit: int = 160) -> str:
    line = text.strip().split("\n")[0]
    return line if len(line) <= limit else line[:limit - 1] + "…"


#: What the per-SUT line counts, with the words the report uses.
_GLANCE = (("passed", "pass"), ("failed", "fail"), ("error", "error"), ("xpassed", "xpass"),
           ("xfailed", "xfail"), ("skipped", "skip"), ("not run", "not run"))


def glance_lines(run: Run) -> list[str]:
    """One line per SUT (pass / fail / xfail / skip counts, canonical rows not covered), then
    one per failing scenario run: ``path:line  Scenario [SUT]: one-line reason``."""
    lines = []
    width = max((len(s) for s in run.suts), default=1)
    for sut in run.suts:
        counts: dict[str, int] = {}
        for r in run.runs:
            if r.sut == sut:
                counts[r.outcome] = counts.get(r.outcome, 0) + 1
        shown = [f"{label} {counts.get(outcome, 0)}" for outcome, label in _GLANCE
                 if counts.get(outcome) or outcome in ("passed", "failed", "xfailed", "skipped")]
        total = len(canonical.matrix_rows())
        lines.append(f"{sut:<{width}}  " + " · ".join(shown) + f" · not covered {run.not_covered(sut)}/{total}")
    for r in run.runs:
        if r.outcome in ("failed", "error", "xpassed"):
            feature = run.features.get(r.feature)
            where = f"{feature.path or feature.key}:{r.line}" if feature else f"{r.feature}:{r.line}"
            reason = _one_line(r.reason or r.message or r.outcome)
            label = {"failed": "FAIL", "error": "ERROR", "xpassed": "XPASS"}[r.outcome]
            lines.append(f"{label} {where}  {r.scenario} [{r.sut}]: {reason}")
    return lines
