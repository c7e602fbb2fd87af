"""What every lab is (the :class:`Lab` protocol), the lifecycle they share (:class:`LabBase`),
and small process/port helpers.

Lifecycle, the same for the embedded, docker and external labs::

    with EmbeddedLab(binary) as lab:      # __enter__ runs start(); on ANY failure it calls
        ...                               # close(failed=True) first, so nothing is left
                                          # half-started, then raises LabError (with the cause,
                                          # the log tails and the kept lab directory)

``start()`` does everything that needs undoing *after* the lab object exists, so that
``close()`` can always undo it; ``close()`` is idempotent and safe after a partial start.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Protocol, runtime_checkable

from support import procs
from support.errors import LabError
from support.secrets import mask

_PR_SET_PDEATHSIG = 1


@runtime_checkable
class Lab(Protocol):
    """A live Velociraptor server with enrolled client(s), whatever runs it: what the fixtures,
    waits, oracle and SUT layer may use. (How a lab starts is :class:`LabBase`'s business.)

    ``mode``: "embedded", "docker" or "external". ``dir``: the lab's own directory (configs,
    logs, SUT logs; absolute). ``api_config``: the api_client.yaml the oracle uses.
    ``client_ids``: the enrolled, interrogated clients (``C.<16 hex>``), known once started
    (an external lab leaves it empty: the target registry finds its clients).
    ``alive()``: None while healthy, else a sentence saying what died. ``logs(lines)``: the
    tails of the lab's logs, secrets masked. ``certificates()``: name -> PEM of every
    certificate the lab uses. ``close()``: stop what the lab started; idempotent.
    """

    mode: str
    dir: Path
    api_config: Path
    client_ids: list[str]

    def alive(self) -> str | None: ...
    def logs(self, lines: int = 30) -> str: ...
    def certificates(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class LabBase:
    """The shared lifecycle: ``__enter__`` = ``start()`` inside the cleanup guard.

    Subclasses set ``mode`` and implement ``start``, ``close(failed)``, ``alive``, ``logs``
    and ``certificates``. When ``start()`` raises an ``Exception``, ``__enter__`` calls
    ``close(failed=True)`` and raises :class:`LabError` ``"the <mode> lab did not start: …"``
    carrying the cause, the lab's log tails and (when the lab kept it) its directory's
    absolute path. Any other ``BaseException`` (KeyboardInterrupt, pytest's exit) still
    gets ``close(failed=True)`` and propagates unchanged.
    """

    mode = "?"
    dir: Path
    kept_dir: Path | None = None  # set by close(failed=True) when the directory is kept

    def start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, failed: bool = False) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def logs(self, lines: int = 30) -> str:  # pragma: no cover - abstract
        return ""

    def __enter__(self):
        try:
            self.start()
        except Exception as exc:
            tails = _safe(lambda: self.logs(40))
            try:
                self.close(failed=True)
            except Exception as close_exc:  # noqa: BLE001 - reported with the start failure
                tails += f"\n(closing the half-started lab also failed: {type(close_exc).__name__}: {close_exc})"
            raise LabError(self._start_failure(exc, tails)) from exc
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)

    def _start_failure(self, exc: BaseException, tails: str) -> str:
        parts = [f"the {self.mode} lab did not start: {type(exc).__name__}: {exc}"]
        if tails.strip():
            parts.append(tails)  # the same logs a wait attached as notes, a little longer
        else:
            parts.extend(n for n in getattr(exc, "__notes__", []) if n.strip())
        if self.kept_dir is not None:
            parts.append(f"The lab directory is kept for inspection (configs, logs, datastore): {self.kept_dir}\n"
                         f"Remove it when done: rm -rf {self.kept_dir}")
        return "\n".join(parts)


def _safe(fn) -> str:
    try:
        return fn() or ""
    except Exception as exc:  # noqa: BLE001
        return f"(could not read the lab's logs: {exc})"


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
    """True when 127.0.0.1:``port`` cannot be bound (another program holds it)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file ("" when it cannot be read)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def log_tail_block(name: str, path: Path, lines: int) -> str:
    """``--- last N lines of NAME log (PATH) ---`` and the masked tail (secrets never shown)."""
    return f"--- last {lines} lines of {name} log ({path}) ---\n{mask(tail(path, lines))}"


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the harness dies without tearing down."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def run_checked(cmd: list[str], what: str, *, cwd: Path | None = None, timeout: float = 120,
                input_text: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``cmd`` (a list, no shell) and return its stdout.

    Raises :class:`LabError` naming ``what``, the command and the output tail when the
    program is missing, exits non-zero or runs longer than ``timeout`` seconds.
    """
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input_text,
                              env=env)
    except FileNotFoundError:
        raise LabError(f"{what}: program not found: {cmd[0]}") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{what}: `{' '.join(cmd)}` did not finish within {timeout:g}s") from None
    if proc.returncode != 0:
        raise LabError(f"{what} failed (exit {proc.returncode}): `{' '.join(cmd)}`\n{(proc.stderr or proc.stdout)[-2000:]}")
    return proc.stdout


def warn(msg: str) -> None:
    """One line on stderr, prefixed, for what the harness does on the user's behalf."""
    print(f"[raptorspec lab] {msg}", file=sys.stderr, flush=True)



# --------------------------------------------------------------------------------------
# who owns a lab, and the lab directories runs leave behind

#: A lab directory's owner file: ``"<boot id>:<pid>"`` of the run that made it.
OWNER_FILE = "owner"
#: A lab directory kept on purpose (a failed start, ``--keep-lab``): never removed by
#: :func:`reap_stale_lab_dirs`; holds why it was kept.
KEPT_FILE = "KEPT"
#: The lab directories kept by this process: (absolute path, why), for the run's summary.
KEPT: list[tuple[Path, str]] = []


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def lab_owner() -> str:
    """This process as the owner of a lab: ``"<boot id>:<pid>"`` (a docker lab's
    ``raptorspec.owner`` label, an embedded lab's ``owner`` file; the boot id rules out a pid
    reused after a reboot)."""
    return f"{_boot_id()}:{os.getpid()}"


def owner_gone(owner: str, unknown: bool = False) -> bool:
    """True when the process named by ``owner`` (``"<boot id>:<pid>"``) no longer runs;
    ``unknown`` for an empty or malformed owner."""
    boot, _, pid = owner.strip().partition(":")
    if not pid.isdigit():
        return unknown
    return boot != _boot_id() or not procs.pid_alive(int(pid))


def mark_owner(lab_dir: Path) -> None:
    """Record this process as the owner of ``lab_dir`` (see :func:`reap_stale_lab_dirs`)."""
    (Path(lab_dir) / OWNER_FILE).write_text(lab_owner() + "\n")


def keep_dir(lab_dir: Path, why: str) -> Path:
    """Keep ``lab_dir`` on purpose: mark it (never removed automatically), remember it for the
    run's summary (:data:`KEPT`) and say so on stderr with its absolute path. Returns the path."""
    path = Path(lab_dir).resolve()
    try:
        (path / KEPT_FILE).write_text(why + "\n")
    except OSError:
        pass
    if all(p != path for p, _ in KEPT):
        KEPT.append((path, why))
    warn(f"lab directory kept ({why}): {path}  (remove it when done: rm -rf {path})")
    return path


def reap_stale_lab_dirs(base: Path, prefix: str = "raptorspec-lab-") -> list[str]:
    """Remove the lab directories under ``base`` left by runs that ended without their
    cleanup (``kill -9``, a crash): those whose owner file names a process that no longer
    runs. A directory kept on purpose (its KEPT file), one without an owner file (made before
    owners were recorded, or not a lab) and one whose owner still runs are left alone.
    Returns one line per directory removed (for a warning); never raises."""
    removed = []
    try:
        candidates = sorted(Path(base).glob(prefix + "*"))
    except OSError:
        return removed
    for path in candidates:
        try:
            if not path.is_dir() or (path / KEPT_FILE).exists():
                continue
            owner = (path / OWNER_FILE).read_text()
        except OSError:
            continue
        if not owner_gone(owner):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(f"{path} (owner {owner.strip()} is gone)" + (" — could not remove all of it"
                                                                      if path.exists() else ""))
    return removed


# --------------------------------------------------------------------------------------
# the SUTs' logs outlive the lab directory

#: Where a closing lab copies its SUTs' logs (``<lab dir>/suts/**/*.log``, masked), or None
#: (set by the report plugin: ``<report folder>/sut-logs``). Failure messages name the SUT's
#: ``stderr.log`` in the lab directory, which is removed at the run's end; the report names
#: the copy instead (:func:`sut_log_copy`).
SUT_LOGS_TO: Path | None = None
#: Every lab directory this process made or used (absolute), newest last.
LAB_DIRS: list[Path] = []
#: The copies :func:`keep_sut_logs` made in this process.
SUT_LOGS_KEPT: list[Path] = []
_SUT_LOGS_CLEARED = False


def sut_log_copy(text: str) -> str:
    """``text`` with every path into a lab's ``suts/`` folder replaced by the path of its copy
    under :data:`SUT_LOGS_TO` (unchanged when no copy is made)."""
    if SUT_LOGS_TO is None or not text:
        return text
    for lab_dir in LAB_DIRS:
        text = text.replace(f"{lab_dir}/suts/", f"{SUT_LOGS_TO}/")
    return text


def sut_logs_note(lab_dir_kept: bool) -> str | None:
    """The terminal line that says where this process kept the SUTs' logs, or None when it kept
    none (no report folder, or no SUT ran). ``lab_dir_kept``: the lab directory stays too."""
    if SUT_LOGS_TO is None or not SUT_LOGS_KEPT:
        return None
    return (f"the SUTs' logs (stderr.log) are kept in {SUT_LOGS_TO}/ "
            + ("(and in the kept lab directory)" if lab_dir_kept else
               "(messages above name them in the lab directory, now removed)"))


#: A kept SUT log holds at most its first and last bytes (a server that floods stderr wrote
#: 21 MB in one feature's run): the start-up and the end, where a failure's cause is.
SUT_LOG_HEAD, SUT_LOG_TAIL = 256 * 1024, 4 * 1024 * 1024


def _capped_text(log: Path) -> str:
    """The text of a SUT log, its middle left out (and said so) beyond
    :data:`SUT_LOG_HEAD` + :data:`SUT_LOG_TAIL` bytes."""
    size = log.stat().st_size
    if size <= SUT_LOG_HEAD + SUT_LOG_TAIL:
        return log.read_text(errors="replace")
    with open(log, "rb") as fh:
        head = fh.read(SUT_LOG_HEAD)
        fh.seek(size - SUT_LOG_TAIL)
        tail = fh.read()
    left_out = size - len(head) - len(tail)
    return (head.decode("utf-8", "replace") + f"\n[raptorspec: {left_out} bytes of this log left out of the kept "
            f"copy; it was {size} bytes]\n" + tail.decode("utf-8", "replace"))


def keep_sut_logs(lab_dir: Path) -> list[Path]:
    """Copy the SUTs' logs of ``lab_dir`` (``suts/**/*.log``) to :data:`SUT_LOGS_TO`, masked
    (:func:`support.secrets.mask`); returns the copies. Never raises (a failed copy is named
    on stderr)."""
    global _SUT_LOGS_CLEARED
    if SUT_LOGS_TO is None:
        return []
    src = Path(lab_dir) / "suts"
    if not _SUT_LOGS_CLEARED:       # the previous run's copies go when this run makes its own
        _SUT_LOGS_CLEARED = True
        shutil.rmtree(SUT_LOGS_TO, ignore_errors=True)
    copies = []
    try:
        logs = sorted(src.rglob("*.log")) if src.is_dir() else []
    except OSError:
        logs = []
    for log in logs:
        dest = SUT_LOGS_TO / log.relative_to(src)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(mask(_capped_text(log)), encoding="utf-8")
            copies.append(dest)
            SUT_LOGS_KEPT.append(dest)
        except OSError as exc:
            warn(f"could not keep the SUT log {log}: {exc}")
    return copies
