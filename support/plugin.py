"""The suite's core pytest plugin: options, tags, the oracle fixture, live progress.

The lab's options and fixtures (``lab``, ``lab_mode``, ``velociraptor_binary``, …) are in
:mod:`support.lab.plugin`, loaded with this one. Every setting is a session fixture you can
override in a conftest (pytest-docker style): ``run_id``, ``oracle`` and the lab's.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.lab import Lab
from support.oracle import Oracle

pytest_plugins = ["support.lab.plugin"]  # the lab's options and fixtures

ROOT = Path(__file__).resolve().parent.parent
KNOWN_FLAG_TAGS = {"slow", "destructive", "security", "bad_input"}
KNOWN_OSES = {"linux", "windows", "macos"}
_UNKNOWN_TAGS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("raptorspec", "Raptorspec living spec")
    g.addoption("--allow-destructive", action="store_true",
                help="run @destructive scenarios against an external lab (never done by default)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNKNOWN_TAGS] = []


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
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    return scenario_wrapper_template_registry.get(getattr(item, "obj", None))


@pytest.hookimpl(tryfirst=True)  # before the SUT plugin reads the tool marks
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    from support.report.canonical import matrix_rows

    problems = []
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
            tpl = _template_of(item)
            where = f"{tpl.feature.filename}:{tpl.line_number}" if tpl else item.nodeid
            problems.append(
                f"{where}: unknown tag @{mark.kwargs['tag']} (known: @tool:<canonical tool, resource:… or prompt:…>, "
                f"@os:{'|'.join(sorted(KNOWN_OSES))}, {', '.join('@' + t for t in sorted(KNOWN_FLAG_TAGS))})")
    if problems:
        raise pytest.UsageError("\n".join(sorted(set(problems))))
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


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    rep = _tw(request.config)
    request.node.stash[_STEP_T] = time.monotonic()
    if rep:
        sut = getattr(request.node, "callspec", None)
        sut_name = sut.params.get("sut_name") if sut else None
        rep.ensure_newline()
        rep.write_line(f"Feature: {feature.name}", bold=True)
        rep.write_line(f"  Scenario: {scenario.name}" + (f"  [{sut_name}]" if sut_name else ""), cyan=True)



def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any) -> None:
    request.node.stash[_STEP_T] = time.monotonic()


def _step_line(request: pytest.FixtureRequest, step: Any, status: str, **color: bool) -> None:
    rep = _tw(request.config)
    if rep:
        took = time.monotonic() - request.node.stash.get(_STEP_T, time.monotonic())
        rep.write_line(f"    {step.keyword} {step.name}  ({status}, {took:.1f}s)", **color)


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: Any) -> None:
    _step_line(request, step, "passed", green=True)


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any,
                          step_func_args: Any, exception: BaseException) -> None:
    _step_line(request, step, f"FAILED: {type(exception).__name__}", red=True)


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                                      exception: BaseException) -> None:
    _step_line(request, step, f"NOT BOUND: no step definition matches ({feature.rel_filename}:{step.line_number})", red=True)


# --------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id that every entity a scenario creates carries (``raptorspec-<run>-…``)."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def oracle(lab: Lab) -> Iterator[Oracle]:
    """One gRPC channel to the lab's Velociraptor for the whole session."""
    with Oracle(lab.api_config) as o:
        yield o

