"""A tiny MCP server (stdio) that misbehaves on request, for tests of support/sut.

Run with the suite's interpreter: ``python tests/sut_fakes/fake_server.py``. Each tool is one
way a real server under test can fail the client: hang, crash, error replies of every
shape, garbage on stdout, a stderr flood, a leaked private key, a child process.
Environment switches: FAKE_HANG_AT_START=1 never answers initialize; FAKE_EXIT_AT_START=N
exits with code N before speaking MCP; FAKE_HTTP=1 serves Streamable HTTP on 127.0.0.1 at a
free port (path /mcp) instead of stdio, and says ``Uvicorn running on http://127.0.0.1:PORT``
on stderr.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)

server = MCPServer("raptorspec-fake")
# mcp 2.x diverts fd 1 to stderr while it serves (so a stray print cannot corrupt the
# stream); servers built on mcp 1.x do not. Keep a handle on the real wire to imitate them.
WIRE = os.dup(1)


@server.tool()
def echo(text: str) -> str:
    """Answer with the text it was given."""
    return text


@server.tool()
async def hang(note: str = "") -> str:
    """Never answer."""
    sys.stderr.write(f"fake: hanging now {note}\n")
    sys.stderr.flush()
    await anyio.sleep_forever()
    return "unreachable"


@server.tool()
def crash(code: int = 3) -> str:
    """Exit the process in the middle of a call."""
    sys.stderr.write(f"fake: fatal error, exiting with {code}\n")
    sys.stderr.flush()
    os._exit(code)


@server.tool()
def fail() -> str:
    """Reply isError: true."""
    raise ToolError("fake: the tool failed on purpose")


@server.tool()
def error_json(client_id: str = "C.0000000000000000") -> str:
    """Reply with an error object inside an isError: false reply."""
    return json.dumps({"error": f"Client {client_id} not found", "hint": "Use list_clients"})


@server.tool()
def rows(n: int = 3) -> str:
    """Reply with a JSON array of n rows."""
    return json.dumps([{"client_id": f"C.{i:016x}", "hostname": f"host{i}"} for i in range(n)])


@server.tool()
def plain_text() -> str:
    """Reply with text that is not JSON."""
    return "Collection started successfully:\n" + json.dumps({"flow_id": "F.ABC123", "artifacts": ["X"]})


@server.tool()
def garbage() -> str:
    """Write a stray line on stdout, then reply normally."""
    os.write(WIRE, b"this is not json-rpc\n")
    return "ok"


@server.tool()
def flood_stderr(kib: int = 256) -> str:
    """Write `kib` KiB on stderr, then reply."""
    line = "fake: log line " + "x" * 1000 + "\n"
    for _ in range(kib):
        sys.stderr.write(line)
    sys.stderr.write("fake: flood done\n")
    sys.stderr.flush()
    return f"flooded {kib} KiB"


@server.tool()
def leak_key() -> str:
    """Reply with a private key (the transcript must mask it)."""
    sys.stderr.write("fake: leaking " + PEM + "\n")
    sys.stderr.flush()
    return json.dumps({"client_private_key": PEM})


@server.tool()
def spawn_child() -> str:
    """Start a long-lived child process and return its pid."""
    child = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return str(child.pid)


@server.tool()
def environment() -> str:
    """Return the process environment and working directory."""
    return json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid()})


@server.resource("fake://hello")
def hello() -> str:
    return json.dumps({"type": "greeting", "text": "hello"})


@server.prompt()
def greet(name: str) -> str:
    """A templated greeting."""
    return f"Please greet {name} politely."


if __name__ == "__main__":
    if os.environ.get("FAKE_EXIT_AT_START"):
        sys.stderr.write("fake: cannot start, config missing\n")
        sys.exit(int(os.environ["FAKE_EXIT_AT_START"]))
    if os.environ.get("FAKE_HANG_AT_START"):
        sys.stderr.write("fake: waiting forever before serving\n")
        sys.stderr.flush()
        anyio.run(anyio.sleep_forever)
    if os.environ.get("FAKE_HTTP"):
        server.run("streamable-http", host="127.0.0.1", port=0)
    else:
        server.run()
