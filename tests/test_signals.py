"""A run stopped by SIGTERM (a CI job cancelled, `timeout`) tears down like Ctrl-C: every
session fixture's teardown runs, so no lab directory (with its keys) is left behind."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from support.waits import wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_sigterm_runs_the_session_teardown(tmp_path: Path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""\
        import pytest
        from pathlib import Path

        @pytest.fixture(scope="session")
        def made():
            d = Path({str(tmp_path)!r}) / "lab-like"
            d.mkdir()
            yield d
            d.rmdir()
            (Path({str(tmp_path)!r}) / "torn-down").write_text("yes")
        """))
    (tmp_path / "test_wait.py").write_text(textwrap.dedent(f"""\
        from pathlib import Path
        from support.waits import wait_for

        def test_waits(made):
            (Path({str(tmp_path)!r}) / "started").write_text("yes")
            wait_for(lambda: (False, "waiting for SIGTERM"), "a signal", 120, 0.1)
        """))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "support.lab.plugin", "-p", "no:randomly",
                             "-p", "no:cacheprovider", "-q", str(tmp_path)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: ((tmp_path / "started").exists(), "not started"), "the test to start", 60, 0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "torn-down").exists(), out
    assert not (tmp_path / "lab-like").exists()
    assert "SIGTERM" in out, out


# --- Ctrl-C more than once: no hang, the lab still goes -------------------------------------
def _hung_audit_run(tmp_path: Path) -> subprocess.Popen:
    """A run whose leak audit hangs in a call to Velociraptor (as a gRPC call on a channel left
    broken by an interrupt did: no deadline fired), with a lab-like session fixture."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""\
        import threading
        from pathlib import Path

        import pytest

        TMP = Path({str(tmp_path)!r})


        class HungOracle:
            api_user = "raptorspec"

            def _hang(self, *args, **kwargs):
                (TMP / "audit-started").write_text("yes")
                threading.Event().wait()      # the call that never returns

            client = clients = hunts = flow = hunt = _hang


        class LabLike:
            dir = TMP / "lab-like"


        @pytest.fixture(scope="session")
        def lab():
            LabLike.dir.mkdir()
            yield LabLike()
            LabLike.dir.rmdir()
            (TMP / "lab-removed").write_text("yes")


        @pytest.fixture(scope="session")
        def oracle(lab):
            return HungOracle()


        @pytest.fixture(scope="session")
        def run_id():
            return "r1"
        """))
    (tmp_path / "test_wait.py").write_text(textwrap.dedent(f"""\
        from pathlib import Path
        from support.waits import wait_for

        def test_waits(ledger_book):
            (Path({str(tmp_path)!r}) / "started").write_text("yes")
            try:
                wait_for(lambda: (False, "waiting for Ctrl-C"), "a signal", 120, 0.1)
            except KeyboardInterrupt:
                (Path({str(tmp_path)!r}) / "interrupted").write_text("yes")
                raise
        """))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "support.lab.plugin", "-p", "support.ledger",
                             "-p", "no:randomly", "-p", "no:cacheprovider", "-q", str(tmp_path)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: ((tmp_path / "started").exists(), "not started"), "the test to start", 60, 0.1)
    return proc


def _finish(proc: subprocess.Popen, seconds: float) -> str:
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"the run still ran {seconds:g}s after the interrupts (hung):\n{out[-3000:]}") from None
    return out


def test_a_second_ctrl_c_breaks_off_a_hung_audit_and_the_lab_still_goes(tmp_path: Path):
    proc = _hung_audit_run(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: ((tmp_path / "audit-started").exists(), "no audit yet"), "the audit to start", 60, 0.1)
        proc.send_signal(signal.SIGINT)
        out = _finish(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_audit_skipped_and_lab_removed(tmp_path, out)


def _assert_audit_skipped_and_lab_removed(tmp_path: Path, out: str) -> None:
    assert "interrupted again: skipping the leak audit" in out, out[-3000:]
    assert (tmp_path / "lab-removed").exists(), f"the lab's teardown did not run:\n{out[-3000:]}"


def test_three_quick_ctrl_c_skip_the_audit_and_do_not_hang(tmp_path: Path):
    """Three SIGINTs in quick succession (the user's report: 0.3 s apart, then a hang in gRPC
    for minutes). Signals sent before the first is handled merge into one, so the second and
    third go once the first has stopped the test."""
    proc = _hung_audit_run(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: ((tmp_path / "interrupted").exists(), "not yet"), "the first interrupt to land", 60, 0.05)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        out = _finish(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_audit_skipped_and_lab_removed(tmp_path, out)
