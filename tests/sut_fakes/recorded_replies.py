"""Reply shapes of the real servers, for tests of the profiles' readers.

Each case: (profile name, canonical tool, what it shows, the session's call_tool dict, what
the Result must say). "recorded" cases are what the server answered on 2026-11-25 with an
api_client.yaml pointing at a closed port (no Velociraptor reachable), shortened where long;
"from source" cases are the success shapes its code builds (read in its installed package).
"""
from __future__ import annotations

import json

UNAVAILABLE = (
    "<_MultiThreadedRendezvous of RPC that terminated with:\n\tstatus = StatusCode.UNAVAILABLE\n\t"
    'details = "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: '
    'Failed to connect to remote host: Connection refused"\n>'
)


def reply(*texts: str, is_error: bool = False, structured=None) -> dict:
    return {"is_error": is_error, "texts": list(texts), "structured": structured, "seconds": 0.01}


def content_json(text: str) -> str:
    """How FastMCP 4 serialises a tool's returned [{"type": "text", "text": …}] list."""
    return json.dumps([{"type": "text", "text": text}], separators=(",", ":"))


CLIENT_ROW = {
    "client_id": "C.1a2b3c4d5e6f7a8b", "hostname": "lab-host", "os": "linux", "release": "12",
    "labels": ["case-1"], "last_seen_at": 1764000000, "first_seen_at": 1763990000, "last_ip": "127.0.0.1",
}
RAW_CLIENT = {"client_id": "C.1a2b3c4d5e6f7a8b", "os_info": {"hostname": "lab-host", "system": "linux"},
              "labels": ["case-1"]}

CASES = [
    # ---------------------------------------------------------------- megaraptor (canonical)
    ("megaraptor", "list_clients", "recorded: gRPC unavailable, error inside isError false",
     reply(json.dumps({"error": "Velociraptor server is unavailable during listing clients",
                       "hint": "1. Check if the Velociraptor server is running", "grpc_status": "UNAVAILABLE"},
                      indent=2)),
     {"ok": False, "error_has": "unavailable during listing clients"}),
    ("megaraptor", "get_client_info", "recorded: bad id refused",
     reply('{"error": "Invalid client ID format: \'nope\'. Must start with \'C.\'", '
           '"hint": "Provide a valid client ID starting with \'C.\'"}'),
     {"ok": False, "error_has": "Invalid client ID format: 'nope'"}),
    ("megaraptor", "label_client", "recorded: schema-invalid arguments (FastMCP validation)",
     reply("Error executing tool label_client: 1 validation error for label_clientArguments\nlabels\n"
           "  Input should be a valid list [type=list_type, input_value='x', input_type=str]", is_error=True),
     {"ok": False, "error_has": "Input should be a valid list"}),
    ("megaraptor", "list_clients", "from source: a JSON array of clients",
     reply(json.dumps([CLIENT_ROW], indent=2)),
     {"ok": True, "rows": 1, "data_type": list}),
    ("megaraptor", "collect_artifact", "from source: collection_started with the flow id",
     reply(json.dumps({"status": "collection_started", "client_id": CLIENT_ROW["client_id"],
                       "artifacts": ["Generic.Client.Info"], "flow_id": "F.D4ST5ANT3N8E4",
                       "request": {"artifacts": ["Generic.Client.Info"]}}, indent=2)),
     {"ok": True, "flow_id": "F.D4ST5ANT3N8E4"}),
    ("megaraptor", "collect_artifact", "from source: collect_client gave nothing, flow_id empty",
     reply(json.dumps({"status": "collection_started", "client_id": "C.0", "artifacts": ["X"], "flow_id": "",
                       "request": {}})),
     {"ok": True, "flow_id": None}),
    ("megaraptor", "create_hunt", "from source: hunt_created",
     reply(json.dumps({"status": "hunt_created", "hunt_id": "H.CT3N8E4D4S", "description": "d",
                       "artifacts": ["Generic.Client.Info"], "state": "PAUSED", "expires": ""})),
     {"ok": True, "hunt_id": "H.CT3N8E4D4S"}),
    ("megaraptor", "get_flow_results", "from source: results of a flow",
     reply(json.dumps({"client_id": "C.1", "flow_id": "F.ABC", "artifact": None, "result_count": 2,
                       "results": [{"Name": "a"}, {"Name": "b"}]})),
     {"ok": True, "rows": 2, "flow_id": "F.ABC"}),
    ("megaraptor", "run_vql", "from source: rows of a query",
     reply(json.dumps({"query": "SELECT 1 AS x FROM scope() LIMIT 10000", "row_count": 1, "results": [{"x": 1}]})),
     {"ok": True, "rows": 1}),
    ("megaraptor", "run_vql", "recorded: pre-check refuses SELEKT",
     reply('{"error": "VQL query must contain a SELECT statement. Hint: …", '
           '"hint": "Check VQL syntax and max_rows parameter"}'),
     {"ok": False, "error_has": "must contain a SELECT statement"}),
    ("megaraptor", "vql_help", "recorded: markdown text",
     reply("\n# VQL Help\n\nVQL (Velociraptor Query Language) is the core query language for Velociraptor.\n"),
     {"ok": True, "data_type": str}),
    ("megaraptor", "destroy_deployment", "recorded: refusal without confirm",
     reply(json.dumps({"error": "Destruction not confirmed", "message": "Set confirm=True to destroy the deployment",
                       "warning": "This action is irreversible. All data will be lost."}, indent=2)),
     {"ok": False, "error_has": "Destruction not confirmed"}),
    ("megaraptor", "generate_server_config", "from source: YAML text on success",
     reply("version:\n  name: velociraptor\nClient:\n  server_urls:\n  - https://localhost:8000/\n"),
     {"ok": True, "data_type": str}),

    # ---------------------------------------------------------------- velociraptor-mcp-server
    ("velociraptor-mcp-server", "list_clients", "recorded: gRPC unavailable is an exception → isError",
     reply(f"Error executing tool list_clients: {UNAVAILABLE}", is_error=True),
     {"ok": False, "error_has": "UNAVAILABLE"}),
    ("velociraptor-mcp-server", "list_clients", "from source: {clients: [...]}",
     reply(json.dumps({"clients": [RAW_CLIENT]}, indent=2)),
     {"ok": True, "rows": 1}),
    ("velociraptor-mcp-server", "get_client_info", "from source: {client: [row]} → the row",
     reply(json.dumps({"client": [RAW_CLIENT]}, indent=2)),
     {"ok": True, "rows": 1, "data_has_key": "os_info"}),
    ("velociraptor-mcp-server", "get_client_info", "from source: an unknown client is an empty success",
     reply(json.dumps({"client": []}, indent=2)),
     {"ok": True, "rows": 0, "data": None}),
    ("velociraptor-mcp-server", "collect_artifact", "from source: FlowId holds collect_client's answer",
     reply(json.dumps({"result": [{"FlowId": {"flow_id": "F.D4ST5ANT3N8E4", "request": {"client_id": "C.1"}}}]})),
     {"ok": True, "rows": 1, "flow_id": "F.D4ST5ANT3N8E4"}),
    ("velociraptor-mcp-server", "collect_artifact", "from source: collect_client failed → FlowId null",
     reply(json.dumps({"result": [{"FlowId": None}]})),
     {"ok": True, "flow_id": None}),
    ("velociraptor-mcp-server", "run_vql", "from source: {rows: [...]}",
     reply(json.dumps({"rows": [{"x": 1}, {"x": 2}]}, indent=2)),
     {"ok": True, "rows": 2}),
    ("velociraptor-mcp-server", "run_vql", "recorded: a tool exception is isError true",
     reply(f"Error executing tool query_vql: {UNAVAILABLE}", is_error=True),
     {"ok": False, "error_has": "Error executing tool query_vql"}),
    ("velociraptor-mcp-server", "list_hunts", "from source: {hunts: [...]}",
     reply(json.dumps({"hunts": [{"hunt_id": "H.1", "state": "PAUSED"}]}, indent=2)),
     {"ok": True, "rows": 1}),

    # ---------------------------------------------------------------- mgreen27
    ("iflow-mcp-mgreen27-mcp-velociraptor", "collect_artifact", "recorded: error text inside isError false",
     reply(f"Failed to start collection: Error starting collection: {UNAVAILABLE}",
           structured={"result": f"Failed to start collection: Error starting collection: {UNAVAILABLE}"}),
     {"ok": False, "error_has": "Failed to start collection"}),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "collect_artifact",
     "recorded (same FastMCP 1.30): a started collection is reported as an output validation error",
     reply("Error executing tool collect_artifact: 1 validation error for collect_artifactOutput\nresult\n"
           "  Input should be a valid string [type=string_type, input_value={'flow_id': 'F.D4ST5ANT3N... "
           "'Generic.Client.Info'}}, input_type=dict]", is_error=True),
     {"ok": False, "error_has": "validation error", "flow_id": None}),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "get_flow_results", "recorded: flow not finished",
     reply("No results found after multiple retries or the flow did not finish.",
           structured={"result": "No results found after multiple retries or the flow did not finish."}),
     {"ok": False, "error_has": "No results found"}),
    ("iflow-mcp-mgreen27-mcp-velociraptor", "get_flow_results", "from source, if fixed: one text per row",
     reply('{"Name": "a"}', '{"Name": "b"}'),
     {"ok": True, "rows": 2}),

    # ---------------------------------------------------------------- socfortress
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", "recorded: error text inside serialised content",
     reply(content_json(f"Error executing VQL query: gRPC connection failed: {UNAVAILABLE}")),
     {"ok": False, "error_has": "Error executing VQL query"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", "from source: a JSON array of rows",
     reply(content_json(json.dumps([{"x": 1}, {"x": 2}], indent=2))),
     {"ok": True, "rows": 2}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", "from source: a reply cut at 5000 characters",
     reply(content_json(json.dumps([{"x": "y" * 100}] * 60, indent=2)[:5000] + "... (truncated, total length: 6542)")),
     {"ok": False, "error_has": "truncated its reply at 5000 of 6542"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "collect_artifact", "from source: words, then JSON",
     reply(content_json("Collection started successfully:\n" + json.dumps(
         {"flow_id": "F.D4ST5ANT3N8E4", "artifacts": ["Generic.Client.Info"], "specs": {}}, indent=2))),
     {"ok": True, "flow_id": "F.D4ST5ANT3N8E4"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "collect_artifact", "from source: nothing started",
     reply(content_json("Failed to start collection: []")),
     {"ok": False, "error_has": "Failed to start collection"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "collect_artifact", "recorded: gRPC unavailable",
     reply(content_json(f"Error collecting artifact: Query execution failed: {UNAVAILABLE}")),
     {"ok": False, "error_has": "Error collecting artifact"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "get_artifact", "from source: unknown artifact",
     reply(content_json("No artifact found with name: Custom.Raptorspec.NoSuchArtifact")),
     {"ok": False, "error_has": "Custom.Raptorspec.NoSuchArtifact"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "get_artifact", "from source: the summary",
     reply(content_json(json.dumps({"name": "Linux.Sys.Users", "description": "d",
                                    "parameters": [{"name": "PasswordFile"}]}, indent=2))),
     {"ok": True, "data_has_key": "parameters"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "get_flow_results", "from source: never COMPLETE → TIMEOUT",
     reply(content_json(json.dumps({"flow_id": "F.X", "artifact": "Linux.Sys.Users", "status": "TIMEOUT",
                                    "message": "No results after 1 retries. Sources still running: ['Linux.Sys.Users']"}))),
     {"ok": False, "error_has": "TIMEOUT"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "get_flow_results", "from source, if fixed: rows per source",
     reply(content_json(json.dumps({"flow_id": "F.X", "artifact": "Generic.Client.Info", "status": "COMPLETE",
                                    "results": {"Generic.Client.Info/BasicInformation": [{"a": 1}],
                                                "Generic.Client.Info/Users": [{"b": 2}, {"b": 3}]}}))),
     {"ok": True, "rows": 3, "flow_id": "F.X"}),
    ("iflow-mcp-socfortress-velociraptor-mcp-server", "run_vql", "recorded: arguments not wrapped in args",
     reply("2 validation errors for call[run_vql_query_tool]\nargs\n  Missing required argument "
           "[type=missing_argument, input_value={'vql': 'SELECT 1'}, input_type=dict]", is_error=True),
     {"ok": False, "error_has": "Missing required argument"}),
]
