"""SutSession against a raw JSON-RPC server (tests/sut_fakes/raw_server.py): faults on the wire.

Late non-protocol output after a correct reply, an unsupported protocol version, big replies,
a reply cap, a reply still arriving at its deadline, endless output without a newline, and
helpers that leave the SUT's process group. No Velociraptor needed.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from support import procs
from support.errors import (
    SutCrashed, SutLeftProcesses, SutProtocolError, SutReplyTooLarge, SutStreamError, SutTimeout,
)
from support.sut.session import SutSession
from support.waits import wait_for

RAW = Path(__file__).parent / "sut_fakes" / "raw_server.py"
MIB = 1024 * 1024


def _raw(tmp_path: Path, env: dict[str, str] | None = None, **kw) -> SutSession:
    kw.setdefault("start_timeout", 30.0)
    kw.setdefault("call_timeout", 20.0)
    return SutSession("raw", [sys.executable, str(RAW)], env or {}, tmp_path / "raw", **kw)


@pytest.fixture
def raw(tmp_path: Path):
    session = _raw(tmp_path)
    session.start()
    try:
        yield session
    finally:
        session.close()


# ---------------------------------------------------------------- charged to the right request


def test_late_output_after_a_correct_reply_is_caught_by_the_end_check(raw: SutSession):
    assert raw.call_tool("late_garbage", {"delay": 0.2})["texts"] == ["ok"]
    with pytest.raises(SutStreamError) as info:
        raw.check_quiet(drain=3.0)
    assert "[WebSocket] Closed" in str(info.value) and "non-protocol" in str(info.value)
    assert raw.alive() is not None


def test_a_quiet_server_passes_the_end_check_without_waiting_long(raw: SutSession):
    raw.call_tool("echo", {"text": "x"})
    t0 = time.monotonic()
    raw.check_quiet(drain=0.3)
    assert time.monotonic() - t0 < 2
    assert raw.alive() is None


def test_unsupported_protocol_version_keeps_the_sdk_cause(tmp_path: Path):
    session = _raw(tmp_path, env={"RAW_PROTOCOL_VERSION": "1999-01-01"})
    with pytest.raises(SutProtocolError) as info:
        session.start()
    headline = str(info.value).splitlines()[0]   # the stderr tail below it may say how it exited
    assert "Unsupported protocol version" in headline and "1999-01-01" in headline
    assert "exited with code" not in headline
    assert session.alive() is not None


def test_a_missing_executable_says_so(tmp_path: Path):
    session = SutSession("ghost", ["/nonexistent/bin/ghost-mcp"], {}, tmp_path / "ghost")
    with pytest.raises(SutCrashed) as info:
        session.start()
    assert "/nonexistent/bin/ghost-mcp" in str(info.value) and "No such file" in str(info.value)


# ---------------------------------------------------------------- big replies, endless output


def test_a_30_mib_reply_is_read_whole(raw: SutSession):
    """Read whole within a generous deadline; how fast (linear in size, ~1 s for 30 MiB here)
    is measured by bench/sut_replies.py, never asserted on time (machines differ)."""
    reply = raw.call_tool("big", {"mib": 30}, timeout=120)
    assert len(reply["texts"][0]) == 30 * MIB


def test_a_reply_over_the_cap_fails_at_once_saying_so(tmp_path: Path):
    with _raw(tmp_path, max_reply=1 * MIB) as session:
        t0 = time.monotonic()
        with pytest.raises(SutReplyTooLarge) as info:
            session.call_tool("big", {"mib": 4}, timeout=15)
        assert time.monotonic() - t0 < 10
    assert "--sut-max-reply" in str(info.value) and "1 MiB" in str(info.value)


def test_a_missed_deadline_says_bytes_were_still_arriving(raw: SutSession):
    with pytest.raises(SutTimeout) as info:
        raw.call_tool("trickle", {"kib": 512, "seconds": 6}, timeout=2)
    assert "still arriving" in str(info.value), str(info.value)


def test_a_silent_deadline_says_nothing_arrived(tmp_path: Path):
    with _raw(tmp_path) as session:
        with pytest.raises(SutTimeout) as info:
            session.call_tool("no_newline", {"mib": 0}, timeout=1.5)
    assert "nothing arrived" in str(info.value), str(info.value)


def test_endless_output_without_newline_is_named_at_once_in_bounded_memory(tmp_path: Path):
    with _raw(tmp_path) as session:
        t0 = time.monotonic()
        with pytest.raises(SutStreamError) as info:
            session.call_tool("no_newline", {"mib": 64}, timeout=20)
        assert time.monotonic() - t0 < 10
        assert session.peak_line_bytes <= 2 * MIB, session.peak_line_bytes
    assert "non-protocol output" in str(info.value) and "ZZZZ" in str(info.value)


# ---------------------------------------------------------------- nothing outlives the SUT


@pytest.mark.parametrize("double_fork", [False, True], ids=["new-session", "double-fork"])
def test_helpers_in_their_own_session_are_ended_at_close(tmp_path: Path, double_fork: bool):
    session = _raw(tmp_path)
    session.start()
    helper = int(session.call_tool("spawn_escapee", {"double_fork": double_fork})["texts"][0])
    try:
        assert procs.pid_alive(helper) and procs.info(helper).sid != session.pgid
        session.close()
        assert not procs.pid_alive(helper), f"{procs.describe(helper)} outlived close()"
        assert session.escaped == []
    finally:
        if procs.pid_alive(helper):
            import os
            os.kill(helper, 9)


def test_an_env_cleared_double_forked_helper_is_still_ended(tmp_path: Path):
    session = _raw(tmp_path, env={"RAW_CLEAR_ENV": "1"})
    session.start()
    helper = int(session.call_tool("spawn_escapee", {"double_fork": True})["texts"][0])
    try:
        session.close()
        assert not procs.pid_alive(helper), f"{procs.describe(helper)} outlived close()"
    finally:
        if procs.pid_alive(helper):
            import os
            os.kill(helper, 9)


def test_a_process_that_cannot_be_ended_is_named(tmp_path: Path, monkeypatch):
    session = _raw(tmp_path)
    session.start()
    helper = int(session.call_tool("spawn_escapee", {})["texts"][0])
    import os
    os.kill(session.pgid, 9)   # the supervisor dies first, so only the harness can end the helper
    wait_for(lambda: (procs.info(helper).ppid != session.pgid, procs.info(helper)), "the helper orphaned",
             timeout=5, interval=0.02)
    real_kill = procs.os.kill
    monkeypatch.setattr(procs.os, "kill", lambda pid, sig: None if pid == helper else real_kill(pid, sig))
    try:
        session.close()
        assert session.escaped and f"pid {helper}" in session.escaped[0] and "sleep 600" in session.escaped[0]
        error = session.left_processes_error()
        assert isinstance(error, SutLeftProcesses) and f"pid {helper}" in str(error) and "SUT raw" in str(error)
    finally:
        monkeypatch.undo()
        if procs.pid_alive(helper):
            import os
            os.kill(helper, 9)


def test_the_run_end_reports_escaped_processes_and_late_faults(tmp_path: Path, monkeypatch):
    """SutSessions.close_all (the sut_sessions fixture's teardown) returns what must fail the run."""
    from support.sut.plugin import SutSessions

    sessions = SutSessions(config=None, cache_dir=tmp_path)   # close_all needs neither
    stuck, noisy = _raw(tmp_path / "a"), _raw(tmp_path / "b")
    sessions.sessions = {"stuck": stuck.start(), "noisy": noisy.start()}
    helper = int(stuck.call_tool("spawn_escapee", {})["texts"][0])
    import os
    os.kill(stuck.pgid, 9)
    wait_for(lambda: (procs.info(helper).ppid != stuck.pgid, procs.info(helper)), "the helper orphaned",
             timeout=5, interval=0.02)
    # the group's processes die in any order: the helper may be orphaned before the supervisor is gone
    wait_for(lambda: (stuck.alive() is not None, stuck.alive()), "the killed SUT seen dead", timeout=5, interval=0.02)
    # late, not during the call: a line written with no delay can reach the reader before the call returns
    noisy.call_tool("late_garbage", {"delay": 0.3, "line": "bye from stdout"})
    wait_for(lambda: (noisy.alive() is not None, noisy.alive()), "the late line", timeout=5, interval=0.02)
    real_kill = procs.os.kill
    monkeypatch.setattr(procs.os, "kill", lambda pid, sig: None if pid == helper else real_kill(pid, sig))
    try:
        problems = sessions.close_all()
        kinds = {type(p).__name__: str(p) for p in problems}
        assert set(kinds) == {"SutLeftProcesses", "SutStreamError", "SutCrashed"}, kinds
        assert f"pid {helper}" in kinds["SutLeftProcesses"] and "bye from stdout" in kinds["SutStreamError"]
        assert "found at the end of the run" in kinds["SutCrashed"] and "exited with code 137" in kinds["SutCrashed"]
        assert sessions.close_all() == []   # idempotent, reported once
    finally:
        monkeypatch.undo()
        if procs.pid_alive(helper):
            os.kill(helper, 9)


def test_every_request_is_timed_for_the_benchmarks(raw: SutSession, tmp_path: Path, monkeypatch):
    """bench/overhead.py counts the SUTs' time from support.timings: every request, not only a
    step's sut.call (sweeps and discovery's timed calls send theirs to the session directly)."""
    out = tmp_path / "timings.jsonl"
    monkeypatch.setenv("RAPTORSPEC_TIMINGS", str(out))
    raw.list_tools()
    raw.call_tool("late_garbage", {"delay": 5.0, "line": "later"})
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(t["kind"], t["what"], t["sut"]) for t in lines] == [
        ("sut", "tools/list", raw.name), ("sut", "tools/call (tool 'late_garbage')", raw.name)]
    assert all(t["end"] >= t["start"] > 0 for t in lines)
