"""The suite's exception types: infrastructure errors are never AssertionError, so an
``except AssertionError`` can never swallow one, and catching one never swallows a real
assertion failure of a Then."""
import inspect

import pytest

from support import errors


def _classes():
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]


@pytest.mark.parametrize("cls", [c for c in _classes() if issubclass(c, errors.RaptorspecError)], ids=lambda c: c.__name__)
def test_infrastructure_errors_are_not_assertions(cls):
    assert not issubclass(cls, AssertionError), f"{cls.__name__} must not be an AssertionError"


def test_verdicts_are_assertions_and_not_infrastructure():
    assert issubclass(errors.LeftBehind, AssertionError)
    assert not issubclass(errors.LeftBehind, errors.RaptorspecError)


def test_every_class_is_exported_and_documented():
    names = {c.__name__ for c in _classes()}
    assert names == set(errors.__all__)
    for c in _classes():
        assert c.__doc__, f"{c.__name__} has no docstring"


def test_modules_reexport_the_one_definition():
    from support import ledger, oracle, waits
    from support.lab import certs
    from support.sut import session

    assert waits.WaitTimeout is errors.WaitTimeout
    assert oracle.VQLError is errors.VQLError
    assert ledger.LeftBehind is errors.LeftBehind
    assert certs.CertificateProblem is errors.CertificateProblem
    assert session.SutError is errors.SutError


def test_except_assertion_does_not_swallow_a_wait_timeout():
    from support.waits import Clock, wait_for

    t = [0.0]
    clock = Clock(now=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    with pytest.raises(errors.WaitTimeout):
        try:
            wait_for(lambda: (False, "nothing"), "a thing that never happens", 1, 0.5, clock=clock)
        except AssertionError:  # pragma: no cover - the point is that this does not match
            pytest.fail("a WaitTimeout was caught as an AssertionError")
