"""iflow-mcp-mgreen27-mcp-velociraptor 0.1.0 (PyPI; a repackaged mgreen27/mcp-velociraptor).

Launch: ``python -m mcp_velociraptor`` (its console script ``mcp_velociraptor`` cannot
start: it calls the FastMCP object, "TypeError: 'FastMCP' object is not callable"). It reads
``VELOCIRAPTOR_API_CONFIG`` at import; a missing file is not an error at start — every call
then fails with "Stub not initialized". Built on ``mcp.server.fastmcp``: needs ``mcp<2``.

Replies: tools declared ``-> str`` return strings ("Failed to start collection: …",
"No results found after multiple retries…"), but on *success* they return a dict or a list,
which FastMCP's output validation turns into ``isError: true`` ("validation error for
…Output"). ``velociraptor_api.run_vql_query`` does ``print(request)`` on stdout, which is the
MCP stream: block-buffered, it bursts into the protocol every ~8 KiB (about 35 calls), and
the session then fails with "the server wrote non-protocol output".

Mapped: collect_artifact (one artifact, parameters as its ``k='v',…`` string),
get_flow_results (``get_collection_results`` with one status check and no wait). Not
mapped: everything else — it has no list/get of clients by id (``client_info`` looks a
hostname up), no run_vql, and ``list_windows_artifacts`` lists Windows artifacts only.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from support.sut.base import Unsupported
from support.sut.profiles import Profile, ToolMap, lacks, reader, single_artifact, vql_kv_string

NAME = "iflow-mcp-mgreen27-mcp-velociraptor"
_ERRORS = re.compile(r"^(Failed to |Error |No results found)")
_ISERROR = ("declared -> str but returns a dict on success: FastMCP reports the started collection as isError "
            "(no flow id)")
_PASTED = ("its parameters string is pasted into env=dict(…) of collect_client(): the quote breaks the query, "
           "no flow starts")


def _collect(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("collect_artifact", kw, "timeout", sut=NAME)
    artifact, params = single_artifact("collect_artifact", kw, NAME)
    return {"client_id": kw["client_id"], "artifact": artifact, "parameters": vql_kv_string(params)}


def _flow_results(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("get_flow_results", kw, "limit", sut=NAME)
    if not kw.get("artifact"):
        raise Unsupported(f"SUT {NAME} needs the artifact name to read a flow's results")
    # One status check, no sleeping: the canonical tool reads results, it does not wait.
    return {"client_id": kw["client_id"], "flow_id": kw["flow_id"], "artifact": kw["artifact"],
            "max_retries": 1, "retry_delay": 0}


class Mgreen27(Profile):
    name: ClassVar[str] = NAME
    summary: ClassVar[str] = "iflow-mcp-mgreen27-mcp-velociraptor 0.1.0 (PyPI, FastMCP on mcp 1.x)"
    requirements: ClassVar[tuple[str, ...] | None] = (
        "iflow-mcp-mgreen27-mcp-velociraptor==0.1.0",
        "mcp==1.30.0",
        "pyvelociraptor==0.1.14",
    )
    tools: ClassVar[dict[str, ToolMap]] = {
        "collect_artifact": ToolMap("collect_artifact", _collect, reader(flow=True, error_text=_ERRORS),
                                    note="one artifact per call; always urgent"),
        "get_flow_results": ToolMap("get_collection_results", _flow_results,
                                    reader(rows=True, flow=True, error_text=_ERRORS), note="needs artifact"),
    }
    known_defects: ClassVar[dict[str, str]] = {
        # collect_artifact, one aspect per scenario (issue 10 §2); seen on the embedded lab 2026-11-29
        "collect_artifact::The collection the server reports is the one Velociraptor started":
            _ISERROR,
        "collect_artifact::The collection the server reports names the artifacts Velociraptor collects":
            _ISERROR,
        "collect_artifact::Collecting an artifact that does not exist is refused":
            "VQL errors are dropped: an unknown artifact gives 'Failed to start collection: []', naming nothing",
        "collect_artifact::Collecting from a client that does not exist is refused":
            "VQL errors are dropped: an unknown client gives 'Failed to start collection: []', naming nothing",
        "collect_artifact::A parameter holding quotes and VQL reaches the collection unchanged":
            _PASTED,
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a quote, a newline and --":
            _PASTED,
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a semicolon":
            _PASTED,
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::non-ASCII text":
            _PASTED,
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a backslash-escaped quote":
            "its parameters string is pasted into env=dict(…) of collect_client(): VQL reads \\' as a quote, so "
            "x\\' OR 1=1 -- reaches the collection as x' OR 1=1 --",
        "get_flow_results": "declared -> str but returns a list of rows: FastMCP reports the results as isError",
        # -- wave2-states (issue 10 §3 §4 §6 §8 §9: hunts, flows, resources, prompts, discovery)
        "server:hygiene::No tool reports a failure as a success":
            "collect_artifact answers 'Failed to start collection: []' with isError false",
        "server:hygiene::Every tool answers in bounded time on a clean protocol stream":
            "the collection tools (linux_pslist, get_collection_results, …) wait on an unknown client with no bound",
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        argv = self.launch_argv(venv, sut_command, ["python", "-m", "mcp_velociraptor"], module="mcp_velociraptor")
        return argv, {"VELOCIRAPTOR_API_CONFIG": str(api_config)}


PROFILE = Mgreen27()
