"""Deterministic row comparison, and short descriptions of what each side said.

Rows from the server under test and from Velociraptor are compared on named columns, sorted
by a stable key, after dropping the time-varying fields of :data:`VOLATILE` (the one list
of them). A mismatch message says what differs in the field's words first ("row name `root`:
the server says Uid `1`, Velociraptor says `0`"), then the columns compared and a diff of
the differing rows only.
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


def _show(value: Any, limit: int = 80) -> str:
    """A value as the analyst reads it, in backticks: text bare, other JSON as JSON, cut at ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = mask(text)
    return f"`{text[:limit]}…`" if len(text) > limit else f"`{text}`"


_KEY_PREFERENCE = ("client_id", "flow_id", "session_id", "hunt_id", "HuntId", "ClientId", "name", "Name", "Pid",
                   "Uid", "FullPath", "OSPath")


def row_key(rows: list[dict[str, Any]], columns: list[str]) -> str | None:
    """The column that tells ``rows`` apart (unique, non-empty in every row): an id-like one
    first, else the first such column in ``columns``; None when no column does."""
    def unique(col: str) -> bool:
        values = [json.dumps(_canon(r.get(col)), sort_keys=True) for r in rows]
        return all(r.get(col) not in (None, "") for r in rows) and len(set(values)) == len(values)

    ordered = [c for c in _KEY_PREFERENCE if c in columns] + [c for c in columns if c not in _KEY_PREFERENCE]
    return next((c for c in ordered if rows and unique(c)), None)


def _label(row: dict[str, Any], key: str | None, index: int) -> str:
    return f"row {key} {_show(row.get(key), 40)}" if key else f"row {index + 1}"


def _fields(row: Any, columns: list[str]) -> dict[str, Any]:
    if not isinstance(row, dict):
        return {"(value)": _canon(row)}
    return {c: _canon(row.get(c)) for c in columns}  # a column left out reads as null


def differences(sut_rows: Any, oracle_rows: Any, columns: Iterable[str] | None = None, *,
                limit: int = 8) -> list[str]:
    """What differs between the server's rows and Velociraptor's, one short line each, in the
    field's words: ``row client_id `C.1`: the server says os `debian`, Velociraptor says
    `linux```; a column the server left out; a row one side has and the other lacks.

    Rows are compared on ``columns`` (default: Velociraptor's columns minus :data:`VOLATILE`;
    a column the server drops is a difference unless Velociraptor's value is null there, one
    it adds is not). Equal rows pair up first
    (order never matters); each remaining server row is paired with the Velociraptor row it
    shares most values with. At most ``limit`` lines, then a count of the rest. Empty when
    the rows are equal."""
    truth = [r for r in oracle_rows or []]
    theirs = [r for r in sut_rows or []]
    cols = list(columns) if columns is not None else sorted(
        {k for r in truth if isinstance(r, dict) for k in r} - VOLATILE)
    want = [_fields(r, cols) for r in truth]
    got = [_fields(r, cols) for r in theirs]
    # equal rows first
    unmatched_truth = list(range(len(want)))
    unmatched_got = []
    for gi, g in enumerate(got):
        hit = next((ti for ti in unmatched_truth if want[ti] == g), None)
        if hit is None:
            unmatched_got.append(gi)
        else:
            unmatched_truth.remove(hit)
    key = row_key([r for r in truth if isinstance(r, dict)], cols)
    lines: list[str] = []
    for gi in unmatched_got:
        g = got[gi]
        best = max(unmatched_truth, key=lambda ti: sum(g.get(c) == want[ti].get(c) for c in cols), default=None)
        shared = 0 if best is None else sum(g.get(c) == want[best].get(c) for c in cols)
        if best is None or (shared == 0 and len(cols) > 1):
            lines.append(f"a row Velociraptor does not hold: {_show(theirs[gi], 160)}")
            continue
        unmatched_truth.remove(best)
        where = _label(truth[best], key, best)
        parts = []
        for c in cols:
            if g.get(c) == want[best].get(c):
                continue
            if isinstance(theirs[gi], dict) and c not in theirs[gi]:
                parts.append(f"the server leaves out {c} (Velociraptor says {_show(truth[best].get(c))})")
            else:
                parts.append(f"the server says {c} {_show(theirs[gi].get(c))}, Velociraptor says {_show(truth[best].get(c))}")
        lines.append(f"{where}: " + "; ".join(parts))
    for ti in unmatched_truth:
        lines.append(f"{_label(truth[ti], key, ti)} is missing from the server's answer: {_show(truth[ti], 160)}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"… and {len(lines) - limit} more difference(s)"]
    return lines


def diff(sut_rows: Any, oracle_rows: Any, columns: Iterable[str] | None = None, *, what: str = "") -> str:
    """Empty when the server's rows equal Velociraptor's on ``columns`` (see :func:`differences`
    for the default); else a short statement headed by ``what``, one line per difference in
    the field's words, then the columns compared and a unified diff of the differing rows."""
    cols = list(columns) if columns is not None else sorted(
        {k for r in oracle_rows or [] if isinstance(r, dict) for k in r} - VOLATILE)
    found = differences(sut_rows, oracle_rows, cols)
    if not found:
        return ""
    n_sut, n_truth = len(sut_rows or []), len(oracle_rows or [])
    head = (f"{what}\n" if what else "") + (
        f"The server under test's rows differ from Velociraptor's ({n_sut} row(s) from the server, "
        f"{n_truth} in Velociraptor):")
    a, b = comparable(sut_rows, cols), comparable(oracle_rows, cols)
    only_a = [x for x in a if x not in b]
    only_b = [x for x in b if x not in a]
    body = "\n".join(mask(line)[:400] for line in list(difflib.unified_diff(
        only_a, only_b, "server under test", "Velociraptor", lineterm="", n=0))[:40])
    return "\n".join([head, *(f"  {line}" for line in found), f"columns compared: {', '.join(cols)}",
                      "differing rows:", body])


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


def field_named(row: Any, names: Iterable[str]) -> tuple[str, Any] | None:
    """(key, value) of the first field of ``row`` whose name (case-insensitive) is one of
    ``names``, in the order of ``names``; None when the row has none of them."""
    if not isinstance(row, dict):
        return None
    low = {str(k).lower(): k for k in row}
    return next(((low[n], row[low[n]]) for n in names if n in low), None)


def unlike(row: Any, want: dict[str, str] | None, field_names: dict[str, tuple[str, ...]], who: str) -> str:
    """Empty when every value of ``want`` (fact -> Velociraptor's value) appears somewhere in
    the server's ``row`` (:func:`strings`); else one line in the field's words, e.g.
    ``client C.1: the server says os `debian12.11`, Velociraptor says `linux```. ``field_names``
    gives, per fact, the names a server may file it under (to quote what it said instead)."""
    if want is None:
        return f"{who}: Velociraptor knows no such {who.split()[0]} (the server lists {_show(row, 160)})"
    said_values = strings(row)
    parts = []
    for fact, value in want.items():
        if value in said_values:
            continue
        found = field_named(row, field_names.get(fact, (fact,)))
        server = f"says {fact} {_show(found[1])}" if found else f"gives no {fact}"
        parts.append(f"the server {server}, Velociraptor says {_show(value)}")
    return f"{who}: " + "; ".join(parts) if parts else ""
