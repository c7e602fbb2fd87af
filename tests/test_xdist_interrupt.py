"""Ctrl-C during a parallel run (pytest-xdist, issue 12): the terminal sends SIGINT to the
controller and every worker at once. Each worker must end its SUT processes, the controller
must stop the shared lab, and nothing of the run may be left running.

The lab is the fake of tests/test_xdist.py (a listening port while it lives, its start and
close logged); the SUT is the fake server of tests/sut_fakes, started from a copy whose path
only this test uses, so that a process left behind is found by its command line.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.waits import wait_for
from test_xdist import FAKE_LAB_CONFTEST

ROOT = Path(__file__).resolve().parent.parent
FAKES = Path(__file__).resolve().parent / "sut_fakes"

STEPS = '''
import os
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from support.waits import wait_for

scenarios("waits.feature")


@pytest.fixture(scope="session", autouse=True)
def _worker_teardown():
    yield
    (Path(os.environ["MARKS"]).parent / f"torn-down-{os.getpid()}").write_text("yes")


@given("an enrolled linux client")
def _():
    pass


@when(parsers.parse("the server under test lists the clients and scenario {n:d} waits"))
def _(sut, n, pytestconfig):
    reply = sut.call("list_clients")
    assert reply.ok, reply.error
    (Path(os.environ["MARKS"]) / f"started-{n}").write_text(str(os.getpid()))
    wait_for(lambda: (False, "waiting for Ctrl-C"), "Ctrl-C", 120, 0.1)


@then("nothing")
def _():
    pass
'''

FEATURE = """\
@tool:list_clients
Feature: Waiting scenarios

  Scenario Outline: Scenario <n> waits
    Given an enrolled linux client
    When the server under test lists the clients and scenario <n> waits
    Then nothing

    Examples:
      | n |
      | 1 |
      | 2 |
"""


def _alive_with(text: str) -> list[str]:
    """Command lines of running processes that contain ``text`` (zombies excluded)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(f"{proc.name}: {cmd.strip()}")
    return found


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm-to-the-controller", "sigterm-to-a-background-controller"])
def test_ctrl_c_under_xdist_ends_every_workers_sut_and_the_shared_lab(tmp_path: Path, how: str):
    """Ctrl-C reaches the whole process group; ``kill`` or a CI runner's cancel may signal the
    controller alone. execnet then has each worker send itself a SIGINT; a run started in the
    background of a non-interactive shell (``cmd &`` in a CI script, ``nohup``) ignores SIGINT,
    so the workers went on until xdist killed them after its exit timeout, with no teardown run
    in them: the controller now passes its interrupt on (SIGUSR1)."""
    server = tmp_path / "fake_server_interrupted.py"   # a path no other test's SUT has
    shutil.copy(FAKES / "fake_server.py", server)
    command = shlex.join([sys.executable, str(server)])
    (tmp_path / "pytest.ini").write_text(textwrap.dedent(f"""\
        [pytest]
        addopts = -p support.plugin -p support.sut.plugin -p no:randomly -p no:cacheprovider
            --sut-profile={FAKES / 'fake_profile.py'} --sut-timeout=10
        raptorspec_spec_module = features/test_spec.py
        markers =
            tool(name): canonical tool
        """))
    (tmp_path / "conftest.py").write_text(FAKE_LAB_CONFTEST)
    features = tmp_path / "features"
    features.mkdir()
    (features / "waits.feature").write_text(FEATURE)
    (features / "test_spec.py").write_text(STEPS)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MARKS": str(marks),
           "FAKE_LAB_LOG": str(tmp_path / "events.jsonl"), "FAKE_LAB_DIR": str(tmp_path / "the-lab")}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "features/", "-n", "2", f"--sut-command={command}",
                             ],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
                            if how == "sigterm-to-a-background-controller" else None)
    try:
        def started() -> tuple[bool, object]:
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before Ctrl-C:\n{proc.stdout.read()}")
            return len(list(marks.iterdir())) == 2, sorted(p.name for p in marks.iterdir())

        wait_for(started, "both workers inside a scenario, their SUTs started", 120, 0.1)
        assert len(_alive_with(str(server))) >= 2, _alive_with(str(server))
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)    # what a terminal's Ctrl-C does: the whole group
        else:
            os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 2, out
    torn_down = sorted(p.name for p in tmp_path.glob("torn-down-*"))
    assert len(torn_down) == 2, f"the workers' session teardowns ran: {torn_down}\n{out}"
    wait_for(lambda: (not _alive_with(str(server)), _alive_with(str(server))),
             "every SUT process of the run to be gone", 10, 0.1)
    events = [json.loads(line)["event"] for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events.count("start") == 1 and events[-1] == "close", (events, out)
    assert not _alive_with(str(tmp_path / "features")), _alive_with(str(tmp_path / "features"))
    assert "KeyboardInterrupt" in out or "Interrupted" in out or "interrupted" in out, out
