"""The oracle: Velociraptor's own answer, over gRPC, independent of any server under test.

One channel per test session (:class:`Oracle`), pyvelociraptor's stubs, a deadline on every
call. VQL errors reach gRPC clients only as log lines with empty results, so :meth:`Oracle.query`
reads the logs and raises :class:`VQLError` instead of returning ``[]`` for a broken query.
Every VQL text the suite sends to Velociraptor is written here, once (steps and the ledger
call the methods below).

How a log line is judged (:func:`error_line`), from Velociraptor v0.77.2's source, never from
words such as "failed", "not found" or "invalid" in a message:

- A line may carry a level prefix, ``LEVEL:message``, with LEVEL one of DEFAULT, ERROR, INFO,
  WARN, DEBUG, ALERT (logging/levels.go). ``log()`` writes it upper-cased, ``"%s:%s" %
  (level, message)`` (vql/functions/log.go); vfilter's ``scope.Error/Warn/Debug`` write
  ``ERROR:``/``WARN:``/``DEBUG:`` (scope/scope.go). A line at level ERROR is an error
  (``Plugin x not found`` / ``Symbol x not found`` come as ``ERROR:…``, vfilter.go);
  ``log(message='cache lookup failed')`` is ``DEFAULT:cache lookup failed`` and is not.
- Whatever its level, a line whose message has one of Velociraptor's own error forms is an
  error: ``constants.VQL_ERROR_REGEX`` (constants/constants.go: ``Error:``, ``Symbol … not
  found``, ``Expecting a path arg type, not``, ``Field … is required``, ``Unexpected arg``),
  the rule by which Velociraptor itself marks a collection failed ("level == ERROR ||
  regex", services/server_artifacts/logger.go). A parse error is ``VQL Error: …``
  (api/query.go).
- A line with no level prefix is written by the engine or a plugin. Plugins report failures
  as ``scope.Log("<name>: %v", err)`` — ``collect_client: Unknown artifact X``, ``flows:
  unable to get client …``, ``hunt_results: Hunt not found`` — so that form (a VQL name, a
  colon, a space) is an error too. The level prefix is matched upper-case with no space after
  the colon, as Velociraptor writes it, so a plugin named like a level (``info: Unexpected arg
  foo``) reads as the plugin's report. The API's own progress lines (``Starting query
  execution.``, ``Time N: <query>: Sending response part …``) have neither form; the few
  informational lines a plugin writes in the report form are listed in :data:`INFORMATIONAL`.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import grpc
import yaml
from pyvelociraptor import api_pb2, api_pb2_grpc

from support.errors import OracleUnavailable, VQLError  # noqa: F401 (re-exported)
from support.secrets import mask

log = logging.getLogger("raptorspec.oracle")

#: Log levels Velociraptor splits off a ``LEVEL:message`` line (logging/levels.go).
LEVELS = ("DEFAULT", "ERROR", "INFO", "WARN", "DEBUG", "ALERT")
_LEVEL = re.compile(rf"^({'|'.join(LEVELS)}):")
#: Velociraptor's own error forms, constants.VQL_ERROR_REGEX (constants/constants.go, v0.77.2).
VQL_ERROR_FORMS = re.compile(
    r"(?i)(Error:|Symbol.+?not found|Expecting a path arg type, not|Field.+?is required|Unexpected arg)")
#: A plugin's report of a failure: ``<plugin or function name>: <message>``.
PLUGIN_REPORT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*: \S")
#: Lines in the report form that plugins write when nothing failed (vql/tools/execve.go).
INFORMATIONAL = re.compile(r"^execve: Running external command ")

#: The states of a flow that will not change again (flows(): FINISHED, or ERROR — which
#: cancel_flow() also sets, with status "Cancelled by VQL query").
FLOW_DONE = ("FINISHED", "ERROR")
#: Every state flows() shows for a flow (flows/proto: RUNNING, WAITING, IN_PROGRESS, UNRESPONSIVE + done).
FLOW_STATES = ("RUNNING", "WAITING", "IN_PROGRESS", "UNRESPONSIVE") + FLOW_DONE


def split_level(line: str) -> tuple[str | None, str]:
    """(level, message) of a log line when it starts with an upper-case ``LEVEL:`` prefix (one
    of :data:`LEVELS`), else (None, the line)."""
    m = _LEVEL.match(line)
    if not m:
        return None, line
    return m.group(1), line[m.end():]


def error_line(line: str) -> bool:
    """True when a query log line reports an error, by Velociraptor's level and forms (module
    docstring); never by words such as "failed" or "not found" in a message."""
    level, message = split_level(line.strip())
    if level == "ERROR" or VQL_ERROR_FORMS.search(message):
        return True
    return level is None and bool(PLUGIN_REPORT.match(message)) and not INFORMATIONAL.match(message)


def load_api_config(path: str | Path) -> dict[str, Any]:
    """Read an api_client.yaml and check it holds what a gRPC connection needs.

    Raises FileNotFoundError (no file) or ValueError (not YAML, or a key missing)."""
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
    """A gRPC client of the Velociraptor API. Use as a context manager or call :meth:`close`.

    ``timeout`` (seconds) bounds each call. Every method raises :class:`VQLError` when
    Velociraptor reports an error for its query, :class:`OracleUnavailable` when the API
    cannot be reached. Env names carry an ``Rs`` prefix: a bare ``Artifact`` would shadow
    VQL's Artifact plugin namespace (source() then silently returns no rows).
    """

    def __init__(self, api_config: str | Path, *, timeout: float = 30.0):
        self.api_config_path = Path(api_config)
        cfg = load_api_config(self.api_config_path)
        self.timeout = timeout
        self.target = cfg["api_connection_string"]
        #: The API user this oracle (and the SUTs, which share the lab's api_client.yaml) acts as.
        self.api_user: str | None = cfg.get("name")
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
        """Yield rows as Velociraptor sends them (event queries too); raise :class:`VQLError`
        at the end when a log line reported an error (:func:`error_line`).

        ``timeout`` (seconds) bounds the whole stream (gRPC deadline); the caller stops early
        by closing the generator.
        """
        timeout = timeout or self.timeout
        errors: list[str] = []
        call = self._stub.Query(self._request(vql, env, timeout), timeout=timeout)
        try:
            for resp in call:
                if resp.log:
                    line = resp.log.strip()
                    bad = error_line(line)
                    log.debug("%s %s", "ERROR-LINE" if bad else "log-line", line)
                    if bad:
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
        """The first row of a query, or None when it returns none."""
        rows = self.query(vql, env, **kw)
        return rows[0] if rows else None

    # -- the server --------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """``info()``: the server's Hostname, OS, … (one row)."""
        return self.query_one("SELECT * FROM info()") or {}

    def version(self) -> str:
        """The server's version as Velociraptor reports it (``config.Version.version``; there is
        no ``server_version()`` in 0.77.2)."""
        row = self.query_one("SELECT config.Version.version AS RsVersion FROM scope()") or {}
        return str(row.get("RsVersion") or "")

    # -- clients and labels ------------------------------------------------------------
    def clients(self, search: str = "all") -> list[dict[str, Any]]:
        """``clients(search=…)`` rows ("all", "label:X", "host:X")."""
        return self.query("SELECT * FROM clients(search=RsSearch)", {"RsSearch": search})

    def clients_with_clock(self) -> list[dict[str, Any]]:
        """Every clients() row with ``RsServerNow``, the server's clock (seconds), to judge
        ``last_seen_at`` (microseconds) by."""
        return self.query("SELECT *, now() AS RsServerNow FROM clients()")

    def client(self, client_id: str) -> dict[str, Any] | None:
        """The clients() row of one client id, or None."""
        return self.query_one("SELECT * FROM clients(client_id=RsClientId)", {"RsClientId": client_id})

    def label(self, client_id: str, labels: Iterable[str], op: str) -> None:
        """``label(op=…)``: "set" adds ``labels``, "remove" takes them off. Velociraptor accepts
        any client id (an unknown one gets a bare client record)."""
        if op not in ("set", "remove"):
            raise ValueError(f"label op must be 'set' or 'remove', not {op!r}")
        self.query("SELECT label(client_id=RsClientId, labels=parse_json_array(data=RsLabels), op=RsOp) AS r "
                   "FROM scope()", {"RsClientId": client_id, "RsLabels": list(labels), "RsOp": op})

    def delete_client(self, client_id: str) -> None:
        """``client_delete(really_do_it=TRUE)``."""
        self.query("SELECT * FROM client_delete(client_id=RsClientId, really_do_it=TRUE)", {"RsClientId": client_id})

    # -- flows -------------------------------------------------------------------------
    def flows(self, client_id: str) -> list[dict[str, Any]]:
        """The client's flows() rows (``session_id`` is the flow id)."""
        return self.query("SELECT * FROM flows(client_id=RsClientId)", {"RsClientId": client_id})

    def flow(self, client_id: str, flow_id: str) -> dict[str, Any] | None:
        """One flows() row, or None: also for a client Velociraptor does not know, for which
        ``flows()`` reports an error (NotFoundError) instead of no row. Raises
        :class:`VQLError` for any other error."""
        try:
            return self.query_one("SELECT * FROM flows(client_id=RsClientId, flow_id=RsFlowId)",
                                  {"RsClientId": client_id, "RsFlowId": flow_id})
        except VQLError:
            if self.client(client_id) is None:
                return None
            raise

    def source(self, client_id: str, flow_id: str, artifact: str) -> list[dict[str, Any]]:
        """A flow's rows of ``artifact`` (``Artifact/Source`` for a named source)."""
        return self.query("SELECT * FROM source(client_id=RsClientId, flow_id=RsFlowId, artifact=RsArtifact)",
                          {"RsClientId": client_id, "RsFlowId": flow_id, "RsArtifact": artifact})

    def collect(self, client_id: str, artifacts: list[str], parameters: Mapping[str, Any] | None = None,
                timeout: int = 120) -> str:
        """Start a collection directly (for Givens and tests); return the flow id.

        ``parameters`` go to every artifact; ``timeout`` (seconds) is the collection's own."""
        env = {"RsClientId": client_id, "RsArtifacts": artifacts, "RsSpec": {a: dict(parameters or {}) for a in artifacts}}
        row = self.query_one(
            "LET X = collect_client(client_id=RsClientId, artifacts=parse_json_array(data=RsArtifacts), "
            f"spec=parse_json(data=RsSpec), timeout={int(timeout)}) SELECT X.flow_id AS flow_id FROM scope()", env)
        if not row or not row.get("flow_id"):
            raise VQLError("collect_client", [f"no flow id returned for {artifacts} on {client_id}: {row!r}"])
        return row["flow_id"]

    def cancel_flow(self, client_id: str, flow_id: str) -> None:
        """``cancel_flow()``: the flow becomes ERROR, status "Cancelled by VQL query"."""
        self.query("SELECT cancel_flow(client_id=RsClientId, flow_id=RsFlowId) AS r FROM scope()",
                   {"RsClientId": client_id, "RsFlowId": flow_id})

    def delete_flow(self, client_id: str, flow_id: str) -> None:
        """``delete_flow(really_do_it=TRUE)`` (a plugin; it logs an error for each file the
        flow never wrote, e.g. uploads.json — callers check afterwards whether it is gone)."""
        self.query("SELECT * FROM delete_flow(client_id=RsClientId, flow_id=RsFlowId, really_do_it=TRUE)",
                   {"RsClientId": client_id, "RsFlowId": flow_id})

    def flow_completed(self, flow_id: str, seconds: float) -> bool:
        """Block up to ``seconds`` on System.Flow.Completion events; True if ``flow_id`` completed
        meanwhile (False when the deadline passed first)."""
        vql = ("SELECT FlowId FROM watch_monitoring(artifact='System.Flow.Completion') "
               "WHERE FlowId = RsWaitFlow LIMIT 1")
        try:
            for _ in self.stream(vql, {"RsWaitFlow": flow_id}, timeout=seconds):
                return True
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
        return False

    def snapshot(self, client_id: str | None, *, hunts: bool = True) -> dict[str, Any]:
        """What the ledger compares before and after a SUT call, in one query (one round trip
        instead of three): ``{"client": the clients() row of client_id or None, "flows": its
        flows() rows ([] without client_id or when no such client: flows() on an unknown id
        logs an error), "hunts": every hunts() row ([] unless ``hunts``)}``. The rows are the
        ones :meth:`client`, :meth:`flows` and :meth:`hunts` return. VQLError as :meth:`query`."""
        row = self.query_one(
            "LET RsC <= if(condition=RsClientId, then={ SELECT * FROM clients(client_id=RsClientId) }, else=[]) "
            "SELECT RsC[0] AS RsClient, "
            "if(condition=RsC, then={ SELECT * FROM flows(client_id=RsClientId) }, else=[]) AS RsFlows, "
            "if(condition=RsWantHunts, then={ SELECT * FROM hunts() }, else=[]) AS RsHunts FROM scope()",
            {"RsClientId": client_id or "", "RsWantHunts": "Y" if hunts else ""}) or {}
        return {"client": row.get("RsClient") or None, "flows": list(row.get("RsFlows") or []),
                "hunts": list(row.get("RsHunts") or [])}

    # -- hunts -------------------------------------------------------------------------
    def hunts(self) -> list[dict[str, Any]]:
        """Every hunts() row."""
        return self.query("SELECT * FROM hunts()")

    def hunt(self, hunt_id: str) -> dict[str, Any] | None:
        """One hunts() row, or None."""
        return self.query_one("SELECT * FROM hunts(hunt_id=RsHuntId)", {"RsHuntId": hunt_id})

    def create_hunt(self, artifacts: list[str], description: str, *, include_labels: list[str] | None = None,
                    expires_s: int = 3600) -> str:
        """Create a PAUSED hunt (``hunt(pause=TRUE)``), expiring in ``expires_s`` seconds; return its id."""
        row = self.query_one(
            "SELECT hunt(artifacts=parse_json_array(data=RsArtifacts), description=RsDescription, "
            "include_labels=parse_json_array(data=RsLabels), pause=TRUE, "
            f"expires=now() + {int(expires_s)}) AS RsHunt FROM scope()",
            {"RsArtifacts": list(artifacts), "RsDescription": description, "RsLabels": list(include_labels or [])})
        hunt = (row or {}).get("RsHunt") or {}
        hunt_id = hunt.get("HuntId") if isinstance(hunt, dict) else None
        if not hunt_id:
            raise VQLError("hunt", [f"Velociraptor made no hunt for {artifacts} ({description!r}): {row!r}"])
        return hunt_id

    def start_hunt(self, hunt_id: str) -> None:
        """``hunt_update(start=TRUE)``: RUNNING, offered to connected clients at once."""
        self.query("SELECT hunt_update(hunt_id=RsHuntId, start=TRUE) AS r FROM scope()", {"RsHuntId": hunt_id})

    def stop_hunt(self, hunt_id: str) -> None:
        """``hunt_update(stop=TRUE)``: STOPPED."""
        self.query("SELECT hunt_update(hunt_id=RsHuntId, stop=TRUE) AS r FROM scope()", {"RsHuntId": hunt_id})

    def delete_hunt(self, hunt_id: str) -> None:
        """``hunt_delete(really_do_it=TRUE)`` (a plugin): the hunt and its flows go. Archiving
        does nothing in 0.77 (hunt_manager/mutations.go)."""
        self.query("SELECT * FROM hunt_delete(hunt_id=RsHuntId, really_do_it=TRUE)", {"RsHuntId": hunt_id})

    def hunt_results(self, hunt_id: str, artifact: str | None = None) -> list[dict[str, Any]]:
        """``hunt_results()`` of one artifact or source (``Artifact/Source``), or of the hunt's
        first one when ``artifact`` is None. A multi-source artifact named bare is "not
        available" to Velociraptor (a VQLError): use :meth:`hunt_results_by_source`."""
        if artifact:
            return self.query("SELECT * FROM hunt_results(hunt_id=RsHuntId, artifact=RsArtifactName)",
                              {"RsHuntId": hunt_id, "RsArtifactName": artifact})
        return self.query("SELECT * FROM hunt_results(hunt_id=RsHuntId)", {"RsHuntId": hunt_id})

    def hunt_results_by_source(self, hunt_id: str, artifacts: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Velociraptor's results of a hunt for each source of ``artifacts``, in order:
        ``{"Generic.Client.Info/BasicInformation": [...], "Generic.Client.Info/Users": [...]}``.
        An artifact named with its source (``A/S``) is that source alone; a bare name is every
        source its definition has (one unnamed source: the bare name)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for artifact in artifacts:
            for name in ([artifact] if "/" in artifact else self.artifact_sources(artifact)):
                out[name] = self.hunt_results(hunt_id, name)
        return out

    # -- artifacts -----------------------------------------------------------------------
    def artifact_catalog(self) -> dict[str, dict[str, Any]]:
        """Every artifact definition by name: {name, description, type, parameters (names),
        sources (names)}."""
        rows = self.query("SELECT name, description, type, parameters.name AS parameters, sources.name AS sources "
                          "FROM artifact_definitions()")
        return {r["name"]: r for r in rows}

    def artifact_names(self) -> set[str]:
        """The names of every artifact Velociraptor has."""
        return {row["name"] for row in self.query("SELECT name FROM artifact_definitions()")}

    def artifact_definition(self, name: str) -> dict[str, Any] | None:
        """One artifact's description and parameters (a list of {name, default, …}); VQLError
        when Velociraptor does not know it ("artifact X not known")."""
        return self.query_one("SELECT description, parameters FROM artifact_definitions(names=RsName)",
                              {"RsName": name})

    def artifact_sources(self, name: str) -> list[str]:
        """The names hunt_results()/source() know an artifact's sources by: ``Name/Source`` for
        each named source, the bare name for an unnamed one (hunts.go GetAvailableArtifacts)."""
        row = self.query_one("SELECT sources.name AS RsSources FROM artifact_definitions(names=RsName)",
                             {"RsName": name}) or {}
        sources = row.get("RsSources") or [None]
        return [f"{name}/{s}" if s else name for s in sources]

    # -- organisations (issue 10 §1: run_vql's org_id; appended by the argument-coverage helper) ------
    def create_org(self, name: str) -> str:
        """Make a new organisation named ``name`` and give the API user (``whoami()``) the
        administrator role in it; return its id. ORG_ADMIN is needed (org_create,
        vql/server/orgs/create.go); without the grant the user may not query there
        ("requires permission ANY_QUERY"). Raises VQLError when Velociraptor refuses."""
        row = self.query_one("SELECT org_create(name=RsName) AS org FROM scope()", {"RsName": name}) or {}
        org_id = (row.get("org") or {}).get("id")
        if not org_id:
            raise VQLError("org_create", [f"org_create(name={name!r}) returned {row!r}"])
        self.query("SELECT user_grant(user=whoami(), roles=['administrator'], orgs=[RsOrg]) AS g FROM scope()",
                   {"RsOrg": org_id})
        return org_id

    def delete_org(self, org_id: str) -> None:
        """Remove an organisation and everything in it (``org_delete(really_do_it=TRUE)``)."""
        self.query("SELECT org_delete(org=RsOrg, really_do_it=TRUE) AS d FROM scope()", {"RsOrg": org_id})

    def query_in_org(self, vql: str, org_id: str, env: Mapping[str, Any] | None = None, *,
                     timeout: float | None = None) -> list[dict[str, Any]]:
        """Like :meth:`query`, run in the organisation ``org_id`` (VQLCollectorArgs.org_id);
        VQLError when a log line reports an error."""
        timeout = timeout or self.timeout
        request = self._request(vql, env, timeout)
        request.org_id = org_id
        rows: list[dict[str, Any]] = []
        errors: list[str] = []
        for resp in self._stub.Query(request, timeout=timeout):
            if resp.log and error_line(resp.log.strip()):
                errors.append(resp.log.strip())
            if resp.Response:
                rows.extend(json.loads(resp.Response))
        if errors:
            raise VQLError(vql, errors)
        return rows

    # -- mutation survivors (issue 14 §4; appended by the wave3-mut2 helper) ------------------------
    def client_architecture(self, client_id: str) -> str:
        """The machine architecture Velociraptor recorded for a client at interrogation
        (``clients()`` row ``os_info.machine``: "amd64" on a Linux x86-64 lab client); "" when
        the client is unknown or not interrogated yet."""
        row = self.client(client_id) or {}
        return str((row.get("os_info") or {}).get("machine") or "")

    def collection_rows(self, client_id: str, flow_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of a collection, by source: ``{source name: rows}`` for each source the
        flow's ``artifacts_with_results`` names, in that (Velociraptor's) order; ``{}`` when the
        flow is unknown."""
        flow = self.flow(client_id, flow_id) or {}
        return {s: self.source(client_id, flow_id, s) for s in flow.get("artifacts_with_results") or []}

    #: The OS names Velociraptor's preconditions test (``SELECT OS From info() where OS = 'linux'``).
    PRECONDITION_OSES = ("windows", "linux", "darwin")

    def artifact_platforms(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """For each named artifact Velociraptor has: ``{"type": "client"|"server"|…, "oses":
        the OS names (windows, linux, darwin) its preconditions (the artifact's and its
        sources') test for}``; ``oses`` is empty when no precondition names an OS. Names
        Velociraptor lacks are left out (``artifact_definitions(names=…)`` would refuse them all)."""
        rows = self.query("SELECT name, type, precondition, sources.precondition AS RsSourcePre "
                          "FROM artifact_definitions() WHERE name IN RsNames", {"RsNames": sorted(set(names))})
        out = {}
        for r in rows:
            text = " ".join([str(r.get("precondition") or "")] + [str(p or "") for p in r.get("RsSourcePre") or []])
            oses = {os for os in self.PRECONDITION_OSES if re.search(rf"\b{os}\b", text.lower())}
            out[r["name"]] = {"type": str(r.get("type") or "").lower(), "oses": oses}
        return out

    #: An analyst's OS name → (the OS name Velociraptor's preconditions use, its artifacts' category).
    OS_FAMILIES = {"windows": ("windows", "Windows"), "linux": ("linux", "Linux"), "macos": ("darwin", "MacOS")}

    @classmethod
    def meant_for(cls, name: str, platform: dict[str, Any], os_name: str) -> bool:
        """Whether the artifact ``name`` (``platform``: its :meth:`artifact_platforms` entry) is
        one Velociraptor runs on ``os_name`` (windows, linux, macos): a client artifact whose
        preconditions test for that OS, or whose category (the name's first part, Velociraptor's
        own naming) is Generic or that OS's (Windows., Linux., MacOS.). Raises KeyError for an
        OS name outside :data:`OS_FAMILIES`."""
        precondition_os, category = cls.OS_FAMILIES[os_name]
        return platform.get("type") == "client" and (
            precondition_os in platform.get("oses", ()) or name.split(".")[0] in ("Generic", category))
