"""The suite's core pytest plugin: options, tags, the oracle fixture, live progress.

The lab's options and fixtures (``lab``, ``lab_mode``, ``velociraptor_binary``, …) are in
:mod:`support.lab.plugin`, loaded with this one. Every setting is a session fixture you can
override in a conftest (pytest-docker style): ``run_id``, ``oracle`` and the lab's.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.bdd import raise_deferred_usage_errors, usage_errors_deferred
from support.lab import Lab
from support.oracle import Oracle

pytest_plugins = ["support.lab.plugin"]  # the lab's options and fixtures

ROOT = Path(__file__).resolve().parent.parent
KNOWN_FLAG_TAGS = {"slow", "destructive", "security", "bad_input", "exclusive"}
KNOWN_OSES = {"linux", "windows", "macos"}
_UNKNOWN_TAGS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("raptorspec", "Raptorspec living spec")
    g.addoption("--allow-destructive", action="store_true",
                help="run @destructive scenarios against an external lab (never done by default)")
    parser.addini("raptorspec_spec_module", default="features/test_spec.py",
                  help="the module that binds every feature (scenarios(...)); a .feature path or a folder "
                       "below it on the command line runs just those scenarios through it")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNKNOWN_TAGS] = []
    cucumber = getattr(config.option, "cucumber_json_path", None)
    if cucumber and not hasattr(config, "workerinput"):
        # pytest-bdd writes it at the session's end without making its folder: the run ended in
        # a FileNotFoundError traceback and wrote no junit XML or report either
        Path(cucumber).expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
    if not config.pluginmanager.has_plugin("raptorspec-cucumber"):
        config.pluginmanager.register(CucumberWriterSide(config), "raptorspec-cucumber")
    with usage_errors_deferred(config):  # raised at session start: see support.bdd
        _map_feature_arguments(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    raise_deferred_usage_errors(session.config)


# --------------------------------------------------------------------------------------
# running part of the spec: `pytest features/clients/`, `pytest x.feature`, `x.feature::Title`

_FEATURE_FILTER = pytest.StashKey[list]()  # [(path, scenario title or None)]; absent = no filter


def _map_feature_arguments(config: pytest.Config) -> None:
    """Map .feature paths and folders below the spec module's folder to that module.

    Every feature is bound in one module (``raptorspec_spec_module``), so pytest alone would
    collect nothing for ``features/clients/`` or ``features/x.feature``. Each such argument is
    replaced by the spec module, and ``pytest_collection_modifyitems`` deselects the scenarios
    whose feature lies outside them. ``x.feature::Scenario title`` keeps the one scenario (or
    Scenario Outline) with exactly that title. An argument naming the spec module itself, its
    folder or an ancestor keeps everything. Raises ``pytest.UsageError`` for
    ``folder::anything``.
    """
    spec = (config.rootpath / config.getini("raptorspec_spec_module")).resolve()
    if not spec.is_file():
        return
    root = spec.parent
    args: list[str] = []
    filters: list[tuple[Path, str | None]] = []
    everything = False
    for arg in config.args:
        head, sep, title = arg.partition("::")
        path = Path(head)
        path = (path if path.is_absolute() else config.invocation_params.dir / path).resolve()
        inside = path != root and root in path.parents
        if inside and path.is_file() and path.suffix == ".feature":
            filters.append((path, title.strip() or None))
        elif inside and path.is_dir() and not sep:
            filters.append((path, None))
        elif inside and path.is_dir():
            raise pytest.UsageError(f"{arg}: '::' follows a .feature file (a folder runs all its scenarios)")
        else:
            if path == spec or (path.is_dir() and (path == root or path in root.parents)):
                everything = True
            args.append(arg)
            continue
        if str(spec) not in args:
            args.append(str(spec))
    if filters:
        config.args[:] = args
        if not everything:
            config.stash[_FEATURE_FILTER] = filters


def feature_scope(config: pytest.Config) -> list[Path] | None:
    """The feature files and folders this run is narrowed to (``pytest features/clients/``,
    ``pytest x.feature[::Title]``), resolved; None when it runs the whole spec."""
    filters = config.stash.get(_FEATURE_FILTER, None)
    return [path for path, _ in filters] if filters else None


def _feature_of(tpl: Any) -> Path:
    return Path(tpl.feature.filename).resolve()


def _apply_feature_filter(config: pytest.Config, items: list[pytest.Item]) -> None:
    filters = config.stash.get(_FEATURE_FILTER, None)
    if not filters:
        return
    spec = (config.rootpath / config.getini("raptorspec_spec_module")).resolve()
    keep, drop, matched = [], [], set()
    for item in items:
        tpl = _template_of(item)
        if tpl is None:
            (drop if Path(str(item.path)).resolve() == spec else keep).append(item)
            continue
        feature = _feature_of(tpl)
        hit = False
        for i, (path, title) in enumerate(filters):
            if (feature == path and (title is None or tpl.name == title)) or (path.is_dir() and path in feature.parents):
                hit = True
                matched.add(i)
        (keep if hit else drop).append(item)
    for i, (path, title) in enumerate(filters):
        if i not in matched and title is not None:
            titles = sorted({t.name for t in (_template_of(it) for it in items) if t is not None and _feature_of(t) == path})
            raise pytest.UsageError(f"{path}: no scenario titled {title!r}; its scenarios: "
                                    + "; ".join(repr(t) for t in titles))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --------------------------------------------------------------------------------------
# tags: @tool:x -> mark.tool(name="x"), @os:y -> mark.os(name="y"), flags as plain marks


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Any) -> bool:
    from support.report.canonical import matrix_rows

    kind, sep, value = tag.partition(":")
    if sep and kind == "tool" and value in matrix_rows():
        pytest.mark.tool(name=value)(function)
    elif sep and kind == "os" and value in KNOWN_OSES:
        pytest.mark.os(name=value)(function)
    elif not sep and tag in KNOWN_FLAG_TAGS:
        getattr(pytest.mark, tag)(function)
    else:
        pytest.mark.raptorspec_unknown_tag(tag=tag)(function)
    return True


def _template_of(item: pytest.Item) -> Any:
    from support.bdd import scenario_of

    return scenario_of(item)


def _where(config: pytest.Config, tpl: Any) -> str:
    """``features/x.feature:NN`` of a scenario template, relative to the rootdir when below it."""
    return _line_of(config, tpl.feature, tpl.line_number)


def _line_of(config: pytest.Config, feature: Any, line: int) -> str:
    """``features/x.feature:NN`` of a line of a pytest-bdd feature, relative to the rootdir when below it."""
    path = Path(feature.filename).resolve()
    try:
        path = path.relative_to(config.rootpath.resolve())
    except ValueError:
        pass
    return f"{path}:{line}"


def _by_file_and_line(problem: str) -> tuple[str, int, str]:
    """Sort key of a ``<path>:<line>: …`` problem: by file, then line as a number (9 before 10)."""
    path, _, rest = problem.partition(":")
    line, _, _ = rest.partition(":")
    return (path, int(line) if line.isdigit() else 0, problem)


def _known_tags() -> list[str]:
    """Every tag collection accepts, without its ``@``: ``tool:<row>`` for each row of the
    matrix, ``os:<os>``, the flags and ``arg:<argument>`` (support/coverage.py)."""
    from support import coverage
    from support.report.canonical import matrix_rows

    return ([f"tool:{row}" for row in matrix_rows()] + [f"os:{o}" for o in sorted(KNOWN_OSES)]
            + sorted(KNOWN_FLAG_TAGS) + [f"{coverage.TAG_PREFIX}{a}" for a in sorted(coverage.ALL_ARGUMENTS)])


def _unknown_tag_problems(item: pytest.Item, tag: str) -> list[str]:
    """``<feature>:<line>: unknown tag @x: did you mean @y? (known: …)`` for a tag no hook took,
    one per line the tag is written on in the scenario's feature file (the same texts however
    many scenarios inherit the tag, so that the sorted set of problems names each once); at the
    scenario's line when the tag is not found in the file."""
    import difflib

    from support.gherkin import tag_lines

    tpl = _template_of(item)
    if tpl is None:
        places = [item.nodeid]
    else:
        lines = tag_lines(_feature_of(tpl)).get(f"@{tag}") or [tpl.line_number]
        places = [f"{tpl.feature.filename}:{line}" for line in lines]
    close = difflib.get_close_matches(tag, _known_tags(), n=1, cutoff=0.7)
    hint = f": did you mean @{close[0]}?" if close else ""
    known = (f"(known: @tool:<canonical tool, resource:… or prompt:…>, @os:{'|'.join(sorted(KNOWN_OSES))}, "
             f"{', '.join('@' + t for t in sorted(KNOWN_FLAG_TAGS))}, @arg:<an argument of the scenario's tool>)")
    return [f"{where}: unknown tag @{tag}{hint} {known}" for where in places]


def _step_clashes(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Step definitions that compete for one step, as collection errors: one phrase defined
    twice (same type, or an untyped ``@step``) among the steps the scenarios can see, and a
    step line of a scenario this run runs that two definitions bind (support/steps_catalogue.py).
    pytest-bdd 9 would silently use one: a second ``@then`` whose body passes turned a failing
    scenario green."""
    from support.bdd import visible_step_definitions
    from support.steps_catalogue import ambiguous_steps, definition_clashes

    scenario_items = [(item, tpl) for item in items if (tpl := _template_of(item)) is not None]
    if not scenario_items:
        return []
    root = config.rootpath
    defs = visible_step_definitions(scenario_items[0][0])
    steps, rendered = [], set()
    for item, tpl in scenario_items:
        callspec = getattr(item, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example") if callspec else None
        key = (id(tpl), tuple(sorted((example or {}).items())))
        if key in rendered:  # one rendering per scenario (and Examples row), not per SUT
            continue
        rendered.add(key)
        where = _where(config, tpl).rpartition(":")[0]
        steps += [(step.type, step.name, f"{where}:{step.line_number}")
                  for step in tpl.render(example or {}).steps]
    return definition_clashes(defs, root) + ambiguous_steps(steps, defs, root)


@pytest.hookimpl(tryfirst=True)  # before the SUT plugin reads the tool marks
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    from support.report.canonical import matrix_rows

    _apply_feature_filter(config, items)
    problems = _step_clashes(config, items)
    for item in items:
        # In a Scenario Outline, an Examples column named "tool" tags its row @tool:<value>.
        callspec = getattr(item, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example") if callspec else None
        if isinstance(example, dict) and example.get("tool"):
            if example["tool"] in matrix_rows():
                item.add_marker(pytest.mark.tool(name=example["tool"], from_examples=True))
            else:
                tpl = _template_of(item)
                where = f"{tpl.feature.filename}:{tpl.line_number}" if tpl else item.nodeid
                problems.append(f"{where}: Examples column tool names no canonical tool: {example['tool']!r}")
    for item in items:
        for mark in item.iter_markers("raptorspec_unknown_tag"):
            problems += _unknown_tag_problems(item, mark.kwargs["tag"])
    for item in items:
        tpl = _template_of(item)
        if tpl is not None and item.get_closest_marker("tool") is None:
            problems.append(f"{_where(config, tpl)}: scenario {tpl.name!r} has no @tool:<canonical tool> tag (on it, "
                            f"its Rule or its feature, or an Examples column named tool): every scenario is in the matrix")
    if problems:
        raise pytest.UsageError("\n".join(sorted(set(problems), key=_by_file_and_line)))
    allure = any(line.startswith("allure_label") for line in config.getini("markers"))  # allure-pytest-bdd on
    for item in items:
        tpl = _template_of(item)
        if tpl is not None:
            tool = item.get_closest_marker("tool").kwargs["name"]
            item.user_properties.append(("tool", tool))
            item.user_properties.append(("scenario", _where(config, tpl)))
            callspec = getattr(item, "callspec", None)
            sut_name = callspec.params.get("sut_name") if callspec else None
            if allure:  # labels read by allure-pytest-bdd from its allure_label marks
                label = pytest.mark.allure_label
                item.add_marker(label(tool, label_type="tool"))
                item.add_marker(label(f"tool:{tool}", label_type="tag"))
                if sut_name:
                    item.add_marker(label(sut_name, label_type="sut"))
                    item.add_marker(label(f"sut:{sut_name}", label_type="tag"))
    external = config.getoption("--lab") == "external" and not config.getoption("--allow-destructive")
    for item in items:
        if external and item.get_closest_marker("destructive"):
            item.add_marker(pytest.mark.skip(reason="@destructive scenario: not run on an external lab "
                                                    "without --allow-destructive"))


# --------------------------------------------------------------------------------------
# live Gherkin progress in the terminal


_STEP_T = pytest.StashKey[float]()  # when the current step started


def _tw(config: pytest.Config) -> Any:
    rep = config.pluginmanager.get_plugin("terminalreporter")
    return rep if rep is not None and config.get_verbosity() >= 0 else None


@contextlib.contextmanager
def _uncaptured(config: pytest.Config) -> Iterator[None]:
    """Write around pytest's output capture: the live Gherkin lines are written while a test
    runs, when capture (default ``--capture=fd``) would otherwise swallow them."""
    capman = config.pluginmanager.get_plugin("capturemanager")
    if capman is None:
        yield
        return
    with capman.global_and_fixture_disabled():
        yield


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    rep = _tw(request.config)
    request.node.stash[_STEP_T] = time.monotonic()
    if rep:
        sut = getattr(request.node, "callspec", None)
        sut_name = sut.params.get("sut_name") if sut else None
        with _uncaptured(request.config):
            rep.ensure_newline()
            rep.write_line(f"Feature: {feature.name}", bold=True)
            rep.write_line(f"  Scenario: {scenario.name}" + (f"  [{sut_name}]" if sut_name else ""), cyan=True)



def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any) -> None:
    request.node.stash[_STEP_T] = time.monotonic()


def _step_line(request: pytest.FixtureRequest, step: Any, status: str, **color: bool) -> None:
    rep = _tw(request.config)
    if rep:
        took = time.monotonic() - request.node.stash.get(_STEP_T, time.monotonic())
        with _uncaptured(request.config):
            rep.write_line(f"    {step.keyword} {step.name}  ({status}, {took:.1f}s)", **color)


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: Any) -> None:
    _step_line(request, step, "passed", green=True)


_FAILED_STEP = pytest.StashKey[Any]()  # the pytest-bdd step that raised, for the fixture-lookup message


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: Any, exception: BaseException) -> None:
    request.node.stash[_FAILED_STEP] = step
    _step_line(request, step, f"FAILED at {_line_of(request.config, feature, step.line_number)}: {type(exception).__name__}",
               red=True)


def _suggestions(step_text: str, step_type: str | None = None) -> str:
    """The step catalogue's closest phrases and a stub for an unbound step (``""`` if the
    catalogue itself fails: a broken hint must not hide the real failure)."""
    from support.steps_catalogue import suggest

    try:
        return suggest(step_text, step_type) or ""
    except Exception as exc:  # noqa: BLE001 - a broken hint must not hide the real failure
        return f"(no suggestions: {type(exc).__name__}: {exc})"


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                                      exception: BaseException) -> None:
    _step_line(request, step, f"NOT BOUND: no step definition matches ({feature.rel_filename}:{step.line_number})", red=True)
    hint = _suggestions(step.name, getattr(step, "type", None))
    if hint and exception.args:
        exception.args = (f"{exception.args[0]}\n{hint}", *exception.args[1:])


# --------------------------------------------------------------------------------------
# reports point at the scenario: skip lines, xfail lines, junit properties, cucumber tags


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest-bdd's wrapper: its scenario report exists
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    rep = yield
    tpl = _template_of(item)
    if tpl is None:
        return rep
    where = _where(item.config, tpl)
    path, _, line = where.rpartition(":")
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        # A skip mark or pytest.skip() inside pytest-bdd points at pytest_bdd/scenario.py; an
        # analyst needs the scenario. pytest folds a setup skip mark's line away unless the
        # report's keywords lack "skip".
        rep.longrepr = (path, int(line), rep.longrepr[2])
        rep.keywords.pop("skip", None)
    if rep.failed and call.excinfo is not None and call.excinfo.errisinstance(pytest.FixtureLookupError):
        hint = _fixture_lookup_hint(item, tpl, call.excinfo.value)
        if hint:  # ours first, pytest's own message below it, less its list of every fixture
            rep.longrepr = f"{hint}\n\n{_without_fixture_list(rep.longreprtext)}"
    elif rep.failed and rep.when == "call":
        _name_the_failed_step(item, tpl, rep)
    _tag_cucumber_scenario(item, rep)
    _cucumber_steps_follow_outcome(item, rep)
    return rep


def _name_the_failed_step(item: pytest.Item, tpl: Any, rep: pytest.TestReport) -> None:
    """A scenario failed in a step: the failure names that step and its own line, not only the
    test function: the crash message (pytest's short summary, junit's ``message``) starts with
    ``features/x.feature:NN:``, and a "Failed step" section closes the failure block
    with the step, its scenario and the SUT."""
    step = item.stash.get(_FAILED_STEP, None)
    if step is None:
        return
    where = _line_of(item.config, tpl.feature, step.line_number)
    said = f"{step.keyword} {step.name}"
    crash = getattr(rep.longrepr, "reprcrash", None)
    if crash is not None and not crash.message.startswith(where):
        crash.message = f"{where}: {crash.message}"
    callspec = getattr(item, "callspec", None)
    sut_name = callspec.params.get("sut_name") if callspec else None
    rep.sections.append(("Failed step", f"{where}: {said}\n  in scenario {tpl.name!r} ({_where(item.config, tpl)})"
                                        + (f" against the SUT {sut_name}" if sut_name else "")))


def _without_fixture_list(text: str) -> str:
    """pytest's fixture-lookup message less its ``available fixtures: …`` line (every fixture
    visible, a hundred names on one line) once our hint has named the ones that matter; its
    ``use 'pytest --fixtures [testpath]'`` line stays."""
    import re

    return re.sub(r"(?m)^>\s+available fixtures:.*\n", "", text)


def _fixture_lookup_hint(item: pytest.Item, tpl: Any, exc: BaseException) -> str:
    """For a scenario whose step needs a fixture nothing provided (a Background Given forgotten):
    the scenario, the step, and the steps that provide that fixture (``target_fixture``, from the
    step catalogue). ``""`` when the failing step is not known; a broken hint never hides the failure."""
    import inspect

    argname = getattr(exc, "argname", None)
    step = item.stash.get(_FAILED_STEP, None)
    if not argname:
        return ""
    try:
        from support.bdd import visible_step_definitions
        from support.steps_catalogue import _plain, place

        defs = visible_step_definitions(item)
        providers = [d for d in defs if d.target_fixture == argname]
        needs = ""
        if step is not None:
            bound = [d for d in defs if d.type in (step.type, "step") and d.matches(step.name)]
            if not any(argname in inspect.signature(d.func).parameters for d in bound):
                return ""  # a fixture of the step's fixtures is missing: pytest's message says which
            needs = f"the step '{step.keyword} {step.name}' (line {step.line_number}) "
        head = f"Scenario {tpl.name!r} ({_where(item.config, tpl)}): {needs or 'a step '}needs {argname!r}, " \
               "which no step before it provided."
        if not providers:
            return f"{head} No step provides it (target_fixture={argname!r}) and no fixture of that name is visible."
        kinds = {d.type for d in providers}
        intro = ("A Given provides it" if len(providers) == 1 else "Givens that provide it") if kinds == {"given"} \
            else "Steps that provide it"
        shown = "; ".join(f"'{d.type.capitalize()} {_plain(d.phrase)}' ({place(d, item.config.rootpath)})"
                          for d in providers[:5])
        more = f" (+{len(providers) - 5} more: python -m support.steps)" if len(providers) > 5 else ""
        return f"{head} {intro}: {shown}{more}. Add one to the scenario or its Background."
    except Exception as err:  # noqa: BLE001 - a broken hint must not hide the real failure
        return f"(no hint on the missing fixture {argname!r}: {type(err).__name__}: {err})"


def _tag_cucumber_scenario(item: pytest.Item, rep: pytest.TestReport) -> None:
    """Name the SUT and the canonical tool in pytest-bdd's report of the scenario (read by
    ``--cucumberjson``): tags ``sut:<name>`` / ``tool:<name>`` and ``[<sut>]`` after the title."""
    from pytest_bdd.reporting import test_report_context_registry

    context = test_report_context_registry.get(rep)
    if context is not None:
        _tag_scenario_dict(item, context.scenario)


def _tag_scenario_dict(item: pytest.Item, scenario: dict[str, Any]) -> None:
    """Tags ``tool:<name>`` / ``sut:<name>`` and the title's ``[<sut>]`` on a serialized scenario."""
    callspec = getattr(item, "callspec", None)
    sut_name = callspec.params.get("sut_name") if callspec else None
    tool = item.get_closest_marker("tool")
    tags = list(scenario.get("tags", []))
    if tool is not None and f"tool:{tool.kwargs['name']}" not in tags:
        tags.append(f"tool:{tool.kwargs['name']}")
    if sut_name:
        tags.append(f"sut:{sut_name}")
        if not scenario["name"].endswith(f"[{sut_name}]"):
            scenario["name"] = f"{scenario['name']} [{sut_name}]"
    scenario["tags"] = sorted(set(tags))


#: The step a setup or teardown error of a scenario is shown as in cucumber JSON.
_PHASE_STEPS = {"setup": ("Before", "the scenario's setup (lab, SUT, fixtures)"),
                "teardown": ("After", "the scenario's teardown (cleanup, leak checks)")}


def _cucumber_steps_follow_outcome(item: pytest.Item, rep: pytest.TestReport) -> None:
    """Make pytest-bdd's cucumber JSON (``--cucumberjson``) agree with the scenario's outcome.

    pytest-bdd 9 marks a step only when it raises an ``Exception`` or ``pytest.fail``: a step
    ended by ``pytest.skip`` stayed "passed" and the steps after it were left out; a step whose
    definition is missing was left out; a failure, xfail or skip after the last step (the SUT's
    end-of-scenario check, a strict XPASS) showed every step "passed"; a setup or teardown error
    (the scenario's cleanup, the leak audit charged to the last test) was not in the file at
    all. A dashboard reading the file counted those scenarios as passed. Now: the interrupted
    step and every step after it carry the outcome ("skipped" or "failed"); an outcome after
    the steps is an ``After`` step; a setup or teardown error is a ``Before``/``After`` step,
    failed, with the error, on the scenario's element (made when there is none), by
    :class:`CucumberWriterSide`. On an xdist worker the data rides on the report
    (``raptorspec_cucumber``): pytest-bdd keeps it in a registry of the worker's process, so
    the controller's file was empty. Source: pytest_bdd/reporting.py, cucumber_json.py and
    scenario.py (pytest-bdd 9.0)."""
    try:
        from pytest_bdd.reporting import ScenarioReport, StepReport, scenario_reports_registry, \
            test_report_context_registry
    except ImportError:   # another pytest-bdd layout: its cucumber JSON as it is
        return
    if rep.when in _PHASE_STEPS:
        if rep.failed:
            scenario_report = scenario_reports_registry.get(item)
            if scenario_report is None:       # before pytest-bdd made one (a setup error)
                tpl = _template_of(item)
                callspec = getattr(item, "callspec", None)
                example = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
                try:
                    scenario_report = ScenarioReport(tpl.render(example))
                except Exception:  # noqa: BLE001 - a scenario we cannot render: no entry, as before
                    return
            scenario = scenario_report.serialize()
            scenario["steps"] = []
            _tag_scenario_dict(item, scenario)
            rep.raptorspec_cucumber = {"scenario": scenario, "name": item.name, "phase": rep.when}
        return
    context = test_report_context_registry.get(rep)
    scenario_report = scenario_reports_registry.get(item)
    if context is None or scenario_report is None or rep.when != "call":
        return
    if rep.failed or rep.skipped:
        reports = list(scenario_report.step_reports)
        if not any(r.failed for r in reports):
            if reports and reports[-1].stopped is None:    # ended by an outcome, not an Exception
                reports[-1].finalize(failed=True)
            for step in scenario_report.scenario.steps[len(reports):]:   # never reached
                later = StepReport(step=step)
                later.finalize(failed=True)
                reports.append(later)
            steps = [r.serialize() for r in reports]
            if not any(r.failed for r in reports):       # every step ran and passed
                steps.append(_after_step(scenario_report.scenario.line_number, "After",
                                         "the checks after the last step"))
            context.scenario["steps"] = steps
    if hasattr(item.config, "workerinput"):
        rep.raptorspec_cucumber = {"scenario": context.scenario, "name": context.name}


class CucumberWriterSide:
    """pytest plugin (one per config) for the process that writes the cucumber JSON (serial, or
    xdist's controller): a worker's scenario data back into pytest-bdd's registry; a scenario's
    setup or teardown error as a ``Before``/``After`` step, failed, with the error, on the
    scenario's element, or on a new one when the scenario has none (skipped or failed at setup):
    pytest-bdd writes call reports only."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)   # before pytest-bdd's cucumber writer reads the report
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        carried = getattr(report, "raptorspec_cucumber", None)
        if not isinstance(carried, dict):
            return
        try:
            from pytest_bdd.reporting import ReportContext, test_report_context_registry
        except ImportError:
            return
        phase = carried.get("phase")
        if phase is None:
            if report not in test_report_context_registry:
                test_report_context_registry[report] = ReportContext(scenario=carried["scenario"],
                                                                     name=carried["name"])
            return
        writer = getattr(self.config, "_bddcucumberjson", None)
        features = getattr(writer, "features", None)
        if not isinstance(features, dict):
            return
        keyword, name = _PHASE_STEPS[phase]
        scenario = carried["scenario"]
        for element in reversed(features.get(scenario["feature"]["filename"], {}).get("elements", [])):
            if element.get("id") == carried["name"]:
                element["steps"].append({
                    "keyword": keyword, "name": name, "line": element.get("line", 0), "match": {"location": ""},
                    "result": {"status": "failed", "duration": 0, "error_message": report.longreprtext}})
                return
        # no element yet: pytest-bdd's writer makes one from a call-like copy of this report
        import copy

        proxy = copy.copy(report)
        proxy.when = "call"
        scenario = dict(scenario, steps=[_after_step(scenario["line_number"], keyword, name)])
        test_report_context_registry[proxy] = ReportContext(scenario=scenario, name=carried["name"])
        writer.pytest_runtest_logreport(proxy)


def _after_step(line: int, keyword: str, name: str) -> dict[str, Any]:
    """A failed step report dict (pytest-bdd's shape) for what happened outside a scenario's
    steps: ``keyword`` "Before" (setup) or "After" (after the steps, teardown)."""
    return {"name": name, "type": keyword.lower(), "keyword": keyword, "line_number": line, "failed": True,
            "duration": 0}


@pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_terminal_summary")  # around the short summary
def pytest_terminal_summary_xfail_lines(terminalreporter: Any, config: pytest.Config) -> Any:
    """XFAIL lines of ``-rx`` end with the scenario's ``features/x.feature:NN`` (for the time
    of the summary only: the reason other reports read stays as it is)."""
    changed = []
    for rep in terminalreporter.stats.get("xfailed", []):
        where = dict(getattr(rep, "user_properties", [])).get("scenario")
        if where and isinstance(getattr(rep, "wasxfail", None), str):
            changed.append((rep, rep.wasxfail))
            rep.wasxfail = f"{rep.wasxfail} ({where})"
    try:
        return (yield)
    finally:
        for rep, reason in changed:
            rep.wasxfail = reason


# --------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def run_id(pytestconfig: pytest.Config) -> str:
    """A short id that every entity a scenario creates carries (``raptorspec-<run>-…``); one
    per run, shared by the xdist workers of a parallel run (:func:`support.lab.plugin.run_id_of`)."""
    from support.lab.plugin import run_id_of

    return run_id_of(pytestconfig)


@pytest.fixture(scope="session")
def oracle(lab: Lab) -> Iterator[Oracle]:
    """One gRPC channel to the lab's Velociraptor for the whole session."""
    with Oracle(lab.api_config) as o:
        yield o

