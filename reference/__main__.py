"""``python -m reference``: serve the reference MCP server over stdio or Streamable HTTP.

Options: ``--config PATH`` (the api_client.yaml; default $VELOCIRAPTOR_API_CONFIG),
``--transport stdio|http`` (default stdio), ``--port N`` (http; default a free port),
``--deadline SECONDS`` (per Velociraptor query; default 45), ``--log-level``.

Over http it binds 127.0.0.1 only and prints ``reference MCP server listening on
http://127.0.0.1:PORT/mcp`` on stderr once the socket is bound. Exit codes: 0 on a clean
stop, 2 on a usage or configuration error (the message names it on stderr).
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from reference import __version__

HOST = "127.0.0.1"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="raptorspec-reference", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("VELOCIRAPTOR_API_CONFIG"),
                        help="Velociraptor api_client.yaml (default: $VELOCIRAPTOR_API_CONFIG)")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--port", type=int, default=0, help="http port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--deadline", type=float, default=45.0, help="seconds each Velociraptor query may take")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    # stdout is the protocol (stdio transport): every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("reference")
    if not args.config:
        print("raptorspec-reference: no Velociraptor API config: give --config PATH or set "
              "VELOCIRAPTOR_API_CONFIG", file=sys.stderr)
        return 2

    from reference.server import build
    from reference.velo import Velociraptor

    try:
        velo = Velociraptor(args.config, deadline=args.deadline)
    except ValueError as exc:
        print(f"raptorspec-reference: {exc}", file=sys.stderr)
        return 2
    mcp = build(velo)
    log.info("reference %s for Velociraptor at %s (%s)", __version__, velo.target, args.transport)
    try:
        if args.transport == "stdio":
            mcp.run("stdio")
        else:
            _serve_http(mcp, args.port, log)
    except KeyboardInterrupt:
        pass
    finally:
        velo.close()
    return 0


def _serve_http(mcp: object, port: int, log: logging.Logger) -> None:
    """Serve Streamable HTTP on a socket bound before uvicorn starts (no free-port race)."""
    import anyio
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"raptorspec-reference: cannot bind {HOST}:{port}: {exc.strerror}") from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    app = mcp.streamable_http_app(host=HOST)  # type: ignore[attr-defined]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    print(f"reference MCP server listening on http://{HOST}:{bound}/mcp", file=sys.stderr, flush=True)
    log.info("serving Streamable HTTP on http://%s:%d/mcp", HOST, bound)
    anyio.run(lambda: server.serve(sockets=[sock]))


if __name__ == "__main__":
    raise SystemExit(main())
