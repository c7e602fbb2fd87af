"""pytest plugin: every scenario runs once per server under test (SUT).

- Options ``--sut`` (repeatable), ``--sut-command``, ``--sut-url``, ``--sut-profile``,
  ``--sut-timeout``, ``--sut-max-reply``, ``--sut-drain``; which SUTs a run uses, and the default, are
  described in :mod:`support.sut.selection`. ``--sut-url URL`` is ``--sut-command``'s twin:
  it says how to *reach* the server (Streamable HTTP at URL instead of a process on stdio),
  never what it is; the profile (the tool mapping) is chosen exactly as with
  ``--sut-command``: ``--sut NAME --sut-url URL`` = NAME's profile at URL; ``--sut-profile
  PATH --sut-url URL`` = that profile at URL; ``--sut-url URL`` alone = the default
  profile for a server the suite does not install (megaraptor). The two cannot be combined.
- ``sut_name``: autouse; parametrized (session scope, so the run is grouped by SUT) for each
  pytest-bdd scenario, with ids like ``[velociraptor-mcp-server]``; None in other tests.
- At collection, a scenario whose ``tool`` markers name a canonical tool the SUT lacks is
  skipped ("SUT <name> has no <tool>"); a known defect of the SUT's profile
  (``tool`` or ``tool::<scenario title>``) becomes ``xfail(strict=True)``.
- ``sut``: the SUT for one scenario (:class:`SutHandle`): ``call``, ``read_resource``,
  ``get_prompt``, ``list_tools``. One :class:`~support.sut.session.SutSession` per SUT
  lives for the whole run (``sut_sessions``). At teardown the scenario's MCP transcript and
  SUT name go to ``user_properties``.
- **A SUT's failure is charged to the scenario during which it happened**: at the end of
  each scenario's steps (after the scenario's ledger has removed what it made, so the
  window mostly passes during that cleanup), :meth:`SutSession.check_quiet` waits until a short drain
  (``--sut-drain``, default 0.5 s after the last reply) has passed and fails *that* scenario if the
  SUT wrote non-protocol output after a correct reply or died. A session whose failure was
  already charged is restarted for the next scenario (the transcript says so). A session
  found dead *before* a scenario uses it, with nothing charged (it died between two
  scenarios, after the previous one's end check passed), fails the scenario that finds it,
  saying so: the previous scenario's verdict is already out and was right when given, and
  running this one on a silently restarted server would hide the death.
  It needs a ``lab`` fixture (from the lab plugin) with ``api_config`` and ``dir``.
- Under pytest-xdist each worker has its own sessions (one process per SUT per worker,
  started when the worker's first scenario needs it, in ``<lab dir>/suts/<worker>/<name>``),
  and each worker runs the end-of-run checks below on its own.
- Every SUT process, and every process it started, is ended at the end of the session; a
  late fault of the last session or a process that could not be ended fails the run
  (an error at teardown of the last test, naming it: :class:`SutLeftProcesses`).
"""
from __future__ import annotations

import argparse

from pathlib import Path
from typing import Any, Iterator

import pytest

from support.bdd import raise_deferred_usage_errors, usage_errors_deferred
from support.errors import RaptorspecError, SutError

from support.sut.base import Result, Unsupported
from support.sut.install import InstallError, default_cache_dir, ensure_venv
from support.sut.profiles import NoCommand, Profile
from support.sut.selection import SutConfigError, get_profile, needs_command, resolve_suts, sut_command
from support.sut.session import DEFAULT_DRAIN, DEFAULT_MAX_REPLY, SutProtocolError, SutSession

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
        "--sut-url", default=None, metavar="URL",
        help="reach the SUT over Streamable HTTP at URL (e.g. http://127.0.0.1:8000/mcp) instead of "
             "starting it on stdio. The profile is chosen as for --sut-command: --sut NAME --sut-url URL "
             "is NAME's tool mapping at URL; with --sut-profile, that profile; alone, megaraptor's. "
             "Not combinable with --sut-command.",
    )
    group.addoption(
        "--sut-max-reply", type=_byte_size, default=DEFAULT_MAX_REPLY, metavar="BYTES",
        help="longest MCP message a SUT may send (default 256MiB; suffixes KiB, MiB, GiB). A longer "
             "one fails the step at once, saying so.",
    )
    group.addoption(
        "--sut-drain", type=_seconds(0, inclusive=True), default=DEFAULT_DRAIN, metavar="SECONDS",
        help="at each scenario's end, how long after the SUT's last reply to wait for late "
             f"non-protocol output before the scenario is declared clean (default {DEFAULT_DRAIN:g}).",
    )
    group.addoption(
        "--sut-timeout", type=_seconds(0, inclusive=False), default=60.0, metavar="SECONDS",
        help="deadline of each MCP request to a SUT (default 60). A SUT that misses it fails "
             "the step and is restarted for the next scenario.",
    )


def _byte_size(text: str) -> int:
    """``"256MiB"`` → 268435456; plain digits are bytes. Units: KiB, MiB, GiB (also K, M, G).

    Raises ``argparse.ArgumentTypeError`` (pytest shows its text as the usage error)."""
    raw = text.strip()
    units = {"kib": 1 << 10, "k": 1 << 10, "mib": 1 << 20, "m": 1 << 20, "gib": 1 << 30, "g": 1 << 30, "b": 1}
    number = raw.rstrip("KkMmGgIiBb")
    unit = raw[len(number):].strip().lower() or "b"
    if unit not in units or not number.strip():
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256MiB)")
    try:
        size = int(float(number) * units[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256MiB)") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text!r}")
    return size


def _seconds(minimum: float, inclusive: bool) -> Any:
    """An argparse type: a number of seconds ``> minimum`` (``>=`` when ``inclusive``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(
                f"must be {'at least' if inclusive else 'more than'} {minimum:g} seconds, not {text!r}")
        return value
    parse.__name__ = "seconds"
    return parse


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tool(name): the canonical MCP tool a scenario exercises")
    with usage_errors_deferred(config):  # raised at session start: see support.bdd
        _check_selection(config)


def _check_selection(config: pytest.Config) -> None:
    try:
        suts = config.stash[_SUTS_KEY] = resolve_suts(config)
    except SutConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    # the rule SutSessions._applies follows: a SUT the suite can neither install nor start
    # (needs_command), or a lone --sut NAME; the bundled reference server is started by the suite
    for option in ("sut_url", "sut_command"):
        given = config.getoption(option, None)
        if given and len(suts) != 1 and not any(needs_command(get_profile(n, config)) for n in suts):
            flag = "--" + option.replace("_", "-")
            raise pytest.UsageError(
                f"{flag} {given} would reach none of {', '.join(suts)}: it applies to the one SUT the suite "
                f"neither installs nor bundles (e.g. --sut megaraptor), or to a lone --sut NAME")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    raise_deferred_usage_errors(session.config)


def _suts(config: pytest.Config) -> list[str]:
    return config.stash.get(_SUTS_KEY, [])


# ---------------------------------------------------------------------------- one scenario per SUT


def _scenario_of(function: Any) -> Any:
    """The pytest-bdd scenario behind a test function (None for other tests)."""
    from support.bdd import scenario_of

    return scenario_of(function)


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
        profile = get_profile(name, config)
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
            item.stash[_KNOWN_DEFECT] = reasons[0]


_KNOWN_DEFECT = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside pytest's skipping wrapper: it sees the xfail verdict
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A known defect (a strict xfail) covers what the SUT does wrong: the scenario's steps and
    a fault of the SUT found at the scenario's start or end (a :class:`SutError`: late output,
    a crash). pytest's xfail would also swallow any error at setup or teardown; an error of the
    suite there (the lab, the oracle, the leak audit of the run, which pytest charges to the
    last test's teardown) is reported as the error it is, never as the SUT's known defect."""
    rep = yield
    if (call.when != "call" and call.excinfo is not None and hasattr(rep, "wasxfail")
            and _KNOWN_DEFECT in item.stash and not isinstance(call.excinfo.value, SutError)):
        rep.outcome = "failed"
        del rep.wasxfail
        rep.sections.append(("raptorspec", f"not covered by the known defect ({item.stash[_KNOWN_DEFECT]}): "
                                           f"an error of the suite at {call.when}"))
    return rep


# ---------------------------------------------------------------------------- sessions


class SutSessions:
    """One SutSession per SUT name for the whole run; created on first use."""

    def __init__(self, config: pytest.Config, cache_dir: Path):
        self.config = config
        self.cache_dir = cache_dir
        self.sessions: dict[str, SutSession] = {}
        self.failures: dict[str, list[str]] = {}
        self.last_user: dict[str, str] = {}     # SUT name -> node id of the last scenario that used it

    def _applies(self, name: str) -> bool:
        """--sut-command / --sut-url apply to a SUT the suite can neither install nor start itself
        (neither on PyPI nor bundled, e.g. megaraptor), or to a lone --sut."""
        return needs_command(get_profile(name, self.config)) or _suts(self.config) == [name]

    def command_for(self, name: str) -> list[str] | None:
        """The --sut-command for this SUT, or None (see :meth:`_applies`)."""
        command = sut_command(self.config)
        return command if command and self._applies(name) else None

    def url_for(self, name: str) -> str | None:
        """The --sut-url for this SUT, or None (the same rule as --sut-command)."""
        url = self.config.getoption("sut_url", None)
        return url if url and self._applies(name) else None

    def get(self, name: str, lab: Any, user: str = "") -> SutSession:
        """The running session of SUT ``name`` for the scenario ``user`` (a node id).

        Starts it on first use. A session whose failure was already charged to a scenario
        is restarted (noted in the transcript); one found dead with nothing charged fails
        this scenario, saying when it died (see the module docstring).
        """
        failures = self.failures.setdefault(name, [])
        if len(failures) >= _START_FAILURES_LIMIT:
            pytest.fail(f"SUT {name} failed to start {len(failures)} times; not trying again. Last time:\n"
                        f"{failures[-1]}", pytrace=False)
        session = self.sessions.get(name)
        if session is None:
            session = self._create(name, lab)
            self.sessions[name] = session
        why = session.alive() if session.starts else None
        previous = self.last_user.get(name)
        self.last_user[name] = user
        session.user = user
        if why is not None and not session.reported:
            session.reported = True   # charged here; the next scenario restarts it
            pytest.fail(
                f"{session._describe(f'was found dead before this scenario used it: {why}')}\n"
                f"It passed the end-of-scenario check ({session.drain:g}s after its last reply) of the last "
                f"scenario that used it ({previous or 'none'}), so this happened between scenarios. "
                f"It is restarted for the next one.",
                pytrace=False)
        if why is not None or not session.starts:
            try:
                if session.starts:
                    session.restart(reason=f"{why} (charged to {previous or 'an earlier scenario'})")
                else:
                    session.start()
            except RaptorspecError as exc:
                failures.append(str(exc))
                raise
        failures.clear()
        return session

    def _create(self, name: str, lab: Any) -> SutSession:
        timeout = float(self.config.getoption("sut_timeout"))
        max_reply = int(self.config.getoption("sut_max_reply", None) or DEFAULT_MAX_REPLY)
        drain = self.config.getoption("sut_drain", None)
        drain = DEFAULT_DRAIN if drain is None else float(drain)
        # one process per SUT per xdist worker, each in its own directory of the shared lab
        worker = str(getattr(self.config, "workerinput", {}).get("workerid", ""))
        workdir = Path(lab.dir) / "suts" / worker / name if worker else Path(lab.dir) / "suts" / name
        url = self.url_for(name)
        if url:
            return SutSession(name, [], {}, workdir, url=url, start_timeout=max(60.0, timeout),
                              call_timeout=timeout, max_reply=max_reply, drain=drain)
        profile = get_profile(name, self.config)
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
        return SutSession(name, argv, env, workdir, start_timeout=max(60.0, timeout), call_timeout=timeout,
                          max_reply=max_reply, drain=drain)

    def close_all(self) -> list[SutError]:
        """Check each session one last time, end it and all it started; return what went wrong.

        The list holds a late fault of a session not yet charged to a scenario
        (:class:`SutStreamError` / :class:`SutCrashed`) and :class:`SutLeftProcesses` for
        processes that outlived their SUT. Idempotent.
        """
        problems: list[SutError] = []
        for session in self.sessions.values():
            try:
                session.check_quiet(drain=0, when="the run (after the last scenario that used it)")
            except SutError as exc:
                problems.append(exc)
            session.close()
            left = session.left_processes_error()
            if left is not None:
                session.escaped = []
                problems.append(left)
        return problems


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
        problems = sessions.close_all()
    if problems:
        first = problems[0]
        raise type(first)("\n\n".join(str(p) for p in problems))


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

    :meth:`call` is the one entry a When uses. ``observer``, when set (the scenario's ledger
    sets itself, see :func:`sut`), sees every call: ``observer(call, tool, kwargs)`` must run
    ``call(tool, **kwargs)`` and return its Result, recording what the call created.
    """

    def __init__(self, name: str, profile: Profile, session: SutSession):
        self.name = name
        self.profile = profile
        self.session = session
        self.observer: Any = None

    def supports(self, tool: str) -> bool:
        return self.profile.supports(tool)

    def call(self, tool: str, /, **kwargs: Any) -> Result:
        """Call canonical ``tool`` with canonical arguments; the normalised Result."""
        if self.observer is not None:
            return self.observer(self._call, tool, kwargs)
        return self._call(tool, **kwargs)

    def _call(self, tool: str, /, **kwargs: Any) -> Result:
        try:
            sut_tool, arguments = self.profile.map_call(tool, kwargs)
        except Unsupported as exc:
            pytest.skip(str(exc))
        try:   # (timed by the session: support.timings)
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
    session = sut_sessions.get(sut_name, lab, request.node.nodeid)
    handle = SutHandle(sut_name, get_profile(sut_name, request.config), session)
    try:  # the scenario's ledger observes every call (what it created is removed at the end)
        ledger = request.getfixturevalue("ledger")
        handle.observer = ledger.observe
        request.node.stash[_LEDGER_OF_ITEM] = ledger
    except pytest.FixtureLookupError:  # a suite without the ledger plugin (the frame's own tests)
        pass
    request.node.stash[_SESSION_OF_ITEM] = session
    try:
        yield handle
    finally:
        request.node.user_properties.append(("mcp_transcript", session.take_transcript()))
        request.node.user_properties.append(("sut", sut_name))


_SESSION_OF_ITEM = pytest.StashKey[SutSession]()
_LEDGER_OF_ITEM = pytest.StashKey[Any]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Charge the scenario with what its SUT did up to a short drain after its last reply."""
    __tracebackhide__ = True
    try:
        result = yield
    except BaseException:
        session = item.stash.get(_SESSION_OF_ITEM, None)
        if session is not None:
            try:   # the scenario failed already; a SUT fault it also caused is charged to it
                session.check_quiet(drain=0)
            except SutError as exc:
                item.add_report_section("call", "sut", f"The SUT also failed during this scenario:\n{exc}")
            session.reported = session.reported or session.alive() is not None
        raise
    session = item.stash.get(_SESSION_OF_ITEM, None)
    if session is not None:
        _clean_early(item)
        session.check_quiet()
        _check_the_tagged_tool_was_called(item, session)
    return result


def _tools_called(item: pytest.Item, session: SutSession) -> set[str]:
    """The canonical tools this scenario called: those its steps called through the ``sut``
    fixture (the ledger's record) and those in the session's transcript of the scenario
    (``tools/call`` of a step that talks to the session itself), named back through the
    SUT's profile."""
    ledger = item.stash.get(_LEDGER_OF_ITEM, None)
    called = {tool for tool, _ in getattr(ledger, "calls", ())}
    names = {(entry.get("request") or {}).get("name") for entry in list(session.transcript)
             if entry.get("method") == "tools/call"}
    callspec = getattr(item, "callspec", None)
    sut_name = callspec.params.get("sut_name") if callspec else None
    if names and sut_name:
        try:
            profile = get_profile(sut_name, item.config)
        except Exception:  # noqa: BLE001 - the scenario ran on this profile; a lookup problem is not its verdict
            return called
        called |= {canonical for canonical, entry in profile.tools.items() if entry.tool in names}
    return called


def _check_the_tagged_tool_was_called(item: pytest.Item, session: SutSession) -> None:
    """A scenario that passed calling tools, but not the tool its ``@tool:`` tag (or Examples
    column ``tool``) names, fails with :class:`support.errors.ToolNotCalled`. Resources,
    prompts and scenarios that call no tool (discovery reads ``tools/list``) are not checked."""
    from support.errors import ToolNotCalled

    mark = item.get_closest_marker("tool")
    tagged = mark.kwargs.get("name") if mark is not None else None
    if not tagged or ":" in tagged:
        return
    called = _tools_called(item, session)
    if called and tagged not in called:
        from support.bdd import scenario_of

        tpl = scenario_of(item)
        where = f"{tpl.feature.rel_filename}:{tpl.line_number}" if tpl is not None else item.nodeid
        raise ToolNotCalled(
            f"Scenario {getattr(tpl, 'name', item.name)!r} ({where}) is tagged @tool:{tagged} but never called "
            f"{tagged}; it called {', '.join(sorted(called))}. The matrix files its verdict under {tagged}: "
            f"tag it with the tool it exercises (@tool:{sorted(called)[0]}…), or call {tagged} in a step.")


def _clean_early(item: pytest.Item) -> None:
    """The scenario's ledger cleanup, run before the end-of-scenario check so that the drain
    window (``--sut-drain`` after the last reply) passes while Velociraptor removes what the
    scenario made, instead of after; what it cannot remove still fails the scenario's
    teardown (:meth:`support.ledger.Ledger.clean_early`). Nothing without a ledger."""
    ledger = item.stash.get(_LEDGER_OF_ITEM, None)
    early = getattr(ledger, "clean_early", None)
    if callable(early):
        early()
