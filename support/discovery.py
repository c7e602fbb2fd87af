"""Discovery: what a server under test offers, held against what its profile sends.

Typical canonical arguments for each core tool (mutating tools get ids that exist nowhere,
or namespaced names the cleanup ledger removes), and arguments of the wrong type built
from a tool's own input schema.
"""
from __future__ import annotations

from typing import Any

import jsonschema

NO_FLOW = "F.RAPTORSPEC0000"
NO_HUNT = "H.RAPTORSPEC0000"
NO_CLIENT = "C.0000000000000000"


def typical_arguments(tool: str, client_id: str, name: str) -> dict[str, Any]:
    """Canonical arguments an analyst would typically send to ``tool``.

    ``client_id`` is an enrolled client; ``name`` a namespaced label/description the ledger
    can find. Calls that would change a real endpoint or hunt use ids that exist nowhere.
    """
    table: dict[str, dict[str, Any]] = {
        "list_clients": {},
        "get_client_info": {"client_id": client_id},
        "label_client": {"client_id": client_id, "labels": [name], "operation": "add"},
        "quarantine_client": {"client_id": NO_CLIENT},
        "list_artifacts": {"search": "Generic.Client", "limit": 5},
        "get_artifact": {"artifact_name": "Generic.Client.Info"},
        "collect_artifact": {"client_id": client_id, "artifacts": ["Generic.Client.Info"]},
        "create_hunt": {"artifacts": ["Generic.Client.Info"], "description": name},
        "list_hunts": {"limit": 5},
        "get_hunt_results": {"hunt_id": NO_HUNT},
        "modify_hunt": {"hunt_id": NO_HUNT, "action": "stop"},
        "list_flows": {"client_id": client_id, "limit": 5},
        "get_flow_results": {"client_id": client_id, "flow_id": NO_FLOW, "artifact": "Generic.Client.Info"},
        "get_flow_status": {"client_id": client_id, "flow_id": NO_FLOW},
        "cancel_flow": {"client_id": client_id, "flow_id": NO_FLOW},
        "run_vql": {"query": "SELECT * FROM info()"},
        "vql_help": {},
    }
    if tool not in table:
        raise KeyError(f"no typical arguments for {tool!r}: add them to support/discovery.py")
    return table[tool]


def schema_problems(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """Every way ``arguments`` break the tool's JSON input schema (empty when they fit)."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in validator.iter_errors(arguments)]


_WRONG = {"string": 12345, "integer": "not-a-number", "number": "not-a-number", "boolean": {"not": "a boolean"},
          "array": 12345, "object": 12345}


def wrong_type_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments giving every property of the schema a value of a type it does not allow.

    Properties are all sent (required or not), each with a value none of its allowed types
    takes; a schema with no properties gets one unexpected property.
    """
    props = schema.get("properties") or {}
    if not props:
        return {"raptorspec_unexpected": 12345}
    out: dict[str, Any] = {}
    for key, spec in props.items():
        allowed = _types(spec)
        out[key] = next((v for t, v in _WRONG.items() if t not in allowed and _fits_none(v, allowed)), 12345)
    return out


def _types(spec: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    t = spec.get("type")
    if isinstance(t, str):
        found.add(t)
    elif isinstance(t, list):
        found.update(t)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in spec.get(key) or []:
            found |= _types(sub)
    if "$ref" in spec or not found:
        found.add("object")  # a referenced model: an object
    if "integer" in found:
        found.add("number")
    return found


def _fits_none(value: Any, allowed: set[str]) -> bool:
    kinds = {bool: "boolean", int: "integer", str: "string", dict: "object", list: "array"}
    kind = kinds[type(value)]
    return kind not in allowed and not (kind == "integer" and "number" in allowed)


def timed_call(ledger: Any, sut: Any, tool: str, arguments: dict[str, Any]) -> Any:
    """Call ``tool`` through the ledger and make sure the Result says how long it took
    (a JSON-RPC error reply carries no timing of its own)."""
    import time

    start = time.monotonic()
    result = ledger.calling(sut, tool, **arguments)
    result.raw = dict(result.raw or {})
    result.raw.setdefault("seconds", round(time.monotonic() - start, 3))
    return result
