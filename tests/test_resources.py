"""support/resources.py reads resource pages by content: its rules and edge cases."""
from __future__ import annotations

import pytest

from support import resources


def test_records_are_found_anywhere_but_never_inside_a_record():
    page = {"type": "artifact_list", "artifacts": [{"name": "A", "parameters": [{"name": "p"}]}, {"name": "B"}]}
    assert [r["name"] for r in resources.records(page, "name")] == ["A", "B"]
    assert resources.records([{"client": {"client_id": "C.1"}}], "client_id") == [{"client_id": "C.1"}]
    assert resources.records("text", "name") == [] and resources.records(None, "name") == []


def test_a_value_is_found_whole_and_case_insensitive():
    assert resources.has_value({"os": {"system": "Linux"}}, "linux")
    assert not resources.has_value({"os": "linux-ish"}, "linux")
    assert not resources.has_value({}, "linux")


def test_the_version_must_be_in_a_version_field_and_exact():
    assert resources.gives_version({"server_version": "v0.77.2"}, "0.77.2")
    assert resources.gives_version({"info": {"Version": "Velociraptor 0.77.2"}}, "0.77.2")
    assert not resources.gives_version({"version": "0.77.20"}, "0.77.2")
    assert not resources.gives_version({"note": "0.77.2"}, "0.77.2")  # not a version field
    assert not resources.gives_version({"version": "unknown"}, "")


@pytest.mark.parametrize("error", ["Hunt H.1 not found", "no such client", "Deployment does not exist",
                                   "unknown hunt H.1", "Client ID C.1 not known in this org"])
def test_not_found_in_a_servers_words(error):
    assert resources.says_not_found(error)


@pytest.mark.parametrize("error", [None, "", "grpc status UNKNOWN: connection reset", "failed", "unknown"])
def test_other_errors_do_not_say_not_found(error):
    assert not resources.says_not_found(error)


def test_pages_and_item_pages_are_the_contracts_uris():
    from support import contract
    from support.sut.profiles import match_template

    uris = list(resources.PAGES.values()) + [resources.item_uri(kind, "X.1") for kind in resources.ITEM_PAGES]
    for uri in uris:
        assert any(match_template(t, uri) is not None for t in contract.RESOURCES), uri
    assert resources.item_uri("results page of hunt", "H.1") == "velociraptor://hunts/H.1/results"
    with pytest.raises(AssertionError, match="no page of a 'flow'"):
        resources.item_uri("flow", "F.1")


def test_first_takes_the_first_key_present():
    assert resources.first({"description": "d", "hunt_description": "h"}, "hunt_description", "description") == "h"
    assert resources.first({}, "a") is None


def test_artifact_types_compare_without_case_and_name_what_is_missing():
    catalog = {"A": {"type": "client"}, "B": {"type": "client"}, "C": {"type": "server"}}
    page = [{"name": "A", "type": "CLIENT"}, {"name": "C", "type": "SERVER"}]
    problems = resources.type_problems(page, catalog, "client")
    assert len(problems) == 1 and "['B']" in problems[0]
    assert resources.type_problems(page, catalog, "server") == []
    assert "typed 'client'" in resources.type_problems([{"name": "C", "type": "client"}], catalog, "server")[0]
    assert "no artifact of type" in resources.type_problems(page, catalog, "notebook")[0]


def test_a_record_is_found_by_its_key_and_value():
    data = {"clients": [{"client_id": "C.1", "labels": ["x"]}, {"client_id": "C.2"}]}
    assert resources.record_of(data, "client_id", "C.2") == {"client_id": "C.2"}
    assert resources.record_of(data, "client_id", "C.3") is None
