"""Quarantine, as Velociraptor does it, and the guard that keeps this machine's network safe.

Velociraptor quarantines an endpoint by collecting the quarantine artifact of the endpoint's
own OS and tagging the client with the label ``Quarantine`` (its client-monitoring service
keys the quarantine monitor on that label); lifting it runs the same artifact with
``RemovePolicy`` set, and takes the label off.

Run for real (root, nft present), Linux.Remediation.Quarantine installs DROP policies that
also cut loopback, and probes an external URL. So: a scenario only runs against a client that
cannot apply it (:func:`why_unsafe`), and a quarantine the suite sets up itself passes
:data:`SAFE_PARAMETERS` (no nft binary, a forbidden-URL check on 127.0.0.1), which end the
collection at its first check ("nftables is not installed").
"""
from __future__ import annotations

import os
from typing import Any

from support import clients, flows
from support.errors import VQLError

LABEL = "Quarantine"
ARTIFACTS = {"linux": "Linux.Remediation.Quarantine", "windows": "Windows.Remediation.Quarantine",
             "darwin": "MacOS.Remediation.Quarantine"}
SAFE_PARAMETERS = {"pathToNFT": "/nonexistent/raptorspec-nft", "ForbiddenTestURL": "http://127.0.0.1:9/"}
_TRUE = {"y", "yes", "true", "t", "1"}


def why_unsafe(lab: Any) -> str | None:
    """None when the lab's clients cannot apply a real quarantine; else why they could."""
    mode = getattr(lab, "mode", "")
    if mode == "embedded":
        if getattr(lab, "client_user", None) or os.geteuid() != 0:
            return None
        return ("the embedded lab's client runs as root: a real quarantine sent by the server under test "
                "would cut this machine's network (run the suite as root so clients run as 'nobody')")
    if mode == "docker":
        return None  # docker-compose.test.yml: the client has no capabilities and no nft
    # external: reached only with --allow-destructive (support.plugin skips @destructive otherwise)
    return None


def artifacts_of(flow: dict[str, Any]) -> list[str]:
    """The artifacts a flow's request collects."""
    return flows.artifacts(flow)


def parameters_of(flow: dict[str, Any], artifact: str) -> dict[str, str]:
    """The parameters a flow's request passed to ``artifact``."""
    return flows.parameters(flow, artifact)


def removes_policy(flow: dict[str, Any], artifact: str) -> bool:
    """Whether the flow ran ``artifact`` with RemovePolicy set (y, yes, true, t, 1): a lift."""
    return parameters_of(flow, artifact).get("RemovePolicy", "").strip().lower() in _TRUE


def lab_clients(lab: Any, oracle: Any) -> list[str]:
    """The client ids of the lab: its enrolled clients, or on a lab that names none (external),
    every client Velociraptor lists."""
    return list(getattr(lab, "client_ids", None) or []) or [c["client_id"] for c in oracle.clients()]


def new_flows(oracle: Any, client_id: str, before: set[str]) -> list[dict[str, Any]]:
    """The client's flows that are not in ``before``, once each (flows() may repeat a flow)."""
    seen: dict[str, dict[str, Any]] = {}
    for f in oracle.flows(client_id):
        if f.get("session_id") not in before:
            seen.setdefault(f.get("session_id"), f)
    return list(seen.values())


def flows_of(oracle: Any, client_id: str) -> list[dict[str, Any]]:
    """The client's flows; none when Velociraptor knows no such client (flows() then errors)."""
    try:
        return oracle.flows(client_id)
    except VQLError as exc:
        if any(line.rstrip().endswith("NotFoundError") for line in exc.lines):  # utils.NotFoundError
            return []
        raise


def describe(rows: list[dict[str, Any]]) -> str:
    """Flows in one line: ``F.X ['Artifact'] STATE, …`` ("none" for no flow)."""
    return ", ".join(f"{flows.flow_id(f)} {flows.artifacts(f)} {flows.state(f)}" for f in rows) or "none"


def quarantine_safely(oracle: Any, client_id: str, os_name: str) -> str:
    """Start the OS's quarantine with parameters that cannot touch the network; return the flow id."""
    return oracle.collect(client_id, [ARTIFACTS[os_name]], SAFE_PARAMETERS, timeout=60)


def set_label(oracle: Any, client_id: str, op: str) -> None:
    """Put the Quarantine label on the client (``op="set"``) or take it off (``"remove"``)."""
    oracle.label(client_id, [LABEL], op)


def has_label(oracle: Any, client_id: str) -> bool:
    """Whether Velociraptor shows the client labelled Quarantine."""
    return clients.has_label(oracle.client(client_id), LABEL)
