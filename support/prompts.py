"""Prompts as the features name them, their required arguments (the contract's), neutral
sample values, and the artifact names a prompt's text recommends.

Prompts are templated text and never contact Velociraptor; what they *name* can still be
held to it: the artifacts they send an analyst to must exist in the Velociraptor at hand.
(PYTEST_DONT_REWRITE: the asserts here carry their own messages.)
"""
from __future__ import annotations

import re
from typing import Any

from support import contract

#: The analyst's words for each prompt -> its canonical name (../shared/contracts/).
NAMES = {
    "endpoint investigation": "investigate_endpoint",
    "threat hunt": "threat_hunt",
    "incident triage": "triage_incident",
    "malware analysis": "malware_analysis",
    "lateral movement": "lateral_movement",
    "rapid IR deployment": "rapid_ir_deployment",
    "deploy and triage": "deploy_and_triage",
    "offline collection kit": "offline_collection_kit",
}

#: Required arguments per the contract (those without a default).
REQUIRED = contract.PROMPT_ARGUMENTS

#: Neutral values for the arguments a scenario does not care about.
SAMPLES = {
    "client_id": "C.1234567890abcdef", "indicators": "evil.example.com", "target": "/tmp/dropper",
    "scope": "all", "target_count": "25", "environment": "linux", "incident_type": "intrusion",
    "affected_systems": "web01", "target_os": "linux",
}

ALWAYS_CATEGORIES = ("Windows", "Linux", "MacOS", "Generic", "Server")


def canonical(words: str) -> str:
    """The canonical prompt name for the analyst's words ("threat hunt" -> "threat_hunt");
    AssertionError naming the known words otherwise."""
    try:
        return NAMES[words]
    except KeyError:
        raise AssertionError(f"no prompt called {words!r} in the spec's words; known: {', '.join(NAMES)}") from None


def without(name: str, argument: str) -> dict[str, str]:
    """The prompt's required arguments, minus ``argument``, filled with sample values."""
    assert argument in REQUIRED[name], f"{argument!r} is not a required argument of {name}: {REQUIRED[name]}"
    return {a: SAMPLES[a] for a in REQUIRED[name] if a != argument}


def recommended_artifacts(text: str, categories: set[str]) -> list[str]:
    """Artifact names in ``text`` (``Category.Part.Name`` with a known first part), in order, once each."""
    heads = "|".join(sorted(map(re.escape, categories | set(ALWAYS_CATEGORIES))))
    found = re.findall(rf"\b(?:{heads})(?:\.[A-Za-z0-9_]+)+", text)
    return list(dict.fromkeys(found))


def artifact_names(oracle: Any) -> set[str]:
    """The names of every artifact in the Velociraptor at hand."""
    return oracle.artifact_names()


def table_arguments(datatable: list[list[str]]) -> dict[str, str]:
    """A step's ``| argument | value |`` table as {argument: value}, the header row (if any) left out."""
    rows = [r for r in datatable if [c.strip().lower() for c in r] != ["argument", "value"]]
    return {r[0].strip(): r[1].strip() for r in rows}
