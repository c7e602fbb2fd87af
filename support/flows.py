"""Facts of a flows() row, read the one way the suite reads them.

Velociraptor 0.77.2's flows() row: ``session_id`` (the flow id), ``state`` (RUNNING, WAITING,
IN_PROGRESS, UNRESPONSIVE, FINISHED, ERROR — :data:`support.oracle.FLOW_STATES`), ``status``
(the error or cancel message), ``request{artifacts, specs[{artifact, parameters{env[{key,
value}]}}], creator}``, ``total_collected_rows``. Steps ask these functions, never the row's shape.
"""
from __future__ import annotations

from typing import Any

from support.oracle import FLOW_DONE, FLOW_STATES  # noqa: F401 (re-exported)

#: A collection that runs until cancelled (the client sleeps; nothing on the host changes):
#: (artifact, its parameters).
SLEEPER = ("Generic.Client.VQL", {"Command": "SELECT sleep(time=600) AS Slept FROM scope()"})


def flow_id(row: dict[str, Any]) -> str:
    return str(row.get("session_id") or "")


def state(row: dict[str, Any] | None) -> str:
    """The flow's state ("" when there is no such flow)."""
    return str((row or {}).get("state") or "")


def status(row: dict[str, Any] | None) -> str:
    """The flow's status message ("" when none)."""
    return str((row or {}).get("status") or "")


def done(row: dict[str, Any] | None) -> bool:
    """Whether the flow is in a state that will not change again (FINISHED or ERROR)."""
    return state(row) in FLOW_DONE


def cancelled(row: dict[str, Any] | None) -> bool:
    """Whether Velociraptor shows the flow cancelled: ERROR with a status naming the cancel."""
    return state(row) == "ERROR" and "cancel" in status(row).lower()


def artifacts(row: dict[str, Any] | None) -> list[str]:
    """The artifacts the flow's request collects."""
    return list(((row or {}).get("request") or {}).get("artifacts") or [])


def creator(row: dict[str, Any] | None) -> Any:
    """The API user that started the flow."""
    return ((row or {}).get("request") or {}).get("creator")


def parameters(row: dict[str, Any] | None, artifact: str | None = None) -> dict[str, str]:
    """The parameters the flow's request passed (to ``artifact`` only, when given), as text."""
    out: dict[str, str] = {}
    for spec in ((row or {}).get("request") or {}).get("specs") or []:
        if artifact is None or spec.get("artifact") == artifact:
            out.update({e.get("key"): str(e.get("value")) for e in (spec.get("parameters") or {}).get("env") or []})
    return out


def total_rows(row: dict[str, Any] | None) -> int:
    """The number of rows Velociraptor counts for the flow."""
    return int((row or {}).get("total_collected_rows") or 0)


def states(rows: list[dict[str, Any]]) -> dict[str, str]:
    """flow id -> state for flows() rows."""
    return {flow_id(r): state(r) for r in rows}


def summary(row: dict[str, Any] | None) -> dict[str, str]:
    """{state, status}: what a message shows of a flow."""
    return {"state": state(row), "status": status(row)}


# -- making flows in numbers and states (issue 10 §3, §4) -------------------------------


def start_sleeper(oracle: Any, ledger: Any, client_id: str) -> str:
    """Start :data:`SLEEPER` on the client (recorded in ``ledger``); return its flow id."""
    artifact, params = SLEEPER
    flow_id = oracle.collect(client_id, [artifact], params, timeout=900)
    ledger.flow(client_id, flow_id, "a Given")
    return flow_id


def cancel_and_wait(oracle: Any, client_id: str, flow_id: str, *, lab: Any = None, timeout: float = 30) -> str:
    """Cancel the flow in Velociraptor and wait (bounded) until flows() shows it ERROR; return its id."""
    from support import waits

    oracle.cancel_flow(client_id, flow_id)
    waits.wait_for(lambda: (state(r := oracle.flow(client_id, flow_id)) == "ERROR", summary(r)),
                   f"Velociraptor to show {flow_id} cancelled", timeout, alive=getattr(lab, "alive", None))
    return flow_id


def finished_collections(oracle: Any, ledger: Any, client_id: str, artifact: str, n: int, *, lab: Any = None,
                         timeout: float = 120) -> list[str]:
    """Start ``n`` collections of ``artifact`` at once (recorded in ``ledger``), wait until each is FINISHED;
    return their flow ids in the order started."""
    from support import waits

    started = []
    for _ in range(n):
        flow_id = oracle.collect(client_id, [artifact])
        ledger.flow(client_id, flow_id, "a Given")
        started.append(flow_id)
    for flow_id in started:
        row = waits.wait_flow_done(oracle, client_id, flow_id, timeout, lab=lab)
        assert state(row) == "FINISHED", f"The Given's collection {flow_id} ended {summary(row)}"
    return started


def same_host_other(targets: list[Any], client: Any) -> Any:
    """Another enrolled target with ``client``'s hostname (``support.targets.Target``), or None."""
    return next((t for t in targets if t.client_id != client.client_id and t.hostname == client.hostname), None)
