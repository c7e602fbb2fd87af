"""support/httpserve.py without a lab: the URL read from the output, a server that dies
before printing it, one that ignores SIGTERM and leaves a child behind."""
from __future__ import annotations

import os
import sys
import textwrap

import pytest

from support import procs
from support.errors import WaitAborted, WaitTimeout
from support.httpserve import serving

URL = r"listening on (http://127\.0\.0\.1:\d+/mcp)"
ENV = {"PATH": os.environ.get("PATH", "")}


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "server.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_the_url_is_read_from_the_output_and_the_group_is_gone_after(tmp_path):
    argv = _script(tmp_path, """\
        import subprocess, sys, threading
        child = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"])
        print("noise first", file=sys.stderr, flush=True)
        print("srv listening on http://127.0.0.1:4242/mcp", file=sys.stderr, flush=True)
        threading.Event().wait()
        """)
    with serving(argv, env=ENV, cwd=tmp_path, log=tmp_path / "s.log", url=URL, what="the fake", timeout=30) as s:
        assert s.url == "http://127.0.0.1:4242/mcp"
        pgid = s.pgid
        assert len(procs.group_members(pgid)) == 2          # the server and its child
    assert not procs.group_members(pgid)


def test_a_server_that_dies_before_its_url_is_named_with_its_output(tmp_path):
    argv = _script(tmp_path, """\
        import sys
        print("Config error: /nowhere/api_client.yaml not found", file=sys.stderr)
        sys.exit(3)
        """)
    with pytest.raises(WaitAborted) as info:
        with serving(argv, env=ENV, cwd=tmp_path, log=tmp_path / "s.log", url=URL, what="the fake", timeout=30):
            pass
    assert "the fake exited with 3" in str(info.value)
    assert "Config error" in str(info.value) + "".join(getattr(info.value, "__notes__", []))


def test_a_server_that_never_prints_its_url_times_out_and_is_stopped(tmp_path):
    argv = _script(tmp_path, """\
        import signal, threading
        signal.signal(signal.SIGTERM, signal.SIG_IGN)      # only SIGKILL ends it
        print("starting", flush=True)
        threading.Event().wait()
        """)
    with pytest.raises(WaitTimeout) as info:
        with serving(argv, env=ENV, cwd=tmp_path, log=tmp_path / "s.log", url=URL, what="the fake", timeout=1.5,
                     grace=1.0):
            pass
    assert "the fake to print its URL" in str(info.value) and "starting" in str(info.value)
    assert not [p for p in procs.all_procs() if str(tmp_path / "server.py") in procs.describe(p.pid)]
