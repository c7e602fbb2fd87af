"""support.procs: liveness, groups, descendants and the tracker that ends a whole tree.

Real processes (``sleep`` and small Python children), no lab. Each test ends what it starts.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from support import procs
from support.waits import wait_for

DOUBLE_FORK = (
    "import subprocess,sys; p=subprocess.Popen(['sleep','600'],start_new_session=True,"
    "stdin=subprocess.DEVNULL,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,"
    "env=({} if sys.argv[1:] else None)); print(p.pid)"
)


@pytest.fixture
def started():
    """Pids to SIGKILL at the end whatever happens (so a failing test leaks nothing)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def test_info_and_liveness_of_a_child_and_a_zombie(started):
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    started.append(child.pid)
    me = procs.info(child.pid)
    assert me and me.ppid == os.getpid() and me.pgid == child.pid == me.sid and me.comm == "sleep"
    assert procs.pid_alive(child.pid) and procs.group_alive(child.pid)
    assert procs.group_members(child.pid) == [child.pid]
    wait_for(lambda: ("sleep 600" in procs.describe(child.pid), procs.describe(child.pid)),
             "the command line", timeout=5, interval=0.02)   # empty while exec is under way
    child.kill()
    wait_for(lambda: (procs.info(child.pid).state == "Z", None), "a zombie", timeout=5, interval=0.02)
    assert not procs.pid_alive(child.pid), "a zombie is not alive"
    assert procs.group_alive(child.pid), "an unreaped zombie leader still holds its group"
    child.wait()
    assert procs.info(child.pid) is None and not procs.group_alive(child.pid)


def test_kill_group_ends_every_member(started):
    leader = subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600 & wait"], start_new_session=True)
    started.append(leader.pid)
    def two_sleeps() -> tuple[bool, list]:
        below = procs.descendants(leader.pid)
        return ([p.comm for p in below] == ["sleep", "sleep"], below)   # forked shells exec sleep

    wait_for(two_sleeps, "two sleeping children", timeout=10, interval=0.05)
    assert len(procs.group_members(leader.pid)) == 3
    assert procs.kill_group(leader.pid)
    assert procs.group_members(leader.pid) == []


def test_subreaper_adopts_a_double_forked_orphan_in_a_subprocess():
    """In a fresh interpreter that became a subreaper, the orphan's parent is that interpreter."""
    code = (
        "import os,subprocess,sys; from support import procs; assert procs.enable_subreaper();"
        "assert procs.is_subreaper();"
        f"pid=int(subprocess.run([sys.executable,'-c',{DOUBLE_FORK!r}],capture_output=True,text=True).stdout);"
        "ppid=procs.info(pid).ppid; os.kill(pid,9); os.waitpid(pid,0); print(ppid==os.getpid())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize("clear_env", [False, True], ids=["marked", "env-cleared"])
def test_tracker_ends_helpers_that_left_the_group_and_lost_their_parent(started, clear_env):
    marker = ("RAPTORSPEC_SUT_ID", uuid.uuid4().hex)
    # root: a shell that starts a setsid helper directly and a double-forked one, then waits
    root = subprocess.Popen(
        ["sh", "-c", f'{sys.executable} -c "$1" ${{2:+x}}; setsid sleep 600 & wait', "sh", DOUBLE_FORK,
         "clear" if clear_env else ""],
        start_new_session=True, env=os.environ | {marker[0]: marker[1]}, stdout=subprocess.PIPE, text=True)
    started.append(root.pid)
    orphan = int(root.stdout.readline())
    started.append(orphan)
    wait_for(lambda: (orphan not in [p.pid for p in procs.descendants(root.pid)], procs.info(orphan)),
             "the intermediate to exit (orphaning the helper)", timeout=10, interval=0.02)
    tracker = procs.Tracker(root.pid, marker)

    def both() -> tuple[bool, list]:
        running = tracker.sample()
        return (len([p for p in running if p.comm == "sleep"]) >= (1 if clear_env else 2), running)

    wait_for(both, "the helpers to start", timeout=10, interval=0.05)
    setsid_helper = [p.pid for p in procs.descendants(root.pid) if p.comm == "sleep"]
    started.extend(setsid_helper)
    if clear_env:
        # no marker, no parent link, no group: only a subreaper (or an earlier sample) finds it
        assert orphan not in tracker.seen
        tracker.seen[orphan] = procs.info(orphan).start
    assert orphan in tracker.seen and all(p in tracker.seen for p in setsid_helper)
    left = tracker.end(timeout=5)
    root.wait(5)
    assert left == []
    assert not procs.pid_alive(orphan) and not any(procs.pid_alive(p) for p in setsid_helper)


def test_tracker_never_kills_a_recycled_pid(started):
    other = subprocess.Popen(["sleep", "600"])
    started.append(other.pid)
    tracker = procs.Tracker(os.getpid() + 10_000_000)   # a root that does not exist
    tracker.seen[other.pid] = procs.info(other.pid).start + 1   # same pid, another start time
    assert tracker.alive() == []
    assert tracker.end(timeout=1) == []
    assert procs.pid_alive(other.pid)
