"""pytest plugin: every scenario runs once per server under test (SUT).

- Options ``--sut`` (repeatable), ``--sut-command``, ``--sut-profile``, ``--sut-timeout``;
  which SUTs a run uses, and the default, are described in :mod:`support.sut.registry`.
- ``sut_name``: autouse; parametrized (session scope, so the run is grouped by SUT) for each
  pytest-bdd scenario, with ids like ``[velociraptor-mcp-server]``; None in other tests.
- At collection, a scenario whose ``tool`` markers name a canonical tool the SUT lacks is
  skipped ("SUT <name> has no <tool>"); a known defect of the SUT's profile
  (``tool`` or ``tool::<scenario title>``) becomes ``xfail(strict=True)``.
- ``sut``: the SUT for one scenario (:class:`SutHandle`): ``call``, ``read_resource``,
  ``get_prompt``, ``list_tools``. One :class:`~support.sut.session.SutSession` per SUT
  lives for the whole run (``sut_sessions``); a dead one is restarted before a scenario.
  At teardown the scenario's MCP transcript and SUT name go to ``user_properties``.
  It needs a ``lab`` fixture (from the lab plugin) with ``api_config`` and ``dir``.
- Every SUT process is closed at the end of the session.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from support.errors import RaptorspecError

from support.sut.base import Result, Unsupported
from support.sut.install import InstallError, default_cache_dir, ensure_venv
from support.sut.profiles import NoCommand, Profile
from support.sut.registry import SutConfigError, get_profile, needs_command, resolve_suts, sut_command
from support.sut.session import SutProtocolError, SutSession

_SUTS_KEY = pytest.StashKey[list[str]]()
_START_FAILURES_LIMIT = 2


# ---------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("raptorspec-sut", "servers under test (SUT)")
    group.addoption(
        "--sut", action="append", default=[], metavar="NAME",
        help="run the scenarios against this SUT (repeatable, or comma-separated). 'all' = every "
             "SUT that can be had: the reference server and the three PyPI servers, plus megaraptor "
             "when --sut-command is given. Default: the reference server and the three PyPI servers. "
             "Known: reference, megaraptor, velociraptor-mcp-server, "
             "iflow-mcp-mgreen27-mcp-velociraptor, iflow-mcp-socfortress-velociraptor-mcp-server.",
    )
    group.addoption(
        "--sut-command", default=None, metavar="CMD",
        help='command line of a SUT the suite does not install, e.g. "python -m megaraptor_mcp" '
             "(or the path of its venv) for --sut megaraptor, or any stdio MCP server together "
             "with --sut-profile.",
    )
    group.addoption(
        "--sut-profile", default=None, metavar="PATH",
        help="a profile module (defines PROFILE, a support.sut.profiles.Profile) mapping the "
             "canonical tools onto the server started by --sut-command.",
    )
    group.addoption(
        "--sut-timeout", type=float, default=60.0, metavar="SECONDS",
        help="deadline of each MCP request to a SUT (default 60). A SUT that misses it fails "
             "the step and is restarted for the next scenario.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tool(name): the canonical MCP tool a scenario exercises")
    try:
        config.stash[_SUTS_KEY] = resolve_suts(config)
    except SutConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _suts(config: pytest.Config) -> list[str]:
    return config.stash.get(_SUTS_KEY, [])


# ---------------------------------------------------------------------------- one scenario per SUT


def _scenario_of(function: Any) -> Any:
    """The pytest-bdd scenario behind a test function (None for other tests)."""
    found = getattr(function, "__scenario__", None)
    if found is not None:
        return found
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pragma: no cover - pytest-bdd is a dependency of the suite
        return None
    try:
        return scenario_wrapper_template_registry.get(function)
    except TypeError:
        return None


@pytest.fixture(autouse=True)
def sut_name(request: pytest.FixtureRequest) -> str | None:
    """The SUT this test runs against (None outside scenarios, unless parametrized)."""
    return getattr(request, "param", None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sut_name" not in metafunc.fixturenames or _scenario_of(metafunc.function) is None:
        return
    if any(m.name == "parametrize" and "sut_name" in _argnames(m) for m in metafunc.definition.iter_markers()):
        return  # the test chose its SUTs itself
    names = _suts(metafunc.config)
    metafunc.parametrize("sut_name", names, ids=names, indirect=True, scope="session")


def _argnames(mark: pytest.Mark) -> list[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def tools_of(item: pytest.Item) -> list[str]:
    """The canonical tools a test is tagged with (``pytest.mark.tool(name=...)``)."""
    out = []
    for mark in item.iter_markers("tool"):
        name = mark.kwargs.get("name") or (mark.args[0] if mark.args else None)
        if name and name not in out:
            out.append(name)
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("sut_name") if callspec is not None else None
        if not name:
            continue
        profile = get_profile(name)
        tools = tools_of(item)
        missing = [t for t in tools if not profile.supports(t)]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"SUT {name} has no {missing[0]}"))
            continue
        scenario = _scenario_of(getattr(item, "obj", None))
        title = getattr(scenario, "name", None)
        example = callspec.params.get("_pytest_bdd_example") or {}
        # A whole-tool defect describes the tool's behaviour; a row tagged through an Examples
        # "tool" column (discovery: is it offered, typed, timely) takes only keys naming it.
        per_row = {m.kwargs.get("name") for m in item.iter_markers("tool") if m.kwargs.get("from_examples")}
        reasons = [r for t in tools if (r := profile.defect(t, title, example, whole_tool=t not in per_row))]
        if reasons:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"SUT {name}: known defect: {reasons[0]}"))


# ---------------------------------------------------------------------------- sessions


class SutSessions:
    """One SutSession per SUT name for the whole run; created on first use."""

    def __init__(self, config: pytest.Config, cache_dir: Path):
        self.config = config
        self.cache_dir = cache_dir
        self.sessions: dict[str, SutSession] = {}
        self.failures: dict[str, list[str]] = {}

    def command_for(self, name: str) -> list[str] | None:
        """--sut-command applies to the SUT the suite cannot install, or to a lone --sut."""
        command = sut_command(self.config)
        if not command:
            return None
        suts = _suts(self.config)
        profile = get_profile(name)
        if needs_command(profile) or suts == [name]:
            return command
        return None

    def get(self, name: str, lab: Any) -> SutSession:
        failures = self.failures.setdefault(name, [])
        if len(failures) >= _START_FAILURES_LIMIT:
            pytest.fail(f"SUT {name} failed to start {len(failures)} times; not trying again. Last time:\n"
                        f"{failures[-1]}", pytrace=False)
        session = self.sessions.get(name)
        if session is None:
            session = self._create(name, lab)
            self.sessions[name] = session
        if session.alive() is not None:
            try:
                session.restart()
            except RaptorspecError as exc:
                failures.append(str(exc))
                raise
        failures.clear()
        return session

    def _create(self, name: str, lab: Any) -> SutSession:
        profile = get_profile(name)
        command = self.command_for(name)
        venv = None
        if command is None and profile.installable:
            try:
                venv = ensure_venv(profile, self.cache_dir)
            except InstallError as exc:
                self.failures[name] = [str(exc)] * _START_FAILURES_LIMIT
                pytest.fail(str(exc), pytrace=False)
        try:
            argv, env = profile.command(venv, Path(lab.api_config), command)
        except NoCommand as exc:
            pytest.fail(str(exc), pytrace=False)
        timeout = float(self.config.getoption("sut_timeout") or 60.0)
        return SutSession(name, argv, env, Path(lab.dir) / "suts" / name,
                          start_timeout=max(60.0, timeout), call_timeout=timeout)

    def close_all(self) -> None:
        for session in self.sessions.values():
            session.close()


@pytest.fixture(scope="session")
def sut_cache_dir() -> Path:
    """Where SUT venvs are installed (``~/.cache/raptorspec/suts``); override to move them."""
    return default_cache_dir()


@pytest.fixture(scope="session")
def sut_sessions(request: pytest.FixtureRequest, sut_cache_dir: Path) -> Iterator[SutSessions]:
    """The run's SUT sessions; all closed (no process left) when the session ends."""
    sessions = SutSessions(request.config, sut_cache_dir)
    request.config.stash[_SESSIONS_KEY] = sessions
    try:
        yield sessions
    finally:
        sessions.close_all()


_SESSIONS_KEY = pytest.StashKey[SutSessions]()


def pytest_unconfigure(config: pytest.Config) -> None:
    sessions = config.stash.get(_SESSIONS_KEY, None)
    if sessions is not None:
        sessions.close_all()


# ---------------------------------------------------------------------------- the sut fixture


class SutHandle:
    """What a step sees of the SUT: canonical capabilities in, normalised Results out.

    A canonical tool (or argument) the SUT lacks skips the step with the reason. A JSON-RPC
    error from the SUT is a not-ok Result (its message in ``error``); a hang, crash or
    corrupted stream raises the session's error (the step fails, naming the SUT).
    """

    def __init__(self, name: str, profile: Profile, session: SutSession):
        self.name = name
        self.profile = profile
        self.session = session

    def supports(self, tool: str) -> bool:
        return self.profile.supports(tool)

    def call(self, tool: str, /, **kwargs: Any) -> Result:
        try:
            sut_tool, arguments = self.profile.map_call(tool, kwargs)
        except Unsupported as exc:
            pytest.skip(str(exc))
        try:
            reply = self.session.call_tool(sut_tool, arguments)
        except SutProtocolError as exc:
            return Result(ok=False, error=exc.message, tool=sut_tool, raw={"code": exc.code})
        return self.profile.read_reply(tool, reply, sut_tool)

    def read_resource(self, canonical_uri: str) -> Result:
        try:
            uri = self.profile.resource_uri(canonical_uri)
        except Unsupported as exc:
            pytest.skip(str(exc))
        try:
            reply = self.session.read_resource(uri)
        except SutProtocolError as exc:
            return Result(ok=False, error=exc.message, tool=uri, raw={"code": exc.code})
        result = self.profile.read_resource_reply(reply)
        result.tool = uri
        return result

    def get_prompt(self, name: str, /, **arguments: Any) -> Result:
        try:
            own = self.profile.prompt_name(name)
        except Unsupported as exc:
            pytest.skip(str(exc))
        try:
            reply = self.session.get_prompt(own, {k: v for k, v in arguments.items() if v is not None})
        except SutProtocolError as exc:
            return Result(ok=False, error=exc.message, tool=own, raw={"code": exc.code})
        result = self.profile.read_prompt_reply(reply)
        result.tool = own
        return result

    def list_tools(self) -> list[dict[str, Any]]:
        return self.session.list_tools()

    def __repr__(self) -> str:
        return f"<SUT {self.name}>"


@pytest.fixture
def sut(request: pytest.FixtureRequest, sut_name: str | None, lab: Any, sut_sessions: SutSessions
        ) -> Iterator[SutHandle]:
    """The server under test of this scenario, started (or restarted) and ready."""
    if not sut_name:
        pytest.fail("the sut fixture runs in scenarios (one per SUT); elsewhere parametrize "
                    "sut_name with indirect=True", pytrace=False)
    session = sut_sessions.get(sut_name, lab)
    handle = SutHandle(sut_name, get_profile(sut_name), session)
    try:
        yield handle
    finally:
        request.node.user_properties.append(("mcp_transcript", session.take_transcript()))
        request.node.user_properties.append(("sut", sut_name))
