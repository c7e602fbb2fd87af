"""One smoke test per PyPI server against the live embedded lab: through its own tools, the
server under test sees the enrolled client (checked against the oracle)."""
from __future__ import annotations

import pytest

from support.ledger import delete_flow
from support.sut.plugin import SutHandle
from support.sut.selection import PYPI_SUTS, get_profile
from support.waits import wait_flow_done


def _handle(name, lab, sut_sessions) -> SutHandle:
    return SutHandle(name, get_profile(name), sut_sessions.get(name, lab))


@pytest.mark.lab
@pytest.mark.parametrize("name", PYPI_SUTS)
def test_the_server_sees_the_enrolled_client(name, lab, oracle, sut_sessions):
    sut = _handle(name, lab, sut_sessions)
    client_id = lab.client_ids[0]
    if sut.supports("list_clients"):
        result = sut.call("list_clients")
        assert result.ok, result
        assert client_id in {r.get("client_id") for r in result.rows or []}, result.rows
    elif sut.supports("run_vql"):
        result = sut.call("run_vql", query="SELECT client_id FROM clients()")
        assert result.ok, result
        assert {r["client_id"] for r in result.rows} == {c["client_id"] for c in oracle.clients()}
    else:  # it can only collect: a collection it starts is a flow on the enrolled client
        before = {f["session_id"] for f in oracle.flows(client_id)}
        sut.call("collect_artifact", client_id=client_id, artifacts=["Generic.Client.Info"])
        new = [f["session_id"] for f in oracle.flows(client_id) if f["session_id"] not in before]
        try:
            assert new, f"{name} started no flow on {client_id}"
            assert wait_flow_done(oracle, client_id, new[0], 60, lab=lab)["state"] == "FINISHED"
        finally:
            for flow_id in new:
                delete_flow(oracle, client_id, flow_id)
