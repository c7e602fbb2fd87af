"""Shared words: the target client, the cleanup ledger, and Thens about the reply itself.

Conventions every step module follows:
- a When makes one call to the server under test (through ``ledger.calling``, so whatever it
  creates is recorded for cleanup) and returns the Result as ``target_fixture="reply"``;
- a Then that follows a claimed effect asks the oracle, never the reply alone;
- a label or hunt description an analyst names in a feature ("case-4711") is sent namespaced
  as ``raptorspec-<run>-case-4711`` (``ledger.name``), so the session audit can find leaks.
"""
from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then

from support.ledger import Book
from support.oracle import load_api_config
from support.rows import said
from support.targets import Targets


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ledger_book(oracle, run_id):
    """Every scenario's ledger; at session end, the audit fails the run on any leftover."""
    book = Book(oracle, run_id, creator=load_api_config(oracle.api_config_path).get("name"))
    yield book
    book.audit()


@pytest.fixture(autouse=True)
def _ledger_audit(request):
    """Arms the session-end audit as soon as one scenario runs (project tests never arm it)."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    if scenario_wrapper_template_registry.get(getattr(request.node, "obj", None)) is not None:
        request.getfixturevalue("ledger_book")


@pytest.fixture
def ledger(ledger_book):
    """What this scenario created; removed through the oracle at teardown."""
    led = ledger_book.open()
    yield led
    problems = led.clean()
    assert not problems, "Cleanup left things in Velociraptor:\n" + "\n".join(problems)


@pytest.fixture
def targets(oracle):
    """The lab's enrolled clients, by OS (skips a scenario whose OS is missing)."""
    return Targets(oracle)


@pytest.fixture(scope="session")
def lab_private_key_lines(lab):
    """Body lines of the API client's private key: what no reply may ever carry."""
    key = load_api_config(lab.api_config)["client_private_key"]
    return [line.strip() for line in key.splitlines() if len(line.strip()) >= 20 and "-----" not in line]


# -- Givens ------------------------------------------------------------------------------


@given(parsers.re(r"an enrolled (?P<os>linux|windows|macos) client"), target_fixture="client")
def _(targets, os):
    return targets.pick(os)


# -- Thens about the reply ---------------------------------------------------------------


@then("the server under test reports success")
def _(reply):
    assert reply.ok, f"The server under test answered {said(reply)}"


@then("the server under test reports an error")
def _(reply):
    assert not reply.ok, f"Expected an error; the server under test answered {said(reply)}"


@then(parsers.parse('the server under test reports an error that names "{text}"'))
def _(reply, text):
    assert not reply.ok, f"Expected an error naming {text!r}; the server under test answered {said(reply)}"
    assert text.lower() in str(reply.error).lower(), (
        f"The error does not name {text!r}; the server under test answered {said(reply)}")


@then("the server under test returns no rows")
def _(reply):
    assert not reply.rows, f"Expected no rows (an empty result or an error); the server under test answered {said(reply)}"


@then("it does not report an empty result as success")
def _(reply):
    assert not (reply.ok and not reply.rows), f"An empty result came back as success: {said(reply)}"


@then("the reply carries no key material from the lab")
def _(reply, lab_private_key_lines):
    text = "\n".join(map(str, (reply.data, reply.error, reply.rows, reply.raw)))
    leaked = [line[:12] + "…" for line in lab_private_key_lines if line in text]
    assert not leaked and "PRIVATE KEY" not in text and "[MASKED]" not in text, (
        f"The reply carries private key material (lines starting {leaked}): {said(reply)}")
