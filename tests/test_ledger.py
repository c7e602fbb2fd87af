"""The cleanup ledger against a live lab: what is recorded is removed, and the audit finds leaks."""
from __future__ import annotations

import pytest

from support import flows
from support.ledger import Book, Entry, Ledger, LeftBehind, remove_all
from support.sut.base import Result
from support.waits import wait_for

pytestmark = pytest.mark.lab

SLEEPER = flows.SLEEPER[1]


@pytest.fixture
def client_id(lab):
    return lab.client_ids[0]


@pytest.fixture
def book(oracle, run_id):
    return Book(oracle, f"t{run_id}")  # its own namespace: the suite's audit never sees these


def _labels(oracle, cid):
    return [str(l).lower() for l in (oracle.client(cid) or {}).get("labels") or []]


def _set_label(oracle, cid, label):
    oracle.label(cid, [label], "set")


def test_a_recorded_label_is_removed(book, oracle, client_id):
    ledger = book.open()
    label = ledger.name("case-4711")
    _set_label(oracle, client_id, label)
    ledger.label(client_id, label)
    assert label.lower() in _labels(oracle, client_id)
    assert ledger.clean() == []
    assert label.lower() not in _labels(oracle, client_id)


def test_a_running_flow_is_cancelled_and_deleted(book, oracle, client_id):
    ledger = book.open()
    flow_id = oracle.collect(client_id, ["Generic.Client.VQL"], SLEEPER, timeout=600)
    ledger.flow(client_id, flow_id)
    assert ledger.clean() == []
    assert oracle.flow(client_id, flow_id) is None


def test_a_hunt_is_deleted(book, oracle):
    ledger = book.open()
    hunt_id = oracle.create_hunt(["Generic.Client.Info"], ledger.name("ledger test"))
    ledger.hunt(hunt_id)
    assert ledger.clean() == []
    assert oracle.hunt(hunt_id) is None


class CollectingSUT:
    """A fake server under test that starts a flow but does not say which."""

    def __init__(self, oracle):
        self.oracle = oracle

    def call(self, tool, **kw):
        self.oracle.collect(kw["client_id"], kw["artifacts"], SLEEPER, timeout=600)
        return Result(ok=True, data={"status": "started"})


def test_calling_records_a_flow_the_reply_does_not_name(book, oracle, client_id):
    ledger = book.open()
    before = {f["session_id"] for f in oracle.flows(client_id)}
    ledger.calling(CollectingSUT(oracle), "collect_artifact", client_id=client_id, artifacts=["Generic.Client.VQL"])
    started = [e for e in ledger.entries if e.kind == "flow"]
    assert len(started) == 1 and started[0].ident not in before, ledger.entries
    assert ledger.clean() == []
    assert oracle.flow(client_id, started[0].ident) is None


def test_flows_another_api_user_started_are_never_taken(oracle, run_id, client_id):
    ledger = Ledger(oracle, f"t{run_id}", creator="another-analyst")
    before = {f["session_id"] for f in oracle.flows(client_id)}
    ledger.calling(CollectingSUT(oracle), "collect_artifact", client_id=client_id, artifacts=["Generic.Client.VQL"])
    assert ledger.created("flow") == []
    mine = Ledger(oracle, f"t{run_id}")
    for f in oracle.flows(client_id):
        if f["session_id"] not in before:
            mine.flow(client_id, f["session_id"])
    assert len(mine.entries) == 1 and mine.clean() == []


class LabellingSUT:
    def __init__(self, oracle, label):
        self.oracle, self.label = oracle, label

    def call(self, tool, **kw):
        _set_label(self.oracle, kw["client_id"], self.label)
        return Result(ok=True)


class OverreachingSUT:
    """A fake server under test that does what it is asked, and then some: an extra label on
    the client, a second hunt, a collection from a tool that only reads."""

    def __init__(self, oracle, ledger):
        self.oracle, self.ledger = oracle, ledger

    def call(self, tool, **kw):
        if tool == "label_client":
            for label in kw["labels"]:
                _set_label(self.oracle, kw["client_id"], label)
            _set_label(self.oracle, kw["client_id"], self.ledger.name("extra"))
            return Result(ok=True)
        if tool == "create_hunt":
            asked = self.oracle.create_hunt(kw["artifacts"], kw["description"])
            self.oracle.create_hunt(kw["artifacts"], self.ledger.name("second hunt"))
            return Result(ok=True, hunt_id=asked)
        if tool == "get_client_info":
            self.oracle.collect(kw["client_id"], ["Generic.Client.VQL"], SLEEPER, timeout=600)
            return Result(ok=True)
        raise AssertionError(tool)


def test_what_a_call_did_not_ask_for_fails_it_and_is_still_removed(book, oracle, client_id):
    """The ledger recorded an extra label, hunt or collection that appeared during a call and
    removed it in silence: a server that labels, hunts or collects beyond the request passed.
    Now the call fails naming each extra (UnaskedEffect); what it asked for does not, and the
    extras are still removed."""
    from support.errors import UnaskedEffect

    ledger = book.open()
    sut = OverreachingSUT(oracle, ledger)
    asked = ledger.name("case-4711")
    with pytest.raises(UnaskedEffect) as err:
        ledger.calling(sut, "label_client", client_id=client_id, labels=[asked])
    extra = ledger.name("extra").lower()
    assert f"a label {extra!r} on {client_id} it did not ask for".lower() in str(err.value).lower()
    assert asked.lower() not in str(err.value).lower().split("velociraptor shows")[1]
    with pytest.raises(UnaskedEffect, match="during create_hunt.*a hunt 'H\\.[^']+' it did not ask for") as err:
        ledger.calling(sut, "create_hunt", artifacts=["Generic.Client.Info"], description=ledger.name("asked hunt"))
    assert str(err.value).count("a hunt") == 1, err.value
    with pytest.raises(UnaskedEffect, match=f"during get_client_info.*a flow 'F\\.[^']+' on {client_id}"):
        ledger.calling(sut, "get_client_info", client_id=client_id)
    assert {e.kind for e in ledger.entries} == {"label", "hunt", "flow"}
    assert len(ledger.created("hunt")) == 2 and len(ledger.created("label")) == 2
    assert ledger.clean() == []
    assert not {asked.lower(), extra} & set(_labels(oracle, client_id))
    assert all(oracle.hunt(e.ident) is None for e in ledger.created("hunt"))


def test_a_client_record_conjured_for_an_unknown_id_is_deleted(book, oracle, run_id):
    ledger = book.open()
    phantom = f"C.{run_id}ffff0001"
    ghost = ledger.name("ghost")
    ledger.calling(LabellingSUT(oracle, ghost), "label_client", client_id=phantom, labels=[ghost])
    assert {e.kind for e in ledger.entries} == {"phantom", "label"}, ledger.entries
    assert oracle.client(phantom) is not None
    assert ledger.clean() == []
    assert oracle.client(phantom) is None


def test_the_audit_names_what_was_left_and_removes_it(book, oracle, client_id):
    label = book.open().name("forgotten")
    _set_label(oracle, client_id, label)  # made, but never recorded
    with pytest.raises(LeftBehind) as err:
        book.audit()
    assert f"label '{label}' on {client_id} (recorded from the run's namespace)" in str(err.value)
    assert "The audit removed them." in str(err.value)
    assert label.lower() not in _labels(oracle, client_id)
    book.audit()  # nothing left now


def test_the_audit_finds_a_recorded_flow_that_survived(book, oracle, client_id):
    ledger = book.open()
    flow_id = oracle.collect(client_id, ["Generic.Client.Info"])
    ledger.flow(client_id, flow_id, "a test")
    with pytest.raises(LeftBehind, match=f"flow '{flow_id}' on {client_id} \\(recorded from a test\\)"):
        book.audit()
    wait_for(lambda: (oracle.flow(client_id, flow_id) is None, oracle.flow(client_id, flow_id)),
             "the audit to have deleted the flow", 10)


class BrokenOracle:
    def flow(self, *a):
        raise ConnectionError("lab went away")


def test_a_removal_that_fails_is_reported_not_swallowed():
    problems = remove_all(BrokenOracle(), [Entry("flow", "C.1", "F.1", "a test")])
    assert problems == ["flow 'F.1' on C.1 (recorded from a test): removal failed: ConnectionError: lab went away"]


def test_calling_records_what_was_asked(book):
    class Sut:
        def call(self, tool, **kw):
            return Result(ok=True)

    ledger = book.open()
    ledger.watching = lambda *a, **k: __import__("contextlib").nullcontext()  # no Velociraptor needed here
    ledger.calling(Sut(), "get_hunt_results", hunt_id="H.1", artifact="A/S")
    ledger.calling(Sut(), "get_hunt_results", hunt_id="H.1", artifact=None)
    assert ledger.sent("get_hunt_results") == {"hunt_id": "H.1", "artifact": None}
    assert ledger.sent("list_hunts") == {}


def test_every_sut_call_a_step_makes_is_observed_by_the_ledger(book):
    """``sut.call`` is the one entry a When uses; the scenario's ledger sees each call."""
    from support.sut.plugin import SutHandle

    class Profile:
        def map_call(self, tool, kwargs):
            return f"their_{tool}", kwargs

        def read_reply(self, tool, reply, sut_tool):
            return Result(ok=True, hunt_id=reply["hunt"])

    class Session:
        def call_tool(self, tool, arguments):
            return {"hunt": "H.42"}

    ledger = book.open()
    ledger.watching = lambda *a, **k: __import__("contextlib").nullcontext()  # no Velociraptor needed here
    ledger._confirm_claims = lambda *a: None                                    # (H.42 exists nowhere)
    handle = SutHandle("fake", Profile(), Session())
    handle.observer = ledger.observe
    assert handle.call("create_hunt", artifacts=["A"]).hunt_id == "H.42"
    assert ledger.sent("create_hunt") == {"artifacts": ["A"]}
    assert [e.ident for e in ledger.created("hunt")] == ["H.42"]
    ledger.entries.clear()  # H.42 exists nowhere: nothing to remove


def test_a_flow_recorded_for_a_client_velociraptor_does_not_know_is_gone_not_an_error(oracle, run_id):
    """A SUT's reply may echo a flow id on a made-up client (the hygiene sweep's cancel_flow
    on C.0000000000000000): flows() reports NotFoundError there, which crashed the run's audit."""
    unknown = "C.0000000000000000"
    assert oracle.flow(unknown, "F.RAPTORSPEC0000") is None
    ledger = Ledger(oracle, f"t{run_id}")
    ledger.flow(unknown, "F.RAPTORSPEC0000")
    assert ledger.clean() == []


def test_the_one_query_snapshot_holds_what_the_three_queries_return(oracle, client_id, run_id):
    """Oracle.snapshot (one round trip for the ledger's before/after view) against Oracle.client,
    .flows and .hunts, on an enrolled client, an unknown id (no flows() query: it would error)
    and no client at all."""
    flow_id = oracle.collect(client_id, ["Generic.Client.Info"])
    try:
        snap = oracle.snapshot(client_id)
        assert snap["client"]["client_id"] == client_id
        assert snap["client"]["labels"] == oracle.client(client_id)["labels"]
        assert flow_id in {f["session_id"] for f in snap["flows"]}
        assert {f["session_id"] for f in snap["flows"]} <= {f["session_id"] for f in oracle.flows(client_id)}
        one = next(f for f in snap["flows"] if f["session_id"] == flow_id)
        assert one["request"]["creator"] == oracle.flow(client_id, flow_id)["request"]["creator"]
        assert {h["hunt_id"] for h in snap["hunts"]} == {h["hunt_id"] for h in oracle.hunts()}
        assert oracle.snapshot(client_id, hunts=False)["hunts"] == []
        unknown = oracle.snapshot(f"C.{run_id}ffff0009", hunts=False)
        assert unknown == {"client": None, "flows": [], "hunts": []}
        assert oracle.client(f"C.{run_id}ffff0009") is None     # looking did not conjure a record
        assert oracle.snapshot(None, hunts=False) == {"client": None, "flows": [], "hunts": []}
    finally:
        Ledger(oracle, f"t{run_id}", entries=[Entry("flow", client_id, flow_id, "a test")]).clean()


def test_a_ledger_watching_a_call_asks_velociraptor_twice_not_six_times(book, oracle, client_id):
    calls = []
    real = oracle.query

    def counting(*a, **kw):
        calls.append(a[0])
        return real(*a, **kw)

    ledger = book.open()
    oracle.query = counting
    try:
        ledger.calling(CollectingSUT(oracle), "collect_artifact", client_id=client_id, artifacts=["Generic.Client.VQL"])
    finally:
        del oracle.query
    snapshots = [q for q in calls if "RsWantHunts" in q]
    assert len(snapshots) == 2 and len(calls) == 3, calls      # before, the SUT's own collect, after
    assert len(ledger.created("flow")) == 1
    assert ledger.clean() == []


def test_a_label_of_another_worker_or_run_is_foreign_to_a_ledger():
    """Another xdist worker's label can appear on the shared client between a reply and the
    check of "the labels Velociraptor shows" (a -n 2 run failed on one): such labels are
    foreign; this ledger's own, and labels the suite did not make, are not."""
    from types import SimpleNamespace

    from support.ledger import Ledger

    mine = Ledger.foreign_label(SimpleNamespace(namespace="raptorspec-1234abcd-gw0"), "raptorspec-1234abcd-gw0-case-77")
    other_worker = Ledger.foreign_label(SimpleNamespace(namespace="raptorspec-1234abcd-gw0"),
                                        "raptorspec-1234abcd-gw1-case-4711")
    other_run = Ledger.foreign_label(SimpleNamespace(namespace="raptorspec-1234abcd"), "raptorspec-99990000-x")
    analysts = Ledger.foreign_label(SimpleNamespace(namespace="raptorspec-1234abcd"), "case-2026-ir")
    assert (mine, other_worker, other_run, analysts) == (False, True, True, False)


class ClaimingSUT:
    """A fake server under test that answers collect_artifact and create_hunt with success and
    made-up ids, starting nothing."""

    def call(self, tool, **kw):
        return Result(ok=True, flow_id="F.RAPTORSPECMADEUP") if tool == "collect_artifact" else \
            Result(ok=True, hunt_id="H.RAPTORSPECMADEUP")


def test_a_success_naming_a_flow_or_hunt_velociraptor_lacks_fails_the_call(book, oracle, client_id):
    """A server answered "started" with a made-up flow id for a client id holding VQL, and the
    scenarios that only ask Velociraptor whether anything started passed. The reply's flow or
    hunt must exist; a real one passes (test_calling_records_a_flow_the_reply_does_not_name)."""
    from support.errors import UnconfirmedClaim

    ledger = book.open()
    with pytest.raises(UnconfirmedClaim, match="collect_artifact with success naming flow 'F.RAPTORSPECMADEUP' on "
                                               "\"C.0' OR 1=1 --\"; Velociraptor has no such flow"):
        ledger.calling(ClaimingSUT(), "collect_artifact", client_id="C.0' OR 1=1 --", artifacts=["Generic.Client.Info"])
    with pytest.raises(UnconfirmedClaim, match="no such flow"):
        ledger.calling(ClaimingSUT(), "collect_artifact", client_id=client_id, artifacts=["Generic.Client.Info"])
    with pytest.raises(UnconfirmedClaim, match="naming hunt 'H.RAPTORSPECMADEUP'; Velociraptor has no such hunt"):
        ledger.calling(ClaimingSUT(), "create_hunt", artifacts=["Generic.Client.Info"], description="x")
    assert ledger.clean() == []


class HonestSUT:
    def __init__(self, oracle, ledger):
        self.oracle, self.ledger = oracle, ledger

    def call(self, tool, **kw):
        if tool == "collect_artifact":
            return Result(ok=True, flow_id=self.oracle.collect(kw["client_id"], kw["artifacts"]))
        return Result(ok=True, hunt_id=self.oracle.create_hunt(kw["artifacts"], kw["description"]))


def test_a_success_naming_the_flow_or_hunt_it_made_passes(book, oracle, client_id):
    ledger = book.open()
    sut = HonestSUT(oracle, ledger)
    ledger.calling(sut, "collect_artifact", client_id=client_id, artifacts=["Generic.Client.Info"])
    ledger.calling(sut, "create_hunt", artifacts=["Generic.Client.Info"], description=ledger.name("honest"))
    assert len(ledger.created("flow")) == 1 and len(ledger.created("hunt")) == 1
    assert ledger.clean() == []


def test_the_audit_finds_a_label_and_a_hunt_no_one_recorded_whatever_their_names(oracle, run_id, client_id):
    """A server labelled the client two seconds after its reply (outside the call's watch) under
    a name of its own: neither a ledger nor the run's namespace found it, and the audit passed.
    On a lab the run owns, the audit compares the lab with what it held before the run."""
    from support.ledger import UNRECORDED, lab_baseline

    book = Book(oracle, f"t{run_id}", before=lab_baseline(oracle))
    stray = f"s5-late-{run_id}"
    _set_label(oracle, client_id, stray)
    other_run = "raptorspec-someotherrun-case"         # another run on the same lab: not ours
    _set_label(oracle, client_id, other_run)
    hunt_id = oracle.create_hunt(["Generic.Client.Info"], f"a hunt of the server's own {run_id}")
    try:
        with pytest.raises(LeftBehind) as err:
            book.audit()
        text = str(err.value)
        assert f"label '{stray}' on {client_id} ({UNRECORDED})" in text, text
        assert f"hunt '{hunt_id}' ({UNRECORDED})" in text, text
        assert other_run not in text and "The audit removed them." in text
        assert stray not in _labels(oracle, client_id) and oracle.hunt(hunt_id) is None
        book.audit()   # nothing left now
    finally:
        oracle.label(client_id, [stray, other_run], "remove")
        if oracle.hunt(hunt_id) is not None:
            from support.ledger import delete_hunt
            delete_hunt(oracle, hunt_id)
