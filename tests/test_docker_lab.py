"""Docker mode end to end: the lab tests run against containers of the locally built image,
and nothing (containers, volumes, the engine the suite started) is left afterwards."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60).stdout


@pytest.mark.docker
def test_the_lab_tests_pass_in_docker_mode_and_leave_nothing(velociraptor_binary):
    if not shutil.which("dockerd") or not shutil.which("docker"):
        pytest.skip("Docker is not installed (scripts/sysdeps.sh installs docker.io as root)")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_lab.py", "--lab", "docker", "-m", "lab", "-q",
         "-k", "enrolls or collection or broken", "--report", "none", "-p", "no:randomly"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout, proc.stdout[-2000:]
    # no raptorspec container or volume remains (read from the engine, or from its state
    # directory when the engine the run started has been stopped again)
    if _docker("info", "--format", "{{.ServerVersion}}").strip():
        assert "raptorspec" not in _docker("ps", "-a", "--format", "{{.Names}}")
        assert "raptorspec" not in _docker("volume", "ls", "--format", "{{.Name}}")
    else:
        state = Path("/var/lib/docker")
        volumes = [p.name for p in (state / "volumes").glob("raptorspec*")]
        containers = [p.parent.name for p in (state / "containers").glob("*/config.v2.json")
                      if "raptorspec" in p.read_text()]
        assert not volumes and not containers, (volumes, containers)


# --------------------------------------------------------------------------------------
# a start that fails half-way leaves nothing running (no Docker needed)


def _pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def test_a_dockerd_that_never_answers_is_stopped_again(tmp_path, monkeypatch):
    """The engine the suite starts is stopped even when its readiness wait times out."""
    from support.errors import WaitTimeout
    from support.lab.docker import Dockerd

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pidfile = tmp_path / "dockerd.pid"
    (bin_dir / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (bin_dir / "dockerd").write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec /bin/sleep 600\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr("support.lab.docker.os.geteuid", lambda: 0)  # the harness may start an engine
    engine = Dockerd(tmp_path / "logs")
    with pytest.raises(WaitTimeout, match="the Docker engine to answer"):
        engine.ensure(timeout=3)
    pid = int(pidfile.read_text())
    assert engine.proc is not None and engine.proc.pid == pid
    assert not _pid_alive(pid), f"the dockerd stand-in (pid {pid}) outlived the failed start"


def test_a_docker_lab_whose_up_fails_takes_down_what_it_started(velociraptor_binary, tmp_path):
    """`up` fails: the lab still runs `down -v`, stops the engine, keeps and names its directory."""
    from support.errors import LabError
    from support.lab.docker import DockerLab

    calls = tmp_path / "calls"
    compose = tmp_path / "compose"
    compose.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                       'case " $* " in *" up "*) echo "boom: build failed" >&2; exit 1;; esac\nexit 0\n')
    compose.chmod(0o755)

    class Engine:
        stopped = False

        def ensure(self) -> None:
            pass

        def stop(self) -> None:
            Engine.stopped = True

    lab = DockerLab(velociraptor_binary, run_id="t1", compose=str(compose), engine=Engine(),
                    base_dir=tmp_path / "labs")
    with pytest.raises(LabError) as info:
        lab.__enter__()
    text = str(info.value)
    assert text.startswith("the docker lab did not start:") and "boom: build failed" in text, text
    lines = calls.read_text().splitlines()
    assert any(line.endswith("-p raptorspect1 up --build -d") for line in lines), lines
    assert lines[-1].endswith("-p raptorspect1 down -v"), lines
    assert Engine.stopped
    assert lab.dir.is_dir() and f"kept for inspection (configs, logs, datastore): {lab.dir}" in text


def test_a_lab_left_by_a_killed_run_is_removed_and_a_live_one_kept(tmp_path, monkeypatch):
    """A run killed with SIGKILL leaves its containers and volume; the next docker lab removes
    them (its owner is gone) and leaves alone a lab whose owner still runs and its own project."""
    import subprocess
    import sys

    from support.lab.docker import lab_owner, reap_stale_labs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    boot = lab_owner().split(":")[0]
    calls = tmp_path / "calls"
    docker = tmp_path / "docker"
    docker.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'case "$1 $2" in\n'
        f'  "ps -a") printf "c1\\traptorspecold\\t{boot}:{dead.pid}\\nc2\\traptorspecold\\t{boot}:{dead.pid}\\n'
        f'c3\\traptorspeclive\\t{lab_owner()}\\nc4\\traptorspecmine\\t{boot}:{dead.pid}\\n'
        'c5\\traptorspecancient\\t\\n" ;;\n'
        '  "volume ls") case "$*" in *raptorspecold*) echo raptorspecold_writeback;; esac ;;\n'
        "esac\nexit 0\n")
    docker.chmod(0o755)
    removed = reap_stale_labs(str(docker), keep_project="raptorspecmine")
    lines = calls.read_text().splitlines()
    assert "rm -f c1 c2" in lines and "volume rm raptorspecold_writeback" in lines, lines
    assert "rm -f c5" in lines, "a lab without an owner label (an older suite's) is stale too"
    assert not any("c3" in line or "c4" in line for line in lines if line.startswith("rm")), lines
    assert len(removed) == 2 and removed[1].startswith("raptorspecold (owner ") and "gone" in removed[1], removed
    # an engine that cannot be asked: nothing removed, nothing raised
    assert reap_stale_labs(str(tmp_path / "no-such-docker")) == []
