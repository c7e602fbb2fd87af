"""Facts of a clients() row, read the one way the suite reads them.

Velociraptor 0.77.2's clients() row: ``client_id``, ``os_info{system, hostname, release,
fqdn…}`` (empty until the interrogation flow finishes), ``labels``, ``first_seen_at``
(seconds), ``last_seen_at`` (microseconds). Steps ask these functions, never the row's shape.
"""
from __future__ import annotations

from typing import Any

#: The names a server under test may give each client fact, lower-cased, best first.
FIELD_NAMES = {"hostname": ("hostname", "host", "fqdn", "name"),
               "os": ("os", "system", "platform", "os_info", "operating_system")}


def hostname(row: dict[str, Any] | None) -> str:
    """The client's hostname (``os_info.hostname``; "" when not interrogated yet)."""
    return str(((row or {}).get("os_info") or {}).get("hostname") or "")


def os_name(row: dict[str, Any] | None) -> str:
    """The client's OS as Velociraptor names it (``os_info.system``: linux, windows, darwin)."""
    return str(((row or {}).get("os_info") or {}).get("system") or "")


def labels(row: dict[str, Any] | None) -> list[str]:
    """The labels Velociraptor shows on the client, as it stores them."""
    return [str(label) for label in (row or {}).get("labels") or []]


def has_label(row: dict[str, Any] | None, label: str) -> bool:
    """Whether the client carries ``label`` (Velociraptor compares labels case-insensitively)."""
    return label.lower() in {x.lower() for x in labels(row)}


def facts(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """client id -> {"hostname": …, "os": …} for each clients() row."""
    return {r["client_id"]: {"hostname": hostname(r), "os": os_name(r)} for r in rows}


def ids(rows: list[dict[str, Any]], *, label: str | None = None) -> list[str]:
    """The client ids of clients() rows, sorted; only those carrying ``label`` when given."""
    return sorted(r["client_id"] for r in rows if label is None or has_label(r, label))


def enrolled(row: dict[str, Any] | None) -> bool:
    """Whether a client ever enrolled (a bare record, made e.g. by labelling an unknown id, never did)."""
    return bool(row) and bool(row.get("first_seen_at") or row.get("last_seen_at"))
