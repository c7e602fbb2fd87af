"""reference: Raptorspec's own reference server (``reference/`` in this repository).

Launch: the suite's own Python runs ``python -m reference`` (no separate install; the
package is part of this project), with the lab's ``api_client.yaml`` in
``VELOCIRAPTOR_API_CONFIG``. ``--sut-command`` replaces that command line, e.g. to drive a
checkout elsewhere.

Every canonical tool, the non-deployment resources and the 8 prompts keep their canonical
names and arguments. Replies: one JSON object per tool, sent both as ``structuredContent``
and as text; lists come under a named key (``clients``, ``artifacts``, ``hunts``, ``flows``,
``results``). Failures are ``isError: true`` with a message naming the cause; an unknown
resource is a JSON-RPC error "<thing> <id> not found". It is not a deployer: the 18
deployment tools and the deployment resources are absent, so their scenarios skip.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

from support.sut.profiles import Profile, ToolMap, reader, user_command

_TOOLS: dict[str, ToolMap] = {
    "list_clients": ToolMap("list_clients", read=reader(rows="clients")),
    "get_client_info": ToolMap("get_client_info", read=reader()),
    "label_client": ToolMap("label_client", read=reader()),
    "quarantine_client": ToolMap("quarantine_client", read=reader(flow=True)),
    "list_artifacts": ToolMap("list_artifacts", read=reader(rows="artifacts")),
    "get_artifact": ToolMap("get_artifact", read=reader()),
    "collect_artifact": ToolMap("collect_artifact", read=reader(flow=True)),
    "create_hunt": ToolMap("create_hunt", read=reader(hunt=True)),
    "list_hunts": ToolMap("list_hunts", read=reader(rows="hunts")),
    "get_hunt_results": ToolMap("get_hunt_results", read=reader(rows="results", hunt=True)),
    "modify_hunt": ToolMap("modify_hunt", read=reader(hunt=True)),
    "list_flows": ToolMap("list_flows", read=reader(rows="flows")),
    "get_flow_results": ToolMap("get_flow_results", read=reader(rows="results", flow=True)),
    "get_flow_status": ToolMap("get_flow_status", read=reader(flow=True)),
    "cancel_flow": ToolMap("cancel_flow", read=reader(flow=True)),
    "run_vql": ToolMap("run_vql", read=reader(rows="results")),
    "vql_help": ToolMap("vql_help", read=reader()),
}

_RESOURCES = [
    "velociraptor://clients", "velociraptor://clients/{client_id}",
    "velociraptor://hunts", "velociraptor://hunts/{hunt_id}", "velociraptor://hunts/{hunt_id}/results",
    "velociraptor://artifacts", "velociraptor://artifacts/{artifact_name}",
    "velociraptor://server-info",
]
_PROMPTS = [
    "investigate_endpoint", "threat_hunt", "triage_incident", "malware_analysis",
    "lateral_movement", "rapid_ir_deployment", "deploy_and_triage", "offline_collection_kit",
]


class Reference(Profile):
    name: ClassVar[str] = "reference"
    summary: ClassVar[str] = "Raptorspec's reference server (this repository's reference/, MCP SDK 2.x)"
    requirements: ClassVar[tuple[str, ...] | None] = None
    tools: ClassVar[dict[str, ToolMap]] = _TOOLS
    resources: ClassVar[dict[str, str]] = {uri: uri for uri in _RESOURCES}
    prompts: ClassVar[dict[str, str]] = {p: p for p in _PROMPTS}
    known_defects: ClassVar[dict[str, str]] = {}
    #: Ships with the suite: runnable without an install or a --sut-command (support.sut.selection).
    bundled: ClassVar[bool] = True

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        argv = (user_command(self.name, sut_command, module="reference") if sut_command
                else [sys.executable, "-m", "reference", "--transport", "stdio"])
        env = {"VELOCIRAPTOR_API_CONFIG": str(api_config)}
        # The sandbox starts the server in a private working directory: make this project's
        # package importable there (an editable install already does; a plain checkout does not).
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
        return argv, env


PROFILE = Reference()
