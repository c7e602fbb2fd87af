"""SutSession against a tiny misbehaving MCP server (tests/sut_fakes/fake_server.py).

No Velociraptor needed: each test checks one way a server under test can fail the client
(hang, crash, garbage on stdout, a stderr flood, leaked key material) and that the session
fails in bounded time with a message that says what happened, and leaves no process behind.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from support import procs
from support.sut.session import (
    SutCrashed,
    SutError,
    SutProtocolError,
    SutSession,
    SutStreamError,
    SutTimeout,
)

FAKE = Path(__file__).parent / "sut_fakes" / "fake_server.py"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


def _session(tmp_path: Path, *, env: dict[str, str] | None = None, **kw) -> SutSession:
    return SutSession("fake", [sys.executable, str(FAKE)], env or {}, tmp_path / "sut", **kw)


@pytest.fixture
def fake(tmp_path: Path):
    session = _session(tmp_path, call_timeout=20.0, start_timeout=30.0)
    session.start()
    try:
        yield session
    finally:
        session.close()


_running = procs.pid_alive
_group_members = procs.group_members


def test_tools_answer_and_environment_is_private(fake: SutSession, tmp_path: Path):
    names = {t["name"] for t in fake.list_tools()}
    assert {"echo", "hang", "crash", "garbage", "flood_stderr"} <= names
    assert fake.call_tool("echo", {"text": "hi"})["texts"] == ["hi"]
    info = json.loads(fake.call_tool("environment")["texts"][0])
    assert set(info["env"]) == {"PATH", "HOME", "LANG"}, info["env"]
    assert info["env"]["HOME"] == str(tmp_path / "sut" / "home")
    assert info["cwd"] == str(tmp_path / "sut" / "cwd")
    assert fake.server_info["name"] == "raptorspec-fake"


def test_profile_environment_is_added(tmp_path: Path):
    with _session(tmp_path, env={"VELOCIRAPTOR_API_CONFIG": "/x/api.yaml"}) as session:
        env = json.loads(session.call_tool("environment")["texts"][0])["env"]
    assert env["VELOCIRAPTOR_API_CONFIG"] == "/x/api.yaml"
    assert set(env) == {"PATH", "HOME", "LANG", "VELOCIRAPTOR_API_CONFIG"}


def test_reply_shapes_come_back_as_sent(fake: SutSession):
    failed = fake.call_tool("fail")
    assert failed["is_error"] is True and "failed on purpose" in failed["texts"][0]
    inside = fake.call_tool("error_json")
    assert inside["is_error"] is False and json.loads(inside["texts"][0])["error"].startswith("Client")
    assert fake.call_tool("plain_text")["texts"][0].startswith("Collection started successfully:")
    assert fake.call_tool("echo", {"text": "x"})["seconds"] >= 0


def test_hang_fails_in_bounded_time_with_stderr_tail(tmp_path: Path):
    session = _session(tmp_path, call_timeout=2.0)
    session.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(SutTimeout) as info:
            session.call_tool("hang", {"note": "marker-4711"})
        elapsed = time.monotonic() - t0
        message = str(info.value)
        assert elapsed < 15, f"the hang took {elapsed:.1f}s to fail"
        assert "SUT fake" in message and "tools/call" in message and "'hang'" in message and "2s" in message
        assert "fake: hanging now marker-4711" in message  # the stderr tail
        assert session.alive() is not None, "a timed-out session must be dead"
        assert not _group_members(session.pgid), "the hung SUT must be stopped"
        session.restart()
        assert session.call_tool("echo", {"text": "back"})["texts"] == ["back"]
    finally:
        session.close()


def test_hang_at_start_is_bounded(tmp_path: Path):
    session = _session(tmp_path, env={"FAKE_HANG_AT_START": "1"}, start_timeout=3.0)
    t0 = time.monotonic()
    with pytest.raises(SutTimeout) as info:
        session.start()
    assert time.monotonic() - t0 < 15
    assert "initialize" in str(info.value) and "waiting forever before serving" in str(info.value)
    assert session.pgid and not _group_members(session.pgid)


def test_crash_during_a_call_names_the_exit_code(fake: SutSession):
    with pytest.raises(SutCrashed) as info:
        fake.call_tool("crash", {"code": 7})
    message = str(info.value)
    assert "exited with code 7" in message and "fake: fatal error, exiting with 7" in message
    assert "exited with code 7" in (fake.alive() or "")
    with pytest.raises(SutCrashed, match="restart it first"):
        fake.call_tool("echo", {"text": "x"})
    fake.restart()
    assert fake.call_tool("echo", {"text": "again"})["texts"] == ["again"]


def test_exit_at_start_is_a_crash(tmp_path: Path):
    session = _session(tmp_path, env={"FAKE_EXIT_AT_START": "5"})
    with pytest.raises(SutCrashed) as info:
        session.start()
    assert "exited with code 5" in str(info.value) and "config missing" in str(info.value)


def test_a_missing_executable_is_reported(tmp_path: Path):
    session = SutSession("ghost", ["/nonexistent/bin/ghost-mcp"], {}, tmp_path / "ghost")
    with pytest.raises(SutCrashed) as info:
        session.start()
    assert "exited with code 127" in str(info.value) and "ghost-mcp" in str(info.value)


def test_garbage_on_stdout_is_reported_not_hung(fake: SutSession):
    t0 = time.monotonic()
    with pytest.raises(SutStreamError) as info:
        fake.call_tool("garbage")
    assert time.monotonic() - t0 < 10
    assert "the server wrote non-protocol output: 'this is not json-rpc'" in str(info.value)
    assert "non-protocol" in (fake.alive() or "")


def test_stderr_flood_does_not_block(fake: SutSession):
    assert fake.call_tool("flood_stderr", {"kib": 300})["texts"] == ["flooded 300 KiB"]
    assert fake.call_tool("echo", {"text": "still here"})["texts"] == ["still here"]
    assert fake.stderr_path.stat().st_size > 200 * 1024
    tail = fake.stderr_tail(5)
    assert "fake: flood done" in tail and len(tail.splitlines()) <= 5


def test_close_leaves_no_process(tmp_path: Path):
    session = _session(tmp_path)
    session.start()
    child = int(session.call_tool("spawn_child")["texts"][0])
    pgid = session.pgid
    assert pgid and _running(child) and _group_members(pgid)
    session.close()
    session.close()  # idempotent
    assert not _running(child), f"the SUT's child {child} outlived close()"
    assert not _group_members(pgid), f"processes of group {pgid} outlived close()"
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


def test_transcript_masks_a_private_key(fake: SutSession):
    fake.take_transcript()
    reply = fake.call_tool("leak_key")
    assert KEY_BODY in reply["texts"][0]  # the caller gets what the SUT said...
    transcript = fake.take_transcript()
    dumped = json.dumps(transcript)
    assert transcript and transcript[0]["method"] == "tools/call"
    assert transcript[0]["request"] == {"name": "leak_key", "arguments": {}}
    assert KEY_BODY not in dumped and "[MASKED" in dumped  # ...the report does not
    assert KEY_BODY not in fake.stderr_tail()
    assert fake.take_transcript() == []


def test_transcript_records_errors(fake: SutSession):
    fake.take_transcript()
    with pytest.raises(SutProtocolError):
        fake.read_resource("fake://nope")
    entry = fake.take_transcript()[-1]
    assert entry["method"] == "resources/read" and entry["reply"] is None and "fake://nope" in entry["error"]
    assert entry["seconds"] >= 0


def test_protocol_errors_are_sut_errors_compared_on_meaning(fake: SutSession):
    with pytest.raises(SutProtocolError) as info:
        fake.get_prompt("no_such_prompt")
    assert isinstance(info.value, SutError) and not isinstance(info.value, AssertionError)
    assert "no_such_prompt" in info.value.message  # the code varies by SDK (this one sends 0)
    with pytest.raises(SutProtocolError, match="fake://nope"):
        fake.read_resource("fake://nope")
    assert fake.alive() is None, "a JSON-RPC error does not kill the session"


def test_resources_and_prompts(fake: SutSession):
    assert [r["uri"] for r in fake.list_resources()] == ["fake://hello"]
    assert json.loads(fake.read_resource("fake://hello")["texts"][0])["type"] == "greeting"
    assert [p["name"] for p in fake.list_prompts()] == ["greet"]
    assert fake.get_prompt("greet", {"name": "Ada"})["messages"] == ["Please greet Ada politely."]


def test_a_second_request_answers_while_one_is_pending(fake: SutSession):
    """Concurrency (issue 10 §8): the lock is not held while a reply is awaited, so a quick
    request sent while another hangs answers at once; the hanging one still times out, and the
    transcript holds both."""
    import threading

    from support.waits import wait_for

    outcome: dict[str, BaseException] = {}

    def slow() -> None:
        try:
            fake.call_tool("hang", {}, timeout=6)
        except SutError as exc:
            outcome["slow"] = exc

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    wait_for(lambda: ("hanging now" in fake.stderr_tail(), None), "the server to start hanging", 5, 0.02)
    t0 = time.monotonic()
    assert fake.call_tool("echo", {"text": "meanwhile"}, timeout=5)["texts"] == ["meanwhile"]
    assert time.monotonic() - t0 < 3, "the quick request waited for the hanging one"
    assert SutSession.concurrent_calls is True and fake.pending() == 1
    thread.join(15)
    assert not thread.is_alive() and isinstance(outcome.get("slow"), SutTimeout), outcome
    assert fake.pending() == 0
    methods = [(e["method"], (e["request"] or {}).get("name")) for e in fake.take_transcript()]
    assert methods[-2:] == [("tools/call", "echo"), ("tools/call", "hang")], methods


def test_requests_pending_when_the_session_ends_are_told_so(fake: SutSession):
    """A request pending when another one times out (which stops the process) fails at once
    with SutCrashed naming the timeout, instead of waiting out its own deadline."""
    import threading

    from support.waits import wait_for

    outcome: dict[str, BaseException] = {}

    def hang(key: str, timeout: float) -> None:
        try:
            fake.call_tool("hang", {}, timeout=timeout)
        except SutError as exc:
            outcome[key] = exc

    long = threading.Thread(target=hang, args=("long", 30), daemon=True)
    long.start()
    wait_for(lambda: ("hanging now" in fake.stderr_tail(), None), "the server to start hanging", 5, 0.02)
    t0 = time.monotonic()
    hang("short", 2)
    long.join(15)
    assert isinstance(outcome.get("short"), SutTimeout), outcome
    assert isinstance(outcome.get("long"), SutCrashed) and "timed out" in str(outcome["long"]), outcome
    assert time.monotonic() - t0 < 12, "the pending request waited out its own deadline"
    assert fake.pending() == 0
