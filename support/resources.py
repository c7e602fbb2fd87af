"""Reading a resource page the way an analyst would: find the records on it, whatever its shape.

Servers lay resource bodies out differently (``{"type": "client_list", "clients": [...]}``,
a bare list, a record under ``"client"``…). The checks here look for *records* — objects
that carry an identifying key such as ``client_id`` — anywhere in the body, and for values
anywhere in a record, so that a page is held to its content, not to one server's layout.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

#: The fixed pages an analyst browses, by the words the features use.
PAGES = {
    "client list": "velociraptor://clients",
    "hunt list": "velociraptor://hunts",
    "artifact catalogue": "velociraptor://artifacts",
    "server information": "velociraptor://server-info",
    "deployment list": "velociraptor://deployments",
}

#: The pages of one thing, by the words the features use: (URI template, its variable).
ITEM_PAGES = {
    "client": "velociraptor://clients/{}",
    "hunt": "velociraptor://hunts/{}",
    "results page of hunt": "velociraptor://hunts/{}/results",
    "artifact": "velociraptor://artifacts/{}",
    "deployment": "velociraptor://deployments/{}",
}

def item_uri(kind: str, ident: str) -> str:
    """The canonical URI of one thing's page: ``kind`` in :data:`ITEM_PAGES` ("client",
    "hunt", "results page of hunt", "artifact", "deployment"); AssertionError otherwise."""
    try:
        return ITEM_PAGES[kind].format(ident)
    except KeyError:
        raise AssertionError(f"no page of a {kind!r} in the spec's words; known: {', '.join(ITEM_PAGES)}") from None


#: How a server says "not found". A bare "unknown" is not enough: gRPC's status UNKNOWN
#: appears in connection errors that say nothing about the thing asked for.
NOT_FOUND = re.compile(r"(?i)\b(not found|no such|does not exist|doesn't exist|not known|"
                       r"unknown (client|hunt|artifact|deployment|flow))\b")


def records(data: Any, key: str) -> list[dict[str, Any]]:
    """Every object in ``data`` that has ``key``; the search does not descend into a record
    once found (an artifact's parameters also have a "name")."""
    return list(_walk(data, key, 0))


def _walk(data: Any, key: str, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 8:
        return
    if isinstance(data, dict):
        if key in data:
            yield data
            return
        for value in data.values():
            yield from _walk(value, key, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value, key, depth + 1)


def values(data: Any, depth: int = 0) -> Iterator[str]:
    """Every scalar in ``data``, as text."""
    if depth > 8:
        return
    if isinstance(data, dict):
        for v in data.values():
            yield from values(v, depth + 1)
    elif isinstance(data, list):
        for v in data:
            yield from values(v, depth + 1)
    elif data is not None:
        yield str(data)


def versions(data: Any, depth: int = 0) -> Iterator[str]:
    """Every scalar filed under a key that names a version ("version", "server_version"…)."""
    if depth > 8:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            if "version" in str(k).lower() and not isinstance(v, (dict, list)) and v is not None:
                yield str(v)
            else:
                yield from versions(v, depth + 1)
    elif isinstance(data, list):
        for v in data:
            yield from versions(v, depth + 1)


def gives_version(data: Any, version: str) -> bool:
    """True when a version field of ``data`` holds ``version`` ("0.77.2", "v0.77.2", "Velociraptor 0.77.2")."""
    exact = re.compile(rf"(?<![\d.]){re.escape(version)}(?![\d.])")
    return bool(version) and any(exact.search(v) for v in versions(data))


def has_value(data: Any, wanted: str) -> bool:
    """True when some scalar in ``data`` equals ``wanted`` (case-insensitive)."""
    wanted = str(wanted).lower()
    return any(v.lower() == wanted for v in values(data))


def first(record: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` the record has (servers name the same field differently)."""
    return next((record[k] for k in keys if k in record), None)


def velociraptor_version(oracle: Any) -> str:
    """The server's version as Velociraptor reports it (:meth:`support.oracle.Oracle.version`)."""
    return oracle.version()


def says_not_found(error: str | None) -> bool:
    """Whether a server's error text says the thing asked for is not found (:data:`NOT_FOUND`)."""
    return bool(NOT_FOUND.search(str(error or "")))


# -- types and re-reads (issue 10 §3, §6) ------------------------------------------------


def type_problems(page_records: list[dict[str, Any]], catalog: dict[str, dict[str, Any]], kind: str) -> list[str]:
    """Every artifact Velociraptor types ``kind`` (``catalog``: :meth:`support.oracle.Oracle.artifact_catalog`)
    that the page leaves out or types otherwise (case-insensitive), one sentence each; a
    sentence too when Velociraptor has no artifact of that type (nothing to check)."""
    want = {n for n, row in catalog.items() if str(row.get("type") or "").lower() == kind.lower()}
    if not want:
        return [f"Velociraptor has no artifact of type {kind!r}: nothing to check"]
    on_page = {str(r.get("name")): str(first(r, "type", "artifact_type", "Type") or "") for r in page_records}
    missing = sorted(want - set(on_page))
    wrong = sorted(f"{n} typed {on_page[n]!r}" for n in want & set(on_page) if on_page[n].lower() != kind.lower())
    out = []
    if missing:
        out.append(f"{len(missing)} of Velociraptor's {len(want)} {kind} artifacts are not on the page: {missing[:8]}")
    if wrong:
        out.append(f"{len(wrong)} {kind} artifacts typed otherwise: {wrong[:8]}")
    return out


def record_of(data: Any, key: str, ident: str) -> dict[str, Any] | None:
    """The record on a page whose ``key`` is ``ident`` (None when the page has none)."""
    return next((r for r in records(data, key) if str(r.get(key)) == ident), None)
