"""Artifacts as Velociraptor defines them, for the artifact Thens.

The catalogue (:meth:`support.oracle.Oracle.artifact_catalog`) maps each artifact name to
{name, description, type ("client", "server", "notebook" — lower case in 0.77.2's
artifact_definitions()), parameters (names), sources (names)}. Steps ask these functions.
"""
from __future__ import annotations

from typing import Any, Iterable

#: The artifact types an analyst names, as the contract's list_artifacts takes them.
TYPES = {"client": "CLIENT", "server": "SERVER", "notebook": "NOTEBOOK"}
#: The parts of a definition a Then can ask for.
PARTS = ("parameters", "sources")


def contract_type(kind: str) -> str:
    """The contract's artifact_type for the analyst's word (client -> CLIENT); AssertionError
    naming the known words otherwise."""
    try:
        return TYPES[kind]
    except KeyError:
        raise AssertionError(f"no artifact type {kind!r} in the spec's words; known: {', '.join(TYPES)}") from None


def without_text(catalog: dict[str, Any], names: Iterable[str], text: str) -> list[str]:
    """The names (of those given) that Velociraptor does not know, or whose name and description
    lack ``text`` (case-insensitive)."""
    out = []
    for name in names:
        d = catalog.get(name)
        if not d or text.lower() not in (name + str(d.get("description"))).lower():
            out.append(name)
    return out


def types(catalog: dict[str, Any], names: Iterable[str]) -> dict[str, str | None]:
    """name -> the type Velociraptor gives it (None when it knows no such artifact)."""
    return {n: (catalog.get(n) or {}).get("type") for n in names}


def defined(catalog: dict[str, Any], name: str, part: str) -> set[str]:
    """The artifact's name and the names of its ``part`` ("parameters" or "sources") as
    Velociraptor defines them (unnamed sources left out)."""
    if part not in PARTS:
        raise AssertionError(f"a definition has no {part!r} in the spec's words; known: {', '.join(PARTS)}")
    return {name} | {p for p in (catalog[name].get(part) or []) if p}


def description_and_parameters(definition: dict[str, Any] | None) -> tuple[str, list[str]]:
    """(description, sorted parameter names) of an artifact definition — Velociraptor's
    (``parameters`` a list of {name, …}) or a page's record of the same shape."""
    d = definition or {}
    params = sorted(p.get("name") for p in d.get("parameters") or [] if isinstance(p, dict))
    return str(d.get("description")).strip(), params
