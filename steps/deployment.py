"""Deployment words: the server's own deployment records and the refusals that keep it from
preparing, pushing or destroying anything for a deployment that is not there.

Nothing here deploys: no scenario asks for a server, container or cloud machine that could
start, and agents are only ever "pushed" to a loopback port this process owns
(support.deployment.WatchedHost). Deployments are the server's records, not Velociraptor's,
so the Thens hold the server to its own list, to its refusals, and to its disk.
(PYTEST_DONT_REWRITE: the asserts carry their own messages.)
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from support.deployment import WatchedHost, changes, sut_disk_state
from support.rows import said

_PUSH_USER = "raptorspec"
_PUSH_PASSWORD = "raptorspec-not-a-password"


@pytest.fixture
def watched_host():
    host = WatchedHost()
    yield host
    host.close()


# -- Givens ------------------------------------------------------------------------------


@given("I note what the server under test keeps on disk", target_fixture="disk_before")
def _(sut):
    """Snapshots the files in the SUT's own HOME and working directory."""
    return sut_disk_state(sut.session)


@given("a host of mine that watches for connections", target_fixture="host")
def _(watched_host):
    """A loopback port this process owns that counts who connects."""
    return watched_host


# -- Whens: one call each ----------------------------------------------------------------


@when("I list the deployments", target_fixture="reply")
def _(sut, ledger):
    """Asks for the server's deployments."""
    return sut.call("list_deployments")


@when(parsers.parse('I ask for the status of deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for the status of a deployment id."""
    return sut.call("get_deployment_status", deployment_id=deployment_id)


@when(parsers.parse('I have deployment "{deployment_id}" validated'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks to validate a deployment id."""
    return sut.call("validate_deployment", deployment_id=deployment_id)


@when(parsers.parse('I ask for the server configuration of deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for a deployment's server configuration."""
    return sut.call("generate_server_config", deployment_id=deployment_id)


@when(parsers.parse('I ask for API credentials for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for API credentials of a deployment."""
    return sut.call("generate_api_credentials", deployment_id=deployment_id)


@when(parsers.parse('I ask for the documentation of deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for a deployment's documentation."""
    return sut.call("export_deployment_docs", deployment_id=deployment_id)


@when(parsers.parse('I ask for a {os} agent installer for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, os, deployment_id):
    """Asks for an agent installer (windows, linux, macos) of a deployment."""
    return sut.call("generate_agent_installer", deployment_id=deployment_id, os_type=os)


@when(parsers.parse('I ask for a group policy package for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for a group policy package of a deployment."""
    return sut.call("generate_gpo_package", deployment_id=deployment_id)


@when(parsers.parse('I ask for an Ansible playbook for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks for an Ansible playbook of a deployment."""
    return sut.call("generate_ansible_playbook", deployment_id=deployment_id)


@when(parsers.parse('I ask for new certificates, a new CA included, for deployment "{deployment_id}"'),
      target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks to rotate a deployment's certificates, its CA included."""
    return sut.call("rotate_certificates", deployment_id=deployment_id, rotate_ca=True)


@when(parsers.parse('I ask which agents have enrolled with deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks which agents enrolled with a deployment."""
    return sut.call("check_agent_deployment", deployment_id=deployment_id)


@when(parsers.parse('I ask to destroy deployment "{deployment_id}" without confirming'), target_fixture="reply")
def _(sut, ledger, deployment_id):
    """Asks to destroy a deployment without confirming."""
    return sut.call("destroy_deployment", deployment_id=deployment_id, confirm=False)


@when(parsers.parse('I ask for a server in the cloud of "{provider}"'), target_fixture="reply")
def _(sut, ledger, provider):
    """Asks for a server in a cloud provider's cloud."""
    return sut.call("deploy_server_cloud", cloud_provider=provider)


@when(parsers.parse('I ask for an offline collector of "{artifact}" for {os} systems'), target_fixture="reply")
def _(sut, ledger, artifact, os):
    """Asks for an offline collector of an artifact for an OS."""
    return sut.call("create_offline_collector", artifacts=[artifact], target_os=os)


@when(parsers.parse('I push agents over SSH to my host for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, host, deployment_id):
    """Asks to push agents over SSH to the watched loopback host."""
    return sut.call("deploy_agents_ssh", deployment_id=deployment_id, targets=[host.address],
                          username=_PUSH_USER, password=_PUSH_PASSWORD, target_os="linux", port=host.port)


@when(parsers.parse('I push agents over WinRM to my host for deployment "{deployment_id}"'), target_fixture="reply")
def _(sut, ledger, host, deployment_id):
    """Asks to push agents over WinRM to the watched loopback host."""
    return sut.call("deploy_agents_winrm", deployment_id=deployment_id, targets=[host.address],
                          username=_PUSH_USER, password=_PUSH_PASSWORD, port=host.port)


# -- Thens -------------------------------------------------------------------------------


def _listed(reply):
    return [d for d in reply.rows or [] if isinstance(d, dict)]


@then("the number of deployments it gives is the number it lists")
def _(reply):
    """The list's count equals the number of deployments it lists."""
    data = reply.data if isinstance(reply.data, dict) else {}
    assert "count" in data, f"The list gives no number of deployments: {said(reply)}"
    listed = _listed(reply)
    assert data["count"] == len(listed), (
        f"The list says {data['count']!r} deployment(s) but lists {len(listed)}: {said(reply)}")


@then("the status of every listed deployment can be asked for")
def _(sut, ledger, reply):
    """Each listed deployment id answers a status call naming it."""
    problems = []
    for entry in _listed(reply):
        deployment_id = entry.get("deployment_id")
        if not isinstance(deployment_id, str) or not deployment_id:
            problems.append(f"a listed deployment has no id: {entry}")
            continue
        status = sut.call("get_deployment_status", deployment_id=deployment_id)
        if not status.ok or deployment_id not in str(status.data):
            problems.append(f"{deployment_id}: {said(status)}")
    assert not problems, ("Listed deployments whose status does not answer for them:\n" + "\n".join(problems)
                          + f"\nThe list: {said(reply)}")


@then("the server under test refuses for want of my confirmation")
def _(reply):
    """The reply is an error that says confirmation is missing."""
    assert not reply.ok, f"Expected a refusal asking for confirmation; the server under test answered {said(reply)}"
    assert "confirm" in str(reply.error).lower(), (
        f"The refusal does not say that my confirmation is missing: {said(reply)}")


@then("the server under test changed nothing on disk")
def _(sut, disk_before, reply):
    """No file in the SUT's HOME or working directory was added, removed or changed."""
    changed = changes(disk_before, sut_disk_state(sut.session))
    assert not changed, (f"The server under test changed {len(changed)} file(s) in its HOME or working directory:\n"
                         + "\n".join(changed[:20]) + f"\nIt answered {said(reply)}")


@then("nothing connected to my host")
def _(host, reply):
    """No connection reached the watched loopback host."""
    seen = host.connections()
    assert not seen, f"{len(seen)} connection(s) reached {host.address}:{host.port}; the server under test answered {said(reply)}"
