"""Shared words: the target client, and Thens about the reply itself.

Conventions every step module follows (PYTEST_DONT_REWRITE: every assert carries its own
message, so pytest's assertion introspection stays out of the report):
- a When makes one call to the server under test (through ``ledger.calling``, so whatever it
  creates is recorded for cleanup) and returns the Result as ``target_fixture="reply"``;
- a Then that follows a claimed effect asks the oracle, never the reply alone;
- a label or hunt description an analyst names in a feature ("case-4711") is sent namespaced
  as ``raptorspec-<run>-case-4711`` (``ledger.name``), so the session audit can find leaks;
- one phrase per step function; no VQL and no Velociraptor row shapes here (support/ reads them).
The ``ledger`` and ``targets`` fixtures live with their support code (support/ledger.py,
support/targets.py, loaded as plugins by conftest.py).
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then

from support.oracle import load_api_config
from support.rows import said


@pytest.fixture(scope="session")
def lab_private_key_lines(lab):
    """Body lines of the API client's private key: what no reply may ever carry."""
    key = load_api_config(lab.api_config)["client_private_key"]
    return [line.strip() for line in key.splitlines() if len(line.strip()) >= 20 and "-----" not in line]


# -- Givens ------------------------------------------------------------------------------


@given(parsers.parse("an enrolled {os} client"), target_fixture="client")
def _(targets, os):
    """An enrolled, online client of that OS (linux, windows, macos); skips when the lab has none."""
    return targets.pick(os)


# -- Thens about the reply ---------------------------------------------------------------


@then("the server under test reports success")
def _(reply):
    """The reply is a success (not an error, nor an error inside a success)."""
    assert reply.ok, f"The server under test answered {said(reply)}"


@then("the server under test reports an error")
def _(reply):
    """The reply is an error."""
    assert not reply.ok, f"Expected an error; the server under test answered {said(reply)}"


@then(parsers.parse('the server under test reports an error that names "{text}"'))
def _(reply, text):
    """The reply is an error whose text names the value (case-insensitive)."""
    assert not reply.ok, f"Expected an error naming {text!r}; the server under test answered {said(reply)}"
    assert text.lower() in str(reply.error).lower(), (
        f"The error does not name {text!r}; the server under test answered {said(reply)}")


@then("the server under test returns no rows")
def _(reply):
    """The reply carries no rows (an empty result or an error)."""
    assert not reply.rows, f"Expected no rows (an empty result or an error); the server under test answered {said(reply)}"


@then("it does not report an empty result as success")
def _(reply):
    """The reply is not an empty success."""
    assert not (reply.ok and not reply.rows), f"An empty result came back as success: {said(reply)}"


@then("the reply carries no key material from the lab")
def _(reply, lab_private_key_lines):
    """No line of the lab's API private key, nor a PEM private key, is anywhere in the reply."""
    text = "\n".join(map(str, (reply.data, reply.error, reply.rows, reply.raw)))
    leaked = [line[:12] + "…" for line in lab_private_key_lines if line in text]
    assert not leaked and "PRIVATE KEY" not in text and "[MASKED]" not in text, (
        f"The reply carries private key material (lines starting {leaked}): {said(reply)}")
