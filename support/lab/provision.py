"""Provisioning the Velociraptor binary: built from its published Go module, cached by version.

No package registry ships Velociraptor, so the suite builds it with the go tool from the
module ``www.velocidex.com/golang/velociraptor`` at a pinned release:

1. ``go mod download -json MODULE@VERSION`` (outside any go.mod), copy the module out of the
   read-only module cache into a scratch dir (it must be the *main* module, or its go.mod
   ``replace`` lines are ignored);
2. generate the embedded assets with fileb0x (no web GUI: an empty ``gui/velociraptor/build``);
3. ``CGO_ENABLED=0 go build -tags "server_vql extras disable_grpc_modules" ./bin``.

The result lives in ``$RAPTORSPEC_CACHE`` (default ``~/.cache/raptorspec``) under
``velociraptor-<version>/velociraptor``, guarded by a lock so two runs never build at once,
and is checked to be whole (``version`` runs and ``vql list`` shows the server plugins) before
use. ``RAPTORSPEC_VELOCIRAPTOR=/path/to/velociraptor`` uses a binary you already have.

Run ``python -m support.lab.provision`` (old name: ``python -m support.provision``) to build
or verify the binary ahead of time.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from support.cache import cache_dir
from support.errors import ProvisionError

MODULE = "www.velocidex.com/golang/velociraptor"
VERSION = os.environ.get("RAPTORSPEC_VELOCIRAPTOR_VERSION", "v0.77.2")
BUILD_TAGS = "server_vql extras disable_grpc_modules"
ASSET_YAMLS = ("artifacts/b0x.yaml", "config/b0x.yaml", "crypto/b0x.yaml", "gui/velociraptor/b0x.yaml")
# VQL plugins a usable server binary must have (without the server_vql tag they are missing).
REQUIRED_PLUGINS = ("clients", "collect_client", "hunt", "flows", "source", "label")



def cached_binary_path(version: str = VERSION) -> Path:
    return cache_dir() / f"velociraptor-{version}" / "velociraptor"


def _log(msg: str) -> None:
    print(f"[raptorspec provision] {msg}", file=sys.stderr, flush=True)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"another run holds {path}; waiting for it to finish building")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def verify_binary(path: Path, timeout: float = 60) -> str:
    """Check that ``path`` is a whole, usable server binary; return its version line."""
    if not path.exists():
        raise ProvisionError(f"Velociraptor binary not found: {path}")
    if not os.access(path, os.X_OK):
        raise ProvisionError(f"Velociraptor binary is not executable: {path}")
    try:
        out = subprocess.run([str(path), "version"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionError(f"Velociraptor binary {path} does not run: {exc}") from None
    if out.returncode != 0 or "version" not in out.stdout.lower():
        raise ProvisionError(
            f"Velociraptor binary {path} is broken: `version` exited {out.returncode}: "
            f"{(out.stdout + out.stderr)[-500:]}")
    listing = subprocess.run([str(path), "vql", "list"], capture_output=True, text=True, timeout=timeout)
    names = set(re.findall(r"^## (\S+)\s*$", listing.stdout, re.M))
    missing = [p for p in REQUIRED_PLUGINS if p not in names]
    if listing.returncode != 0 or missing:
        raise ProvisionError(
            f"Velociraptor binary {path} lacks server VQL plugins {missing} (built without the "
            f"server_vql tag?); rebuild it or point RAPTORSPEC_VELOCIRAPTOR at a server build")
    return next((l.strip() for l in out.stdout.splitlines() if "version" in l.lower()), out.stdout.strip())


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str, log: Path) -> None:
    _log(f"{what}: {' '.join(cmd)} (output in {log})")
    start = time.monotonic()
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise ProvisionError(f"{what} failed (exit {proc.returncode}) in {cwd}:\n$ {' '.join(cmd)}\n{tail}")
    _log(f"{what}: done in {time.monotonic() - start:.0f}s")


def build(version: str = VERSION, dest: Path | None = None) -> Path:
    """Build Velociraptor ``version`` from its Go module into ``dest`` (default: the cache)."""
    dest = dest or cached_binary_path(version)
    go = shutil.which("go")
    if not go:
        raise ProvisionError("the go tool is not on PATH; install Go (>= 1.25) or set RAPTORSPEC_VELOCIRAPTOR")
    dest.parent.mkdir(parents=True, exist_ok=True)
    log = dest.parent / "build.log"
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
    # The scratch copy lives beside the cached binary, so a build killed half-way leaves it
    # where the next build (under the same lock) finds and removes it.
    scratch_p = dest.parent / "build-scratch"
    _force_rmtree(scratch_p)
    scratch_p.mkdir()
    try:
        _log(f"building Velociraptor {version} from {MODULE} (takes minutes on 2 cores)")
        dl = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{version}"], cwd=scratch_p, env=env,
                            capture_output=True, text=True)
        try:
            info = json.loads(dl.stdout)
        except json.JSONDecodeError:
            info = {"Error": dl.stderr or dl.stdout}
        if dl.returncode != 0 or info.get("Error") or not info.get("Dir"):
            raise ProvisionError(
                f"the Go module proxy did not serve {MODULE}@{version}: {info.get('Error') or dl.stderr}\n"
                "Set RAPTORSPEC_VELOCIRAPTOR to a Velociraptor binary you have, or RAPTORSPEC_VELOCIRAPTOR_VERSION "
                "to a release the proxy serves.")
        src = scratch_p / "src"
        shutil.copytree(info["Dir"], src)
        for root, dirs, files in os.walk(src):
            for name in dirs + files:
                p = Path(root) / name
                p.chmod(p.stat().st_mode | 0o200)
        (src / "gui/velociraptor/build").mkdir(parents=True, exist_ok=True)
        (src / "gui/velociraptor/build/.keep").touch()
        for yml in ASSET_YAMLS:
            _run([go, "run", "github.com/Velocidex/fileb0x", yml], src, env, f"generate assets {yml}", log)
        tmp_out = dest.parent / "velociraptor.partial"
        _run([go, "build", "-tags", BUILD_TAGS, "-o", str(tmp_out), "./bin"], src, env, "go build", log)
        verify_binary(tmp_out)
        tmp_out.replace(dest)
    finally:
        _force_rmtree(scratch_p)
    return dest


def _force_rmtree(path: Path) -> None:
    """Remove a tree that may hold read-only files copied from the Go module cache."""
    def make_writable_and_retry(func, target, _exc):
        Path(target).parent.chmod(0o700)
        Path(target).chmod(0o700)
        func(target)

    if path.exists():
        shutil.rmtree(path, onerror=make_writable_and_retry)


def ensure_binary(version: str = VERSION) -> Path:
    """Return a verified Velociraptor binary: the user's, the cached one, or a fresh build."""
    user = os.environ.get("RAPTORSPEC_VELOCIRAPTOR")
    if user:
        path = Path(user).expanduser()
        verify_binary(path)
        return path
    dest = cached_binary_path(version)
    with _lock(dest.parent.parent / f".velociraptor-{version}.lock"):
        if dest.exists():
            try:
                verify_binary(dest)
                return dest
            except ProvisionError as exc:
                _log(f"cached binary is not usable ({exc}); rebuilding")
                dest.unlink()
        return build(version, dest)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build or verify the cached Velociraptor binary.")
    parser.add_argument("--version", default=VERSION)
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        path = ensure_binary(args.version)
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"binary": str(path), "version": verify_binary(path),
                      "seconds": round(time.monotonic() - start, 1),
                      "bytes": path.stat().st_size}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
