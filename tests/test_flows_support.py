"""support/flows.py additions (issue 10): another client on the same host, flows made in numbers."""
from __future__ import annotations

from support import flows
from support.targets import Target


def _t(cid, host):
    return Target(client_id=cid, os="linux", hostname=host, labels=(), seen_ago=1.0)


def test_another_client_on_the_same_host_is_found_and_no_other():
    me = _t("C.1", "box")
    assert flows.same_host_other([me, _t("C.2", "other"), _t("C.3", "box")], me).client_id == "C.3"
    assert flows.same_host_other([me, _t("C.2", "other")], me) is None


class FakeOracle:
    def __init__(self):
        self.started = []

    def collect(self, client_id, artifacts, *a, **kw):
        self.started.append(artifacts)
        return f"F.{len(self.started)}"

    def flow(self, client_id, flow_id):
        return {"session_id": flow_id, "state": "FINISHED"}


class FakeLedger:
    def __init__(self):
        self.flows = []

    def flow(self, client_id, flow_id, why):
        self.flows.append(flow_id)


def test_collections_in_numbers_are_all_recorded_and_finished(monkeypatch):
    from support import waits

    monkeypatch.setattr(waits, "wait_flow_done", lambda oracle, c, f, t, lab=None: oracle.flow(c, f))
    ledger = FakeLedger()
    assert flows.finished_collections(FakeOracle(), ledger, "C.1", "A", 3) == ["F.1", "F.2", "F.3"]
    assert ledger.flows == ["F.1", "F.2", "F.3"]
