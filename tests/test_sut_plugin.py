"""The SUT plugin charges each SUT failure to the scenario during which it happened.

pytester runs of tiny features against tests/sut_fakes/raw_server.py (profile
tests/sut_fakes/raw_profile.py). No Velociraptor: the inner conftest replaces the ``lab``
fixture with a directory (the SUT layer needs only ``lab.dir`` and ``lab.api_config``).
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from support import procs

FAKES = Path(__file__).parent / "sut_fakes"
RAW = FAKES / "raw_server.py"

from sut_fakes.fake_lab import CONFTEST  # noqa: E402 - a lab that is only a directory

STEPS = """\
import json
from pathlib import Path
from pytest_bdd import given, when, then, parsers, scenarios
from support.waits import wait_for

scenarios("features")

@when(parsers.parse('the SUT answers and then writes "{line}" on stdout'))
def _(sut, line):
    assert sut.session.call_tool("late_garbage", {"line": line, "delay": 0.2})["texts"] == ["ok"]

@when(parsers.parse('the SUT answers and, {delay:g}s later, writes "{line}" on stdout'))
def _(sut, line, delay):
    assert sut.session.call_tool("late_garbage", {"line": line, "delay": delay})["texts"] == ["ok"]

@given("the SUT has written on stdout meanwhile")
def _(sut):
    wait_for(lambda: (bool(sut.session._garbage), None), "the late output", timeout=30, interval=0.05)

@when(parsers.parse('I echo "{text}"'))
def _(sut, text):
    assert sut.call("run_vql", query=text).data == text

@when("the SUT will exit in a while")
def _(sut):
    sut.session.call_tool("exit_later", {"delay": 3.0, "code": 3})

@given("the SUT has exited meanwhile")
def _(sut_sessions, sut_name):
    session = sut_sessions.sessions[sut_name]
    wait_for(lambda: (session.alive() is not None, session.alive()), "the SUT to exit", timeout=30, interval=0.1)

@when(parsers.parse("the SUT sends a reply of {mib:d} MiB"))
def _(sut, mib):
    sut.session.call_tool("big", {"mib": mib})

@when("the SUT starts a helper in its own session")
def _(sut):
    pid = sut.session.call_tool("spawn_escapee", {"double_fork": True})["texts"][0]
    Path("helper.pid").write_text(pid)
"""


def _run(pytester: pytest.Pytester, feature: str, *args: str, conftest: str = CONFTEST,
         in_subprocess: bool = False) -> pytest.RunResult:
    pytester.makeini(textwrap.dedent("""\
        [pytest]
        addopts = -p support.plugin -p support.sut.plugin
        markers =
            tool(name): canonical tool
        """))
    pytester.mkdir("features")
    pytester.path.joinpath("features", "sut.feature").write_text(feature)
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_spec=STEPS)
    run = pytester.runpytest_subprocess if in_subprocess else pytester.runpytest
    return run(f"--sut-profile={FAKES / 'raw_profile.py'}", f"--sut-command={sys.executable} {RAW}",
               "--sut-timeout=20", "-p", "no:randomly", *args)


LATE = """\
@tool:run_vql
Feature: Late output
  Scenario: A reply followed by noise
    When the SUT answers and then writes "[WebSocket] Closed" on stdout

  Scenario: A clean echo afterwards
    When I echo "hello"
"""


def test_late_output_fails_the_scenario_that_caused_it_and_the_next_starts_clean(pytester):
    result = _run(pytester, LATE)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*FAILED*test_a_reply_followed_by_noise*",
    ])
    failure = result.stdout.str()
    assert "non-protocol output" in failure and "[WebSocket] Closed" in failure
    assert "test_a_clean_echo_afterwards" not in "".join(
        line for line in result.outlines if line.startswith("FAILED")), failure


def test_late_output_of_the_last_or_only_scenario_is_caught(pytester):
    result = _run(pytester, LATE, "-k", "noise")
    result.assert_outcomes(failed=1, deselected=1)
    assert "[WebSocket] Closed" in result.stdout.str()


LATER = """\
@tool:run_vql
Feature: Output later than the drain
  Scenario: A reply followed by noise a second later
    When the SUT answers and, 1.5s later, writes "[WebSocket] Closed" on stdout

  Scenario: The next scenario finds the noise
    Given the SUT has written on stdout meanwhile
"""


def test_output_later_than_the_drain_names_the_request_it_followed_and_its_scenario(pytester):
    """Output 1.5 s after a reply (drain 0.3 s) is found by the next scenario's check, which
    said "after its last reply in this scenario" although that scenario sent nothing: the
    message now names the request the output followed, its scenario, and how long before."""
    result = _run(pytester, LATER, "--sut-drain=0.3")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "FAILED test_spec.py::test_the_next_scenario_finds_the_noise" in out, out
    result.stdout.fnmatch_lines([
        "*It came after the SUT's replies to tools/call (tool 'late_garbage') of "
        "test_spec.py::test_a_reply_followed_by_noise_a_second_later?raw? (1.*s before). Output later than a "
        "scenario's end-of-scenario check (0.3s after its last reply) is found by the next check*"])


DEAD = """\
@tool:run_vql
Feature: A death between scenarios
  Scenario: The SUT exits some time after a correct reply
    When the SUT will exit in a while

  Scenario: The next scenario finds it dead
    Given the SUT has exited meanwhile
    When I echo "anyone there"

  Scenario: The one after runs on a fresh SUT
    When I echo "back"
"""


def test_a_session_found_dead_between_scenarios_is_reported_not_silently_restarted(pytester):
    result = _run(pytester, DEAD)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "FAILED test_spec.py::test_the_next_scenario_finds_it_dead" in out, out
    assert "was found dead before this scenario used it" in out and "exited with code 3" in out
    assert "test_the_sut_exits_some_time_after_a_correct_reply" in out   # named as the last user


ESCAPE = """\
@tool:run_vql
Feature: Helpers
  Scenario: A helper in its own session
    When the SUT starts a helper in its own session
"""


def test_a_helper_in_its_own_session_does_not_outlive_the_run(pytester):
    result = _run(pytester, ESCAPE)
    result.assert_outcomes(passed=1)
    helper = int(pytester.path.joinpath("helper.pid").read_text())
    try:
        assert not procs.pid_alive(helper), f"{procs.describe(helper)} outlived the run"
    finally:
        if procs.pid_alive(helper):
            import os
            os.kill(helper, 9)


BIG = """\
@tool:run_vql
Feature: Big replies
  Scenario: A reply over the cap
    When the SUT sends a reply of 2 MiB

  Scenario: A small one afterwards
    When I echo "small"
"""


def test_sut_max_reply_caps_one_message(pytester):
    result = _run(pytester, BIG, "--sut-max-reply=1MiB")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "SutReplyTooLarge" in out and "longer than the cap of 1 MiB (--sut-max-reply)" in out, out
    assert "FAILED test_spec.py::test_a_reply_over_the_cap" in out


@pytest.mark.parametrize("text, size", [("1048576", 1 << 20), ("256MiB", 256 << 20), ("64k", 64 << 10),
                                        ("1.5GiB", 3 << 29)])
def test_max_reply_sizes(text, size):
    from support.sut.plugin import _byte_size
    assert _byte_size(text) == size


@pytest.mark.parametrize("text", ["", "MiB", "-1", "12 parsecs"])
def test_max_reply_rejects_nonsense(text):
    import argparse

    from support.sut.plugin import _byte_size
    with pytest.raises(argparse.ArgumentTypeError):
        _byte_size(text)


# ---------------------------------------------------------------- the drain overlaps the cleanup (issue 12)

LEDGER_CONFTEST = CONFTEST + """
import json, time
from pathlib import Path
from support.sut import session as _session
from support.waits import wait_for

LOG = Path("timeline.jsonl")

def _note(what, **kw):
    with LOG.open("a") as fh:
        fh.write(json.dumps({"what": what, "t": time.monotonic(), **kw}) + "\\n")

_check_quiet = _session.SutSession.check_quiet

def _timed_check_quiet(self, *a, **kw):
    _note("check_quiet start")
    try:
        return _check_quiet(self, *a, **kw)
    finally:
        _note("check_quiet end")

_session.SutSession.check_quiet = _timed_check_quiet

class SlowCleanupLedger:
    '''A ledger whose cleanup takes 0.8 s (longer than the 0.6 s drain), as a hunt's removal can.'''
    def observe(self, call, tool, kwargs):
        return call(tool, **kwargs)
    def clean_early(self):
        _note("clean_early start")
        t0 = time.monotonic()
        wait_for(lambda: (time.monotonic() - t0 >= 0.8, None), "the fake cleanup", timeout=5, interval=0.05)
        _note("clean_early end")
    def clean(self):
        _note("clean")
        return []

@pytest.fixture
def ledger():
    led = SlowCleanupLedger()
    yield led
    assert led.clean() == []
"""


def _timeline(pytester: pytest.Pytester) -> list[tuple[str, float]]:
    import json
    return [(r["what"], r["t"]) for r in map(json.loads, pytester.path.joinpath("timeline.jsonl").read_text().splitlines())]


def _run_with_ledger(pytester: pytest.Pytester, feature: str, *args: str) -> pytest.RunResult:
    # in a subprocess: the conftest wraps SutSession.check_quiet, which in-process would stay
    # wrapped (and wrapped again by the next run) in this pytest, whatever test came next
    return _run(pytester, feature, "--sut-drain=0.6", *args, conftest=LEDGER_CONFTEST, in_subprocess=True)


def test_the_drain_window_passes_during_the_ledgers_cleanup_instead_of_after_it(pytester):
    result = _run_with_ledger(pytester, LATE, "-k", "clean_echo")
    result.assert_outcomes(passed=1, deselected=1)
    events = _timeline(pytester)
    names = [w for w, _ in events]   # (the run's end checks each session once more: drain 0)
    assert names[:5] == ["clean_early start", "clean_early end", "check_quiet start", "check_quiet end", "clean"], names
    t = dict(events[:5])
    assert t["check_quiet end"] - t["check_quiet start"] < 0.2, (
        f"the end check waited {t['check_quiet end'] - t['check_quiet start']:.2f}s although the 0.6s drain "
        f"had passed during the 0.8s cleanup")


def test_late_output_during_the_cleanup_still_fails_the_scenario_that_caused_it(pytester):
    result = _run_with_ledger(pytester, LATE)
    result.assert_outcomes(passed=1, failed=1)   # a failure of the scenario, not an error at its teardown
    out = result.stdout.str()
    assert "FAILED test_spec.py::test_a_reply_followed_by_noise" in out and "[WebSocket] Closed" in out, out
    names = [w for w, _ in _timeline(pytester)]
    assert names[:3] == ["clean_early start", "clean_early end", "check_quiet start"], names
