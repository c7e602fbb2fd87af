"""Lab directories (~100 MB each) are never left behind without a word.

Every kept directory is printed with its absolute path (a failed or interrupted start,
``--keep-lab``); ``python -m support.lab down`` cleans up after a lab whose supervisor was
killed; a starting embedded lab removes the directories of runs that ended without cleanup
(their owner process is gone), never one kept on purpose.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.errors import LabError
from support.lab import EmbeddedLab, free_ports
from support.lab.base import KEPT_FILE, OWNER_FILE, lab_owner, reap_stale_lab_dirs

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _lab_dir(base: Path, name: str, owner: str | None, kept: bool = False) -> Path:
    path = base / f"raptorspec-lab-{name}"
    (path / "client-0").mkdir(parents=True)
    (path / "frontend.log").write_text("log\n")
    if owner is not None:
        (path / OWNER_FILE).write_text(owner + "\n")
    if kept:
        (path / KEPT_FILE).write_text("--keep-lab\n")
    return path


def test_only_the_directories_of_runs_that_are_gone_are_reaped(tmp_path: Path):
    boot = lab_owner().split(":")[0]
    gone = _lab_dir(tmp_path, "gone", f"{boot}:{_dead_pid()}")
    other_boot = _lab_dir(tmp_path, "reboot", f"0000-other-boot:{os.getpid()}")
    live = _lab_dir(tmp_path, "live", lab_owner())
    kept = _lab_dir(tmp_path, "kept", f"{boot}:{_dead_pid()}", kept=True)
    old = _lab_dir(tmp_path, "old", None)
    removed = reap_stale_lab_dirs(tmp_path)
    assert not gone.exists() and not other_boot.exists()
    assert live.exists() and kept.exists() and old.exists()
    assert len(removed) == 2 and all("is gone" in line for line in removed)


def test_a_starting_embedded_lab_removes_the_directory_of_a_killed_run(velociraptor_binary, tmp_path: Path):
    """A harness SIGKILLed with its lab directory made (no teardown runs at all): the next
    embedded lab to start removes it, and says so."""
    script = (
        "import os, signal\nfrom pathlib import Path\nfrom support.lab import EmbeddedLab\n"
        f"lab = EmbeddedLab(Path({str(velociraptor_binary)!r}), base_dir=Path({str(tmp_path)!r}))\n"
        "print(lab.dir, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    left = Path(proc.stdout.strip())
    assert left.is_dir()
    holder = socket.socket()           # a taken port: the start fails at once, after the reaping
    holder.bind(("127.0.0.1", 0))
    try:
        lab = EmbeddedLab(velociraptor_binary, base_dir=tmp_path, ports=[holder.getsockname()[1], *free_ports(3)])
        with pytest.raises(LabError, match="already in use"):
            lab.__enter__()
    finally:
        holder.close()
    assert not left.exists(), "the directory of the killed run is still there"
    assert not lab.dir.exists()


def test_keep_lab_marks_and_prints_the_directory(velociraptor_binary, tmp_path: Path, capfd):
    lab = EmbeddedLab(velociraptor_binary, base_dir=tmp_path, keep=True)
    lab.close()
    err = capfd.readouterr().err
    assert str(lab.dir) in err and lab.dir.is_absolute() and "--keep-lab" in err
    (lab.dir / OWNER_FILE).write_text(f"{lab_owner().split(':')[0]}:{_dead_pid()}\n")
    assert reap_stale_lab_dirs(tmp_path) == [] and lab.dir.exists(), "a kept directory is never reaped"
    shutil.rmtree(lab.dir)


def test_lab_down_cleans_up_after_a_killed_supervisor(tmp_path: Path):
    cache = tmp_path / "cache"
    lab_dir = _lab_dir(tmp_path, "orphan", f"{lab_owner().split(':')[0]}:{_dead_pid()}")
    (cache / "lab").mkdir(parents=True)
    (cache / "lab" / "current.json").write_text(json.dumps({
        "dir": str(lab_dir), "api_config": str(lab_dir / "api_client.yaml"), "client_ids": [],
        "pids": {"frontend": _dead_pid()}, "logs": {}, "supervisor_pid": _dead_pid()}))
    env = dict(os.environ, RAPTORSPEC_CACHE=str(cache))
    down = subprocess.run([sys.executable, "-m", "support.lab", "down"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert "is gone" in down.stdout and str(lab_dir) in down.stdout, down.stdout
    assert not lab_dir.exists()
    assert not (cache / "lab" / "current.json").exists()


@pytest.mark.lab
def test_ctrl_c_during_lab_start_prints_the_kept_directory(pytester, velociraptor_binary, tmp_path: Path):
    """The frontend sends SIGINT to the harness while the lab waits for it: the run stops as
    after Ctrl-C, and the directory kept for inspection is printed with its absolute path."""
    wrapper = tmp_path / "velociraptor"
    # once the frontend has written its first log line (the harness then waits for it to answer)
    wrapper.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = frontend ] && '
                       '( until [ -s frontend.log ]; do sleep 0.1; done; kill -INT $PPID ) & done\n'
                       f'exec {velociraptor_binary} "$@"\n')
    wrapper.chmod(0o755)
    pytester.makeconftest(
        "import pytest, tempfile\nfrom pathlib import Path\n"
        f"@pytest.fixture(scope='session')\ndef velociraptor_binary():\n    return Path({str(wrapper)!r})\n")
    pytester.makepyfile(test_x="def test_x(lab):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "support.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
                                           f"--basetemp={tmp_path / 'inner'}")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out[-3000:]
    kept = [Path(line.rsplit(": ", 1)[1].strip()) for line in result.stdout.lines if "lab directory kept" in line]
    assert kept and kept[0].is_absolute() and (kept[0] / "frontend.log").is_file(), out[-3000:]
    shutil.rmtree(kept[0])


@pytest.mark.lab
def test_keep_lab_on_a_clean_run_prints_the_directory(pytester, velociraptor_binary, tmp_path: Path):
    pytester.makeconftest(
        "import pytest\nfrom pathlib import Path\n"
        f"@pytest.fixture(scope='session')\ndef velociraptor_binary():\n    return Path({str(velociraptor_binary)!r})\n")
    pytester.makepyfile(test_x="def test_x(lab):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "support.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
                                           f"--basetemp={tmp_path / 'inner'}", "--keep-lab",
                                           "--clients", "1")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 0, out[-3000:]
    kept = [Path(line.rsplit(": ", 1)[1].strip()) for line in result.stdout.lines if "lab directory kept" in line]
    assert kept and kept[0].is_absolute() and (kept[0] / "lab.json").is_file(), out[-3000:]
    shutil.rmtree(kept[0])


# --- options the run would ignore ------------------------------------------------------------
@pytest.mark.parametrize("lab", [None, "embedded", "docker"])
def test_api_config_without_an_external_lab_is_a_usage_error(pytester, tmp_path: Path, lab: str | None):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    args = ["-p", "support.lab.plugin", "-p", "no:cacheprovider", "--api-config", str(tmp_path / "api_client.yaml")]
    result = pytester.runpytest_subprocess(*args, *(["--lab", lab] if lab else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(["*--api-config is for --lab external*"])


def test_api_config_and_lab_external_together_are_no_usage_error(pytester, tmp_path: Path):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "support.lab.plugin", "-p", "no:cacheprovider", "--lab", "external",
                                           "--api-config", str(tmp_path / "api_client.yaml"))
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
