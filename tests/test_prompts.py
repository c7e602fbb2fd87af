"""support/prompts.py: the analyst's words for prompts, their required arguments and the
artifact names a prompt's text recommends."""
from __future__ import annotations

import pytest

from support import contract, prompts


def test_every_prompt_has_words_and_only_the_contracts():
    assert sorted(prompts.NAMES.values()) == sorted(contract.PROMPTS)
    assert prompts.canonical("threat hunt") == "threat_hunt"
    with pytest.raises(AssertionError, match="no prompt called 'nope'"):
        prompts.canonical("nope")


def test_without_leaves_out_one_required_argument_and_fills_the_rest():
    assert prompts.without("malware_analysis", "target") == {"client_id": prompts.SAMPLES["client_id"]}
    with pytest.raises(AssertionError, match="not a required argument"):
        prompts.without("threat_hunt", "hunt_type")
    assert set(prompts.SAMPLES) >= {a for args in contract.PROMPT_ARGUMENTS.values() for a in args}


def test_recommended_artifacts_are_found_once_in_order():
    text = "Collect Windows.System.Pslist, then Generic.Client.Info and Windows.System.Pslist again; not foo.bar."
    assert prompts.recommended_artifacts(text, {"Generic"}) == ["Windows.System.Pslist", "Generic.Client.Info"]
    assert prompts.recommended_artifacts("Custom.Thing.Here", {"Custom"}) == ["Custom.Thing.Here"]
    assert prompts.recommended_artifacts("Custom.Thing.Here", set()) == []


def test_a_table_of_arguments_drops_its_header():
    assert prompts.table_arguments([["argument", "value"], ["client_id", " the client "]]) == {"client_id": "the client"}
    assert prompts.table_arguments([["scope", "all"]]) == {"scope": "all"}
