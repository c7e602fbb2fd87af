"""The target registry: which enrolled clients a scenario can aim at.

Built from the oracle's ``clients()``: each :class:`Target` carries its id, OS
(``os_info.system``), hostname, labels and whether it is online (seen within
:data:`ONLINE_WITHIN` seconds of the server's clock). :meth:`Targets.pick` returns one
target for an OS, or skips the scenario saying why ("no enrolled windows client in this lab").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

ONLINE_WITHIN = 60.0  # seconds
OS_NAMES = {"linux": "linux", "windows": "windows", "macos": "darwin", "darwin": "darwin"}


@dataclass(frozen=True)
class Target:
    client_id: str
    os: str            # as Velociraptor reports it: linux, windows, darwin ("" before interrogation)
    hostname: str
    labels: tuple[str, ...]
    seen_ago: float    # seconds since the client was last seen (inf if never)

    @property
    def online(self) -> bool:
        return self.seen_ago <= ONLINE_WITHIN

    @classmethod
    def from_row(cls, row: dict[str, Any], now: float) -> "Target":
        info = row.get("os_info") or {}
        seen = row.get("last_seen_at") or 0
        return cls(client_id=row["client_id"], os=str(info.get("system") or "").lower(),
                   hostname=str(info.get("hostname") or ""), labels=tuple(row.get("labels") or ()),
                   seen_ago=max(0.0, now - seen / 1e6) if seen else float("inf"))

    def __str__(self) -> str:
        seen = "never seen" if self.seen_ago == float("inf") else f"seen {self.seen_ago:.0f}s ago"
        return f"{self.client_id} ({self.os or 'unknown OS'}, {self.hostname or 'no hostname'}, {seen})"


class Targets:
    """The lab's enrolled clients, read fresh from Velociraptor on each :meth:`all`."""

    def __init__(self, oracle: Any, *, skip: Callable[[str], Any] = pytest.skip):
        self.oracle = oracle
        self._skip = skip

    def all(self) -> list[Target]:
        rows = self.oracle.clients_with_clock()
        return sorted((Target.from_row(r, float(r.get("RsServerNow") or 0)) for r in rows
                       if r.get("first_seen_at") or r.get("last_seen_at")),  # enrolled, not a bare record
                      key=lambda t: (t.seen_ago, t.client_id))

    def pick(self, os: str = "linux", *, online: bool = True) -> Target:
        """One enrolled client running ``os`` (online unless ``online=False``), or skip."""
        system = OS_NAMES.get(os.lower(), os.lower())
        everyone = self.all()
        same_os = [t for t in everyone if t.os == system]
        if not same_os:
            known = ", ".join(str(t) for t in everyone) or "none"
            return self._skip(f"no enrolled {os} client in this lab (enrolled: {known})")
        usable = [t for t in same_os if t.online or not online]
        if not usable:
            return self._skip(f"no online {os} client in this lab (last seen within {ONLINE_WITHIN:g}s); "
                              f"enrolled: {', '.join(str(t) for t in same_os)}")
        return usable[0]


@pytest.fixture
def targets(oracle):
    """The lab's enrolled clients, by OS (skips a scenario whose OS is missing). This module is
    loaded as a plugin by conftest.py."""
    return Targets(oracle)
