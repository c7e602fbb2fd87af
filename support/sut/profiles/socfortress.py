"""iflow-mcp-socfortress-velociraptor-mcp-server 0.1.0 (PyPI; a repackaged
socfortress/velociraptor-mcp-server). Runs on mcp 2.x (FastMCP 4).

Launch: console script ``iflow-mcp_socfortress-velociraptor-mcp-server --api-config PATH``
(or ``VELOCIRAPTOR_API_KEY=PATH``); it refuses to start without one, and the path must end
in ``.yaml``/``.yml`` (anything else is taken as an API key: "not yet implemented"). It
calls ``load_dotenv()`` at import. Connects to Velociraptor on the first tool call.

Arguments: every tool takes one pydantic model, so arguments travel wrapped as
``{"args": {...}}``. Replies: the tools return ``[{"type": "text", "text": …}]`` and FastMCP 4
serialises that list as JSON *text*, so each reply is JSON holding the real text; errors are
that text ("Error executing VQL query: …", "Failed to start collection: …", "No artifact
found with name: …") with isError false. RunVQLQueryTool cuts replies at 5000 characters
("… (truncated, total length: N)"), which leaves invalid JSON.

Mapped: run_vql (RunVQLQueryTool), get_artifact (FindArtifactDetailsTool),
collect_artifact (CollectArtifactTool, one artifact, ``k='v',…`` parameters),
get_flow_results (GetCollectionResultsTool with one status check, no wait). Not mapped:
clients (GetAgentInfo looks a hostname up), hunts, flows listing, list_artifacts (only
Linux-only and Windows-only lists), CollectArtifactDetailsTool (calls a method its client
does not have).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from support.sut.base import Result, Unsupported
from support.sut.profiles import (
    Profile, Reply, ToolMap, lacks, raw_of, reader, single_artifact, unwrap_content_json,
    vql_kv_string,
)

NAME = "iflow-mcp-socfortress-velociraptor-mcp-server"
_ERRORS = re.compile(r"^(Error |Failed to |No \w+ found|Authentication failed)")
_TRUNCATED = re.compile(r"\.\.\. \(truncated, total length: (\d+)\)\s*$")


def _wrap(inner: dict[str, Any]) -> dict[str, Any]:
    return {"args": inner}


def _run_vql(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("run_vql", kw, "env", "org_id", sut=NAME)
    inner: dict[str, Any] = {"vql": kw["query"]}
    if "max_rows" in kw:
        inner["max_rows"] = kw["max_rows"]
    return _wrap(inner)


def _collect(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("collect_artifact", kw, "timeout", sut=NAME)
    artifact, params = single_artifact("collect_artifact", kw, NAME)
    return _wrap({"client_id": kw["client_id"], "artifact": artifact, "parameters": vql_kv_string(params)})


def _flow_results(kw: dict[str, Any]) -> dict[str, Any]:
    lacks("get_flow_results", kw, "limit", sut=NAME)
    if not kw.get("artifact"):
        raise Unsupported(f"SUT {NAME} needs the artifact name to read a flow's results")
    return _wrap({"client_id": kw["client_id"], "flow_id": kw["flow_id"], "artifact": kw["artifact"],
                  "max_retries": 1, "retry_delay": 0})


_read_vql = reader(rows=True, error_text=_ERRORS, content_json=True)


def _read_run_vql(reply: Reply) -> Result:
    """Rows of a JSON array; a reply cut at 5000 characters is an error, not rows."""
    texts = unwrap_content_json([t for t in reply.get("texts") or [] if isinstance(t, str)])
    m = _TRUNCATED.search(texts[-1]) if texts and not reply.get("is_error") else None
    if m:
        result = Result(ok=False, data="\n".join(texts), raw=raw_of(reply))
        result.error = f"the server truncated its reply at 5000 of {m.group(1)} characters (invalid JSON)"
        return result
    return _read_vql(reply)


def _flow_status(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("status") not in (None, "COMPLETE", "PARTIAL"):
        return f"{data.get('status')}: {data.get('message', '')}".strip()
    return None


_read_results = reader(error_text=_ERRORS, content_json=True, check=_flow_status, flow=True)


def _read_flow_results(reply: Reply) -> Result:
    """``{"status", "results": {"Artifact/Source": rows | {"error"}}}`` → rows of every source."""
    result = _read_results(reply)
    if result.ok and isinstance(result.data, dict) and isinstance(result.data.get("results"), dict):
        result.rows = [r for v in result.data["results"].values() if isinstance(v, list) for r in v]
    return result


class Socfortress(Profile):
    name: ClassVar[str] = NAME
    summary: ClassVar[str] = "iflow-mcp-socfortress-velociraptor-mcp-server 0.1.0 (PyPI, FastMCP 4 on mcp 2.x)"
    requirements: ClassVar[tuple[str, ...] | None] = (
        "iflow-mcp-socfortress-velociraptor-mcp-server==0.1.0",
        "fastmcp==4.2.3",
        "mcp==2.3.0",
        "pyvelociraptor==0.1.14",
    )
    tools: ClassVar[dict[str, ToolMap]] = {
        "run_vql": ToolMap("RunVQLQueryTool", _run_vql, _read_run_vql),
        "get_artifact": ToolMap("FindArtifactDetailsTool", lambda kw: _wrap({"artifact_name": kw["artifact_name"]}),
                                reader(error_text=_ERRORS, content_json=True)),
        "collect_artifact": ToolMap("CollectArtifactTool", _collect,
                                    reader(flow=True, error_text=_ERRORS, prefix_json=True, content_json=True),
                                    note="one artifact per call; always urgent"),
        "get_flow_results": ToolMap("GetCollectionResultsTool", _flow_results, _read_flow_results,
                                    note="needs artifact"),
    }
    # Read from its source (server.py, client.py) against Velociraptor 0.77.2's.
    known_defects: ClassVar[dict[str, str]] = {
        "get_flow_results": "GetCollectionResultsTool waits for status 'COMPLETE' but get_flow_status only says "
                            "FINISHED/RUNNING/ERROR: it never returns rows",
        "run_vql::Broken VQL is reported, not answered with nothing":
            "run_vql_query checks a field 'error' that VQLResponse does not have and ignores the log: no error, no rows",
        "run_vql::A query on a plugin that does not exist is reported":
            "run_vql_query checks a field 'error' that VQLResponse does not have and ignores the log: no error, no rows",
        "run_vql::A row cap returns the first rows only":
            "RunVQLQueryTool accepts max_rows but never applies it",
        "get_artifact::An artifact name that closes its quote and adds a condition finds no definition":
            "FindArtifactDetailsTool pastes the name into WHERE name = '…': \"Linux.Sys.Users' OR 1=1 --\" "
            "returns the definition of ADX.Flows.Upload (VQL injection)",
        "get_artifact::The definition of an artifact with several sources names each source":
            "FindArtifactDetailsTool returns name, description and parameters only: no sources",
        "collect_artifact::A parameter holding quotes and VQL reaches the collection unchanged":
            "parameters are pasted into VQL as k='v' without escaping: a quote breaks the query, no flow starts",
        "collect_artifact::Collecting an artifact that does not exist is refused":
            "VQL errors are dropped: an unknown artifact gives 'Failed to start collection: []', naming nothing",
        "collect_artifact::Collecting from a client that does not exist is refused":
            "VQL errors are dropped: an unknown client gives 'Failed to start collection: []', naming nothing",
        # issue 10 (§7 hostile text), seen on the embedded lab 2026-11-29
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a quote, a newline and --":
            "parameters are pasted into VQL as k='v' without escaping: the quote breaks the query, no flow starts",
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a semicolon":
            "parameters are pasted into VQL as k='v' without escaping: the quote breaks the query, no flow starts",
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::non-ASCII text":
            "parameters are pasted into VQL as k='v' without escaping: the quote in ünï-日本-ö' breaks the query, "
            "no flow starts",
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged::a backslash-escaped quote":
            "parameters are pasted into VQL as k='v' without escaping: VQL reads \\' as a quote, so the value "
            "x\\' OR 1=1 -- reaches the collection as x' OR 1=1 --",
        "get_artifact::An artifact name holding <shape> finds no definition::a quote, a newline and --":
            "FindArtifactDetailsTool pastes the name into WHERE name = '…': the quote closes it and OR 1=1 returns "
            "the definition of ADX.Flows.Upload (VQL injection)",
        "get_artifact::An artifact name holding <shape> finds no definition::non-ASCII text":
            "FindArtifactDetailsTool pastes the name into WHERE name = '…': the quote closes it and OR 1=1 returns "
            "the definition of ADX.Flows.Upload (VQL injection)",
        # -- wave2-states (issue 10 §3 §4 §6 §8 §9: hunts, flows, resources, prompts, discovery)
        "run_vql::A query that never ends comes back as an error within 60 seconds":
            "run_vql reads the query's stream to its end with no deadline: a query that never ends never answers",
        "run_vql::A large query result comes back whole":
            "the reply is cut at 5000 characters: a large result comes back as broken JSON",
        "server:hygiene::Every tool answers in bounded time on a clean protocol stream":
            "GetCollectionResultsTool polls an unknown flow with no bound: no answer within 20 s",
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        argv = self.launch_argv(venv, sut_command, ["iflow-mcp_socfortress-velociraptor-mcp-server"])
        return [*argv, "--api-config", str(api_config)], {}


PROFILE = Socfortress()
