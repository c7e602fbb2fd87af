"""The reference server when Velociraptor fails (issue 14 §4, the F class of bench/MUTATION.md).

The living spec cannot make a shared lab fail on cue, so the code the reference runs only
when Velociraptor itself fails (a refused gRPC stream, an unreachable API, a query that
errors while a resource is read, a config that cannot be read at start-up, a flow whose
collection panicked) is checked here, without a lab: a fake stands in for Velociraptor —
either the :class:`reference.velo.Velociraptor` object the server awaits (``query``), or the
gRPC stub under it (``Query``). Each test names the mutant(s) of bench/MUTATION.md it kills.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from reference import __main__ as ref_main
from reference.server import Reference
from reference.velo import (DeadlineExceeded, QueryResult, Unreachable, Velociraptor, VelociraptorError,
                            VQLFailure, called_names, error_lines, load_api_config)

INTERNAL_ERROR = -32603  # JSON-RPC 2.0: "Internal error"
CLIENT = {"client_id": "C.1", "os_info": {"system": "linux", "hostname": "h"}, "labels": []}


class _Failing:
    """Stands in for Velociraptor: answers the queries whose VQL holds a key of ``rows``
    with those rows, and fails every other query with ``error``."""

    def __init__(self, error: VelociraptorError, rows: dict[str, list[dict[str, Any]]] | None = None):
        self.error = error
        self.rows = rows or {}

    async def query(self, vql: str, env: Any = None, **kw: Any) -> QueryResult:
        for needle, rows in self.rows.items():
            if needle in vql:
                return QueryResult(rows=rows)
        raise self.error


def _run(coro):
    return asyncio.run(coro)


# ------------------------------------------------------------- resources read while Velociraptor fails


@pytest.mark.parametrize("page, args, what", [
    ("clients_page", (), "reading the clients: "),                       # _page (#7)
    ("artifacts_page", (), "reading the artifacts: "),                   # _page (#7)
    ("server_info_page", (), "reading the server information: "),        # _page (#7)
    ("hunt_page", ("H.1",), "reading hunt H.1: "),
    ("hunt_results_page", ("H.1",), "reading hunt H.1: "),               # #11
    ("artifact_page", ("Linux.Sys.Users",), "reading artifact Linux.Sys.Users: "),  # #25
])
def test_a_resource_velociraptor_fails_to_give_is_an_internal_error_naming_what_and_why(page, args, what):
    ref = Reference(_Failing(Unreachable("the Velociraptor API at 127.0.0.1:1 is unreachable: down")))
    with pytest.raises(MCPError) as err:
        _run(getattr(ref, page)(*args))
    assert err.value.error.code == INTERNAL_ERROR, f"{page}: code {err.value.error.code!r}, not -32603"
    assert err.value.error.message.startswith(what), err.value.error.message
    assert "unreachable: down" in err.value.error.message


def test_hunt_results_that_fail_after_the_hunt_was_found_are_an_internal_error():
    ref = Reference(_Failing(VelociraptorError("refused"), {"FROM hunts(": [{"hunt_id": "H.1"}]}))
    with pytest.raises(MCPError) as err:
        _run(ref.hunt_results_page("H.1"))
    assert err.value.error.code == INTERNAL_ERROR
    assert err.value.error.message == "reading the results of hunt H.1: refused"


# ------------------------------------------------------------- a flow whose collection panicked (#14)


def test_a_flows_backtrace_is_reported_as_velociraptor_records_it():
    flow = {"session_id": "F.1", "state": "ERROR", "status": "panic in plugin",
            "backtrace": "goroutine 1 [running]:\nmain.main()", "request": {"artifacts": ["X"]}}
    ref = Reference(_Failing(VelociraptorError("unexpected query"),
                             {"FROM clients(": [CLIENT], "FROM flows(": [flow]}))
    reply = _run(ref.get_flow_status("C.1", "F.1"))
    assert reply.backtrace == flow["backtrace"]
    assert reply.status == "panic in plugin"


def test_a_flow_without_backtrace_reports_an_empty_one():
    flow = {"session_id": "F.1", "state": "FINISHED", "request": {}}
    ref = Reference(_Failing(VelociraptorError("unexpected query"),
                             {"FROM clients(": [CLIENT], "FROM flows(": [flow]}))
    reply = _run(ref.get_flow_status("C.1", "F.1"))
    assert reply.backtrace == "" and reply.status == ""


# ------------------------------------------------------------- the gRPC stream under Velociraptor.query


class _RpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str):
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _Call:
    """A server-streaming call that raises ``error`` before any response."""

    def __init__(self, error: grpc.RpcError):
        self.error = error
        self.cancelled = False

    def __iter__(self):
        raise self.error

    def cancel(self) -> None:
        self.cancelled = True


class _Stub:
    def __init__(self, error: grpc.RpcError):
        self.calls: list[_Call] = []
        self.error = error

    def Query(self, request, timeout):  # noqa: N802 (the gRPC method's name)
        call = _Call(self.error)
        self.calls.append(call)
        return call


def _velo_with(error: grpc.RpcError) -> Velociraptor:
    """A Velociraptor whose gRPC stub fails every Query with ``error`` (no channel, no config)."""
    import threading

    velo = object.__new__(Velociraptor)
    velo.target = "127.0.0.1:1"
    velo.deadline = 5.0
    velo._closed = threading.Event()
    velo._stub = _Stub(error)
    return velo


@pytest.mark.parametrize("code, raised, words", [
    (grpc.StatusCode.UNAVAILABLE, Unreachable, "the Velociraptor API at 127.0.0.1:1 is unreachable: gone"),  # #33, #45
    (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceeded, "Velociraptor did not answer within 5 s"),
    (grpc.StatusCode.CANCELLED, VelociraptorError, "Velociraptor refused the query (CANCELLED): gone"),  # #45
    (grpc.StatusCode.PERMISSION_DENIED, VelociraptorError,
     "Velociraptor refused the query (PERMISSION_DENIED): gone"),  # #33, #45
])
def test_a_grpc_error_becomes_the_error_that_names_it(code, raised, words):
    velo = _velo_with(_RpcError(code, "gone"))
    with pytest.raises(VelociraptorError) as err:
        velo._run("SELECT 1 FROM scope()", {}, 5.0, None, None)
    assert type(err.value) is raised, f"{code.name}: {type(err.value).__name__}: {err.value}"
    assert str(err.value) == words
    assert velo._stub.calls[0].cancelled, "the stream was not cancelled after the error"


# ------------------------------------------------------------- start-up with a config it cannot use (#31, #36)


def test_a_config_that_cannot_be_read_is_a_valueerror_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere" / "api_client.yaml"
    with pytest.raises(ValueError) as err:
        load_api_config(missing)
    assert str(err.value) == f"cannot read the API client config {missing}: No such file or directory"


def test_a_config_that_is_not_yaml_or_lacks_keys_is_a_valueerror(tmp_path):
    bad = tmp_path / "api_client.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_api_config(bad)
    bad.write_text("ca_certificate: x\n")
    with pytest.raises(ValueError, match="lacks client_cert, client_private_key, api_connection_string"):
        load_api_config(bad)


def test_the_server_refuses_to_start_on_a_bad_config_in_one_line_with_exit_2(tmp_path, capsys):
    missing = tmp_path / "api_client.yaml"
    assert ref_main.main(["--config", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"raptorspec-reference: cannot read the API client config {missing}: No such file or directory\n"


# ------------------------------------------------------------- a limit across a collection's sources (#24, #38)


class _Sources:
    """A client with one finished flow whose sources hold ``rows`` (name → rows); ``source()``
    queries honour ``max_rows`` the way Velociraptor.query does (one row past it: truncated)."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]):
        self.rows = rows
        self.read: list[tuple[str, int | None]] = []

    async def query(self, vql: str, env: Any = None, max_rows: int | None = None, **kw: Any) -> QueryResult:
        if "FROM clients(" in vql:
            return QueryResult(rows=[CLIENT])
        if "FROM flows(" in vql:
            return QueryResult(rows=[{"session_id": "F.1", "state": "FINISHED",
                                      "artifacts_with_results": list(self.rows)}])
        source = env["RefArtifact"]
        self.read.append((source, max_rows))
        rows = self.rows[source]
        if max_rows is not None and len(rows) > max_rows:
            return QueryResult(rows=rows[:max_rows], truncated=True)
        return QueryResult(rows=list(rows))


@pytest.mark.parametrize("limit, count, truncated", [
    (1, 1, True),    # the limit falls exactly at the end of the first source: the second still has rows (#24)
    (2, 2, True),    # inside the second source (#38: its budget is the limit less what came before)
    (4, 4, False),   # every row
    (9, 4, False),
])
def test_a_limit_across_sources_returns_that_many_rows_and_says_when_rows_were_left_out(limit, count, truncated):
    velo = _Sources({"A/One": [{"a": 1}], "A/Two": [{"b": 1}, {"b": 2}, {"b": 3}]})
    reply = _run(Reference(velo).get_flow_results("C.1", "F.1", limit=limit))
    assert reply.result_count == len(reply.results) == count, velo.read
    assert reply.truncated is truncated, f"limit {limit}: truncated {reply.truncated}, reads {velo.read}"


def test_a_limit_spent_at_the_end_of_a_source_followed_by_empty_ones_is_not_truncation():
    velo = _Sources({"A/One": [{"a": 1}], "A/Empty": [], "A/Also": []})
    reply = _run(Reference(velo).get_flow_results("C.1", "F.1", limit=1))
    assert reply.result_count == 1 and reply.truncated is False


# ------------------------------------------------------------- a lookup that Velociraptor fails (sample 2, #41)


@pytest.mark.parametrize("call, what", [
    (lambda ref: ref.get_client_info("C.1"), "looking up client C.1: "),               # require_client
    (lambda ref: ref.get_flow_status("C.1", "F.1"), "looking up flow F.1 of client C.1: "),  # require_flow
    (lambda ref: ref.get_hunt_results("H.1"), "looking up hunt H.1: "),                 # require_hunt (#41)
    (lambda ref: ref.modify_hunt("H.1", "stop"), "looking up hunt H.1: "),              # require_hunt (#41)
])
def test_a_lookup_velociraptor_fails_is_a_tool_error_naming_what_was_looked_up(call, what):
    # Only the client lookup answers (for the flow lookup, which checks the client first).
    ref = Reference(_Failing(Unreachable("the Velociraptor API at 127.0.0.1:1 is unreachable: down"),
                             {"FROM clients(": [CLIENT]} if "flow" in what else {}))
    with pytest.raises(ToolError) as err:
        _run(call(ref))
    assert str(err.value) == what + "the Velociraptor API at 127.0.0.1:1 is unreachable: down"


# ------------------------------------------------------------- Velociraptor makes a hunt or a flow and reports an error (#6)


class _Answering:
    """Stands in for Velociraptor.query as the real one behaves: answers the queries whose VQL
    holds a key of ``answers`` with ``(rows, log lines)``; with ``check`` (the default) a log
    line that reports a failure raises :class:`VQLFailure`, as :meth:`Velociraptor.query` does."""

    def __init__(self, answers: dict[str, tuple[list[dict[str, Any]], list[str]]]):
        self.answers = answers

    async def query(self, vql: str, env: Any = None, *, plugins: Any = None, check: bool = True,
                    **kw: Any) -> QueryResult:
        for needle, (rows, logs) in self.answers.items():
            if needle in vql:
                errors = error_lines(logs, called_names(vql) if plugins is None else plugins)
                if check and errors:
                    raise VQLFailure(errors)
                return QueryResult(rows=list(rows), logs=list(logs))
        raise VelociraptorError(f"unexpected query {vql}")


ARTIFACT = {"name": "Generic.Client.Info", "type": "CLIENT", "parameters": []}


def test_a_hunt_velociraptor_made_while_reporting_an_error_is_named_in_the_error():
    velo = _Answering({"FROM artifact_definitions(": ([ARTIFACT], []),
                       "SELECT hunt(": ([{"hunt": {"HuntId": "H.1"}}], ["hunt: the scheduler is busy"])})
    with pytest.raises(ToolError) as err:
        _run(Reference(velo).create_hunt(["Generic.Client.Info"], "d"))
    assert str(err.value) == ("creating a hunt for Generic.Client.Info: Velociraptor made hunt H.1 (review or "
                              "delete it) but reported: hunt: the scheduler is busy")


def test_a_collection_velociraptor_started_while_reporting_an_error_is_named_in_the_error():
    velo = _Answering({"FROM clients(": ([CLIENT], []), "FROM artifact_definitions(": ([ARTIFACT], []),
                       "collect_client(": ([{"collection": {"flow_id": "F.1"}}],
                                           ["collect_client: the client queue is full"])})
    with pytest.raises(ToolError) as err:
        _run(Reference(velo).collect_artifact("C.1", ["Generic.Client.Info"]))
    assert str(err.value) == ("collecting Generic.Client.Info from client C.1: Velociraptor started flow F.1 but "
                              "reported: collect_client: the client queue is full")


# ------------------------------------------------------------- the bound on a query's wait (#30)


class _SlowStub:
    """A gRPC stub whose Query answers one row once ``release`` is set (at most 10 s)."""

    def __init__(self, release: "threading.Event"):
        self.release = release

    def Query(self, request, timeout):  # noqa: N802 (the gRPC method's name)
        release = self.release

        class _Slow:
            def __iter__(self):
                release.wait(10)
                yield SimpleNamespace(log="", Response='[{"a": 1}]')

            def cancel(self) -> None:
                pass

        return _Slow()


def test_a_query_answered_within_its_deadline_is_not_cut_short():
    release = threading.Event()
    velo = object.__new__(Velociraptor)
    velo.target, velo.deadline, velo._closed = "127.0.0.1:1", 5.0, threading.Event()
    velo._stub = _SlowStub(release)
    velo._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    async def go() -> QueryResult:
        asyncio.get_running_loop().call_later(0.3, release.set)  # answered 0.3 s in, within 0.5 s
        return await velo.query("SELECT 1 FROM scope()", deadline=0.5)

    try:
        assert _run(go()).rows == [{"a": 1}]
    finally:
        release.set()
        velo._pool.shutdown(wait=True)


# ------------------------------------------------------------- the transport the caller chooses is served (#31)


@pytest.mark.parametrize("transport, served", [("stdio", "stdio"), ("http", "http")])
def test_the_server_serves_the_transport_asked_for(monkeypatch, tmp_path, transport, served):
    import reference.server
    import reference.velo

    ran: list[str] = []

    class _Velo:
        target = "127.0.0.1:1"

        def __init__(self, config, deadline):
            pass

        def close(self) -> None:
            pass

    class _MCP:
        def run(self, how):
            ran.append(how)

    monkeypatch.setattr(reference.velo, "Velociraptor", _Velo)
    monkeypatch.setattr(reference.server, "build", lambda velo: _MCP())
    monkeypatch.setattr(ref_main, "_serve_http", lambda mcp, port, log: ran.append("http"))
    # The transport as a caller's command line gives it: a fresh string, not the literal.
    argv = ["--config", str(tmp_path / "api_client.yaml"), "--transport", "".join(transport)]
    assert ref_main.main(argv) == 0
    assert ran == [served]
