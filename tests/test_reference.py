"""The reference server (reference/): its promises, each checked.

Without a lab: log lines are read the way Velociraptor writes them, and a caller's text
reaches VQL only as a query variable (the VQL each tool sends is captured).
Against the live lab: the server starts over stdio and over Streamable HTTP and sees the
enrolled client; a VQL error becomes ``isError`` naming the cause; a quote-laden label
round-trips exactly; a slow query does not stall a second call; a query past its deadline
is an error naming the deadline.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from reference import prompts
from reference.server import TOOLS, Reference
from reference.velo import QueryResult, VQLFailure, error_lines, level_of
from support import waits
from support.sut.selection import DEFAULT_SUTS, get_profile

ROOT = Path(__file__).resolve().parents[1]
QUOTED = "it's \"odd\" x', op='remove {SELECT * FROM clients()} --"


# ---------------------------------------------------------------------------- no lab


def test_log_levels_are_read_as_velociraptor_splits_them():
    # logging.SplitIntoLevelAndLog: the text before the first colon, when it is a level
    assert level_of("ERROR:Plugin x not found") == "ERROR"
    assert level_of("VQL Error: 1:1: unexpected token") == "DEFAULT"
    assert level_of("flows: unable to get client C.0") == "DEFAULT"


def test_error_lines_are_parse_errors_error_levels_and_the_called_plugins_own_reports():
    logs = ["Starting query execution.", 'VQL Error: 1:1: unexpected token "SELEKT"',
            "ERROR:Plugin nope not found.", "flows: unable to get client C.0: NotFoundError",
            "hunt_update: Unexpected arg state", "Time 0: reference: Sending response part 0 2 B (0 rows)."]
    assert error_lines(logs, {"flows"}) == logs[1:4]
    assert error_lines(["Starting query execution.", "Time 0: x: Sending response part 0"], {"flows"}) == []


class _Recorder:
    """Stands in for Velociraptor: records each (VQL, env) and answers from a script."""

    def __init__(self, answer):
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answer = answer

    async def query(self, vql, env=None, **kw):
        self.sent.append((vql, dict(env or {})))
        return QueryResult(rows=self.answer(vql, env or {}), logs=[])


def test_a_callers_text_reaches_vql_only_as_a_variable():
    client = {"client_id": "C.1", "labels": [QUOTED], "os_info": {"system": "linux", "hostname": "h"}}
    velo = _Recorder(lambda vql, env: [client] if "clients(" in vql else [{"r": True}])
    reply = asyncio.run(Reference(velo).label_client("C.1", [QUOTED]))
    assert reply.current_labels == [QUOTED]
    assert velo.sent, "no query was sent"
    for vql, env in velo.sent:
        assert QUOTED not in vql and "odd" not in vql, f"caller text pasted into VQL: {vql}"
    values = [x for _, env in velo.sent for v in env.values() for x in (v if isinstance(v, list) else [v])]
    assert QUOTED in values, f"the label never reached a query variable: {velo.sent}"


def test_a_hunt_aimed_at_labels_and_an_os_is_refused_before_velociraptor_ignores_the_labels():
    # vql/server/hunts/create.go logs "Both OS and label conditions set, ignoring include label
    # conditions" and makes a hunt for every client of that OS: refuse before any hunt() call.
    velo = _Recorder(lambda vql, env: [{"name": "Linux.Sys.Users", "parameters": []}])
    with pytest.raises(Exception, match="include_labels and os_filter"):
        asyncio.run(Reference(velo).create_hunt(["Linux.Sys.Users"], "d", include_labels=["a"], os_filter="linux"))
    assert not [vql for vql, _ in velo.sent if "hunt(" in vql], velo.sent


def test_every_recommended_artifact_is_on_the_prompts_own_list():
    from support.prompts import SAMPLES, recommended_artifacts

    for name, fn in prompts.PROMPTS.items():
        args = {p: SAMPLES.get(p, "x") for p in fn.__code__.co_varnames[:fn.__code__.co_argcount]}
        named = recommended_artifacts(fn(**args), {"Linux", "Windows", "MacOS", "Generic", "Server"})
        assert set(named) <= set(prompts.ALL_ARTIFACTS), (name, sorted(set(named) - set(prompts.ALL_ARTIFACTS)))


def test_the_reference_is_in_the_default_sut_set_with_no_known_defect():
    assert DEFAULT_SUTS[0] == "reference"
    profile = get_profile("reference")
    assert profile.known_defects == {}
    assert sorted(profile.tools) == sorted(TOOLS)


# ---------------------------------------------------------------------------- live lab


def _env(lab) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "VELOCIRAPTOR_API_CONFIG": str(lab.api_config),
            "PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}


@asynccontextmanager
async def _stdio(lab, *extra: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "reference", *extra], env=_env(lab),
                                   cwd=str(ROOT))
    with open(Path(lab.dir) / "reference-test-stderr.log", "ab") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await asyncio.wait_for(session.initialize(), 60)
                yield session


def _client_id(oracle) -> str:
    """An enrolled client of the lab (one that has reported its OS)."""
    enrolled = [c["client_id"] for c in oracle.clients() if (c.get("os_info") or {}).get("system")]
    if not enrolled:
        pytest.skip("the lab has no enrolled client")
    return enrolled[0]


def _data(result: types.CallToolResult) -> Any:
    assert not result.is_error, result.content
    assert result.structured_content is not None, "no structuredContent"
    text = json.loads(result.content[0].text)
    assert text == result.structured_content, "the JSON text and structuredContent differ"
    return result.structured_content


def _error(result: types.CallToolResult) -> str:
    assert result.is_error, f"expected isError, got {result.content}"
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


@pytest.mark.lab
def test_over_stdio_it_offers_the_17_tools_and_sees_the_enrolled_client(lab, oracle):
    async def go():
        async with _stdio(lab) as s:
            tools = (await s.list_tools()).tools
            assert sorted(t.name for t in tools) == sorted(TOOLS)
            assert all(t.output_schema for t in tools), [t.name for t in tools if not t.output_schema]
            fixed = {str(r.uri) for r in (await s.list_resources()).resources}
            templates = {t.uri_template for t in (await s.list_resource_templates()).resource_templates}
            assert fixed | templates == set(get_profile("reference").resources), (fixed, templates)
            assert {p.name for p in (await s.list_prompts()).prompts} == set(prompts.PROMPTS)
            return _data(await s.call_tool("list_clients", {}))

    data = asyncio.run(go())
    assert {c["client_id"] for c in data["clients"]} == {c["client_id"] for c in oracle.clients()}


@pytest.mark.lab
def test_over_http_it_binds_127_0_0_1_prints_its_url_and_answers(lab, oracle, tmp_path):
    errlog = tmp_path / "stderr.log"
    with open(errlog, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "reference", "--transport", "http"], env=_env(lab),
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=fh, start_new_session=True)
    try:
        def url() -> tuple[bool, Any]:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+/mcp)", errlog.read_text())
            return bool(found), found.group(1) if found else errlog.read_text()[-500:]

        endpoint = waits.wait_for(url, "the reference server to print its URL", 60, 0.2,
                                  alive=lambda: None if proc.poll() is None else f"exited {proc.returncode}")

        async def go():
            async with streamable_http_client(endpoint) as (read, write):
                async with ClientSession(read, write) as s:
                    await asyncio.wait_for(s.initialize(), 30)
                    return _data(await s.call_tool("list_clients", {}))

        data = asyncio.run(go())
        assert {c["client_id"] for c in data["clients"]} == {c["client_id"] for c in oracle.clients()}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        assert proc.stdout is not None
        assert proc.stdout.read() == b"", "the http server wrote on stdout"
        proc.stdout.close()


@pytest.mark.lab
def test_a_vql_error_is_an_isError_reply_naming_the_cause(lab, oracle):
    client_id = _client_id(oracle)

    async def go():
        async with _stdio(lab) as s:
            return (_error(await s.call_tool("run_vql", {"query": "SELECT * FROM raptorspec_no_such_plugin()"})),
                    _error(await s.call_tool("run_vql", {"query": "SELEKT 1 FROM scope()"})),
                    _error(await s.call_tool("get_flow_status", {"client_id": client_id, "flow_id": "F.RAPTORSPEC0000"})))

    plugin, syntax, flow = asyncio.run(go())
    assert "raptorspec_no_such_plugin" in plugin and "not found" in plugin
    assert "SELEKT" in syntax and "unexpected token" in syntax
    assert "F.RAPTORSPEC0000" in flow and "not found" in flow


@pytest.mark.lab
def test_a_quote_laden_label_round_trips_exactly(lab, oracle):
    client_id = _client_id(oracle)
    label = f"raptorspec-{uuid.uuid4().hex[:8]}-{QUOTED}"

    async def go():
        async with _stdio(lab) as s:
            return _data(await s.call_tool("label_client", {"client_id": client_id, "labels": [label]}))

    before = set(oracle.client(client_id)["labels"] or [])
    try:
        data = asyncio.run(go())
        after = set(oracle.client(client_id)["labels"] or [])
        assert after == before | {label}, f"before {before}, after {after}"
        assert label in data["current_labels"]
    finally:
        oracle.query("SELECT label(client_id=C, labels=parse_json_array(data=L), op='remove') AS r FROM scope()",
                     {"C": client_id, "L": [label]})


@pytest.mark.lab
def test_a_slow_query_does_not_stall_another_call(lab):
    # VQL's sleep(time=SECONDS) (vql/functions/sleep.go) keeps the first call busy for 20 s.
    async def go():
        async with _stdio(lab) as s:
            t0 = time.monotonic()
            slow = asyncio.create_task(s.call_tool("run_vql", {"query": "SELECT sleep(time=20) AS slept FROM scope()"}))
            await asyncio.sleep(0.5)  # the slow query is in flight
            fast = _data(await s.call_tool("run_vql", {"query": "SELECT 6 * 7 AS answer FROM scope()"}))
            fast_done = time.monotonic() - t0
            slow_result = await slow
            return fast, fast_done, _data(slow_result), time.monotonic() - t0

    fast, fast_done, slow, slow_done = asyncio.run(go())
    assert fast["results"] == [{"answer": 42}]
    assert fast_done < 10, f"the quick call took {fast_done:.1f} s behind the slow one"
    assert slow["row_count"] == 1 and slow_done >= 19, (slow, slow_done)


@pytest.mark.lab
def test_a_query_past_its_deadline_is_an_error_naming_the_deadline(lab):
    async def go():
        async with _stdio(lab, "--deadline", "3") as s:
            t0 = time.monotonic()
            result = await s.call_tool("run_vql", {"query": "SELECT sleep(time=20) AS slept FROM scope()"})
            return _error(result), time.monotonic() - t0

    message, took = asyncio.run(go())
    assert took < 15, f"the deadline of 3 s let the call run {took:.1f} s"
    assert re.search(r"(within 3 s|Timeout Error)", message), message


def test_vqlfailure_names_every_line():
    assert str(VQLFailure(["a: b", "c: d"])) == "a: b; c: d"
