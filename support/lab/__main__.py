"""``python -m support.lab up|status|down|logs [--json]``: keep an embedded lab running in the background.

``up`` starts a supervisor process that holds an :class:`~support.lab.embedded.EmbeddedLab`
until ``down`` (SIGTERM); its state (dir, api_config, client ids, pids, log paths) is in
``<cache>/lab/current.json``. Reuse it with ``pytest features/ --lab external --api-config PATH``.
Exit codes: 0 ok, 1 failed, 3 no lab running (``status``, ``logs``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import waits
from support.cache import cache_dir
from support.lab.base import tail as _tail
from support.lab.embedded import EmbeddedLab
from support.procs import pid_alive as _pid_alive

ROOT = Path(__file__).resolve().parent.parent.parent


def _state_file() -> Path:
    return cache_dir() / "lab" / "current.json"


def _remove_orphaned(state: dict[str, Any]) -> str:
    """Clean up after a lab whose supervisor is gone: stop any of its processes still running
    (only a process whose command line names the lab's directory: a pid may have been reused)
    and remove its directory. Returns "" or what could not be done."""
    lab_dir = Path(state["dir"])
    for pid in state.get("pids", {}).values():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(lab_dir) in cmdline and _pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if not lab_dir.name.startswith("raptorspec-lab-"):
        return f"{lab_dir} does not look like a lab directory (raptorspec-lab-*); not removed"
    shutil.rmtree(lab_dir, ignore_errors=True)
    return f"could not remove all of {lab_dir}" if lab_dir.exists() else ""


def main(argv: list[str] | None = None) -> int:
    import argparse

    from support.errors import ProvisionError
    from support.lab.provision import ensure_binary

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
                                   start_new_session=True, cwd=ROOT)

        def ready() -> tuple[bool, Any]:
            return state_path.exists(), _tail(log, 5) or "no output yet"

        def sup_alive() -> str | None:
            code = sup.poll()
            return None if code is None else f"the lab supervisor exited with code {code}:\n{_tail(log, 60)}"

        try:
            waits.wait_for(ready, "the background lab to come up", args.timeout, 0.5, alive=sup_alive)
        except waits.WaitError as exc:
            if sup.poll() is None:
                os.killpg(sup.pid, signal.SIGTERM)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except BaseException:  # Ctrl-C while waiting: the supervisor goes too
            if sup.poll() is None:
                os.killpg(sup.pid, signal.SIGTERM)
            raise
        state = json.loads(state_path.read_text())
        out(state, f"lab up in {state['dir']}\napi config: {state['api_config']}\nclients: {', '.join(state['client_ids'])}\n"
                   f"use it: pytest features/ --lab external --api-config {state['api_config']}")
        return 0
    if args.action == "status":
        if state and not running:
            print(f"the lab's supervisor (pid {state.get('supervisor_pid')}) is gone; its directory "
                  f"{state.get('dir')} is left: `python -m support.lab down` removes it", file=sys.stderr)
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
            if state and state.get("dir"):     # its supervisor died (kill -9): clean up after it
                problem = _remove_orphaned(state)
                if problem:
                    print(f"error: {problem}", file=sys.stderr)
                    return 1
                out({"running": False, "stopped": state["dir"], "supervisor_gone": True},
                    f"the lab's supervisor (pid {state.get('supervisor_pid')}) is gone; "
                    f"its lab in {state['dir']} is stopped and removed")
                return 0
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
    raise SystemExit(main())
