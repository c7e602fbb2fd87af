"""The oracle: Velociraptor's own answer, over gRPC, independent of any server under test.

One channel per test session (:class:`Oracle`), pyvelociraptor's stubs, a deadline on every
call. VQL errors reach gRPC clients only as log lines with empty results, so :meth:`query`
reads the logs and raises :class:`VQLError` instead of returning ``[]`` for a broken query.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import grpc
import yaml
from pyvelociraptor import api_pb2, api_pb2_grpc

from support.secrets import mask

# Log lines that Velociraptor writes when a query (or a plugin in it) failed. Anything that
# looks like an error is raised; lines known to be harmless are listed in _BENIGN.
_ERROR_LINE = re.compile(
    r"(?i)(\bvql error\b|\berror\b|symbol .* not found|not found|invalid|unable to|failed|"
    r"permission denied|\bdenied\b|unexpected|syntax|parse)"
)
_BENIGN = re.compile(r"(?i)^(query stats:|.*\bstarting query execution\b|.*time: )")


from support.errors import OracleUnavailable, VQLError  # noqa: E402,F401 (re-exported)


def load_api_config(path: str | Path) -> dict[str, Any]:
    """Read an api_client.yaml and check it holds what a gRPC connection needs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"API client config not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"API client config {path} is not valid YAML: {mask(str(exc))}") from None
    missing = [k for k in ("ca_certificate", "client_cert", "client_private_key", "api_connection_string")
               if not isinstance(cfg, dict) or not cfg.get(k)]
    if missing:
        raise ValueError(
            f"API client config {path} lacks {', '.join(missing)}; make one with "
            "`velociraptor --config server.config.yaml config api_client --name NAME --role administrator OUT.yaml`"
        )
    return cfg


class Oracle:
    """A gRPC client of the Velociraptor API. Use as a context manager or call :meth:`close`."""

    def __init__(self, api_config: str | Path, *, timeout: float = 30.0):
        self.api_config_path = Path(api_config)
        cfg = load_api_config(self.api_config_path)
        self.timeout = timeout
        self.target = cfg["api_connection_string"]
        creds = grpc.ssl_channel_credentials(
            root_certificates=cfg["ca_certificate"].encode(),
            private_key=cfg["client_private_key"].encode(),
            certificate_chain=cfg["client_cert"].encode(),
        )
        self._channel = grpc.secure_channel(
            self.target, creds, options=(("grpc.ssl_target_name_override", "VelociraptorServer"),)
        )
        self._stub = api_pb2_grpc.APIStub(self._channel)

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Oracle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------
    def _request(self, vql: str, env: Mapping[str, Any] | None, timeout: float) -> api_pb2.VQLCollectorArgs:
        env_list = [
            api_pb2.VQLEnv(key=k, value=v if isinstance(v, str) else json.dumps(v))
            for k, v in (env or {}).items()
        ]
        return api_pb2.VQLCollectorArgs(
            max_wait=1, max_row=1000, timeout=int(timeout) + 1,
            Query=[api_pb2.VQLRequest(Name="raptorspec", VQL=vql)], env=env_list,
        )

    def stream(self, vql: str, env: Mapping[str, Any] | None = None, *, timeout: float | None = None
               ) -> Iterator[dict[str, Any]]:
        """Yield rows as Velociraptor sends them (event queries too); raise on VQL errors.

        ``timeout`` bounds the whole stream (gRPC deadline); the caller stops early by closing
        the generator.
        """
        timeout = timeout or self.timeout
        errors: list[str] = []
        call = self._stub.Query(self._request(vql, env, timeout), timeout=timeout)
        try:
            for resp in call:
                if resp.log:
                    line = resp.log.strip()
                    if _ERROR_LINE.search(line) and not _BENIGN.search(line):
                        errors.append(line)
                if resp.Response:
                    for row in json.loads(resp.Response):
                        yield row
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                raise OracleUnavailable(
                    f"Velociraptor API at {self.target} is unreachable: {exc.details()}"
                ) from None
            raise
        finally:
            call.cancel()
        if errors:
            raise VQLError(vql, errors)

    def query(self, vql: str, env: Mapping[str, Any] | None = None, *, timeout: float | None = None
              ) -> list[dict[str, Any]]:
        """Run a VQL query and return all its rows; raise :class:`VQLError` if it failed."""
        return list(self.stream(vql, env, timeout=timeout))

    def query_one(self, vql: str, env: Mapping[str, Any] | None = None, **kw: Any) -> dict[str, Any] | None:
        rows = self.query(vql, env, **kw)
        return rows[0] if rows else None

    # -- the handful of facts scenarios ask for ------------------------------------------
    def info(self) -> dict[str, Any]:
        return self.query_one("SELECT * FROM info()") or {}

    def clients(self, search: str = "all") -> list[dict[str, Any]]:
        return self.query("SELECT * FROM clients(search=RsSearch)", {"RsSearch": search})

    def client(self, client_id: str) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM clients(client_id=RsClientId)", {"RsClientId": client_id})

    def flows(self, client_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM flows(client_id=RsClientId)", {"RsClientId": client_id})

    def flow(self, client_id: str, flow_id: str) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM flows(client_id=RsClientId, flow_id=RsFlowId)",
                              {"RsClientId": client_id, "RsFlowId": flow_id})

    def source(self, client_id: str, flow_id: str, artifact: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM source(client_id=RsClientId, flow_id=RsFlowId, artifact=RsArtifact)",
                          {"RsClientId": client_id, "RsFlowId": flow_id, "RsArtifact": artifact})

    # Env names carry an "Rs" prefix: a bare `Artifact` would shadow VQL's Artifact plugin
    # namespace (source() then silently returns no rows).

    def collect(self, client_id: str, artifacts: list[str], parameters: Mapping[str, Any] | None = None,
                timeout: int = 120) -> str:
        """Start a collection directly (for Givens and tests); return the flow id."""
        env = {"RsClientId": client_id, "RsArtifacts": artifacts, "RsSpec": {a: dict(parameters or {}) for a in artifacts}}
        row = self.query_one(
            "LET X = collect_client(client_id=RsClientId, artifacts=parse_json_array(data=RsArtifacts), "
            f"spec=parse_json(data=RsSpec), timeout={int(timeout)}) SELECT X.flow_id AS flow_id FROM scope()", env)
        if not row or not row.get("flow_id"):
            raise VQLError("collect_client", [f"no flow id returned for {artifacts} on {client_id}: {row!r}"])
        return row["flow_id"]

    def hunts(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM hunts()")

    def hunt(self, hunt_id: str) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM hunts(hunt_id=RsHuntId)", {"RsHuntId": hunt_id})
