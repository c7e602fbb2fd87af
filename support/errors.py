"""Every exception type of the suite, in one place.

Two families, kept apart on purpose:

* :class:`RaptorspecError` (an ``Exception``, **never** an ``AssertionError``): something in
  the machinery went wrong — the lab, the oracle, a wait, the server under test's transport.
  Code that catches these can never swallow a real assertion failure of a Then, because
  ``except AssertionError`` does not match them and ``except RaptorspecError`` does not match
  an assertion.
* :class:`Verdict` (an ``AssertionError``): a check of the spec failed — the leak audit found
  something left behind. pytest shows these as ordinary failures.

A failing scenario still fails when a ``RaptorspecError`` escapes a step (pytest reports any
exception as a failure); the report names the type so that "the SUT hung" never reads like
"the SUT gave a wrong answer".
"""
from __future__ import annotations

__all__ = [
    "RaptorspecError", "Verdict",
    "LabError", "DockerUnavailable", "ProvisionError", "CertificateProblem",
    "OracleError", "OracleUnavailable", "VQLError",
    "WaitError", "WaitTimeout", "WaitAborted",
    "SutError", "SutTimeout", "SutCrashed", "SutStreamError", "SutProtocolError", "SutReplyTooLarge",
    "SutLeftProcesses",
    "LeftBehind", "UnaskedEffect", "UnconfirmedClaim", "ToolNotCalled",
    "UnsentArgument",
    "FeatureProblemsElsewhere",
]


class RaptorspecError(Exception):
    """Base of every infrastructure error of the suite (lab, oracle, waits, SUT transport)."""


class Verdict(AssertionError):
    """Base of the suite's own check failures that are not a plain ``assert`` in a step."""


# --- the lab ---------------------------------------------------------------------------


class LabError(RaptorspecError):
    """The lab could not be set up, or died. The message says what and where its logs are."""


class DockerUnavailable(LabError):
    """Docker cannot be used here; the message says how to enable it."""


class ProvisionError(RaptorspecError):
    """The Velociraptor binary could not be built, found or verified (message says which)."""


class CertificateProblem(RaptorspecError):
    """A lab certificate has expired, is about to, or cannot be read."""


# --- the oracle --------------------------------------------------------------------------


class OracleError(RaptorspecError):
    """Base of the oracle's errors (talking to Velociraptor's gRPC API)."""


class OracleUnavailable(OracleError, ConnectionError):
    """The Velociraptor API could not be reached (also a ``ConnectionError``, so waits retry it)."""


class VQLError(OracleError):
    """Velociraptor reported an error for a query (seen in its log lines, by level and form).

    ``vql`` is the query text; ``lines`` the log lines that reported the error.
    """

    def __init__(self, vql: str, lines: list[str]):
        self.vql = vql
        self.lines = lines
        super().__init__(f"Velociraptor reported an error for VQL:\n  {vql}\n" + "\n".join(f"  | {l}" for l in lines))


# --- waits -------------------------------------------------------------------------------


class WaitError(RaptorspecError):
    """Base of the wait helper's errors (:mod:`support.waits`)."""


class WaitTimeout(WaitError):
    """A bounded wait ran out. The message says what, how long, and what was last seen."""


class WaitAborted(WaitError):
    """What the wait depended on died (a process exited, a lab went away)."""


# --- the server under test ---------------------------------------------------------------


class SutError(RaptorspecError):
    """Base of every failure that the session attributes to the server under test."""


class SutTimeout(SutError):
    """A request got no reply within its deadline (the session is dead afterwards)."""


class SutCrashed(SutError):
    """The SUT process exited (or closed its stdout) while the session needed it."""


class SutStreamError(SutError):
    """The SUT wrote something on stdout that is not an MCP (JSON-RPC) message."""


class SutReplyTooLarge(SutStreamError):
    """The SUT sent one message longer than the configured cap (``--sut-max-reply``)."""


class SutProtocolError(SutError):
    """The SUT answered with a JSON-RPC error (or a reply that is not valid MCP).

    ``code`` is the JSON-RPC error code as sent (None when the reply was malformed). Compare
    on the meaning of ``message``: SDK versions disagree on codes (some send 0).
    """

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class SutLeftProcesses(SutError):
    """A process the SUT started was still running after the SUT was closed."""


# --- verdicts ----------------------------------------------------------------------------


class LeftBehind(Verdict):
    """Something a scenario (or the run) created is still in Velociraptor."""


class UnaskedEffect(Verdict):
    """During a call, Velociraptor came to show a label, flow or hunt the call did not ask for
    (a second hunt, an extra label, a collection made by a tool that only reads): a side effect
    the claimed effect's Then cannot see (support/ledger.py, ``unasked_effects``)."""


class UnconfirmedClaim(Verdict):
    """A reply claims an effect Velociraptor does not show: a collection or hunt it names, by an
    id Velociraptor does not have (support/ledger.py, ``Ledger._confirm_claims``)."""


class ToolNotCalled(Verdict):
    """A scenario tagged ``@tool:<tool>`` passed calling other tools of the server under test
    but never that one: its verdict would be filed under a tool it did not exercise (the
    coverage matrix, and the skip of a SUT that lacks the tool, follow the tag)."""


# --- argument coverage (support/coverage.py) -------------------------------------------


class UnsentArgument(Verdict):
    """A scenario claims an argument (``@arg:<name>``) it never sent to the server under test
    with a telling value (not None, not the contract's default): its claim covers nothing."""


# --- authoring (support/gherkin.py) ----------------------------------------------------


class FeatureProblemsElsewhere(UserWarning):
    """A run of some features (``pytest features/clients/``) found problems in feature files it
    does not run: they are named in one warning line; the full run fails on them."""
