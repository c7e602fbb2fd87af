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
