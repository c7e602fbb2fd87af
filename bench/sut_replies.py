"""How long one big JSON-RPC reply takes to receive: the MCP SDK's stdio client vs ours.

The server is tests/sut_fakes/raw_server.py: its ``big`` tool writes one JSON-RPC line of N MiB
at once. Both clients run the same ``ClientSession.call_tool``; only the transport differs:

- ``sdk``: ``mcp.client.stdio.stdio_client`` (its reader joins every 64 KiB chunk onto the
  pending text, ``buffer + chunk``, so a line of N bytes costs ~N²/128 KiB bytes copied);
- ``ours``: :class:`support.sut.session.SutSession` (a ``bytearray`` and a newline search in
  the new chunk only: linear).

Each point is the best of ``--runs`` (default 2) wall-clock seconds from the request to the
parsed reply. A run past ``--limit`` seconds (default 60) is recorded as such, not waited for.

    python -m bench.sut_replies [--sizes 1,8,16,30,64] [--runs 2]

Writes bench/results/sut_replies.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

RAW = Path(__file__).resolve().parent.parent / "tests" / "sut_fakes" / "raw_server.py"
RESULTS = Path(__file__).resolve().parent / "results" / "sut_replies.json"


async def _sdk_once(mib: float, limit: float) -> float | None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(RAW)])
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                t0 = time.monotonic()
                try:
                    reply = await asyncio.wait_for(session.call_tool("big", {"mib": mib}), limit)
                except asyncio.TimeoutError:
                    return None
                seconds = time.monotonic() - t0
                assert len(reply.content[0].text) == int(mib * 1024 * 1024)
                return seconds


def sdk(mib: float, limit: float) -> float | None:
    return asyncio.run(_sdk_once(mib, limit))


def ours(mib: float, limit: float) -> float | None:
    from support.errors import SutTimeout
    from support.sut.session import SutSession

    with tempfile.TemporaryDirectory() as tmp:
        with SutSession("raw", [sys.executable, str(RAW)], {}, Path(tmp), call_timeout=limit) as session:
            t0 = time.monotonic()
            try:
                reply = session.call_tool("big", {"mib": mib})
            except SutTimeout:
                return None
            seconds = time.monotonic() - t0
            assert len(reply["texts"][0]) == int(mib * 1024 * 1024)
            return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,16,30,64", help="reply sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds after which a run is abandoned")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    points = []
    for mib in sizes:
        row: dict = {"mib": mib}
        for name, fn in (("sdk_stdio_client_s", sdk), ("ours_s", ours)):
            times = [fn(mib, args.limit) for _ in range(args.runs)]
            done = [t for t in times if t is not None]
            row[name] = round(min(done), 3) if done else f">{args.limit:g} (abandoned)"
        print(json.dumps(row), flush=True)
        points.append(row)
    out = {
        "what": "seconds from request to parsed reply of one JSON-RPC line of N MiB (best of runs)",
        "server": "tests/sut_fakes/raw_server.py tool 'big' (writes the line at once)",
        "runs": args.runs,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "note": "2 shared cores, other jobs running: absolute figures are pessimistic"},
        "points": points,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"written {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
