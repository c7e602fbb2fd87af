"""Deterministic row comparison, and short descriptions of what each side said.

Rows from the server under test and from Velociraptor are compared on named columns, sorted
by a stable key, after dropping the time-varying fields of :data:`VOLATILE` (the one list
of them). A mismatch message shows the query or source, then a row diff under it.
"""
from __future__ import annotations

import difflib
import json
from typing import Any, Iterable

from support.secrets import mask

#: Fields whose value changes between two reads of the same thing; never compared.
VOLATILE = frozenset({
    "last_seen_at", "last_ip", "active_time", "inflight_time", "RSS", "CPUPercent", "Timestamp",
    "last_interrogate_flow_id", "last_event_table_version", "last_hunt_timestamp", "last_label_timestamp",
    "in_flight_flows", "_ts", "query_stats", "total_logs", "next_response_id", "transactions_outstanding",
})


def _canon(value: Any) -> Any:
    """A JSON value with numbers in one form (a SUT may send "22" where Velociraptor sends 22)."""
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def comparable(rows: Iterable[dict[str, Any]] | None, columns: Iterable[str] | None = None) -> list[str]:
    """Each row as canonical JSON of the named columns (all but volatile ones if None), sorted."""
    out = []
    for row in rows or []:
        if not isinstance(row, dict):
            out.append(json.dumps(_canon(row), sort_keys=True))
            continue
        keep = list(columns) if columns is not None else [k for k in row if k not in VOLATILE]
        out.append(json.dumps({k: _canon(row.get(k)) for k in keep}, sort_keys=True, default=str))
    return sorted(out)


def diff(sut_rows: Any, oracle_rows: Any, columns: Iterable[str] | None = None, *, what: str = "") -> str:
    """Empty when equal; else a unified diff (SUT vs Velociraptor) headed by ``what``."""
    cols = list(columns) if columns is not None else None
    if cols is None:  # compare on the columns both sides name, minus volatile ones
        ours = {k for r in oracle_rows or [] if isinstance(r, dict) for k in r}
        theirs = {k for r in sut_rows or [] if isinstance(r, dict) for k in r}
        cols = sorted((ours & theirs) - VOLATILE) or sorted(ours - VOLATILE)
    a, b = comparable(sut_rows, cols), comparable(oracle_rows, cols)
    if a == b:
        return ""
    lines = difflib.unified_diff(a, b, "server under test", "Velociraptor", lineterm="", n=1)
    body = "\n".join(mask(l)[:400] for l in list(lines)[:60])
    return f"{what}\ncolumns compared: {', '.join(cols)}\n{body}"


def said(reply: Any, limit: int = 500) -> str:
    """What the server under test answered, in one short masked line."""
    if reply is None:
        return "no reply"
    if not reply.ok:
        return f"an error: {mask(str(reply.error))[:limit]!r}"
    n = f"{len(reply.rows)} row(s), " if reply.rows is not None else ""
    text = reply.data if isinstance(reply.data, str) else json.dumps(reply.data, default=str)
    return f"success ({n}{mask(text)[:limit]})"


def strings(obj: Any) -> set[str]:
    """Every scalar inside a JSON-like value, as text (to ask "does the reply say X?")."""
    if isinstance(obj, dict):
        return {s for v in obj.values() for s in strings(v)} | {str(k) for k in obj}
    if isinstance(obj, (list, tuple)):
        return {s for v in obj for s in strings(v)}
    if isinstance(obj, str):
        try:
            parsed = json.loads(obj)
        except ValueError:
            return {obj}
        return {obj} | (strings(parsed) if isinstance(parsed, (dict, list)) else set())
    return set() if obj is None else {str(obj)}


#: The keys a server under test may name an id by, per kind (compared case-insensitively).
ID_KEYS = {"client": ("client_id", "clientid", "id"), "flow": ("flow_id", "flowid", "session_id", "id"),
           "artifact": ("name", "artifact", "artifact_name"), "hunt": ("hunt_id", "huntid", "id")}


def ident(row: Any, kind: str) -> str | None:
    """The id of ``kind`` ("client", "flow", "artifact", "hunt") a reply row names: the row
    itself when it is a string, else the first non-empty string under one of :data:`ID_KEYS`."""
    if isinstance(row, str):
        return row
    if not isinstance(row, dict):
        return None
    low = {str(k).lower(): v for k, v in row.items()}
    return next((low[k] for k in ID_KEYS[kind] if isinstance(low.get(k), str) and low.get(k)), None)


def ids(rows: Any, kind: str) -> list[str]:
    """The client ids / flow ids / artifact names / hunt ids a list of reply rows names, in order."""
    return [found for row in rows or [] if (found := ident(row, kind)) is not None]
