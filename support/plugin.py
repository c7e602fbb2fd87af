"""The suite's core pytest plugin: options, tags, the lab and oracle fixtures, live progress.

Every setting is a session fixture you can override in a conftest (pytest-docker style):
``lab_mode``, ``velociraptor_binary``, ``lab``, ``oracle``, ``run_id`` and, for docker mode,
pytest-docker's ``docker_compose_file``, ``docker_compose_command``,
``docker_compose_project_name``, ``docker_setup`` and ``docker_cleanup``.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from support import certs
from support.errors import RaptorspecError
from support.lab import EmbeddedLab, ExternalLab, Lab, LabError
from support.oracle import Oracle

ROOT = Path(__file__).resolve().parent.parent
KNOWN_FLAG_TAGS = {"slow", "destructive", "security", "bad_input"}
KNOWN_OSES = {"linux", "windows", "macos"}
_UNKNOWN_TAGS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("raptorspec", "Raptorspec living spec")
    g.addoption("--lab", choices=["embedded", "docker", "external"], default="embedded",
                help="where Velociraptor runs: embedded local processes (default), docker compose "
                     "(docker-compose.test.yml), or external (your deployment, with --api-config)")
    g.addoption("--api-config", metavar="PATH", help="api_client.yaml of an external lab (with --lab external)")
    g.addoption("--allow-destructive", action="store_true",
                help="run @destructive scenarios against an external lab (never done by default)")
    g.addoption("--clients", type=int, default=1, help="number of Linux clients the embedded/docker lab starts")
    g.addoption("--cert-min-days", type=float, default=7.0,
                help="fail at session start when a lab certificate expires within this many days (default 7)")
    g.addoption("--keep-lab", action="store_true", help="keep the embedded lab's directory (configs, logs) after the run")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNKNOWN_TAGS] = []
    if config.getoption("--lab") == "external" and not config.getoption("--api-config"):
        raise pytest.UsageError("--lab external needs --api-config PATH (your api_client.yaml)")
    if config.getoption("--clients") < 1:
        raise pytest.UsageError("--clients must be at least 1")


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
def lab_mode(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--lab")


@pytest.fixture(scope="session")
def velociraptor_binary() -> Path:
    """The Velociraptor binary: $RAPTORSPEC_VELOCIRAPTOR, the cached build, or a fresh build."""
    from support.provision import ProvisionError, ensure_binary

    try:
        return ensure_binary()
    except ProvisionError as exc:
        pytest.exit(f"Velociraptor binary unavailable: {exc}", returncode=3)


_LAB_KEY = pytest.StashKey[Lab]()


def _check_certs(lab: Lab, config: pytest.Config) -> None:
    try:
        certs.check(lab.certificates(), min_days=config.getoption("--cert-min-days"), mode=lab.mode)
    except certs.CertificateProblem as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, lab_mode: str, pytestconfig: pytest.Config) -> Iterator[Lab]:
    """The live lab for this session (one per session; torn down at its end)."""
    if lab_mode == "external":
        try:
            ext = ExternalLab(Path(pytestconfig.getoption("--api-config")))
        except (OSError, ValueError) as exc:
            pytest.exit(f"--api-config: {exc}", returncode=3)
        try:
            _check_certs(ext, pytestconfig)
            ext.__enter__()
        except LabError as exc:
            ext.close()
            pytest.exit(f"external lab unusable: {exc}", returncode=3)
        except BaseException:
            ext.close()
            raise
        pytestconfig.stash[_LAB_KEY] = ext
        try:
            yield ext
        finally:
            ext.close()
        return
    if lab_mode == "docker":
        pytestconfig.stash[_LAB_KEY] = request.getfixturevalue("docker_lab")
        yield pytestconfig.stash[_LAB_KEY]
        return
    binary = request.getfixturevalue("velociraptor_binary")
    try:
        embedded = EmbeddedLab(binary, clients=pytestconfig.getoption("--clients"),
                               keep=pytestconfig.getoption("--keep-lab"))
        embedded.__enter__()
    except RaptorspecError as exc:
        pytest.exit(f"the embedded lab did not start: {exc}", returncode=3)
    pytestconfig.stash[_LAB_KEY] = embedded
    try:
        _check_certs(embedded, pytestconfig)
        yield embedded
    finally:
        embedded.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lab = config.stash.get(_LAB_KEY, None)
    timings = getattr(lab, "timings", None)
    if timings:
        figures = ", ".join(f"{k.replace('_', ' ')} {v:.1f}s" for k, v in timings.items())
        terminalreporter.write_line(f"raptorspec lab ({lab.mode}): {figures}")


@pytest.fixture(scope="session")
def oracle(lab: Lab) -> Iterator[Oracle]:
    """One gRPC channel to the lab's Velociraptor for the whole session."""
    with Oracle(lab.api_config) as o:
        yield o

