"""The canonical contract: the tool, resource and prompt names of megaraptor-mcp 0.1.0, once.

The contract is written in ``../shared/contracts/megaraptor-mcp-tools.md`` (beside a clone, in
CI); the suite does not read it at run time, so its names live here, and
``tests/test_contract.py`` compares them with that file whenever it is there. Everything
else — the report's coverage matrix, the SUT profiles, discovery, prompts — imports them
from this module.

- ``@tool:<name>`` tags use :data:`TOOLS`; resources are ``@tool:resource:<uri>`` over
  :data:`RESOURCES`; prompts ``@tool:prompt:<name>`` over :data:`PROMPTS`.
- :data:`DEFAULTS`: the contract's default of each optional argument that a SUT may lack
  (an argument passed with exactly this value may be dropped by such a SUT).
- :data:`PROMPT_ARGUMENTS`: each prompt's required arguments (those without a default).
"""
from __future__ import annotations

#: (family, tool names) in the contract's order.
TOOL_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Clients", ("list_clients", "get_client_info", "label_client", "quarantine_client")),
    ("Artifacts", ("list_artifacts", "get_artifact", "collect_artifact")),
    ("Hunts", ("create_hunt", "list_hunts", "get_hunt_results", "modify_hunt")),
    ("Flows", ("list_flows", "get_flow_results", "get_flow_status", "cancel_flow")),
    ("VQL", ("run_vql", "vql_help")),
    ("Deployment", (
        "deploy_server", "deploy_server_docker", "deploy_server_cloud", "get_deployment_status",
        "destroy_deployment", "list_deployments", "generate_agent_installer",
        "create_offline_collector", "generate_gpo_package", "generate_ansible_playbook",
        "deploy_agents_winrm", "deploy_agents_ssh", "check_agent_deployment",
        "generate_server_config", "generate_api_credentials", "rotate_certificates",
        "validate_deployment", "export_deployment_docs",
    )),
)

#: Every canonical tool, in the contract's order (35).
TOOLS: tuple[str, ...] = tuple(name for _, names in TOOL_FAMILIES for name in names)
#: The deployment family (18 tools; only check_agent_deployment talks to Velociraptor).
DEPLOYMENT_TOOLS: tuple[str, ...] = dict(TOOL_FAMILIES)["Deployment"]
#: The tools that talk to Velociraptor: every family but Deployment (17).
CORE_TOOLS: tuple[str, ...] = tuple(t for t in TOOLS if t not in DEPLOYMENT_TOOLS)

#: Resource URIs: 5 fixed, 5 templates.
RESOURCES: tuple[str, ...] = (
    "velociraptor://clients",
    "velociraptor://clients/{client_id}",
    "velociraptor://hunts",
    "velociraptor://hunts/{hunt_id}",
    "velociraptor://hunts/{hunt_id}/results",
    "velociraptor://artifacts",
    "velociraptor://artifacts/{artifact_name}",
    "velociraptor://server-info",
    "velociraptor://deployments",
    "velociraptor://deployments/{deployment_id}",
)

#: Prompt name -> its required arguments (those without a default), in the contract's order.
PROMPT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "investigate_endpoint": ("client_id",),
    "threat_hunt": ("indicators",),
    "triage_incident": ("client_id",),
    "malware_analysis": ("client_id", "target"),
    "lateral_movement": ("scope",),
    "rapid_ir_deployment": ("target_count", "environment"),
    "deploy_and_triage": ("incident_type", "affected_systems"),
    "offline_collection_kit": ("target_os",),
}
PROMPTS: tuple[str, ...] = tuple(PROMPT_ARGUMENTS)

#: Rows about the server as a whole, not one canonical capability (every SUT has them):
#: ``server:hygiene`` — every tool it lists, mapped or not (features/discovery/hygiene.feature).
SERVER_ROWS: tuple[str, ...] = ("server:hygiene",)

#: Contract defaults of the optional arguments a SUT may lack (tool -> argument -> default).
DEFAULTS: dict[str, dict[str, object]] = {
    "list_clients": {"limit": 100},
    "label_client": {"operation": "add"},
    "quarantine_client": {"quarantine": True},
    "list_artifacts": {"limit": 100},
    "collect_artifact": {"timeout": 600, "urgent": False},
    "create_hunt": {"timeout": 600, "expires_hours": 24, "paused": True},
    "list_hunts": {"limit": 50},
    "get_hunt_results": {"limit": 1000},
    "list_flows": {"limit": 50},
    "get_flow_results": {"limit": 1000},
    "run_vql": {"max_rows": 10000},
}


def matrix_groups() -> list[tuple[str, list[str]]]:
    """The coverage matrix's row keys, grouped for display: tool families, then resources
    (``resource:<uri>``), then prompts (``prompt:<name>``)."""
    groups = [(family, list(names)) for family, names in TOOL_FAMILIES]
    groups.append(("Resources", [f"resource:{uri}" for uri in RESOURCES]))
    groups.append(("Prompts", [f"prompt:{name}" for name in PROMPTS]))
    groups.append(("Server as a whole", list(SERVER_ROWS)))
    return groups


def matrix_rows() -> list[str]:
    """Every canonical row key, in display order."""
    return [key for _, keys in matrix_groups() for key in keys]
