"""Velociraptor over gRPC: one channel, a deadline on every query, errors read from the log.

:class:`Velociraptor` runs VQL through the API's ``Query`` stream (pyvelociraptor's stubs).
gRPC is blocking, so each query runs on a worker thread of a bounded pool and the event loop
awaits it: one slow query never stalls another.

Three facts of Velociraptor 0.77.2 shape this module (read in its source):

- **Values travel as query variables.** ``VQLCollectorArgs.env`` is a list of key/value
  strings set in the query's scope before it runs (api/query.go, ``builder.Env.Set``). Every
  value a caller gives is sent there, never pasted into the VQL text; a value that is not a
  string is sent as JSON and decoded in VQL (``parse_json_array()`` for a list;
  ``parse_json()`` decodes objects only, so numbers and booleans travel as its fields).
- **Errors are log lines, not gRPC errors.** A query that fails still ends the stream
  normally; its failure is a ``log`` response. Three forms say "this failed":
  ``VQL Error: …`` (the parse error api/query.go writes), a line whose level is ERROR
  (``ERROR:…``: vfilter's ``scope.Error``, e.g. ``ERROR:Plugin x not found``; the level is
  the text before the first colon, as logging.SplitIntoLevelAndLog reads it), and
  ``<plugin>: …``, the form every server plugin uses to report its failure
  (``flows: unable to get client …``, ``hunt_update: …``) — counted only for the plugins and
  functions the query itself calls.
- **A query has its own timeout.** ``VQLCollectorArgs.timeout`` (seconds) cancels the query
  on the server and logs ``Timeout Error``; the gRPC deadline bounds the call on our side.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import grpc
import yaml
from pyvelociraptor import api_pb2, api_pb2_grpc

log = logging.getLogger("reference.velo")

#: The name Velociraptor's API certificate is issued to (``Frontend.certificate`` CN/SAN).
SERVER_NAME = "VelociraptorServer"

_LEVELS = {"DEFAULT", "ERROR", "INFO", "WARN", "DEBUG", "ALERT"}  # logging/levels.go
_CALLED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class VelociraptorError(Exception):
    """A failure talking to Velociraptor; ``str()`` names the cause for the caller."""


class Unreachable(VelociraptorError):
    """The API cannot be reached (connection refused, TLS failure…)."""


class DeadlineExceeded(VelociraptorError):
    """A query did not finish within its deadline (seconds)."""


class VQLFailure(VelociraptorError):
    """Velociraptor ran the query and reported errors in its log.

    ``lines``: the error lines, as Velociraptor wrote them (trailing whitespace removed).
    """

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("; ".join(lines))


@dataclass
class QueryResult:
    """Rows (JSON objects, in Velociraptor's order) and the query's log lines."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    truncated: bool = False


def load_api_config(path: str | Path) -> dict[str, Any]:
    """Read an ``api_client.yaml`` (``velociraptor config api_client`` writes it).

    Raises ValueError naming the file and the missing keys (never their values).
    """
    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read the API client config {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ValueError(f"the API client config {path} is not valid YAML") from None
    needed = ("ca_certificate", "client_cert", "client_private_key", "api_connection_string")
    missing = [k for k in needed if not isinstance(cfg, dict) or not cfg.get(k)]
    if missing:
        raise ValueError(f"the API client config {path} lacks {', '.join(missing)}")
    return cfg


def env_value(value: Any) -> str:
    """A query variable's text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def level_of(line: str) -> str:
    """The level of a log line as Velociraptor reads it (logging.SplitIntoLevelAndLog)."""
    head, sep, _ = line.partition(":")
    return head.strip().upper() if sep and head.strip().upper() in _LEVELS else "DEFAULT"


def called_names(vql: str) -> set[str]:
    """Names the VQL text calls as plugins or functions (``name(``), lower-cased."""
    return {m.group(1).lower() for m in _CALLED.finditer(vql)}


def error_lines(logs: Iterable[str], plugins: Iterable[str]) -> list[str]:
    """The log lines that report a failure (see the module docstring)."""
    names = {p.lower() for p in plugins}
    out = []
    for raw in logs:
        line = raw.strip()
        if not line:
            continue
        head = line.partition(":")[0].strip()
        if (line.startswith("VQL Error:") or level_of(line) == "ERROR" or "Timeout Error" in line
                or (head.lower() in names and head.isidentifier())):
            out.append(line)
    return out


class Velociraptor:
    """A client of one Velociraptor API.

    ``api_config``: path of an api_client.yaml. ``deadline``: default seconds a query may take
    (gRPC deadline and the query's own timeout). ``workers``: threads running gRPC streams at
    once (more concurrent queries wait for a free one, within their deadline).
    Raises ValueError when the config cannot be used.
    """

    def __init__(self, api_config: str | Path, *, deadline: float = 45.0, workers: int = 16):
        cfg = load_api_config(api_config)
        self.target = str(cfg["api_connection_string"])
        self.deadline = float(deadline)
        creds = grpc.ssl_channel_credentials(
            root_certificates=cfg["ca_certificate"].encode(),
            private_key=cfg["client_private_key"].encode(),
            certificate_chain=cfg["client_cert"].encode(),
        )
        self._channel = grpc.secure_channel(
            self.target, creds, options=(("grpc.ssl_target_name_override", SERVER_NAME),))
        self._stub = api_pb2_grpc.APIStub(self._channel)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vql")
        self._closed = threading.Event()

    def close(self) -> None:
        """Cancel nothing in flight, refuse new queries, close the channel."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._channel.close()

    async def query(self, vql: str, env: Mapping[str, Any] | None = None, *, plugins: Iterable[str] | None = None,
                    deadline: float | None = None, max_rows: int | None = None, org_id: str | None = None,
                    check: bool = True) -> QueryResult:
        """Run ``vql`` with ``env`` as its variables; return its rows and log.

        ``plugins``: names whose ``name: …`` log lines are failures (default: every name the
        VQL calls). ``max_rows``: stop reading after that many rows (``truncated`` set).
        ``check``: raise :class:`VQLFailure` when the log reports a failure.
        Raises :class:`DeadlineExceeded`, :class:`Unreachable`, :class:`VQLFailure`.
        """
        seconds = float(deadline or self.deadline)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._run, vql, dict(env or {}), seconds, max_rows, org_id)
        try:
            # The gRPC deadline ends the thread's call; this bound also covers a wait for a free worker.
            result = await asyncio.wait_for(future, seconds + 5)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(f"Velociraptor did not answer within {seconds:g} s") from None
        if check:
            errors = error_lines(result.logs, called_names(vql) if plugins is None else plugins)
            if errors:
                raise VQLFailure(errors)
        return result

    def _run(self, vql: str, env: dict[str, Any], seconds: float, max_rows: int | None,
             org_id: str | None) -> QueryResult:
        if self._closed.is_set():
            raise Unreachable("the server is shutting down")
        request = api_pb2.VQLCollectorArgs(
            max_wait=1, max_row=1000, timeout=max(1, int(seconds)),
            Query=[api_pb2.VQLRequest(Name="reference", VQL=vql)],
            env=[api_pb2.VQLEnv(key=str(k), value=env_value(v)) for k, v in env.items()],
            org_id=org_id or "",
        )
        result = QueryResult()
        call = self._stub.Query(request, timeout=seconds)
        try:
            for response in call:
                if response.log:
                    result.logs.append(response.log.rstrip())
                if response.Response:
                    for row in json.loads(response.Response):
                        if max_rows is not None and len(result.rows) >= max_rows:
                            result.truncated = True
                            return result
                        result.rows.append(row)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            # A match, not ``==`` chains: StatusCode members are singletons, so ``is`` and ``==``
            # cannot be told apart (bench/MUTATION.md, sample 2: an equivalent mutant).
            match code:
                case grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise DeadlineExceeded(f"Velociraptor did not answer within {seconds:g} s") from None
                case grpc.StatusCode.UNAVAILABLE:
                    raise Unreachable(f"the Velociraptor API at {self.target} is unreachable: "
                                      f"{exc.details()}") from None
            raise VelociraptorError(f"Velociraptor refused the query ({code.name if code else 'error'}): "
                                    f"{exc.details() if hasattr(exc, 'details') else exc}") from None
        finally:
            call.cancel()
        return result
