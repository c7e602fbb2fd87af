"""Ctrl-C, twice: the run stops talking to Velociraptor and goes straight to stopping its
processes and removing its lab.

The first SIGINT (or SIGTERM) is pytest's KeyboardInterrupt: the scenario stops and every
teardown runs, the leak audit included (it talks to Velociraptor over gRPC). From the second
one on, the run is "interrupted again": it says so once on stderr, a cleanup that talks to
Velociraptor (:func:`velociraptor_cleanup`) is skipped or broken off, and the teardowns that
stop processes and remove the lab directory run to their end. A KeyboardInterrupt raised
while the main thread waits inside gRPC can leave the channel's locks held (a run was seen
hanging for minutes in ``grpc _next`` after three SIGINTs 0.3 s apart, the 30 s deadline
never firing), so after the second interrupt no further call is made at all.

Only inside a :func:`velociraptor_cleanup` block does a later SIGINT raise (to break a
blocked call); elsewhere it is noted and the teardown goes on. The fifth one raises
wherever it lands (an escape if a teardown itself hangs; the lab directory may be left).
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: What the run says on the second interrupt.
AGAIN = "interrupted again: skipping the leak audit; entities may be left in an external lab"
_GIVE_UP = 5

_count = 0
_cleanup_depth = 0
_said = False
#: Called with the signal number on every interrupt, before anything is raised (see :func:`forward_to`).
_FORWARDS: list[Callable[[int], None]] = []


def forward_to(callback: Callable[[int], None]) -> None:
    """Call ``callback(signum)`` on each interrupt of this process, before its own handling: an
    xdist controller passes the signal on to its workers (a signal sent to the controller alone,
    as ``kill`` or a CI runner's cancel may, stopped the workers only when xdist gave up waiting
    and killed them: no teardown ran in them, their SUTs and ledgers included). A failing
    callback is reported, never raised."""
    if callback not in _FORWARDS:
        _FORWARDS.append(callback)


def count() -> int:
    """How many interrupts (SIGINT, SIGTERM) this process has had."""
    return _count


def again() -> bool:
    """True once the run was interrupted twice or more: talk to Velociraptor no more."""
    return _count >= 2


def _say(text: str) -> None:
    print(f"\n[raptorspec] {text}", file=sys.__stderr__, flush=True)


#: What an xdist controller sends its workers when it is interrupted (see :func:`forward_to`).
FORWARDED = signal.SIGUSR1


def on_interrupt(signum: int, frame: Any) -> None:
    """The SIGINT / SIGTERM handler (installed by :func:`install`), and in an xdist worker the
    :data:`FORWARDED` one: the controller's interrupt passed on, which counts as this process's
    first interrupt unless it had one already (a terminal's Ctrl-C reaches the workers too)."""
    global _count, _said
    if signum == FORWARDED:
        if _count:
            return
        _count = 1
        raise KeyboardInterrupt("stopped: the run's xdist controller was interrupted")
    _count += 1
    name = signal.Signals(signum).name
    for callback in list(_FORWARDS):
        try:
            callback(signum)
        except Exception as exc:  # noqa: BLE001 - the interrupt must go on
            _say(f"could not pass {name} on: {type(exc).__name__}: {exc}")
    if _count == 1:
        raise KeyboardInterrupt(f"stopped by signal {name}" if signum != signal.SIGINT else "")
    if not _said:
        _said = True
        _say(f"{AGAIN} (stopping the lab's processes and removing its directory)")
    if _cleanup_depth > 0 or _count >= _GIVE_UP:
        raise KeyboardInterrupt(f"stopped by signal {name} ({_count} interrupts)")


def install(worker: bool = False) -> None:
    """Install the handler for SIGINT (when it is Python's default) and SIGTERM (when it is
    the OS default), and in an xdist ``worker`` for :data:`FORWARDED`; only from the main
    thread. Idempotent."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, on_interrupt)
    if worker and signal.getsignal(FORWARDED) == signal.SIG_DFL:
        signal.signal(FORWARDED, on_interrupt)


@contextmanager
def velociraptor_cleanup(what: str) -> Iterator[bool]:
    """A cleanup that talks to Velociraptor (the leak audit, a scenario's ledger): yields
    False when the run was already interrupted twice (skip it), else True. An interrupt
    inside it breaks the block off; a second interrupt is swallowed here (with the message
    on stderr) so the teardowns after it (the lab's) still run. A first interrupt propagates.
    """
    global _cleanup_depth
    if again():
        yield False
        return
    _cleanup_depth += 1
    try:
        yield True
    except KeyboardInterrupt:
        if not again():
            raise
        _say(f"{what}: broken off")
    finally:
        _cleanup_depth -= 1


def reset() -> None:
    """Forget past interrupts (tests)."""
    global _count, _said
    _count, _said = 0, False
    _FORWARDS.clear()
