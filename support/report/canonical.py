"""The canonical vocabulary of ``@tool:`` tags: the megaraptor-mcp 0.1.0 contract as data.

The contract itself lives outside this repository (``../shared/contracts/``), so the
report cannot read it at run time; this module holds its names. Keep it in step with the
contract: every tool here gets a row in the coverage matrix even when no scenario covers it.
Resources and prompts are matrix rows too, as ``resource:<uri>`` and ``prompt:<name>``.
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

TOOLS: tuple[str, ...] = tuple(name for _, names in TOOL_FAMILIES for name in names)

#: Resource URIs (5 fixed, 5 templates).
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

PROMPTS: tuple[str, ...] = (
    "investigate_endpoint", "threat_hunt", "triage_incident", "malware_analysis",
    "lateral_movement", "rapid_ir_deployment", "deploy_and_triage", "offline_collection_kit",
)


def matrix_groups() -> list[tuple[str, list[str]]]:
    """The matrix's row keys, grouped for display: tool families, then resources, then prompts."""
    groups = [(family, list(names)) for family, names in TOOL_FAMILIES]
    groups.append(("Resources", [f"resource:{uri}" for uri in RESOURCES]))
    groups.append(("Prompts", [f"prompt:{name}" for name in PROMPTS]))
    return groups


def matrix_rows() -> list[str]:
    """Every canonical row key, in display order."""
    return [key for _, keys in matrix_groups() for key in keys]
