"""The one wait helper of the suite.

Every wait in Raptorspec goes through :func:`wait_for`: it polls a check that returns
``(done, last_seen)``, retries only declared transient errors, fails at once when what it
waits on has died, and on timeout raises :class:`WaitTimeout` saying what it awaited, for
how long, what it last saw and a hint. ``time.sleep`` appears nowhere else in the suite.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import grpc


from support import timings
from support.errors import WaitAborted, WaitError, WaitTimeout  # noqa: F401 (re-exported)


def _is_transient_grpc(exc: BaseException) -> bool:
    return isinstance(exc, grpc.RpcError) and exc.code() in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


DEFAULT_TRANSIENT: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


@dataclass
class Clock:
    """Injectable clock, so tests of waits need not wait."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def wait_for(
    check: Callable[[], tuple[bool, Any]],
    what: str,
    timeout: float,
    interval: float = 0.5,
    *,
    alive: Callable[[], str | None] | None = None,
    transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT,
    hint: str = "",
    logs: Callable[[], str] | None = None,
    clock: Clock | None = None,
) -> Any:
    """Poll ``check`` until it returns ``(True, value)``; return ``value``.

    ``alive`` returns None while the awaited thing lives, or a sentence saying why it died;
    a death ends the wait at once with :class:`WaitAborted`. Exceptions listed in
    ``transient`` (and gRPC UNAVAILABLE / DEADLINE_EXCEEDED) are retried and remembered as
    the last thing seen; any other exception propagates at once.
    """
    clock = clock or Clock()
    start = clock.now()
    last_seen: Any = "nothing yet (the check never completed)"
    attempts = 0
    while True:
        if alive is not None:
            death = alive()
            if death:
                err = WaitAborted(
                    f"While waiting for {what}: {death} "
                    f"(after {clock.now() - start:.1f}s; last seen: {_short(last_seen)})"
                )
                _attach_logs(err, logs)
                raise err
        attempts += 1
        try:
            done, seen = check()
            last_seen = seen
            if done:
                return seen
        except BaseException as exc:  # noqa: BLE001 - filtered just below
            if not (isinstance(exc, transient) or _is_transient_grpc(exc)):
                raise
            last_seen = f"{type(exc).__name__}: {_exc_text(exc)}"
        elapsed = clock.now() - start
        if elapsed >= timeout:
            msg = (
                f"Timed out after {elapsed:.1f}s (limit {timeout:g}s, {attempts} checks) "
                f"waiting for {what}. Last seen: {_short(last_seen)}"
            )
            if hint:
                msg += f"\nHint: {hint}"
            err = WaitTimeout(msg)
            _attach_logs(err, logs)
            raise err
        clock.sleep(min(interval, max(0.0, timeout - elapsed)))


def _exc_text(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError):
        try:
            return f"{exc.code().name} {exc.details()}"
        except Exception:  # noqa: BLE001
            pass
    return str(exc)


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _attach_logs(err: BaseException, logs: Callable[[], str] | None) -> None:
    if logs is None:
        return
    try:
        tail = logs()
    except Exception as exc:  # noqa: BLE001
        tail = f"(could not read logs: {exc})"
    if tail:
        err.add_note(tail)


# --------------------------------------------------------------------------------------
# Velociraptor waits (duck-typed on support.oracle.Oracle and support.lab.Lab)

from support.oracle import FLOW_DONE  # noqa: E402 (the flow states that do not change again)


def _flow_event(oracle: Any, flow_id: str, seconds: float) -> bool:
    """Block up to ``seconds`` on Velociraptor's flow-completion events; True if ``flow_id`` completed."""
    return oracle.flow_completed(flow_id, seconds)


def wait_flow_done(oracle: Any, client_id: str, flow_id: str, timeout: float = 120, *,
                   lab: Any = None) -> dict[str, Any]:
    """Wait until a flow is FINISHED or ERROR; return its flows() row.

    Event-driven: between state checks it listens on System.Flow.Completion for up to 5 s, so a
    completion wakes it at once; the state check before each listen covers a completion that
    happened before the listen started.
    """
    state: dict[str, Any] = {"row": None, "event_at": None}

    def check() -> tuple[bool, Any]:
        row = oracle.flow(client_id, flow_id)
        state["row"] = row
        if row and row.get("state") in FLOW_DONE:
            return True, row
        if _flow_event(oracle, flow_id, 5.0):
            state["event_at"] = time.time()   # for support.timings: when Velociraptor said so
        row = oracle.flow(client_id, flow_id)
        done = bool(row and row.get("state") in FLOW_DONE)
        return done, row if done else _flow_summary(row)

    started = time.time()
    row = wait_for(check, f"flow {flow_id} on {client_id} to finish (FINISHED or ERROR)", timeout, 0.1,
                   alive=getattr(lab, "alive", None), logs=getattr(lab, "logs", None),
                   hint="a flow stuck in RUNNING/WAITING means the client is not checking in: see its log")
    timings.note("flow", start=started, end=time.time(), flow_id=flow_id, create_time=row.get("create_time"),
                 active_time=row.get("active_time"), event_at=state["event_at"], state=row.get("state"))
    return row


def _flow_summary(row: dict[str, Any] | None) -> str:
    if not row:
        return "Velociraptor knows no such flow (yet)"
    return (f"state={row.get('state')} status={row.get('status')!r} "
            f"outstanding={row.get('outstanding_requests')} rows={row.get('total_collected_rows')}")


def wait_hunt(oracle: Any, hunt_id: str, predicate: Callable[[dict[str, Any]], bool], what: str,
              timeout: float = 120, *, lab: Any = None) -> dict[str, Any]:
    """Wait until the hunts() row of ``hunt_id`` satisfies ``predicate`` (e.g. a client finished)."""

    def check() -> tuple[bool, Any]:
        row = oracle.hunt(hunt_id)
        if row and predicate(row):
            return True, row
        return False, ({"state": row.get("state"), "stats": row.get("stats")} if row else "no such hunt")

    started = time.time()
    row = wait_for(check, f"hunt {hunt_id}: {what}", timeout, 0.5,
                   alive=getattr(lab, "alive", None), logs=getattr(lab, "logs", None))
    timings.note("hunt", start=started, end=time.time(), hunt_id=hunt_id)
    return row
