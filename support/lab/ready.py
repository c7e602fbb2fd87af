"""When a lab is ready: the server answers, and every client is enrolled and interrogated.

Shared by the embedded and docker labs (the external lab is ready when its API answers).
Every wait goes through :func:`support.waits.wait_for`, so a timeout says what it awaited,
for how long and what it last saw, and a lab process that dies ends the wait at once.
"""
from __future__ import annotations

import ssl
import urllib.request
from typing import Any, Callable

from support import waits
from support.errors import OracleError
from support.lab.base import Lab, warn
from support.oracle import Oracle


def healthz(port: int, ca_pem: str, timeout: float = 3.0) -> tuple[bool, str]:
    """GET https://127.0.0.1:<port>/healthz with the lab's CA (the cert names VelociraptorServer).

    Returns ``(answered 200, what was seen)``. Velociraptor answers 200 once its frontend
    marked itself healthy (server/comms.go ``healthz`` reads ``Server.Healthy``, set in
    api/builder.go when the comms listener starts).
    """
    ctx = ssl.create_default_context(cadata=ca_pem)
    ctx.check_hostname = False
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=timeout) as resp:
            return resp.status == 200, f"HTTP {resp.status}"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"


def wait_server_ready(lab: Lab, port: int, ca_pem: str, oracle_factory: Callable[[], Oracle], timeout: float) -> None:
    """Ready = /healthz answers 200, then ``info()`` answers over gRPC (each within ``timeout`` s).

    Raises :class:`support.errors.WaitTimeout` / ``WaitAborted`` (the frontend died) with
    the lab's log tails attached.
    """
    waits.wait_for(lambda: healthz(port, ca_pem), f"Velociraptor /healthz on 127.0.0.1:{port} to answer 200",
                   timeout, 0.3, alive=lab.alive, logs=lab.logs,
                   hint="see the frontend log below; a port taken by another program shows as a bind error")

    def info() -> tuple[bool, Any]:
        with oracle_factory() as o:
            row = o.info()
            return bool(row), row

    waits.wait_for(info, "the gRPC API to answer info()", timeout, 0.5, alive=lab.alive, logs=lab.logs,
                   transient=(ConnectionError, TimeoutError, OSError))


INTERROGATION_ARTIFACT = "Generic.Client.Info"


def describe_interrogation(oracle: Oracle, row: dict[str, Any]) -> str:
    """Why a client listed by ``clients()`` has no os_info yet, from its record and its flow.

    e.g. ``"no interrogation flow recorded"`` or ``"interrogation flow F.X (Generic.Client.Info)
    is RUNNING"``. Velociraptor records the flow it scheduled at enrollment in
    ``last_interrogate_flow_id`` (services/interrogation/interrogation.go, ProcessEnrollment).
    """
    flow_id = row.get("last_interrogate_flow_id") or ""
    if not flow_id:
        return "no interrogation flow recorded"
    flow = oracle.flow(row["client_id"], flow_id) or {}
    artifacts = ",".join((flow.get("request") or {}).get("artifacts") or []) or row.get(
        "last_interrogate_artifact_name") or "?"
    return f"interrogation flow {flow_id} ({artifacts}) is {flow.get('state') or 'unknown to flows()'}"


def wait_enrolled(oracle: Oracle, count: int, lab: Lab, timeout: float, *, hint: str = "",
                  reinterrogate_after: float | None = 15.0, clock: waits.Clock | None = None) -> list[str]:
    """Enrolled = ``count`` clients are in ``clients()`` with their os_info filled (interrogated).

    Returns the sorted client ids. Velociraptor fills os_info from the results of ONE
    Generic.Client.Info collection that it schedules by itself, exactly once, when a client
    first enrolls (services/interrogation/interrogation.go: "Interrogation happens
    automatically only once"; a failure there is only logged at DEBUG level). When that one
    flow does not deliver, the client stays "not interrogated" for ever. So a client that is
    listed without os_info for ``reinterrogate_after`` seconds is interrogated again, once,
    by collecting Generic.Client.Info through the API (what the GUI's "Interrogate" button
    does); the interrogation service fills os_info from ANY finished collection of
    ``Generic.Client.Info/BasicInformation`` (same file, ``Start``). ``None`` disables this.
    The client ids so re-interrogated are in ``lab.reinterrogated`` when the lab has one.

    Raises :class:`support.errors.WaitTimeout` naming each client seen and the state of its
    interrogation flow, with ``hint`` and the lab's log tails. ``clock``: for tests.
    """
    clock = clock or waits.Clock()
    first_seen: dict[str, float] = {}
    asked: list[str] = getattr(lab, "reinterrogated", [])

    def check() -> tuple[bool, Any]:
        rows = oracle.clients()
        ready = sorted(r["client_id"] for r in rows if (r.get("os_info") or {}).get("system"))
        if len(ready) >= count:
            return True, ready
        seen = []
        for r in rows:
            cid = r["client_id"]
            system = (r.get("os_info") or {}).get("system")
            if system:
                seen.append((cid, system))
                continue
            first_seen.setdefault(cid, clock.now())
            state = describe_interrogation(oracle, r)
            if (reinterrogate_after is not None and cid not in asked
                    and clock.now() - first_seen[cid] >= reinterrogate_after):
                asked.append(cid)
                try:
                    flow_id = oracle.collect(cid, [INTERROGATION_ARTIFACT])
                except OracleError as exc:  # the wait goes on; its last-seen says why
                    state += f"; re-interrogation could not be requested: {exc}"
                else:
                    warn(f"client {cid} was not interrogated {reinterrogate_after:g}s after it enrolled ({state}); "
                         f"collecting {INTERROGATION_ARTIFACT} again ({flow_id})")
                    state += f"; re-interrogation {flow_id} requested"
            elif cid in asked:
                state += "; re-interrogated once already"
            seen.append((cid, f"not interrogated yet: {state}"))
        return False, seen

    return waits.wait_for(check, f"{count} client(s) to enroll and be interrogated", timeout, 0.5,
                          alive=lab.alive, logs=lab.logs, clock=clock,
                          hint=hint or "a client that cannot reach the frontend says so in its log (below)")
