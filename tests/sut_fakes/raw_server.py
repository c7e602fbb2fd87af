"""A raw JSON-RPC MCP server over stdio (no SDK), for the transport-level tests of support/sut.

Run with the suite's interpreter: ``python tests/sut_fakes/raw_server.py``. It speaks just
enough MCP (initialize, tools/list, tools/call) to be driven by the SDK client, and each tool
is one way a server misbehaves on the wire, which the SDK-built fake cannot do:

- ``echo {text}``: reply with the text.
- ``late_garbage {line, delay}``: reply correctly, then ``delay`` seconds later write ``line``
  (default ``[WebSocket] Closed``) on stdout, as a server that logs to stdout does.
- ``big {mib}``: reply with one JSON-RPC line carrying ``mib`` MiB of text, written at once.
- ``trickle {kib, seconds}``: write a ``kib`` KiB reply spread over ``seconds`` (bytes keep
  arriving, the line ends late).
- ``no_newline {mib}``: write ``mib`` MiB on stdout without a newline, then wait forever.
- ``exit_later {delay, code}``: reply, then exit with ``code`` ``delay`` seconds later.
- ``spawn_escapee {double_fork}``: start ``sleep 600`` in a new session
  (``start_new_session=True``; with ``double_fork`` through an intermediate that exits at
  once, so its parent is no longer the server) and reply with its pid.

Environment: ``RAW_PROTOCOL_VERSION`` is the version answered to initialize (default
``2025-06-18``); ``RAW_CLEAR_ENV=1`` makes spawned helpers run with an empty environment.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

OUT = sys.stdout.buffer


def send(obj: dict) -> None:
    OUT.write(json.dumps(obj).encode() + b"\n")
    OUT.flush()


def reply(rid, text: str) -> None:
    send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": text}], "isError": False}})


TOOLS = ["echo", "late_garbage", "big", "trickle", "no_newline", "spawn_escapee", "exit_later"]


def spawn_escapee(double_fork: bool) -> int:
    env = {} if os.environ.get("RAW_CLEAR_ENV") else None
    sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "sleep"
    if not double_fork:
        child = subprocess.Popen([sleep, "600"], start_new_session=True, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return child.pid
    # the intermediate starts the sleeper in a new session, prints its pid and exits at once
    code = (f"import subprocess,sys; p=subprocess.Popen([{sleep!r},'600'],start_new_session=True,"
            "env=None if not sys.argv[1:] else {},stdin=subprocess.DEVNULL,stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL); print(p.pid)")
    args = [sys.executable, "-c", code] + (["clear"] if env is not None else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip())


def call(rid, name: str, args: dict) -> None:
    if name == "echo":
        reply(rid, str(args.get("text", "")))
    elif name == "late_garbage":
        reply(rid, "ok")
        line = args.get("line", "[WebSocket] Closed")
        delay = float(args.get("delay", 0.2))

        def later() -> None:
            time.sleep(delay)
            OUT.write(line.encode() + b"\n")
            OUT.flush()
        threading.Thread(target=later, daemon=True).start()
    elif name == "big":
        size = int(float(args.get("mib", 1)) * 1024 * 1024)
        reply(rid, "x" * size)
    elif name == "trickle":
        size = int(args.get("kib", 1024)) * 1024
        seconds = float(args.get("seconds", 5))
        data = json.dumps({"jsonrpc": "2.0", "id": rid,
                           "result": {"content": [{"type": "text", "text": "y" * size}], "isError": False}}).encode()
        steps = 50
        piece = len(data) // steps + 1
        for i in range(0, len(data), piece):
            OUT.write(data[i:i + piece])
            OUT.flush()
            time.sleep(seconds / steps)
        OUT.write(b"\n")
        OUT.flush()
    elif name == "no_newline":
        chunk = b"Z" * (1024 * 1024)
        for _ in range(int(args.get("mib", 8))):
            OUT.write(chunk)
            OUT.flush()
        while True:
            time.sleep(3600)
    elif name == "exit_later":
        reply(rid, "ok")
        delay, code = float(args.get("delay", 1.0)), int(args.get("code", 3))

        def later() -> None:
            time.sleep(delay)
            sys.stderr.write(f"raw: exiting with {code} after {delay}s\n")
            sys.stderr.flush()
            os._exit(code)
        threading.Thread(target=later, daemon=True).start()
    elif name == "spawn_escapee":
        reply(rid, str(spawn_escapee(bool(args.get("double_fork")))))
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"unknown tool {name}"}})


def main() -> None:
    version = os.environ.get("RAW_PROTOCOL_VERSION", "2025-06-18")
    for raw in sys.stdin.buffer:
        msg = json.loads(raw)
        method, rid = msg.get("method"), msg.get("id")
        if rid is None:
            continue  # a notification
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": rid, "result": {
                "protocolVersion": version, "capabilities": {"tools": {}},
                "serverInfo": {"name": "raptorspec-raw", "version": "0"}}})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [
                {"name": n, "inputSchema": {"type": "object"}} for n in TOOLS]}})
        elif method == "tools/call":
            call(rid, msg["params"]["name"], msg["params"].get("arguments") or {})
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": rid, "result": {}})
        else:
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"no method {method}"}})


if __name__ == "__main__":
    main()
