"""The live Velociraptor lab: a server and enrolled Linux client(s) the suite starts and stops.

Three modes share one :class:`Lab` interface, so waits and the oracle never branch on mode:

- :class:`EmbeddedLab` (default): local processes on 127.0.0.1, fresh configs and certs in a
  temp dir, each process in its own process group, logs to files.
- :class:`DockerLab`: the same configs, served by containers of a locally built image
  (``docker-compose.test.yml``, host networking), driven by pytest-docker (see support.plugin).
- :class:`ExternalLab`: a user's deployment, reached through their api_client.yaml.

``python -m support.lab up|status|down|logs [--json]`` keeps an embedded lab running in the
background, so that ``pytest features/ --lab external --api-config PATH`` can reuse it.
"""
from __future__ import annotations

import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from support import waits
from support.oracle import Oracle, load_api_config
from support.secrets import mask, register_secret

API_USER = "raptorspec"
_PR_SET_PDEATHSIG = 1


from support.errors import LabError  # noqa: E402,F401 (re-exported)


@runtime_checkable
class Lab(Protocol):
    mode: str
    dir: Path
    api_config: Path

    def alive(self) -> str | None: ...        # None while healthy, else why not
    def logs(self, lines: int = 30) -> str: ...
    def certificates(self) -> dict[str, str]: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------------------
# helpers


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the harness dies without tearing down."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def run_checked(cmd: list[str], what: str, *, cwd: Path | None = None, timeout: float = 120,
                input_text: str | None = None) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input_text)
    except FileNotFoundError:
        raise LabError(f"{what}: program not found: {cmd[0]}") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{what}: `{' '.join(cmd)}` did not finish within {timeout:g}s") from None
    if proc.returncode != 0:
        raise LabError(f"{what} failed (exit {proc.returncode}): `{' '.join(cmd)}`\n{(proc.stderr or proc.stdout)[-2000:]}")
    return proc.stdout


def healthz(port: int, ca_pem: str, timeout: float = 3.0) -> tuple[bool, str]:
    """GET https://127.0.0.1:<port>/healthz with the lab's CA (the cert names VelociraptorServer)."""
    ctx = ssl.create_default_context(cadata=ca_pem)
    ctx.check_hostname = False
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=timeout) as resp:
            return resp.status == 200, f"HTTP {resp.status}"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------
# configuration shared by embedded and docker labs


class LabConfig:
    """Generates a lab's configs non-interactively, all listeners on 127.0.0.1."""

    def __init__(self, binary: Path, lab_dir: Path, *, ports: list[int] | None = None):
        self.binary = binary
        self.dir = lab_dir
        self.frontend_port, self.api_port, self.gui_port, self.monitoring_port = ports or free_ports(4)
        self.server_config = lab_dir / "server.config.yaml"
        self.client_config = lab_dir / "client.config.yaml"
        self.api_config = lab_dir / "api_client.yaml"
        self.datastore = lab_dir / "datastore"

    def merge_doc(self, datastore: str, client_dir_expr: str) -> dict[str, Any]:
        return {
            "Frontend": {"bind_address": "127.0.0.1", "bind_port": self.frontend_port, "hostname": "localhost"},
            "API": {"bind_address": "127.0.0.1", "bind_port": self.api_port},
            "GUI": {"bind_address": "127.0.0.1", "bind_port": self.gui_port},
            "Monitoring": {"bind_address": "127.0.0.1", "bind_port": self.monitoring_port},
            "Client": {
                "server_urls": [f"https://127.0.0.1:{self.frontend_port}/"],
                "writeback_linux": f"{client_dir_expr}/velociraptor.writeback.yaml",
                "tempdir_linux": client_dir_expr,
                "max_poll": 2,
            },
            "Datastore": {"implementation": "FileBaseDataStore", "location": datastore,
                          "filestore_directory": datastore},
            "Logging": {"output_directory": f"{datastore}/logs", "separate_logs_per_component": True},
            "defaults": {"acl_lru_timeout_sec": 5},
            "security": {"disable_inventory_service_external_access": True},
        }

    def generate(self, *, datastore: str | None = None, client_dir_expr: str = "$RAPTORSPEC_CLIENT_DIR") -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.datastore.mkdir(exist_ok=True)
        merge = json.dumps(self.merge_doc(datastore or str(self.datastore), client_dir_expr))
        server_yaml = run_checked([str(self.binary), "config", "generate", "--merge", merge], "generating the server config")
        if "Frontend" not in server_yaml:
            raise LabError(f"`config generate` printed no server config:\n{server_yaml[-500:]}")
        server_doc = yaml.safe_load(server_yaml)
        reissue_frontend_cert(server_doc)
        self.server_config.write_text(yaml.safe_dump(server_doc, sort_keys=False))
        self.server_config.chmod(0o600)
        client_yaml = run_checked([str(self.binary), "--config", str(self.server_config), "config", "client"],
                                  "generating the client config")
        self.client_config.write_text(client_yaml)
        self.client_config.chmod(0o644)
        run_checked([str(self.binary), "--config", str(self.server_config), "config", "api_client",
                     "--name", API_USER, "--role", "administrator", str(self.api_config)],
                    "generating the API client config")
        self.api_config.chmod(0o600)
        api = load_api_config(self.api_config)
        register_secret(api["client_private_key"])
        server = yaml.safe_load(self.server_config.read_text())
        for key in (server.get("Frontend", {}).get("private_key"), server.get("GUI", {}).get("gw_private_key"),
                    server.get("CA", {}).get("private_key")):
            if key:
                register_secret(key)

    def certificates(self) -> dict[str, str]:
        server = yaml.safe_load(self.server_config.read_text())
        api = yaml.safe_load(self.api_config.read_text())
        return {
            "CA (Client.ca_certificate)": server["Client"]["ca_certificate"],
            "Frontend.certificate": server["Frontend"]["certificate"],
            "GUI.gw_certificate": server.get("GUI", {}).get("gw_certificate", ""),
            "api_client.yaml client_cert": api["client_cert"],
        }

    def ca_pem(self) -> str:
        return yaml.safe_load(self.api_config.read_text())["ca_certificate"]


def reissue_frontend_cert(server_doc: dict[str, Any], days: int = 365) -> None:
    """Re-issue the frontend/API certificate, signed by the lab's CA, naming 127.0.0.1 and
    localhost besides ``VelociraptorServer``.

    Velociraptor's own certificate names only ``VelociraptorServer``; a gRPC client that does
    not override the TLS target name (megaraptor-mcp, for one) then cannot reach an API on
    127.0.0.1 at all. The lab names the address it is reached on, as a deployment behind a
    real name would; clients still verify ``VelociraptorServer`` as before.
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca_cert = x509.load_pem_x509_certificate(server_doc["Client"]["ca_certificate"].encode())
    ca_key = serialization.load_pem_private_key(server_doc["CA"]["private_key"].encode(), password=None)
    old = x509.load_pem_x509_certificate(server_doc["Frontend"]["certificate"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(old.subject).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("VelociraptorServer"), x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                              x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_doc["Frontend"]["certificate"] = cert.public_bytes(serialization.Encoding.PEM).decode()
    server_doc["Frontend"]["private_key"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()


def wait_server_ready(lab: "Lab", port: int, ca_pem: str, oracle_factory, timeout: float) -> None:
    """Ready = /healthz answers 200, then ``info()`` answers over gRPC."""
    waits.wait_for(lambda: healthz(port, ca_pem), f"Velociraptor /healthz on 127.0.0.1:{port} to answer 200",
                   timeout, 0.3, alive=lab.alive, logs=lab.logs,
                   hint="see the frontend log below; a port taken by another program shows as a bind error")

    def info() -> tuple[bool, Any]:
        with oracle_factory() as o:
            row = o.info()
            return bool(row), row

    waits.wait_for(info, "the gRPC API to answer info()", timeout, 0.5, alive=lab.alive, logs=lab.logs,
                   transient=(ConnectionError, TimeoutError, OSError))


def wait_enrolled(oracle: Oracle, count: int, lab: "Lab", timeout: float) -> list[str]:
    """Enrolled = ``count`` clients are in clients() with their os_info filled (interrogated)."""

    def check() -> tuple[bool, Any]:
        rows = oracle.clients()
        ready = sorted(r["client_id"] for r in rows if (r.get("os_info") or {}).get("system"))
        seen = [(r["client_id"], (r.get("os_info") or {}).get("system") or "not interrogated yet") for r in rows]
        return len(ready) >= count, ready if len(ready) >= count else seen

    return waits.wait_for(check, f"{count} client(s) to enroll and be interrogated", timeout, 0.5,
                          alive=lab.alive, logs=lab.logs,
                          hint="clients log to client-N/client.log; a client that cannot reach the frontend says so there")


# --------------------------------------------------------------------------------------
# embedded


class _Proc:
    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name, self.popen, self.log = name, popen, log

    def stop(self, grace: float = 15.0) -> None:
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


class EmbeddedLab:
    """Velociraptor server + client(s) as local child processes. A context manager."""

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
        self.dir = Path(tempfile.mkdtemp(prefix="raptorspec-lab-", dir=base_dir))
        self.dir.chmod(0o755)
        self.cfg = LabConfig(self.binary, self.dir, ports=ports)
        self.api_config = self.cfg.api_config
        if run_clients_as == "auto":
            run_clients_as = "nobody" if os.geteuid() == 0 else None
        self.client_user = run_clients_as
        self.procs: list[_Proc] = []
        self.client_ids: list[str] = []
        self.timings: dict[str, float] = {}  # seconds from start(): server_ready, clients_enrolled
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
        parts = []
        for p in self.procs:
            parts.append(f"--- last {lines} lines of {p.name} log ({p.log}) ---\n{mask(_tail(p.log, lines))}")
        return "\n".join(parts)

    def certificates(self) -> dict[str, str]:
        return self.cfg.certificates()

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "EmbeddedLab":
        try:
            self.start()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)

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
                                     preexec_fn=_die_with_parent if self.die_with_parent else None, **kwargs)
        finally:
            fh.close()
        proc = _Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
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
            self.client_ids = wait_enrolled(oracle, self.n_clients, self, self.enroll_timeout)
        self.timings["clients_enrolled"] = time.monotonic() - t0
        self.write_state()

    def write_state(self) -> None:
        state = {"mode": self.mode, "dir": str(self.dir), "api_config": str(self.api_config),
                 "client_ids": self.client_ids, "ports": {
                     "frontend": self.cfg.frontend_port, "api": self.cfg.api_port,
                     "gui": self.cfg.gui_port, "monitoring": self.cfg.monitoring_port},
                 "pids": {p.name: p.popen.pid for p in self.procs},
                 "logs": {p.name: str(p.log) for p in self.procs}}
        (self.dir / "lab.json").write_text(json.dumps(state, indent=2))

    def close(self, failed: bool = False) -> None:
        if self._closed:
            return
        if failed and self.procs:
            print(f"\n[raptorspec lab] lab in {self.dir} failed; log tails:\n{self.logs()}", file=sys.stderr)
        for p in reversed(self.procs):
            p.stop()
        self._closed = True
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# external


class ExternalLab:
    """A deployment the user runs; reached through their api_client.yaml."""

    mode = "external"

    def __init__(self, api_config: Path):
        self.api_config = Path(api_config).expanduser().resolve()
        cfg = load_api_config(self.api_config)  # clear errors for a missing or malformed file
        register_secret(cfg["client_private_key"])
        self._cfg = cfg
        self.dir = Path(tempfile.mkdtemp(prefix="raptorspec-external-"))
        self.client_ids: list[str] = []

    def alive(self) -> str | None:
        host, _, port = self._cfg["api_connection_string"].rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
                return None
        except OSError as exc:
            return f"the Velociraptor API at {self._cfg['api_connection_string']} does not accept connections ({exc})"

    def logs(self, lines: int = 30) -> str:
        return f"(external lab: server logs are on the deployment; API {self._cfg['api_connection_string']})"

    def certificates(self) -> dict[str, str]:
        return {"api_client.yaml ca_certificate": self._cfg["ca_certificate"],
                "api_client.yaml client_cert": self._cfg["client_cert"]}

    def __enter__(self) -> "ExternalLab":
        death = self.alive()
        if death:
            self.close()
            raise LabError(death)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# `python -m support.lab up|status|down|logs`


def _state_file() -> Path:
    from support.provision import cache_dir

    return cache_dir() / "lab" / "current.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cli(argv: list[str] | None = None) -> int:
    import argparse

    from support.provision import ProvisionError, ensure_binary

    ap = argparse.ArgumentParser(prog="python -m support.lab", description="Keep an embedded lab running.")
    ap.add_argument("action", choices=["up", "status", "down", "logs", "_serve"])
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--lines", type=int, default=40)
    ap.add_argument("--timeout", type=float, default=240, help="seconds to wait for `up`")
    args = ap.parse_args(argv)
    state_path = _state_file()
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    running = bool(state) and _pid_alive(state.get("supervisor_pid", -1))

    def out(obj: dict[str, Any], text: str) -> None:
        print(json.dumps(obj, indent=2) if args.json else text)

    if args.action == "_serve":  # the background supervisor: holds the lab until SIGTERM
        def _stop(*_: object) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wake pause() when a lab process dies
        try:
            with EmbeddedLab(ensure_binary(), clients=args.clients) as lab:
                state_path.parent.mkdir(parents=True, exist_ok=True)
                doc = json.loads((lab.dir / "lab.json").read_text()) | {"supervisor_pid": os.getpid()}
                state_path.write_text(json.dumps(doc, indent=2))
                while lab.alive() is None:
                    signal.pause()
                print(f"lab died: {lab.alive()}\n{lab.logs()}", file=sys.stderr)
                return 1
        finally:
            state_path.unlink(missing_ok=True)

    if args.action == "up":
        if running:
            out(state, f"lab already up; api config: {state['api_config']}")
            return 0
        try:
            ensure_binary()
        except ProvisionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.unlink(missing_ok=True)
        log = state_path.parent / "supervisor.log"
        with open(log, "wb") as log_fh:
            sup = subprocess.Popen([sys.executable, "-m", "support.lab", "_serve", "--clients", str(args.clients)],
                                   stdout=log_fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=Path(__file__).resolve().parent.parent)

        def ready() -> tuple[bool, Any]:
            return state_path.exists(), _tail(log, 5) or "no output yet"

        def sup_alive() -> str | None:
            code = sup.poll()
            return None if code is None else f"the lab supervisor exited with code {code}:\n{_tail(log, 30)}"

        try:
            waits.wait_for(ready, "the background lab to come up", args.timeout, 0.5, alive=sup_alive)
        except waits.WaitError as exc:
            if sup.poll() is None:
                os.killpg(sup.pid, signal.SIGTERM)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        state = json.loads(state_path.read_text())
        out(state, f"lab up in {state['dir']}\napi config: {state['api_config']}\nclients: {', '.join(state['client_ids'])}\n"
                   f"use it: pytest features/ --lab external --api-config {state['api_config']}")
        return 0
    if args.action == "status":
        doc = (state or {}) | {"running": running}
        out(doc, f"lab running in {state['dir']}; api config {state['api_config']}" if running else "no lab running")
        return 0 if running else 3
    if args.action == "logs":
        if not state:
            print("no lab running", file=sys.stderr)
            return 3
        tails = {name: _tail(Path(p), args.lines) for name, p in state.get("logs", {}).items()}
        out(tails, "\n".join(f"--- {n} ---\n{t}" for n, t in tails.items()))
        return 0
    if args.action == "down":
        if not running:
            state_path.unlink(missing_ok=True)
            out({"running": False}, "no lab running")
            return 0
        pid = state["supervisor_pid"]
        os.kill(pid, signal.SIGTERM)
        try:
            waits.wait_for(lambda: (not _pid_alive(pid) and not any(_pid_alive(p) for p in state["pids"].values()),
                                    "still running"), "the lab to stop", 30, 0.3)
        except waits.WaitError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        out({"running": False, "stopped": state["dir"]}, f"lab in {state['dir']} stopped and removed")
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(_cli())
