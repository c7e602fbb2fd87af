"""The docker lab: the same generated configs, served by containers of a locally built image.

``docker-compose.test.yml`` (top level) runs a server and one client from an image built
here from the cached static binary (``docker/Dockerfile``, ``FROM scratch``; nothing is
pulled), with host networking: every listener is on 127.0.0.1, as in the embedded lab.

:class:`DockerLab` owns the whole lifecycle inside its cleanup guard: make sure a Docker
engine answers (starting ``dockerd`` when none runs and the harness is root), generate the
configs, build the image context, run the compose *setup* commands (``up --build -d``), await
the server and the client. ``close()`` runs the compose *cleanup* commands (``down -v``:
containers and volumes go), stops a dockerd it started and removes its directory. The
commands and names come from pytest-docker's setting fixtures (see support.lab.plugin), but
the lab runs them itself: pytest-docker runs ``up`` outside its ``try``, so a failed ``up``
would never reach ``down -v``.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from support import procs, waits
from support.errors import DockerUnavailable, LabError
from support.lab.base import LAB_DIRS, LabBase, keep_sut_logs, lab_owner, owner_gone, tail, warn
from support.lab.config import LabConfig
from support.lab.ready import wait_enrolled, wait_server_ready
from support.oracle import Oracle

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE_FILE = ROOT / "docker-compose.test.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
DOCKERD_ARGS = ["--storage-driver=vfs", "--bridge=none", "--iptables=false", "--ip6tables=false"]


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
    """Makes sure a Docker engine answers; starts one (as root) if none runs, and stops what it started.

    ``log_dir``: where a started dockerd logs (``dockerd.log``). ``program``: the dockerd
    to run (tests pass a stand-in). ``ensure()`` raises :class:`DockerUnavailable` (no Docker,
    not root) or a :class:`support.errors.WaitError` (the engine did not answer in time); in
    the second case the dockerd it started is already stopped again.
    """

    def __init__(self, log_dir: Path, *, program: str = "dockerd", args: list[str] | None = None):
        self.log_dir = log_dir
        self.program = program
        self.args = DOCKERD_ARGS if args is None else args
        self.proc: subprocess.Popen | None = None

    def ensure(self, timeout: float = 60) -> None:
        """Return once ``docker info`` answers (waiting up to ``timeout`` seconds for a started engine)."""
        ok, _ = _docker_ok()
        if ok:
            return
        if shutil.which("docker") is None or shutil.which(self.program) is None:
            raise DockerUnavailable(
                "Docker is not installed. Install it (Debian: `apt-get install docker.io docker-compose`) "
                "or use the default embedded lab (--lab embedded).")
        if os.geteuid() != 0:
            raise DockerUnavailable(
                "No Docker engine is running and the suite is not root, so it cannot start one. Start dockerd "
                f"(e.g. `sudo dockerd {' '.join(DOCKERD_ARGS)}`) or use --lab embedded.")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / "dockerd.log"
        try:
            with open(log_path, "ab") as log:
                self.proc = subprocess.Popen([self.program, *self.args], stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            waits.wait_for(_docker_ok, "the Docker engine to answer `docker info`", timeout, 0.5, alive=self._alive,
                           logs=lambda: f"--- last lines of {log_path} ---\n{tail(log_path, 40)}")
        except BaseException:
            self.stop()  # started inside the guard: a wait that fails takes the engine down again
            raise

    def _alive(self) -> str | None:
        code = self.proc.poll() if self.proc else None
        return None if code is None else f"dockerd exited with code {code}"

    def stop(self) -> None:
        """Stop the dockerd this object started (its whole process group); no-op otherwise."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


def compose_command() -> str:
    """Debian's ``docker-compose`` (1.29) when installed, else the ``docker compose`` plugin."""
    return "docker-compose" if shutil.which("docker-compose") else "docker compose"


def _owner_gone(owner: str) -> bool:
    """True when the process named by a ``raptorspec.owner`` label no longer runs (or the label
    is empty: a lab made before owners were labelled)."""
    return owner_gone(owner, unknown=True)


def reap_stale_labs(docker: str = "docker", keep_project: str | None = None) -> list[str]:
    """Remove the docker labs left by runs that ended without their cleanup (``kill -9``, a
    crash, a machine stopped mid-run): the containers labelled ``raptorspec.run`` whose
    ``raptorspec.owner`` process is gone, with their compose project's volumes and networks.
    A lab whose owner still runs (another run on this machine) and ``keep_project`` are left
    alone. Returns one line per project removed (for a warning); ``[]`` when the engine cannot
    be asked. Never raises for a failed removal: what could not be removed is named in the line.
    """
    fmt = '{{.ID}}\t{{.Label "com.docker.compose.project"}}\t{{.Label "raptorspec.owner"}}'
    try:
        out = subprocess.run([docker, "ps", "-a", "--filter", "label=raptorspec.run", "--format", fmt],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    stale: dict[str, list[str]] = {}
    owners: dict[str, str] = {}
    for line in out.stdout.splitlines():
        cid, project, owner = (line.split("\t") + ["", ""])[:3]
        if not cid.strip() or not project or project == keep_project or not _owner_gone(owner):
            continue
        stale.setdefault(project, []).append(cid.strip())
        owners[project] = owner or "(no owner label)"
    removed = []
    for project, containers in sorted(stale.items()):
        failed = []
        label = f"label=com.docker.compose.project={project}"
        steps = [("rm", ["rm", "-f", *containers])]
        for kind in ("volume", "network"):
            try:
                ids = subprocess.run([docker, kind, "ls", "-q", "--filter", label], capture_output=True,
                                     text=True, timeout=60).stdout.split()
            except (OSError, subprocess.TimeoutExpired):
                ids = []
            if ids:
                steps.append((f"{kind} rm", [kind, "rm", *ids]))
        done = []
        for what, args in steps:
            try:
                proc = subprocess.run([docker, *args], capture_output=True, text=True, timeout=120)
                ok = proc.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            (done if ok else failed).append(f"{what} {' '.join(args[2:])}")
        removed.append(f"{project} (owner {owners[project]} is gone): " + "; ".join(done)
                       + (f"; FAILED: {'; '.join(failed)}" if failed else ""))
    return removed


class DockerLab(LabBase):
    """The Lab over a compose project of a locally built image. A context manager.

    ``binary``: the verified server build baked into the image. ``run_id``: labels the
    containers. ``compose``: the compose command (a string, split on spaces);
    ``compose_file``; ``project``: a compose project name unique to the run; ``setup`` /
    ``cleanup``: compose sub-commands run at start / close (pytest-docker's form:
    ``["up --build -d"]``, ``["down -v"]``). ``engine``: a :class:`Dockerd` (default: one
    logging under the suite's cache). Exactly one client (the compose file has one).
    """

    mode = "docker"

    def __init__(self, binary: Path, *, run_id: str, compose: str | None = None, compose_file: Path = COMPOSE_FILE,
                 project: str | None = None, setup: list[str] | None = None, cleanup: list[str] | None = None,
                 clients: int = 1, engine: Dockerd | None = None, base_dir: Path | None = None,
                 keep: bool = False, ready_timeout: float = 90, enroll_timeout: float = 120,
                 ports: list[int] | None = None):
        if clients != 1:
            raise LabError(f"the docker lab runs exactly one client (got --clients {clients}); "
                           "scale the compose file for more")
        self.binary = Path(binary)
        self.run_id = run_id
        if base_dir is not None:
            Path(base_dir).mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="raptorspec-docker-", dir=base_dir)).resolve()
        LAB_DIRS.append(self.dir)
        self.dir.chmod(0o755)
        self.cfg = LabConfig(self.binary, self.dir, ports=ports)
        self.api_config = self.cfg.api_config
        self.client_ids: list[str] = []
        self.timings: dict[str, float] = {}  # seconds from start(): containers_up, server_ready, clients_enrolled
        self.keep = keep
        self.ready_timeout, self.enroll_timeout = ready_timeout, enroll_timeout
        self.setup = list(setup or ["up --build -d"])
        self.cleanup = list(cleanup or ["down -v"])
        self._compose = [*(compose or compose_command()).split(), "-f", str(compose_file), "-p",
                         project or f"raptorspec{run_id}"]
        if engine is None:
            from support.cache import cache_dir

            engine = Dockerd(cache_dir() / "dockerd")
        self.engine = engine
        self.kept_dir: Path | None = None
        self.reinterrogated: list[str] = []  # clients the lab had to interrogate again (see ready.wait_enrolled)
        self._env = dict(os.environ)
        self._up_attempted = False
        self._started = False
        self._closed = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self._compose, *args], capture_output=True, text=True, timeout=timeout, env=self._env)

    # -- Lab protocol --------------------------------------------------------------------
    def alive(self) -> str | None:
        if self._closed:
            return "the lab was shut down"
        out = self._run("ps")
        if out.returncode != 0:
            return f"`docker-compose ps` failed: {out.stderr.strip()[-300:]}"
        down = [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip() and " Up " not in line]
        return f"container(s) not running: {', '.join(down)}\n{out.stdout}" if down else None

    def logs(self, lines: int = 30) -> str:
        if not self._up_attempted:
            return ""
        try:
            out = self._run("logs", "--no-color", "--tail", str(lines))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"(`docker-compose logs` failed: {exc})"
        return f"--- last {lines} lines of each container ---\n{out.stdout}{out.stderr}"

    def certificates(self) -> dict[str, str]:
        return self.cfg.certificates()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Engine, configs, image context, ``setup`` commands, then the server and client waits.

        Raises :class:`DockerUnavailable`, :class:`LabError` (a compose command failed) or
        a :class:`support.errors.WaitError`.
        """
        from support.lab.provision import VERSION

        t0 = time.monotonic()
        self.engine.ensure()
        self.cfg.generate(client_dir_expr="$RAPTORSPEC_CLIENT_DIR")
        self.cfg.server_config.chmod(0o644)  # read inside the container
        context = self.dir / "image"
        context.mkdir()
        shutil.copy2(DOCKERFILE, context / "Dockerfile")
        if os.stat(self.binary).st_dev == os.stat(context).st_dev:
            os.link(self.binary, context / "velociraptor")
        else:
            shutil.copy2(self.binary, context / "velociraptor")
        # the compose file reads these (its ${RAPTORSPEC_*} variables)
        self._env.update(RAPTORSPEC_LAB_DIR=str(self.dir), RAPTORSPEC_DOCKER_CONTEXT=str(context),
                         RAPTORSPEC_VR_VERSION=VERSION, RAPTORSPEC_RUN_ID=self.run_id,
                         RAPTORSPEC_LAB_OWNER=lab_owner())
        for line in reap_stale_labs(keep_project=self._compose[self._compose.index("-p") + 1]):
            warn(f"removed a docker lab left by a run that ended without its cleanup: {line}")
        self._up_attempted = True
        for command in self.setup:
            out = self._run(*shlex.split(command), timeout=900)
            if out.returncode != 0:
                raise LabError(f"`{' '.join(self._compose)} {command}` failed (exit {out.returncode}):\n"
                               f"{(out.stderr or out.stdout)[-3000:]}")
        self.timings["containers_up"] = time.monotonic() - t0
        wait_server_ready(self, self.cfg.frontend_port, self.cfg.ca_pem(), lambda: Oracle(self.api_config),
                          self.ready_timeout)
        self.timings["server_ready"] = time.monotonic() - t0
        with Oracle(self.api_config) as oracle:
            self.client_ids = wait_enrolled(oracle, 1, self, self.enroll_timeout,
                                            hint="the client container's log (below) says whether it reached the frontend")
        self.timings["clients_enrolled"] = time.monotonic() - t0
        self._started = True

    def close(self, failed: bool = False) -> None:
        """``cleanup`` commands (when ``up`` was tried), then stop a dockerd started here, then the directory.

        After a failed start the container logs are saved to ``<dir>/compose.log`` and the
        directory is kept (``kept_dir``). Idempotent; every step runs even when one fails.
        """
        if self._closed:
            return
        self._closed = True
        problems = []
        keep_dir = failed and not self._started and self._up_attempted
        try:
            if self._up_attempted:
                if keep_dir:
                    try:
                        (self.dir / "compose.log").write_text(self._run("logs", "--no-color", timeout=120).stdout)
                    except (OSError, subprocess.TimeoutExpired) as exc:
                        problems.append(f"saving the container logs: {exc}")
                for command in self.cleanup:
                    try:
                        out = self._run(*shlex.split(command), timeout=180)
                        if out.returncode != 0:
                            problems.append(f"`{command}` exited {out.returncode}: {out.stderr.strip()[-500:]}")
                    except (OSError, subprocess.TimeoutExpired) as exc:
                        problems.append(f"`{command}`: {exc}")
        finally:
            self.engine.stop()
            keep_sut_logs(self.dir)   # failure messages name them; the report names the copies
            if keep_dir:
                self.kept_dir = self.dir
                warn(f"the docker lab did not start; its directory is kept: {self.dir}")
            elif not self.keep:
                shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            raise LabError("closing the docker lab: " + "; ".join(problems))
