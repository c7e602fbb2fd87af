"""The lab's pytest options and fixtures.

Every setting is a small session fixture that a conftest of yours can override
(pytest-docker style); the options only fill their defaults:

- ``lab_mode`` (``--lab``): "embedded" (default), "docker" or "external";
- ``lab_api_config`` (``--api-config``): the api_client.yaml of an external lab, a Path;
- ``lab_clients`` (``--clients``): clients an embedded lab starts (default 2; a docker lab runs 1);
- ``keep_lab`` (``--keep-lab``): keep the lab directory after a clean run;
- ``cert_min_days`` (``--cert-min-days``): fail at start when a certificate expires sooner;
- ``velociraptor_binary`` ($RAPTORSPEC_VELOCIRAPTOR, else the cached build, else a build);
- docker: ``docker_compose_file`` (docker-compose.test.yml), ``docker_compose_command``
  (``docker-compose`` when installed, else ``docker compose``), ``docker_compose_project_name``
  (``raptorspec<run id>``), ``docker_setup`` (``["up --build -d"]``: compose 1.29 has no
  ``--wait``) and ``docker_cleanup`` (``["down -v"]``).

The ``lab`` fixture opens the lab of ``lab_mode`` (``with``-style: a failed start cleans up
after itself), checks its certificates and yields it; the session stops (exit code 3) with
the lab's own message when it cannot start. The docker settings keep pytest-docker's names;
because pytest-docker's installed plugin defines them too, the root conftest re-exports ours.

**Parallel runs (pytest-xdist, ``-n N``).** The xdist *controller* starts the one lab of
the run at ``pytest_sessionstart``, before it spawns the workers, and stops it at
``pytest_unconfigure`` after the last worker has ended; each worker's ``lab`` fixture
attaches to it (:class:`SharedLab`, described to the worker through ``workerinput``). The
controller owns the lab rather than the first worker (under a file lock, with the last one
out stopping it) because a worker can die at any moment — a crash, ``--max-worker-restart``,
an OOM kill — and an embedded lab's processes die with the process that started them
(``PR_SET_PDEATHSIG``), while a reference count in a file outlives a worker that crashed
without decrementing it. The controller runs no test: it outlives every worker, and its
end is the end of the run. It starts the lab only when the run includes the spec (an
argument is the spec module, a path in its folder, or that folder or an ancestor): a
``pytest tests/ -n 2`` starts none. The controller's lab is built from the options
(``--lab``, ``--clients``, ``--keep-lab``, ``--api-config``) and the
``pytest_raptorspec_make_lab`` hook (a conftest may return its own :class:`Lab`); the
settings fixtures above apply to serial runs only. ``run_id`` is made by the controller and
shared by every worker (:func:`run_id_of`). On an embedded or docker lab each worker gets its
own API identity (``raptorspec-<worker>``, an administrator: an api_client.yaml made with the
lab's CA and the user made in the running server with ``user_create()``), used by its oracle and
its SUTs, so that the flows and hunts a worker's calls make carry its name as their creator
and no other worker's ledger takes them for its own (an external lab has one identity: the
user's).

Scenarios that cannot share the lab with any other — ``@destructive`` ones (quarantine cuts
the client off) and ``@exclusive`` ones (what they check would see another scenario's
entities: e.g. a hunt offered to every client) — run alone: every worker holds a shared
lock on the lab around each test (setup, call, teardown, so a scenario's cleanup is inside
it), an exclusive scenario an exclusive one, with a turnstile so that waiting exclusive
scenarios are not starved by the others (:class:`LabLock`, ``flock`` on files in the lab
directory: a crashed worker's locks go with its process). Scenarios of one *group* run one
at a time while the others go on: a scenario's groups are its ``xdist_group`` marks and
``hunts`` for every scenario of a hunt tool (:data:`HUNT_TOOLS`), because Velociraptor
offers a client only the hunts that started after the newest hunt it was last offered
(``flows/housekeeping.go``: a check-in sets the client's ``LastHuntTimestamp`` to the newest
running hunt's start time), so a hunt started while another worker's hunt is being offered
can be skipped for good — seen as a hunt flow that never appears (found by running the spec
with ``-n 2``). ``--dist loadgroup`` works too (xdist then pins each group to one worker).
"""
from __future__ import annotations

import fcntl
import socket
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.bdd import raise_deferred_usage_errors, usage_errors_deferred

from support.errors import CertificateProblem, LabError, ProvisionError, RaptorspecError
from support.lab import certs, interrupts
from support.lab.base import Lab
from support.lab.docker import COMPOSE_FILE, DockerLab, compose_command
from support.lab.embedded import EmbeddedLab
from support.lab.external import ExternalLab
from support.oracle import load_api_config
from support.secrets import register_secret

_LAB_KEY = pytest.StashKey[Lab]()
_SHARED_KEY = pytest.StashKey["_Controller"]()
_RUN_ID_KEY = pytest.StashKey[str]()
#: workerinput keys: the run id, and the shared lab's description (absent: no shared lab)
RUN_ID_INPUT = "raptorspec_run_id"
LAB_INPUT = "raptorspec_shared_lab"


class _Hooks:
    @pytest.hookspec(firstresult=True)
    def pytest_raptorspec_make_lab(self, config: pytest.Config, run_id: str) -> Lab | None:
        """The lab the xdist controller starts for a parallel run: a :class:`Lab` not yet
        entered (the controller enters it, checks its certificates, and closes it at the
        end). The first non-None result wins; the suite's own builds it from the options."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("raptorspec", "Raptorspec living spec")
    g.addoption("--lab", choices=["embedded", "docker", "external"], default="embedded",
                help="where Velociraptor runs: embedded local processes (default), docker compose "
                     "(docker-compose.test.yml), or external (your deployment, with --api-config)")
    g.addoption("--api-config", metavar="PATH", help="api_client.yaml of an external lab (with --lab external)")
    g.addoption("--clients", type=int, default=None,
                help="number of Linux clients an embedded lab starts (default 2: both on this host, so a "
                     "lookup by hostname instead of client id shows; a docker lab runs 1)")
    g.addoption("--cert-min-days", type=float, default=7.0,
                help="fail at session start when a lab certificate expires within this many days (default 7)")
    g.addoption("--keep-lab", action="store_true",
                help="keep the lab's directory (configs, logs, datastore) after the run")


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM as Ctrl-C; a second interrupt skips talking to Velociraptor; a worker also takes
    # its controller's interrupt, passed on (signal_workers)
    interrupts.install(worker=hasattr(config, "workerinput"))
    with usage_errors_deferred(config):  # raised at session start (before the lab starts): see support.bdd
        if config.getoption("--lab") == "external" and not config.getoption("--api-config"):
            raise pytest.UsageError("--lab external needs --api-config PATH (your api_client.yaml)")
        if config.getoption("--api-config") and config.getoption("--lab") != "external":
            raise pytest.UsageError(
                f"--api-config is for --lab external (your deployment); the {config.getoption('--lab')} lab makes "
                "its own api_client.yaml. Add --lab external, or leave out --api-config")
        if config.getoption("--clients") is not None and config.getoption("--clients") < 1:
            raise pytest.UsageError("--clients must be at least 1")
    config.addinivalue_line("markers", "exclusive: a scenario that runs alone on a lab shared by xdist workers "
                                       "(from @exclusive)")
    if is_xdist_controller(config):
        config.stash[_SHARED_KEY] = _Controller(config)
        interrupts.forward_to(signal_workers)


#: The command line execnet starts a popen worker with (execnet/gateway_io.py popen_bootstrapline).
_EXECNET_BOOTSTRAP = b"import sys;exec(eval(sys.stdin.readline()))"


def signal_workers(signum: int) -> list[int]:
    """Pass an interrupt of the xdist controller on to its workers (its children started by
    execnet's popen bootstrap) as :data:`support.lab.interrupts.FORWARDED`, whatever ``signum``
    it had; returns their pids. A signal sent to the controller alone (``kill``, a CI runner's
    cancel) then stops the workers' scenarios too: each tears down (its SUTs, its ledger) and
    the controller stops the lab after them, instead of xdist killing the workers after its
    exit timeout with no teardown run in them. A worker that had the interrupt already (a
    terminal's Ctrl-C reaches the whole process group) ignores the forwarded one."""
    import os

    from support import procs

    me = os.getpid()
    sent = []
    for child in procs.all_procs():
        if child.ppid != me or not child.running:
            continue
        try:
            cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if _EXECNET_BOOTSTRAP in cmdline:
            try:
                os.kill(child.pid, interrupts.FORWARDED)
                sent.append(child.pid)
            except ProcessLookupError:
                pass
    return sent


# --------------------------------------------------------------------------------------
# parallel runs (pytest-xdist): who is who, the run id, the shared lab


def is_xdist_controller(config: pytest.Config) -> bool:
    """True in the process that distributes tests to xdist workers (``-n N`` with N > 0, or
    ``--dist`` with ``--tx``); False in a worker and in a serial run."""
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"


def worker_id(config: pytest.Config) -> str:
    """This xdist worker's id (``gw0``, ``gw1``, …), or ``""`` outside a worker."""
    return str(getattr(config, "workerinput", {}).get("workerid", ""))


def run_id_of(config: pytest.Config) -> str:
    """The run's id (8 hex digits): made once per run, by the controller in a parallel run and
    handed to every worker, so all share it (entities add the worker: see support.ledger)."""
    given = getattr(config, "workerinput", {}).get(RUN_ID_INPUT)
    if given:
        return str(given)
    if _RUN_ID_KEY not in config.stash:
        config.stash[_RUN_ID_KEY] = uuid.uuid4().hex[:8]
    return config.stash[_RUN_ID_KEY]


def shared_lab_info(config: pytest.Config) -> dict[str, Any] | None:
    """In an xdist worker, the description of the controller's lab (see :class:`SharedLab`);
    None in the controller, in a serial run, or when the controller started no lab."""
    info = getattr(config, "workerinput", {}).get(LAB_INPUT)
    return dict(info) if info else None


def _runs_spec(config: pytest.Config) -> bool:
    """Whether the run's arguments include the spec (its module, a path in its folder, or
    that folder or an ancestor); ``pytest`` with no argument runs from the rootdir."""
    spec = (config.rootpath / config.getini("raptorspec_spec_module")).resolve()
    if not spec.is_file():
        return False
    root = spec.parent
    for arg in config.args or [str(config.invocation_params.dir)]:
        path = Path(arg.partition("::")[0])
        path = (path if path.is_absolute() else config.invocation_params.dir / path).resolve()
        if path == spec or path == root or root in path.parents or (path.is_dir() and path in root.parents):
            return True
    return False


def describe(lab: Lab) -> dict[str, Any]:
    """What a worker needs to attach to ``lab``: mode, dir, api_config, client_ids, the user
    an embedded lab's clients run as (``client_user``: the quarantine scenarios ask), and for
    local processes their pids and log files (JSON-able: it travels in ``workerinput``)."""
    procs = getattr(lab, "procs", None) or []
    return {"mode": lab.mode, "dir": str(lab.dir), "api_config": str(lab.api_config),
            "client_ids": list(lab.client_ids or []), "client_user": getattr(lab, "client_user", None),
            "pids": {p.name: p.popen.pid for p in procs},
            "logs": {p.name: str(p.log) for p in procs}}


#: Marks of the scenarios that run alone on a shared lab (from the @destructive / @exclusive tags).
EXCLUSIVE_MARKS = ("destructive", "exclusive")
#: Canonical tools whose scenarios start hunts (directly or through a Given): the "hunts" group.
HUNT_TOOLS = frozenset({"create_hunt", "modify_hunt", "get_hunt_results", "list_hunts"})
_LOCK_KEY = pytest.StashKey["LabLock"]()


class LabLock:
    """A readers-writer lock over processes, on two files in ``lab_dir``: ``shared()`` for
    a test that can run beside others, ``exclusive()`` for one that runs alone.

    Writer preference through a turnstile: a writer takes the gate, then waits for the
    readers in to leave; readers pass the gate one at a time before taking their shared
    lock, so none can enter while a writer waits. Both are context managers; locks die with
    their process (``flock``), so a crashed worker blocks no one.
    """

    def __init__(self, lab_dir: Path):
        self.dir = Path(lab_dir)
        self._gate = open(self.dir / "xdist-gate.lock", "a+")
        self._lab = open(self.dir / "xdist-lab.lock", "a+")
        self._groups: dict[str, Any] = {}

    def _take(self, exclusive: bool) -> None:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._lab, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def hold(self, exclusive: bool, groups: tuple[str, ...] = ()) -> "_Held":
        """``with lock.hold(exclusive, groups): …`` — the lab shared with other holders, or
        alone; then each group's lock, in name order (one order for all: no deadlock)."""
        return _Held(self, exclusive, tuple(sorted(set(groups))))

    def _group(self, name: str) -> Any:
        if name not in self._groups:
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
            self._groups[name] = open(self.dir / f"xdist-group-{safe}.lock", "a+")
        return self._groups[name]

    def release(self) -> None:
        fcntl.flock(self._lab, fcntl.LOCK_UN)

    def close(self) -> None:
        for fh in (self._gate, self._lab, *self._groups.values()):
            fh.close()


class _Held:
    def __init__(self, lock: LabLock, exclusive: bool, groups: tuple[str, ...]):
        self.lock, self.exclusive, self.groups = lock, exclusive, groups

    def __enter__(self) -> None:
        self.lock._take(self.exclusive)
        for name in self.groups:
            fcntl.flock(self.lock._group(name), fcntl.LOCK_EX)

    def __exit__(self, *exc: Any) -> None:
        for name in reversed(self.groups):
            fcntl.flock(self.lock._group(name), fcntl.LOCK_UN)
        self.lock.release()


@pytest.hookimpl(wrapper=True)   # around xdist's own (tryfirst), which makes the default --dist "load"
def pytest_cmdline_main(config: pytest.Config) -> Any:
    """``-n N`` without ``--dist``: the suite's default distribution is ``worksteal``
    (pytest-xdist: each worker starts on its share of the run's order and an idle worker takes
    half of a busy one's queue). xdist's default ``load`` hands out large consecutive batches
    (a quarter of a worker's share at the start, then half of what is left) that an idle
    worker cannot take back: the spec's few long scenarios (a hygiene sweep of 183 s, three
    60-second queries) all sat in one worker's batch, behind which the exclusive scenarios
    waited, and ``-n 2`` took 865 s against 982 s serial (at 82bc80c). A ``--dist`` you give
    is kept. Source: xdist/plugin.py, xdist/scheduler/load.py and worksteal.py (xdist 3.8)."""
    option = config.option
    if getattr(option, "numprocesses", None) and getattr(option, "dist", "no") == "no" \
            and not getattr(option, "distload", False):
        option.dist = "worksteal"
    return (yield)


@pytest.hookimpl(trylast=True)   # after the filters and skips of support.plugin / support.sut.plugin
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the order the workers take tests in (every worker sorts alike, as
    xdist requires): the scenarios that run alone first, then the long ones (``@slow``), then
    the rest, each part in its own order (stable sort), with the rest's scenarios of a group
    (``hunts``: one at a time) spread evenly among the others instead of one after another,
    where every worker would take one and all but one wait. An exclusive scenario waits until
    every other worker's current test has ended; placed among the others it waited behind
    60-second scenarios and held the turnstile meanwhile (the other workers idle too): a ``-n 2``
    run of the full spec took 848 s against 982 s serial at c2a4d7d. Long ones first keep them
    off the run's tail. A serial run keeps the file order."""
    if not hasattr(config, "workerinput"):
        return
    phases: list[list[pytest.Item]] = [[], [], []]
    for item in items:
        phases[parallel_phase(item)].append(item)
    items[:] = phases[0] + phases[1] + spread(phases[2], lambda i: bool(groups_of(i)))


def spread(items: list[Any], grouped: Any) -> list[Any]:
    """``items`` with those ``grouped(item)`` is true for placed evenly among the others, each
    part keeping its order: ``spread([g1, g2, a, b, c, d], is_g)`` = ``[a, b, g1, c, d, g2]``."""
    marked = [i for i in items if grouped(i)]
    others = [i for i in items if not grouped(i)]
    if not marked or not others:
        return list(items)
    out: list[Any] = []
    step = len(others) / len(marked)
    taken = 0
    for n, item in enumerate(marked, 1):
        upto = round(n * step)
        out += others[taken:upto]
        taken = upto
        out.append(item)
    return out + others[taken:]


def parallel_phase(item: pytest.Item) -> int:
    """0 for a test that runs alone on a shared lab, 1 for a long one (``slow`` mark), 2 otherwise."""
    if runs_alone(item):
        return 0
    return 1 if item.get_closest_marker("slow") is not None else 2


def runs_alone(item: pytest.Item) -> bool:
    """Whether a test must not overlap any other on a shared lab (see EXCLUSIVE_MARKS)."""
    return any(item.get_closest_marker(name) is not None for name in EXCLUSIVE_MARKS)


def groups_of(item: pytest.Item) -> tuple[str, ...]:
    """The groups whose tests run one at a time on a shared lab: the item's ``xdist_group``
    marks, and "hunts" for a scenario of a hunt tool or a hunt resource."""
    names = {str(m.kwargs.get("name", m.args[0] if m.args else "")) for m in item.iter_markers("xdist_group")}
    for mark in item.iter_markers("tool"):
        tool = str(mark.kwargs.get("name", mark.args[0] if mark.args else ""))
        if tool in HUNT_TOOLS or tool.startswith("resource:velociraptor://hunts"):
            names.add("hunts")
    return tuple(sorted(n for n in names if n))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """An xdist worker on the shared lab: each test holds the lab lock, shared or alone."""
    info = shared_lab_info(item.config)
    if info is None:
        return (yield)
    lock = item.config.stash.get(_LOCK_KEY, None)
    if lock is None:
        lock = item.config.stash[_LOCK_KEY] = LabLock(Path(info["dir"]))
    with lock.hold(runs_alone(item), groups_of(item)):
        return (yield)


def controller_lab(config: pytest.Config) -> Any:
    """The lab the xdist controller started (None when it started none, or in a worker)."""
    controller = config.stash.get(_SHARED_KEY, None)
    return controller.lab if controller is not None else None


class SharedLab:
    """A worker's view of the lab the xdist controller runs (the :class:`Lab` protocol).

    ``info`` is :func:`describe`'s dict. ``alive()`` checks the published processes (an
    embedded lab) or, without pids (docker, external), that the API port accepts
    connections; ``logs()`` tails the published log files; ``close()`` does nothing: the
    controller stops the lab after the last worker.
    """

    def __init__(self, info: dict[str, Any]):
        self.mode = str(info["mode"])
        self.dir = Path(info["dir"])
        self.api_config = Path(info["api_config"])
        self.client_ids = list(info.get("client_ids") or [])
        self.api_user = str(info.get("api_user") or "")
        self.client_user = info.get("client_user")
        self.pids = {str(k): int(v) for k, v in (info.get("pids") or {}).items()}
        self.log_files = {str(k): Path(v) for k, v in (info.get("logs") or {}).items()}
        self.timings: dict[str, float] = {}
        self._cfg = load_api_config(self.api_config)
        register_secret(self._cfg["client_private_key"])

    def alive(self) -> str | None:
        from support.procs import pid_alive

        for name, pid in self.pids.items():
            if not pid_alive(pid):
                return f"{name} (pid {pid}) of the shared {self.mode} lab has exited; log: {self.log_files.get(name)}"
        if self.pids:
            return None
        host, _, port = self._cfg["api_connection_string"].rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
                return None
        except OSError as exc:
            return f"the shared lab's API at {self._cfg['api_connection_string']} does not accept connections ({exc})"

    def logs(self, lines: int = 30) -> str:
        from support.lab.base import log_tail_block

        if not self.log_files:
            return f"(shared {self.mode} lab: its logs are with the controller; lab dir {self.dir})"
        return "\n".join(log_tail_block(name, path, lines) for name, path in self.log_files.items())

    def certificates(self) -> dict[str, str]:
        return {"api_client.yaml ca_certificate": self._cfg["ca_certificate"],
                "api_client.yaml client_cert": self._cfg["client_cert"]}

    def close(self) -> None:
        """Nothing: the controller owns the lab."""


class _Controller:
    """The xdist controller's part: start the lab before the workers, describe it to each,
    stop it after the last one."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.lab: Any = None

    def start(self) -> None:
        config = self.config
        if config.option.collectonly or not _runs_spec(config):
            return
        run_id = run_id_of(config)
        the_lab = config.hook.pytest_raptorspec_make_lab(config=config, run_id=run_id)
        min_days = float(config.getoption("--cert-min-days"))
        try:
            if the_lab.mode == "external":
                _check_certs(the_lab, min_days)
            the_lab.__enter__()
            self.lab = the_lab
            config.stash[_LAB_KEY] = the_lab
            _check_certs(the_lab, min_days)
        except (CertificateProblem, RaptorspecError) as exc:
            pytest.exit(str(exc), returncode=3)

    def identity(self, worker: str) -> tuple[Path, str] | None:
        """An API identity of the worker's own on the lab (api_client.yaml path, user name), or
        None when the lab cannot make one (an external lab: no CA key) or making it failed
        (then the worker shares the lab's identity; a warning says why)."""
        from support.lab.base import run_checked, warn
        from support.lab.config import API_USER
        from support.oracle import Oracle

        cfg, binary = getattr(self.lab, "cfg", None), getattr(self.lab, "binary", None)
        if cfg is None or binary is None or not worker:
            return None
        user = f"{API_USER}-{worker}"
        path = Path(self.lab.dir) / "api" / f"{worker}.yaml"
        try:
            path.parent.mkdir(exist_ok=True)
            run_checked([str(binary), "--config", str(cfg.server_config), "config", "api_client", "--name", user,
                         "--role", "administrator", str(path)], f"making the API identity of xdist worker {worker}")
            path.chmod(0o600)
            register_secret(load_api_config(path)["client_private_key"])
            with Oracle(self.lab.api_config) as oracle:   # the running server learns the user now
                oracle.query("SELECT user_create(user=RsUser, roles=['administrator']) AS r FROM scope()",
                             {"RsUser": user})
        except Exception as exc:  # noqa: BLE001 - a worker can still run on the lab's own identity
            warn(f"xdist worker {worker} shares the lab's API identity: {type(exc).__name__}: {exc}")
            return None
        return path, user

    def stop(self) -> None:
        the_lab, self.lab = self.lab, None
        if the_lab is not None:
            the_lab.close()


@pytest.hookimpl(trylast=True)
def pytest_raptorspec_make_lab(config: pytest.Config, run_id: str) -> Lab:
    """The suite's own: the lab of ``--lab`` (docker with its default compose settings)."""
    mode = config.getoption("--lab")
    clients = clients_for(mode, config.getoption("--clients"))
    keep = bool(config.getoption("--keep-lab"))
    if mode == "external":
        try:
            return ExternalLab(Path(config.getoption("--api-config")))
        except (OSError, ValueError) as exc:
            pytest.exit(f"--api-config: {exc}", returncode=3)
    binary = _binary()
    if mode == "docker":
        try:
            return DockerLab(binary, run_id=run_id, compose=compose_command(), compose_file=COMPOSE_FILE,
                             project=f"raptorspec{run_id}", setup=["up --build -d"], cleanup=["down -v"],
                             clients=clients, keep=keep)
        except LabError as exc:
            pytest.exit(f"--lab docker: {exc}", returncode=4)
    return EmbeddedLab(binary, clients=clients, keep=keep)


def _binary() -> Path:
    from support.lab.provision import ensure_binary

    try:
        return ensure_binary()
    except ProvisionError as exc:
        pytest.exit(f"Velociraptor binary unavailable: {exc}", returncode=3)


def pytest_sessionstart(session: pytest.Session) -> None:
    raise_deferred_usage_errors(session.config)
    controller = session.config.stash.get(_SHARED_KEY, None)
    if controller is not None:
        controller.start()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): hand each worker the run id and the shared lab."""
    config = node.config
    node.workerinput[RUN_ID_INPUT] = run_id_of(config)
    controller = config.stash.get(_SHARED_KEY, None)
    if controller is not None and controller.lab is not None:
        info = describe(controller.lab)
        own = controller.identity(str(node.workerinput.get("workerid", "")))
        if own is not None:
            info["api_config"], info["api_user"] = str(own[0]), own[1]
        node.workerinput[LAB_INPUT] = info


def pytest_unconfigure(config: pytest.Config) -> None:
    from support.lab.base import KEPT, sut_logs_note

    controller = config.stash.get(_SHARED_KEY, None)
    if controller is not None:
        controller.stop()
        # the xdist controller's lab closes after the summary: where it kept the SUTs' logs
        note = sut_logs_note(bool(KEPT) or bool(config.getoption("--keep-lab", False)))
        if note:
            print(note, file=sys.stderr, flush=True)
    for line in _kept_lines(config):   # kept after the summary (the xdist controller's lab)
        print(line, file=sys.stderr, flush=True)


_KEPT_SHOWN = pytest.StashKey[set]()


def _kept_lines(config: pytest.Config) -> list[str]:
    """One line per lab directory kept in this process not yet shown (absolute paths)."""
    from support.lab.base import KEPT

    shown = config.stash.setdefault(_KEPT_SHOWN, set())
    lines = []
    for path, why in KEPT:
        if path not in shown and path.exists():
            shown.add(path)
            lines.append(f"raptorspec lab directory kept ({why}): {path}")
    return lines


# --------------------------------------------------------------------------------------
# settings


@pytest.fixture(scope="session")
def lab_mode(pytestconfig: pytest.Config) -> str:
    """Where Velociraptor runs: "embedded", "docker" or "external" (``--lab``)."""
    return pytestconfig.getoption("--lab")


@pytest.fixture(scope="session")
def lab_api_config(pytestconfig: pytest.Config) -> Path | None:
    """The api_client.yaml of an external lab (``--api-config``), or None."""
    value = pytestconfig.getoption("--api-config")
    return Path(value) if value else None


def clients_for(mode: str, asked: int | None) -> int:
    """Clients a lab of ``mode`` starts: ``--clients`` when given, else 2 for an embedded lab
    (both on this host, so a lookup by hostname instead of client id shows) and 1 for docker."""
    if asked is not None:
        return int(asked)
    return 1 if mode == "docker" else 2


@pytest.fixture(scope="session")
def lab_clients(pytestconfig: pytest.Config, lab_mode: str) -> int:
    """How many Linux clients the lab starts (``--clients``; default 2 embedded, 1 docker)."""
    return clients_for(lab_mode, pytestconfig.getoption("--clients"))


@pytest.fixture(scope="session")
def keep_lab(pytestconfig: pytest.Config) -> bool:
    """Keep the lab's directory after a clean run (``--keep-lab``). A lab that fails to start is always kept."""
    return bool(pytestconfig.getoption("--keep-lab"))


@pytest.fixture(scope="session")
def cert_min_days(pytestconfig: pytest.Config) -> float:
    """Days a lab certificate must still be valid at session start (``--cert-min-days``, default 7)."""
    return float(pytestconfig.getoption("--cert-min-days"))


@pytest.fixture(scope="session")
def velociraptor_binary() -> Path:
    """The Velociraptor binary: $RAPTORSPEC_VELOCIRAPTOR, the cached build, or a fresh build."""
    return _binary()


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    """The compose file of the docker lab (top-level docker-compose.test.yml)."""
    return str(COMPOSE_FILE)


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
    """Compose commands that start the docker lab: build the image from the cached binary and
    start detached (compose 1.29 has no --wait; readiness is awaited through the oracle)."""
    return ["up --build -d"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    """Compose commands that end the docker lab: remove the containers and their volumes."""
    return ["down -v"]


# --------------------------------------------------------------------------------------
# the lab


def _new_lab(request: pytest.FixtureRequest, mode: str, clients: int, keep: bool) -> Lab:
    """The lab object for ``mode``, not started yet (bad settings stop the session)."""
    if mode == "external":
        api_config = request.getfixturevalue("lab_api_config")
        try:
            return ExternalLab(api_config)
        except (OSError, ValueError) as exc:
            pytest.exit(f"--api-config: {exc}", returncode=3)
    binary = request.getfixturevalue("velociraptor_binary")
    if mode == "docker":
        try:
            return DockerLab(binary, run_id=request.getfixturevalue("run_id"),
                             compose=request.getfixturevalue("docker_compose_command"),
                             compose_file=Path(request.getfixturevalue("docker_compose_file")),
                             project=request.getfixturevalue("docker_compose_project_name"),
                             setup=request.getfixturevalue("docker_setup"),
                             cleanup=request.getfixturevalue("docker_cleanup"), clients=clients, keep=keep)
        except LabError as exc:
            pytest.exit(f"--lab docker: {exc}", returncode=4)
    return EmbeddedLab(binary, clients=clients, keep=keep)


def _check_certs(lab: Lab, min_days: float) -> None:
    certs.check(lab.certificates(), min_days=min_days, mode=lab.mode)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, lab_mode: str, lab_clients: int, keep_lab: bool,
        cert_min_days: float) -> Iterator[Lab]:
    """The live lab of this session: open it for ``lab_mode``, check its certificates, yield it.

    One per session, closed at its end. A lab that cannot start (or whose certificates
    expire within ``cert_min_days``) stops the session with its message (exit code 3).
    In an xdist worker it is the controller's lab (:class:`SharedLab`), never stopped here.
    """
    shared = shared_lab_info(request.config)
    if shared is not None:
        yield SharedLab(shared)
        return
    the_lab = _new_lab(request, lab_mode, lab_clients, keep_lab)
    try:
        try:
            if lab_mode == "external":
                _check_certs(the_lab, cert_min_days)  # the user's certs: before the first TLS handshake
            the_lab.__enter__()  # a failed start has cleaned up after itself
            request.config.stash[_LAB_KEY] = the_lab
            _check_certs(the_lab, cert_min_days)
        except (CertificateProblem, RaptorspecError) as exc:
            pytest.exit(str(exc), returncode=3)
        yield the_lab
    finally:
        the_lab.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lab = config.stash.get(_LAB_KEY, None)
    timings = getattr(lab, "timings", None)
    if timings:
        figures = ", ".join(f"{k.replace('_', ' ')} {v:.1f}s" for k, v in timings.items())
        terminalreporter.write_line(f"raptorspec lab ({lab.mode}): {figures}")
    for line in _kept_lines(config):
        terminalreporter.write_line(line, yellow=True)
