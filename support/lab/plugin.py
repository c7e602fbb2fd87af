"""The lab's pytest options and fixtures.

Every setting is a small session fixture that a conftest of yours can override
(pytest-docker style); the options only fill their defaults:

- ``lab_mode`` (``--lab``): "embedded" (default), "docker" or "external";
- ``lab_api_config`` (``--api-config``): the api_client.yaml of an external lab, a Path;
- ``lab_clients`` (``--clients``): clients an embedded lab starts (a docker lab runs 1);
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
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from support.errors import CertificateProblem, LabError, ProvisionError, RaptorspecError
from support.lab import certs
from support.lab.base import Lab
from support.lab.docker import COMPOSE_FILE, DockerLab, compose_command
from support.lab.embedded import EmbeddedLab
from support.lab.external import ExternalLab

_LAB_KEY = pytest.StashKey[Lab]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("raptorspec", "Raptorspec living spec")
    g.addoption("--lab", choices=["embedded", "docker", "external"], default="embedded",
                help="where Velociraptor runs: embedded local processes (default), docker compose "
                     "(docker-compose.test.yml), or external (your deployment, with --api-config)")
    g.addoption("--api-config", metavar="PATH", help="api_client.yaml of an external lab (with --lab external)")
    g.addoption("--clients", type=int, default=1, help="number of Linux clients the embedded/docker lab starts")
    g.addoption("--cert-min-days", type=float, default=7.0,
                help="fail at session start when a lab certificate expires within this many days (default 7)")
    g.addoption("--keep-lab", action="store_true",
                help="keep the lab's directory (configs, logs, datastore) after the run")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--lab") == "external" and not config.getoption("--api-config"):
        raise pytest.UsageError("--lab external needs --api-config PATH (your api_client.yaml)")
    if config.getoption("--clients") < 1:
        raise pytest.UsageError("--clients must be at least 1")


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


@pytest.fixture(scope="session")
def lab_clients(pytestconfig: pytest.Config) -> int:
    """How many Linux clients an embedded lab starts (``--clients``, default 1; docker runs exactly 1)."""
    return pytestconfig.getoption("--clients")


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
    from support.lab.provision import ensure_binary

    try:
        return ensure_binary()
    except ProvisionError as exc:
        pytest.exit(f"Velociraptor binary unavailable: {exc}", returncode=3)


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
    """
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
