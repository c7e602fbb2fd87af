"""``--lab docker``: the lab as containers of a locally built image, driven by pytest-docker.

pytest-docker's settings are overridden here as documented fixtures (override any of them in
your own conftest): ``docker_compose_file`` (docker-compose.test.yml at the top level),
``docker_compose_command`` (Debian's ``docker-compose`` when present, else ``docker compose``),
``docker_compose_project_name`` (``raptorspec<run id>``, unique per run), ``docker_setup``
(``up --build -d``: compose 1.29 has no ``--wait``) and ``docker_cleanup`` (``down -v``: the
volumes go too). Readiness is awaited through /healthz and the oracle, never ``port_for``
(host networking ignores ``ports:``).

When dockerd is not running and the harness is root, it is started here (Debian's docker.io,
vfs storage, no bridge, no iptables: host networking needs neither) and stopped at the end.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from support import waits
from support.lab import LabConfig, LabError, wait_enrolled, wait_server_ready
from support.oracle import Oracle

ROOT = Path(__file__).resolve().parent.parent
DOCKERD_ARGS = ["--storage-driver=vfs", "--bridge=none", "--iptables=false", "--ip6tables=false"]


from support.errors import DockerUnavailable  # noqa: E402,F401 (re-exported)


def _docker_ok() -> tuple[bool, str]:
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=20)
    except FileNotFoundError:
        return False, "the docker client is not installed"
    except subprocess.TimeoutExpired:
        return False, "`docker info` did not answer within 20s"
    return proc.returncode == 0, (proc.stdout or proc.stderr).strip()[-300:]


class Dockerd:
    """Makes sure a Docker engine answers; starts one (as root) if none runs, and stops what it started."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None

    def ensure(self, timeout: float = 60) -> None:
        ok, _ = _docker_ok()
        if ok:
            return
        if shutil.which("docker") is None or shutil.which("dockerd") is None:
            raise DockerUnavailable(
                "Docker is not installed. Install it (Debian: `apt-get install docker.io docker-compose`) "
                "or use the default embedded lab (--lab embedded).")
        if os.geteuid() != 0:
            raise DockerUnavailable(
                "No Docker engine is running and the suite is not root, so it cannot start one. Start dockerd "
                f"(e.g. `sudo dockerd {' '.join(DOCKERD_ARGS)}`) or use --lab embedded.")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / "dockerd.log", "ab")
        self.proc = subprocess.Popen(["dockerd", *DOCKERD_ARGS], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def alive() -> str | None:
            code = self.proc.poll() if self.proc else None
            return None if code is None else f"dockerd exited with code {code}"

        waits.wait_for(_docker_ok, "the Docker engine to answer `docker info`", timeout, 0.5, alive=alive,
                       logs=lambda: (self.log_dir / "dockerd.log").read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def compose_command() -> str:
    return "docker-compose" if shutil.which("docker-compose") else "docker compose"


class DockerLab:
    """The Lab interface over a compose project."""

    mode = "docker"

    def __init__(self, cfg: LabConfig, compose: str, compose_file: Path, project: str):
        self.cfg = cfg
        self.dir = cfg.dir
        self.api_config = cfg.api_config
        self.client_ids: list[str] = []
        self.timings: dict[str, float] = {}  # seconds from `up --build`: containers_up, server_ready, clients_enrolled
        self._compose = [*compose.split(), "-f", str(compose_file), "-p", project]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self._compose, *args], capture_output=True, text=True, timeout=timeout)

    def alive(self) -> str | None:
        out = self._run("ps")
        if out.returncode != 0:
            return f"`docker-compose ps` failed: {out.stderr.strip()[-300:]}"
        down = [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip() and " Up " not in line]
        return f"container(s) not running: {', '.join(down)}\n{out.stdout}" if down else None

    def logs(self, lines: int = 30) -> str:
        out = self._run("logs", "--no-color", "--tail", str(lines))
        return f"--- last {lines} lines of each container ---\n{out.stdout}{out.stderr}"

    def certificates(self) -> dict[str, str]:
        return self.cfg.certificates()

    def close(self) -> None:
        """Nothing to do here: pytest-docker's ``docker_cleanup`` (``down -v``) ends the project."""


# --------------------------------------------------------------------------------------
# pytest-docker settings and the docker_lab fixture


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """The compose file of the docker lab (top-level docker-compose.test.yml)."""
    return str(ROOT / "docker-compose.test.yml")


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    """Debian's docker-compose 1.29 when installed, else the `docker compose` plugin."""
    return compose_command()


@pytest.fixture(scope="session")
def docker_compose_project_name(run_id: str) -> str:
    """A compose project unique to this run."""
    return f"raptorspec{run_id}"


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    """Build the image from the cached binary and start detached (compose 1.29 has no --wait)."""
    return ["up --build -d"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    """Remove the containers and their volumes."""
    return ["down -v"]


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Dockerd]:
    """A Docker engine that answers; one started here is stopped after the lab is down."""
    from support.provision import cache_dir

    engine = Dockerd(cache_dir() / "dockerd")
    try:
        engine.ensure()
    except LabError as exc:
        pytest.exit(str(exc), returncode=3)
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def docker_lab_dir() -> Iterator[Path]:
    """Configs and the image's build context; removed after pytest-docker's `down -v`."""
    lab_dir = Path(tempfile.mkdtemp(prefix="raptorspec-docker-"))
    lab_dir.chmod(0o755)
    try:
        yield lab_dir
    finally:
        shutil.rmtree(lab_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_lab(request: pytest.FixtureRequest, docker_engine: Dockerd, docker_lab_dir: Path,
               velociraptor_binary: Path, run_id: str, docker_compose_file: str, docker_compose_command: str,
               docker_compose_project_name: str, pytestconfig: pytest.Config) -> DockerLab:
    """Generate fresh configs, build the image, bring the compose project up, await readiness.

    The datastore is bind-mounted at the same path inside the server container, so the API
    user that ``config api_client`` writes on the host is the one the server reads.
    """
    from support.provision import VERSION

    if pytestconfig.getoption("--clients") != 1:
        pytest.exit("--lab docker runs exactly one client (scale the compose file for more)", returncode=4)
    cfg = LabConfig(velociraptor_binary, docker_lab_dir)
    cfg.generate(client_dir_expr="$RAPTORSPEC_CLIENT_DIR")
    cfg.server_config.chmod(0o644)  # read inside the container
    context = docker_lab_dir / "image"
    context.mkdir()
    shutil.copy2(ROOT / "docker" / "Dockerfile", context / "Dockerfile")
    if _same_fs(velociraptor_binary, context):
        os.link(velociraptor_binary, context / "velociraptor")
    else:
        shutil.copy2(velociraptor_binary, context / "velociraptor")
    os.environ.update(RAPTORSPEC_LAB_DIR=str(docker_lab_dir), RAPTORSPEC_DOCKER_CONTEXT=str(context),
                      RAPTORSPEC_VR_VERSION=VERSION, RAPTORSPEC_RUN_ID=run_id)
    lab = DockerLab(cfg, docker_compose_command, Path(docker_compose_file), docker_compose_project_name)
    t0 = time.monotonic()
    try:
        request.getfixturevalue("docker_services")  # pytest-docker: `up --build -d`; `down -v` at the end
    except Exception as exc:
        # pytest-docker runs `up` outside its cleanup guard: take down whatever did start
        lab._run("down", "-v", timeout=180)
        pytest.exit(f"the docker lab did not start: {exc}", returncode=3)
    lab.timings["containers_up"] = time.monotonic() - t0
    wait_server_ready(lab, cfg.frontend_port, cfg.ca_pem(), lambda: Oracle(cfg.api_config), 90)
    lab.timings["server_ready"] = time.monotonic() - t0
    with Oracle(cfg.api_config) as oracle:
        lab.client_ids = wait_enrolled(oracle, 1, lab, 120)
    lab.timings["clients_enrolled"] = time.monotonic() - t0
    return lab


def _same_fs(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev
