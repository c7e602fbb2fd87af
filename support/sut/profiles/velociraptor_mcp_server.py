"""velociraptor-mcp-server 0.1.10 (PyPI; console script ``velociraptor-mcp``).

Launch: reads the API config path from ``VELOCIRAPTOR_API_CONFIG`` and exits at start
("Config error: … not found") when the file does not exist; connects to Velociraptor lazily.
It imports ``mcp.server.fastmcp``, so its venv pins ``mcp<2``. It installs top-level modules
named ``main`` and ``mcp_server`` (one more reason for a venv of its own).

Replies (FastMCP on mcp 1.x): a dict → one JSON text (``{"clients": [...]}``,
``{"client": [...]}``, ``{"result": [...]}``…); every failure is an exception, so
``isError: true`` with "Error executing tool …". Its VQL runner reads only the rows of a
query, never its log, so VQL that Velociraptor rejects at run time comes back as no rows.

Not mapped: label_client, quarantine_client, list_flows, get_flow_results,
get_flow_status, cancel_flow, vql_help, deployment tools (it has none); create_hunt (its
``create_hunt`` hunts a new inline artifact built from a VQL query, not existing
artifacts); resources and prompts (``resource://artifact-catalog``,
``vql-template://{name}``, ``incident_response_prompt`` have no canonical counterpart).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from support.sut.base import Unsupported
from support.sut.profiles import Profile, ToolMap, lacks, reader, single_artifact, with_default

NAME = "velociraptor-mcp-server"


def _list_clients(kw: dict[str, Any]) -> dict[str, Any] | tuple[str, dict[str, Any]]:
    limit = with_default("list_clients", kw, "limit")
    search = kw.get("search")
    if not search:
        return {"limit": limit, "offset": 0}
    # Canonical search follows Velociraptor's clients(search=…): "label:x", "host:x" or a word.
    if search.startswith("label:"):
        return "search_clients", {"label": search[len("label:"):], "limit": limit}
    if search.startswith("host:"):
        search = search[len("host:"):]
    return "search_clients", {"hostname": search, "limit": limit}


def _list_artifacts(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("list_artifacts", kw, "artifact_type", sut=NAME)
    out: dict[str, Any] = {"limit": with_default("list_artifacts", kw, "limit")}
    if kw.get("search"):
        out["search"] = kw["search"]
    return out


def _collect(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("collect_artifact", kw, "timeout", "urgent", sut=NAME)
    artifact, params = single_artifact("collect_artifact", kw, NAME)
    out: dict[str, Any] = {"client_id": kw["client_id"], "artifact": artifact}
    if params:
        out["params"] = params
    return out


def _list_hunts(kw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"limit": with_default("list_hunts", kw, "limit")}
    if kw.get("state"):
        out["state"] = kw["state"]
    return out


def _hunt_results(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("get_hunt_results", kw, "artifact", sut=NAME)
    return {"hunt_id": kw["hunt_id"], "limit": with_default("get_hunt_results", kw, "limit")}


def _modify_hunt(kw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if kw.get("action") != "stop":
        raise Unsupported(f"SUT {NAME} can only stop a hunt (stop_hunt), not {kw.get('action')!r} it")
    return "stop_hunt", {"hunt_id": kw["hunt_id"]}


def _run_vql(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("run_vql", kw, "env", "org_id", "max_rows", sut=NAME)
    return {"vql": kw["query"]}


class VelociraptorMcpServer(Profile):
    name: ClassVar[str] = NAME
    summary: ClassVar[str] = "velociraptor-mcp-server 0.1.10 (PyPI, FastMCP on mcp 1.x)"
    requirements: ClassVar[tuple[str, ...] | None] = (
        "velociraptor-mcp-server==0.1.10",
        "mcp==1.30.0",
        "fastmcp==3.4.11",
        "pyvelociraptor==0.1.14",
    )
    tools: ClassVar[dict[str, ToolMap]] = {
        "list_clients": ToolMap("list_clients", _list_clients, reader(rows="clients"),
                                note="search → search_clients"),
        "get_client_info": ToolMap("get_client_info", lambda kw: {"client_id": kw["client_id"]},
                                   reader(one="client")),
        "list_artifacts": ToolMap("list_artifacts", _list_artifacts, reader(rows="artifacts")),
        "get_artifact": ToolMap("get_artifact_definition", lambda kw: {"name": kw["artifact_name"]},
                                reader(one="artifact")),
        "collect_artifact": ToolMap("collect_artifact", _collect, reader(rows="result", flow=True),
                                    note="one artifact per call"),
        "list_hunts": ToolMap("list_hunts", _list_hunts, reader(rows="hunts")),
        "get_hunt_results": ToolMap("get_hunt_results", _hunt_results, reader(rows="results")),
        "modify_hunt": ToolMap("stop_hunt", _modify_hunt, reader(rows="result"), note="stop only"),
        "run_vql": ToolMap("query_vql", _run_vql, reader(rows="rows")),
    }
    # Read from its source (mcp_server/tools/*.py) against Velociraptor 0.77.2's: its VQL
    # runner drops the query log, so every VQL failure below comes back as an empty success.
    known_defects: ClassVar[dict[str, str]] = {
        # issue 10 §2: only the scenario that stops a hunt reaches stop_hunt (every other action is
        # not mapped: skipped, saying so), so the defect is keyed to it, not to the whole tool
        "modify_hunt::Stopping a running hunt stops it":
            "stop_hunt sends SELECT hunt_delete(hunt_id=…) (a plugin at 0.77.2, called as a function, and with no "
            "really_do_it); the VQL error is dropped: a success reply, the hunt stays RUNNING (measured 2026-11-29)",
        "list_clients::A search by hostname finds the client and no other host":
            "search_clients filters on a column Hostname that clients() rows do not have (os_info.hostname)",
        "list_clients::A search by label lists exactly the clients carrying it":
            "search_clients filters on a column Labels that clients() rows do not have (labels)",
        "list_clients::A limit caps how many clients a search lists":
            "search_clients filters on a column Labels that clients() rows do not have (labels)",
        "get_client_info::Asking about a client that does not exist is refused":
            "an unknown client id gives {\"client\": []}, a success, not an error",
        "get_artifact::The definition of <artifact> names the parameters Velociraptor defines":
            "get_artifact_definition calls artifact_definitions(name=…); the argument is names: always no rows",
        "get_artifact::The definition of an artifact with several sources names each source":
            "get_artifact_definition calls artifact_definitions(name=…); the argument is names: always no rows",
        "get_artifact::Looking up an artifact that does not exist is refused":
            "get_artifact_definition answers every name with {\"artifact\": []}, never an error",
        "collect_artifact::The parameters I give reach the collection":
            "passes parameters=dict(…) to collect_client(), which has no such argument: no flow is started",
        "collect_artifact::A parameter holding quotes and VQL reaches the collection unchanged":
            "passes parameters=dict(…) to collect_client(), which has no such argument: no flow is started",
        "collect_artifact::Collecting an artifact that does not exist is refused":
            "a failed collect_client() comes back as {\"FlowId\": null}, a success, never an error",
        "collect_artifact::Collecting from a client that does not exist is refused":
            "collect_client() problems come back as a success ({\"FlowId\": …}), never as an error",
        "list_hunts::Listing hunts in one state shows only the hunts in that state":
            "list_hunts filters on a column State that hunts() rows do not have (state): nothing is listed",
        "get_hunt_results::Results of a hunt that does not exist are refused":
            "an unknown hunt gives {\"results\": []}, a success, not an error",
        "run_vql::Broken VQL is reported, not answered with nothing":
            "VelociraptorClient.query reads only resp.Response, never resp.log: a VQL error comes back as no rows",
        "run_vql::A query on a plugin that does not exist is reported":
            "VelociraptorClient.query reads only resp.Response, never resp.log: a VQL error comes back as no rows",
        # issue 10 (§7 hostile text), seen on the embedded lab 2026-11-29
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged":
            "passes parameters=dict(…) to collect_client(), which has no such argument: no flow is started",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "a regex alternation":
            "matches the search as a regular expression (name =~ '<search>', mcp_server/tools/artifacts.py): Pslist|Users also lists "
            "artifacts that hold neither text",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "an unclosed bracket":
            "matches the search as a regular expression (=~): Pslist( is a broken pattern, whose VQL error is "
            "dropped: no artifact listed, though one holds that text",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "a backslash-escaped quote":
            "escapes ' by doubling it, but VQL reads \\' as an escaped quote, so the doubled quote closes the "
            "string: VQL injection (Pslist\\' OR 1=1 -- lists all 440 artifacts)",
        "list_clients::A client search holding <shape> lists what Velociraptor finds for that text::"
        "a backslash-escaped quote":
            "escapes ' by doubling it, but VQL reads \\' as an escaped quote, so the doubled quote closes the "
            "string: VQL injection (x\\' OR 1=1 -- lists every client)",
        "get_client_info::A client id holding quotes or VQL shows no client::C.0\\' OR 1=1 --":
            "escapes ' by doubling it, but VQL reads \\' as an escaped quote, so the doubled quote closes the "
            "string: VQL injection (C.0\\' OR 1=1 -- gives the enrolled client's details)",
        # -- wave2-states (issue 10 §3 §4 §6 §8 §9: hunts, flows, resources, prompts, discovery)
        "list_hunts::The state asked for is applied before the limit":
            "list_hunts filters on a column State that hunts() rows do not have (state): nothing is listed",
        "run_vql::While a slow query runs, another request is answered within 10 seconds":
            "answers one call at a time: its tools are plain functions, which mcp 1.30's FastMCP calls on its "
            "event loop (func_metadata.call_fn_with_arg_validation), so a client listing sent while a 20 s query "
            "was pending answered after 20.1 s, after the query (measured 2026-11-29)",
        "run_vql::A query that never ends comes back as an error within 60 seconds":
            "run_vql reads the query's stream to its end with no deadline: a query that never ends never answers",
        # bench/MUTATION.md (fresh sample, #43), seen on the embedded lab 2026-11-29
        "list_hunts::Listing the <state> hunts shows no hunt in another state":
            "list_hunts filters on a column State that hunts() rows do not have (state): nothing is listed",
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        argv = self.launch_argv(venv, sut_command, ["velociraptor-mcp"])
        return argv, {"VELOCIRAPTOR_API_CONFIG": str(api_config)}


PROFILE = VelociraptorMcpServer()
