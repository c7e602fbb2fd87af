"""megaraptor-mcp 0.1.0: the canonical contract (../shared/contracts/megaraptor-mcp-tools.md).

Not on PyPI: run it with ``--sut megaraptor --sut-command "python -m megaraptor_mcp"`` (or
the path of its venv, or of its ``megaraptor-mcp`` script). It reads the lab's
``api_client.yaml`` from ``VELOCIRAPTOR_CONFIG_PATH`` and needs ``mcp<2``.

Every canonical tool, resource and prompt maps 1:1 with the same arguments. Replies are one
JSON text; failures handled inside a tool come as ``{"error", "hint"}`` with isError false.

Connection: its gRPC channel sets no ``ssl_target_name_override``, so it verifies the API
certificate against the host of ``api_connection_string``. Velociraptor issues that
certificate to ``VelociraptorServer``; with an address like ``127.0.0.1:8001`` every call
fails "Hostname Verification Check failed" (reported as ``grpc_status: UNAVAILABLE``),
unless the lab's certificate names the address it is reached on. The suite's embedded and
docker labs issue their API certificate for 127.0.0.1 and localhost too
(support.lab.reissue_frontend_cert), so it connects there; against an external lab with
Velociraptor's stock certificate it cannot.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from support import contract
from support.sut.profiles import Profile, ToolMap, reader, text_reader, user_command

_ROWS = reader(rows=True)
_PLAIN = reader()

_TOOLS: dict[str, ToolMap] = {
    # clients
    "list_clients": ToolMap("list_clients", read=_ROWS),
    "get_client_info": ToolMap("get_client_info", read=_PLAIN),
    "label_client": ToolMap("label_client", read=_PLAIN),
    "quarantine_client": ToolMap("quarantine_client", read=reader(flow=True)),
    # artifacts
    "list_artifacts": ToolMap("list_artifacts", read=_ROWS),
    "get_artifact": ToolMap("get_artifact", read=_PLAIN),
    "collect_artifact": ToolMap("collect_artifact", read=reader(flow=True)),
    # hunts
    "create_hunt": ToolMap("create_hunt", read=reader(hunt=True)),
    "list_hunts": ToolMap("list_hunts", read=_ROWS),
    "get_hunt_results": ToolMap("get_hunt_results", read=reader(rows="results", hunt=True)),
    "modify_hunt": ToolMap("modify_hunt", read=reader(hunt=True)),
    # flows
    "list_flows": ToolMap("list_flows", read=_ROWS),
    "get_flow_results": ToolMap("get_flow_results", read=reader(rows="results", flow=True)),
    "get_flow_status": ToolMap("get_flow_status", read=reader(flow=True)),
    "cancel_flow": ToolMap("cancel_flow", read=reader(flow=True)),
    # VQL
    "run_vql": ToolMap("run_vql", read=reader(rows="results")),
    "vql_help": ToolMap("vql_help", read=text_reader()),
}
# deployment: 18 tools, same names and arguments; YAML/markdown successes read as text
for _name in contract.DEPLOYMENT_TOOLS:
    _TOOLS[_name] = ToolMap(_name, read=_PLAIN)
_TOOLS["list_deployments"] = ToolMap("list_deployments", read=reader(rows="deployments"))


class Megaraptor(Profile):
    name: ClassVar[str] = "megaraptor"
    summary: ClassVar[str] = "megaraptor-mcp 0.1.0 (the canonical contract; bring your own install)"
    requirements: ClassVar[tuple[str, ...] | None] = None
    tools: ClassVar[dict[str, ToolMap]] = _TOOLS
    resources: ClassVar[dict[str, str]] = {uri: uri for uri in contract.RESOURCES}
    prompts: ClassVar[dict[str, str]] = {p: p for p in contract.PROMPTS}
    # Read from its source (tools/*.py, client.py) against Velociraptor 0.77.2's: its VQL
    # client reads only resp.Response, so a VQL error is an empty success.
    known_defects: ClassVar[dict[str, str]] = {
        # seen on the embedded lab, 2026-11-25 (megaraptor-mcp a089b23), with the source line that explains it
        "cancel_flow::Cancelling a collection that does not exist is refused and stops nothing":
            "cancel_flow() of an unknown flow answers {'action': 'cancelled'}: it reads no error from the query log",
        "collect_artifact::The parameters I give reach the collection":
            "puts parameters into the VQL as a JSON literal (spec={...}), a VQL syntax error ('unexpected token') "
            "that it drops: no flow starts, 'Failed to start collection'",
        "collect_artifact::A parameter holding quotes and VQL reaches the collection unchanged":
            "puts parameters into the VQL as a JSON literal (spec={...}), a VQL syntax error that it drops: no flow starts",
        "collect_artifact::Collecting an artifact that does not exist is refused":
            "answers 'Failed to schedule artifact collection (hint: Check Velociraptor server connection…)': names "
            "neither the unknown artifact nor the real cause",
        "collect_artifact::Collecting from a client that does not exist is refused":
            "answers 'Failed to schedule artifact collection (hint: Check Velociraptor server connection…)': does "
            "not name the unknown client",
        "list_artifacts::Asking for server artifacts lists only server artifacts":
            "filters type = 'SERVER' (the contract's upper case) where artifact_definitions() says 'server': 0 rows",
        "list_artifacts::Asking for client artifacts lists only client artifacts":
            "filters type = 'CLIENT' (the contract's upper case) where artifact_definitions() says 'client': 0 rows",
        "list_artifacts::An artifact search holding quotes or VQL cannot widen the list::x' OR 1=1 --":
            "VQL injection: pastes the search into name =~ '<search>' (tools/artifacts.py); x' OR 1=1 -- lists all "
            "440 artifacts",
        "label_client::Labelling a client that does not exist is refused and changes nothing":
            "labels an unknown client id and answers success (Velociraptor's label() accepts any id; the tool "
            "does not check the client exists)",
        "label_client::A label holding quotes or VQL is stored exactly as given::it's \"odd\"":
            "VQL injection: pastes labels into labels=['<label>'] (tools/clients.py); a quote breaks the query, "
            "no label is set, success is claimed",
        "label_client::A label holding quotes or VQL is stored exactly as given::x', op='remove":
            "VQL injection: pastes labels into labels=['<label>']; x', op='remove sets labels 'x' and 'false'",
        "label_client::A label holding quotes or VQL is stored exactly as given::a' OR 1=1 --":
            "VQL injection: pastes labels into labels=['<label>']; the quote breaks the query, no label is set",
        "list_flows::Listing the flows of a client that does not exist is refused":
            "flows() of an unknown client logs NotFoundError, which the client drops: an empty list as success",
        "get_flow_results::Results of a collection that does not exist are refused":
            "source() of an unknown flow gives no rows and the tool answers result_count 0 as success",
        "run_vql::Broken VQL is reported, not answered with nothing":
            "its pre-check refuses 'SELEKT …' with 'VQL query must contain a SELECT statement', not naming the query",
        "run_vql::A query on a plugin that does not exist is reported":
            "VelociraptorClient.query drops the query log: an unknown plugin gives row_count 0, not an error",
        "run_vql::A variable's text reaches the query exactly as I gave it":
            "env values are sent JSON-encoded (json.dumps): a string arrives wrapped in quotes",
        "run_vql::A variable holding quotes and VQL stays a value":
            "env values are sent JSON-encoded (json.dumps): a string arrives wrapped in quotes",
        "get_hunt_results::Results of a hunt that does not exist are refused":
            "hunt_results() of an unknown hunt logs an error that the client drops: result_count 0, no error",
        "modify_hunt::Starting a hunt that does not exist is refused":
            "hunt_update() on an unknown hunt logs an error that the client drops: status success",
        "create_hunt::The server tells me the id of the hunt it created":
            "replies hunt_id '' (tools/hunts.py reads hunt_id from hunt()'s result, which names it HuntId); "
            "Velociraptor did make the hunt",
        "create_hunt::A hunt for an artifact Velociraptor does not know is refused":
            "hunt() of an unknown artifact returns null and the tool answers 'Unexpected error during hunt "
            "creation', which does not say the artifact is not found",
        "modify_hunt::Starting a hunt sets it running and offers it to my client":
            "sends hunt_update(state='RUNNING'); Velociraptor 0.77.2 refuses it ('hunt_update: Unexpected arg "
            "state'), the client drops that log and answers status success; the hunt stays PAUSED",
        "modify_hunt::Stopping a running hunt stops it":
            "sends hunt_update(state='STOPPED'), refused by Velociraptor ('Unexpected arg state'), answered as "
            "success; the hunt stays RUNNING",
        "modify_hunt::Pausing a running hunt keeps it from running":
            "sends hunt_update(state='PAUSED'), refused by Velociraptor ('Unexpected arg state'), answered as "
            "success; the hunt stays RUNNING",
        "modify_hunt::Archiving a hunt is claimed only when Velociraptor archived it":
            "sends hunt_update(state='ARCHIVED'), refused by Velociraptor ('Unexpected arg state'), and answers "
            "status success; Velociraptor 0.77 cannot archive at all, the hunt stays STOPPED",
        # issue 10 (§2 one aspect per scenario, §7 hostile text), seen on the embedded lab 2026-11-29 (a089b23)
        "quarantine_client::Quarantining a linux client uses the linux quarantine":
            "collects Windows.Remediation.Quarantine whatever the client's OS: a linux client gets no "
            "Linux.Remediation.Quarantine (tools/clients.py)",
        "quarantine_client::Lifting a quarantine from a linux client uses the linux quarantine":
            "lifting collects Windows.Remediation.Quarantine (RemovePolicy='Y') whatever the client's OS",
        "quarantine_client::A client I quarantine is labelled Quarantine in Velociraptor":
            "adds no Quarantine label: it only collects the quarantine artifact",
        "quarantine_client::Lifting a quarantine takes the Quarantine label off":
            "leaves the Quarantine label on: it only collects the quarantine artifact",
        "quarantine_client::Quarantining a client that does not exist is refused":
            "answers status 'initiated' for an unknown client: collect_client()'s error is in a log it drops",
        "quarantine_client::A message holding <shape> goes with the quarantine unchanged::a quote, a newline and --":
            "VQL injection: pastes the message into env=dict(MessageBox='<message>'); the quote breaks the query, "
            "no collection starts, 'initiated' is claimed",
        "quarantine_client::A message holding <shape> goes with the quarantine unchanged::a semicolon":
            "VQL injection: pastes the message into env=dict(MessageBox='<message>'); the quote breaks the query, "
            "no collection starts",
        "quarantine_client::A message holding <shape> goes with the quarantine unchanged::non-ASCII text":
            "VQL injection: pastes the message into env=dict(MessageBox='<message>'); the quote in ö' breaks the "
            "query, no collection starts",
        "quarantine_client::A message holding <shape> goes with the quarantine unchanged::a backslash-escaped quote":
            "pastes the message into env=dict(MessageBox='<message>'): VQL reads \\' as a quote, so the message "
            "arrives altered",
        "collect_artifact::A parameter holding <shape> reaches the collection unchanged":
            "puts parameters into the VQL as a JSON literal (spec={...}), a VQL syntax error that it drops: no flow starts",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "a regex alternation":
            "matches the search as a regular expression (name =~ '<search>', tools/artifacts.py): Pslist|Users also lists "
            "artifacts that hold neither text",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "an unclosed bracket":
            "matches the search as a regular expression (=~): Pslist( is a broken pattern, whose VQL error is "
            "dropped: no artifact listed, though one holds that text",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::"
        "a quote, a newline and --":
            "VQL injection: pastes the search into name =~ '<search>' (tools/artifacts.py); the quote closes it and "
            "OR 1=1 lists all 440 artifacts",
        "list_artifacts::An artifact search holding <shape> lists what Velociraptor holds for that text::non-ASCII text":
            "VQL injection: pastes the search into name =~ '<search>' (tools/artifacts.py); the quote closes it and "
            "OR 1=1 lists all 440 artifacts",
        "list_clients::A client search holding <shape> lists what Velociraptor finds for that text::"
        "a quote, a newline and --":
            "refuses any search holding ';' or '--' ('potentially unsafe characters') instead of passing it as a value",
        "list_clients::A client search holding <shape> lists what Velociraptor finds for that text::"
        "a backslash-escaped quote":
            "refuses any search holding ';' or '--' ('potentially unsafe characters') instead of passing it as a value",
        "list_clients::A client search holding <shape> lists what Velociraptor finds for that text::a semicolon":
            "refuses any search holding ';' or '--' ('potentially unsafe characters') instead of passing it as a value",
        "list_clients::A client search holding <shape> lists what Velociraptor finds for that text::non-ASCII text":
            "refuses any search holding ';' or '--' ('potentially unsafe characters') instead of passing it as a value",
        "label_client::A label holding quotes or VQL is stored exactly as given::x'\n-- a":
            "VQL injection: pastes labels into labels=['<label>']; the quote breaks the query, no label is set",
        "label_client::A label holding quotes or VQL is stored exactly as given::x\\' OR 1=1 --":
            "pastes labels into labels=['<label>']: VQL reads \\' as a quote, so x\\' OR 1=1 -- is stored as "
            "x' OR 1=1 --",
        "label_client::A label holding quotes or VQL is stored exactly as given::x'; SELECT * FROM clients() --":
            "VQL injection: pastes labels into labels=['<label>']; the quote breaks the query, no label is set",
        "label_client::A label holding quotes or VQL is stored exactly as given::ünïcødé-日本-ö'":
            "VQL injection: pastes labels into labels=['<label>']; the quote breaks the query, no label is set",
        "run_vql::A variable holding <shape> stays a value":
            "env values are sent JSON-encoded (json.dumps): a string arrives wrapped in quotes",
        "resource:velociraptor://hunts/{hunt_id}/results::The results page of a hunt that does not exist answers not found":
            "an unknown hunt's results page is an empty success ({\"count\": 0, \"results\": []}): the hunt_results()"
            " error is in a log the client drops",
        "resource:velociraptor://server-info::The server information gives Velociraptor's version":
            "asks server_version(), which Velociraptor 0.77.2 does not have ('Symbol server_version not found'): "
            "the page's version is null, and its info() gives only the host's versions (OS, kernel, Go)",
        "resource:velociraptor://deployments":
            "without the optional [deployment] extra, deployers/docker_deployer.py evaluates the annotation "
            "docker.DockerClient at import: NameError \"name 'docker' is not defined\", not the ImportError the "
            "page handles",
        "resource:velociraptor://deployments/{deployment_id}":
            "without the optional [deployment] extra, deployers/docker_deployer.py evaluates the annotation "
            "docker.DockerClient at import: NameError \"name 'docker' is not defined\", not the ImportError the "
            "page handles",
        # deployment tools, seen on the embedded lab, 2026-11-25 (a089b23, installed without the [deployment]
        # extra): importing deployment.deployers fails with NameError (docker_deployer.py's annotation
        # docker.DockerClient), deployment.agents likewise (winrm_deployer.py's winrm.Session); that is not the
        # ImportError the tools handle, so their bare "except Exception" answers a generic failure
        "list_deployments::The list says how many deployments it holds":
            "answers 'Failed to list deployments (hint: Check deployment infrastructure is available)': the "
            "deployers import dies with NameError \"name 'docker' is not defined\", caught by a bare except",
        "list_deployments::Every deployment on the list answers for its status":
            "answers 'Failed to list deployments': the deployers import dies with NameError \"name 'docker' is not "
            "defined\", caught by a bare except",
        "get_deployment_status::The status of a deployment that does not exist is refused by name":
            "answers 'Failed to get deployment status (hint: Check deployment ID and try again)' for "
            "vr-raptorspec-none: the deployers import's NameError ('docker') is caught by a bare except, so the "
            "'Deployment not found: <id>' branch is never reached",
        "validate_deployment::Validating a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the deployers import's NameError ('docker') is caught by a bare except",
        "generate_server_config::The configuration of a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the deployers import's NameError ('docker') is caught by a bare except",
        "generate_api_credentials::Credentials for a deployment that does not exist are refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the deployers import's NameError ('docker') is caught by a bare except",
        "export_deployment_docs::Documenting a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the deployers import's NameError ('docker') is caught by a bare except",
        "generate_agent_installer::An installer for a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the agents import's NameError ('winrm') is caught by a bare except",
        "generate_gpo_package::A group policy package for a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the agents import's NameError ('winrm') is caught by a bare except",
        "generate_ansible_playbook::A playbook for a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the agents import's NameError ('winrm') is caught by a bare except",
        "rotate_certificates::Rotating the certificates of a deployment that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none: "
            "the deployers import's NameError ('docker') is caught by a bare except",
        "deploy_agents_ssh::Pushing agents over SSH for a deployment that does not exist is refused and reaches no host":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none "
            "(it does refuse and connects nowhere): the agents import's NameError ('winrm') is caught by a bare except",
        "deploy_agents_winrm::Pushing agents over WinRM for a deployment that does not exist is refused and reaches no host":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for vr-raptorspec-none "
            "(it does refuse and connects nowhere): the agents import's NameError ('winrm') is caught by a bare except",
        "create_offline_collector::A collector for an operating system that does not exist is refused by name":
            "answers 'Operation failed (hint: Check deployment configuration and try again)' for target OS "
            "raptorspec-os: the agents import's NameError ('winrm') is caught by a bare except, and so would be "
            "offline_collector.py's ValueError 'Unsupported target OS'",
        "check_agent_deployment::Agents of a deployment that does not exist are refused by name":
            "never looks the deployment up: for vr-raptorspec-none it answers success with every client of "
            "Velociraptor's clients() (every client of the lab, online), as if they were that deployment's agents",
        "deploy_server_cloud::A refused cloud server leaves no keys behind":
            "deploy_server() generates and saves a certificate bundle before it checks the provider: refusing "
            "'Unknown deployment type: raptorspec-nimbus' it leaves ca.key, server.key and api_client.key (and "
            "their certificates) in ~/.local/share/megaraptor-mcp/certs/vr-<date>-<hex>/",
        "prompt:investigate_endpoint::The endpoint investigation prompt recommends only artifacts Velociraptor has":
            "recommends Windows.Registry.Run, which Velociraptor 0.77.2 does not have",
        "prompt:threat_hunt::The threat hunt prompt recommends only artifacts Velociraptor has":
            "recommends Windows.Search.YARA, Windows.Detection.ProcessHollowing, Windows.Network.Connections and "
            "Windows.Registry.Persistence, which Velociraptor 0.77.2 does not have",
        "prompt:triage_incident::The incident triage prompt recommends only artifacts Velociraptor has":
            "recommends Windows.KapeFiles.Targets and Windows.Detection.Autoruns, which Velociraptor 0.77.2 does "
            "not have",
        "prompt:malware_analysis::The malware analysis prompt recommends only artifacts Velociraptor has":
            "recommends Windows.Forensics.FileFinder and Windows.Forensics.HashFiles, which Velociraptor 0.77.2 "
            "does not have",
        "prompt:rapid_ir_deployment::The rapid IR deployment prompt recommends only artifacts Velociraptor has":
            "recommends Windows.Detection.Autoruns, which Velociraptor 0.77.2 does not have",
        "prompt:rapid_ir_deployment::The rapid IR deployment prompt needs the number of endpoints":
            "target_count and environment have defaults ('unknown', 'mixed') in prompts.py: it renders without "
            "them, though the contract makes them required",
        "prompt:deploy_and_triage::The deploy and triage prompt recommends only artifacts Velociraptor has":
            "recommends Windows.Detection.Ransomware and Windows.Detection.Autoruns, which Velociraptor 0.77.2 "
            "does not have",
        # issue 10, the whole spec (344 runs: hunts, flows, resources, discovery, prompts, deployment too),
        # seen on the embedded lab 2026-11-29 (a089b23)
        "run_vql::A query that never ends comes back as an error within 60 seconds":
            "no answer within 90 s: VelociraptorClient.query gives Query a 30 s deadline and retries "
            "DEADLINE_EXCEEDED twice (tenacity, client.py), so an endless query answers after some 95 s",
        "run_vql::While a slow query runs, another request is answered within 10 seconds":
            "its async tools call the blocking gRPC client on the event loop (client.query in tools/vql.py): "
            "list_clients is answered only when the 20 s query ends",
        "server:hygiene::No tool reports a failure as a success":
            "answers handled failures as {\"error\", \"hint\"} with isError false: collect_artifact, create_hunt, "
            "get_artifact, get_client_info, get_flow_status, modify_hunt",
        "create_hunt::The parameters I give a hunt reach Velociraptor":
            "puts parameters into the VQL as a JSON literal (spec={...}, tools/hunts.py), a VQL syntax error it "
            "drops: no hunt is made, 'Failed to create hunt'",
        "list_hunts::The state asked for is applied before the limit":
            "asks hunts() LIMIT <limit> and filters the state afterwards in Python (tools/hunts.py): the limit "
            "cuts hunts of every state first, so 1 PAUSED hunt is listed of the 2 asked for, though 3 are held",
        "modify_hunt::Starting a stopped hunt sets it running again":
            "sends hunt_update(state='RUNNING'), refused by Velociraptor ('Unexpected arg state'), answered as "
            "success; the hunt stays STOPPED",
        "get_flow_results::A limit caps the rows of a collection with several sources":
            "asks source(client_id, flow_id) with no artifact, which gives none of the rows of named sources "
            "(Generic.Client.Info/<Source>, 22 held): result_count 0 as success, and no flag that rows were left out",
        "get_flow_results::A limit that falls at the end of one source still says rows were left out":
            "asks source(client_id, flow_id) with no artifact, which gives none of the rows of named sources "
            "(Generic.Client.Info/<Source>, 22 held): result_count 0 as success, and no flag that rows were left out",
        "prompt:offline_collection_kit::The offline collection kit prompt recommends artifacts for the OS I name, "
        "<os>::windows":
            "recommends Windows.KapeFiles.Targets for windows, which Velociraptor 0.77.2 does not have",
        "prompt:offline_collection_kit::The offline collection kit prompt recommends artifacts for the OS I name, "
        "<os>::macos":
            "recommends MacOS.Sys.Users for macos, which Velociraptor 0.77.2 does not have",
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None
                ) -> tuple[list[str], dict[str, str]]:
        argv = user_command(self.name, sut_command, module="megaraptor_mcp")
        return argv, {"VELOCIRAPTOR_CONFIG_PATH": str(api_config)}


PROFILE = Megaraptor()
