"""The embedded lab (the default): a Velociraptor frontend and client(s) as local processes.

Fresh configs and certificates in a new temp directory, every listener on 127.0.0.1, each
process in its own process group (stopped with SIGTERM, then SIGKILL) and killed with the
harness even when the harness itself is SIGKILLed (``PR_SET_PDEATHSIG``). When the harness
runs as root, the clients run as ``nobody``. Logs go to ``<dir>/frontend.log`` and
``<dir>/client-N/client.log``.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from support.errors import LabError
from support.lab.base import (LAB_DIRS, LabBase, die_with_parent, keep_dir, keep_sut_logs, log_tail_block,
                              mark_owner, port_in_use, reap_stale_lab_dirs, warn)
from support.lab import interrupts
from support.lab.config import LabConfig
from support.lab.ready import wait_enrolled, wait_server_ready
from support.oracle import Oracle


class _Proc:
    """A lab process: its name, its Popen (leader of its own process group) and its log file."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name, self.popen, self.log = name, popen, log

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; reap the leader."""
        if self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def kill(self) -> None:
        """SIGKILL the process group at once (no wait)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class EmbeddedLab(LabBase):
    """Velociraptor server + client(s) as local child processes. A context manager.

    ``binary``: a verified server build (:func:`support.lab.provision.ensure_binary`).
    ``clients``: how many clients to start (>= 1). ``base_dir``: where the lab's temp
    directory is made (default: the system temp dir). ``keep``: keep the directory after a
    clean close. ``ready_timeout`` / ``enroll_timeout``: seconds for the server to answer and
    for every client to be enrolled and interrogated. ``ports``: frontend, API, GUI,
    monitoring (default: free ports).

    A start that fails stops every process it started and KEEPS the directory (its absolute
    path is in the :class:`LabError`), whatever ``keep`` says.
    """

    mode = "embedded"

    def __init__(self, binary: Path, *, clients: int = 1, base_dir: Path | None = None,
                 run_clients_as: str | None = "auto", keep: bool = False, ready_timeout: float = 60,
                 enroll_timeout: float = 120, die_with_parent: bool = True, ports: list[int] | None = None):
        if clients < 1:
            raise LabError(f"--clients must be at least 1 (got {clients})")
        self.binary = Path(binary)
        self.n_clients = clients
        self.keep = keep
        self.ready_timeout, self.enroll_timeout = ready_timeout, enroll_timeout
        self.die_with_parent = die_with_parent
        if base_dir is not None:
            Path(base_dir).mkdir(parents=True, exist_ok=True)
        self.base_dir = Path(base_dir) if base_dir is not None else Path(tempfile.gettempdir())
        self.dir = Path(tempfile.mkdtemp(prefix="raptorspec-lab-", dir=base_dir)).resolve()
        self.dir.chmod(0o755)
        mark_owner(self.dir)
        LAB_DIRS.append(self.dir)
        self.cfg = LabConfig(self.binary, self.dir, ports=ports)
        self.api_config = self.cfg.api_config
        if run_clients_as == "auto":
            run_clients_as = "nobody" if os.geteuid() == 0 else None
        self.client_user = run_clients_as
        self.procs: list[_Proc] = []
        self.client_ids: list[str] = []
        self.timings: dict[str, float] = {}  # seconds from start(): server_ready, clients_enrolled
        self.kept_dir: Path | None = None
        self.reinterrogated: list[str] = []  # clients the lab had to interrogate again (see ready.wait_enrolled)
        self._started = False
        self._closed = False

    # -- Lab protocol --------------------------------------------------------------------
    def alive(self) -> str | None:
        if self._closed:
            return "the lab was shut down"
        for p in self.procs:
            code = p.popen.poll()
            if code is not None:
                return f"{p.name} (pid {p.popen.pid}) exited with code {code}; log: {p.log}"
        return None

    def logs(self, lines: int = 30) -> str:
        return "\n".join(log_tail_block(p.name, p.log, lines) for p in self.procs)

    def certificates(self) -> dict[str, str]:
        return self.cfg.certificates()

    # -- lifecycle -------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], log: Path, *, user: str | None = None,
               env: dict[str, str] | None = None, cwd: Path | None = None) -> _Proc:
        fh = open(log, "ab")
        kwargs: dict[str, Any] = {}
        if user:
            pw = pwd.getpwnam(user)
            kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        try:
            popen = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=env, cwd=cwd or self.dir,
                                     preexec_fn=die_with_parent if self.die_with_parent else None, **kwargs)
        finally:
            fh.close()
        proc = _Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        """Generate configs, start the frontend, await it, start the clients, await them.

        First removes, with a warning, the lab directories of runs that ended without their
        cleanup (:func:`support.lab.base.reap_stale_lab_dirs`: owner gone, not kept on purpose).

        Raises :class:`LabError` (a port is taken, a config step failed) or a
        :class:`support.errors.WaitError` (the server or a client did not get ready);
        ``__enter__`` turns either into "the embedded lab did not start: …" after cleanup.
        """
        for line in reap_stale_lab_dirs(self.base_dir):
            warn(f"removed the lab directory of a run that ended without cleanup: {line}")
        for port in (self.cfg.frontend_port, self.cfg.api_port, self.cfg.gui_port, self.cfg.monitoring_port):
            if port_in_use(port):
                raise LabError(f"port 127.0.0.1:{port} is already in use; the lab needs it free")
        t0 = time.monotonic()
        self.cfg.generate()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir)}
        self._spawn("frontend", [str(self.binary), "--config", str(self.cfg.server_config), "frontend", "-v",
                                 "--nobanner", "--disable-panic-guard"], self.dir / "frontend.log", env=env)
        wait_server_ready(self, self.cfg.frontend_port, self.cfg.ca_pem(), lambda: Oracle(self.api_config),
                          self.ready_timeout)
        self.timings["server_ready"] = time.monotonic() - t0
        client_binary = self.binary
        if self.client_user:
            # the unprivileged client must be able to read its binary and config
            client_binary = self.dir / "velociraptor"
            shutil.copy2(self.binary, client_binary)
            client_binary.chmod(0o755)
        for i in range(self.n_clients):
            cdir = self.dir / f"client-{i}"
            cdir.mkdir()
            if self.client_user:
                pw = pwd.getpwnam(self.client_user)
                os.chown(cdir, pw.pw_uid, pw.pw_gid)
            cenv = {"PATH": env["PATH"], "HOME": str(cdir), "TMPDIR": str(cdir), "RAPTORSPEC_CLIENT_DIR": str(cdir)}
            self._spawn(f"client-{i}", [str(client_binary), "--config", str(self.cfg.client_config), "client", "-v",
                                        "--nobanner"], cdir / "client.log", user=self.client_user, env=cenv, cwd=cdir)
        with Oracle(self.api_config) as oracle:
            self.client_ids = wait_enrolled(
                oracle, self.n_clients, self, self.enroll_timeout,
                hint=f"each client logs to {self.dir}/client-N/client.log; one that cannot reach the frontend "
                     "says so there")
        self.timings["clients_enrolled"] = time.monotonic() - t0
        self.write_state()
        self._started = True

    def write_state(self) -> None:
        """``<dir>/lab.json``: mode, dir, api_config, client_ids, ports, pids and log paths."""
        state = {"mode": self.mode, "dir": str(self.dir), "api_config": str(self.api_config),
                 "client_ids": self.client_ids, "ports": {
                     "frontend": self.cfg.frontend_port, "api": self.cfg.api_port,
                     "gui": self.cfg.gui_port, "monitoring": self.cfg.monitoring_port},
                 "pids": {p.name: p.popen.pid for p in self.procs},
                 "logs": {p.name: str(p.log) for p in self.procs}}
        (self.dir / "lab.json").write_text(json.dumps(state, indent=2))

    def close(self, failed: bool = False) -> None:
        """Stop every process (clients first); copy the SUTs' logs out (see
        :func:`support.lab.base.keep_sut_logs`); remove the directory unless ``keep``.

        After a failed (or interrupted) start that got as far as starting a process, the
        directory is kept (``kept_dir``) so its logs and datastore can be read. A kept
        directory is marked (never removed automatically) and its absolute path printed
        (:func:`support.lab.base.keep_dir`). Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        broken_off: BaseException | None = None
        for p in reversed(self.procs):
            try:
                p.stop(grace=2.0 if interrupts.again() else 15.0)
            except KeyboardInterrupt as exc:   # a late Ctrl-C: the rest still stops, then it goes on
                broken_off = broken_off or exc
                p.kill()
        keep_sut_logs(self.dir)   # failure messages name them; the report names the copies
        if failed and not self._started and self.procs:
            self.kept_dir = keep_dir(self.dir, "the embedded lab did not start or was interrupted while starting")
        elif self.keep:
            self.kept_dir = keep_dir(self.dir, "--keep-lab")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if broken_off is not None:
            raise broken_off
