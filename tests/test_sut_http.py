"""SutSession over Streamable HTTP (``url=``, the plugin's ``--sut-url``) against the SDK-built
fake (tests/sut_fakes/fake_server.py with FAKE_HTTP=1, bound to 127.0.0.1 on a free port).

The same deadlines, error attribution and transcript as over stdio. No Velociraptor.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support.errors import SutCrashed, SutProtocolError, SutTimeout
from support.sut.session import SutSession
from support.waits import wait_for

FAKES = Path(__file__).parent / "sut_fakes"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


@pytest.fixture
def http_fake(tmp_path: Path):
    """The fake server on HTTP: yields its URL; stopped (killed) at the end."""
    log = tmp_path / "http_fake.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, str(FAKES / "fake_server.py")], stdin=subprocess.DEVNULL,
                                stdout=fh, stderr=fh, env=os.environ | {"FAKE_HTTP": "1"},
                                start_new_session=True)
    try:
        def port() -> tuple[bool, str]:
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text())
            return (found is not None, found.group(1) if found else log.read_text()[-500:])

        number = wait_for(port, "the HTTP fake to listen", timeout=30, interval=0.1,
                          alive=lambda: None if proc.poll() is None else f"it exited with {proc.returncode}")
        proc.url = f"http://127.0.0.1:{number}/mcp"   # type: ignore[attr-defined]
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def http(http_fake, tmp_path: Path):
    session = SutSession("fake-http", [], {}, tmp_path / "sut", url=http_fake.url, call_timeout=20.0,
                         start_timeout=30.0)
    session.start()
    try:
        yield session
    finally:
        session.close()


def test_tools_resources_prompts_and_transcript_over_http(http: SutSession, http_fake):
    assert http.transport == "http" and http.server_info["name"] == "raptorspec-fake"
    assert {"echo", "hang", "crash"} <= {t["name"] for t in http.list_tools()}
    http.take_transcript()
    assert http.call_tool("echo", {"text": "over http"})["texts"] == ["over http"]
    failed = http.call_tool("fail")
    assert failed["is_error"] is True and "failed on purpose" in failed["texts"][0]
    assert json.loads(http.read_resource("fake://hello")["texts"][0])["type"] == "greeting"
    assert http.get_prompt("greet", {"name": "Ada"})["messages"] == ["Please greet Ada politely."]
    transcript = http.take_transcript()
    assert [e["method"] for e in transcript] == ["tools/call", "tools/call", "resources/read", "prompts/get"]
    assert transcript[0]["request"] == {"name": "echo", "arguments": {"text": "over http"}}
    assert transcript[0]["reply"]["texts"] == ["over http"] and transcript[0]["error"] is None


def test_a_private_key_is_masked_in_the_transcript_over_http(http: SutSession):
    http.take_transcript()
    assert KEY_BODY in http.call_tool("leak_key")["texts"][0]
    assert KEY_BODY not in json.dumps(http.take_transcript())


def test_protocol_errors_over_http(http: SutSession):
    with pytest.raises(SutProtocolError, match="no_such_prompt"):
        http.get_prompt("no_such_prompt")
    assert http.alive() is None


def test_a_hang_over_http_meets_the_same_deadline(http_fake, tmp_path: Path):
    session = SutSession("fake-http", [], {}, tmp_path / "sut", url=http_fake.url, call_timeout=2.0)
    session.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(SutTimeout) as info:
            session.call_tool("hang", {"note": "x"})
        assert time.monotonic() - t0 < 15
        message = str(info.value)
        assert "SUT fake-http" in message and http_fake.url in message and "'hang'" in message and "2s" in message
        session.restart()
        assert session.call_tool("echo", {"text": "back"})["texts"] == ["back"]
    finally:
        session.close()


def test_a_server_that_dies_mid_call_is_named(http: SutSession, http_fake):
    with pytest.raises(SutCrashed) as info:
        http.call_tool("crash", {"code": 7})
    assert "SUT fake-http" in str(info.value) and http_fake.url in str(info.value)
    assert http.alive() is not None


def test_nothing_listening_is_a_crash_at_start(tmp_path: Path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = SutSession("nobody", [], {}, tmp_path / "sut", url=f"http://127.0.0.1:{port}/mcp", start_timeout=20)
    t0 = time.monotonic()
    with pytest.raises((SutCrashed, SutProtocolError)) as info:
        session.start()
    assert time.monotonic() - t0 < 15
    assert f"127.0.0.1:{port}" in str(info.value)


STEPS = """\
from pytest_bdd import when, parsers, scenarios

scenarios("features")

@when(parsers.parse('I echo "{text}"'))
def _(sut, text):
    assert sut.session.transport == "http"
    assert sut.call("run_vql", query=text).data == text
"""

from sut_fakes.fake_lab import CONFTEST  # noqa: E402 - a lab that is only a directory


def test_sut_url_drives_scenarios_with_the_named_profile(pytester, http_fake):
    pytester.makeini(textwrap.dedent("""\
        [pytest]
        addopts = -p support.plugin -p support.sut.plugin
        markers =
            tool(name): canonical tool
        """))
    pytester.mkdir("features")
    pytester.path.joinpath("features", "echo.feature").write_text(
        "@tool:run_vql\nFeature: Over HTTP\n  Scenario: An echo\n    When I echo \"hi\"\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_spec=STEPS)
    result = pytester.runpytest(f"--sut-profile={FAKES / 'raw_profile.py'}", f"--sut-url={http_fake.url}",
                                "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*Scenario: An echo*raw*"])
    both = pytester.runpytest(f"--sut-profile={FAKES / 'raw_profile.py'}", f"--sut-url={http_fake.url}",
                              "--sut-command=python x.py")
    assert both.ret != 0 and "--sut-url and --sut-command" in both.stderr.str()
    nowhere = pytester.runpytest("--sut=velociraptor-mcp-server", "--sut=iflow-mcp-mgreen27-mcp-velociraptor",
                                 f"--sut-url={http_fake.url}")
    assert nowhere.ret != 0 and "would reach none of" in nowhere.stderr.str()
    # the bundled reference server is started by the suite: a URL or command beside it and a PyPI
    # server reached neither, and both ran on stdio as if nothing had been asked
    for reach in (f"--sut-url={http_fake.url}", "--sut-command=/nonexistent/cmd"):
        beside = pytester.runpytest("--sut=reference", "--sut=velociraptor-mcp-server", reach)
        assert beside.ret == pytest.ExitCode.USAGE_ERROR and "would reach none of reference, velociraptor-mcp-server" \
            in beside.stderr.str(), (reach, beside.stderr.str(), beside.stdout.str()[-1500:])


def test_a_usage_error_leaves_pytest_bdd_as_it_found_it(pytester):
    """pytest-bdd pops its config stack at unconfigure whether or not its configure ran; a
    UsageError raised by one of our configure hooks before pytest-bdd's emptied the stack of the
    calling pytest (a later in-process ``scenarios()`` then failed with IndexError: CI, random
    order). Ours are raised at session start (support.bdd.usage_errors_deferred)."""
    from pytest_bdd.utils import CONFIG_STACK

    pytester.makeini("[pytest]\naddopts = -p support.plugin -p support.sut.plugin -p support.lab.plugin\n")
    pytester.makepyfile(test_x="def test_x(): pass\n")
    before = list(CONFIG_STACK)
    for args in (["--sut-url=http://127.0.0.1:9/mcp", "--sut-command=python x.py"], ["--clients=0"],
                 ["--lab=external"]):
        result = pytester.runpytest_inprocess(*args)
        assert result.ret != 0, args
        assert CONFIG_STACK == before, f"{args}: pytest-bdd's config stack {before} became {CONFIG_STACK}"
