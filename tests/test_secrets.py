"""Key material stays masked however a server under test re-wraps or escapes it.

A SUT may re-wrap a private key at another width, join its lines with spaces, escape its
newlines inside JSON, or split it across two MCP text contents; none of it may reach the
junit XML, results.json, the HTML report, the transcript or the terminal.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support import secrets

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def _wrapped(pem: str, width: int, sep: str = "\n") -> str:
    body = _body(pem)
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return sep.join(["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----"])


def _leaks(text: str, pem: str, size: int = 15) -> list[str]:
    """Pieces (``size`` base64 characters) of the key's body found in ``text`` read without
    whitespace and escapes."""
    flat = re.sub(r"\\+[nrt]|\\+|&#10;|&#13;|\s", "", text)
    body = _body(pem)
    return sorted({body[i:i + size] for i in range(len(body) - size + 1) if body[i:i + size] in flat})


@pytest.fixture
def key() -> str:
    pem = _key()
    secrets.register_secret(pem)
    return pem


@pytest.mark.parametrize("width", [60, 64, 76])
@pytest.mark.parametrize("shape", ["pem", "json", "json-in-json", "spaces", "body-only", "first-half",
                                   "second-half", "fragment"])
def test_a_rewrapped_key_is_masked(key: str, width: int, shape: str):
    pem = _wrapped(key, width)
    body_lines = pem.splitlines()[1:-1]
    text = {
        "pem": pem,
        "json": json.dumps({"key": pem}),
        "json-in-json": json.dumps({"text": json.dumps({"key": pem})}),
        "spaces": _wrapped(key, width, " "),
        "body-only": "\n".join(body_lines),
        "first-half": json.dumps(pem)[:len(pem) // 2],
        "second-half": json.dumps(pem)[len(pem) // 2:],
        "fragment": "debug: " + "\n".join(body_lines)[width - 10:width + 17] + " end",
    }[shape]
    masked = secrets.mask(text)
    assert _leaks(masked, key) == [], masked
    assert "MASKED" in masked


def test_the_fragment_the_user_saw_is_masked(key: str):
    body = _body(key)
    fragment = body[300:326]                          # 26 characters, as in the finding
    for text in (f"x {fragment} y", f'"{fragment[:9]}\\n{fragment[9:]}"', fragment[:13] + "\n" + fragment[13:]):
        assert fragment[:15] not in secrets.mask(text).replace("\n", "").replace("\\n", "")


def test_ordinary_text_is_left_alone(key: str):
    text = ("client C.1234567890abcdef: the server says os `debian12.11`, Velociraptor says `linux`\n"
            "SELECT * FROM info() -- aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ= base64 of something else")
    assert secrets.mask(text) == text


# --- every output of a run -----------------------------------------------------------------
_FEATURE = """\
Feature: Leaky server
  Scenario: The server re-wraps the key it was given
    When the server answers with the key
    Then it said nothing secret
"""

_CONFTEST = '''
import json
from pathlib import Path

import pytest
from pytest_bdd import parsers, then, when

from support.secrets import register_secret

PEM = (Path(__file__).parent / "planted_key.pem").read_text().strip()
BODY = "".join(l for l in PEM.splitlines() if not l.startswith("-----"))


def wrapped(width, sep="\\\\n"):
    lines = [BODY[i:i + width] for i in range(0, len(BODY), width)]
    return sep.join(["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----"])


def pytest_configure(config):
    register_secret(PEM)


@pytest.fixture
def transcript(request):
    calls = []
    yield calls
    request.node.user_properties.append(("mcp_transcript", calls))


@when("the server answers with the key", target_fixture="said")
def _(transcript):
    escaped = json.dumps({"debug": wrapped(76)})
    half = len(escaped) // 2
    transcript.append({"method": "tools/call", "request": {"name": "x", "arguments": {}},
                       "reply": {"is_error": False, "texts": [escaped[:half], escaped[half:]], "structured": None},
                       "error": None, "seconds": 0.01})
    print("server stderr:", wrapped(60))
    return wrapped(64, " ")


@then("it said nothing secret")
def _(said):
    assert False, f"the server said: {said}"
'''


def _leaky_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, conftest: str) -> str:
    """A pytester project whose one scenario leaks a freshly made key (planted_key.pem, returned)."""
    key = _key()
    (pytester.path / "planted_key.pem").write_text(key)
    (pytester.path / "features").mkdir()
    (pytester.path / "features" / "leaky.feature").write_text(_FEATURE)
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_spec='from pytest_bdd import scenarios\nscenarios("features")\n')
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return key


def test_a_rewrapped_key_reaches_no_output_of_a_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    key = _leaky_project(pytester, monkeypatch, _CONFTEST)
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
                                           "--report", "out/index.html", "--junitxml", "out/junit.xml", "-o", "junit_logging=all", "-rA")
    result.assert_outcomes(failed=1)
    outputs = {"terminal": result.stdout.str() + result.stderr.str()}
    for name in ("junit.xml", "results.json", "index.html"):
        outputs[name] = (pytester.path / "out" / name).read_text()
    transcript = json.loads(outputs["results.json"])["scenarios"][0]["transcript"]
    outputs["transcript"] = json.dumps(transcript)
    assert transcript, "not vacuous: the transcript reached the report"
    assert "the server said" in outputs["terminal"] and "server stderr:" in outputs["junit.xml"]
    for name, text in outputs.items():
        assert _leaks(text, key) == [], f"{name} holds pieces of the planted key"
        assert "MIIE" not in text, f"{name} holds the key's first bytes"


_UNREGISTERED = '''
from pathlib import Path

from pytest_bdd import then, when

PEM = (Path(__file__).parent / "planted_key.pem").read_text().strip()


@when("the server answers with the key", target_fixture="said")
def _():
    return PEM


@then("it said nothing secret")
def _(said):
    raise RuntimeError("the server handed out its own key:\\n" + said)
'''


def test_a_key_the_suite_never_registered_is_masked_over_many_traceback_lines(pytester, monkeypatch):
    """A PEM block in an exception message spans several lines of a traceback entry: masked line
    by line only its header and footer were found, and its body reached junit XML and the
    cucumber JSON (a key a SUT made itself, never registered)."""
    key = _leaky_project(pytester, monkeypatch, _UNREGISTERED)
    result = pytester.runpytest_subprocess("-p", "support.report.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
                                           "--report", "out/index.html", "--junitxml", "out/junit.xml",
                                           "--cucumberjson", "cucumber.json", "--tb=long")
    result.assert_outcomes(failed=1)
    outputs = {"terminal": result.stdout.str() + result.stderr.str()}
    for name in ("junit.xml", "results.json", "index.html"):
        outputs[name] = (pytester.path / "out" / name).read_text()
    outputs["cucumber.json"] = (pytester.path / "cucumber.json").read_text()
    assert "the server handed out its own key" in outputs["junit.xml"], "not vacuous: the failure is there"
    for name, text in outputs.items():
        assert _leaks(text, key) == [], f"{name} holds pieces of the key"
