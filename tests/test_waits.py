"""The one wait helper: what it says when it gives up, what it retries, when it stops at once."""
from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from support.lab import Lab
from support.waits import Clock, WaitAborted, WaitTimeout, wait_for


class FakeClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.t += seconds


class FakeLab:
    """A lab whose processes die on demand: the same Lab interface the waits see in real runs."""

    mode = "fake"
    dir = Path("/nonexistent")
    api_config = Path("/nonexistent/api_client.yaml")
    client_ids: list[str] = []

    def __init__(self, dies_after_checks: int | None = None):
        self.checks = 0
        self.dies_after = dies_after_checks

    def alive(self) -> str | None:
        if self.dies_after is not None and self.checks >= self.dies_after:
            return "frontend (pid 4242) exited with code 1"
        return None

    def logs(self, lines: int = 30) -> str:
        return "--- frontend log ---\nbind: address already in use"

    def certificates(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        pass


def test_the_fake_lab_is_a_lab():
    assert isinstance(FakeLab(), Lab)


def test_timeout_says_what_how_long_last_seen_and_hint():
    clock = FakeClock()
    states = iter(["RUNNING", "RUNNING", "WAITING"] + ["WAITING"] * 100)
    with pytest.raises(WaitTimeout) as info:
        wait_for(lambda: (False, f"state={next(states)}"), "flow F.1 to finish", 3, 1,
                 hint="is the client checking in?", clock=clock)
    msg = str(info.value)
    assert "waiting for flow F.1 to finish" in msg
    assert "limit 3s" in msg and "Timed out after 3.0s" in msg
    assert "Last seen: state=WAITING" in msg
    assert "Hint: is the client checking in?" in msg


def test_returns_the_value_once_done():
    clock = FakeClock()
    values = iter([(False, 1), (False, 2), (True, 3)])
    assert wait_for(lambda: next(values), "three", 10, 1, clock=clock) == 3
    assert clock.t == 2


def test_transient_errors_are_retried_and_remembered():
    clock = FakeClock()
    calls = {"n": 0}

    class Unavailable(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

        def details(self):
            return "connection refused"

    def check():
        calls["n"] += 1
        raise Unavailable()

    with pytest.raises(WaitTimeout, match="Last seen: Unavailable: UNAVAILABLE connection refused"):
        wait_for(check, "the API", 2, 0.5, clock=clock)
    assert calls["n"] == 5


def test_other_errors_propagate_at_once():
    clock = FakeClock()
    with pytest.raises(KeyError):
        wait_for(lambda: {}["missing"], "anything", 100, 1, clock=clock)
    assert clock.t == 0


def test_a_dead_lab_ends_the_wait_at_once_with_its_logs():
    lab, clock = FakeLab(dies_after_checks=2), FakeClock()

    def check():
        lab.checks += 1
        return False, f"check {lab.checks}"

    with pytest.raises(WaitAborted) as info:
        wait_for(check, "a client to enroll", 600, 1, alive=lab.alive, logs=lab.logs, clock=clock)
    assert "frontend (pid 4242) exited with code 1" in str(info.value)
    assert "last seen: check 2" in str(info.value)
    assert any("address already in use" in n for n in info.value.__notes__)
    assert clock.t < 5


def test_timeout_carries_the_log_tail_as_a_note():
    lab = FakeLab()
    with pytest.raises(WaitTimeout) as info:
        wait_for(lambda: (False, None), "x", 1, 1, alive=lab.alive, logs=lab.logs, clock=FakeClock())
    assert "bind: address already in use" in "".join(info.value.__notes__)


def test_sleep_only_in_waits():
    root = Path(__file__).resolve().parent.parent
    offenders = [str(p.relative_to(root)) for d in ("support", "steps", "features", "tests")
                 for p in (root / d).rglob("*.py")
                 if "time.sleep(" in p.read_text() and p.name not in ("waits.py", "test_waits.py")
                 and "sut_fakes" not in p.parts]
    assert offenders == [], f"time.sleep outside support/waits.py: {offenders}"
