"""The MCP server: the contract's 17 core tools, 8 resources and 8 prompts over Velociraptor.

Every tool is an ``async`` function taking the contract's arguments (validated by the SDK
from the type hints) and returning a pydantic model: the SDK publishes its JSON schema as
the tool's ``outputSchema`` and sends the value both as ``structuredContent`` and as JSON
text. A failure raises :class:`ToolError` with a message naming the cause (the unknown id,
Velociraptor's own log line, the deadline); the SDK answers it with ``isError: true``.

Each caller's value reaches VQL as a variable of the query (``Ref*`` names, so that none
shadows a VQL plugin or the ``Artifact`` namespace); lists travel as JSON arrays
(``parse_json_array``), numbers and booleans as fields of one JSON object
(``parse_json(data=RefOptions).timeout``: ``parse_json`` decodes objects only). Limits are applied while reading the
rows, so no number is pasted into VQL either.

Velociraptor 0.77.2 behaviours the tools account for (seen on the lab, and in its source):

- ``flows(client_id, flow_id)``, ``cancel_flow()`` and ``hunt_update()`` of an unknown flow
  or hunt answer nothing or succeed silently, and ``label()`` accepts any client id: so each
  tool that names a client, flow or hunt first checks that it exists.
- ``hunt_update()`` only starts or stops a hunt: a pause is recorded as STOPPED, and hunts
  cannot be archived any more (services/hunt_manager: "we no longer archive hunts - they must
  be deleted"); ``modify_hunt`` says so instead of claiming an archive.
- Quarantine is the OS's ``*.Remediation.Quarantine`` artifact plus the client label
  ``Quarantine`` (the client-monitoring service keys on it); lifting it runs the same
  artifact with ``RemovePolicy`` set and removes the label.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from reference import __version__, prompts
from reference.velo import Velociraptor, VelociraptorError, VQLFailure, called_names, error_lines

log = logging.getLogger("reference.server")

Row = dict[str, Any]
RESOURCE_NOT_FOUND = -32002  # MCP: resources/read of a URI that names nothing

QUARANTINE_LABEL = "Quarantine"
QUARANTINE_ARTIFACTS = {"linux": "Linux.Remediation.Quarantine", "windows": "Windows.Remediation.Quarantine",
                        "darwin": "MacOS.Remediation.Quarantine"}
FLOW_STATES = ("RUNNING", "WAITING", "IN_PROGRESS", "UNRESPONSIVE", "FINISHED", "ERROR")


# ------------------------------------------------------------------------- reply models


class ClientList(BaseModel):
    count: int
    clients: list[Row]


class ClientInfo(BaseModel):
    client_id: str
    hostname: str | None = None
    os: str | None = None
    release: str | None = None
    labels: list[str] = []
    first_seen_at: Any = None
    last_seen_at: Any = None
    last_ip: str | None = None
    os_info: Row = {}
    agent_information: Row = {}


class LabelReply(BaseModel):
    client_id: str
    operation: str
    labels_modified: list[str]
    current_labels: list[str]


class QuarantineReply(BaseModel):
    client_id: str
    action: str
    status: str
    artifact: str
    flow_id: str
    label: str
    message: str | None = None
    note: str


class ArtifactList(BaseModel):
    count: int
    artifacts: list[Row]


class ArtifactDefinition(BaseModel):
    name: str
    description: str | None = None
    type: str | None = None
    author: str | None = None
    parameters: list[Row] = []
    sources: list[Row] = []
    precondition: str | None = None
    required_permissions: list[str] = []


class CollectionStarted(BaseModel):
    status: str
    client_id: str
    artifacts: list[str]
    flow_id: str
    request: Row = {}


class HuntCreated(BaseModel):
    status: str
    hunt_id: str
    description: str
    artifacts: list[str]
    state: str
    expires_hours: int


class HuntList(BaseModel):
    count: int
    hunts: list[Row]


class HuntResults(BaseModel):
    hunt_id: str
    artifact: str | None = None
    result_count: int
    truncated: bool
    results: list[Row]


class HuntModified(BaseModel):
    hunt_id: str
    action: str
    status: str
    state: str
    note: str = ""


class FlowList(BaseModel):
    client_id: str
    count: int
    flows: list[Row]


class FlowResults(BaseModel):
    client_id: str
    flow_id: str
    artifact: str | None = None
    result_count: int
    truncated: bool
    results: list[Row]


class FlowStatus(BaseModel):
    client_id: str
    flow_id: str
    state: str
    artifacts_requested: list[str] = []
    artifacts_with_results: list[str] = []
    create_time: Any = None
    start_time: Any = None
    active_time: Any = None
    execution_duration: Any = None
    total_uploaded_bytes: Any = None
    total_collected_rows: Any = None
    outstanding_requests: Any = None
    backtrace: str = ""
    status: str = ""


class FlowCancelled(BaseModel):
    client_id: str
    flow_id: str
    action: str
    result: Any = None


class VQLReply(BaseModel):
    query: str
    row_count: int
    truncated: bool
    results: list[Row]
    log: list[str] = Field(default_factory=list, description="Velociraptor's log lines that were not errors")


class VQLHelp(BaseModel):
    topic: str
    text: str


# ------------------------------------------------------------------------- helpers


def _failure(what: str, exc: VelociraptorError) -> ToolError:
    """A ToolError for a failed Velociraptor call, naming what was being done and the cause."""
    if isinstance(exc, VQLFailure):
        return ToolError(f"{what}: Velociraptor reported: {exc}")
    return ToolError(f"{what}: {exc}")


def _dedupe(rows: list[Row], key: str) -> list[Row]:
    """Rows once per ``key`` (flows() may list one flow twice), first seen first."""
    seen: set[Any] = set()
    out = []
    for row in rows:
        if row.get(key) in seen:
            continue
        seen.add(row.get(key))
        out.append(row)
    return out


def _client_summary(row: Row) -> Row:
    info = row.get("os_info") or {}
    return {
        "client_id": row.get("client_id"), "hostname": info.get("hostname"), "os": info.get("system"),
        "release": info.get("release"), "labels": row.get("labels") or [],
        "last_seen_at": row.get("last_seen_at"), "first_seen_at": row.get("first_seen_at"),
        "last_ip": row.get("last_ip"),
    }


def _hunt_summary(row: Row) -> Row:
    return {
        "hunt_id": row.get("hunt_id"), "description": row.get("hunt_description"), "state": row.get("state"),
        "artifacts": row.get("artifacts") or [], "created_time": row.get("create_time"),
        "start_time": row.get("start_time"), "expires": row.get("expires"), "stats": row.get("stats") or {},
        "creator": row.get("creator"),
    }


def _flow_summary(row: Row) -> Row:
    request = row.get("request") or {}
    return {
        "flow_id": row.get("session_id"), "state": row.get("state"), "artifacts": request.get("artifacts") or [],
        "create_time": row.get("create_time"), "start_time": row.get("start_time"),
        "active_time": row.get("active_time"), "total_uploaded_bytes": row.get("total_uploaded_bytes"),
        "total_collected_rows": row.get("total_collected_rows"), "total_logs": row.get("total_logs"),
        "status": row.get("status") or "", "request": request,
    }


def _spec(artifacts: list[str], parameters: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """Collection spec ``{artifact: {name: value}}``. ``parameters`` is keyed by artifact (the
    contract's form) or flat (then it applies to every artifact). Values become strings, as
    Velociraptor's artifact parameters are (booleans "Y"/"N", lists and objects JSON)."""
    params = parameters or {}
    keyed = bool(params) and all(k in artifacts and isinstance(v, dict) for k, v in params.items())
    per = {a: (params.get(a) or {}) if keyed else dict(params) for a in artifacts}

    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "Y" if v else "N"
        return v if isinstance(v, str) else json.dumps(v)

    return {a: {str(k): text(v) for k, v in p.items()} for a, p in per.items()}


# ------------------------------------------------------------------------- the server


class Reference:
    """The tools, resources and prompts, bound to one :class:`Velociraptor`."""

    def __init__(self, velo: Velociraptor):
        self.velo = velo

    # -- lookups shared by the tools (each raises ToolError naming the id) ------------

    async def client_row(self, client_id: str) -> Row | None:
        rows = (await self.velo.query("SELECT * FROM clients(client_id=RefClientId)",
                                      {"RefClientId": client_id})).rows
        return rows[0] if rows and rows[0].get("client_id") == client_id else None

    async def require_client(self, client_id: str) -> Row:
        try:
            row = await self.client_row(client_id)
        except VelociraptorError as exc:
            raise _failure(f"looking up client {client_id}", exc) from None
        if row is None:
            raise ToolError(f"client {client_id} not found: Velociraptor knows no such client")
        return row

    async def require_flow(self, client_id: str, flow_id: str) -> Row:
        await self.require_client(client_id)
        try:
            rows = (await self.velo.query("SELECT * FROM flows(client_id=RefClientId, flow_id=RefFlowId)",
                                          {"RefClientId": client_id, "RefFlowId": flow_id})).rows
        except VelociraptorError as exc:
            raise _failure(f"looking up flow {flow_id} of client {client_id}", exc) from None
        rows = [r for r in rows if r.get("session_id") == flow_id]
        if not rows:
            raise ToolError(f"flow {flow_id} not found on client {client_id}")
        return rows[0]

    async def hunt_row(self, hunt_id: str) -> Row | None:
        rows = (await self.velo.query("SELECT * FROM hunts(hunt_id=RefHuntId)", {"RefHuntId": hunt_id},
                                      plugins=())).rows
        rows = [r for r in rows if r.get("hunt_id") == hunt_id]
        return rows[0] if rows else None

    async def require_hunt(self, hunt_id: str) -> Row:
        try:
            row = await self.hunt_row(hunt_id)
        except VelociraptorError as exc:
            raise _failure(f"looking up hunt {hunt_id}", exc) from None
        if row is None:
            raise ToolError(f"hunt {hunt_id} not found: Velociraptor has no such hunt")
        return row

    async def artifact_rows(self, names: list[str], columns: str = "*") -> dict[str, Row]:
        """Definitions of the named artifacts that exist, by name (unknown ones are absent)."""
        result = await self.velo.query(
            f"SELECT {columns} FROM artifact_definitions(names=parse_json_array(data=RefNames))",
            {"RefNames": list(names)}, check=False)
        # artifact_definitions() logs "artifact X not known" for an unknown name: that is an
        # answer (absent), not a failure; other failures still surface.
        failures = [line for line in result.logs if line.startswith(("VQL Error:", "ERROR:"))]
        if failures:
            raise VQLFailure(failures)
        wanted = set(names)
        return {r["name"]: r for r in result.rows if r.get("name") in wanted}

    async def require_artifacts(self, names: list[str]) -> dict[str, Row]:
        if not names:
            raise ToolError("no artifact named: give at least one artifact")
        try:
            found = await self.artifact_rows(names, "name, type, parameters")
        except VelociraptorError as exc:
            raise _failure(f"looking up artifacts {', '.join(names)}", exc) from None
        missing = [n for n in names if n not in found]
        if missing:
            raise ToolError(f"artifact {', '.join(missing)} not found: Velociraptor has no artifact of that name")
        return found

    # -- clients ----------------------------------------------------------------------

    async def list_clients(self, search: str | None = None, limit: int = 100) -> ClientList:
        """List enrolled clients, optionally filtered by a search term.

        search: Velociraptor's client search — a host name or word, "host:NAME", "label:NAME",
        or nothing for all clients. limit: most clients to return (at least 1).
        """
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        try:
            result = await self.velo.query("SELECT * FROM clients(search=RefSearch)",
                                           {"RefSearch": search or "all"}, max_rows=limit)
        except VelociraptorError as exc:
            raise _failure("listing clients", exc) from None
        rows = [_client_summary(r) for r in result.rows]
        return ClientList(count=len(rows), clients=rows)

    async def get_client_info(self, client_id: str) -> ClientInfo:
        """The details of one client: host name, OS, labels, when it was first and last seen."""
        row = await self.require_client(client_id)
        return ClientInfo(**_client_summary(row), os_info=row.get("os_info") or {},
                          agent_information=row.get("agent_information") or {})

    async def label_client(self, client_id: str, labels: list[str],
                           operation: Literal["add", "remove"] = "add") -> LabelReply:
        """Add labels to a client, or remove them. Labels are stored exactly as given."""
        if not labels:
            raise ToolError("no label given")
        await self.require_client(client_id)
        op = {"add": "set", "remove": "remove"}[operation]
        try:
            await self.velo.query(
                "SELECT label(client_id=RefClientId, labels=parse_json_array(data=RefLabels), op=RefOp) AS r "
                "FROM scope()", {"RefClientId": client_id, "RefLabels": list(labels), "RefOp": op})
            row = await self.client_row(client_id)
        except VelociraptorError as exc:
            raise _failure(f"labelling client {client_id}", exc) from None
        current = list((row or {}).get("labels") or [])
        lowered = {x.lower() for x in current}
        wrong = [lab for lab in labels if (lab.lower() in lowered) != (operation == "add")]
        if wrong:
            raise ToolError(f"Velociraptor does not show the {operation} of {wrong} on client {client_id}; "
                            f"its labels are {current}")
        return LabelReply(client_id=client_id, operation=operation, labels_modified=list(labels),
                          current_labels=current)

    async def quarantine_client(self, client_id: str, quarantine: bool = True,
                                message: str | None = None) -> QuarantineReply:
        """Quarantine a client (cut its network except to Velociraptor), or lift it.

        Runs the quarantine artifact of the client's own OS and sets (or removes) the client
        label "Quarantine". message: shown to logged-in users, where the artifact can.
        """
        row = await self.require_client(client_id)
        system = str((row.get("os_info") or {}).get("system") or "").lower()
        artifact = QUARANTINE_ARTIFACTS.get(system)
        if artifact is None:
            raise ToolError(f"client {client_id} runs {system or 'an unknown OS'}: Velociraptor has no "
                            "quarantine artifact for it")
        found = await self.require_artifacts([artifact])
        names = {p.get("name") for p in found[artifact].get("parameters") or []}
        params: dict[str, Any] = {}
        if not quarantine:
            params["RemovePolicy"] = True
        if message and "MessageBox" in names:
            params["MessageBox"] = message
        # The contract gives the quarantine no time limit: Velociraptor's own applies.
        flow_id, _ = await self._collect(client_id, [artifact], _spec([artifact], params), True)
        op = "set" if quarantine else "remove"
        try:
            await self.velo.query(
                "SELECT label(client_id=RefClientId, labels=parse_json_array(data=RefLabels), op=RefOp) AS r "
                "FROM scope()", {"RefClientId": client_id, "RefLabels": [QUARANTINE_LABEL], "RefOp": op})
        except VelociraptorError as exc:
            raise _failure(f"{op} the {QUARANTINE_LABEL} label on client {client_id} (collection {flow_id} "
                           "was started)", exc) from None
        action = "quarantine" if quarantine else "unquarantine"
        return QuarantineReply(
            client_id=client_id, action=action, status="started", artifact=artifact, flow_id=flow_id,
            label=QUARANTINE_LABEL, message=message if message and "MessageBox" in names else None,
            note=(f"collection {flow_id} of {artifact} started; follow it with get_flow_status — the client "
                  "applies the policy when it runs it"))

    # -- artifacts --------------------------------------------------------------------

    async def list_artifacts(self, search: str | None = None,
                             artifact_type: Literal["CLIENT", "SERVER", "NOTEBOOK", "client", "server",
                                                    "notebook"] | None = None,
                             limit: int = 100) -> ArtifactList:
        """Find artifacts by a word in their name or description, and by type.

        search: plain text, matched case-insensitively (not a pattern). artifact_type:
        CLIENT, SERVER or NOTEBOOK. limit: most artifacts to return (at least 1).
        """
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        try:
            result = await self.velo.query(
                "SELECT name, description, type, parameters.name AS parameter_names FROM artifact_definitions()")
        except VelociraptorError as exc:
            raise _failure("listing artifacts", exc) from None
        needle = (search or "").lower()
        kind = (artifact_type or "").lower()
        rows = []
        for r in result.rows:
            if needle and needle not in (str(r.get("name")) + "\n" + str(r.get("description") or "")).lower():
                continue
            if kind and str(r.get("type") or "").lower() != kind:
                continue
            rows.append({"name": r.get("name"), "description": r.get("description"), "type": r.get("type"),
                         "has_parameters": bool([p for p in r.get("parameter_names") or [] if p])})
            if len(rows) >= limit:
                break
        return ArtifactList(count=len(rows), artifacts=rows)

    async def get_artifact(self, artifact_name: str) -> ArtifactDefinition:
        """The definition of one artifact: description, parameters, sources, precondition."""
        try:
            found = await self.artifact_rows([artifact_name])
        except VelociraptorError as exc:
            raise _failure(f"looking up artifact {artifact_name}", exc) from None
        row = found.get(artifact_name)
        if row is None:
            raise ToolError(f"artifact {artifact_name} not found: Velociraptor has no artifact of that name")
        return ArtifactDefinition(
            name=row["name"], description=row.get("description"), type=row.get("type"),
            author=row.get("author"), parameters=row.get("parameters") or [],
            sources=[{k: s.get(k) for k in ("name", "description", "precondition", "query") if k in s}
                     for s in row.get("sources") or []],
            precondition=row.get("precondition") or None,
            required_permissions=row.get("required_permissions") or [])

    async def _collect(self, client_id: str, artifacts: list[str], spec: dict[str, Any], urgent: bool,
                       timeout: int | None = None) -> tuple[str, Row]:
        """Start a collection; ``(flow id, its request)``. ``timeout`` (seconds): None leaves the
        collection's time limit to Velociraptor (the artifacts' own, else its default)."""
        args = ["client_id=RefClientId", "artifacts=parse_json_array(data=RefArtifacts)", "spec=parse_json(data=RefSpec)",
                "urgent=parse_json(data=RefOptions).urgent"]
        options: dict[str, Any] = {"urgent": bool(urgent)}
        if timeout is not None:
            args.append("timeout=parse_json(data=RefOptions).timeout")
            options["timeout"] = int(timeout)
        vql = f"SELECT collect_client({', '.join(args)}) AS collection FROM scope()"
        try:
            result = await self.velo.query(vql, {"RefClientId": client_id, "RefArtifacts": artifacts, "RefSpec": spec,
                                                 "RefOptions": options}, check=False)
        except VelociraptorError as exc:
            raise _failure(f"collecting {', '.join(artifacts)} from client {client_id}", exc) from None
        collection = next(iter(result.rows), {}).get("collection") or {}  # scope(): one row
        flow_id = collection.get("flow_id") if isinstance(collection, dict) else None
        problems = error_lines(result.logs, called_names(vql))
        if problems:
            made = f"Velociraptor started flow {flow_id} but" if flow_id else "Velociraptor"
            raise ToolError(f"collecting {', '.join(artifacts)} from client {client_id}: {made} reported: "
                            f"{'; '.join(problems)}")
        if not flow_id:
            raise ToolError(f"collecting {', '.join(artifacts)} from client {client_id}: Velociraptor started "
                            f"no collection (it answered {json.dumps(collection)})")
        return flow_id, collection.get("request") or {}

    async def collect_artifact(self, client_id: str, artifacts: list[str], parameters: dict[str, Any] | None = None,
                               timeout: int = 600, urgent: bool = False) -> CollectionStarted:
        """Start a collection of artifacts on a client; returns the new flow's id.

        parameters: per artifact ({"Artifact": {"Param": "value"}}) or flat ({"Param": "value"},
        applied to every artifact); each name must be a parameter the artifact defines.
        timeout: seconds the client may spend on it. urgent: run ahead of queued collections.
        """
        if timeout < 1:
            raise ToolError(f"timeout must be at least 1 second, not {timeout}")
        await self.require_client(client_id)
        found = await self.require_artifacts(list(artifacts))
        spec = _spec(list(artifacts), parameters)
        for artifact, params in spec.items():
            defined = {p.get("name") for p in found[artifact].get("parameters") or []}
            unknown = sorted(set(params) - defined)
            if unknown:
                raise ToolError(f"artifact {artifact} has no parameter {', '.join(unknown)}; it takes: "
                                f"{', '.join(sorted(n for n in defined if n)) or 'none'}")
        flow_id, request = await self._collect(client_id, list(artifacts), spec, urgent, timeout)
        return CollectionStarted(status="collection_started", client_id=client_id, artifacts=list(artifacts),
                                 flow_id=flow_id, request=request)

    # -- hunts ------------------------------------------------------------------------

    async def create_hunt(self, artifacts: list[str], description: str, parameters: dict[str, Any] | None = None,
                          include_labels: list[str] | None = None, exclude_labels: list[str] | None = None,
                          os_filter: Literal["windows", "linux", "darwin"] | None = None, timeout: int = 600,
                          expires_hours: int = 24, paused: bool = True) -> HuntCreated:
        """Create a hunt for artifacts across clients, paused unless paused=false.

        include_labels / exclude_labels: only / never clients with these labels. os_filter:
        windows, linux or darwin. timeout: seconds per client. expires_hours: hours until the
        hunt expires.
        """
        if timeout < 1 or expires_hours < 1:
            raise ToolError("timeout and expires_hours must be at least 1")
        if include_labels and os_filter:
            # vql/server/hunts/create.go: "Both OS and label conditions set, ignoring include label
            # conditions" — the hunt would reach every client of that OS.
            raise ToolError("include_labels and os_filter cannot be combined: a Velociraptor hunt targets either "
                            "labels or an OS, and would ignore the labels")
        await self.require_artifacts(list(artifacts))
        args = ["artifacts=parse_json_array(data=RefArtifacts)", "description=RefDescription",
                "spec=parse_json(data=RefSpec)", "timeout=parse_json(data=RefOptions).timeout",
                "expires=now() + parse_json(data=RefOptions).expires_seconds",
                "pause=parse_json(data=RefOptions).pause"]
        env: dict[str, Any] = {"RefArtifacts": list(artifacts), "RefDescription": description,
                               "RefSpec": _spec(list(artifacts), parameters),
                               "RefOptions": {"timeout": int(timeout), "expires_seconds": int(expires_hours) * 3600,
                                              "pause": bool(paused)}}
        if include_labels:
            args.append("include_labels=parse_json_array(data=RefInclude)")
            env["RefInclude"] = list(include_labels)
        if exclude_labels:
            args.append("exclude_labels=parse_json_array(data=RefExclude)")
            env["RefExclude"] = list(exclude_labels)
        if os_filter:
            args.append("os=RefOs")
            env["RefOs"] = os_filter
        vql = f"SELECT hunt({', '.join(args)}) AS hunt FROM scope()"
        try:
            result = await self.velo.query(vql, env, check=False)
        except VelociraptorError as exc:
            raise _failure(f"creating a hunt for {', '.join(artifacts)}", exc) from None
        hunt = next(iter(result.rows), {}).get("hunt") or {}  # scope(): one row
        hunt_id = hunt.get("HuntId") if isinstance(hunt, dict) else None
        problems = error_lines(result.logs, called_names(vql))
        if problems:
            made = f"Velociraptor made hunt {hunt_id} (review or delete it) but" if hunt_id else "Velociraptor"
            raise ToolError(f"creating a hunt for {', '.join(artifacts)}: {made} reported: {'; '.join(problems)}")
        if not hunt_id:
            raise ToolError(f"creating a hunt for {', '.join(artifacts)}: Velociraptor made no hunt "
                            f"(it answered {json.dumps(hunt)})")
        return HuntCreated(status="hunt_created", hunt_id=hunt_id, description=description, artifacts=list(artifacts),
                           state="PAUSED" if paused else "RUNNING", expires_hours=expires_hours)

    async def list_hunts(self, state: Literal["PAUSED", "RUNNING", "STOPPED", "ARCHIVED", "paused", "running",
                                              "stopped", "archived"] | None = None,
                         limit: int = 50) -> HuntList:
        """List hunts with their state, optionally only those in one state."""
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        try:
            result = await self.velo.query("SELECT * FROM hunts()")
        except VelociraptorError as exc:
            raise _failure("listing hunts", exc) from None
        want = (state or "").upper()
        rows = [_hunt_summary(r) for r in _dedupe(result.rows, "hunt_id")
                if not want or str(r.get("state") or "").upper() == want]
        return HuntList(count=len(rows[:limit]), hunts=rows[:limit])

    async def get_hunt_results(self, hunt_id: str, artifact: str | None = None, limit: int = 1000) -> HuntResults:
        """The rows clients sent back for a hunt (one artifact, or the hunt's first one).

        artifact: an artifact of the hunt, "Name" or "Name/Source". limit: most rows returned.
        """
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        await self.require_hunt(hunt_id)
        vql = "SELECT * FROM hunt_results(hunt_id=RefHuntId" + (", artifact=RefArtifact)" if artifact else ")")
        env = {"RefHuntId": hunt_id} | ({"RefArtifact": artifact} if artifact else {})
        try:
            result = await self.velo.query(vql, env, max_rows=limit)
        except VelociraptorError as exc:
            raise _failure(f"reading the results of hunt {hunt_id}", exc) from None
        return HuntResults(hunt_id=hunt_id, artifact=artifact, result_count=len(result.rows),
                           truncated=result.truncated, results=result.rows)

    async def modify_hunt(self, hunt_id: str, action: Literal["start", "pause", "stop", "archive"]) -> HuntModified:
        """Start, pause, stop or archive a hunt.

        Velociraptor 0.77 records a pause as STOPPED (a stopped hunt can be started again) and
        can no longer archive hunts: archive is refused, and the hunt is left as it was.
        """
        row = await self.require_hunt(hunt_id)
        if action == "archive":
            raise ToolError(f"hunt {hunt_id} cannot be archived: Velociraptor 0.77 no longer archives hunts "
                            f"(they must be deleted); it is left {row.get('state')}")
        flag, state = ("start", "RUNNING") if action == "start" else ("stop", "STOPPED")
        try:
            await self.velo.query(f"SELECT hunt_update(hunt_id=RefHuntId, {flag}=TRUE) AS r FROM scope()",
                                  {"RefHuntId": hunt_id})
        except VelociraptorError as exc:
            raise _failure(f"{action} hunt {hunt_id}", exc) from None
        note = "Velociraptor records a paused hunt as STOPPED; start it again to resume" if action == "pause" else ""
        return HuntModified(hunt_id=hunt_id, action=action, status="success", state=state, note=note)

    # -- flows ------------------------------------------------------------------------

    async def list_flows(self, client_id: str, limit: int = 50) -> FlowList:
        """The collections (flows) of a client, newest first, with their states."""
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        await self.require_client(client_id)
        try:
            result = await self.velo.query("SELECT * FROM flows(client_id=RefClientId)", {"RefClientId": client_id})
        except VelociraptorError as exc:
            raise _failure(f"listing the flows of client {client_id}", exc) from None
        rows = [_flow_summary(r) for r in _dedupe(result.rows, "session_id")][:limit]
        return FlowList(client_id=client_id, count=len(rows), flows=rows)

    async def get_flow_results(self, client_id: str, flow_id: str, artifact: str | None = None,
                               limit: int = 1000) -> FlowResults:
        """The rows a collection produced, for one artifact source ("Name" or "Name/Source") or
        for every source that has results."""
        if limit < 1:
            raise ToolError(f"limit must be at least 1, not {limit}")
        flow = await self.require_flow(client_id, flow_id)
        sources = [artifact] if artifact else list(flow.get("artifacts_with_results") or [])
        rows: list[Row] = []
        truncated = False
        for source in sources:
            try:
                result = await self.velo.query(
                    "SELECT * FROM source(client_id=RefClientId, flow_id=RefFlowId, artifact=RefArtifact)",
                    {"RefClientId": client_id, "RefFlowId": flow_id, "RefArtifact": source},
                    max_rows=limit - len(rows))
            except VelociraptorError as exc:
                raise _failure(f"reading {source} of flow {flow_id}", exc) from None
            rows += result.rows
            # Once the limit is spent, the next source is still read with a budget of 0: one row
            # there sets ``truncated`` (rows were left out); an empty one does not.
            if result.truncated:
                truncated = True
                break
        return FlowResults(client_id=client_id, flow_id=flow_id, artifact=artifact, result_count=len(rows),
                           truncated=truncated, results=rows)

    async def get_flow_status(self, client_id: str, flow_id: str) -> FlowStatus:
        """Where a collection stands: its state, counts and timings, as Velociraptor records them."""
        row = await self.require_flow(client_id, flow_id)
        request = row.get("request") or {}
        return FlowStatus(
            client_id=client_id, flow_id=flow_id, state=str(row.get("state")),
            artifacts_requested=request.get("artifacts") or [],
            artifacts_with_results=row.get("artifacts_with_results") or [],
            **{k: row.get(k) for k in ("create_time", "start_time", "active_time", "execution_duration",
                                       "total_uploaded_bytes", "total_collected_rows", "outstanding_requests")},
            backtrace=row.get("backtrace") or "", status=row.get("status") or "")

    async def cancel_flow(self, client_id: str, flow_id: str) -> FlowCancelled:
        """Cancel a collection that is still running."""
        flow = await self.require_flow(client_id, flow_id)
        if flow.get("state") in ("FINISHED", "ERROR"):
            raise ToolError(f"flow {flow_id} on client {client_id} has already ended ({flow.get('state')}); "
                            "there is nothing to cancel")
        try:
            rows = (await self.velo.query(
                "SELECT cancel_flow(client_id=RefClientId, flow_id=RefFlowId) AS result FROM scope()",
                {"RefClientId": client_id, "RefFlowId": flow_id})).rows
        except VelociraptorError as exc:
            raise _failure(f"cancelling flow {flow_id} on client {client_id}", exc) from None
        return FlowCancelled(client_id=client_id, flow_id=flow_id, action="cancelled",
                             result=next(iter(rows), {}).get("result"))  # scope(): one row

    # -- VQL --------------------------------------------------------------------------

    async def run_vql(self, query: str, env: dict[str, Any] | None = None, max_rows: int = 10000,
                      org_id: str | None = None) -> VQLReply:
        """Run a VQL query on the server and return its rows.

        env: variables the query reads by name (a string is passed as it is, other values as
        JSON). max_rows: most rows returned. org_id: the organisation to run in (default: root).
        A query Velociraptor reports as failed (syntax error, unknown plugin, a plugin's error)
        is an error naming Velociraptor's message.
        """
        if max_rows < 1:
            raise ToolError(f"max_rows must be at least 1, not {max_rows}")
        try:
            result = await self.velo.query(query, env or {}, max_rows=max_rows, org_id=org_id)
        except VelociraptorError as exc:
            raise _failure(f"running {query!r}", exc) from None
        notes = [line for line in result.logs
                 if line and not line.startswith(("Starting query execution", "Time "))]
        return VQLReply(query=query, row_count=len(result.rows), truncated=result.truncated, results=result.rows,
                        log=notes)

    async def vql_help(self, topic: Literal["syntax", "plugins", "functions", "examples"] | None = None) -> VQLHelp:
        """Help on VQL: its syntax, the plugins and functions this Velociraptor has, examples."""
        if topic in ("plugins", "functions"):
            kind = "Plugin" if topic == "plugins" else "Function"
            try:
                rows = (await self.velo.query("SELECT name, description FROM help() WHERE type = RefType",
                                              {"RefType": kind})).rows
            except VelociraptorError as exc:
                raise _failure(f"reading the {topic} of this Velociraptor", exc) from None
            lines = [f"- `{r.get('name')}`: {str(r.get('description') or '').strip().splitlines()[0] if r.get('description') else ''}"
                     for r in sorted(rows, key=lambda r: str(r.get("name")))]
            usage = ("Use a plugin after FROM: `SELECT * FROM clients()`." if topic == "plugins"
                     else "Call a function in an expression: `SELECT format(format='%v', args=[1]) FROM scope()`.")
            return VQLHelp(topic=topic, text=f"# VQL {topic} ({len(lines)})\n\n{usage}\n\n" + "\n".join(lines))
        texts = {
            None: ("# VQL\n\nVQL, the Velociraptor Query Language, is SQL-like: `SELECT columns FROM plugin(args) "
                   "WHERE condition`. Plugins produce rows; functions compute values. Ask for help on `syntax`, "
                   "`plugins`, `functions` or `examples`. Pass values as variables (run_vql's `env`), never "
                   "by pasting them into the query."),
            "syntax": ("# VQL syntax\n\n- `SELECT col, expr AS name FROM plugin(arg=value) WHERE cond "
                       "ORDER BY col LIMIT n`\n- `LET name = SELECT …` stores a query; `LET f(x) = …` defines a "
                       "function\n- arguments are named: `clients(search='label:x')`\n- `=~` is a regex match; "
                       "`scope()` yields one empty row\n- variables from run_vql's env are plain names in the "
                       "query: `SELECT * FROM clients(search=Term)`"),
            "examples": ("# VQL examples\n\n- `SELECT client_id, os_info.hostname FROM clients()`\n"
                         "- `SELECT name, type FROM artifact_definitions() WHERE name =~ 'Linux'`\n"
                         "- `SELECT session_id, state FROM flows(client_id='C.123')`\n"
                         "- `SELECT * FROM hunts() WHERE state = 'RUNNING'`\n"
                         "- `SELECT * FROM source(client_id='C.123', flow_id='F.ABC', artifact='Linux.Sys.Users')`"),
        }
        return VQLHelp(topic=topic or "overview", text=texts[topic])

    # -- resources --------------------------------------------------------------------

    @staticmethod
    def _not_found(what: str) -> MCPError:
        return MCPError(code=RESOURCE_NOT_FOUND, message=f"{what} not found")

    async def _page(self, what: str, vql: str, env: dict[str, Any] | None = None, **kw: Any) -> list[Row]:
        try:
            return (await self.velo.query(vql, env or {}, **kw)).rows
        except VelociraptorError as exc:
            raise MCPError(code=-32603, message=f"reading {what}: {exc}") from None

    async def clients_page(self) -> str:
        rows = await self._page("the clients", "SELECT * FROM clients(search='all')")
        return _json({"type": "client_list", "count": len(rows), "clients": [_client_summary(r) for r in rows]})

    async def client_page(self, client_id: str) -> str:
        rows = await self._page(f"client {client_id}", "SELECT * FROM clients(client_id=RefClientId)",
                                {"RefClientId": client_id})
        rows = [r for r in rows if r.get("client_id") == client_id]
        if not rows:
            raise self._not_found(f"client {client_id}")
        return _json({"type": "client_detail", "client": rows[0]})

    async def hunts_page(self) -> str:
        rows = _dedupe(await self._page("the hunts", "SELECT * FROM hunts()"), "hunt_id")
        return _json({"type": "hunt_list", "count": len(rows), "hunts": [_hunt_summary(r) for r in rows]})

    async def hunt_page(self, hunt_id: str) -> str:
        try:
            row = await self.hunt_row(hunt_id)
        except VelociraptorError as exc:
            raise MCPError(code=-32603, message=f"reading hunt {hunt_id}: {exc}") from None
        if row is None:
            raise self._not_found(f"hunt {hunt_id}")
        return _json({"type": "hunt_detail", "hunt": _hunt_summary(row) | {"hunt_description": row.get(
            "hunt_description"), "condition": row.get("condition"), "start_request": row.get("start_request")}})

    async def hunt_results_page(self, hunt_id: str) -> str:
        try:
            row = await self.hunt_row(hunt_id)
        except VelociraptorError as exc:
            raise MCPError(code=-32603, message=f"reading hunt {hunt_id}: {exc}") from None
        if row is None:
            raise self._not_found(f"hunt {hunt_id}")
        rows = await self._page(f"the results of hunt {hunt_id}", "SELECT * FROM hunt_results(hunt_id=RefHuntId)",
                                {"RefHuntId": hunt_id}, max_rows=10000)
        return _json({"type": "hunt_results", "hunt_id": hunt_id, "count": len(rows), "results": rows})

    async def artifacts_page(self) -> str:
        rows = await self._page("the artifacts", "SELECT name, description, type FROM artifact_definitions()")
        return _json({"type": "artifact_list", "count": len(rows), "artifacts": rows})

    async def artifact_page(self, artifact_name: str) -> str:
        try:
            found = await self.artifact_rows([artifact_name])
        except VelociraptorError as exc:
            raise MCPError(code=-32603, message=f"reading artifact {artifact_name}: {exc}") from None
        if artifact_name not in found:
            raise self._not_found(f"artifact {artifact_name}")
        row = found[artifact_name]
        return _json({"type": "artifact_detail", "artifact": {
            k: row.get(k) for k in ("name", "description", "type", "author", "parameters", "sources",
                                    "precondition", "required_permissions")}})

    async def server_info_page(self) -> str:
        rows = await self._page("the server information",
                                "SELECT config.Version AS version_info, * FROM info()")
        row = next(iter(rows), {})  # info() yields one row
        version = row.pop("version_info", None) or {}
        return _json({"type": "server_info", "version": version.get("version"), "version_info": version,
                      "hostname": row.get("Hostname"), "os": row.get("OS"), "info": row})


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


TOOLS = ("list_clients", "get_client_info", "label_client", "quarantine_client", "list_artifacts", "get_artifact",
         "collect_artifact", "create_hunt", "list_hunts", "get_hunt_results", "modify_hunt", "list_flows",
         "get_flow_results", "get_flow_status", "cancel_flow", "run_vql", "vql_help")


def build(velo: Velociraptor) -> MCPServer:
    """The MCP server for one Velociraptor: tools, resources and prompts registered."""
    ref = Reference(velo)
    mcp = MCPServer("raptorspec-reference", version=__version__,
                    instructions="Velociraptor through MCP: clients, artifacts, collections, hunts and VQL.",
                    log_level="WARNING")
    for name in TOOLS:
        method = getattr(ref, name)
        mcp.add_tool(method, name=name, description=(method.__doc__ or "").strip(), structured_output=True)

    pages = {
        "velociraptor://clients": ref.clients_page,
        "velociraptor://clients/{client_id}": ref.client_page,
        "velociraptor://hunts": ref.hunts_page,
        "velociraptor://hunts/{hunt_id}": ref.hunt_page,
        "velociraptor://hunts/{hunt_id}/results": ref.hunt_results_page,
        "velociraptor://artifacts": ref.artifacts_page,
        "velociraptor://artifacts/{artifact_name}": ref.artifact_page,
        "velociraptor://server-info": ref.server_info_page,
    }
    for uri, fn in pages.items():
        mcp.resource(uri, name=fn.__name__, mime_type="application/json")(fn)

    for name, fn in prompts.PROMPTS.items():
        mcp.prompt(name=name, description=(fn.__doc__ or "").strip())(fn)
    return mcp
