"""support/rows.py decides "rows equal" verdicts: its rules and their edge cases."""
from __future__ import annotations

from support.rows import comparable, diff, differences, ids, ident, row_key, said, strings, unlike
from support.sut.base import Result

TRUTH = [{"name": "root", "Uid": 0, "Shell": "/bin/sh"}, {"name": "bin", "Uid": 1, "Shell": "/bin/false"}]


def test_equal_rows_in_another_order_are_equal():
    assert diff(list(reversed(TRUTH)), TRUTH) == ""


def test_numbers_as_text_equal_numbers():
    assert diff([{"name": "root", "Uid": "0", "Shell": "/bin/sh"}, {"name": "bin", "Uid": "1", "Shell": "/bin/false"}],
                TRUTH) == ""


def test_a_server_that_drops_a_column_does_not_pass():
    dropped = [{"name": "root", "Uid": 0}, {"name": "bin", "Uid": 1}]
    message = diff(dropped, TRUTH, what="query: SELECT * FROM users")
    assert message.startswith("query: SELECT * FROM users\n")
    assert "row name `root`: the server leaves out Shell (Velociraptor says `/bin/sh`)" in message
    assert "columns compared: Shell, Uid, name" in message


def test_a_dropped_column_that_velociraptor_holds_as_null_is_no_difference():
    assert diff([{"a": 1}], [{"a": 1, "b": None}]) == ""


def test_an_extra_column_of_the_server_is_no_difference():
    assert diff([dict(r, Extra="x") for r in TRUTH], TRUTH) == ""


def test_a_changed_value_is_named_per_field_in_the_fields_words():
    changed = [{"name": "root", "Uid": 0, "Shell": "/bin/sh"}, {"name": "bin", "Uid": 2, "Shell": "/bin/false"}]
    assert differences(changed, TRUTH) == ["row name `bin`: the server says Uid `2`, Velociraptor says `1`"]


def test_missing_and_extra_rows_are_named():
    assert differences(TRUTH[:1], TRUTH) == [
        'row name `bin` is missing from the server\'s answer: `{"Shell": "/bin/false", "Uid": 1, "name": "bin"}`']
    extra = TRUTH + [{"name": "x", "Uid": 9, "Shell": "z"}]
    assert differences(extra, TRUTH) == ['a row Velociraptor does not hold: `{"Shell": "z", "Uid": 9, "name": "x"}`']


def test_duplicates_count():
    assert diff(TRUTH + TRUTH[:1], TRUTH) != ""
    assert diff(TRUTH, TRUTH + TRUTH[:1]) != ""


def test_no_rows_against_rows_differs_and_none_against_none_does_not():
    assert diff(None, TRUTH) != "" and diff([], []) == "" and diff(None, None) == ""


def test_volatile_fields_are_never_compared():
    assert diff([{"client_id": "C.1", "last_seen_at": 1}], [{"client_id": "C.1", "last_seen_at": 2}]) == ""


def test_the_message_is_short_and_lists_at_most_a_few_differences():
    many = [{"n": i, "v": i} for i in range(30)]
    lines = differences([{"n": i, "v": i + 1} for i in range(30)], many)
    assert len(lines) == 9 and lines[-1] == "… and 22 more difference(s)"


def test_a_row_key_is_an_id_like_unique_column():
    assert row_key(TRUTH, ["Shell", "Uid", "name"]) == "name"
    assert row_key([{"a": 1}, {"a": 1}], ["a"]) is None


def test_comparable_is_sorted_canonical_json_of_the_columns():
    assert comparable([{"b": 2, "a": "x"}, {"b": 1, "a": "y"}], ["b"]) == ['{"b": "1"}', '{"b": "2"}']


def test_ids_read_whatever_key_a_server_names_them_by():
    assert ids([{"ClientId": "C.1"}, {"client_id": "C.2"}, "C.3", {"other": 1}, None], "client") == ["C.1", "C.2", "C.3"]
    assert ident({"HuntId": "H.1", "state": "RUNNING"}, "hunt") == "H.1"
    assert ids([{"session_id": "F.1"}], "flow") == ["F.1"]


def test_unlike_quotes_what_the_server_said_against_velociraptor():
    names = {"os": ("os", "system"), "hostname": ("hostname",)}
    row = {"client_id": "C.677", "os": "debian12.11", "hostname": "vm"}
    assert unlike(row, {"hostname": "vm", "os": "linux"}, names, "client C.677") == (
        "client C.677: the server says os `debian12.11`, Velociraptor says `linux`")
    assert unlike(dict(row, os="linux"), {"hostname": "vm", "os": "linux"}, names, "client C.677") == ""
    assert "gives no hostname" in unlike({"os": "linux"}, {"hostname": "vm", "os": "linux"}, names, "client C.1")


def test_said_is_one_short_masked_line():
    assert said(None) == "no reply"
    assert said(Result(ok=False, error="boom")) == "an error: 'boom'"
    assert said(Result(ok=True, data=[1], rows=[{"a": 1}])).startswith("success (1 row(s), ")


def test_strings_look_inside_json_text():
    assert {"a", "1", "x"} <= strings({"a": '{"x": 1}'})
