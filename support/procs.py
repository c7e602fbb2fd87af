"""Processes on this machine: is it alive, whose is it, end it. The suite's one place for that.

Linux only (reads ``/proc``; ``man 5 proc`` documents every field used here). Used by the SUT
layer (:mod:`support.sut.session`) to make sure no process a server under test started
outlives it, and by the lab and its tests for "is this pid / group still there".

**How SUT descendants are found**: a server may start helpers that leave its process
group and session (``start_new_session=True``) and whose parent exits (a double fork), so
neither the group, the session nor the parent link is enough on its own. So a SUT is not
started directly but under a tiny *supervisor* (``python procs.py supervise ARGV``, see
:func:`supervise`) that makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``,
``man 2 prctl``, Linux >= 3.4): every orphan among the SUT's descendants is re-parented to
the supervisor instead of init, so **the process tree under the supervisor is exactly the
SUT and everything it ever started and is still running**, whatever sessions, groups or
environments they chose. The supervisor relays SIGTERM/SIGINT/SIGHUP to the SUT; when the
SUT exits it kills what is left of its tree and exits with the SUT's code. The harness
itself is not made a subreaper (the lab's orphans stay init's business).

A :class:`Tracker` on the supervisor's pid is the harness's side: it samples the tree (plus
the session and group ids, and optionally an environment marker) after every request and
before anything is killed, so a helper is still known after a hard kill of the supervisor
re-parented it to init; :meth:`Tracker.end` kills every tracked process and names those
that survive.

Each pid is remembered with its start time (``/proc/<pid>/stat`` field 22), so a recycled
pid is never mistaken for (or killed as) a tracked process.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


__all__ = [
    "ProcInfo", "Tracker", "info", "all_procs", "pid_alive", "group_alive", "group_members",
    "descendants", "with_environ", "kill_group", "enable_subreaper", "is_subreaper", "describe",
    "supervise", "supervised",
]

PR_SET_CHILD_SUBREAPER = 36   # linux/prctl.h
PR_GET_CHILD_SUBREAPER = 37


@dataclass(frozen=True)
class ProcInfo:
    """One line of ``/proc/<pid>/stat``: ids, the state letter and the start time (clock ticks)."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    state: str
    start: int
    comm: str

    @property
    def running(self) -> bool:
        """True unless a zombie (``Z``) or dead (``X``) entry."""
        return self.state not in ("Z", "X")


def info(pid: int) -> ProcInfo | None:
    """The ``/proc`` entry of ``pid``, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # comm is in parentheses and may itself contain spaces or ')': split at the last ')'
    head, _, rest = raw.rpartition(")")
    fields = rest.split()
    try:
        return ProcInfo(pid=pid, ppid=int(fields[1]), pgid=int(fields[2]), sid=int(fields[3]),
                        state=fields[0], start=int(fields[19]), comm=head.partition("(")[2])
    except (IndexError, ValueError):
        return None


def all_procs() -> list[ProcInfo]:
    """Every process visible in ``/proc`` (a snapshot; entries may vanish while it is read)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = info(int(entry))
            if found is not None:
                out.append(found)
    return out


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    found = info(pid)
    return found is not None and found.running


def group_alive(pgid: int) -> bool:
    """True while any process of the group exists (a zombie leader counts until reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(pgid: int) -> list[int]:
    """Running (non-zombie) members of a process group, from ``/proc``."""
    return [p.pid for p in all_procs() if p.pgid == pgid and p.running]


def descendants(pid: int, procs: Iterable[ProcInfo] | None = None) -> list[ProcInfo]:
    """Every process below ``pid`` in the parent tree (not ``pid`` itself)."""
    children: dict[int, list[ProcInfo]] = {}
    for p in (all_procs() if procs is None else procs):
        children.setdefault(p.ppid, []).append(p)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child.pid != pid and child not in out:
                out.append(child)
                todo.append(child.pid)
    return out


def with_environ(key: str, value: str, procs: Iterable[ProcInfo] | None = None) -> list[ProcInfo]:
    """Processes whose environment holds ``key=value`` (only those of our uid are readable)."""
    needle = f"{key}={value}".encode()
    out = []
    for p in (all_procs() if procs is None else procs):
        try:
            env = Path(f"/proc/{p.pid}/environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            out.append(p)
    return out


def describe(pid: int) -> str:
    """``pid 1234 (sleep 600)``: the pid and its command line, for messages."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmd = ""
    if not cmd:
        found = info(pid)
        cmd = f"[{found.comm}]" if found else "gone"
    return f"pid {pid} ({cmd[:200]})"


def kill_group(pgid: int, timeout: float = 5.0) -> bool:
    """SIGKILL a process group, reap its leader if it is our child, wait until it is gone.

    Returns True when no member is left within ``timeout`` seconds, False otherwise.
    """
    if not group_alive(pgid):
        return True
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    from support.waits import WaitTimeout, wait_for

    def gone() -> tuple[bool, str]:
        _reap(pgid)
        return (not group_alive(pgid), f"process group {pgid} still has members")

    try:
        wait_for(gone, f"process group {pgid} to disappear", timeout=timeout, interval=0.05)
    except WaitTimeout:
        return False
    return True


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our (zombie) child; never blocks, never waits for others."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def enable_subreaper() -> bool:
    """Make this process a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER, 1)``, Linux ≥ 3.4).

    Orphans among our descendants are then re-parented to us, not to init. Idempotent.
    Returns False where the call is not available (the other tracking signals still work).
    """
    libc = _libc()
    if libc is None:
        return False
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def is_subreaper() -> bool:
    """True when this process is a child subreaper."""
    libc = _libc()
    if libc is None:
        return False
    flag = ctypes.c_int(0)
    return libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value == 1


class Tracker:
    """Remembers every process that belongs to one process tree, and ends them all.

    ``root`` is the pid of the tree's first process (which must lead its own session and
    process group: ``start_new_session=True``); ``marker`` a ``(key, value)`` environment
    pair given to the root (see the module docstring for the four signals). Call
    :meth:`sample` whenever the tree may have grown (cheap: one scan of ``/proc``), and
    :meth:`end` at close. Pids are kept with their start times.
    """

    def __init__(self, root: int, marker: tuple[str, str] | None = None):
        self.root = root
        self.marker = marker
        root_info = info(root)
        self.seen: dict[int, int] = {root: root_info.start} if root_info else {}

    def sample(self) -> list[ProcInfo]:
        """Add every process that belongs to the tree now; return the running ones."""
        procs = all_procs()
        ours = {p.pid: p for p in descendants(self.root, procs)}
        for p in procs:
            if p.sid == self.root or p.pgid == self.root:
                ours[p.pid] = p
        if self.marker is not None:
            for p in with_environ(*self.marker, procs=procs):
                ours[p.pid] = p
        for pid, p in ours.items():
            if p.running:
                self.seen.setdefault(pid, p.start)
        return [p for p in ours.values() if p.running]

    def alive(self) -> list[int]:
        """Tracked pids that still run (same pid *and* start time; zombies do not count)."""
        out = []
        for pid, start in self.seen.items():
            p = info(pid)
            if p is not None and p.start == start and p.running:
                out.append(pid)
        return out

    def end(self, timeout: float = 5.0) -> list[str]:
        """SIGKILL every tracked process still running, reap ours, wait (bounded).

        Samples once more first. Returns descriptions (:func:`describe`) of the processes
        still running after ``timeout`` seconds: empty when the tree is gone.
        """
        from support.waits import WaitTimeout, wait_for

        self.sample()
        for pid in self.alive():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

        def gone() -> tuple[bool, list[int]]:
            for pid in self.seen:
                _reap(pid)   # our children (the root; orphans re-parented to a subreaper)
            left = self.alive()
            return (not left, left)

        try:
            wait_for(gone, f"the processes of tree {self.root} to end", timeout=timeout, interval=0.05)
        except WaitTimeout:
            pass
        return [describe(pid) for pid in self.alive()]


# ------------------------------------------------------------------------------------------
# the supervisor (runs as a script: no imports from the suite, stdlib only)


def supervised(argv: list[str], python: str | None = None) -> list[str]:
    """The command line that runs ``argv`` under :func:`supervise` (``python -I -S procs.py``)."""
    import sys

    return [python or sys.executable, "-I", "-S", os.path.abspath(__file__), "supervise", "--", *argv]


SERVER_PID_MARK = "[raptorspec] server pid "
CANNOT_START_MARK = "[raptorspec] cannot start "


def supervise(argv: list[str]) -> int:
    """Run ``argv`` as our child with our stdin/stdout/stderr; end its whole tree when it exits.

    Returns the child's exit code (``128 + N`` when killed by signal N; 127 when it cannot be
    started, with the OS's reason on stderr). Writes ``[raptorspec] server pid N`` on stderr.
    """
    import subprocess
    import sys

    subreaper = enable_subreaper()
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        sys.stderr.write(f"{CANNOT_START_MARK}{argv[0]!r}: {exc}\n")
        return 127
    sys.stderr.write(f"{SERVER_PID_MARK}{child.pid}{'' if subreaper else ' (no subreaper)'}\n")
    sys.stderr.flush()
    # the pipes are the server's: do not hold them open after it is gone
    for fd in (0, 1):
        try:
            os.close(fd)
        except OSError:
            pass

    def relay(signum: int, _frame: object) -> None:
        try:
            child.send_signal(signum)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, relay)
    code = child.wait()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])   # so sigtimedwait below collects it
    # what the server left behind: our descendants (orphans were re-parented to us)
    for _ in range(100):
        left = [p.pid for p in descendants(os.getpid()) if p.running]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:   # reap every child of ours that has exited
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not left and not [p for p in descendants(os.getpid())]:
            break
        signal.sigtimedwait([signal.SIGCHLD], 0.05)   # bounded: 100 x 50 ms at most
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 3 and sys.argv[1] == "supervise" and sys.argv[2] == "--":
        sys.exit(supervise(sys.argv[3:]))
    sys.exit("usage: procs.py supervise -- ARGV...")
