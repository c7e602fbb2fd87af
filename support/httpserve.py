"""A local MCP server over Streamable HTTP as a child process: start it, read the URL it
prints, stop it, and prove that nothing it started is left.

Used by the project's tests that drive a server through ``--sut-url``: the reference server
(``python -m reference --transport http`` prints ``… listening on http://127.0.0.1:PORT/mcp``
on stderr) and stdio servers bridged by mcp-proxy (whose uvicorn prints ``Uvicorn running on
http://127.0.0.1:PORT``). Nothing here listens itself; the server is asked to bind 127.0.0.1.

    with serving([...], env=env, cwd=ROOT, log=tmp / "server.log",
                 url=r"listening on (http://127\\.0\\.0\\.1:\\d+/mcp)", what="the reference server") as server:
        ...  # server.url
    # here: the process group is gone, or SutLeftProcesses was raised

The server runs in a process group of its own (``start_new_session``); stopping sends SIGTERM
to the group, waits up to ``grace`` seconds, then SIGKILLs what is left.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import procs, waits

ROOT = Path(__file__).resolve().parents[1]
from support.errors import SutLeftProcesses


@dataclass
class Served:
    """A running server: its process (the group leader), the URL it printed, its log (stdout
    and stderr, in that one file)."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the server's output (for failure messages)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError as exc:
            return f"(no log: {exc})"


def stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> list[str]:
    """SIGTERM ``proc``'s process group, wait up to ``grace`` seconds, SIGKILL the rest.

    Returns the processes of the group still there after all that, described (empty when
    all are gone)."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    if procs.group_members(pgid):
        procs.kill_group(pgid, timeout=5.0)
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    return [procs.describe(pid) for pid in procs.group_members(pgid)]


@contextmanager
def serving(argv: list[str], *, env: dict[str, str], cwd: Path | str, log: Path, url: str, what: str,
            timeout: float = 90.0, grace: float = 15.0) -> Iterator[Served]:
    """Start ``argv``, wait (at most ``timeout`` seconds) until its output matches the regular
    expression ``url`` (group 1: the URL), yield a :class:`Served`, then stop it (:func:`stop`,
    SIGKILL after ``grace`` seconds).

    Raises :class:`support.errors.WaitAborted` when the server exits before printing its URL
    and :class:`support.errors.WaitTimeout` when it never prints it (both with the log's tail);
    :class:`support.errors.SutLeftProcesses` when a process of its group outlives the stop."""
    pattern = re.compile(url)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(argv, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
                                start_new_session=True)
    served = Served(proc, "", log)
    left: list[str] = []
    try:
        def printed() -> tuple[bool, Any]:
            found = pattern.search(log.read_text(errors="replace"))
            return bool(found), found.group(1) if found else served.log_tail(5)

        served.url = waits.wait_for(
            printed, f"{what} to print its URL", timeout, 0.2,
            alive=lambda: None if proc.poll() is None else f"{what} exited with {proc.returncode}",
            logs=lambda: served.log_tail())
        yield served
    finally:
        left = stop(proc, grace)
    if left:
        raise SutLeftProcesses(f"{what} left processes running after it was stopped: {'; '.join(left)}")


def run_spec(features: list[str] | tuple[str, ...], sut: str, url: str | None, api_config: Path | str, log: Path,
             timeout: float = 600.0) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``features`` (paths relative to the repository) against ``sut``'s profile at ``url``
    (None: the suite starts it on stdio) in a pytest subprocess, on an external lab
    (``api_config``), in file order, no report.

    Returns (the finished process, its final summary line); its output is also written to
    ``log``. Raises subprocess.TimeoutExpired after ``timeout`` seconds."""
    argv = [sys.executable, "-m", "pytest", *features, "--sut", sut, *(["--sut-url", url] if url else []),
            "--lab", "external", "--api-config", str(api_config), "-p", "no:randomly", "--report", "none", "-q",
            "-rfEsx"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return done, (lines[-1] if lines else "(no output)")


def outcome_counts(summary: str) -> dict[str, int]:
    """pytest's summary line as counts: ``"12 passed, 3 skipped in 80.1s"`` →
    ``{"passed": 12, "skipped": 3}`` (``error``/``errors`` both counted as ``error``)."""
    found: dict[str, int] = {}
    for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)", summary):
        word = "error" if word.startswith("error") else word
        found[word] = found.get(word, 0) + int(n)
    return found
