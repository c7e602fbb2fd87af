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
