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


# -- bounded and concurrent calls (issue 10 §8) -----------------------------------------


def timed_raw(sut: Any, tool: str, arguments: dict[str, Any], deadline: float) -> Any:
    """Call the canonical ``tool`` with the call's own ``deadline`` (seconds); return a Result
    whose ``raw["seconds"]`` is the time taken. No answer within the deadline is a not-ok
    Result with ``raw["timed_out"]`` (the session stopped the process; the next scenario
    gets a fresh one)."""
    import time

    from support.errors import SutTimeout
    from support.sut.base import Result
    from support.sut.session import SutProtocolError

    sut_tool, mapped = sut.profile.map_call(tool, arguments)
    start = time.monotonic()
    try:
        reply = sut.session.call_tool(sut_tool, mapped, timeout=deadline)
        result = sut.profile.read_reply(tool, reply, sut_tool)
    except SutTimeout:
        return Result(ok=False, error=f"no answer within {deadline:g} s", tool=sut_tool,
                      raw={"timed_out": True, "seconds": round(time.monotonic() - start, 3)})
    except SutProtocolError as exc:
        result = Result(ok=False, error=exc.message, tool=sut_tool, raw={"code": exc.code})
    result.raw = dict(result.raw or {})
    result.raw["seconds"] = round(time.monotonic() - start, 3)
    return result


#: What concurrent calls need of support/sut/session.py, said when it lacks it.
NOT_CONCURRENT = ("support/sut/session.py serialises every request of one session (one RLock held around "
                  "SutSession._request for the whole wait), so a second call cannot be sent while one is "
                  "pending; concurrent calls need the lock held only while submitting to the session's loop, "
                  "and the session to declare it with a class attribute concurrent_calls = True")


def concurrent_capable(session: Any) -> bool:
    """Whether the session lets two requests be pending at once (it declares ``concurrent_calls``)."""
    return bool(getattr(session, "concurrent_calls", False))


def side_by_side(sut: Any, slow: tuple[str, dict[str, Any]], quick: tuple[str, dict[str, Any]], *,
                 slow_deadline: float, quick_deadline: float) -> dict[str, Any]:
    """Send the ``slow`` canonical call, then — once it is pending — the ``quick`` one, from two threads;
    return ``{"slow": Result, "quick": Result, "quick_done_first": bool}``. Each Result has
    ``raw["seconds"]``. Needs :func:`concurrent_capable` (the step skips, naming :data:`NOT_CONCURRENT`)."""
    import threading
    import time

    results: dict[str, Any] = {}
    order: list[str] = []

    def run(key: str, call: tuple[str, dict[str, Any]], deadline: float) -> None:
        results[key] = timed_raw(sut, call[0], call[1], deadline)
        order.append(key)

    slow_thread = threading.Thread(target=run, args=("slow", slow, slow_deadline), daemon=True)
    slow_thread.start()
    from support import waits

    waits.wait_for(lambda: (bool(getattr(sut.session, "pending", lambda: 1)()), None),
                   "the slow call to be pending", 5, 0.05)
    start = time.monotonic()
    run("quick", quick, quick_deadline)
    results["quick"].raw["seconds"] = round(time.monotonic() - start, 3)
    slow_thread.join(slow_deadline + 5)
    results["quick_done_first"] = bool(order) and order[0] == "quick"
    return results
