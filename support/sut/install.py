"""One isolated virtual environment per server under test, created on demand.

The SUTs pin conflicting MCP SDKs (two need ``mcp<2``, one runs on mcp 2), and the suite
itself only needs the client. So :func:`ensure_venv` gives each profile its own venv under
the cache dir, named after the profile and a hash of its pinned requirements (and of the
Python version): ``~/.cache/raptorspec/suts/<name>-<hash>/``. A venv outside the project
tree also keeps a developer's ``.env`` files away from servers that load one.

Concurrency and failure: an ``fcntl`` lock next to the venv serialises installs (two pytest
runs, or xdist workers, never install at once); a marker file written last says the venv is
complete, so a half-made venv is rebuilt; a failed pip raises :class:`InstallError` naming
the command and the tail of its output.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Protocol

from support.waits import WaitTimeout, wait_for

MARKER = ".raptorspec-complete"
PIP_TIMEOUT = 1800.0
LOCK_TIMEOUT = 2400.0


class InstallError(RuntimeError):
    """Creating a SUT's venv or installing its requirements failed."""


class _HasRequirements(Protocol):
    name: str
    requirements: tuple[str, ...] | None


def default_cache_dir() -> Path:
    """``<the suite's cache>/suts``: $RAPTORSPEC_CACHE or $XDG_CACHE_HOME/raptorspec (see support.cache)."""
    from support.cache import cache_dir

    return cache_dir() / "suts"


def venv_dir(profile: _HasRequirements, cache_dir: Path | None = None) -> Path:
    """Where the profile's venv lives (whether or not it exists yet)."""
    reqs = _requirements(profile)
    key = "\n".join(sorted(reqs)) + f"\npython {sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(cache_dir or default_cache_dir()) / f"{profile.name}-{digest}"


def venv_bin(venv: Path, name: str) -> Path:
    """The path of an executable inside a venv."""
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_venv(profile: _HasRequirements, cache_dir: Path | None = None) -> Path:
    """Return the profile's complete venv, creating it and pip-installing its pins if needed."""
    reqs = _requirements(profile)
    venv = venv_dir(profile, cache_dir)
    if (venv / MARKER).is_file():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f".{venv.name}.lock"
    with open(lock_path, "w") as lock:
        _acquire(lock, lock_path)
        try:
            if (venv / MARKER).is_file():  # another run finished it while we waited
                return venv
            if venv.exists():
                shutil.rmtree(venv)  # a half-made venv from an interrupted run
            _run([sys.executable, "-m", "venv", str(venv)], f"create the venv for SUT {profile.name}")
            python = str(venv_bin(venv, "python"))
            _run(
                [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", *reqs],
                f"install SUT {profile.name}",
            )
            freeze = _run([python, "-m", "pip", "freeze", "--disable-pip-version-check"],
                          f"list what SUT {profile.name} installed")
            (venv / MARKER).write_text(
                "requirements:\n" + "".join(f"  {r}\n" for r in reqs) + "installed:\n" + freeze
            )
            return venv
        except BaseException:
            if venv.exists() and not (venv / MARKER).is_file():
                shutil.rmtree(venv, ignore_errors=True)
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def installed_versions(venv: Path) -> dict[str, str]:
    """Package → version, as recorded in the venv's marker file (for the report)."""
    out: dict[str, str] = {}
    try:
        lines = (venv / MARKER).read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        if "==" in line and not line.startswith(" "):
            name, _, version = line.partition("==")
            out[normalize(name)] = version.strip()
    return out


def normalize(name: str) -> str:
    """A distribution name in PEP 503 form (``iflow-mcp_X`` and ``iflow-mcp-x`` are one)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _requirements(profile: _HasRequirements) -> tuple[str, ...]:
    reqs = profile.requirements
    if not reqs:
        raise InstallError(
            f"SUT {profile.name} has no pip requirements (it is not installable from PyPI); "
            "run it with --sut-command"
        )
    return tuple(reqs)


def _acquire(lock, lock_path: Path) -> None:
    def take() -> tuple[bool, str]:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True, "locked"
        except BlockingIOError:
            return False, "another run holds the lock (installing)"

    try:
        wait_for(take, f"the install lock {lock_path}", timeout=LOCK_TIMEOUT, interval=1.0,
                 hint="another pytest run is installing this SUT; if none is, delete the lock file")
    except WaitTimeout as exc:
        raise InstallError(str(exc)) from None


def _run(cmd: Iterable[str], what: str) -> str:
    cmd = [str(c) for c in cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"Could not {what}: `{' '.join(cmd)}` ran over {PIP_TIMEOUT:g}s\n"
                           f"{_tail((exc.stdout or '') + (exc.stderr or '') if isinstance(exc.stdout, str) else '')}") from None
    except OSError as exc:
        raise InstallError(f"Could not {what}: `{' '.join(cmd)}` did not run: {exc}") from None
    if proc.returncode != 0:
        raise InstallError(
            f"Could not {what}: `{' '.join(cmd)}` exited with code {proc.returncode}\n"
            f"--- last lines of its output ---\n{_tail(proc.stdout + proc.stderr)}"
        )
    return proc.stdout


def _tail(text: str, n: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-n:]) or "(no output)"
